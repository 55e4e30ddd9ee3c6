/*
 * src/models/clipiqa_extractor.c - "clipiqa": zero-shot image quality from a
 * CLIP checkpoint with both towers (CLIP-IQA, Wang, Chan and Loy, AAAI 2023).
 *
 * For each antonym pair (positive, negative prompt) the feature is the
 * softmax probability of the positive prompt:
 *     p = exp(s cos(i, t+)) / (exp(s cos(i, t+)) + exp(s cos(i, t-)))
 * with i the image embedding, t+- the prompts' text embeddings (all unit
 * length) and s CLIP's logit scale (the checkpoint's exp(logit_scale), 100
 * for OpenAI's models, or options.logit_scale). The first default pair is
 * CLIP-IQA's "Good photo." / "Bad photo." - the zero-shot quality score;
 * the others are its attribute pairs. The prompts' embeddings are computed
 * when the extractor is created (the text tower is then released) and kept
 * in a process-wide cache keyed by the SHA-256 of the weights, the
 * vocabulary and the prompts, so they are computed once per process however
 * many extractors are made; an image costs one vision-tower pass plus a few
 * dot products.
 *
 * The image path is the clip-vit-b16 extractor's (clip_internal.h): CLIP
 * preprocessing with the checkpoint's crop rounding, then the vision tower.
 */
#include "models/clip_internal.h"

#include "core/internal.h"
#include "features/extractor_internal.h"
#include "lmmiqa/advanced/text.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_PAIRS 64
#define MAX_PROMPT 512

typedef struct pair {
    char name[32];
    char pos[MAX_PROMPT], neg[MAX_PROMPT];
} pair;

typedef struct clipiqa_model {
    lmmiqa__clip_image img;
    int n_pairs;
    pair *pairs;
    float *text; /* [2 * n_pairs, E] unit length: positive, negative, ... */
    double scale;
} clipiqa_model;

/* CLIP-IQA's antonym prompts: quality first, then the attributes that bear
 * on technical quality, then two of its abstract ones. */
static const struct {
    const char *name, *pos, *neg;
} default_pairs[] = {
    {"quality", "Good photo.", "Bad photo."},
    {"brightness", "Bright photo.", "Dark photo."},
    {"sharpness", "Sharp photo.", "Blurry photo."},
    {"noisiness", "Clean photo.", "Noisy photo."},
    {"colorfulness", "Colorful photo.", "Dull photo."},
    {"contrast", "High contrast photo.", "Low contrast photo."},
    {"natural", "Natural photo.", "Synthetic photo."},
    {"beautiful", "Beautiful photo.", "Ugly photo."},
};

/* Process-wide cache of prompt embeddings (never freed: reachable until
 * exit). The lock is held while a missing entry is computed, so concurrent
 * creations compute it once. */
typedef struct cache_entry {
    char key[200]; /* weights, vocabulary and prompts SHA-256 */
    int n, E;      /* 2 * pairs, embedding width */
    float *text;
    int has_scale;
    double scale;
    struct cache_entry *next;
} cache_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry *cache_head;
static size_t text_passes;

size_t lmmiqa__clipiqa_text_passes(void)
{
    pthread_mutex_lock(&cache_lock);
    size_t n = text_passes;
    pthread_mutex_unlock(&cache_lock);
    return n;
}

static void model_destroy(void *m)
{
    clipiqa_model *cm = m;
    if (!cm)
        return;
    lmmiqa_vit_destroy(cm->img.vit);
    free(cm->pairs);
    free(cm->text);
    free(cm);
}

static int state_create(const void *m, void **out)
{
    const clipiqa_model *cm = m;
    return lmmiqa__clip_image_state_create(&cm->img, (lmmiqa__clip_image_state **)out);
}

static void state_destroy(void *s) { lmmiqa__clip_image_state_destroy(s); }

static int run(const void *m, void *s, const lmmiqa_image *img, double *out)
{
    const clipiqa_model *cm = m;
    const float *e = NULL;
    int rc = lmmiqa__clip_image_embed(&cm->img, s, img, &e);
    if (rc != LMMIQA_OK)
        return rc;
    const int E = lmmiqa_vit_get_config(cm->img.vit)->embed_dim;
    for (int k = 0; k < cm->n_pairs; k++) {
        const float *tp = cm->text + (size_t)(2 * k) * E, *tn = tp + E;
        double cp = 0, cn = 0;
        for (int j = 0; j < E; j++) {
            cp += (double)e[j] * tp[j];
            cn += (double)e[j] * tn[j];
        }
        /* softmax of two logits = logistic of their difference */
        out[k] = 1.0 / (1.0 + exp(-cm->scale * (cp - cn)));
    }
    return LMMIQA_OK;
}

