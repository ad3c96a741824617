/*
 * Host resolution from C: rr_find_http_route and rr_set_route_domains (the full vector table
 * is tests/host_vectors.json, run by tests/host.rs; here the C view of the same rules, the
 * argument checks, references and a writer racing lookups under the sanitizers).
 */
#include <pthread.h>

#include "rr_test.h"

static void add_key(rr_registry *reg, rr_kind kind, const char *key, int32_t priority) {
    rr_route *r = mk_route(kind, key, "http://10.0.0.1:80");
    CHECK_OK(rr_route_set_priority(r, priority));
    CHECK_OK(rr_add(reg, r));
    rr_route_release(r);
}

/* The host resolves to the route keyed `want` (NULL: to nothing). */
static int finds(const rr_registry *reg, const char *host, size_t len, const char *want) {
    rr_route *r = rr_find_http_route(reg, host, len);
    int ok;
    if (!want) {
        ok = r == NULL;
    } else {
        ok = r != NULL && str_eq(rr_route_key(r), want);
    }
    if (!ok) {
        fprintf(stderr, "  host \"%.*s\": want %s, got %s\n", (int)(len > 60 ? 60 : len), host,
                want ? want : "(none)", r ? rr_route_key(r).ptr : "(none)");
    }
    rr_route_release(r);
    return ok;
}

#define FINDS(reg, host, want) CHECK(finds((reg), (host), strlen(host), (want)))

static void godoxy_rules(void) {
    rr_registry *reg = rr_registry_new();
    rr_str domains[2] = {{S(".domain.com")}, {S("sub.domain.com")}};

    /* TestFindRouteAnyDomain / TestFindRouteWithPort: no domains. */
    add_key(reg, RR_KIND_HTTP, "app1", 0);
    add_key(reg, RR_KIND_HTTP, "app2.com", 0);
    FINDS(reg, "app1.com", "app1");
    FINDS(reg, "app1.sub.domain.com", "app1");
    FINDS(reg, "app1:8080", "app1");
    FINDS(reg, "app2.com:8080", "app2.com");
    FINDS(reg, "sub.app1.com", NULL);
    FINDS(reg, "app11", NULL);
    FINDS(reg, "app2.co:8080", NULL);

    /* TestFindRouteByDomains: domains in order, then the exact host; no first-label rule. */
    CHECK_OK(rr_set_route_domains(reg, domains, 2));
    FINDS(reg, "app1.domain.com", "app1");
    FINDS(reg, "app1.sub.domain.com", "app1");
    FINDS(reg, "app2.com", "app2.com");
    FINDS(reg, "app1.com", NULL);
    FINDS(reg, "app1.domain.com.hk", NULL);
    FINDS(reg, "app1.domain.co", NULL);

    /* Wildcards come last; exact and label matches win; one label only. */
    CHECK_OK(rr_set_route_domains(reg, NULL, 0));
    add_key(reg, RR_KIND_HTTP, "*.example.com", 0);
    add_key(reg, RR_KIND_HTTP, "api.example.com", 0);
    FINDS(reg, "web.example.com", "*.example.com");
    FINDS(reg, "app1.example.com", "app1");
    FINDS(reg, "api.example.com", "api.example.com");
    FINDS(reg, "a.b.example.com", NULL);
    FINDS(reg, "example.com", NULL);

    /* Equal suffixes: priority, then the later one; the survivor answers after a delete. */
    add_key(reg, RR_KIND_HTTP, "*.Example.com.", 0);
    FINDS(reg, "web.example.com", "*.Example.com.");
    CHECK_OK(rr_del_key(reg, RR_KIND_HTTP, S("*.Example.com.")));
    FINDS(reg, "web.example.com", "*.example.com");
    add_key(reg, RR_KIND_HTTP, "*.EXAMPLE.COM", -1);
    FINDS(reg, "web.example.com", "*.example.com");
    rr_registry_free(reg);
}

static void case_dots_ipv6_and_pools(void) {
    rr_registry *reg = rr_registry_new();
    add_key(reg, RR_KIND_HTTP, "App", 0);
    add_key(reg, RR_KIND_HTTP, "web.", 0);
    add_key(reg, RR_KIND_HTTP, "::1", 0);
    add_key(reg, RR_KIND_STREAM, "db", 0);
    FINDS(reg, "APP.example.com", "App");
    FINDS(reg, "app", "App");
    FINDS(reg, "web.example.com.", "web.");
    FINDS(reg, "WEB.:80", "web.");
    FINDS(reg, "[::1]:8080", "::1");
    FINDS(reg, "::1", "::1");
    FINDS(reg, "[::1]", NULL); /* SplitHostPort fails: the host is "[::1]" as it is */
    FINDS(reg, "db", NULL);    /* only the HTTP pool */
    FINDS(reg, "db.example.com", NULL);
    rr_registry_free(reg);
}

