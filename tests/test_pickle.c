/*
 * tests/test_pickle.c - the restricted unpickler and the torch zip reader.
 *
 * - tests/data/vit/micro_hps.pt: a real torch.save zip (PyTorch 1.13,
 *   tools/ref/clip_ref.py --tiny) in the HPS layout {'state_dict':
 *   OrderedDict(visual.* ...), 'epoch', 'lr', 'note'}, with Parameters, half
 *   and float storages and a non-contiguous (transposed) visual.proj: prefix
 *   selection, names, dtypes, strides, and the vision tower's embeddings of
 *   the synthetic images against the float64 golden (cosine >= 0.99999,
 *   max |diff| <= 1e-5);
 * - hand-written pickles: refused globals and opcodes name themselves,
 *   truncation, memo misuse;
 * - hand-built zips: missing storage, storage of the wrong size, strides
 *   outside the storage, no data.pkl;
 * - seeded mutations of data.pkl and of the whole archive (run under ASan in
 *   CI): every mutant is rejected cleanly or reads completely.
 */
#include "lmmiqa/rng.h"
#include "io/torchzip.h"
#include "lmmiqa/advanced/vit.h"
#include "core/internal.h"
#include "io/pickle.h"
#include "test.h"
#include "vit_test_util.h"

#include <unistd.h>
#include <zip.h>

#define MICRO LMMIQA_SOURCE_DIR "/tests/data/vit/micro_hps.pt"
#define GOLDEN LMMIQA_SOURCE_DIR "/tests/data/vit/golden_tiny.txt"

static void test_micro_names(void)
{
    lmmiqa_torchzip *tz = NULL;
    CHECK_OK(lmmiqa_torchzip_open(MICRO, NULL, &tz));
    if (!tz)
        return;
    /* 2 layers x 12 + 8 visual + token_embedding + logit_scale */
    CHECK(lmmiqa_torchzip_count(tz) == 2 * 12 + 8 + 2);
    lmmiqa_torch_tensor_info ti;
    CHECK_OK(lmmiqa_torchzip_find(tz, "visual.proj", &ti));
    CHECK(ti.info.ndim == 2 && ti.info.shape[0] == 64 && ti.info.shape[1] == 16);
    CHECK(ti.stride[0] == 1 && ti.stride[1] == 64); /* transposed view */
    CHECK(ti.info.dtype == LMMIQA_DTYPE_F32);
    CHECK_OK(lmmiqa_torchzip_find(tz, "visual.conv1.weight", &ti));
    CHECK(ti.info.ndim == 4 && ti.info.shape[3] == 8 && ti.info.dtype == LMMIQA_DTYPE_F16);
    CHECK_OK(lmmiqa_torchzip_find(tz, "logit_scale", &ti));
    CHECK(ti.info.ndim == 0 && ti.info.numel == 1);
    float ls;
    CHECK_OK(lmmiqa_torchzip_read_f32(tz, "logit_scale", &ls, 1));
    CHECK_NEAR(ls, 4.6052, 1e-6);
    /* the strided read equals the contiguous values: compare with in_proj-free
     * knowledge: visual.proj[i][j] = visual_projection.weight[j][i] = gen value */
    float proj[64 * 16];
    CHECK_OK(lmmiqa_torchzip_read_f32(tz, "visual.proj", proj, 64 * 16));
    CHECK(lmmiqa_torchzip_read_f32(tz, "visual.proj", proj, 10) == LMMIQA_ERR_MISMATCH);
    CHECK(lmmiqa_torchzip_find(tz, "state_dict.visual.proj", &ti) == LMMIQA_ERR_MISMATCH);
    lmmiqa_torchzip_close(tz);

    CHECK_OK(lmmiqa_torchzip_open(MICRO, "", &tz));
    if (tz) {
        CHECK_OK(lmmiqa_torchzip_find(tz, "state_dict.visual.proj", &ti));
        lmmiqa_torchzip_close(tz);
    }
    CHECK_OK(lmmiqa_torchzip_open(MICRO, "state_dict", &tz));
    lmmiqa_torchzip_close(tz);
    tz = NULL;
    CHECK(lmmiqa_torchzip_open(MICRO, "model", &tz) == LMMIQA_ERR_MISMATCH);
    CHECK(strstr(lmmiqa_error_message(), "model") != NULL);
    CHECK(lmmiqa_torchzip_open(LMMIQA_SOURCE_DIR "/tests/data/vit/absent.pt", NULL, &tz) ==
          LMMIQA_ERR_IO);
    CHECK(lmmiqa_torchzip_open(GOLDEN, NULL, &tz) == LMMIQA_ERR_CORRUPT);
    CHECK(tz == NULL);
}

