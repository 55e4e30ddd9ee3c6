/*
 * src/io/pickle.c - the restricted pickle machine (see pickle.h).
 *
 * Values live in one arena freed at once. The stack holds value pointers;
 * MARK positions are kept on their own stack. Limits: 16 M values, 1 GiB of
 * arena, memo indices below 16 M and in sequence, marks nested 4096 deep. Containers may be
 * shared through the memo (as in Python); consumers bound their recursion.
 */
#include "pickle.h"

#include "core/internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUES (16u << 20)
#define MAX_ARENA ((size_t)1 << 30)
#define MAX_MEMO (16u << 20)
#define MAX_MARKS 4096

typedef struct chunk {
    struct chunk *next;
    size_t used, size;
    max_align_t data[];
} chunk;

struct lmmiqa__pickle {
    chunk *chunks;
    size_t arena_bytes;
    size_t values;
    lmmiqa__pv **stack;
    size_t sp, stack_cap;
    size_t *marks;
    size_t nmarks;
    lmmiqa__pv **memo;
    size_t memo_cap, memo_len; /* slots, keys defined */
    const unsigned char *data;
    size_t size, pos, op_pos;
    int op;
};

static void *arena_alloc(lmmiqa__pickle *p, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!p->chunks || p->chunks->size - p->chunks->used < n) {
        size_t sz = n > 65536 ? n : 65536;
        if (p->arena_bytes + sz > MAX_ARENA) {
            lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "pickle: more than %zu bytes of values",
                         MAX_ARENA);
            return NULL;
        }
        chunk *c = lmmiqa__malloc(sizeof *c + sz);
        if (!c)
            return NULL;
        c->next = p->chunks;
        c->used = 0;
        c->size = sz;
        p->chunks = c;
        p->arena_bytes += sz;
    }
    void *r = (char *)p->chunks->data + p->chunks->used;
    p->chunks->used += n;
    return r;
}

static int fail_at(lmmiqa__pickle *p, int status, const char *what)
{
    return lmmiqa__fail(status, "pickle: %s (opcode 0x%02x at byte %zu)", what, p->op, p->op_pos);
}

static lmmiqa__pv *new_value(lmmiqa__pickle *p, lmmiqa__pv_type t)
{
    if (p->values >= MAX_VALUES) {
        fail_at(p, LMMIQA_ERR_TOO_LARGE, "too many values");
        return NULL;
    }
    lmmiqa__pv *v = arena_alloc(p, sizeof *v);
    if (!v)
        return NULL;
    memset(v, 0, sizeof *v);
    v->type = t;
    p->values++;
    return v;
}

static int push(lmmiqa__pickle *p, lmmiqa__pv *v)
{
    if (!v)
        return LMMIQA_ERR_NOMEM;
    if (p->sp == p->stack_cap) {
        size_t nc = p->stack_cap ? 2 * p->stack_cap : 256;
        if (nc > MAX_VALUES)
            return fail_at(p, LMMIQA_ERR_TOO_LARGE, "stack too deep");
        lmmiqa__pv **ns = realloc(p->stack, nc * sizeof *ns);
        if (!ns)
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory");
        p->stack = ns;
        p->stack_cap = nc;
    }
    p->stack[p->sp++] = v;
    return LMMIQA_OK;
}

static lmmiqa__pv *pop(lmmiqa__pickle *p)
{
    size_t floor_ = p->nmarks ? p->marks[p->nmarks - 1] : 0;
    if (p->sp <= floor_) {
        fail_at(p, LMMIQA_ERR_CORRUPT, "stack underflow");
        return NULL;
    }
    return p->stack[--p->sp];
}

static lmmiqa__pv *top(lmmiqa__pickle *p)
{
    size_t floor_ = p->nmarks ? p->marks[p->nmarks - 1] : 0;
    if (p->sp <= floor_) {
        fail_at(p, LMMIQA_ERR_CORRUPT, "stack underflow");
        return NULL;
    }
    return p->stack[p->sp - 1];
}

