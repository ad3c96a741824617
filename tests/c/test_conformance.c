/*
 * The shared table of bad inputs (tests/conformance/bad_inputs.json, described in its
 * README.md), run through the C ABI. Every case whose `langs` includes "c" (default: all)
 * must give its status category, mention its substring, keep the message within
 * `max_message_bytes` and quote at most `max_quoted_chars` consecutive characters of a long
 * bad value. An unknown op or expectation fails the run: no case is skipped silently.
 */
#include "minijson.h"
#include "rr_test.h"

/* A string argument: a JSON string, {"hex": ...} or {"prefix"?, "repeat", "count"}. Fills
 * (ptr, len) with malloc'ed bytes (NUL-terminated; never NULL). */
static char *arg_bytes(const mj_value *v, size_t *len) {
    char *out;
    if (!v) {
        fprintf(stderr, "conformance: missing string argument\n");
        CHECK(v != NULL);
    }
    if (v->type == MJ_STRING) {
        out = malloc(v->len + 1);
        CHECK(out != NULL);
        memcpy(out, v->str, v->len + 1);
        *len = v->len;
        return out;
    }
    CHECK(v->type == MJ_OBJECT);
    if (mj_get(v, "hex")) {
        size_t hlen, i;
        const char *h = mj_str(v, "hex", &hlen);
        out = malloc(hlen / 2 + 1);
        CHECK(out != NULL && hlen % 2 == 0);
        for (i = 0; i < hlen / 2; i++) {
            unsigned b;
            CHECK(sscanf(h + 2 * i, "%2x", &b) == 1);
            out[i] = (char)b;
        }
        out[hlen / 2] = '\0';
        *len = hlen / 2;
        return out;
    } else {
        size_t plen, ulen, i, n = (size_t)mj_u64(v, "count");
        const char *prefix = mj_str(v, "prefix", &plen);
        const char *unit = mj_str(v, "repeat", &ulen);
        CHECK(mj_get(v, "repeat") != NULL && ulen > 0);
        out = malloc(plen + ulen * n + 1);
        CHECK(out != NULL);
        memcpy(out, prefix, plen);
        for (i = 0; i < n; i++) memcpy(out + plen + i * ulen, unit, ulen);
        *len = plen + ulen * n;
        out[*len] = '\0';
        return out;
    }
}

static const mj_value *need(const mj_value *args, const char *key) {
    const mj_value *v = mj_get(args, key);
    if (!v) fprintf(stderr, "conformance: argument \"%s\" missing\n", key);
    CHECK(v != NULL);
    return v;
}

/* Integer arguments, range-checked for the C parameter they feed. */
static uint64_t arg_u64(const mj_value *args, const char *key) {
    const mj_value *v = need(args, key);
    CHECK(v->type == MJ_NUMBER && v->str[0] != '-');
    return strtoull(v->str, NULL, 10);
}

static uint32_t arg_u32(const mj_value *args, const char *key) {
    uint64_t n = arg_u64(args, key);
    CHECK(n <= UINT32_MAX);
    return (uint32_t)n;
}

static int32_t arg_i32(const mj_value *args, const char *key) {
    const mj_value *v = need(args, key);
    long long n;
    CHECK(v->type == MJ_NUMBER);
    n = strtoll(v->str, NULL, 10);
    CHECK(n >= INT32_MIN && n <= INT32_MAX);
    return (int32_t)n;
}

/* Whether `msg` holds more than `max` consecutive bytes of `value`: the rolling hashes of
 * msg's (max + 1)-byte windows are looked for along `value` (Rabin-Karp), so a 1 MiB value
 * is scanned once, fast enough under valgrind. */
