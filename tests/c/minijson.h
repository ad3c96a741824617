/*
 * minijson.h — just enough JSON to read the shared test vectors (../shared/testdata).
 * Not a general parser: UTF-8 input, no depth limit beyond the stack, numbers kept as text.
 */
#ifndef MINIJSON_H
#define MINIJSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum { MJ_NULL, MJ_BOOL, MJ_NUMBER, MJ_STRING, MJ_ARRAY, MJ_OBJECT } mj_type;

typedef struct mj_value {
    mj_type type;
    int boolean;
    char *str;                 /* MJ_STRING: decoded bytes (NUL-terminated); MJ_NUMBER: its text */
    size_t len;                /* bytes in str */
    size_t count;              /* MJ_ARRAY / MJ_OBJECT: number of items */
    char **keys;               /* MJ_OBJECT: item keys */
    struct mj_value **items;   /* MJ_ARRAY / MJ_OBJECT: items */
} mj_value;

/* Parses `text`; NULL on a syntax error. Free with mj_free. */
mj_value *mj_parse(const char *text, size_t len);
/* Reads a whole file and parses it; NULL if unreadable or invalid. */
mj_value *mj_parse_file(const char *path);
void mj_free(mj_value *v);
/* The member `key` of an object, or NULL. */
const mj_value *mj_get(const mj_value *obj, const char *key);
/* The member's string ("" when absent or not a string). */
const char *mj_str(const mj_value *obj, const char *key, size_t *len);
/* The member's number as uint64 (0 when absent). */
uint64_t mj_u64(const mj_value *obj, const char *key);
/* The member's boolean (0 when absent). */
int mj_bool(const mj_value *obj, const char *key);

#endif