static void test_micro_golden(void)
{
    lmmiqa_vit *vit = NULL;
    CHECK_OK(lmmiqa_vit_load(MICRO, NULL, &vit));
    if (!vit)
        return;
    const lmmiqa_vit_config *c = lmmiqa_vit_get_config(vit);
    CHECK(c->naming == LMMIQA_VIT_NAMING_OPENAI && c->width == 64 && c->layers == 2 &&
          c->heads == 1 && c->patch_size == 8 && c->image_size == 16 && c->embed_dim == 16);
    int S = c->image_size, E = c->embed_dim;
    float px[3 * 16 * 16], out[16];
    double gold[16];
    lmmiqa_vit_state *st = NULL;
    CHECK_OK(lmmiqa_vit_state_create(vit, 1, &st));
    for (int k = 0; k < 2 && st; k++) {
        lmmiqa_image *img = vt_synth_image(k);
        void *scratch = malloc(lmmiqa_clip_preprocess_scratch(img->width, img->height, S));
        CHECK_OK(lmmiqa_clip_preprocess(img, S, LMMIQA_CROP_ROUND, scratch, px));
        free(scratch);
        lmmiqa_image_destroy(img);
        CHECK_OK(lmmiqa_vit_forward(vit, st, px, 1, 0, out));
        CHECK(vt_golden(GOLDEN, "micro_hps", k, gold, 16) == E);
        double cs, md;
        vt_compare(out, gold, E, &cs, &md);
        fprintf(stderr, "  micro_hps image %d: cosine %.10f, max |diff| %.3g\n", k, cs, md);
        CHECK_MSG(cs >= 0.99999 && md <= 1e-5, "cosine %.9f, max diff %.3g", cs, md);
    }
    lmmiqa_vit_state_destroy(st);
    lmmiqa_vit_destroy(vit);
}

/* ---- hand-written pickles ---- */

static int run_pickle(const char *bytes, size_t n)
{
    lmmiqa__pickle *p = NULL;
    const lmmiqa__pv *root = NULL;
    int rc = lmmiqa__pickle_load((const unsigned char *)bytes, n, &p, &root);
    CHECK((rc == 0) == (p != NULL));
    lmmiqa__pickle_destroy(p);
    return rc;
}

#define RUNP(lit) run_pickle(lit, sizeof(lit) - 1)

