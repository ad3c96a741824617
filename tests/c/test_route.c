/*
 * test_route.c — the C ABI: building routes, their fields, the finalizer.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "abi_helpers.h"

/* ---- routes ------------------------------------------------------------------------- */

static void t_route_fields(void) {
    rr_route *r = mk_route(RR_KIND_STREAM, "db", "tcp://10.0.0.9:5432");
    rr_route *r2;
    size_t live = rr_live_routes();
    rr_health_status hs = 99;
    uint64_t up = 99, lat = 99;
    char detail[8] = "abc";

    CHECK(rr_route_kind(r) == RR_KIND_STREAM);
    CHECK(str_eq(rr_route_alias(r), "db"));
    CHECK(str_eq(rr_route_key(r), "db"));
    CHECK(str_eq(rr_route_display_name(r), "db"));
    CHECK(str_eq(rr_route_provider(r), ""));
    CHECK(rr_route_priority(r) == 0);
    CHECK(rr_route_user_data(r) == 0);
    CHECK(!rr_route_is_docker(r));
    CHECK(!rr_route_is_frozen(r));
    CHECK(rr_route_health_status(r) == RR_HEALTH_STATUS_UNKNOWN);
    CHECK_OK(rr_route_health(r, &hs, &up, &lat));
    CHECK(hs == RR_HEALTH_STATUS_UNKNOWN && up == 0 && lat == 0);
    CHECK_OK(rr_route_health(r, NULL, NULL, NULL));

    CHECK_OK(rr_route_set_key(r, S("file:db")));
    CHECK_OK(rr_route_set_display_name(r, S("Database \xc3\xa9")));
    CHECK_OK(rr_route_set_provider(r, S("file")));
    CHECK_OK(rr_route_set_priority(r, -7));
    CHECK_OK(rr_route_set_docker(r, true));
    CHECK_OK(rr_route_set_user_data(r, UINT64_MAX));
    CHECK(str_eq(rr_route_key(r), "file:db"));
    CHECK(str_eq(rr_route_display_name(r), "Database \xc3\xa9"));
    CHECK(str_eq(rr_route_provider(r), "file"));
    CHECK(rr_route_priority(r) == -7);
    CHECK(rr_route_is_docker(r));
    CHECK(rr_route_user_data(r) == UINT64_MAX);
    /* "" resets key and display name to the alias. */
    CHECK_OK(rr_route_set_key(r, "", 0));
    CHECK_OK(rr_route_set_display_name(r, NULL, 0));
    CHECK(str_eq(rr_route_key(r), "db"));
    CHECK(str_eq(rr_route_display_name(r), "db"));
    CHECK_OK(rr_route_set_provider(r, "", 0));
    CHECK(str_eq(rr_route_provider(r), ""));

    /* Health: any values, detail copied. */
    CHECK_OK(rr_route_set_health(r, RR_HEALTH_STATUS_NAPPING, 123, 456, detail, 3));
    detail[0] = 'X';
    CHECK(rr_route_health_status(r) == RR_HEALTH_STATUS_NAPPING);
    CHECK_OK(rr_route_health(r, &hs, &up, &lat));
    CHECK(hs == RR_HEALTH_STATUS_NAPPING && up == 123 && lat == 456);
    {
        char buf[8] = {0};
        CHECK(rr_route_health_detail(r, NULL, 0) == 3);
        CHECK(rr_route_health_detail(r, buf, 2) == 3);
        CHECK(buf[1] != 0 && buf[2] == 0);
        CHECK(rr_route_health_detail(r, buf, sizeof buf) == 3);
        CHECK(buf[0] != 'X');
        CHECK(rr_route_health_detail(NULL, buf, sizeof buf) == 0);
    }
    CHECK_OK(rr_route_set_health(r, RR_HEALTH_STATUS_ERROR, 0, 0, NULL, 0));
    CHECK(rr_route_health_status(r) == RR_HEALTH_STATUS_ERROR);

    /* Reference counting. */
    r2 = rr_route_retain(r);
    CHECK(r2 == r);
    rr_route_release(r2);
    CHECK(rr_live_routes() == live);
    CHECK(str_eq(rr_route_alias(r), "db"));
    rr_route_release(r);
    CHECK(rr_live_routes() == live - 1);

    /* EXCLUDED routes may have no URL: every upstream accessor is empty. */
    r = mk_route(RR_KIND_EXCLUDED, "ex", "");
    CHECK(rr_route_kind(r) == RR_KIND_EXCLUDED);
    CHECK(str_eq(rr_route_upstream_url(r), ""));
    CHECK(str_eq(rr_route_upstream_host(r), ""));
    CHECK(str_eq(rr_route_upstream_scheme(r), ""));
    rr_route_release(r);
}

static void t_finalizer(void) {
    rr_registry *reg = rr_registry_new();
    rr_route *r = mk_route(RR_KIND_HTTP, "fin", "http://10.0.0.1:80");
    rr_ctx *ctx;

    /* Never added: destroyed on the last release. */
    CHECK_OK(rr_route_set_user_data(r, 3));
    CHECK_OK(rr_route_set_finalizer(r, finalizer));
    CHECK(fin_count(3) == 0);
    rr_route_release(r);
    CHECK(fin_count(3) == 1);

    /* Removed again with NULL: not called. */
    r = mk_route(RR_KIND_HTTP, "fin", "http://10.0.0.1:80");
    CHECK_OK(rr_route_set_user_data(r, 5));
    CHECK_OK(rr_route_set_finalizer(r, finalizer));
    CHECK_OK(rr_route_set_finalizer(r, NULL));
    rr_route_release(r);
    CHECK(fin_count(5) == 0);

    /* Added, held by a context, deleted, registry freed: called exactly once, at the end. */
    r = mk_route(RR_KIND_HTTP, "fin", "http://10.0.0.1:80");
    CHECK_OK(rr_route_set_user_data(r, 4));
    CHECK_OK(rr_route_set_finalizer(r, finalizer));
    CHECK_OK(rr_add(reg, r));
    CHECK(rr_route_set_finalizer(r, NULL) == RR_FROZEN);
    ctx = rr_with_route_context(NULL, r);
    rr_route_release(r);
    CHECK(fin_count(4) == 0);
    CHECK_OK(rr_del_key(reg, RR_KIND_HTTP, S("fin")));
    rr_registry_free(reg);
    CHECK(fin_count(4) == 0);
    CHECK(str_eq(rr_try_get_upstream_name(ctx), "fin"));
    rr_ctx_free(ctx);
    CHECK(fin_count(4) == 1);
    CHECK(fin_count(3) == 1);
}

void test_route(void) {
    t_route_fields();
    t_finalizer();
}