static void feature_name(const void *m, size_t i, char *buf, size_t size)
{
    const clipiqa_model *cm = m;
    snprintf(buf, size, "%s", cm->pairs[i].name);
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    size_t a = 0;
    while (s[a] == ' ' || s[a] == '\t')
        a++;
    memmove(s, s + a, n - a + 1);
}

/* "POSITIVE | NEGATIVE" lines; '#' starts a comment line. */
static int read_pairs(const char *path, clipiqa_model *cm)
{
    unsigned char *data = NULL;
    size_t size = 0;
    int rc = lmmiqa__file_read_all(path, 1u << 20, &data, &size);
    if (rc != LMMIQA_OK)
        return rc;
    char *text = lmmiqa__malloc(size + 1);
    cm->pairs = lmmiqa__calloc(MAX_PAIRS, sizeof *cm->pairs);
    if (!text || !cm->pairs) {
        free(data);
        free(text);
        return LMMIQA_ERR_NOMEM;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    free(data);
    int lineno = 0;
    char *save = NULL;
    for (char *line = text; line && rc == LMMIQA_OK; line = save) {
        save = strchr(line, '\n');
        if (save)
            *save++ = '\0';
        lineno++;
        trim(line);
        if (!*line || *line == '#')
            continue;
        char *bar = strchr(line, '|');
        if (!bar) {
            rc = lmmiqa__fail(LMMIQA_ERR_FORMAT,
                              "%s:%d: expected 'POSITIVE PROMPT | NEGATIVE PROMPT'", path,
                              lineno);
            break;
        }
        *bar = '\0';
        char *neg = bar + 1;
        trim(line);
        trim(neg);
        if (!*line || !*neg || strchr(neg, '|') || strlen(line) >= MAX_PROMPT ||
            strlen(neg) >= MAX_PROMPT) {
            rc = lmmiqa__fail(LMMIQA_ERR_FORMAT,
                              "%s:%d: each side of '|' must be one non-empty prompt of under "
                              "%d bytes",
                              path, lineno, MAX_PROMPT);
            break;
        }
        if (cm->n_pairs == MAX_PAIRS) {
            rc = lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "%s: more than %d prompt pairs", path,
                              MAX_PAIRS);
            break;
        }
        pair *p = &cm->pairs[cm->n_pairs];
        snprintf(p->pos, sizeof p->pos, "%s", line);
        snprintf(p->neg, sizeof p->neg, "%s", neg);
        /* column name: the positive prompt, lower case, [a-z0-9_]; pN when
         * empty, _N appended when taken */
        size_t k = 0;
        for (const char *c = line; *c && k < 24; c++) {
            char ch = *c >= 'A' && *c <= 'Z' ? (char)(*c + 32) : *c;
            if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
                p->name[k++] = ch;
            else if (k && p->name[k - 1] != '_')
                p->name[k++] = '_';
        }
        while (k && p->name[k - 1] == '_')
            k--;
        p->name[k] = '\0';
        int taken = k == 0;
        for (int j = 0; j < cm->n_pairs; j++)
            taken |= strcmp(cm->pairs[j].name, p->name) == 0;
        if (taken)
            snprintf(p->name + k, sizeof p->name - k, "%s%d", k ? "_" : "p", cm->n_pairs + 1);
        cm->n_pairs++;
    }
    free(text);
    if (rc == LMMIQA_OK && cm->n_pairs == 0)
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT, "%s: no prompt pairs", path);
    return rc;
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* options.vocab, else a vocabulary beside the weights. */
static int load_vocab(const lmmiqa_extractor_options *opts, lmmiqa_tokenizer **tok)
{
    if (opts->vocab && *opts->vocab)
        return lmmiqa_tokenizer_load(opts->vocab, tok);
    char dir[4096], a[4200], b[4200];
    const char *slash = strrchr(opts->weights, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - opts->weights) : 1,
             slash ? opts->weights : ".");
    snprintf(a, sizeof a, "%s/vocab.json", dir);
    snprintf(b, sizeof b, "%s/merges.txt", dir);
    if (is_file(a) && is_file(b))
        return lmmiqa_tokenizer_load_hf(a, b, tok);
    snprintf(a, sizeof a, "%s/bpe_simple_vocab_16e6.txt.gz", dir);
    if (is_file(a))
        return lmmiqa_tokenizer_load(a, tok);
    return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                        "clipiqa needs CLIP's BPE vocabulary: put vocab.json + merges.txt (from "
                        "the Hugging Face repository) or bpe_simple_vocab_16e6.txt.gz beside "
                        "%s, or name it (command line: --vocab FILE); docs/clipiqa.md",
                        opts->weights);
}

