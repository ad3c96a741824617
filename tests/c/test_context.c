/*
 * test_context.c — the C ABI: route contexts.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "abi_helpers.h"

/* ---- route context ------------------------------------------------------------------ */

static void t_context(void) {
    rr_registry *reg = rr_registry_new();
    rr_route *a = mk_route(RR_KIND_HTTP, "ctx-a", "http://user:pass@host.lan:81/x");
    rr_route *b = mk_route(RR_KIND_HTTP, "ctx-b", "http://[::1]:8080");
    rr_route *got;
    rr_ctx *parent, *child, *grandchild, *other, *empty;
    size_t live;

    CHECK_OK(rr_add(reg, a));
    parent = rr_with_route_context(NULL, a);
    child = rr_with_route_context(parent, NULL);
    grandchild = rr_with_route_context(child, b);
    CHECK(parent && child && grandchild);

    got = rr_try_get_route(parent);
    CHECK(got == a);
    rr_route_release(got);
    got = rr_try_get_route(child); /* no route: the parent's */
    CHECK(got == a);
    rr_route_release(got);
    got = rr_try_get_route(grandchild);
    CHECK(got == b);
    rr_route_release(got);

    CHECK(str_eq(rr_try_get_upstream_name(child), "ctx-a"));
    CHECK(str_eq(rr_try_get_upstream_scheme(child), "http"));
    CHECK(str_eq(rr_try_get_upstream_host(child), "host.lan"));
    CHECK(str_eq(rr_try_get_upstream_port(child), "81"));
    CHECK(str_eq(rr_try_get_upstream_host_port(child), "host.lan:81"));
    CHECK(str_eq(rr_try_get_upstream_addr(child), "host.lan:81"));
    CHECK(str_eq(rr_try_get_upstream_url(child), "http://user:pass@host.lan:81/x"));
    CHECK(str_eq(rr_try_get_upstream_name(grandchild), "ctx-b"));
    CHECK(str_eq(rr_try_get_upstream_host(grandchild), "::1"));
    CHECK(str_eq(rr_try_get_upstream_host_port(grandchild), "[::1]:8080"));
    CHECK(str_eq(rr_try_get_upstream_url(grandchild), "http://[::1]:8080"));

    /* A chain with no route at all. */
    empty = rr_with_route_context(NULL, NULL);
    other = rr_with_route_context(empty, NULL);
    rr_ctx_free(empty); /* `other` holds its own reference to its parent */
    CHECK(other != NULL);
    CHECK(rr_try_get_route(other) == NULL);
    CHECK(str_eq(rr_try_get_upstream_name(other), ""));
    CHECK(str_eq(rr_try_get_upstream_port(other), ""));

    /* The context keeps its route and its parent alive. */
    live = rr_live_routes();
    CHECK_OK(rr_del(reg, a));
    rr_registry_free(reg);
    rr_route_release(a);
    rr_route_release(b);
    rr_ctx_free(parent);
    rr_ctx_free(child);
    CHECK(rr_live_routes() == live);
    got = rr_try_get_route(grandchild);
    CHECK(got == b);
    rr_route_release(got);
    CHECK(str_eq(rr_try_get_upstream_name(grandchild), "ctx-b"));
    rr_ctx_free(grandchild);
    CHECK(rr_live_routes() == live - 2);
    rr_ctx_free(other);
}

void test_context(void) {
    t_context();
}
