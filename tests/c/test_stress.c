/*
 * test_stress.c — several threads hammer one registry for RR_STRESS_MS milliseconds
 * (default 2000): add, add_if_not_exists, del, get, iterate, set_health, health JSON,
 * by-provider JSON, contexts, purge, generation reads, while checking invariants.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "rr_test.h"

#define NKEYS 32
#define NTHREADS 6

static rr_registry *sreg;
static volatile int stop_flag;
static size_t log_lines;

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t xorshift(uint32_t *s) {
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void counting_logger(rr_log_level level, const char *msg, size_t len, void *ud) {
    (void)level;
    (void)ud;
    CHECK(msg != NULL && len > 0);
    /* Calling back in from a logger on a busy registry must not deadlock. */
    (void)rr_pool_size(sreg, RR_KIND_HTTP);
    __atomic_fetch_add(&log_lines, 1, __ATOMIC_RELAXED);
}

static int stopped(void) { return __atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE); }

static void key_name(char *buf, size_t n, unsigned i) { snprintf(buf, n, "key-%02u", i); }

static bool count_visitor(const rr_route *r, void *ud) {
    size_t *n = ud;
    rr_str k = rr_route_key(r);
    CHECK(str_ok(k) && k.len == 6 && memcmp(k.ptr, "key-", 4) == 0);
    (*n)++;
    return true;
}

static bool stop_visitor(const rr_route *r, void *ud) {
    (void)r;
    return ++*(size_t *)ud < 3;
}

static void check_braces(char *j) {
    size_t len;
    CHECK(j != NULL);
    len = strlen(j);
    CHECK(len >= 2 && j[0] == '{' && j[len - 1] == '}');
    rr_string_free(j);
}

static void *worker(void *arg) {
    uint32_t seed = (uint32_t)(uintptr_t)arg * 2654435761u + 1u;
    char key[16];
    size_t ops = 0;
    while (!stopped()) {
        unsigned op = xorshift(&seed) % 12;
        unsigned ki = xorshift(&seed) % NKEYS;
        rr_kind kind = (rr_kind)(xorshift(&seed) % 3);
        rr_route *r = NULL, *got, *actual;
        key_name(key, sizeof key, ki);
        switch (op) {
        case 0:
        case 1:
        case 2: { /* add, with a random priority and provider */
            static const char *const provs[] = {"docker", "file", ""};
            rr_status st;
            CHECK_OK(rr_route_new(kind, key, strlen(key), S("http://10.0.0.1:8080"), &r));
            CHECK_OK(rr_route_set_priority(r, (int32_t)(xorshift(&seed) % 3)));
            CHECK_OK(rr_route_set_provider(r, provs[ki % 3], strlen(provs[ki % 3])));
            CHECK_OK(rr_route_set_user_data(r, ki));
            if (op == 2) {
                st = rr_add_if_not_exists(sreg, r, &actual);
                CHECK(st == RR_OK || st == RR_KEPT);
                CHECK(actual != NULL);
                CHECK(str_eq(rr_route_key(actual), key));
                CHECK(st != RR_OK || actual == r);
                rr_route_release(actual);
            } else {
                st = rr_add(sreg, r);
                CHECK(st == RR_OK || st == RR_KEPT);
                CHECK(rr_route_is_frozen(r) == (st == RR_OK));
            }
            rr_route_release(r);
            break;
        }
        case 3: { /* delete */
            rr_status st = rr_del_key(sreg, kind, key, strlen(key));
            CHECK(st == RR_OK || st == RR_NOT_FOUND);
            break;
        }
        case 4:
        case 5: { /* lookups: the route returned has the key asked for */
            got = op == 4 ? rr_get(sreg, key, strlen(key)) : rr_pool_get(sreg, kind, key, strlen(key));
            if (got) {
                CHECK(str_eq(rr_route_key(got), key));
                CHECK(rr_route_user_data(got) == ki);
                CHECK(op == 5 ? rr_route_kind(got) == kind : rr_route_kind(got) != RR_KIND_EXCLUDED);
                CHECK_OK(rr_route_set_health(got, 1u << (xorshift(&seed) % 5), ops, ops, S("stress")));
                rr_route_release(got);
            }
            got = rr_get_include_excluded(sreg, key, strlen(key));
            if (got) {
                CHECK(str_eq(rr_route_alias(got), key));
                rr_route_release(got);
            }
            got = rr_get_http_route_or_exact(sreg, key, strlen(key), S("nope"));
            if (got) {
                CHECK(rr_route_kind(got) == RR_KIND_HTTP && str_eq(rr_route_key(got), key));
                rr_route_release(got);
            }
            break;
        }
        case 6: { /* iteration and sizes */
            size_t n = 0, m = 0;
            CHECK(rr_pool_iter(sreg, kind, count_visitor, &n) == n);
            CHECK(n <= NKEYS);
            CHECK(rr_pool_size(sreg, kind) <= NKEYS);
            CHECK(rr_num_active_routes(sreg) <= 2 * NKEYS);
            CHECK(rr_num_all_routes(sreg) <= 3 * NKEYS);
            n = 0;
            CHECK(rr_iter_all(sreg, count_visitor, &n) == n && n <= 3 * NKEYS);
            n = 0;
            CHECK(rr_iter_active(sreg, count_visitor, &n) == n && n <= 2 * NKEYS);
            CHECK(rr_pool_iter_sorted(sreg, kind, count_visitor, &m) == m && m <= NKEYS);
            m = 0;
            CHECK(rr_iter_all(sreg, stop_visitor, &m) <= 3);
            break;
        }
        case 7:
            check_braces(rr_health_json(sreg, xorshift(&seed) % 3));
            break;
        case 8:
            check_braces(rr_by_provider_json(sreg));
            break;
        case 9: { /* contexts */
            got = rr_get(sreg, key, strlen(key));
            {
                rr_ctx *c = rr_with_route_context(NULL, got);
                rr_ctx *child = rr_with_route_context(c, NULL);
                rr_route *back = rr_try_get_route(child);
                CHECK(back == got);
                if (got) {
                    CHECK(str_eq(rr_try_get_upstream_name(child), key));
                    CHECK(str_eq(rr_try_get_upstream_host_port(child), "10.0.0.1:8080"));
                } else {
                    CHECK(str_eq(rr_try_get_upstream_name(child), ""));
                }
                rr_route_release(back);
                rr_route_release(got); /* the contexts keep it alive */
                rr_ctx_free(c);
                back = rr_try_get_route(child); /* the parent is freed; the child holds it */
                CHECK((back != NULL) == (got != NULL));
                if (back) CHECK(str_eq(rr_try_get_upstream_url(child), "http://10.0.0.1:8080"));
                rr_route_release(back);
                rr_ctx_free(child);
            }
            break;
        }
        case 10: { /* the generation counter only grows and matches rr_generation roughly */
            const uint64_t *p = rr_generation_ptr(sreg);
            uint64_t a = __atomic_load_n(p, __ATOMIC_ACQUIRE);
            uint64_t b = rr_generation(sreg);
            uint64_t c = __atomic_load_n(p, __ATOMIC_ACQUIRE);
            CHECK(a <= b && b <= c);
            break;
        }
        default:
            if (xorshift(&seed) % 64 == 0) (void)rr_purge_tombstones(sreg);
            break;
        }
        ops++;
    }
    return (void *)ops;
}

