/*
 * src/models/clip_load.c - loading steps the CLIP towers share (clip_load.h).
 *
 * Design: the vision tower (vit.c) and the text tower (text.c) read the same
 * config.json layout (Hugging Face CLIPConfig: vision_config / text_config)
 * and check for unused tensors the same way; the steps live here once so a
 * fix to one (e.g. a non-integer size rejected rather than ignored) reaches
 * both towers. What differs (which keys, which tensors are whose) stays with
 * each tower and is passed in.
 */
#include "models/clip_load.h"

#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int lmmiqa__clip_config_beside(const char *weights_path, char *buf, size_t cap)
{
    const char *slash = strrchr(weights_path, '/');
    snprintf(buf, cap, "%.*s/config.json", slash ? (int)(slash - weights_path) : 1,
             slash ? weights_path : ".");
    struct stat sb;
    return stat(buf, &sb) == 0 && S_ISREG(sb.st_mode);
}

int lmmiqa__clip_json_read(const char *path, cJSON **root)
{
    *root = NULL;
    unsigned char *data = NULL;
    size_t size = 0;
    int rc = lmmiqa__file_read_all(path, 16u << 20, &data, &size);
    if (rc != LMMIQA_OK)
        return rc;
    *root = cJSON_ParseWithLength((const char *)data, size);
    free(data);
    if (!*root)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: not valid JSON", path);
    return LMMIQA_OK;
}

int lmmiqa__clip_json_int(const cJSON *obj, const char *key, int max, const char *path,
                          int *v, int *present)
{
    *present = 0;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j)
        return LMMIQA_OK;
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < 1 ||
        j->valuedouble > max)
        return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: '%s' is not a positive integer", path, key);
    *v = (int)j->valuedouble;
    *present = 1;
    return LMMIQA_OK;
}

int lmmiqa__clip_json_act_eps(const cJSON *cfg, const char *section, const char *path,
                              lmmiqa_vit_act *act, double *eps)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(cfg, "hidden_act");
    if (a) {
        if (cJSON_IsString(a) && strcmp(a->valuestring, "quick_gelu") == 0)
            *act = LMMIQA_VIT_ACT_QUICK_GELU;
        else if (cJSON_IsString(a) && strcmp(a->valuestring, "gelu") == 0)
            *act = LMMIQA_VIT_ACT_GELU;
        else
            return lmmiqa__fail(LMMIQA_ERR_FORMAT,
                                "%s: %s.hidden_act %s is not supported (quick_gelu, gelu)", path,
                                section, cJSON_IsString(a) ? a->valuestring : "(not a string)");
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(cfg, "layer_norm_eps");
    if (e) {
        if (!cJSON_IsNumber(e) || !(e->valuedouble > 0) || e->valuedouble > 1)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "%s: bad %s.layer_norm_eps", path, section);
        *eps = e->valuedouble;
    }
    return LMMIQA_OK;
}

typedef struct tower_ctx {
    int (*belongs)(const char *name, int hf);
    int hf;
} tower_ctx;

static int tower_belongs(const char *name, const void *ctx)
{
    const tower_ctx *t = ctx;
    return t->belongs(name, t->hf);
}

int lmmiqa__clip_check_unused(lmmiqa__weights *w, const char *tower, int hf,
                              int (*belongs)(const char *name, int hf))
{
    char where[64];
    snprintf(where, sizeof where, "the %s tower", tower);
    tower_ctx t = {belongs, hf};
    return lmmiqa__weights_check_unused(w, where, tower_belongs, &t);
}
