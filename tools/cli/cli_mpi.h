/*
 * tools/cli/cli_mpi.h - scale-out over MPI for `lmmiqa extract --dataset`
 * and `lmmiqa eval` (docs/scale-out.md).
 *
 * Under mpirun every rank runs the same command line. Rank 0 does what a
 * single process does - it alone writes the feature store and the results -
 * but hands the work itself out: the store's missing rows (through the
 * store's compute hook) and the protocol's (spec, split) pairs, in chunks
 * that the other ranks ask for as their threads free up. The other ranks
 * parse the same options, load the same dataset, then serve jobs until rank
 * 0 stops them (cli_mpi_serve).
 *
 * Builds without MPI (no LMMIQA_HAVE_MPI) and processes not started by
 * mpirun never initialise MPI: the functions below then say "rank 0 of 1"
 * and the commands run exactly as before.
 */
#ifndef LMMIQA_CLI_MPI_H
#define LMMIQA_CLI_MPI_H

#include "cli_features.h"

#include "lmmiqa/protocol.h"
#include "lmmiqa/splits.h"
#include "lmmiqa/store.h"

#include <stddef.h>

/* What a serving rank needs; the command fills in what it has. */
typedef struct cli_mpi_ctx {
    const char *cmd;
    const lmmiqa_dataset *ds;          /* rows -> image paths (extract, eval) */
    const cli_extractor_opts *eo;      /* extractor options, --jobs */
    const lmmiqa_splits *splits;       /* eval */
    const char *const *specs;          /* eval: the feature combinations */
    size_t n_specs;
    const lmmiqa_protocol_options *po; /* eval: store, regressor, MOS range */
} cli_mpi_ctx;

#ifdef LMMIQA_HAVE_MPI

/* Start MPI when this process was launched by mpirun (or another MPI
 * launcher) for command `cmd` and cmd scales out (extract, eval); a no-op
 * otherwise. Returns a CLI exit code (0 ok). */
int cli_mpi_init(const char *cmd);

/* This process's rank (0 without MPI) and the number of serving ranks
 * (size - 1; 0 without MPI or with one rank). */
int cli_mpi_rank(void);
int cli_mpi_workers(void);

/* End: rank 0 stops every serving rank; a rank that never served tells rank
 * 0 so and waits to be stopped; then MPI_Finalize. Returns `code`. */
int cli_mpi_finish(int code);

/* Ranks other than 0: serve rank 0's jobs until it stops them. Returns a
 * CLI exit code. */
int cli_mpi_serve(const cli_mpi_ctx *ctx);

/* Rank 0: lmmiqa_store_options.compute for the extractor named by user (a
 * cli_mpi_extract). */
typedef struct cli_mpi_extract {
    const char *cmd;
    const char *extractor;
    size_t dim;
    int quiet; /* no tasks-per-rank line */
} cli_mpi_extract;
int cli_mpi_store_compute(void *user, size_t n, const size_t *rows, lmmiqa_store_sink *sink);

/* Rank 0: compute the n (spec, split) pairs combo[i], split[i] (0-based)
 * on the serving ranks and write each result file into
 * out_dir/runs/<spec_name[combo]>/split-<k>.json. Returns a library status
 * (the first failure, with its message); finished pairs are kept. */
int cli_mpi_eval_pairs(const cli_mpi_ctx *ctx, size_t n, const size_t *combo,
                       const size_t *split, const char *const *spec_name, const char *out_dir,
                       int quiet);

#else

static inline int cli_mpi_init(const char *cmd) { (void)cmd; return 0; }
static inline int cli_mpi_rank(void) { return 0; }
static inline int cli_mpi_workers(void) { return 0; }
static inline int cli_mpi_finish(int code) { return code; }

#endif
#endif
