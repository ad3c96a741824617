/*
 * test_health.c — the C ABI: health JSON rules beyond the vectors, by-provider JSON.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "abi_helpers.h"

/* ---- health JSON rules beyond the vectors, by-provider JSON ------------------------- */

static void check_json(rr_registry *reg, rr_health_format f, const char *want) {
    char *j = rr_health_json(reg, f);
    CHECK(j != NULL);
    if (strcmp(j, want) != 0) fprintf(stderr, "  got  %s\n  want %s\n", j, want);
    CHECK(strcmp(j, want) == 0);
    rr_string_free(j);
}

static void t_health_and_providers(void) {
    rr_registry *reg = rr_registry_new();
    rr_route *r;
    char *j;

    check_json(reg, RR_HEALTH_FULL, "{}");
    j = rr_by_provider_json(reg);
    CHECK(j && strcmp(j, "{}") == 0);
    rr_string_free(j);

    /* Shared alias: the last in HTTP, STREAM, EXCLUDED order, ascending key, wins. */
    r = mk_route(RR_KIND_HTTP, "shared", "http://10.0.0.1:80");
    CHECK_OK(rr_route_set_key(r, S("b:shared")));
    CHECK_OK(rr_route_set_provider(r, S("docker")));
    CHECK_OK(rr_route_set_health(r, RR_HEALTH_STATUS_HEALTHY, 1, 1, S("")));
    CHECK_OK(rr_add(reg, r));
    rr_route_release(r);
    r = mk_route(RR_KIND_HTTP, "shared", "http://10.0.0.2:80");
    CHECK_OK(rr_route_set_key(r, S("a:shared")));
    CHECK_OK(rr_route_set_provider(r, S("docker")));
    CHECK_OK(rr_route_set_health(r, RR_HEALTH_STATUS_UNHEALTHY, 1, 1, S("")));
    CHECK_OK(rr_add(reg, r));
    rr_route_release(r);
    check_json(reg, RR_HEALTH_SIMPLE, "{\"shared\":\"healthy\"}");
    r = mk_route(RR_KIND_STREAM, "shared", "tcp://10.0.0.3:1");
    CHECK_OK(rr_route_set_provider(r, S("file")));
    CHECK_OK(rr_route_set_health(r, RR_HEALTH_STATUS_STARTING, 1, 1, S("")));
    CHECK_OK(rr_add(reg, r));
    rr_route_release(r);
    check_json(reg, RR_HEALTH_SIMPLE, "{\"shared\":\"starting\"}");
    r = mk_route(RR_KIND_EXCLUDED, "shared", "");
    CHECK_OK(rr_route_set_provider(r, S("file")));
    CHECK_OK(rr_add(reg, r));
    rr_route_release(r);
    check_json(reg, RR_HEALTH_FULL,
               "{\"shared\":{\"status\":\"unknown\",\"uptime\":0,\"latency\":0,\"detail\":\"n/a\"}}");

    /* Durations above INT64_MAX are clamped. */
    r = mk_route(RR_KIND_HTTP, "clamp", "http://10.0.0.4:80");
    CHECK_OK(rr_route_set_provider(r, S("docker")));
    CHECK_OK(rr_route_set_health(r, RR_HEALTH_STATUS_ERROR, UINT64_MAX, (uint64_t)INT64_MAX + 1, S("x")));
    CHECK_OK(rr_add(reg, r));
    rr_route_release(r);
    check_json(reg, RR_HEALTH_WITHOUT_DETAIL,
               "{\"clamp\":{\"status\":\"error\",\"uptime\":9223372036854775807,\"latency\":9223372036854775807},"
               "\"shared\":{\"status\":\"unknown\",\"uptime\":0,\"latency\":0}}");

    /* Grouped by provider, over all pools, keys sorted; "" is a provider name too. */
    r = mk_route(RR_KIND_HTTP, "noprov", "http://10.0.0.5:80");
    CHECK_OK(rr_add(reg, r));
    rr_route_release(r);
    j = rr_by_provider_json(reg);
    CHECK(j != NULL);
    if (strcmp(j, "{\"\":[\"noprov\"],\"docker\":[\"a:shared\",\"b:shared\",\"clamp\"],\"file\":[\"shared\",\"shared\"]}") != 0)
        fprintf(stderr, "  by_provider: %s\n", j);
    CHECK(strcmp(j, "{\"\":[\"noprov\"],\"docker\":[\"a:shared\",\"b:shared\",\"clamp\"],\"file\":[\"shared\",\"shared\"]}") == 0);
    rr_string_free(j);
    rr_registry_free(reg);
}

void test_health(void) {
    t_health_and_providers();
}
