/*
 * rr_test.h — the C harness's tiny assertion kit (shared by every test file).
 *
 * CHECK(expr) counts a passed check, or prints file:line and the expression, then the
 * closing "N passed, 1 failed" line, and exits with status 1. It is safe to use from
 * several threads (the counter is atomic).
 */
#ifndef RR_TEST_H
#define RR_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route_registry.h"

extern unsigned long rr_test_passed;

void rr_test_fail(const char *file, int line, const char *expr, const char *extra);

#define CHECK(expr)                                                    \
    do {                                                               \
        if (expr) {                                                    \
            __atomic_fetch_add(&rr_test_passed, 1, __ATOMIC_RELAXED);  \
        } else {                                                       \
            rr_test_fail(__FILE__, __LINE__, #expr, NULL);             \
        }                                                              \
    } while (0)

/* As CHECK, and on failure also prints the library's last error on this thread. */
#define CHECK_OK(call)                                                 \
    do {                                                               \
        rr_status st_ = (call);                                        \
        if (st_ == RR_OK) {                                            \
            __atomic_fetch_add(&rr_test_passed, 1, __ATOMIC_RELAXED);  \
        } else {                                                       \
            rr_test_fail(__FILE__, __LINE__, #call " == RR_OK",        \
                         rr_last_error().ptr);                         \
        }                                                              \
    } while (0)

/* A string literal as a (ptr, len) pair. */
#define S(lit) (lit), (sizeof(lit) - 1)

/* rr_str equals the C string / the (ptr, len) bytes exactly. */
int str_eq(rr_str s, const char *want);
int str_eqn(rr_str s, const char *want, size_t len);
/* rr_str is well-formed: non-NULL ptr, NUL at ptr[len]. */
int str_ok(rr_str s);
/* The last error on this thread contains `needle`. */
int last_error_has(const char *needle);

/* A new route of `kind` named `alias` with upstream `url`, or a failed check. */
rr_route *mk_route(rr_kind kind, const char *alias, const char *url);

/* Test groups (each in its own file). */
void test_vectors(const char *testdata_dir);
void test_conformance(const char *table_path);
void test_stress(void);
void test_changes(void);

#endif
