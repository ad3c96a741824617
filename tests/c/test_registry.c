/*
 * test_registry.c — the C ABI: registry semantics (add, lookups, delete, tombstones), log lines and reload, the global registry.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "abi_helpers.h"

/* ---- registry semantics ------------------------------------------------------------- */

static void t_add_get_del(void) {
    rr_registry *reg = rr_registry_new();
    rr_route *a = mk_route(RR_KIND_HTTP, "app", "http://10.0.0.5:8080");
    rr_route *b, *c, *d, *e, *got, *actual, *s, *x, *hd, *sd;
    uint64_t g;

    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 0);
    g = rr_generation(reg);
    CHECK(gen_atomic(reg) == g);
    CHECK(((uintptr_t)rr_generation_ptr(reg) % 8) == 0);
    CHECK(rr_generation_ptr(reg) == rr_generation_ptr(reg));

    CHECK_OK(rr_route_set_priority(a, 5));
    CHECK_OK(rr_add(reg, a));
    CHECK(rr_route_is_frozen(a));
    CHECK(rr_generation(reg) != g);
    CHECK(gen_atomic(reg) == rr_generation(reg));

    /* Identity is frozen once added; health is not. */
    CHECK(rr_route_set_key(a, S("k")) == RR_FROZEN);
    CHECK(last_error_has("app"));
    CHECK(rr_route_set_display_name(a, S("d")) == RR_FROZEN);
    CHECK(rr_route_set_provider(a, S("p")) == RR_FROZEN);
    CHECK(rr_route_set_priority(a, 9) == RR_FROZEN);
    CHECK(rr_route_set_docker(a, true) == RR_FROZEN);
    CHECK(rr_route_set_proxmox(a, S("pve1"), 100) == RR_FROZEN);
    CHECK(rr_route_set_user_data(a, 1) == RR_FROZEN);
    CHECK(rr_route_set_finalizer(a, finalizer) == RR_FROZEN);
    CHECK(str_eq(rr_route_key(a), "app") && rr_route_priority(a) == 5 && rr_route_user_data(a) == 0);
    CHECK_OK(rr_route_set_health(a, RR_HEALTH_STATUS_HEALTHY, 1, 2, S("up")));

    /* Lower priority: kept out, not frozen, generation unchanged. */
    b = mk_route(RR_KIND_HTTP, "app", "http://10.0.0.6:8080");
    CHECK_OK(rr_route_set_priority(b, 1));
    g = rr_generation(reg);
    CHECK(rr_add(reg, b) == RR_KEPT);
    CHECK(last_error_has("app"));
    CHECK(!rr_route_is_frozen(b));
    CHECK(rr_generation(reg) == g);
    got = rr_get(reg, S("app"));
    CHECK(got == a);
    rr_route_release(got);
    CHECK_OK(rr_route_set_priority(b, 2)); /* still settable */

    /* Equal priority replaces. */
    c = mk_route(RR_KIND_HTTP, "app", "http://10.0.0.7:8080");
    CHECK_OK(rr_route_set_priority(c, 5));
    CHECK_OK(rr_add(reg, c));
    got = rr_get(reg, S("app"));
    CHECK(got == c);
    CHECK(str_eq(rr_route_upstream_host(got), "10.0.0.7"));
    rr_route_release(got);
    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 1);
    CHECK(rr_route_health_status(a) == RR_HEALTH_STATUS_HEALTHY); /* a is still readable */

    /* add_if_not_exists returns the route that stays. */
    d = mk_route(RR_KIND_HTTP, "app", "http://10.0.0.8:8080");
    CHECK_OK(rr_route_set_priority(d, 100));
    g = rr_generation(reg);
    CHECK(rr_add_if_not_exists(reg, d, &actual) == RR_KEPT);
    CHECK(actual == c);
    CHECK(!rr_route_is_frozen(d));
    CHECK(rr_generation(reg) == g);
    rr_route_release(actual);
    CHECK(rr_add_if_not_exists(reg, d, NULL) == RR_KEPT);
    e = mk_route(RR_KIND_HTTP, "other", "http://10.0.0.9:80");
    CHECK_OK(rr_add_if_not_exists(reg, e, &actual));
    CHECK(actual == e);
    CHECK(rr_route_is_frozen(e));
    CHECK(rr_generation(reg) != g);
    rr_route_release(actual);

    /* Lookups across pools. */
    s = mk_route(RR_KIND_STREAM, "s1", "tcp://10.0.0.9:5432");
    x = mk_route(RR_KIND_EXCLUDED, "ex1", "");
    hd = mk_route(RR_KIND_HTTP, "dup", "http://10.0.0.10:80");
    sd = mk_route(RR_KIND_STREAM, "dup", "udp://10.0.0.10:53");
    CHECK_OK(rr_add(reg, s));
    CHECK_OK(rr_add(reg, x));
    CHECK_OK(rr_add(reg, sd));
    got = rr_get(reg, S("dup"));
    CHECK(got == sd);
    rr_route_release(got);
    CHECK_OK(rr_add(reg, hd));
    got = rr_get(reg, S("dup"));
    CHECK(got == hd); /* HTTP first */
    rr_route_release(got);
    got = rr_pool_get(reg, RR_KIND_STREAM, S("dup"));
    CHECK(got == sd);
    rr_route_release(got);
    got = rr_get(reg, S("s1"));
    CHECK(got == s);
    rr_route_release(got);
    CHECK(rr_get(reg, S("ex1")) == NULL);
    got = rr_get_include_excluded(reg, S("ex1"));
    CHECK(got == x);
    rr_route_release(got);
    got = rr_get_include_excluded(reg, S("app"));
    CHECK(got == c);
    rr_route_release(got);
    got = rr_pool_get(reg, RR_KIND_EXCLUDED, S("ex1"));
    CHECK(got == x);
    rr_route_release(got);
    CHECK(rr_pool_get(reg, RR_KIND_HTTP, S("ex1")) == NULL);
    CHECK(rr_get(reg, S("missing")) == NULL);
    CHECK(rr_get_include_excluded(reg, S("missing")) == NULL);
    got = rr_get_http_route_or_exact(reg, S("app"), S("other"));
    CHECK(got == c);
    rr_route_release(got);
    got = rr_get_http_route_or_exact(reg, S("nope"), S("other"));
    CHECK(got == e);
    rr_route_release(got);
    CHECK(rr_get_http_route_or_exact(reg, S("nope"), S("nope2")) == NULL);
    CHECK(rr_get_http_route_or_exact(reg, S("s1"), S("s1")) == NULL); /* HTTP only */
    CHECK(rr_get_http_route_or_exact(reg, S("ex1"), S("ex1")) == NULL);

    /* Sizes. */
    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 3);   /* app other dup */
    CHECK(rr_pool_size(reg, RR_KIND_STREAM) == 2); /* s1 dup */
    CHECK(rr_pool_size(reg, RR_KIND_EXCLUDED) == 1);
    CHECK(rr_num_active_routes(reg) == 5);
    CHECK(rr_num_all_routes(reg) == 6);

    /* Lookups, health and JSON leave the generation alone. */
    g = rr_generation(reg);
    got = rr_get(reg, S("app"));
    rr_route_release(got);
    CHECK_OK(rr_route_set_health(c, RR_HEALTH_STATUS_UNHEALTHY, 0, 0, S("down")));
    rr_string_free(rr_health_json(reg, RR_HEALTH_FULL));
    rr_string_free(rr_by_provider_json(reg));
    CHECK(rr_num_all_routes(reg) == 6);
    CHECK(rr_generation(reg) == g);
    CHECK(gen_atomic(reg) == g);

    /* Deleting: by route (its key in its pool, whatever route holds it) and by key. */
    CHECK_OK(rr_del(reg, a)); /* a's key "app" is held by c */
    CHECK(rr_generation(reg) != g);
    CHECK(rr_get(reg, S("app")) == NULL);
    CHECK(rr_del(reg, c) == RR_NOT_FOUND);
    CHECK(last_error_has("app"));
    CHECK(rr_del_key(reg, RR_KIND_HTTP, S("app")) == RR_NOT_FOUND);
    CHECK(last_error_has("app"));
    g = rr_generation(reg);
    CHECK(rr_del_key(reg, RR_KIND_STREAM, S("nothing")) == RR_NOT_FOUND);
    CHECK(rr_generation(reg) == g);
    CHECK_OK(rr_del_key(reg, RR_KIND_STREAM, S("dup")));
    got = rr_get(reg, S("dup"));
    CHECK(got == hd);
    rr_route_release(got);
    /* Tombstones are not counted. */
    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 2);
    CHECK(rr_pool_size(reg, RR_KIND_STREAM) == 1);
    CHECK(rr_num_active_routes(reg) == 3);
    CHECK(rr_num_all_routes(reg) == 4);
    /* A deleted route stays readable while referenced. */
    CHECK(str_eq(rr_route_alias(c), "app"));
    CHECK(str_eq(rr_route_upstream_url(c), "http://10.0.0.7:8080"));
    CHECK(rr_route_is_frozen(c));

    /* Pool clear and clear. */
    g = rr_generation(reg);
    rr_pool_clear(reg, RR_KIND_STREAM);
    CHECK(rr_generation(reg) != g);
    CHECK(rr_pool_size(reg, RR_KIND_STREAM) == 0);
    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 2);
    g = rr_generation(reg);
    rr_clear(reg);
    CHECK(rr_generation(reg) != g);
    CHECK(rr_num_all_routes(reg) == 0);
    CHECK(rr_get_include_excluded(reg, S("ex1")) == NULL);

    /* The registry is freed with routes in it; the caller's references stay valid. */
    CHECK_OK(rr_add(reg, b));
    rr_registry_free(reg);
    CHECK(str_eq(rr_route_upstream_host(b), "10.0.0.6"));
    rr_route_release(a);
    rr_route_release(b);
    rr_route_release(c);
    rr_route_release(d);
    rr_route_release(e);
    rr_route_release(s);
    rr_route_release(x);
    rr_route_release(hd);
    rr_route_release(sd);
}