static void test_pickle_vm(void)
{
    CHECK(RUNP("\x80\x02}q\x00(X\x01\x00\x00\x00" "aK\x05X\x01\x00\x00\x00" "b]q\x01(K\x01K\x02" "e"
               "u.") == LMMIQA_OK);
    /* os.system is refused, by name */
    CHECK(RUNP("\x80\x02\x63os\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85R.") ==
          LMMIQA_ERR_FORMAT);
    CHECK(strstr(lmmiqa_error_message(), "os.system") != NULL);
    CHECK(RUNP("\x80\x04\x8c\x08" "builtins\x8c\x04" "eval\x93.") == LMMIQA_ERR_FORMAT);
    CHECK(strstr(lmmiqa_error_message(), "builtins.eval") != NULL);
    /* INST ('i') and OBJ ('o') and NEWOBJ are refused */
    CHECK(RUNP("\x80\x02(ios\nsystem\n.") == LMMIQA_ERR_FORMAT);
    CHECK(strstr(lmmiqa_error_message(), "'i'") != NULL);
    CHECK(RUNP("\x80\x02\x63\x63ollections\nOrderedDict\n)\x81.") == LMMIQA_ERR_FORMAT);
    /* REDUCE of a non-global */
    CHECK(RUNP("\x80\x02K\x01)R.") == LMMIQA_ERR_FORMAT);
    /* allowed global, fine */
    CHECK(RUNP("\x80\x02\x63\x63ollections\nOrderedDict\n)R.") == LMMIQA_OK);
    /* truncations and stack misuse */
    CHECK(RUNP("\x80\x02}(X\x05\x00\x00\x00ab") == LMMIQA_ERR_CORRUPT);
    CHECK(RUNP("\x80\x02}") == LMMIQA_ERR_CORRUPT);
    CHECK(RUNP("\x80\x02s.") == LMMIQA_ERR_CORRUPT);
    CHECK(RUNP("\x80\x02h\x05.") == LMMIQA_ERR_CORRUPT);
    CHECK(RUNP("\x80\x02t.") == LMMIQA_ERR_CORRUPT);
    CHECK(RUNP("\x80\x02(K\x01K\x02\x87.") == LMMIQA_ERR_CORRUPT);
    CHECK(RUNP("\x80\x09}.") == LMMIQA_ERR_FORMAT);
    CHECK(RUNP("\x80\x02N.") == LMMIQA_ERR_FORMAT);
    CHECK(RUNP("") == LMMIQA_ERR_CORRUPT);
    /* BUILD on a non-dict */
    CHECK(RUNP("\x80\x02]}b.") == LMMIQA_ERR_FORMAT);
    /* memo round trip, LONG1, BINFLOAT */
    CHECK(RUNP("\x80\x02}q\x07h\x07\x8a\x02\xff\x7fG\x3f\xf0\x00\x00\x00\x00\x00\x00s.") ==
          LMMIQA_OK);
}

/* A one-tensor pickle: {'w': tensor(storage '0' of `numel` floats, offset,
 * size (2, 2), stride (s0, s1))}. */
static size_t tensor_pickle(char *buf, int numel, int offset, int s0, int s1)
{
    static const char head[] = "\x80\x02}(X\x01\x00\x00\x00w"
                               "ctorch._utils\n_rebuild_tensor_v2\n"
                               "((X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
                               "X\x01\x00\x00\x00\x30X\x03\x00\x00\x00\x63puK";
    size_t n = sizeof head - 1;
    memcpy(buf, head, n);
    buf[n++] = (char)numel;
    buf[n++] = 't';
    buf[n++] = 'Q';
    buf[n++] = 'K';
    buf[n++] = (char)offset;
    memcpy(buf + n, "K\x02K\x02\x86K", 6);
    n += 6;
    buf[n++] = (char)s0;
    buf[n++] = 'K';
    buf[n++] = (char)s1;
    memcpy(buf + n, "\x86\x89}tRu.", 7);
    n += 7;
    return n;
}

static int write_zip(const char *path, const char *pkl, size_t pkl_n, const char *storage,
                     size_t storage_n)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z)
        return -1;
    if (pkl) {
        zip_source_t *s = zip_source_buffer(z, pkl, pkl_n, 0);
        zip_file_add(z, "archive/data.pkl", s, ZIP_FL_OVERWRITE);
    }
    if (storage) {
        zip_source_t *s = zip_source_buffer(z, storage, storage_n, 0);
        zip_file_add(z, "archive/data/0", s, ZIP_FL_OVERWRITE);
    }
    zip_source_t *v = zip_source_buffer(z, "3\n", 2, 0);
    zip_file_add(z, "archive/version", v, ZIP_FL_OVERWRITE);
    return zip_close(z);
}

