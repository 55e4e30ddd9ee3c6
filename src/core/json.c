/*
 * src/core/json.c - sticky-failure adds over cJSON (see json.h): each add
 * clears *ok when cJSON could not allocate, and the printer refuses an
 * object that lost a field.
 */
#include "json.h"

#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void note(const void *added, int *ok)
{
    if (!added)
        *ok = 0;
}

void lmmiqa__json_add_str(cJSON *o, const char *key, const char *value, int *ok)
{
    note(cJSON_AddStringToObject(o, key, value), ok);
}

void lmmiqa__json_add_num(cJSON *o, const char *key, double value, int *ok)
{
    note(cJSON_AddNumberToObject(o, key, value), ok);
}

void lmmiqa__json_add_bool(cJSON *o, const char *key, int value, int *ok)
{
    note(cJSON_AddBoolToObject(o, key, value != 0), ok);
}

void lmmiqa__json_add_nums(cJSON *o, const char *key, const double *values, size_t n, int *ok)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *v = cJSON_CreateNumber(values[i]);
        if (!v || !cJSON_AddItemToArray(a, v)) {
            cJSON_Delete(v);
            cJSON_Delete(a);
            a = NULL;
        }
    }
    lmmiqa__json_add_item(o, key, a, ok);
}

void lmmiqa__json_add_item(cJSON *o, const char *key, cJSON *item, int *ok)
{
    if (!item || !o || !cJSON_AddItemToObject(o, key, item)) {
        cJSON_Delete(item);
        *ok = 0;
    }
}

char *lmmiqa__json_print_free(cJSON *o, int ok, int pretty)
{
    char *text = NULL;
    if (o && ok)
        text = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text && pretty) {
        size_t n = strlen(text);
        char *t = realloc(text, n + 2);
        if (!t) {
            free(text);
            text = NULL;
        } else {
            text = t;
            memcpy(text + n, "\n", 2);
        }
    }
    if (!text)
        lmmiqa__fail(LMMIQA_ERR_NOMEM, "out of memory building a JSON text");
    return text;
}
