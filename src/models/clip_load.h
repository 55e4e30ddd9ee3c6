/*
 * src/models/clip_load.h - loading steps the CLIP towers share (vision,
 * vit.c; text, text.c): finding and reading config.json, its integer,
 * activation and epsilon fields, and the "unexpected tensors" check.
 * Internal.
 */
#ifndef LMMIQA_MODELS_CLIP_LOAD_H
#define LMMIQA_MODELS_CLIP_LOAD_H

#include "lmmiqa/advanced/vit.h"
#include "tensor/weights.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* "<folder of weights_path>/config.json" into buf (cap bytes; "./config.json"
 * for a bare file name). Returns 1 when that is a regular file, else 0. */
int lmmiqa__clip_config_beside(const char *weights_path, char *buf, size_t cap);

/* Read and parse a JSON file of at most 16 MiB: LMMIQA_ERR_IO naming the
 * file, LMMIQA_ERR_CORRUPT "not valid JSON". *root: cJSON_Delete it. */
int lmmiqa__clip_json_read(const char *path, cJSON **root);

/* Member `key` of obj as an integer in 1..max: *present = 0 when absent
 * (then *v is untouched), 1 when read; LMMIQA_ERR_CORRUPT naming path and
 * key when it is not such an integer. */
int lmmiqa__clip_json_int(const cJSON *obj, const char *key, int max, const char *path,
                          int *v, int *present);

/* The optional "hidden_act" (quick_gelu or gelu, else LMMIQA_ERR_FORMAT)
 * and "layer_norm_eps" (in (0, 1], else LMMIQA_ERR_CORRUPT) of a tower's
 * config object, over *act and *eps; `section` names it in messages
 * ("vision_config", "text_config"). */
int lmmiqa__clip_json_act_eps(const cJSON *cfg, const char *section, const char *path,
                              lmmiqa_vit_act *act, double *eps);

/* Tensors that no load step used and that `belongs` (given the name and
 * hf) says are the tower's: LMMIQA_ERR_MISMATCH naming up to four of them
 * ("<file>: N unexpected tensors in the <tower> tower: a, b, ..."). */
int lmmiqa__clip_check_unused(lmmiqa__weights *w, const char *tower, int hf,
                              int (*belongs)(const char *name, int hf));

#endif