/* The object just below a popped mark (the container APPENDS/SETITEMS fill). */
static lmmiqa__pv *below_mark(lmmiqa__pickle *p, size_t start)
{
    size_t floor_ = p->nmarks ? p->marks[p->nmarks - 1] : 0;
    if (start == 0 || start - 1 < floor_) {
        fail_at(p, LMMIQA_ERR_CORRUPT, "stack underflow");
        return NULL;
    }
    return p->stack[start - 1];
}

/* Items above the last mark: start index; the mark is removed. */
static int pop_mark(lmmiqa__pickle *p, size_t *start)
{
    if (!p->nmarks)
        return fail_at(p, LMMIQA_ERR_CORRUPT, "no MARK on the stack");
    *start = p->marks[--p->nmarks];
    return LMMIQA_OK;
}

static int append_items(lmmiqa__pickle *p, lmmiqa__pv *c, lmmiqa__pv **src, size_t n)
{
    if (n == 0)
        return LMMIQA_OK;
    if (c->len + n > c->cap) {
        size_t nc = c->cap ? c->cap : 4;
        while (nc < c->len + n)
            nc *= 2;
        lmmiqa__pv **ni = arena_alloc(p, nc * sizeof *ni);
        if (!ni)
            return LMMIQA_ERR_NOMEM;
        if (c->len)
            memcpy(ni, c->items, c->len * sizeof *ni);
        c->items = ni;
        c->cap = nc;
    }
    memcpy(c->items + c->len, src, n * sizeof *src);
    c->len += n;
    return LMMIQA_OK;
}

static lmmiqa__pv *make_seq(lmmiqa__pickle *p, lmmiqa__pv_type t, lmmiqa__pv **src, size_t n)
{
    lmmiqa__pv *v = new_value(p, t);
    if (v && n && append_items(p, v, src, n) != LMMIQA_OK)
        return NULL;
    return v;
}

/* dict[key] = value (replace an equal string/int key, as Python would) */
static int dict_set(lmmiqa__pickle *p, lmmiqa__pv *d, lmmiqa__pv *k, lmmiqa__pv *v)
{
    if (d->type != LMMIQA__PV_DICT)
        return fail_at(p, LMMIQA_ERR_CORRUPT, "SETITEM on a non-dict");
    if (k->type != LMMIQA__PV_STR && k->type != LMMIQA__PV_INT)
        return fail_at(p, LMMIQA_ERR_FORMAT, "dict key is not a string or integer");
    for (size_t i = 0; i + 1 < d->len; i += 2) {
        const lmmiqa__pv *e = d->items[i];
        if (e->type == k->type &&
            (k->type == LMMIQA__PV_INT ? e->i == k->i
                                       : e->len == k->len && memcmp(e->s, k->s, k->len) == 0)) {
            d->items[i + 1] = v;
            return LMMIQA_OK;
        }
    }
    lmmiqa__pv *kv[2] = {k, v};
    return append_items(p, d, kv, 2);
}

static int need(lmmiqa__pickle *p, size_t n)
{
    if (p->size - p->pos < n)
        return fail_at(p, LMMIQA_ERR_CORRUPT, "truncated");
    return LMMIQA_OK;
}

