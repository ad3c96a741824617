/*
 * test_vectors.c — the shared, Go-generated vectors in ../shared/testdata (from the
 * repository root), read with minijson:
 *   upstream_urls.json: every vector, for HTTP and STREAM routes, and through a context;
 *   health_json.json:   every case, all three formats, byte for byte.
 */
#include "minijson.h"
#include "rr_test.h"

static mj_value *load(const char *dir, const char *name) {
    char path[1024];
    mj_value *v;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    v = mj_parse_file(path);
    if (!v) fprintf(stderr, "cannot read or parse %s (set RR_TESTDATA or pass the directory)\n", path);
    CHECK(v != NULL);
    return v;
}

static void check_field(rr_str got, const mj_value *vec, const char *field) {
    size_t len;
    const char *want = mj_str(vec, field, &len);
    if (!str_eqn(got, want, len))
        fprintf(stderr, "  %s: %s is \"%.*s\", want \"%s\"\n", mj_str(vec, "input", NULL), field,
                (int)got.len, got.ptr ? got.ptr : "(null)", want);
    CHECK(str_eqn(got, want, len));
}

static void upstream_vectors(const char *dir) {
    static const rr_kind kinds[] = {RR_KIND_HTTP, RR_KIND_STREAM, RR_KIND_EXCLUDED};
    mj_value *root = load(dir, "upstream_urls.json");
    const mj_value *vecs = mj_get(root, "vectors");
    size_t i, k, accepted = 0, rejected = 0;

    CHECK(vecs && vecs->type == MJ_ARRAY && vecs->count >= 20);
    for (i = 0; i < vecs->count; i++) {
        const mj_value *vec = vecs->items[i];
        size_t len;
        const char *input = mj_str(vec, "input", &len);
        int accept = mj_bool(vec, "accept");
        for (k = 0; k < 3; k++) {
            rr_route *r = (rr_route *)1;
            rr_status st = rr_route_new(kinds[k], S("vec"), input, len, &r);
            if (kinds[k] == RR_KIND_EXCLUDED && len == 0) {
                /* An EXCLUDED route may have no upstream: every accessor is empty. */
                CHECK(st == RR_OK);
                CHECK(str_eq(rr_route_upstream_url(r), "") && str_eq(rr_route_upstream_host(r), ""));
                rr_route_release(r);
                continue;
            }
            if (!accept && kinds[k] == RR_KIND_EXCLUDED && mj_bool(vec, "valid") && st == RR_OK) {
                /* "accept" is the rule for HTTP and STREAM routes; an EXCLUDED route is never
                   proxied, and the library may keep a URL Go parses (e.g. without a host).
                   If it does, the accessors still say what Go says. */
                goto compare;
            }
            if (!accept) {
                if (st != RR_INVALID_ARGUMENT) fprintf(stderr, "  accepted bad URL \"%s\" for kind %u\n", input, kinds[k]);
                CHECK(st == RR_INVALID_ARGUMENT);
                CHECK(r == NULL);
                /* The message names the bad value. */
                CHECK(last_error_has(len ? input : "empty"));
                rejected++;
                continue;
            }
            if (st != RR_OK) fprintf(stderr, "  rejected good URL \"%s\": %s\n", input, rr_last_error().ptr);
            CHECK(st == RR_OK);
            accepted++;
        compare:
            check_field(rr_route_upstream_scheme(r), vec, "scheme");
            check_field(rr_route_upstream_host(r), vec, "host");
            check_field(rr_route_upstream_port(r), vec, "port");
            check_field(rr_route_upstream_host_port(r), vec, "host_port");
            check_field(rr_route_upstream_addr(r), vec, "host_port");
            check_field(rr_route_upstream_url(r), vec, "url");
            if (kinds[k] == RR_KIND_HTTP) {
                rr_ctx *ctx = rr_with_route_context(NULL, r);
                rr_ctx *child = rr_with_route_context(ctx, NULL);
                CHECK(str_eq(rr_try_get_upstream_name(child), "vec"));
                check_field(rr_try_get_upstream_scheme(child), vec, "scheme");
                check_field(rr_try_get_upstream_host(child), vec, "host");
                check_field(rr_try_get_upstream_port(child), vec, "port");
                check_field(rr_try_get_upstream_host_port(child), vec, "host_port");
                check_field(rr_try_get_upstream_addr(child), vec, "host_port");
                check_field(rr_try_get_upstream_url(child), vec, "url");
                rr_ctx_free(ctx);
                rr_ctx_free(child);
            }
            rr_route_release(r);
        }
    }
    /* 21 accepted URLs x 3 kinds; 9 rejected x 2 kinds, plus those Go rejects for EXCLUDED. */
    CHECK(accepted == 63 && rejected >= 18 + 6);
    mj_free(root);
}