static void prompts_hash(const clipiqa_model *cm, char out[65])
{
    size_t cap = (size_t)cm->n_pairs * 2 * (MAX_PROMPT + 1) + 1, off = 0;
    char *all = lmmiqa__malloc(cap);
    out[0] = '\0';
    if (!all)
        return;
    for (int k = 0; k < cm->n_pairs; k++)
        off += (size_t)snprintf(all + off, cap - off, "%s\n%s\n", cm->pairs[k].pos,
                                cm->pairs[k].neg);
    lmmiqa__sha256_hex(all, off, out);
    free(all);
}

/* Unit-length text embeddings of every prompt into cm->text (lock held). */
static int compute_prompts(clipiqa_model *cm, const lmmiqa_extractor_options *opts,
                           const lmmiqa_tokenizer *tok, int *has_scale, double *scale)
{
    lmmiqa_text *text = NULL;
    lmmiqa_text_state *st = NULL;
    int32_t *ids = NULL;
    int rc = lmmiqa_text_load(opts->weights, NULL, NULL, &text);
    if (rc != LMMIQA_OK)
        return rc;
    const lmmiqa_text_config *tc = lmmiqa_text_get_config(text);
    const int E = lmmiqa_vit_get_config(cm->img.vit)->embed_dim;
    if (tc->embed_dim != E) {
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                          "%s: the text tower embeds into %d dimensions, the vision tower "
                          "into %d",
                          opts->weights, tc->embed_dim, E);
        goto done;
    }
    if (lmmiqa_tokenizer_vocab_size(tok) > tc->vocab_size) {
        rc = lmmiqa__fail(LMMIQA_ERR_MISMATCH,
                          "the vocabulary has %d tokens, the text tower of %s only %d",
                          lmmiqa_tokenizer_vocab_size(tok), opts->weights, tc->vocab_size);
        goto done;
    }
    *has_scale = tc->has_logit_scale;
    *scale = tc->logit_scale;
    cm->text = lmmiqa__malloc(sizeof(float) * 2 * (size_t)cm->n_pairs * (size_t)E);
    ids = lmmiqa__malloc(sizeof(int32_t) * (size_t)tc->context_length);
    if (!cm->text || !ids) {
        rc = LMMIQA_ERR_NOMEM;
        goto done;
    }
    if ((rc = lmmiqa_text_state_create(text, &st)) != LMMIQA_OK)
        goto done;
    for (int k = 0; k < 2 * cm->n_pairs && rc == LMMIQA_OK; k++) {
        const char *prompt = k % 2 ? cm->pairs[k / 2].neg : cm->pairs[k / 2].pos;
        size_t n = 0;
        rc = lmmiqa_tokenizer_encode(tok, prompt, tc->context_length, ids,
                                     (size_t)tc->context_length, &n);
        if (rc == LMMIQA_OK)
            rc = lmmiqa_text_forward(text, st, ids, (int)n, 1, cm->text + (size_t)k * E);
        if (rc != LMMIQA_OK)
            lmmiqa__fail_context(rc, "prompt '%s': ", prompt);
        text_passes++;
    }
done:
    free(ids);
    lmmiqa_text_state_destroy(st);
    lmmiqa_text_destroy(text);
    return rc;
}

/* The prompts' embeddings from the cache, or computed and cached; sets the
 * scale. vocab_sha and prompts_sha receive the hashes. */
static int embed_prompts(clipiqa_model *cm, const lmmiqa_extractor_options *opts,
                         char *vocab_sha, char *prompts_sha)
{
    lmmiqa_tokenizer *tok = NULL;
    int rc = load_vocab(opts, &tok);
    if (rc != LMMIQA_OK)
        return rc;
    memcpy(vocab_sha, lmmiqa_tokenizer_sha256(tok), 65);
    prompts_hash(cm, prompts_sha);
    const int E = lmmiqa_vit_get_config(cm->img.vit)->embed_dim;
    char key[200];
    snprintf(key, sizeof key, "%s/%s/%s", lmmiqa_vit_weights_sha256(cm->img.vit), vocab_sha,
             prompts_sha);
    int has_scale = 0;
    double scale = 100.0;
    pthread_mutex_lock(&cache_lock);
    cache_entry *e = cache_head;
    while (e && !(strcmp(e->key, key) == 0 && e->n == 2 * cm->n_pairs && e->E == E))
        e = e->next;
    if (e) {
        size_t bytes = sizeof(float) * (size_t)e->n * (size_t)E;
        cm->text = lmmiqa__malloc(bytes);
        if (cm->text)
            memcpy(cm->text, e->text, bytes);
        else
            rc = LMMIQA_ERR_NOMEM;
        has_scale = e->has_scale;
        scale = e->scale;
    } else {
        rc = compute_prompts(cm, opts, tok, &has_scale, &scale);
        cache_entry *ne = rc == LMMIQA_OK ? lmmiqa__calloc(1, sizeof *ne) : NULL;
        size_t bytes = sizeof(float) * 2 * (size_t)cm->n_pairs * (size_t)E;
        if (ne && (ne->text = lmmiqa__malloc(bytes)) != NULL) {
            snprintf(ne->key, sizeof ne->key, "%s", key);
            ne->n = 2 * cm->n_pairs;
            ne->E = E;
            memcpy(ne->text, cm->text, bytes);
            ne->has_scale = has_scale;
            ne->scale = scale;
            ne->next = cache_head;
            cache_head = ne;
        } else {
            free(ne); /* not cached: the extractor still works */
        }
    }
    pthread_mutex_unlock(&cache_lock);
    lmmiqa_tokenizer_destroy(tok);
    cm->scale = opts->logit_scale > 0 ? opts->logit_scale : has_scale ? scale : 100.0;
    return rc;
}