static uint64_t le(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static int push_str(lmmiqa__pickle *p, size_t n)
{
    if (need(p, n))
        return LMMIQA_ERR_CORRUPT;
    lmmiqa__pv *v = new_value(p, LMMIQA__PV_STR);
    if (!v)
        return LMMIQA_ERR_NOMEM;
    char *s = arena_alloc(p, n + 1);
    if (!s)
        return LMMIQA_ERR_NOMEM;
    memcpy(s, p->data + p->pos, n);
    s[n] = '\0';
    p->pos += n;
    v->s = s;
    v->len = n;
    return push(p, v);
}

static int memo_put(lmmiqa__pickle *p, uint64_t idx)
{
    lmmiqa__pv *v = top(p);
    if (!v)
        return LMMIQA_ERR_CORRUPT;
    /* picklers number the memo sequentially; an index far beyond the values
     * made so far is malformed (and would only cost memory) */
    if (idx >= MAX_MEMO || idx > p->values + 64)
        return fail_at(p, LMMIQA_ERR_CORRUPT, "memo index out of sequence");
    if (idx >= p->memo_cap) {
        size_t nc = p->memo_cap ? p->memo_cap : 256;
        while (nc <= idx)
            nc *= 2;
        lmmiqa__pv **nm = realloc(p->memo, nc * sizeof *nm);
        if (!nm)
            return lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory");
        memset(nm + p->memo_cap, 0, (nc - p->memo_cap) * sizeof *nm);
        p->memo = nm;
        p->memo_cap = nc;
    }
    if (!p->memo[idx])
        p->memo_len++;
    p->memo[idx] = v;
    return LMMIQA_OK;
}

static int memo_get(lmmiqa__pickle *p, uint64_t idx)
{
    if (idx >= p->memo_cap || !p->memo[idx])
        return fail_at(p, LMMIQA_ERR_CORRUPT, "memo key not defined");
    return push(p, p->memo[idx]);
}

static const struct {
    const char *module, *name;
    lmmiqa__pv_global g;
    lmmiqa_dtype dtype;
} allowed[] = {
    {"collections", "OrderedDict", LMMIQA__G_ORDERED_DICT, 0},
    {"torch._utils", "_rebuild_tensor_v2", LMMIQA__G_REBUILD_TENSOR_V2, 0},
    {"torch._utils", "_rebuild_parameter", LMMIQA__G_REBUILD_PARAMETER, 0},
    {"torch._utils", "_rebuild_parameter_with_state", LMMIQA__G_REBUILD_PARAMETER_STATE, 0},
    {"torch", "FloatStorage", LMMIQA__G_STORAGE_TYPE, LMMIQA_DTYPE_F32},
    {"torch", "HalfStorage", LMMIQA__G_STORAGE_TYPE, LMMIQA_DTYPE_F16},
    {"torch", "BFloat16Storage", LMMIQA__G_STORAGE_TYPE, LMMIQA_DTYPE_BF16},
    {"torch", "DoubleStorage", LMMIQA__G_STORAGE_TYPE, LMMIQA_DTYPE_F64},
    {"torch", "LongStorage", LMMIQA__G_STORAGE_TYPE, LMMIQA_DTYPE_I64},
    {"torch", "IntStorage", LMMIQA__G_STORAGE_TYPE, LMMIQA_DTYPE_I32},
    {"torch", "ByteStorage", LMMIQA__G_STORAGE_TYPE, LMMIQA_DTYPE_U8},
    {"torch", "CharStorage", LMMIQA__G_STORAGE_TYPE, LMMIQA_DTYPE_I8},
    {"torch", "BoolStorage", LMMIQA__G_STORAGE_TYPE, LMMIQA_DTYPE_BOOL},
};

static int push_global(lmmiqa__pickle *p, const char *module, size_t mlen, const char *name,
                       size_t nlen)
{
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strlen(allowed[i].module) == mlen && memcmp(allowed[i].module, module, mlen) == 0 &&
            strlen(allowed[i].name) == nlen && memcmp(allowed[i].name, name, nlen) == 0) {
            lmmiqa__pv *v = new_value(p, LMMIQA__PV_GLOBAL);
            if (!v)
                return LMMIQA_ERR_NOMEM;
            v->i = allowed[i].g;
            v->dtype = allowed[i].dtype;
            return push(p, v);
        }
    char what[200];
    snprintf(what, sizeof what, "refusing global %.*s.%.*s (not a tensor/state-dict type)",
             (int)(mlen > 80 ? 80 : mlen), module, (int)(nlen > 80 ? 80 : nlen), name);
    return fail_at(p, LMMIQA_ERR_FORMAT, what);
}

static int int_arg(const lmmiqa__pv *v, int64_t *out)
{
    if (v->type != LMMIQA__PV_INT)
        return -1;
    *out = v->i;
    return 0;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) */
