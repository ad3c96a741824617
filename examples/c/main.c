/*
 * examples/c/main.c — the route registry from C, end to end.
 *
 * Creates a registry, registers HTTP, STREAM and EXCLUDED routes from two providers, looks
 * them up, carries one through a request context, records health and prints the health
 * and by-provider JSON. Every reference is released; the program exits non-zero on any
 * unexpected result.
 *
 *   make run            (builds against ../../target/release)
 *   cc main.c $(pkg-config --cflags --libs route_registry)   (after `make install`)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route_registry.h"

/* A string literal as the library's (ptr, len) pair. */
#define S(lit) (lit), (sizeof(lit) - 1)

static void die(const char *what) {
    rr_str e = rr_last_error();
    fprintf(stderr, "example: %s failed: %.*s\n", what, (int)e.len, e.ptr);
    exit(1);
}

static void on_log(rr_log_level level, const char *msg, size_t len, void *user_data) {
    (void)user_data;
    printf("  log[%u] %.*s\n", level, (int)len, msg);
}

/* Makes a route and adds it to `reg`; the registry keeps its own reference. */
static void add_route(rr_registry *reg, rr_kind kind, const char *alias, const char *url,
                      const char *provider) {
    rr_route *r = NULL;
    if (rr_route_new(kind, alias, strlen(alias), url, strlen(url), &r) != RR_OK) die("rr_route_new");
    if (rr_route_set_provider(r, provider, strlen(provider)) != RR_OK) die("rr_route_set_provider");
    if (rr_add(reg, r) != RR_OK) die("rr_add");
    rr_route_release(r);
}

static void print_str(const char *label, rr_str s) { printf("  %-10s %.*s\n", label, (int)s.len, s.ptr); }

static void set_health(rr_registry *reg, const char *key, rr_health_status st, const char *detail) {
    rr_route *r = rr_get_include_excluded(reg, key, strlen(key));
    if (!r) die("rr_get_include_excluded");
    if (rr_route_set_health(r, st, 3600000000000ull, 1500000, detail, strlen(detail)) != RR_OK)
        die("rr_route_set_health");
    rr_route_release(r);
}

static bool print_route(const rr_route *r, void *user_data) {
    static const char *const kinds[] = {"http", "stream", "excluded"};
    rr_str key = rr_route_key(r), prov = rr_route_provider(r), url = rr_route_upstream_url(r);
    (void)user_data;
    printf("  %-8s %-10.*s provider=%-7.*s %.*s\n", kinds[rr_route_kind(r)], (int)key.len, key.ptr,
           (int)prov.len, prov.ptr, (int)url.len, url.ptr);
    return true;
}

int main(void) {
    rr_registry *reg;
    rr_route *r, *bad = NULL;
    rr_ctx *ctx;
    char *json;
    rr_str v = rr_version();

    if (rr_abi_version() != RR_ABI_VERSION) {
        fprintf(stderr, "example: library ABI %u, header ABI %u\n", rr_abi_version(), RR_ABI_VERSION);
        return 1;
    }
    printf("route-registry %.*s (ABI %u)\n", (int)v.len, v.ptr, rr_abi_version());
    rr_set_logger(RR_LOG_DEBUG, on_log, NULL);

    reg = rr_registry_new();
    if (!reg) die("rr_registry_new");

    printf("registering:\n");
    add_route(reg, RR_KIND_HTTP, "app", "http://10.0.0.5:8080", "docker");
    add_route(reg, RR_KIND_HTTP, "grafana", "https://[fd00::3]:3000/", "docker");
    add_route(reg, RR_KIND_STREAM, "postgres", "tcp://10.0.0.9:5432", "file");
    add_route(reg, RR_KIND_EXCLUDED, "old-wiki", "", "file");

    /* Bad input is an error with a message, never a crash. */
    if (rr_route_new(RR_KIND_HTTP, S("broken"), S("http://10.0.0.5:99999"), &bad) != RR_INVALID_ARGUMENT)
        die("rejecting a bad port");
    printf("rejected:  %.*s\n", (int)rr_last_error().len, rr_last_error().ptr);

    printf("routes (%zu active, %zu in all):\n", rr_num_active_routes(reg), rr_num_all_routes(reg));
    rr_iter_all(reg, print_route, NULL);

    printf("lookups:\n");
    r = rr_get(reg, S("postgres"));
    if (!r) die("rr_get(postgres)");
    print_str("postgres", rr_route_upstream_host_port(r));
    rr_route_release(r);
    if (rr_get(reg, S("old-wiki")) != NULL) die("rr_get must not return EXCLUDED routes");
    /* The request's Host header "app" is not an alias, so the exact host key is used. */
    r = rr_get_http_route_or_exact(reg, S("app.example.com"), S("app"));
    if (!r) die("rr_get_http_route_or_exact");

    /* A request context carries the route; a child context without one sees its parent's. */
    ctx = rr_with_route_context(NULL, r);
    rr_route_release(r); /* the context holds its own reference */
    {
        rr_ctx *child = rr_with_route_context(ctx, NULL);
        printf("upstream of the request (through a context):\n");
        print_str("name", rr_try_get_upstream_name(child));
        print_str("scheme", rr_try_get_upstream_scheme(child));
        print_str("host", rr_try_get_upstream_host(child));
        print_str("port", rr_try_get_upstream_port(child));
        print_str("host_port", rr_try_get_upstream_host_port(child));
        print_str("addr", rr_try_get_upstream_addr(child));
        print_str("url", rr_try_get_upstream_url(child));
        rr_ctx_free(child);
    }
    rr_ctx_free(ctx);

    set_health(reg, "app", RR_HEALTH_STATUS_HEALTHY, "ok");
    set_health(reg, "postgres", RR_HEALTH_STATUS_UNHEALTHY, "connection refused");

    json = rr_health_json(reg, RR_HEALTH_FULL);
    if (!json) die("rr_health_json");
    printf("health:      %s\n", json);
    rr_string_free(json);
    json = rr_by_provider_json(reg);
    if (!json) die("rr_by_provider_json");
    printf("by provider: %s\n", json);
    rr_string_free(json);

    rr_set_logger(RR_LOG_OFF, NULL, NULL);
    rr_registry_free(reg);
    if (rr_live_routes() != 0) {
        fprintf(stderr, "example: %zu routes still alive\n", rr_live_routes());
        return 1;
    }
    printf("example: done\n");
    return 0;
}
