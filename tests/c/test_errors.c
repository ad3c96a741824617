/*
 * test_errors.c — the C ABI: version, the per-thread last error, NULL handles and bad input function by function.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "abi_helpers.h"

/* ---- version and errors ------------------------------------------------------------- */

static void t_version(void) {
    rr_str v = rr_version();
    CHECK(rr_abi_version() == RR_ABI_VERSION);
    CHECK(str_ok(v) && v.len > 0);
    CHECK(strchr(v.ptr, '.') != NULL);
    CHECK(str_ok(rr_last_error()));
}

static void *error_thread(void *arg) {
    rr_route *r = (rr_route *)arg; /* a sentinel: must become NULL */
    CHECK(rr_route_new(7, S("other-thread"), S("http://h:1"), &r) == RR_INVALID_ARGUMENT);
    CHECK(r == NULL);
    CHECK(last_error_has("7"));
    return NULL;
}

/* rr_last_error is per OS thread. */
static void t_last_error_per_thread(void) {
    pthread_t t;
    rr_route *r = NULL;
    CHECK(rr_route_new(RR_KIND_HTTP, S("x"), S("http://10.0.0.5:99999"), &r) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("99999"));
    CHECK(pthread_create(&t, NULL, error_thread, (void *)&r) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(last_error_has("99999"));
    CHECK(!strstr(rr_last_error().ptr, "other-thread"));
}

/* ---- NULL handles and bad input, function by function ------------------------------- */

static bool never_visitor(const rr_route *r, void *ud) {
    (void)r;
    (void)ud;
    CHECK(!"visitor must not be called");
    return true;
}

static void t_null_and_bad_input(void) {
    static const rr_kind bad_kinds[] = {3, 7, 0xFFFFFFFFu};
    static const rr_health_status bad_status[] = {3, 5, 7, 32, 0xFFFFFFFFu};
    static const rr_health_format bad_formats[] = {3, 7, 0xFFFFFFFFu};
    char long_alias[257], buf[32];
    rr_registry *reg = rr_registry_new();
    rr_route *r = mk_route(RR_KIND_HTTP, "good", "http://10.0.0.1:80");
    rr_route *out, *actual;
    rr_str sn, sv;
    rr_health_status hs;
    uint64_t up, lat;
    int32_t vmid;
    size_t i;
    rr_ctx *ctx;

    CHECK(reg != NULL);

    /* rr_route_new: out NULL, kind, alias, url. */
    CHECK(rr_route_new(RR_KIND_HTTP, S("a"), S("http://h:1"), NULL) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("out"));
    for (i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
        out = r;
        CHECK(rr_route_new(bad_kinds[i], S("a"), S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
        CHECK(out == NULL);
        snprintf(buf, sizeof buf, "%u", bad_kinds[i]);
        CHECK(last_error_has(buf));
    }
    out = r;
    CHECK(rr_route_new(RR_KIND_HTTP, NULL, 5, S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
    CHECK(out == NULL);
    CHECK(last_error_has("NULL"));
    CHECK(last_error_has("alias"));
    CHECK(rr_route_new(RR_KIND_HTTP, S("bad\xff\xfe"), S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
    CHECK(out == NULL);
    CHECK(last_error_has("UTF-8"));
    CHECK(last_error_has("bad\\xff\\xfe"));
    CHECK(rr_route_new(RR_KIND_HTTP, S("\xc3"), S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_new(RR_KIND_HTTP, "", 0, S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
    CHECK(out == NULL);
    CHECK(last_error_has("empty"));
    CHECK(rr_route_new(RR_KIND_HTTP, NULL, 0, S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
    memset(long_alias, 'a', sizeof long_alias);
    CHECK(rr_route_new(RR_KIND_HTTP, long_alias, 256, S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
    CHECK(out == NULL);
    CHECK(last_error_has("256"));
    CHECK_OK(rr_route_new(RR_KIND_HTTP, long_alias, 255, S("http://h:1"), &out));
    CHECK(rr_route_alias(out).len == 255);
    rr_route_release(out);
    CHECK(rr_route_new(RR_KIND_HTTP, S("a"), NULL, 4, &out) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("url"));
    CHECK(rr_route_new(RR_KIND_HTTP, S("a"), S("http://h\xff:1"), &out) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("UTF-8"));
    CHECK(rr_route_new(RR_KIND_STREAM, S("a"), "", 0, &out) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_new(RR_KIND_HTTP, S("a"), NULL, 0, &out) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("empty"));

    /* Setters: NULL route. */
    CHECK(rr_route_set_key(NULL, S("k")) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL"));
    CHECK(rr_route_set_display_name(NULL, S("d")) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_provider(NULL, S("p")) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_priority(NULL, 1) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_docker(NULL, true) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_proxmox(NULL, S("pve"), 1) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_user_data(NULL, 1) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_finalizer(NULL, finalizer) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_health(NULL, RR_HEALTH_STATUS_HEALTHY, 1, 1, S("x")) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL"));

    /* Setters: bad values on a fresh route (nothing changes). */
    CHECK(rr_route_set_key(r, NULL, 3) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL pointer with length 3"));
    CHECK(rr_route_set_key(r, S("k\xff")) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("k\\xff"));
    CHECK(rr_route_set_key(r, long_alias, 256) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("256"));
    CHECK(rr_route_set_display_name(r, S("\x80name")) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("UTF-8"));
    CHECK(rr_route_set_display_name(r, NULL, 1) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_display_name(r, long_alias, 256) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_provider(r, S("prov\xed\xa0\x80")) == RR_INVALID_ARGUMENT); /* a surrogate */
    CHECK(last_error_has("UTF-8"));
    CHECK(rr_route_set_provider(r, NULL, 2) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_proxmox(r, "", 0, 100) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("empty"));
    CHECK(rr_route_set_proxmox(r, S("pve1"), -1) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("-1"));
    CHECK(rr_route_set_proxmox(r, S("pve\xff"), 1) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_proxmox(r, NULL, 4, 1) == RR_INVALID_ARGUMENT);
    for (i = 0; i < sizeof bad_status / sizeof bad_status[0]; i++) {
        CHECK(rr_route_set_health(r, bad_status[i], 1, 1, S("x")) == RR_INVALID_ARGUMENT);
        snprintf(buf, sizeof buf, "%u", bad_status[i]);
        CHECK(last_error_has(buf));
    }
    CHECK(rr_route_set_health(r, RR_HEALTH_STATUS_HEALTHY, 1, 1, NULL, 3) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_health_status(r) == RR_HEALTH_STATUS_UNKNOWN);
    CHECK(str_eq(rr_route_key(r), "good"));
    CHECK(str_eq(rr_route_display_name(r), "good"));
    CHECK(str_eq(rr_route_provider(r), ""));
    CHECK(rr_route_proxmox(r, NULL, NULL, NULL) == RR_NOT_FOUND);

    /* Accessors on NULL: empty strings, zeros, never a crash. */
    CHECK(rr_route_kind(NULL) == UINT32_MAX);
    CHECK(str_eq(rr_route_alias(NULL), ""));
    CHECK(str_eq(rr_route_key(NULL), ""));
    CHECK(str_eq(rr_route_display_name(NULL), ""));
    CHECK(str_eq(rr_route_provider(NULL), ""));
    CHECK(str_eq(rr_route_upstream_scheme(NULL), ""));
    CHECK(str_eq(rr_route_upstream_host(NULL), ""));
    CHECK(str_eq(rr_route_upstream_port(NULL), ""));
    CHECK(str_eq(rr_route_upstream_host_port(NULL), ""));
    CHECK(str_eq(rr_route_upstream_addr(NULL), ""));
    CHECK(str_eq(rr_route_upstream_url(NULL), ""));
    CHECK(rr_route_priority(NULL) == 0);
    CHECK(rr_route_user_data(NULL) == 0);
    CHECK(!rr_route_is_docker(NULL));
    CHECK(!rr_route_is_frozen(NULL));
    CHECK(rr_route_proxmox(NULL, &sn, &vmid, &sv) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_health_status(NULL) == RR_HEALTH_STATUS_UNKNOWN);
    CHECK(rr_route_health(NULL, &hs, &up, &lat) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL"));
    CHECK(rr_route_retain(NULL) == NULL);
    rr_route_release(NULL);
    rr_string_free(NULL);

    /* Registry functions: NULL registry, NULL route, bad keys and kinds. */
    CHECK(rr_add(NULL, r) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL"));
    CHECK(rr_add(reg, NULL) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL"));
    CHECK(!rr_route_is_frozen(r));
    actual = r;
    CHECK(rr_add_if_not_exists(NULL, r, &actual) == RR_INVALID_ARGUMENT);
    CHECK(actual == NULL);
    actual = r;
    CHECK(rr_add_if_not_exists(reg, NULL, &actual) == RR_INVALID_ARGUMENT);
    CHECK(actual == NULL);
    CHECK(rr_del(NULL, r) == RR_INVALID_ARGUMENT);
    CHECK(rr_del(reg, NULL) == RR_INVALID_ARGUMENT);
    CHECK(rr_del_key(NULL, RR_KIND_HTTP, S("good")) == RR_INVALID_ARGUMENT);
    CHECK(rr_del_key(reg, RR_KIND_HTTP, NULL, 4) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL pointer with length 4"));
    CHECK(rr_del_key(reg, RR_KIND_HTTP, S("\xff")) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("UTF-8"));
    for (i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
        snprintf(buf, sizeof buf, "%u", bad_kinds[i]);
        CHECK(rr_del_key(reg, bad_kinds[i], S("good")) == RR_INVALID_ARGUMENT);
        CHECK(last_error_has(buf));
        CHECK(rr_pool_get(reg, bad_kinds[i], S("good")) == NULL);
        CHECK(last_error_has(buf));
        CHECK(rr_pool_size(reg, bad_kinds[i]) == 0);
        CHECK(rr_pool_iter(reg, bad_kinds[i], never_visitor, NULL) == 0);
        CHECK(rr_pool_iter_sorted(reg, bad_kinds[i], never_visitor, NULL) == 0);
        rr_pool_clear(reg, bad_kinds[i]);
        CHECK(last_error_has(buf));
    }
    rr_clear(NULL);
    rr_pool_clear(NULL, RR_KIND_HTTP);
    CHECK(rr_purge_tombstones(NULL) == 0);
    CHECK(rr_pool_size(NULL, RR_KIND_HTTP) == 0);
    CHECK(rr_num_active_routes(NULL) == 0);
    CHECK(rr_num_all_routes(NULL) == 0);
    CHECK(rr_get(NULL, S("good")) == NULL);
    CHECK(rr_get(reg, NULL, 5) == NULL);
    CHECK(last_error_has("NULL pointer with length 5"));
    CHECK(rr_get(reg, S("g\xc3\x28")) == NULL);
    CHECK(last_error_has("UTF-8"));
    CHECK(rr_get(reg, NULL, 0) == NULL);
    CHECK(rr_get_include_excluded(NULL, S("good")) == NULL);
    CHECK(rr_get_include_excluded(reg, NULL, 2) == NULL);
    CHECK(rr_get_include_excluded(reg, S("\xfe")) == NULL);
    CHECK(last_error_has("UTF-8"));
    CHECK(rr_pool_get(NULL, RR_KIND_HTTP, S("good")) == NULL);
    CHECK(rr_pool_get(reg, RR_KIND_HTTP, NULL, 1) == NULL);
    CHECK(rr_get_http_route_or_exact(NULL, S("a"), S("b")) == NULL);
    CHECK(rr_get_http_route_or_exact(reg, NULL, 3, S("b")) == NULL);
    CHECK(last_error_has("NULL"));
    CHECK(rr_get_http_route_or_exact(reg, S("a"), S("b\xff")) == NULL);
    CHECK(last_error_has("UTF-8"));
    CHECK(rr_iter_active(NULL, never_visitor, NULL) == 0);
    CHECK(rr_iter_all(NULL, never_visitor, NULL) == 0);
    CHECK(rr_pool_iter(NULL, RR_KIND_HTTP, never_visitor, NULL) == 0);
    CHECK(rr_pool_iter_sorted(NULL, RR_KIND_HTTP, never_visitor, NULL) == 0);
    CHECK_OK(rr_add(reg, r));
    CHECK(rr_iter_active(reg, NULL, NULL) == 0);
    CHECK(rr_iter_all(reg, NULL, NULL) == 0);
    CHECK(rr_pool_iter(reg, RR_KIND_HTTP, NULL, NULL) == 0);
    CHECK(rr_pool_iter_sorted(reg, RR_KIND_HTTP, NULL, NULL) == 0);
    CHECK(rr_health_json(NULL, RR_HEALTH_FULL) == NULL);
    for (i = 0; i < sizeof bad_formats / sizeof bad_formats[0]; i++) {
        CHECK(rr_health_json(reg, bad_formats[i]) == NULL);
        snprintf(buf, sizeof buf, "%u", bad_formats[i]);
        CHECK(last_error_has(buf));
    }
    CHECK(rr_by_provider_json(NULL) == NULL);
    CHECK(rr_proxmox_load_json(NULL, S("{}")) == RR_INVALID_ARGUMENT);
    CHECK(rr_proxmox_load_json(reg, NULL, 7) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL pointer with length 7"));
    CHECK(rr_generation(NULL) == 0);
    CHECK(rr_generation_ptr(NULL) == NULL);

    /* Contexts: NULL everywhere is an empty context. */
    rr_ctx_free(NULL);
    CHECK(rr_try_get_route(NULL) == NULL);
    CHECK(str_eq(rr_try_get_upstream_name(NULL), ""));
    CHECK(str_eq(rr_try_get_upstream_scheme(NULL), ""));
    CHECK(str_eq(rr_try_get_upstream_host(NULL), ""));
    CHECK(str_eq(rr_try_get_upstream_port(NULL), ""));
    CHECK(str_eq(rr_try_get_upstream_host_port(NULL), ""));
    CHECK(str_eq(rr_try_get_upstream_addr(NULL), ""));
    CHECK(str_eq(rr_try_get_upstream_url(NULL), ""));
    ctx = rr_with_route_context(NULL, NULL);
    CHECK(ctx != NULL);
    CHECK(rr_try_get_route(ctx) == NULL);
    CHECK(str_eq(rr_try_get_upstream_name(ctx), ""));
    CHECK(str_eq(rr_try_get_upstream_url(ctx), ""));
    rr_ctx_free(ctx);

    rr_route_release(r);
    rr_registry_free(reg);
}

void test_errors(void) {
    t_version();
    t_last_error_per_thread();
    t_null_and_bad_input();
}