int lmmiqa__clipiqa_extractor_create(const lmmiqa_extractor_options *opts,
                                     lmmiqa__extractor_impl *impl)
{
    if (!opts->weights || !*opts->weights)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG,
                            "clipiqa needs a CLIP checkpoint with its text tower (on the "
                            "command line: --weights clipiqa=FILE); docs/clipiqa.md says "
                            "which file");
    if (opts->logit_scale < 0 || opts->logit_scale > 1e4 || opts->logit_scale != opts->logit_scale)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "clipiqa: logit scale %g out of (0, 1e4]",
                            opts->logit_scale);
    clipiqa_model *cm = lmmiqa__calloc(1, sizeof *cm);
    if (!cm)
        return LMMIQA_ERR_NOMEM;
    int rc = LMMIQA_OK;
    if (opts->prompts && *opts->prompts) {
        rc = read_pairs(opts->prompts, cm);
    } else {
        cm->n_pairs = (int)(sizeof default_pairs / sizeof default_pairs[0]);
        cm->pairs = lmmiqa__calloc((size_t)cm->n_pairs, sizeof *cm->pairs);
        if (!cm->pairs)
            rc = LMMIQA_ERR_NOMEM;
        for (int k = 0; rc == LMMIQA_OK && k < cm->n_pairs; k++) {
            snprintf(cm->pairs[k].name, sizeof cm->pairs[k].name, "%s", default_pairs[k].name);
            snprintf(cm->pairs[k].pos, MAX_PROMPT, "%s", default_pairs[k].pos);
            snprintf(cm->pairs[k].neg, MAX_PROMPT, "%s", default_pairs[k].neg);
        }
    }
    if (rc == LMMIQA_OK)
        rc = lmmiqa_vit_load(opts->weights, NULL, &cm->img.vit);
    if (rc == LMMIQA_OK && opts->threads > 0)
        openblas_set_num_threads(opts->threads);
    char vocab_sha[65] = "", prompts_sha[65] = "";
    if (rc == LMMIQA_OK) {
        cm->img.crop = lmmiqa__clip_crop_for(lmmiqa_vit_get_config(cm->img.vit));
        cm->img.normalize = 1;
        rc = embed_prompts(cm, opts, vocab_sha, prompts_sha);
    }
    if (rc != LMMIQA_OK) {
        model_destroy(cm);
        return rc;
    }
    /* configuration: the prompts enter as a hash, with the pair names */
    const lmmiqa_vit_config *vc = lmmiqa_vit_get_config(cm->img.vit);
    int ok = 1;
    cJSON *cfg = cJSON_CreateObject(), *names = cJSON_CreateArray();
    lmmiqa__json_add_str(cfg, "method", "CLIP-IQA zero-shot", &ok);
    lmmiqa__json_add_str(cfg, "weights_sha256", lmmiqa_vit_weights_sha256(cm->img.vit), &ok);
    lmmiqa__json_add_str(cfg, "vocab_sha256", vocab_sha, &ok);
    lmmiqa__json_add_str(cfg, "prompts_sha256", prompts_sha, &ok);
    lmmiqa__json_add_num(cfg, "logit_scale", cm->scale, &ok);
    lmmiqa__clip_describe(cfg, vc, cm->img.crop, &ok);
    for (int k = 0; names && k < cm->n_pairs; k++) {
        cJSON *v = cJSON_CreateString(cm->pairs[k].name);
        if (!v || !cJSON_AddItemToArray(names, v)) {
            cJSON_Delete(v);
            ok = 0;
        }
    }
    lmmiqa__json_add_item(cfg, "pairs", names, &ok);
    char *json = lmmiqa__json_print_free(cfg, ok, 0);
    if (!json) {
        model_destroy(cm);
        return LMMIQA_ERR_NOMEM;
    }
    impl->dim = (size_t)cm->n_pairs;
    impl->version = "1";
    impl->config_json = json;
    impl->model = cm;
    impl->model_destroy = model_destroy;
    impl->state_create = state_create;
    impl->state_destroy = state_destroy;
    impl->run = run;
    impl->feature_name = feature_name;
    return LMMIQA_OK;
}