static void test_bad_zips(void)
{
    char path[512], pkl[512];
    snprintf(path, sizeof path, "%s/test_pickle_%d.pt", LMMIQA_BINARY_DIR, (int)getpid());
    float data[6] = {1, 2, 3, 4, 5, 6};
    lmmiqa_torchzip *tz = NULL;
    float out[4];

    size_t n = tensor_pickle(pkl, 6, 1, 1, 2); /* transposed view at offset 1 */
    CHECK(write_zip(path, pkl, n, (const char *)data, sizeof data) == 0);
    CHECK_OK(lmmiqa_torchzip_open(path, NULL, &tz));
    if (tz) {
        CHECK_OK(lmmiqa_torchzip_read_f32(tz, "w", out, 4));
        /* element (i, j) = data[1 + i + 2 j] */
        CHECK(out[0] == 2 && out[1] == 4 && out[2] == 3 && out[3] == 5);
        lmmiqa_torchzip_close(tz);
        tz = NULL;
    }
    /* strides reach past the storage */
    n = tensor_pickle(pkl, 6, 3, 2, 1);
    CHECK(write_zip(path, pkl, n, (const char *)data, sizeof data) == 0);
    CHECK(lmmiqa_torchzip_open(path, NULL, &tz) == LMMIQA_ERR_CORRUPT);
    CHECK(strstr(lmmiqa_error_message(), "'w'") != NULL);
    /* storage holds fewer bytes than declared */
    n = tensor_pickle(pkl, 6, 0, 2, 1);
    CHECK(write_zip(path, pkl, n, (const char *)data, sizeof data - 4) == 0);
    CHECK(lmmiqa_torchzip_open(path, NULL, &tz) == LMMIQA_ERR_CORRUPT);
    CHECK(strstr(lmmiqa_error_message(), "bytes") != NULL);
    /* storage missing */
    CHECK(write_zip(path, pkl, n, NULL, 0) == 0);
    CHECK(lmmiqa_torchzip_open(path, NULL, &tz) == LMMIQA_ERR_CORRUPT);
    CHECK(strstr(lmmiqa_error_message(), "missing") != NULL);
    /* no data.pkl */
    CHECK(write_zip(path, NULL, 0, (const char *)data, sizeof data) == 0);
    CHECK(lmmiqa_torchzip_open(path, NULL, &tz) == LMMIQA_ERR_FORMAT);
    /* refused global inside a real archive */
    static const char evil[] = "\x80\x02\x63os\nsystem\nX\x02\x00\x00\x00ls\x85R.";
    CHECK(write_zip(path, evil, sizeof evil - 1, NULL, 0) == 0);
    CHECK(lmmiqa_torchzip_open(path, NULL, &tz) == LMMIQA_ERR_FORMAT);
    CHECK(strstr(lmmiqa_error_message(), "os.system") != NULL);
    /* truncated archive */
    unsigned char *buf;
    size_t size;
    CHECK_OK(lmmiqa__file_read_all(MICRO, 1 << 20, &buf, &size));
    CHECK_OK(lmmiqa__file_write_atomic(path, buf, size / 2));
    CHECK(lmmiqa_torchzip_open(path, NULL, &tz) == LMMIQA_ERR_CORRUPT);
    lmmiqa_vit *vit = NULL;
    CHECK(lmmiqa_vit_load(path, NULL, &vit) != LMMIQA_OK);
    CHECK(vit == NULL);
    free(buf);
    CHECK(tz == NULL);
    unlink(path);
}