static void hostile_hosts_and_bad_arguments(void) {
    rr_registry *reg = rr_registry_new();
    size_t big = (size_t)1 << 20, i;
    char *host = malloc(big);
    rr_str bad[2] = {{S("ok.com")}, {S("")}};
    rr_str with_nul[1] = {{"a\0b", 3}};
    rr_str not_utf8[1] = {{"\xff.com", 5}};
    rr_str null_entry[1] = {{NULL, 4}};
    uint64_t gen;
    CHECK(host != NULL);
    add_key(reg, RR_KIND_HTTP, "app", 0);
    add_key(reg, RR_KIND_HTTP, "*.example.com", 0);

    /* 1 MiB of 'x' ending in .example.com: longer than any Host header can be, a miss. */
    memset(host, 'x', big);
    memcpy(host + big - 12, ".example.com", 12);
    CHECK(finds(reg, host, big, NULL));
    for (i = 0; i < big; i++) host[i] = (char)(i * 7);
    CHECK(finds(reg, host, big, NULL));
    memset(host, '.', 300);
    CHECK(finds(reg, host, 300, NULL));
    CHECK(finds(reg, S("x\0.example.com"), NULL));
    CHECK(finds(reg, S("app.example.com\0"), NULL));
    CHECK(finds(reg, S("\xff.example.com"), NULL));
    CHECK(finds(reg, S(":8080"), NULL));
    CHECK(finds(reg, S(""), NULL));
    CHECK(finds(reg, NULL, 0, NULL));
    free(host);

    CHECK(rr_find_http_route(NULL, S("app")) == NULL);
    CHECK(last_error_has("registry is NULL"));
    CHECK(rr_find_http_route(reg, NULL, 3) == NULL);
    CHECK(last_error_has("NULL pointer with length 3"));

    /* Bad domain lists: refused with the value named, the old list stays, no new generation. */
    CHECK_OK(rr_set_route_domains(reg, bad, 1));
    gen = rr_generation(reg);
    CHECK(rr_set_route_domains(reg, bad, 2) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("domain 1 \"\" is empty"));
    CHECK(rr_set_route_domains(reg, with_nul, 1) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("contains a NUL byte"));
    CHECK(rr_set_route_domains(reg, not_utf8, 1) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("is not valid UTF-8"));
    CHECK(rr_set_route_domains(reg, null_entry, 1) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("domain 0: NULL pointer with length 4"));
    CHECK(rr_set_route_domains(reg, NULL, 1) == RR_INVALID_ARGUMENT);
    CHECK(rr_set_route_domains(NULL, NULL, 0) == RR_INVALID_ARGUMENT);
    CHECK(rr_generation(reg) == gen);
    FINDS(reg, "app.ok.com", "app");
    FINDS(reg, "app.example.com", "*.example.com"); /* no first-label rule with domains */
    CHECK_OK(rr_set_route_domains(reg, NULL, 0));
    CHECK(rr_generation(reg) == gen + 1);
    FINDS(reg, "app.example.com", "app");
    rr_registry_free(reg);
}

struct race {
    rr_registry *reg;
    volatile int stop;
};

static void *writer(void *arg) {
    struct race *rc = arg;
    int i;
    for (i = 0; i < 3000; i++) {
        const char *key = (i & 1) ? "*.example.com" : "*.EXAMPLE.com.";
        rr_route *r = mk_route(RR_KIND_HTTP, key, "http://10.0.0.1:80");
        CHECK(rr_add(rc->reg, r) == RR_OK);
        rr_route_release(r);
        if (i % 3 == 0) CHECK(rr_del_key(rc->reg, RR_KIND_HTTP, key, strlen(key)) == RR_OK);
    }
    __atomic_store_n(&rc->stop, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* A writer adds and deletes two wildcard routes sharing a suffix while this thread resolves:
   every answer is one of them (or none), and its strings stay valid while held. */
static void lookups_race_a_writer(void) {
    struct race rc;
    pthread_t t;
    unsigned long found = 0;
    rc.reg = rr_registry_new();
    rc.stop = 0;
    CHECK(pthread_create(&t, NULL, writer, &rc) == 0);
    while (!__atomic_load_n(&rc.stop, __ATOMIC_ACQUIRE)) {
        rr_route *r = rr_find_http_route(rc.reg, S("www.example.com:443"));
        if (r) {
            rr_str k = rr_route_key(r);
            if (!str_eq(k, "*.example.com") && !str_eq(k, "*.EXAMPLE.com.")) CHECK(0);
            found++;
            rr_route_release(r);
        }
    }
    CHECK(pthread_join(t, NULL) == 0);
    /* When the writer stops both keys are live and the later one (i = 2999) answers. */
    FINDS(rc.reg, "www.example.com", "*.example.com");
    rr_registry_free(rc.reg);
    (void)found;
}

void test_host(void) {
    godoxy_rules();
    case_dots_ipv6_and_pools();
    hostile_hosts_and_bad_arguments();
    lookups_race_a_writer();
}
