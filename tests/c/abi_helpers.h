/*
 * abi_helpers.h — what the C ABI test files (test_*.c by area) share: log capture,
 * finalizer and visitor bookkeeping, small utilities. Defined in abi_helpers.c.
 */
#ifndef ABI_HELPERS_H
#define ABI_HELPERS_H

#include <pthread.h>
#include <stdbool.h>

#include "rr_test.h"

void sleep_ms(long ms);

/* Log capture: the lines the library logs, in order. */
#define LOG_MAX 512
typedef struct {
    pthread_mutex_t mu;
    char lines[LOG_MAX][160];
    unsigned levels[LOG_MAX];
    size_t n;
    const rr_registry *reenter; /* when set, the logger calls back into the library */
    size_t reentered;
} log_capture;
extern log_capture logcap;

/* The rr_log_fn that fills logcap (user_data must be &logcap). */
void capture_logger(rr_log_level level, const char *msg, size_t len, void *ud);
void log_reset(void);
/* Whether a captured line equals `line` exactly (and was logged at DEBUG). */
int log_has(const char *line);
size_t log_count(void);

/* The generation read through rr_generation_ptr with an atomic load. */
uint64_t gen_atomic(const rr_registry *reg);

/* Finalizer bookkeeping: calls per user_data value (< 16). */
void finalizer(uint64_t ud);
unsigned fin_count(unsigned ud);

/* Iteration bookkeeping. */
typedef struct {
    size_t calls;
    size_t stop_after; /* 0: never stop */
    char seen[16][64];
    rr_kind kinds[16];
} visit_log;

bool record_visitor(const rr_route *r, void *ud);
int seen_has(const visit_log *v, const char *key);

/* The C ABI tests, one function per area. */
void test_errors(void);          /* test_errors.c: version, last error, NULL and bad input */
void test_route(void);           /* test_route.c: fields, finalizer */
void test_registry(void);        /* test_registry.c: add/get/del, logging and reload, global */
void test_iteration(void);       /* test_iteration.c */
void test_context(void);         /* test_context.c */
void test_health(void);          /* test_health.c: health and by-provider JSON */
void test_proxmox(void);         /* test_proxmox.c */
void test_global(void);          /* test_registry.c: the process-wide registry (runs last) */

#endif