static int quotes_more_than(const char *msg, size_t mlen, const char *value, size_t vlen,
                            size_t max) {
    const size_t k = max + 1;
    const uint64_t B = 1099511628211u;
    uint64_t pow = 1, h = 0, *wins;
    size_t nwin, i, j;
    int found = 0;
    if (mlen < k || vlen < k) return 0;
    nwin = mlen - k + 1;
    wins = malloc(nwin * sizeof *wins);
    CHECK(wins != NULL);
    for (i = 0; i < k; i++) pow *= B; /* B^k */
    for (i = 0; i < mlen; i++) {
        h = h * B + (unsigned char)msg[i];
        if (i >= k) h -= pow * (unsigned char)msg[i - k];
        if (i + 1 >= k) wins[i + 1 - k] = h;
    }
    h = 0;
    for (i = 0; i < vlen && !found; i++) {
        h = h * B + (unsigned char)value[i];
        if (i >= k) h -= pow * (unsigned char)value[i - k];
        if (i + 1 < k) continue;
        for (j = 0; j < nwin; j++) {
            if (wins[j] == h && memcmp(msg + j, value + i + 1 - k, k) == 0) {
                found = 1;
                break;
            }
        }
    }
    free(wins);
    return found;
}

typedef enum { OUT_STATUS, OUT_ABSENT, OUT_PRESENT } out_kind;

#define MAX_VALUES 2

typedef struct {
    out_kind kind;
    rr_status status;
    char *values[MAX_VALUES]; /* the string arguments: the bad values a message may quote */
    size_t lens[MAX_VALUES];
    int nvalues;
} outcome;

static char *keep(outcome *o, const mj_value *v, size_t *len) {
    char *b = arg_bytes(v, len);
    CHECK(o->nvalues < MAX_VALUES);
    o->values[o->nvalues] = b;
    o->lens[o->nvalues++] = *len;
    return b;
}