static int rebuild_tensor(lmmiqa__pickle *p, const lmmiqa__pv *args)
{
    if (args->type != LMMIQA__PV_TUPLE || args->len < 4 || args->len > 7)
        return fail_at(p, LMMIQA_ERR_CORRUPT, "_rebuild_tensor_v2: bad arguments");
    const lmmiqa__pv *st = args->items[0], *size = args->items[2], *stride = args->items[3];
    lmmiqa__pv *t = new_value(p, LMMIQA__PV_TENSOR);
    if (!t)
        return LMMIQA_ERR_NOMEM;
    if (st->type != LMMIQA__PV_STORAGE)
        return fail_at(p, LMMIQA_ERR_CORRUPT, "_rebuild_tensor_v2: first argument not a storage");
    if (int_arg(args->items[1], &t->offset) || t->offset < 0)
        return fail_at(p, LMMIQA_ERR_CORRUPT, "_rebuild_tensor_v2: bad storage offset");
    if (size->type != LMMIQA__PV_TUPLE || stride->type != LMMIQA__PV_TUPLE ||
        size->len != stride->len)
        return fail_at(p, LMMIQA_ERR_CORRUPT, "_rebuild_tensor_v2: bad size/stride");
    if (size->len > LMMIQA_TENSOR_MAX_DIMS)
        return fail_at(p, LMMIQA_ERR_TOO_LARGE, "_rebuild_tensor_v2: too many dimensions");
    t->ndim = (int)size->len;
    for (int d = 0; d < t->ndim; d++)
        if (int_arg(size->items[d], &t->shape[d]) || t->shape[d] < 0 ||
            int_arg(stride->items[d], &t->stride[d]) || t->stride[d] < 0)
            return fail_at(p, LMMIQA_ERR_CORRUPT, "_rebuild_tensor_v2: bad size/stride entry");
    t->storage = st;
    t->dtype = st->dtype;
    return push(p, t);
}

static int reduce(lmmiqa__pickle *p)
{
    lmmiqa__pv *args = pop(p);
    lmmiqa__pv *fn = args ? pop(p) : NULL;
    if (!fn)
        return LMMIQA_ERR_CORRUPT;
    if (fn->type != LMMIQA__PV_GLOBAL)
        return fail_at(p, LMMIQA_ERR_FORMAT, "REDUCE of something that is not an allowed global");
    if (args->type != LMMIQA__PV_TUPLE)
        return fail_at(p, LMMIQA_ERR_CORRUPT, "REDUCE arguments are not a tuple");
    switch ((lmmiqa__pv_global)fn->i) {
    case LMMIQA__G_ORDERED_DICT:
        if (args->len != 0)
            return fail_at(p, LMMIQA_ERR_FORMAT, "OrderedDict with arguments");
        return push(p, new_value(p, LMMIQA__PV_DICT));
    case LMMIQA__G_REBUILD_TENSOR_V2:
        return rebuild_tensor(p, args);
    case LMMIQA__G_REBUILD_PARAMETER:
    case LMMIQA__G_REBUILD_PARAMETER_STATE:
        if (args->len < 1 || args->items[0]->type != LMMIQA__PV_TENSOR)
            return fail_at(p, LMMIQA_ERR_CORRUPT, "_rebuild_parameter: first argument not a tensor");
        return push(p, args->items[0]);
    case LMMIQA__G_STORAGE_TYPE:
        return fail_at(p, LMMIQA_ERR_FORMAT, "calling a storage type");
    }
    return fail_at(p, LMMIQA_ERR_INTERNAL, "unknown global");
}

/* BINPERSID: ('storage', storage_type, key, location, numel) */
static int persistent_load(lmmiqa__pickle *p)
{
    lmmiqa__pv *pid = pop(p);
    if (!pid)
        return LMMIQA_ERR_CORRUPT;
    if (pid->type != LMMIQA__PV_TUPLE || pid->len != 5 ||
        pid->items[0]->type != LMMIQA__PV_STR || strcmp(pid->items[0]->s, "storage") != 0 ||
        pid->items[1]->type != LMMIQA__PV_GLOBAL || pid->items[1]->i != LMMIQA__G_STORAGE_TYPE ||
        pid->items[2]->type != LMMIQA__PV_STR || pid->items[4]->type != LMMIQA__PV_INT ||
        pid->items[4]->i < 0)
        return fail_at(p, LMMIQA_ERR_FORMAT,
                       "persistent id is not ('storage', <torch storage type>, key, location, "
                       "numel)");
    const lmmiqa__pv *key = pid->items[2];
    if (key->len == 0 || key->len > 64 || strlen(key->s) != key->len || strchr(key->s, '/'))
        return fail_at(p, LMMIQA_ERR_CORRUPT, "bad storage key");
    lmmiqa__pv *st = new_value(p, LMMIQA__PV_STORAGE);
    if (!st)
        return LMMIQA_ERR_NOMEM;
    st->s = key->s;
    st->len = key->len;
    st->i = pid->items[4]->i;
    st->dtype = pid->items[1]->dtype;
    return push(p, st);
}