/* Log lines, reload within 1 s, tombstone purge, a logger that calls back in. */
static void t_logging_and_reload(void) {
    rr_registry *reg = rr_registry_new();
    rr_route *r1 = mk_route(RR_KIND_HTTP, "rl", "http://10.0.0.1:80");
    rr_route *r2 = mk_route(RR_KIND_HTTP, "rl", "http://10.0.0.2:80");
    rr_route *r3 = mk_route(RR_KIND_HTTP, "rl", "http://10.0.0.3:80");
    rr_route *lo = mk_route(RR_KIND_HTTP, "rl", "http://10.0.0.4:80");
    rr_route *s1 = mk_route(RR_KIND_STREAM, "st", "tcp://10.0.0.1:22");
    rr_route *s2 = mk_route(RR_KIND_STREAM, "st", "tcp://10.0.0.2:22");
    rr_route *got;
    size_t before;

    CHECK_OK(rr_route_set_display_name(r1, S("RL one")));
    CHECK_OK(rr_route_set_display_name(r2, S("RL two")));
    CHECK_OK(rr_route_set_display_name(r3, S("RL three")));
    CHECK_OK(rr_route_set_priority(lo, -1));

    rr_set_logger(RR_LOG_DEBUG, capture_logger, &logcap);
    log_reset();
    CHECK_OK(rr_add(reg, r1));
    CHECK(log_has("http_routes: added RL one"));
    CHECK_OK(rr_del(reg, r1));
    CHECK(log_has("http_routes: removed RL one"));
    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 0);
    CHECK_OK(rr_add(reg, r2)); /* within 1 s of the delete: a reload */
    CHECK(log_has("http_routes: reloaded RL two"));
    CHECK_OK(rr_add(reg, r3));
    CHECK(log_has("http_routes: replaced RL three"));
    before = log_count();
    CHECK(rr_add(reg, lo) == RR_KEPT); /* kept out: no log line */
    CHECK(log_count() == before);
    got = rr_get(reg, S("rl"));
    CHECK(got == r3);
    rr_route_release(got);
    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 1);

    /* Tombstones younger than 1 s stay; older ones go on purge; an add after 1 s is "added". */
    CHECK_OK(rr_add(reg, s1));
    CHECK(log_has("stream_routes: added st"));
    CHECK_OK(rr_del(reg, s1));
    CHECK(rr_pool_tombstones(reg, RR_KIND_STREAM) == 1);
    CHECK(rr_pool_tombstones(reg, 7) == 0);
    CHECK(rr_pool_tombstones(NULL, RR_KIND_STREAM) == 0);
    CHECK(rr_purge_tombstones(reg) == 0);
    sleep_ms(1150);
    CHECK(rr_purge_tombstones(reg) == 1);
    CHECK(rr_pool_tombstones(reg, RR_KIND_STREAM) == 0);
    CHECK(rr_purge_tombstones(reg) == 0);
    log_reset();
    CHECK_OK(rr_add(reg, s2));
    CHECK(log_has("stream_routes: added st"));
    CHECK_OK(rr_del(reg, s2));
    sleep_ms(1150);
    log_reset();
    CHECK_OK(rr_add(reg, s1)); /* an expired tombstone, not purged: still "added" */
    CHECK(log_has("stream_routes: added st"));

    /* clear is logged for each pool that held routes (the EXCLUDED pool is empty here); a
     * logger that calls back into the library does not deadlock. */
    logcap.reenter = reg;
    logcap.reentered = 0;
    rr_clear(reg);
    CHECK(log_has("http_routes: cleared 1 routes"));
    CHECK(log_has("stream_routes: cleared 1 routes"));
    CHECK(!log_has("excluded_routes: cleared"));
    CHECK(logcap.reentered >= 2);
    log_reset();
    rr_clear(reg); /* nothing to clear: nothing logged */
    CHECK(log_count() == 0);
    CHECK_OK(rr_add(reg, lo)); /* kept out before, added now */
    CHECK(logcap.reentered >= 3);
    logcap.reenter = NULL;

    /* Level filter: INFO hides DEBUG lines; OFF and NULL are silent. */
    rr_set_logger(RR_LOG_INFO, capture_logger, &logcap);
    log_reset();
    CHECK_OK(rr_del(reg, lo));
    CHECK(log_count() == 0);
    rr_set_logger(RR_LOG_OFF, capture_logger, &logcap);
    CHECK_OK(rr_add(reg, lo));
    CHECK(log_count() == 0);
    rr_set_logger(RR_LOG_TRACE, NULL, NULL);
    CHECK_OK(rr_del(reg, lo));
    CHECK(log_count() == 0);
    rr_set_logger(99, capture_logger, &logcap); /* above 5: TRACE */
    CHECK_OK(rr_add(reg, lo)); /* deleted just now: a reload */
    CHECK(log_has("http_routes: reloaded rl"));
    rr_set_logger(RR_LOG_OFF, NULL, NULL);

    rr_registry_free(reg);
    rr_route_release(r1);
    rr_route_release(r2);
    rr_route_release(r3);
    rr_route_release(lo);
    rr_route_release(s1);
    rr_route_release(s2);
}