/* Seeded mutations: of data.pkl alone (fast), and of the whole archive. */
static void test_mutations(void)
{
    lmmiqa_torchzip *tz = NULL;
    unsigned char *arch;
    size_t asize;
    CHECK_OK(lmmiqa__file_read_all(MICRO, 1 << 20, &arch, &asize));
    if (!arch)
        return;
    /* extract data.pkl via libzip */
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t *src = zip_source_buffer_create(arch, asize, 0, &err);
    zip_t *z = zip_open_from_source(src, ZIP_RDONLY, &err);
    CHECK(z != NULL);
    zip_int64_t idx = z ? zip_name_locate(z, "micro_hps/data.pkl", 0) : -1;
    CHECK(idx >= 0);
    zip_stat_t zs;
    unsigned char *pkl = NULL;
    size_t pn = 0;
    if (idx >= 0 && zip_stat_index(z, (zip_uint64_t)idx, 0, &zs) == 0) {
        pn = (size_t)zs.size;
        pkl = malloc(pn);
        zip_file_t *f = zip_fopen_index(z, (zip_uint64_t)idx, 0);
        CHECK(zip_fread(f, pkl, pn) == (zip_int64_t)pn);
        zip_fclose(f);
    }
    if (z)
        zip_discard(z);
    zip_error_fini(&err);
    lmmiqa_rng rng;
    lmmiqa_rng_seed(&rng, 99);
    int ok = 0, bad = 0;
    for (int it = 0; it < 2000 && pkl; it++) {
        unsigned char *m = malloc(pn);
        memcpy(m, pkl, pn);
        size_t n = pn;
        int edits = 1 + (int)(lmmiqa_rng_below(&rng, 4) / 3);
        for (int e = 0; e < edits; e++) {
            size_t pos = (size_t)lmmiqa_rng_below(&rng, n);
            switch (lmmiqa_rng_below(&rng, 3)) {
            case 0:
                m[pos] ^= (unsigned char)(1u << lmmiqa_rng_below(&rng, 8));
                break;
            case 1:
                m[pos] = (unsigned char)lmmiqa_rng_below(&rng, 256);
                break;
            default:
                n = pos + 1;
            }
        }
        lmmiqa__pickle *p = NULL;
        const lmmiqa__pv *root = NULL;
        if (lmmiqa__pickle_load(m, n, &p, &root) == LMMIQA_OK)
            ok++;
        else
            bad++;
        lmmiqa__pickle_destroy(p);
        free(m);
    }
    CHECK(ok > 0 && bad > 0);
    /* whole-archive mutations: open, then read every tensor */
    int aok = 0, abad = 0;
    for (int it = 0; it < 60; it++) {
        unsigned char *m = malloc(asize);
        memcpy(m, arch, asize);
        size_t n = asize;
        int edits = 1 + (int)lmmiqa_rng_below(&rng, 3);
        for (int e = 0; e < edits; e++) {
            /* bias towards the zip headers and the pickle at the start/end */
            size_t pos = lmmiqa_rng_below(&rng, 2) ? (size_t)lmmiqa_rng_below(&rng, 5000)
                                                   : asize - 1 - (size_t)lmmiqa_rng_below(&rng, 6000);
            if (pos >= n)
                continue;
            if (lmmiqa_rng_below(&rng, 8) == 0)
                n = pos + 1;
            else
                m[pos] ^= (unsigned char)(1u << lmmiqa_rng_below(&rng, 8));
        }
        if (lmmiqa_torchzip_open_memory(m, n, NULL, &tz) == LMMIQA_OK) {
            aok++;
            for (size_t i = 0; i < lmmiqa_torchzip_count(tz); i++) {
                lmmiqa_torch_tensor_info ti;
                CHECK_OK(lmmiqa_torchzip_get(tz, i, &ti));
                float *v = malloc((ti.info.numel + 1) * sizeof *v);
                lmmiqa_torchzip_read_f32(tz, ti.info.name, v, ti.info.numel);
                free(v);
            }
            lmmiqa_torchzip_close(tz);
            tz = NULL;
        } else {
            abad++;
        }
        free(m);
    }
    fprintf(stderr, "  pickle mutants: %d accepted, %d rejected; archive mutants: %d, %d\n", ok,
            bad, aok, abad);
    CHECK(abad > 0);
    free(pkl);
    free(arch);
}

int main(void)
{
    RUN(test_micro_names);
    RUN(test_micro_golden);
    RUN(test_pickle_vm);
    RUN(test_bad_zips);
    RUN(test_mutations);
    return test_finish();
}
