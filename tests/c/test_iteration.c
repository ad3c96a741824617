/*
 * test_iteration.c — the C ABI: iteration (snapshots, stopping, callbacks that mutate or retain).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "abi_helpers.h"

/* ---- iteration ---------------------------------------------------------------------- */

typedef struct {
    rr_registry *reg;
    size_t calls;
} mutate_ctx;

/* Deletes the visited route and adds a new one "new-<alias>" from inside the callback. */
static bool mutating_visitor(const rr_route *r, void *ud) {
    mutate_ctx *m = ud;
    char alias[64];
    rr_route *n, *got;
    rr_str a = rr_route_alias(r);
    char *j;
    m->calls++;
    CHECK(a.len < 40);
    snprintf(alias, sizeof alias, "new-%s", a.ptr);
    CHECK_OK(rr_del(m->reg, r));
    n = mk_route(rr_route_kind(r), alias, rr_route_kind(r) == RR_KIND_EXCLUDED ? "" : "http://10.1.1.1:80");
    CHECK_OK(rr_add(m->reg, n));
    got = rr_get_include_excluded(m->reg, alias, strlen(alias));
    CHECK(got == n);
    rr_route_release(got);
    rr_route_release(n);
    j = rr_health_json(m->reg, RR_HEALTH_FULL);
    CHECK(j != NULL);
    rr_string_free(j);
    return true;
}

static bool retain_visitor(const rr_route *r, void *ud) {
    rr_route **keep = ud;
    if (*keep == NULL) *keep = rr_route_retain((rr_route *)r);
    return true;
}

static void t_iteration(void) {
    rr_registry *reg = rr_registry_new();
    static const char *const http[] = {"h-c", "h-a", "h-b"};
    rr_route *r, *kept = NULL;
    visit_log v;
    mutate_ctx m;
    size_t i;

    for (i = 0; i < 3; i++) {
        r = mk_route(RR_KIND_HTTP, http[i], "http://10.0.0.1:80");
        CHECK_OK(rr_add(reg, r));
        rr_route_release(r);
    }
    /* Same alias, two keys: sorted by alias, then key. */
    r = mk_route(RR_KIND_STREAM, "s", "tcp://10.0.0.1:1");
    CHECK_OK(rr_route_set_key(r, S("p2:s")));
    CHECK_OK(rr_add(reg, r));
    rr_route_release(r);
    r = mk_route(RR_KIND_STREAM, "s", "tcp://10.0.0.1:2");
    CHECK_OK(rr_route_set_key(r, S("p1:s")));
    CHECK_OK(rr_add(reg, r));
    rr_route_release(r);
    r = mk_route(RR_KIND_STREAM, "a-stream", "tcp://10.0.0.1:3");
    CHECK_OK(rr_add(reg, r));
    rr_route_release(r);
    r = mk_route(RR_KIND_EXCLUDED, "x", "");
    CHECK_OK(rr_add(reg, r));
    CHECK_OK(rr_del(reg, r)); /* a tombstone: never visited */
    rr_route_release(r);
    r = mk_route(RR_KIND_EXCLUDED, "y", "");
    CHECK_OK(rr_add(reg, r));
    rr_route_release(r);

    memset(&v, 0, sizeof v);
    CHECK(rr_iter_active(reg, record_visitor, &v) == 6);
    CHECK(v.calls == 6);
    for (i = 0; i < 3; i++) CHECK(v.kinds[i] == RR_KIND_HTTP);
    for (i = 3; i < 6; i++) CHECK(v.kinds[i] == RR_KIND_STREAM);
    CHECK(seen_has(&v, "h-a") && seen_has(&v, "p1:s") && !seen_has(&v, "y"));

    memset(&v, 0, sizeof v);
    CHECK(rr_iter_all(reg, record_visitor, &v) == 7);
    CHECK(v.kinds[6] == RR_KIND_EXCLUDED);
    CHECK(strcmp(v.seen[6], "y") == 0);
    CHECK(!seen_has(&v, "x"));

    memset(&v, 0, sizeof v);
    CHECK(rr_pool_iter(reg, RR_KIND_STREAM, record_visitor, &v) == 3);
    CHECK(seen_has(&v, "p1:s") && seen_has(&v, "p2:s") && seen_has(&v, "a-stream"));
    memset(&v, 0, sizeof v);
    CHECK(rr_pool_iter(reg, RR_KIND_EXCLUDED, record_visitor, &v) == 1);

    memset(&v, 0, sizeof v);
    CHECK(rr_pool_iter_sorted(reg, RR_KIND_HTTP, record_visitor, &v) == 3);
    CHECK(strcmp(v.seen[0], "h-a") == 0 && strcmp(v.seen[1], "h-b") == 0 && strcmp(v.seen[2], "h-c") == 0);
    memset(&v, 0, sizeof v);
    CHECK(rr_pool_iter_sorted(reg, RR_KIND_STREAM, record_visitor, &v) == 3);
    CHECK(strcmp(v.seen[0], "a-stream") == 0 && strcmp(v.seen[1], "p1:s") == 0 && strcmp(v.seen[2], "p2:s") == 0);

    /* Early stop: the count includes the call that returned false. */
    memset(&v, 0, sizeof v);
    v.stop_after = 2;
    CHECK(rr_iter_all(reg, record_visitor, &v) == 2);
    CHECK(v.calls == 2);
    memset(&v, 0, sizeof v);
    v.stop_after = 4;
    CHECK(rr_iter_active(reg, record_visitor, &v) == 4); /* stops inside the STREAM pool */
    memset(&v, 0, sizeof v);
    v.stop_after = 1;
    CHECK(rr_pool_iter(reg, RR_KIND_HTTP, record_visitor, &v) == 1);
    memset(&v, 0, sizeof v);
    v.stop_after = 2;
    CHECK(rr_pool_iter_sorted(reg, RR_KIND_STREAM, record_visitor, &v) == 2);
    CHECK(strcmp(v.seen[1], "p1:s") == 0);

    /* A visitor may keep a route by retaining it. */
    CHECK(rr_pool_iter(reg, RR_KIND_EXCLUDED, retain_visitor, &kept) == 1);
    CHECK(kept != NULL && str_eq(rr_route_alias(kept), "y"));

    /* A visitor that deletes and adds: no deadlock, the snapshot is visited. */
    m.reg = reg;
    m.calls = 0;
    CHECK(rr_iter_all(reg, mutating_visitor, &m) == 7);
    CHECK(m.calls == 7);
    memset(&v, 0, sizeof v);
    CHECK(rr_iter_all(reg, record_visitor, &v) == 6);
    CHECK(seen_has(&v, "new-h-a") && seen_has(&v, "new-y") && seen_has(&v, "new-a-stream"));
    CHECK(!seen_has(&v, "h-a") && !seen_has(&v, "y"));
    /* Two routes aliased "s" became one key "new-s". */
    CHECK(rr_pool_size(reg, RR_KIND_STREAM) == 2);
    CHECK(rr_num_all_routes(reg) == 6);
    CHECK(str_eq(rr_route_alias(kept), "y")); /* deleted, still readable */
    rr_route_release(kept);

    rr_registry_free(reg);
}

void test_iteration(void) {
    t_iteration();
}