/* ---- the global registry ------------------------------------------------------------ */

static void t_global(void) {
    rr_registry *g = rr_registry_global();
    rr_route *r = mk_route(RR_KIND_HTTP, "global-route", "http://10.0.0.1:80");
    rr_route *got;
    const uint64_t *gp;
    uint64_t v;

    CHECK(g != NULL);
    CHECK(rr_registry_global() == g);
    gp = rr_generation_ptr(g);
    CHECK(gp != NULL && ((uintptr_t)gp % 8) == 0);
    v = __atomic_load_n(gp, __ATOMIC_ACQUIRE);
    CHECK_OK(rr_add(g, r));
    CHECK(__atomic_load_n(gp, __ATOMIC_ACQUIRE) != v);
    rr_registry_free(g); /* a no-op on the global registry */
    CHECK(rr_registry_global() == g);
    CHECK(rr_generation_ptr(g) == gp);
    got = rr_get(g, S("global-route"));
    CHECK(got == r);
    rr_route_release(got);
    CHECK(rr_num_all_routes(g) >= 1);
    rr_clear(g);
    CHECK(rr_num_all_routes(g) == 0);
    rr_route_release(r);
}

void test_registry(void) {
    t_add_get_del();
    t_logging_and_reload();
}

void test_global(void) { t_global(); }