static bool kind_visitor(const rr_route *r, void *ud) {
    size_t *counts = ud;
    rr_kind k = rr_route_kind(r);
    CHECK(k <= RR_KIND_EXCLUDED);
    counts[k]++;
    return true;
}

void test_stress(void) {
    pthread_t th[NTHREADS];
    const char *env = getenv("RR_STRESS_MS");
    long ms = env ? atol(env) : 2000;
    size_t live = rr_live_routes(), total = 0, counts[3] = {0, 0, 0}, k, i;
    uint64_t start, g;

    if (ms <= 0) ms = 2000;
    sreg = rr_registry_new();
    CHECK(sreg != NULL);
    rr_set_logger(RR_LOG_DEBUG, counting_logger, NULL);
    g = rr_generation(sreg);
    start = now_ms();
    for (i = 0; i < NTHREADS; i++) CHECK(pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
    while (now_ms() - start < (uint64_t)ms) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
    for (i = 0; i < NTHREADS; i++) {
        void *ops;
        CHECK(pthread_join(th[i], &ops) == 0);
        total += (size_t)ops;
    }
    rr_set_logger(RR_LOG_OFF, NULL, NULL);
    printf("stress: %d threads, %zu operations in %ld ms, %zu log lines\n", NTHREADS, total, ms, log_lines);
    CHECK(total > 0);
    CHECK(log_lines > 0);
    CHECK(rr_generation(sreg) != g);

    /* After joining, the counts agree with a recount by iteration. */
    CHECK(rr_iter_all(sreg, kind_visitor, counts) == rr_num_all_routes(sreg));
    for (k = 0; k < 3; k++) CHECK(counts[k] == rr_pool_size(sreg, (rr_kind)k));
    CHECK(rr_num_active_routes(sreg) == counts[0] + counts[1]);
    CHECK(rr_num_all_routes(sreg) == counts[0] + counts[1] + counts[2]);

    rr_registry_free(sreg);
    sreg = NULL;
    CHECK(rr_live_routes() == live);
}