static int run(lmmiqa__pickle *p, const lmmiqa__pv **root)
{
    int rc = LMMIQA_OK;
    lmmiqa__pv *a, *b, *c;
    size_t start = 0;
    while (rc == LMMIQA_OK) {
        if (p->pos >= p->size)
            return lmmiqa__fail(LMMIQA_ERR_CORRUPT, "pickle: truncated (no STOP opcode)");
        p->op_pos = p->pos;
        p->op = p->data[p->pos++];
        switch (p->op) {
        case 0x80: /* PROTO */
            if ((rc = need(p, 1)) == 0) {
                if (p->data[p->pos] < 2 || p->data[p->pos] > 5)
                    return fail_at(p, LMMIQA_ERR_FORMAT, "unsupported pickle protocol");
                p->pos++;
            }
            break;
        case 0x95: /* FRAME */
            if ((rc = need(p, 8)) == 0)
                p->pos += 8;
            break;
        case '.': /* STOP */
            a = pop(p);
            if (!a)
                return LMMIQA_ERR_CORRUPT;
            *root = a;
            return LMMIQA_OK;
        case '(': /* MARK */
            if (p->nmarks >= MAX_MARKS)
                return fail_at(p, LMMIQA_ERR_TOO_LARGE, "MARKs nested too deep");
            p->marks[p->nmarks++] = p->sp;
            break;
        case '}': /* EMPTY_DICT */
            rc = push(p, new_value(p, LMMIQA__PV_DICT));
            break;
        case ']': /* EMPTY_LIST */
            rc = push(p, new_value(p, LMMIQA__PV_LIST));
            break;
        case ')': /* EMPTY_TUPLE */
            rc = push(p, new_value(p, LMMIQA__PV_TUPLE));
            break;
        case 'N':
            rc = push(p, new_value(p, LMMIQA__PV_NONE));
            break;
        case 0x88: /* NEWTRUE */
        case 0x89: /* NEWFALSE */
            a = new_value(p, LMMIQA__PV_BOOL);
            if (a)
                a->i = p->op == 0x88;
            rc = push(p, a);
            break;
        case 'K': /* BININT1 */
        case 'M': /* BININT2 */
        case 'J': { /* BININT */
            int n = p->op == 'K' ? 1 : p->op == 'M' ? 2 : 4;
            if ((rc = need(p, (size_t)n)))
                break;
            a = new_value(p, LMMIQA__PV_INT);
            if (a) {
                uint64_t v = le(p->data + p->pos, n);
                a->i = n == 4 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
            }
            p->pos += (size_t)n;
            rc = push(p, a);
            break;
        }
        case 0x8a: { /* LONG1 */
            if ((rc = need(p, 1)))
                break;
            int n = p->data[p->pos++];
            if (n > 8)
                return fail_at(p, LMMIQA_ERR_FORMAT, "integer wider than 64 bits");
            if ((rc = need(p, (size_t)n)))
                break;
            a = new_value(p, LMMIQA__PV_INT);
            if (a) {
                uint64_t v = le(p->data + p->pos, n);
                if (n > 0 && n < 8 && (p->data[p->pos + n - 1] & 0x80))
                    v |= ~(uint64_t)0 << (8 * n); /* sign-extend */
                a->i = (int64_t)v;
            }
            p->pos += (size_t)n;
            rc = push(p, a);
            break;
        }
        case 'G': { /* BINFLOAT, big-endian */
            if ((rc = need(p, 8)))
                break;
            uint64_t v = 0;
            for (int i = 0; i < 8; i++)
                v = (v << 8) | p->data[p->pos + i];
            p->pos += 8;
            a = new_value(p, LMMIQA__PV_FLOAT);
            if (a)
                memcpy(&a->f, &v, 8);
            rc = push(p, a);
            break;
        }
        case 'X': /* BINUNICODE */
            if ((rc = need(p, 4)) == 0) {
                size_t n = (size_t)le(p->data + p->pos, 4);
                p->pos += 4;
                rc = push_str(p, n);
            }
            break;
        case 0x8c: /* SHORT_BINUNICODE */
            if ((rc = need(p, 1)) == 0) {
                size_t n = p->data[p->pos++];
                rc = push_str(p, n);
            }
            break;
        case 0x8d: /* BINUNICODE8 */
            if ((rc = need(p, 8)) == 0) {
                uint64_t n = le(p->data + p->pos, 8);
                p->pos += 8;
                if (n > p->size)
                    return fail_at(p, LMMIQA_ERR_CORRUPT, "truncated");
                rc = push_str(p, (size_t)n);
            }
            break;
        case 'q': /* BINPUT */
            if ((rc = need(p, 1)) == 0)
                rc = memo_put(p, p->data[p->pos++]);
            break;
        case 'r': /* LONG_BINPUT */
            if ((rc = need(p, 4)) == 0) {
                uint64_t i = le(p->data + p->pos, 4);
                p->pos += 4;
                rc = memo_put(p, i);
            }
            break;
        case 0x94: /* MEMOIZE: memo[len(memo)] = top */
            rc = memo_put(p, p->memo_len);
            break;
        case 'h': /* BINGET */
            if ((rc = need(p, 1)) == 0)
                rc = memo_get(p, p->data[p->pos++]);
            break;
        case 'j': /* LONG_BINGET */
            if ((rc = need(p, 4)) == 0) {
                uint64_t i = le(p->data + p->pos, 4);
                p->pos += 4;
                rc = memo_get(p, i);
            }
            break;
        case 0x85: /* TUPLE1 */
        case 0x86: /* TUPLE2 */
        case 0x87: { /* TUPLE3 */
            size_t n = (size_t)(p->op - 0x84);
            size_t floor_ = p->nmarks ? p->marks[p->nmarks - 1] : 0;
            if (p->sp < floor_ + n)
                return fail_at(p, LMMIQA_ERR_CORRUPT, "stack underflow");
            a = make_seq(p, LMMIQA__PV_TUPLE, p->stack + p->sp - n, n);
            p->sp -= n;
            rc = push(p, a);
            break;
        }
        case 't': /* TUPLE */
        case 'l': /* LIST */
            if ((rc = pop_mark(p, &start)))
                break;
            a = make_seq(p, p->op == 't' ? LMMIQA__PV_TUPLE : LMMIQA__PV_LIST, p->stack + start,
                         p->sp - start);
            p->sp = start;
            rc = push(p, a);
            break;
        case 'd': /* DICT */
            if ((rc = pop_mark(p, &start)))
                break;
            if ((p->sp - start) % 2)
                return fail_at(p, LMMIQA_ERR_CORRUPT, "odd number of dict items");
            a = new_value(p, LMMIQA__PV_DICT);
            if (!a)
                return LMMIQA_ERR_NOMEM;
            for (size_t i = start; i < p->sp && rc == 0; i += 2)
                rc = dict_set(p, a, p->stack[i], p->stack[i + 1]);
            p->sp = start;
            if (rc == 0)
                rc = push(p, a);
            break;
        case 'a': /* APPEND */
            b = pop(p);
            a = b ? top(p) : NULL;
            if (!a)
                return LMMIQA_ERR_CORRUPT;
            if (a->type != LMMIQA__PV_LIST)
                return fail_at(p, LMMIQA_ERR_CORRUPT, "APPEND to a non-list");
            rc = append_items(p, a, &b, 1);
            break;
        case 'e': /* APPENDS */
            if ((rc = pop_mark(p, &start)))
                break;
            if ((a = below_mark(p, start)) == NULL)
                return LMMIQA_ERR_CORRUPT;
            if (a->type != LMMIQA__PV_LIST)
                return fail_at(p, LMMIQA_ERR_CORRUPT, "APPENDS to a non-list");
            rc = append_items(p, a, p->stack + start, p->sp - start);
            p->sp = start;
            break;
        case 's': /* SETITEM */
            c = pop(p);
            b = c ? pop(p) : NULL;
            a = b ? top(p) : NULL;
            if (!a)
                return LMMIQA_ERR_CORRUPT;
            rc = dict_set(p, a, b, c);
            break;
        case 'u': /* SETITEMS */
            if ((rc = pop_mark(p, &start)))
                break;
            if ((a = below_mark(p, start)) == NULL)
                return LMMIQA_ERR_CORRUPT;
            if ((p->sp - start) % 2)
                return fail_at(p, LMMIQA_ERR_CORRUPT, "odd number of dict items");
            for (size_t i = start; i < p->sp && rc == 0; i += 2)
                rc = dict_set(p, a, p->stack[i], p->stack[i + 1]);
            p->sp = start;
            break;
        case 'c': { /* GLOBAL module\nname\n */
            const unsigned char *s = p->data + p->pos, *end = p->data + p->size;
            const unsigned char *nl1 = memchr(s, '\n', (size_t)(end - s));
            const unsigned char *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1)) : NULL;
            if (!nl2)
                return fail_at(p, LMMIQA_ERR_CORRUPT, "truncated GLOBAL");
            p->pos = (size_t)(nl2 + 1 - p->data);
            rc = push_global(p, (const char *)s, (size_t)(nl1 - s), (const char *)nl1 + 1,
                             (size_t)(nl2 - nl1 - 1));
            break;
        }
        case 0x93: /* STACK_GLOBAL */
            b = pop(p);
            a = b ? pop(p) : NULL;
            if (!a)
                return LMMIQA_ERR_CORRUPT;
            if (a->type != LMMIQA__PV_STR || b->type != LMMIQA__PV_STR)
                return fail_at(p, LMMIQA_ERR_CORRUPT, "STACK_GLOBAL needs two strings");
            rc = push_global(p, a->s, a->len, b->s, b->len);
            break;
        case 'R': /* REDUCE */
            rc = reduce(p);
            break;
        case 'Q': /* BINPERSID */
            rc = persistent_load(p);
            break;
        case 'b': /* BUILD: only the _metadata attribute of an OrderedDict */
            b = pop(p);
            a = b ? top(p) : NULL;
            if (!a)
                return LMMIQA_ERR_CORRUPT;
            if (a->type != LMMIQA__PV_DICT)
                return fail_at(p, LMMIQA_ERR_FORMAT, "BUILD on an object other than a dict");
            break;
        default: {
            char what[64];
            snprintf(what, sizeof what, "refusing opcode '%c'",
                     p->op >= 0x20 && p->op < 0x7f ? p->op : '?');
            return fail_at(p, LMMIQA_ERR_FORMAT, what);
        }
        }
    }
    return rc;
}

