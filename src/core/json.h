/*
 * src/core/json.h - building JSON objects with cJSON without losing a failed
 * allocation.
 *
 * cJSON's Add functions return NULL when memory runs out and simply leave
 * the key out, so a builder that ignores their results can hand on an
 * object with a field missing: an extractor configuration that no longer
 * describes the extractor. These adds remember the first failure in *ok
 * (they may be called with a NULL object, which counts as a failure), and
 * lmmiqa__json_print_free turns the object into text only when nothing
 * failed. Every configuration the extractors describe themselves with is
 * built this way rather than with snprintf: strings are escaped, numbers
 * keep every digit, and the text always parses.
 */
#ifndef LMMIQA_CORE_JSON_H
#define LMMIQA_CORE_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

void lmmiqa__json_add_str(cJSON *o, const char *key, const char *value, int *ok);
void lmmiqa__json_add_num(cJSON *o, const char *key, double value, int *ok);
void lmmiqa__json_add_bool(cJSON *o, const char *key, int value, int *ok);
/* An array of n numbers. */
void lmmiqa__json_add_nums(cJSON *o, const char *key, const double *values, size_t n, int *ok);
/* Takes ownership of item (deleted when it cannot be added; NULL fails). */
void lmmiqa__json_add_item(cJSON *o, const char *key, cJSON *item, int *ok);

/* The unformatted text of o (malloc'd, freed with free()), or with
 * `pretty` the indented one ending in a newline; o is deleted either way.
 * NULL when ok is 0 or memory runs out (LMMIQA_ERR_NOMEM recorded). */
char *lmmiqa__json_print_free(cJSON *o, int ok, int pretty);

#endif
