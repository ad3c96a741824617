/*
 * The C test harness of route-registry: uses only include/route_registry.h.
 *
 *   usage: rr_test [TESTDATA_DIR]     (default: $RR_TESTDATA, else ../../../shared/testdata,
 *                                      i.e. ../shared/testdata from the repository root)
 *   RR_STRESS_MS: how long the threaded stress test runs (default 2000).
 *   RR_CONFORMANCE: the bad-input table (default ../conformance/bad_inputs.json, i.e.
 *                   tests/conformance/bad_inputs.json when run from tests/c).
 *
 * Prints "N passed, 0 failed" at the end; on the first failure prints where and exits 1.
 */
#include "abi_helpers.h"

void test_host(void); /* test_host.c */

unsigned long rr_test_passed;

void rr_test_fail(const char *file, int line, const char *expr, const char *extra) {
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
    if (extra) fprintf(stderr, "  rr_last_error: %s\n", extra);
    fflush(stderr);
    printf("%lu passed, 1 failed\n", __atomic_load_n(&rr_test_passed, __ATOMIC_RELAXED));
    fflush(stdout);
    exit(1);
}

int str_ok(rr_str s) { return s.ptr != NULL && s.ptr[s.len] == '\0'; }

int str_eqn(rr_str s, const char *want, size_t len) {
    return str_ok(s) && s.len == len && memcmp(s.ptr, want, len) == 0;
}

int str_eq(rr_str s, const char *want) { return str_eqn(s, want, strlen(want)); }

int last_error_has(const char *needle) {
    rr_str e = rr_last_error();
    if (!str_ok(e)) return 0;
    if (strstr(e.ptr, needle)) return 1;
    fprintf(stderr, "  rr_last_error \"%s\" lacks \"%s\"\n", e.ptr, needle);
    return 0;
}

rr_route *mk_route(rr_kind kind, const char *alias, const char *url) {
    rr_route *r = NULL;
    CHECK_OK(rr_route_new(kind, alias, strlen(alias), url, strlen(url), &r));
    CHECK(r != NULL);
    return r;
}

int main(int argc, char **argv) {
    const char *testdata = argc > 1 ? argv[1] : getenv("RR_TESTDATA");
    const char *conformance = getenv("RR_CONFORMANCE");
    size_t live_at_start;
    if (!testdata || !*testdata) testdata = "../../../shared/testdata";

    live_at_start = rr_live_routes();
    printf("route-registry C harness: library %.*s, ABI %u\n", (int)rr_version().len,
           rr_version().ptr, rr_abi_version());

    /* The C ABI by area (test_*.c), in this order: the global registry is checked last. */
    test_errors();
    test_route();
    test_registry();
    test_iteration();
    test_context();
    test_health();
    test_proxmox();
    test_global();
    printf("abi: ok\n");
    test_vectors(testdata);
    printf("vectors: ok\n");
    test_conformance(conformance && *conformance ? conformance : "../conformance/bad_inputs.json");
    printf("conformance: ok\n");
    test_stress();
    printf("stress: ok\n");
    test_host();
    printf("host: ok\n");
    test_changes();
    printf("changes: ok\n");

    /* No route leaked anywhere in the process (registries, contexts, caller references). */
    CHECK(rr_live_routes() == live_at_start);
    rr_set_logger(RR_LOG_OFF, NULL, NULL);

    printf("%lu passed, 0 failed\n", rr_test_passed);
    return 0;
}