/* Runs one case on fresh objects: a registry and the HTTP route "conf". */
static void run(const char *id, const char *op, const mj_value *args, outcome *o) {
    rr_registry *reg = rr_registry_new();
    rr_route *r = mk_route(RR_KIND_HTTP, "conf", "http://10.0.0.1:80");
    size_t n1, n2;
    memset(o, 0, sizeof *o);
    o->kind = OUT_STATUS;
    if (strcmp(op, "route_new") == 0) {
        rr_route *made = NULL;
        const char *alias = keep(o, need(args, "alias"), &n1);
        const char *url = keep(o, need(args, "url"), &n2);
        o->status = rr_route_new(arg_u32(args, "kind"), alias, n1, url, n2, &made);
        CHECK((o->status == RR_OK) == (made != NULL)); /* *out set exactly on success */
        rr_route_release(made);
    } else if (strcmp(op, "route_set") == 0) {
        const char *field = mj_str(args, "field", NULL);
        const char *v = keep(o, need(args, "value"), &n1);
        if (strcmp(field, "key") == 0) o->status = rr_route_set_key(r, v, n1);
        else if (strcmp(field, "display_name") == 0) o->status = rr_route_set_display_name(r, v, n1);
        else if (strcmp(field, "provider") == 0) o->status = rr_route_set_provider(r, v, n1);
        else {
            fprintf(stderr, "conformance %s: unknown field %s\n", id, field);
            CHECK(!"known route_set field");
        }
    } else if (strcmp(op, "route_set_priority") == 0) {
        o->status = rr_route_set_priority(r, arg_i32(args, "priority"));
    } else if (strcmp(op, "route_set_proxmox") == 0) {
        const char *node = keep(o, need(args, "node"), &n1);
        o->status = rr_route_set_proxmox(r, node, n1, arg_i32(args, "vmid"));
    } else if (strcmp(op, "route_set_health") == 0) {
        const char *detail = keep(o, need(args, "detail"), &n1);
        o->status = rr_route_set_health(r, arg_u32(args, "status"), arg_u64(args, "uptime_ns"),
                                        arg_u64(args, "latency_ns"), detail, n1);
    } else if (strcmp(op, "health_json") == 0) {
        char *json = rr_health_json(reg, arg_u32(args, "format"));
        o->status = json ? RR_OK : RR_INVALID_ARGUMENT;
        rr_string_free(json);
    } else if (strcmp(op, "del_key") == 0) {
        const char *key = keep(o, need(args, "key"), &n1);
        o->status = rr_del_key(reg, arg_u32(args, "kind"), key, n1);
    } else if (strcmp(op, "get") == 0) {
        const char *key = keep(o, need(args, "key"), &n1);
        rr_route *got = rr_get(reg, key, n1);
        o->kind = got ? OUT_PRESENT : OUT_ABSENT;
        rr_route_release(got);
    } else if (strcmp(op, "proxmox_load_json") == 0) {
        const char *json = keep(o, need(args, "json"), &n1);
        o->status = rr_proxmox_load_json(reg, json, n1);
    } else if (strcmp(op, "add") == 0) {
        const mj_value *route = mj_get(args, "route"), *registry = mj_get(args, "registry");
        if (route && route->type == MJ_NULL) o->status = rr_add(reg, NULL);
        else if (registry && registry->type == MJ_NULL) o->status = rr_add(NULL, r);
        else {
            fprintf(stderr, "conformance %s: add without a null handle\n", id);
            CHECK(!"add names a null handle");
        }
    } else if (strncmp(op, "batch_", 6) == 0) {
        rr_batch *b = rr_batch_new();
        CHECK(b != NULL);
        if (strcmp(op, "batch_add") == 0) {
            const mj_value *route = mj_get(args, "route");
            CHECK(route && route->type == MJ_NULL);
            o->status = rr_batch_add(b, NULL);
        } else if (strcmp(op, "batch_del_key") == 0) {
            const char *key = keep(o, need(args, "key"), &n1);
            o->status = rr_batch_del_key(b, arg_u32(args, "kind"), key, n1);
        } else if (strcmp(op, "batch_replace_provider") == 0) {
            const char *p = keep(o, need(args, "provider"), &n1);
            o->status = rr_batch_replace_provider(b, p, n1);
        } else if (strcmp(op, "batch_commit_twice") == 0) {
            CHECK(rr_batch_commit(reg, b, NULL) == RR_OK);
            o->status = rr_batch_commit(reg, b, NULL);
        } else {
            fprintf(stderr, "conformance %s: unknown op \"%s\"\n", id, op);
            CHECK(!"every op of the table is known");
        }
        rr_batch_free(b);
    } else if (strcmp(op, "changes_since") == 0) {
        uint64_t next = 1;
        o->status = rr_changes_since(reg, arg_u64(args, "since"), NULL, NULL, &next);
    } else if (strcmp(op, "set_change_log_capacity") == 0) {
        o->status = rr_set_change_log_capacity(reg, (size_t)arg_u64(args, "records"));
    } else if (strcmp(op, "set_route_domains") == 0) {
        const mj_value *list = need(args, "domains");
        rr_str doms[MAX_VALUES];
        size_t i;
        CHECK(list->type == MJ_ARRAY && list->count <= MAX_VALUES);
        for (i = 0; i < list->count; i++) {
            doms[i].ptr = keep(o, list->items[i], &n1);
            doms[i].len = n1;
        }
        o->status = rr_set_route_domains(reg, doms, list->count);
    } else if (strcmp(op, "find_http_route") == 0) {
        const char *host = keep(o, need(args, "host"), &n1);
        rr_route *got;
        CHECK(rr_add(reg, r) == RR_OK);
        got = rr_find_http_route(reg, host, n1);
        o->kind = got ? OUT_PRESENT : OUT_ABSENT;
        rr_route_release(got);
    } else {
        fprintf(stderr, "conformance %s: unknown op \"%s\"\n", id, op);
        CHECK(!"every op of the table is known");
    }
    rr_route_release(r);
    rr_registry_free(reg);
}