static char *unhex(const char *hex, size_t *len) {
    size_t n = strlen(hex) / 2, i;
    char *out = malloc(n + 1);
    CHECK(out != NULL);
    for (i = 0; i < n; i++) {
        unsigned b;
        CHECK(sscanf(hex + 2 * i, "%2x", &b) == 1);
        out[i] = (char)b;
    }
    out[n] = '\0';
    *len = n;
    return out;
}

static void expect_json(const rr_registry *reg, rr_health_format f, const mj_value *c, const char *field) {
    size_t len;
    const char *want = mj_str(c, field, &len);
    char *got = rr_health_json(reg, f);
    CHECK(got != NULL);
    if (strlen(got) != len || memcmp(got, want, len) != 0)
        fprintf(stderr, "  %s:\n    got  %s\n    want %s\n", field, got, want);
    CHECK(strlen(got) == len && memcmp(got, want, len) == 0);
    rr_string_free(got);
}

static void health_vectors(const char *dir) {
    mj_value *root = load(dir, "health_json.json");
    const mj_value *cases = mj_get(root, "cases");
    size_t i, j;

    CHECK(cases && cases->type == MJ_ARRAY && cases->count >= 3);
    for (i = 0; i < cases->count; i++) {
        const mj_value *c = cases->items[i];
        const mj_value *routes = mj_get(c, "routes");
        rr_registry *reg = rr_registry_new();
        uint64_t gen;
        int refused = 0;
        CHECK(routes && routes->type == MJ_ARRAY);
        for (j = 0; j < routes->count; j++) {
            const mj_value *rt = routes->items[j];
            size_t nlen, dlen;
            char *name = unhex(mj_str(rt, "name_hex", NULL), &nlen);
            char *detail = unhex(mj_str(rt, "detail_hex", NULL), &dlen);
            rr_route *r = NULL;
            if (memchr(name, 0, nlen)) {
                /* Every alias is also read as a C string: a NUL byte is refused, so Go's
                 * rendering of this case cannot be reproduced. */
                CHECK(rr_route_new(RR_KIND_HTTP, name, nlen, S("http://10.0.0.1:80"), &r) ==
                      RR_INVALID_ARGUMENT);
                CHECK(r == NULL && last_error_has("NUL"));
                refused = 1;
                free(name);
                free(detail);
                continue;
            }
            CHECK_OK(rr_route_new(RR_KIND_HTTP, name, nlen, S("http://10.0.0.1:80"), &r));
            if (!mj_bool(rt, "no_health"))
                CHECK_OK(rr_route_set_health(r, (rr_health_status)mj_u64(rt, "status"), mj_u64(rt, "uptime_ns"),
                                             mj_u64(rt, "latency_ns"), detail, dlen));
            CHECK_OK(rr_add(reg, r));
            rr_route_release(r);
            free(name);
            free(detail);
        }
        if (refused) {
            rr_registry_free(reg);
            continue;
        }
        gen = rr_generation(reg);
        expect_json(reg, RR_HEALTH_FULL, c, "full");
        expect_json(reg, RR_HEALTH_WITHOUT_DETAIL, c, "without_detail");
        expect_json(reg, RR_HEALTH_SIMPLE, c, "simple");
        CHECK(rr_generation(reg) == gen);
        rr_registry_free(reg);
    }
    mj_free(root);
}

void test_vectors(const char *dir) {
    upstream_vectors(dir);
    health_vectors(dir);
}
