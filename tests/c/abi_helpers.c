/*
 * abi_helpers.c — helpers shared by the C ABI test files (see abi_helpers.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "abi_helpers.h"

void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Log capture: the lines the library logs, in order. */
log_capture logcap = {PTHREAD_MUTEX_INITIALIZER, {{0}}, {0}, 0, NULL, 0};

void capture_logger(rr_log_level level, const char *msg, size_t len, void *ud) {
    const rr_registry *reg;
    CHECK(ud == &logcap);
    CHECK(msg != NULL && len > 0);
    pthread_mutex_lock(&logcap.mu);
    if (logcap.n < LOG_MAX) {
        size_t l = len < sizeof logcap.lines[0] - 1 ? len : sizeof logcap.lines[0] - 1;
        memcpy(logcap.lines[logcap.n], msg, l);
        logcap.lines[logcap.n][l] = '\0';
        logcap.levels[logcap.n] = level;
        logcap.n++;
    }
    reg = logcap.reenter;
    pthread_mutex_unlock(&logcap.mu);
    if (reg) {
        /* Called outside every library lock: calling back in must not deadlock. */
        rr_route *r = rr_get(reg, S("reentrant"));
        char *j = rr_health_json(reg, RR_HEALTH_SIMPLE);
        CHECK(j != NULL && j[0] == '{');
        rr_string_free(j);
        (void)rr_num_all_routes(reg);
        (void)rr_generation(reg);
        rr_route_release(r);
        pthread_mutex_lock(&logcap.mu);
        logcap.reentered++;
        pthread_mutex_unlock(&logcap.mu);
    }
}

void log_reset(void) {
    pthread_mutex_lock(&logcap.mu);
    logcap.n = 0;
    pthread_mutex_unlock(&logcap.mu);
}

/* Whether a captured line equals `line` exactly (and was logged at DEBUG). */
int log_has(const char *line) {
    size_t i;
    int found = 0;
    pthread_mutex_lock(&logcap.mu);
    for (i = 0; i < logcap.n; i++)
        if (strcmp(logcap.lines[i], line) == 0 && logcap.levels[i] == RR_LOG_DEBUG) found = 1;
    if (!found) {
        fprintf(stderr, "  log lacks \"%s\"; captured %zu lines:\n", line, logcap.n);
        for (i = 0; i < logcap.n; i++) fprintf(stderr, "    [%u] %s\n", logcap.levels[i], logcap.lines[i]);
    }
    pthread_mutex_unlock(&logcap.mu);
    return found;
}

size_t log_count(void) {
    size_t n;
    pthread_mutex_lock(&logcap.mu);
    n = logcap.n;
    pthread_mutex_unlock(&logcap.mu);
    return n;
}

uint64_t gen_atomic(const rr_registry *reg) {
    const uint64_t *p = rr_generation_ptr(reg);
    CHECK(p != NULL);
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Finalizer bookkeeping: calls per user_data value. */
static unsigned fin_calls[16];
void finalizer(uint64_t ud) {
    CHECK(ud < 16);
    __atomic_fetch_add(&fin_calls[ud], 1, __ATOMIC_SEQ_CST);
}
unsigned fin_count(unsigned ud) { return __atomic_load_n(&fin_calls[ud], __ATOMIC_SEQ_CST); }

bool record_visitor(const rr_route *r, void *ud) {
    visit_log *v = ud;
    rr_str k = rr_route_key(r);
    CHECK(str_ok(k));
    if (v->calls < 16) {
        size_t l = k.len < 63 ? k.len : 63;
        memcpy(v->seen[v->calls], k.ptr, l);
        v->seen[v->calls][l] = '\0';
        v->kinds[v->calls] = rr_route_kind(r);
    }
    v->calls++;
    return v->stop_after == 0 || v->calls < v->stop_after;
}

int seen_has(const visit_log *v, const char *key) {
    size_t i;
    for (i = 0; i < v->calls && i < 16; i++)
        if (strcmp(v->seen[i], key) == 0) return 1;
    return 0;
}