static int for_c(const mj_value *c) {
    const mj_value *langs = mj_get(c, "langs");
    size_t i;
    if (!langs) return 1;
    CHECK(langs->type == MJ_ARRAY);
    for (i = 0; i < langs->count; i++)
        if (langs->items[i]->type == MJ_STRING && strcmp(langs->items[i]->str, "c") == 0) return 1;
    return 0;
}

void test_conformance(const char *path) {
    mj_value *root = mj_parse_file(path);
    const mj_value *cases;
    size_t i, max_quoted, max_bytes, ran = 0;
    if (!root) fprintf(stderr, "conformance: cannot read %s (set RR_CONFORMANCE)\n", path);
    CHECK(root != NULL);
    cases = mj_get(root, "cases");
    CHECK(cases && cases->type == MJ_ARRAY && cases->count >= 40);
    max_quoted = (size_t)mj_u64(root, "max_quoted_chars");
    max_bytes = (size_t)mj_u64(root, "max_message_bytes");
    CHECK(max_quoted > 0 && max_bytes > max_quoted);
    for (i = 0; i < cases->count; i++) {
        const mj_value *c = cases->items[i];
        const char *id = mj_str(c, "id", NULL), *expect = mj_str(c, "expect", NULL);
        const mj_value *mentions = mj_get(c, "mentions");
        rr_status want;
        outcome o;
        int v;
        if (!for_c(c)) continue;
        run(id, mj_str(c, "op", NULL), need(c, "args"), &o);
        if (strcmp(expect, "absent") == 0) {
            if (o.kind != OUT_ABSENT) fprintf(stderr, "conformance %s: expected NULL\n", id);
            CHECK(o.kind == OUT_ABSENT);
        } else if (strcmp(expect, "present") == 0) {
            if (o.kind != OUT_PRESENT) fprintf(stderr, "conformance %s: expected a route\n", id);
            CHECK(o.kind == OUT_PRESENT);
        } else {
            if (strcmp(expect, "ok") == 0) want = RR_OK;
            else if (strcmp(expect, "invalid_argument") == 0) want = RR_INVALID_ARGUMENT;
            else if (strcmp(expect, "not_found") == 0) want = RR_NOT_FOUND;
            else {
                fprintf(stderr, "conformance %s: unknown expectation \"%s\"\n", id, expect);
                CHECK(!"known expectation");
                want = RR_PANIC;
            }
            if (o.kind != OUT_STATUS || o.status != want)
                fprintf(stderr, "conformance %s: status %u, want %u (%s)\n", id, o.status, want,
                        rr_last_error().ptr);
            CHECK(o.kind == OUT_STATUS && o.status == want);
            if (want != RR_OK) {
                rr_str e = rr_last_error();
                CHECK(str_ok(e) && e.len > 0 && e.len <= max_bytes);
                if (mentions) {
                    CHECK(mentions->type == MJ_STRING);
                    CHECK(last_error_has(mentions->str));
                }
                for (v = 0; v < o.nvalues; v++) {
                    int quoted = o.lens[v] > max_quoted &&
                                 quotes_more_than(e.ptr, e.len, o.values[v], o.lens[v], max_quoted);
                    if (quoted)
                        fprintf(stderr, "conformance %s: message quotes more than %zu chars: %s\n",
                                id, max_quoted, e.ptr);
                    CHECK(!quoted);
                }
            }
        }
        for (v = 0; v < o.nvalues; v++) free(o.values[v]);
        ran++;
    }
    CHECK(ran >= 40);
    /* The checker itself: a 65-character quote of a long value is caught, 64 is not. */
    {
        char value[200], msg[100];
        memset(value, 'q', sizeof value);
        memset(msg, 'q', 65);
        CHECK(quotes_more_than(msg, 65, value, sizeof value, 64));
        CHECK(!quotes_more_than(msg, 64, value, sizeof value, 64));
    }
    printf("conformance: %zu cases\n", ran);
    mj_free(root);
}