int lmmiqa__pickle_load(const unsigned char *data, size_t size, lmmiqa__pickle **out,
                        const lmmiqa__pv **root)
{
    assert(out && root && (data || !size));
    *out = NULL;
    *root = NULL;
    lmmiqa__pickle *p = lmmiqa__calloc(1, sizeof *p);
    if (!p)
        return LMMIQA_ERR_NOMEM;
    p->marks = lmmiqa__malloc(MAX_MARKS * sizeof *p->marks);
    p->stack_cap = 256;
    p->stack = lmmiqa__malloc(p->stack_cap * sizeof *p->stack);
    if (!p->marks || !p->stack) {
        free(p->marks);
        free(p->stack);
        free(p);
        return LMMIQA_ERR_NOMEM;
    }
    p->data = data;
    p->size = size;
    int rc = run(p, root);
    if (rc == LMMIQA_OK && (*root)->type == LMMIQA__PV_NONE)
        rc = lmmiqa__fail(LMMIQA_ERR_FORMAT, "pickle: holds None, not a state dict");
    if (rc != LMMIQA_OK) {
        lmmiqa__pickle_destroy(p);
        *root = NULL;
        return rc;
    }
    free(p->stack);
    p->stack = NULL;
    free(p->memo);
    p->memo = NULL;
    free(p->marks);
    p->marks = NULL;
    *out = p;
    return LMMIQA_OK;
}

void lmmiqa__pickle_destroy(lmmiqa__pickle *p)
{
    if (!p)
        return;
    while (p->chunks) {
        chunk *n = p->chunks->next;
        free(p->chunks);
        p->chunks = n;
    }
    free(p->stack);
    free(p->memo);
    free(p->marks);
    free(p);
}
