/* minijson.c — see minijson.h. */
#include "minijson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p;
    const char *end;
} mj_in;

static void *xcalloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz);
    if (!p) {
        fprintf(stderr, "minijson: out of memory\n");
        exit(2);
    }
    return p;
}

static void skip_ws(mj_in *in) {
    while (in->p < in->end && (*in->p == ' ' || *in->p == '\n' || *in->p == '\r' || *in->p == '\t'))
        in->p++;
}

static int hex4(mj_in *in, unsigned *out) {
    unsigned v = 0;
    int i;
    if (in->end - in->p < 4) return 0;
    for (i = 0; i < 4; i++) {
        char c = *in->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *dst, unsigned cp) {
    if (cp < 0x80) { dst[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        dst[0] = (char)(0xC0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xE0 | (cp >> 12));
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        dst[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | (cp >> 18));
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string at in->p (which is at the opening quote). */
static char *parse_string(mj_in *in, size_t *len) {
    char *buf;
    size_t n = 0;
    const char *start = ++in->p;
    /* The decoded text is never longer than the source. */
    const char *q = start;
    while (q < in->end && *q != '"') q += (*q == '\\') ? 2 : 1;
    if (q >= in->end) return NULL;
    buf = xcalloc((size_t)(q - start) + 1, 1);
    while (in->p < in->end && *in->p != '"') {
        char c = *in->p++;
        if (c != '\\') { buf[n++] = c; continue; }
        if (in->p >= in->end) goto bad;
        c = *in->p++;
        switch (c) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (!hex4(in, &cp)) goto bad;
            if (cp >= 0xD800 && cp < 0xDC00 && in->end - in->p >= 6 && in->p[0] == '\\' &&
                in->p[1] == 'u') {
                in->p += 2;
                if (!hex4(in, &lo) || lo < 0xDC00 || lo > 0xDFFF) goto bad;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            n += put_utf8(buf + n, cp);
            break;
        }
        default: goto bad;
        }
    }
    if (in->p >= in->end) goto bad;
    in->p++; /* closing quote */
    buf[n] = '\0';
    *len = n;
    return buf;
bad:
    free(buf);
    return NULL;
}

static mj_value *parse_value(mj_in *in);

static mj_value *parse_container(mj_in *in, int is_object) {
    mj_value *v = xcalloc(1, sizeof *v);
    size_t cap = 8;
    v->type = is_object ? MJ_OBJECT : MJ_ARRAY;
    v->items = xcalloc(cap, sizeof *v->items);
    v->keys = xcalloc(cap, sizeof *v->keys);
    in->p++; /* [ or { */
    skip_ws(in);
    if (in->p < in->end && *in->p == (is_object ? '}' : ']')) { in->p++; return v; }
    for (;;) {
        char *key = NULL;
        size_t klen;
        mj_value *item;
        skip_ws(in);
        if (is_object) {
            if (in->p >= in->end || *in->p != '"') goto bad;
            key = parse_string(in, &klen);
            if (!key) goto bad;
            skip_ws(in);
            if (in->p >= in->end || *in->p != ':') { free(key); goto bad; }
            in->p++;
        }
        item = parse_value(in);
        if (!item) { free(key); goto bad; }
        if (v->count == cap) {
            cap *= 2;
            v->items = realloc(v->items, cap * sizeof *v->items);
            v->keys = realloc(v->keys, cap * sizeof *v->keys);
            if (!v->items || !v->keys) { fprintf(stderr, "minijson: out of memory\n"); exit(2); }
        }
        v->keys[v->count] = key;
        v->items[v->count++] = item;
        skip_ws(in);
        if (in->p < in->end && *in->p == ',') { in->p++; continue; }
        if (in->p < in->end && *in->p == (is_object ? '}' : ']')) { in->p++; return v; }
        goto bad;
    }
bad:
    mj_free(v);
    return NULL;
}

static mj_value *parse_value(mj_in *in) {
    mj_value *v;
    skip_ws(in);
    if (in->p >= in->end) return NULL;
    switch (*in->p) {
    case '{': return parse_container(in, 1);
    case '[': return parse_container(in, 0);
    case '"': {
        size_t len;
        char *s = parse_string(in, &len);
        if (!s) return NULL;
        v = xcalloc(1, sizeof *v);
        v->type = MJ_STRING;
        v->str = s;
        v->len = len;
        return v;
    }
    case 't':
    case 'f':
    case 'n': {
        static const char *const words[] = {"true", "false", "null"};
        int i;
        for (i = 0; i < 3; i++) {
            size_t wl = strlen(words[i]);
            if ((size_t)(in->end - in->p) >= wl && memcmp(in->p, words[i], wl) == 0) {
                in->p += wl;
                v = xcalloc(1, sizeof *v);
                v->type = i == 2 ? MJ_NULL : MJ_BOOL;
                v->boolean = i == 0;
                return v;
            }
        }
        return NULL;
    }
    default: {
        const char *start = in->p;
        while (in->p < in->end && strchr("+-0123456789.eE", *in->p)) in->p++;
        if (in->p == start) return NULL;
        v = xcalloc(1, sizeof *v);
        v->type = MJ_NUMBER;
        v->len = (size_t)(in->p - start);
        v->str = xcalloc(v->len + 1, 1);
        memcpy(v->str, start, v->len);
        return v;
    }
    }
}

mj_value *mj_parse(const char *text, size_t len) {
    mj_in in;
    mj_value *v;
    in.p = text;
    in.end = text + len;
    v = parse_value(&in);
    if (!v) return NULL;
    skip_ws(&in);
    if (in.p != in.end) { mj_free(v); return NULL; }
    return v;
}

mj_value *mj_parse_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char *buf;
    long size;
    mj_value *v;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = xcalloc((size_t)size + 1, 1);
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    v = mj_parse(buf, (size_t)size);
    free(buf);
    return v;
}

void mj_free(mj_value *v) {
    size_t i;
    if (!v) return;
    for (i = 0; i < v->count; i++) {
        free(v->keys[i]);
        mj_free(v->items[i]);
    }
    free(v->keys);
    free(v->items);
    free(v->str);
    free(v);
}

const mj_value *mj_get(const mj_value *obj, const char *key) {
    size_t i;
    if (!obj || obj->type != MJ_OBJECT) return NULL;
    for (i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
    return NULL;
}

const char *mj_str(const mj_value *obj, const char *key, size_t *len) {
    const mj_value *v = mj_get(obj, key);
    if (!v || v->type != MJ_STRING) {
        if (len) *len = 0;
        return "";
    }
    if (len) *len = v->len;
    return v->str;
}

uint64_t mj_u64(const mj_value *obj, const char *key) {
    const mj_value *v = mj_get(obj, key);
    if (!v || v->type != MJ_NUMBER) return 0;
    return (uint64_t)strtoull(v->str, NULL, 10);
}

int mj_bool(const mj_value *obj, const char *key) {
    const mj_value *v = mj_get(obj, key);
    return v && v->type == MJ_BOOL && v->boolean;
}
