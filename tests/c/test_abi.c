/*
 * test_abi.c — every function of include/route_registry.h, with good and bad input.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "rr_test.h"

/* ---- helpers ------------------------------------------------------------------------ */

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Log capture: the lines the library logs, in order. */
#define LOG_MAX 512
static struct {
    pthread_mutex_t mu;
    char lines[LOG_MAX][160];
    unsigned levels[LOG_MAX];
    size_t n;
    const rr_registry *reenter; /* when set, the logger calls back into the library */
    size_t reentered;
} logcap = {PTHREAD_MUTEX_INITIALIZER, {{0}}, {0}, 0, NULL, 0};

static void capture_logger(rr_log_level level, const char *msg, size_t len, void *ud) {
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

static void log_reset(void) {
    pthread_mutex_lock(&logcap.mu);
    logcap.n = 0;
    pthread_mutex_unlock(&logcap.mu);
}

/* Whether a captured line equals `line` exactly (and was logged at DEBUG). */
static int log_has(const char *line) {
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

static size_t log_count(void) {
    size_t n;
    pthread_mutex_lock(&logcap.mu);
    n = logcap.n;
    pthread_mutex_unlock(&logcap.mu);
    return n;
}

static uint64_t gen_atomic(const rr_registry *reg) {
    const uint64_t *p = rr_generation_ptr(reg);
    CHECK(p != NULL);
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Finalizer bookkeeping: calls per user_data value. */
static unsigned fin_calls[16];
static void finalizer(uint64_t ud) {
    CHECK(ud < 16);
    __atomic_fetch_add(&fin_calls[ud], 1, __ATOMIC_SEQ_CST);
}
static unsigned fin_count(unsigned ud) { return __atomic_load_n(&fin_calls[ud], __ATOMIC_SEQ_CST); }

/* Iteration bookkeeping. */
typedef struct {
    size_t calls;
    size_t stop_after; /* 0: never stop */
    char seen[16][64];
    rr_kind kinds[16];
} visit_log;

static bool record_visitor(const rr_route *r, void *ud) {
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

static int seen_has(const visit_log *v, const char *key) {
    size_t i;
    for (i = 0; i < v->calls && i < 16; i++)
        if (strcmp(v->seen[i], key) == 0) return 1;
    return 0;
}

/* ---- version and errors ------------------------------------------------------------- */

static void t_version(void) {
    rr_str v = rr_version();
    CHECK(rr_abi_version() == RR_ABI_VERSION);
    CHECK(str_ok(v) && v.len > 0);
    CHECK(strchr(v.ptr, '.') != NULL);
    CHECK(str_ok(rr_last_error()));
}

static void *error_thread(void *arg) {
    rr_route *r = (rr_route *)arg; /* a sentinel: must become NULL */
    CHECK(rr_route_new(7, S("other-thread"), S("http://h:1"), &r) == RR_INVALID_ARGUMENT);
    CHECK(r == NULL);
    CHECK(last_error_has("7"));
    return NULL;
}

/* rr_last_error is per OS thread. */
static void t_last_error_per_thread(void) {
    pthread_t t;
    rr_route *r = NULL;
    CHECK(rr_route_new(RR_KIND_HTTP, S("x"), S("http://10.0.0.5:99999"), &r) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("99999"));
    CHECK(pthread_create(&t, NULL, error_thread, (void *)&r) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(last_error_has("99999"));
    CHECK(!strstr(rr_last_error().ptr, "other-thread"));
}

/* ---- NULL handles and bad input, function by function ------------------------------- */

static bool never_visitor(const rr_route *r, void *ud) {
    (void)r;
    (void)ud;
    CHECK(!"visitor must not be called");
    return true;
}

static void t_null_and_bad_input(void) {
    static const rr_kind bad_kinds[] = {3, 7, 0xFFFFFFFFu};
    static const rr_health_status bad_status[] = {3, 5, 7, 32, 0xFFFFFFFFu};
    static const rr_health_format bad_formats[] = {3, 7, 0xFFFFFFFFu};
    char long_alias[257], buf[32];
    rr_registry *reg = rr_registry_new();
    rr_route *r = mk_route(RR_KIND_HTTP, "good", "http://10.0.0.1:80");
    rr_route *out, *actual;
    rr_str sn, sv;
    rr_health_status hs;
    uint64_t up, lat;
    int32_t vmid;
    size_t i;
    rr_ctx *ctx;

    CHECK(reg != NULL);

    /* rr_route_new: out NULL, kind, alias, url. */
    CHECK(rr_route_new(RR_KIND_HTTP, S("a"), S("http://h:1"), NULL) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("out"));
    for (i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
        out = r;
        CHECK(rr_route_new(bad_kinds[i], S("a"), S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
        CHECK(out == NULL);
        snprintf(buf, sizeof buf, "%u", bad_kinds[i]);
        CHECK(last_error_has(buf));
    }
    out = r;
    CHECK(rr_route_new(RR_KIND_HTTP, NULL, 5, S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
    CHECK(out == NULL);
    CHECK(last_error_has("NULL"));
    CHECK(last_error_has("alias"));
    CHECK(rr_route_new(RR_KIND_HTTP, S("bad\xff\xfe"), S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
    CHECK(out == NULL);
    CHECK(last_error_has("UTF-8"));
    CHECK(last_error_has("bad\\xff\\xfe"));
    CHECK(rr_route_new(RR_KIND_HTTP, S("\xc3"), S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_new(RR_KIND_HTTP, "", 0, S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
    CHECK(out == NULL);
    CHECK(last_error_has("empty"));
    CHECK(rr_route_new(RR_KIND_HTTP, NULL, 0, S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
    memset(long_alias, 'a', sizeof long_alias);
    CHECK(rr_route_new(RR_KIND_HTTP, long_alias, 256, S("http://h:1"), &out) == RR_INVALID_ARGUMENT);
    CHECK(out == NULL);
    CHECK(last_error_has("256"));
    CHECK_OK(rr_route_new(RR_KIND_HTTP, long_alias, 255, S("http://h:1"), &out));
    CHECK(rr_route_alias(out).len == 255);
    rr_route_release(out);
    CHECK(rr_route_new(RR_KIND_HTTP, S("a"), NULL, 4, &out) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("url"));
    CHECK(rr_route_new(RR_KIND_HTTP, S("a"), S("http://h\xff:1"), &out) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("UTF-8"));
    CHECK(rr_route_new(RR_KIND_STREAM, S("a"), "", 0, &out) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_new(RR_KIND_HTTP, S("a"), NULL, 0, &out) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("empty"));

    /* Setters: NULL route. */
    CHECK(rr_route_set_key(NULL, S("k")) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL"));
    CHECK(rr_route_set_display_name(NULL, S("d")) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_provider(NULL, S("p")) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_priority(NULL, 1) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_docker(NULL, true) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_proxmox(NULL, S("pve"), 1) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_user_data(NULL, 1) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_finalizer(NULL, finalizer) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_health(NULL, RR_HEALTH_STATUS_HEALTHY, 1, 1, S("x")) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL"));

    /* Setters: bad values on a fresh route (nothing changes). */
    CHECK(rr_route_set_key(r, NULL, 3) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL pointer with length 3"));
    CHECK(rr_route_set_key(r, S("k\xff")) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("k\\xff"));
    CHECK(rr_route_set_key(r, long_alias, 256) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("256"));
    CHECK(rr_route_set_display_name(r, S("\x80name")) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("UTF-8"));
    CHECK(rr_route_set_display_name(r, NULL, 1) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_display_name(r, long_alias, 256) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_provider(r, S("prov\xed\xa0\x80")) == RR_INVALID_ARGUMENT); /* a surrogate */
    CHECK(last_error_has("UTF-8"));
    CHECK(rr_route_set_provider(r, NULL, 2) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_proxmox(r, "", 0, 100) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("empty"));
    CHECK(rr_route_set_proxmox(r, S("pve1"), -1) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("-1"));
    CHECK(rr_route_set_proxmox(r, S("pve\xff"), 1) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_set_proxmox(r, NULL, 4, 1) == RR_INVALID_ARGUMENT);
    for (i = 0; i < sizeof bad_status / sizeof bad_status[0]; i++) {
        CHECK(rr_route_set_health(r, bad_status[i], 1, 1, S("x")) == RR_INVALID_ARGUMENT);
        snprintf(buf, sizeof buf, "%u", bad_status[i]);
        CHECK(last_error_has(buf));
    }
    CHECK(rr_route_set_health(r, RR_HEALTH_STATUS_HEALTHY, 1, 1, NULL, 3) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_health_status(r) == RR_HEALTH_STATUS_UNKNOWN);
    CHECK(str_eq(rr_route_key(r), "good"));
    CHECK(str_eq(rr_route_display_name(r), "good"));
    CHECK(str_eq(rr_route_provider(r), ""));
    CHECK(rr_route_proxmox(r, NULL, NULL, NULL) == RR_NOT_FOUND);

    /* Accessors on NULL: empty strings, zeros, never a crash. */
    CHECK(rr_route_kind(NULL) == UINT32_MAX);
    CHECK(str_eq(rr_route_alias(NULL), ""));
    CHECK(str_eq(rr_route_key(NULL), ""));
    CHECK(str_eq(rr_route_display_name(NULL), ""));
    CHECK(str_eq(rr_route_provider(NULL), ""));
    CHECK(str_eq(rr_route_upstream_scheme(NULL), ""));
    CHECK(str_eq(rr_route_upstream_host(NULL), ""));
    CHECK(str_eq(rr_route_upstream_port(NULL), ""));
    CHECK(str_eq(rr_route_upstream_host_port(NULL), ""));
    CHECK(str_eq(rr_route_upstream_addr(NULL), ""));
    CHECK(str_eq(rr_route_upstream_url(NULL), ""));
    CHECK(rr_route_priority(NULL) == 0);
    CHECK(rr_route_user_data(NULL) == 0);
    CHECK(!rr_route_is_docker(NULL));
    CHECK(!rr_route_is_frozen(NULL));
    CHECK(rr_route_proxmox(NULL, &sn, &vmid, &sv) == RR_INVALID_ARGUMENT);
    CHECK(rr_route_health_status(NULL) == RR_HEALTH_STATUS_UNKNOWN);
    CHECK(rr_route_health(NULL, &hs, &up, &lat) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL"));
    CHECK(rr_route_retain(NULL) == NULL);
    rr_route_release(NULL);
    rr_string_free(NULL);

    /* Registry functions: NULL registry, NULL route, bad keys and kinds. */
    CHECK(rr_add(NULL, r) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL"));
    CHECK(rr_add(reg, NULL) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL"));
    CHECK(!rr_route_is_frozen(r));
    actual = r;
    CHECK(rr_add_if_not_exists(NULL, r, &actual) == RR_INVALID_ARGUMENT);
    CHECK(actual == NULL);
    actual = r;
    CHECK(rr_add_if_not_exists(reg, NULL, &actual) == RR_INVALID_ARGUMENT);
    CHECK(actual == NULL);
    CHECK(rr_del(NULL, r) == RR_INVALID_ARGUMENT);
    CHECK(rr_del(reg, NULL) == RR_INVALID_ARGUMENT);
    CHECK(rr_del_key(NULL, RR_KIND_HTTP, S("good")) == RR_INVALID_ARGUMENT);
    CHECK(rr_del_key(reg, RR_KIND_HTTP, NULL, 4) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL pointer with length 4"));
    CHECK(rr_del_key(reg, RR_KIND_HTTP, S("\xff")) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("UTF-8"));
    for (i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
        snprintf(buf, sizeof buf, "%u", bad_kinds[i]);
        CHECK(rr_del_key(reg, bad_kinds[i], S("good")) == RR_INVALID_ARGUMENT);
        CHECK(last_error_has(buf));
        CHECK(rr_pool_get(reg, bad_kinds[i], S("good")) == NULL);
        CHECK(last_error_has(buf));
        CHECK(rr_pool_size(reg, bad_kinds[i]) == 0);
        CHECK(rr_pool_iter(reg, bad_kinds[i], never_visitor, NULL) == 0);
        CHECK(rr_pool_iter_sorted(reg, bad_kinds[i], never_visitor, NULL) == 0);
        rr_pool_clear(reg, bad_kinds[i]);
        CHECK(last_error_has(buf));
    }
    rr_clear(NULL);
    rr_pool_clear(NULL, RR_KIND_HTTP);
    CHECK(rr_purge_tombstones(NULL) == 0);
    CHECK(rr_pool_size(NULL, RR_KIND_HTTP) == 0);
    CHECK(rr_num_active_routes(NULL) == 0);
    CHECK(rr_num_all_routes(NULL) == 0);
    CHECK(rr_get(NULL, S("good")) == NULL);
    CHECK(rr_get(reg, NULL, 5) == NULL);
    CHECK(last_error_has("NULL pointer with length 5"));
    CHECK(rr_get(reg, S("g\xc3\x28")) == NULL);
    CHECK(last_error_has("UTF-8"));
    CHECK(rr_get(reg, NULL, 0) == NULL);
    CHECK(rr_get_include_excluded(NULL, S("good")) == NULL);
    CHECK(rr_get_include_excluded(reg, NULL, 2) == NULL);
    CHECK(rr_get_include_excluded(reg, S("\xfe")) == NULL);
    CHECK(last_error_has("UTF-8"));
    CHECK(rr_pool_get(NULL, RR_KIND_HTTP, S("good")) == NULL);
    CHECK(rr_pool_get(reg, RR_KIND_HTTP, NULL, 1) == NULL);
    CHECK(rr_get_http_route_or_exact(NULL, S("a"), S("b")) == NULL);
    CHECK(rr_get_http_route_or_exact(reg, NULL, 3, S("b")) == NULL);
    CHECK(last_error_has("NULL"));
    CHECK(rr_get_http_route_or_exact(reg, S("a"), S("b\xff")) == NULL);
    CHECK(last_error_has("UTF-8"));
    CHECK(rr_iter_active(NULL, never_visitor, NULL) == 0);
    CHECK(rr_iter_all(NULL, never_visitor, NULL) == 0);
    CHECK(rr_pool_iter(NULL, RR_KIND_HTTP, never_visitor, NULL) == 0);
    CHECK(rr_pool_iter_sorted(NULL, RR_KIND_HTTP, never_visitor, NULL) == 0);
    CHECK_OK(rr_add(reg, r));
    CHECK(rr_iter_active(reg, NULL, NULL) == 0);
    CHECK(rr_iter_all(reg, NULL, NULL) == 0);
    CHECK(rr_pool_iter(reg, RR_KIND_HTTP, NULL, NULL) == 0);
    CHECK(rr_pool_iter_sorted(reg, RR_KIND_HTTP, NULL, NULL) == 0);
    CHECK(rr_health_json(NULL, RR_HEALTH_FULL) == NULL);
    for (i = 0; i < sizeof bad_formats / sizeof bad_formats[0]; i++) {
        CHECK(rr_health_json(reg, bad_formats[i]) == NULL);
        snprintf(buf, sizeof buf, "%u", bad_formats[i]);
        CHECK(last_error_has(buf));
    }
    CHECK(rr_by_provider_json(NULL) == NULL);
    CHECK(rr_proxmox_load_json(NULL, S("{}")) == RR_INVALID_ARGUMENT);
    CHECK(rr_proxmox_load_json(reg, NULL, 7) == RR_INVALID_ARGUMENT);
    CHECK(last_error_has("NULL pointer with length 7"));
    CHECK(rr_generation(NULL) == 0);
    CHECK(rr_generation_ptr(NULL) == NULL);

    /* Contexts: NULL everywhere is an empty context. */
    rr_ctx_free(NULL);
    CHECK(rr_try_get_route(NULL) == NULL);
    CHECK(str_eq(rr_try_get_upstream_name(NULL), ""));
    CHECK(str_eq(rr_try_get_upstream_scheme(NULL), ""));
    CHECK(str_eq(rr_try_get_upstream_host(NULL), ""));
    CHECK(str_eq(rr_try_get_upstream_port(NULL), ""));
    CHECK(str_eq(rr_try_get_upstream_host_port(NULL), ""));
    CHECK(str_eq(rr_try_get_upstream_addr(NULL), ""));
    CHECK(str_eq(rr_try_get_upstream_url(NULL), ""));
    ctx = rr_with_route_context(NULL, NULL);
    CHECK(ctx != NULL);
    CHECK(rr_try_get_route(ctx) == NULL);
    CHECK(str_eq(rr_try_get_upstream_name(ctx), ""));
    CHECK(str_eq(rr_try_get_upstream_url(ctx), ""));
    rr_ctx_free(ctx);

    rr_route_release(r);
    rr_registry_free(reg);
}

/* ---- routes ------------------------------------------------------------------------- */

static void t_route_fields(void) {
    rr_route *r = mk_route(RR_KIND_STREAM, "db", "tcp://10.0.0.9:5432");
    rr_route *r2;
    size_t live = rr_live_routes();
    rr_health_status hs = 99;
    uint64_t up = 99, lat = 99;
    char detail[8] = "abc";

    CHECK(rr_route_kind(r) == RR_KIND_STREAM);
    CHECK(str_eq(rr_route_alias(r), "db"));
    CHECK(str_eq(rr_route_key(r), "db"));
    CHECK(str_eq(rr_route_display_name(r), "db"));
    CHECK(str_eq(rr_route_provider(r), ""));
    CHECK(rr_route_priority(r) == 0);
    CHECK(rr_route_user_data(r) == 0);
    CHECK(!rr_route_is_docker(r));
    CHECK(!rr_route_is_frozen(r));
    CHECK(rr_route_health_status(r) == RR_HEALTH_STATUS_UNKNOWN);
    CHECK_OK(rr_route_health(r, &hs, &up, &lat));
    CHECK(hs == RR_HEALTH_STATUS_UNKNOWN && up == 0 && lat == 0);
    CHECK_OK(rr_route_health(r, NULL, NULL, NULL));

    CHECK_OK(rr_route_set_key(r, S("file:db")));
    CHECK_OK(rr_route_set_display_name(r, S("Database \xc3\xa9")));
    CHECK_OK(rr_route_set_provider(r, S("file")));
    CHECK_OK(rr_route_set_priority(r, -7));
    CHECK_OK(rr_route_set_docker(r, true));
    CHECK_OK(rr_route_set_user_data(r, UINT64_MAX));
    CHECK(str_eq(rr_route_key(r), "file:db"));
    CHECK(str_eq(rr_route_display_name(r), "Database \xc3\xa9"));
    CHECK(str_eq(rr_route_provider(r), "file"));
    CHECK(rr_route_priority(r) == -7);
    CHECK(rr_route_is_docker(r));
    CHECK(rr_route_user_data(r) == UINT64_MAX);
    /* "" resets key and display name to the alias. */
    CHECK_OK(rr_route_set_key(r, "", 0));
    CHECK_OK(rr_route_set_display_name(r, NULL, 0));
    CHECK(str_eq(rr_route_key(r), "db"));
    CHECK(str_eq(rr_route_display_name(r), "db"));
    CHECK_OK(rr_route_set_provider(r, "", 0));
    CHECK(str_eq(rr_route_provider(r), ""));

    /* Health: any values, detail copied. */
    CHECK_OK(rr_route_set_health(r, RR_HEALTH_STATUS_NAPPING, 123, 456, detail, 3));
    detail[0] = 'X';
    CHECK(rr_route_health_status(r) == RR_HEALTH_STATUS_NAPPING);
    CHECK_OK(rr_route_health(r, &hs, &up, &lat));
    CHECK(hs == RR_HEALTH_STATUS_NAPPING && up == 123 && lat == 456);
    {
        char buf[8] = {0};
        CHECK(rr_route_health_detail(r, NULL, 0) == 3);
        CHECK(rr_route_health_detail(r, buf, 2) == 3);
        CHECK(buf[1] != 0 && buf[2] == 0);
        CHECK(rr_route_health_detail(r, buf, sizeof buf) == 3);
        CHECK(buf[0] != 'X');
        CHECK(rr_route_health_detail(NULL, buf, sizeof buf) == 0);
    }
    CHECK_OK(rr_route_set_health(r, RR_HEALTH_STATUS_ERROR, 0, 0, NULL, 0));
    CHECK(rr_route_health_status(r) == RR_HEALTH_STATUS_ERROR);

    /* Reference counting. */
    r2 = rr_route_retain(r);
    CHECK(r2 == r);
    rr_route_release(r2);
    CHECK(rr_live_routes() == live);
    CHECK(str_eq(rr_route_alias(r), "db"));
    rr_route_release(r);
    CHECK(rr_live_routes() == live - 1);

    /* EXCLUDED routes may have no URL: every upstream accessor is empty. */
    r = mk_route(RR_KIND_EXCLUDED, "ex", "");
    CHECK(rr_route_kind(r) == RR_KIND_EXCLUDED);
    CHECK(str_eq(rr_route_upstream_url(r), ""));
    CHECK(str_eq(rr_route_upstream_host(r), ""));
    CHECK(str_eq(rr_route_upstream_scheme(r), ""));
    rr_route_release(r);
}

static void t_finalizer(void) {
    rr_registry *reg = rr_registry_new();
    rr_route *r = mk_route(RR_KIND_HTTP, "fin", "http://10.0.0.1:80");
    rr_ctx *ctx;

    /* Never added: destroyed on the last release. */
    CHECK_OK(rr_route_set_user_data(r, 3));
    CHECK_OK(rr_route_set_finalizer(r, finalizer));
    CHECK(fin_count(3) == 0);
    rr_route_release(r);
    CHECK(fin_count(3) == 1);

    /* Removed again with NULL: not called. */
    r = mk_route(RR_KIND_HTTP, "fin", "http://10.0.0.1:80");
    CHECK_OK(rr_route_set_user_data(r, 5));
    CHECK_OK(rr_route_set_finalizer(r, finalizer));
    CHECK_OK(rr_route_set_finalizer(r, NULL));
    rr_route_release(r);
    CHECK(fin_count(5) == 0);

    /* Added, held by a context, deleted, registry freed: called exactly once, at the end. */
    r = mk_route(RR_KIND_HTTP, "fin", "http://10.0.0.1:80");
    CHECK_OK(rr_route_set_user_data(r, 4));
    CHECK_OK(rr_route_set_finalizer(r, finalizer));
    CHECK_OK(rr_add(reg, r));
    CHECK(rr_route_set_finalizer(r, NULL) == RR_FROZEN);
    ctx = rr_with_route_context(NULL, r);
    rr_route_release(r);
    CHECK(fin_count(4) == 0);
    CHECK_OK(rr_del_key(reg, RR_KIND_HTTP, S("fin")));
    rr_registry_free(reg);
    CHECK(fin_count(4) == 0);
    CHECK(str_eq(rr_try_get_upstream_name(ctx), "fin"));
    rr_ctx_free(ctx);
    CHECK(fin_count(4) == 1);
    CHECK(fin_count(3) == 1);
}

/* ---- registry semantics ------------------------------------------------------------- */

static void t_add_get_del(void) {
    rr_registry *reg = rr_registry_new();
    rr_route *a = mk_route(RR_KIND_HTTP, "app", "http://10.0.0.5:8080");
    rr_route *b, *c, *d, *e, *got, *actual, *s, *x, *hd, *sd;
    uint64_t g;

    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 0);
    g = rr_generation(reg);
    CHECK(gen_atomic(reg) == g);
    CHECK(((uintptr_t)rr_generation_ptr(reg) % 8) == 0);
    CHECK(rr_generation_ptr(reg) == rr_generation_ptr(reg));

    CHECK_OK(rr_route_set_priority(a, 5));
    CHECK_OK(rr_add(reg, a));
    CHECK(rr_route_is_frozen(a));
    CHECK(rr_generation(reg) != g);
    CHECK(gen_atomic(reg) == rr_generation(reg));

    /* Identity is frozen once added; health is not. */
    CHECK(rr_route_set_key(a, S("k")) == RR_FROZEN);
    CHECK(last_error_has("app"));
    CHECK(rr_route_set_display_name(a, S("d")) == RR_FROZEN);
    CHECK(rr_route_set_provider(a, S("p")) == RR_FROZEN);
    CHECK(rr_route_set_priority(a, 9) == RR_FROZEN);
    CHECK(rr_route_set_docker(a, true) == RR_FROZEN);
    CHECK(rr_route_set_proxmox(a, S("pve1"), 100) == RR_FROZEN);
    CHECK(rr_route_set_user_data(a, 1) == RR_FROZEN);
    CHECK(rr_route_set_finalizer(a, finalizer) == RR_FROZEN);
    CHECK(str_eq(rr_route_key(a), "app") && rr_route_priority(a) == 5 && rr_route_user_data(a) == 0);
    CHECK_OK(rr_route_set_health(a, RR_HEALTH_STATUS_HEALTHY, 1, 2, S("up")));

    /* Lower priority: kept out, not frozen, generation unchanged. */
    b = mk_route(RR_KIND_HTTP, "app", "http://10.0.0.6:8080");
    CHECK_OK(rr_route_set_priority(b, 1));
    g = rr_generation(reg);
    CHECK(rr_add(reg, b) == RR_KEPT);
    CHECK(last_error_has("app"));
    CHECK(!rr_route_is_frozen(b));
    CHECK(rr_generation(reg) == g);
    got = rr_get(reg, S("app"));
    CHECK(got == a);
    rr_route_release(got);
    CHECK_OK(rr_route_set_priority(b, 2)); /* still settable */

    /* Equal priority replaces. */
    c = mk_route(RR_KIND_HTTP, "app", "http://10.0.0.7:8080");
    CHECK_OK(rr_route_set_priority(c, 5));
    CHECK_OK(rr_add(reg, c));
    got = rr_get(reg, S("app"));
    CHECK(got == c);
    CHECK(str_eq(rr_route_upstream_host(got), "10.0.0.7"));
    rr_route_release(got);
    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 1);
    CHECK(rr_route_health_status(a) == RR_HEALTH_STATUS_HEALTHY); /* a is still readable */

    /* add_if_not_exists returns the route that stays. */
    d = mk_route(RR_KIND_HTTP, "app", "http://10.0.0.8:8080");
    CHECK_OK(rr_route_set_priority(d, 100));
    g = rr_generation(reg);
    CHECK(rr_add_if_not_exists(reg, d, &actual) == RR_KEPT);
    CHECK(actual == c);
    CHECK(!rr_route_is_frozen(d));
    CHECK(rr_generation(reg) == g);
    rr_route_release(actual);
    CHECK(rr_add_if_not_exists(reg, d, NULL) == RR_KEPT);
    e = mk_route(RR_KIND_HTTP, "other", "http://10.0.0.9:80");
    CHECK_OK(rr_add_if_not_exists(reg, e, &actual));
    CHECK(actual == e);
    CHECK(rr_route_is_frozen(e));
    CHECK(rr_generation(reg) != g);
    rr_route_release(actual);

    /* Lookups across pools. */
    s = mk_route(RR_KIND_STREAM, "s1", "tcp://10.0.0.9:5432");
    x = mk_route(RR_KIND_EXCLUDED, "ex1", "");
    hd = mk_route(RR_KIND_HTTP, "dup", "http://10.0.0.10:80");
    sd = mk_route(RR_KIND_STREAM, "dup", "udp://10.0.0.10:53");
    CHECK_OK(rr_add(reg, s));
    CHECK_OK(rr_add(reg, x));
    CHECK_OK(rr_add(reg, sd));
    got = rr_get(reg, S("dup"));
    CHECK(got == sd);
    rr_route_release(got);
    CHECK_OK(rr_add(reg, hd));
    got = rr_get(reg, S("dup"));
    CHECK(got == hd); /* HTTP first */
    rr_route_release(got);
    got = rr_pool_get(reg, RR_KIND_STREAM, S("dup"));
    CHECK(got == sd);
    rr_route_release(got);
    got = rr_get(reg, S("s1"));
    CHECK(got == s);
    rr_route_release(got);
    CHECK(rr_get(reg, S("ex1")) == NULL);
    got = rr_get_include_excluded(reg, S("ex1"));
    CHECK(got == x);
    rr_route_release(got);
    got = rr_get_include_excluded(reg, S("app"));
    CHECK(got == c);
    rr_route_release(got);
    got = rr_pool_get(reg, RR_KIND_EXCLUDED, S("ex1"));
    CHECK(got == x);
    rr_route_release(got);
    CHECK(rr_pool_get(reg, RR_KIND_HTTP, S("ex1")) == NULL);
    CHECK(rr_get(reg, S("missing")) == NULL);
    CHECK(rr_get_include_excluded(reg, S("missing")) == NULL);
    got = rr_get_http_route_or_exact(reg, S("app"), S("other"));
    CHECK(got == c);
    rr_route_release(got);
    got = rr_get_http_route_or_exact(reg, S("nope"), S("other"));
    CHECK(got == e);
    rr_route_release(got);
    CHECK(rr_get_http_route_or_exact(reg, S("nope"), S("nope2")) == NULL);
    CHECK(rr_get_http_route_or_exact(reg, S("s1"), S("s1")) == NULL); /* HTTP only */
    CHECK(rr_get_http_route_or_exact(reg, S("ex1"), S("ex1")) == NULL);

    /* Sizes. */
    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 3);   /* app other dup */
    CHECK(rr_pool_size(reg, RR_KIND_STREAM) == 2); /* s1 dup */
    CHECK(rr_pool_size(reg, RR_KIND_EXCLUDED) == 1);
    CHECK(rr_num_active_routes(reg) == 5);
    CHECK(rr_num_all_routes(reg) == 6);

    /* Lookups, health and JSON leave the generation alone. */
    g = rr_generation(reg);
    got = rr_get(reg, S("app"));
    rr_route_release(got);
    CHECK_OK(rr_route_set_health(c, RR_HEALTH_STATUS_UNHEALTHY, 0, 0, S("down")));
    rr_string_free(rr_health_json(reg, RR_HEALTH_FULL));
    rr_string_free(rr_by_provider_json(reg));
    CHECK(rr_num_all_routes(reg) == 6);
    CHECK(rr_generation(reg) == g);
    CHECK(gen_atomic(reg) == g);

    /* Deleting: by route (its key in its pool, whatever route holds it) and by key. */
    CHECK_OK(rr_del(reg, a)); /* a's key "app" is held by c */
    CHECK(rr_generation(reg) != g);
    CHECK(rr_get(reg, S("app")) == NULL);
    CHECK(rr_del(reg, c) == RR_NOT_FOUND);
    CHECK(last_error_has("app"));
    CHECK(rr_del_key(reg, RR_KIND_HTTP, S("app")) == RR_NOT_FOUND);
    CHECK(last_error_has("app"));
    g = rr_generation(reg);
    CHECK(rr_del_key(reg, RR_KIND_STREAM, S("nothing")) == RR_NOT_FOUND);
    CHECK(rr_generation(reg) == g);
    CHECK_OK(rr_del_key(reg, RR_KIND_STREAM, S("dup")));
    got = rr_get(reg, S("dup"));
    CHECK(got == hd);
    rr_route_release(got);
    /* Tombstones are not counted. */
    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 2);
    CHECK(rr_pool_size(reg, RR_KIND_STREAM) == 1);
    CHECK(rr_num_active_routes(reg) == 3);
    CHECK(rr_num_all_routes(reg) == 4);
    /* A deleted route stays readable while referenced. */
    CHECK(str_eq(rr_route_alias(c), "app"));
    CHECK(str_eq(rr_route_upstream_url(c), "http://10.0.0.7:8080"));
    CHECK(rr_route_is_frozen(c));

    /* Pool clear and clear. */
    g = rr_generation(reg);
    rr_pool_clear(reg, RR_KIND_STREAM);
    CHECK(rr_generation(reg) != g);
    CHECK(rr_pool_size(reg, RR_KIND_STREAM) == 0);
    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 2);
    g = rr_generation(reg);
    rr_clear(reg);
    CHECK(rr_generation(reg) != g);
    CHECK(rr_num_all_routes(reg) == 0);
    CHECK(rr_get_include_excluded(reg, S("ex1")) == NULL);

    /* The registry is freed with routes in it; the caller's references stay valid. */
    CHECK_OK(rr_add(reg, b));
    rr_registry_free(reg);
    CHECK(str_eq(rr_route_upstream_host(b), "10.0.0.6"));
    rr_route_release(a);
    rr_route_release(b);
    rr_route_release(c);
    rr_route_release(d);
    rr_route_release(e);
    rr_route_release(s);
    rr_route_release(x);
    rr_route_release(hd);
    rr_route_release(sd);
}

/* Log lines, reload within 1 s, tombstone purge, a logger that calls back in. */
static void t_logging_and_reload(void) {
    rr_registry *reg = rr_registry_new();
    rr_route *r1 = mk_route(RR_KIND_HTTP, "rl", "http://10.0.0.1:80");
    rr_route *r2 = mk_route(RR_KIND_HTTP, "rl", "http://10.0.0.2:80");
    rr_route *r3 = mk_route(RR_KIND_HTTP, "rl", "http://10.0.0.3:80");
    rr_route *lo = mk_route(RR_KIND_HTTP, "rl", "http://10.0.0.4:80");
    rr_route *s1 = mk_route(RR_KIND_STREAM, "st", "tcp://10.0.0.1:22");
    rr_route *s2 = mk_route(RR_KIND_STREAM, "st", "tcp://10.0.0.2:22");
    rr_route *got;
    size_t before;

    CHECK_OK(rr_route_set_display_name(r1, S("RL one")));
    CHECK_OK(rr_route_set_display_name(r2, S("RL two")));
    CHECK_OK(rr_route_set_display_name(r3, S("RL three")));
    CHECK_OK(rr_route_set_priority(lo, -1));

    rr_set_logger(RR_LOG_DEBUG, capture_logger, &logcap);
    log_reset();
    CHECK_OK(rr_add(reg, r1));
    CHECK(log_has("http_routes: added RL one"));
    CHECK_OK(rr_del(reg, r1));
    CHECK(log_has("http_routes: removed RL one"));
    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 0);
    CHECK_OK(rr_add(reg, r2)); /* within 1 s of the delete: a reload */
    CHECK(log_has("http_routes: reloaded RL two"));
    CHECK_OK(rr_add(reg, r3));
    CHECK(log_has("http_routes: replaced RL three"));
    before = log_count();
    CHECK(rr_add(reg, lo) == RR_KEPT); /* kept out: no log line */
    CHECK(log_count() == before);
    got = rr_get(reg, S("rl"));
    CHECK(got == r3);
    rr_route_release(got);
    CHECK(rr_pool_size(reg, RR_KIND_HTTP) == 1);

    /* Tombstones younger than 1 s stay; older ones go on purge; an add after 1 s is "added". */
    CHECK_OK(rr_add(reg, s1));
    CHECK(log_has("stream_routes: added st"));
    CHECK_OK(rr_del(reg, s1));
    CHECK(rr_pool_tombstones(reg, RR_KIND_STREAM) == 1);
    CHECK(rr_pool_tombstones(reg, 7) == 0);
    CHECK(rr_pool_tombstones(NULL, RR_KIND_STREAM) == 0);
    CHECK(rr_purge_tombstones(reg) == 0);
    sleep_ms(1150);
    CHECK(rr_purge_tombstones(reg) == 1);
    CHECK(rr_pool_tombstones(reg, RR_KIND_STREAM) == 0);
    CHECK(rr_purge_tombstones(reg) == 0);
    log_reset();
    CHECK_OK(rr_add(reg, s2));
    CHECK(log_has("stream_routes: added st"));
    CHECK_OK(rr_del(reg, s2));
    sleep_ms(1150);
    log_reset();
    CHECK_OK(rr_add(reg, s1)); /* an expired tombstone, not purged: still "added" */
    CHECK(log_has("stream_routes: added st"));

    /* clear is logged; a logger that calls back into the library does not deadlock. */
    logcap.reenter = reg;
    logcap.reentered = 0;
    rr_clear(reg);
    CHECK(log_has("http_routes: cleared 1 routes"));
    CHECK(log_has("stream_routes: cleared 1 routes"));
    CHECK(logcap.reentered >= 3);
    CHECK_OK(rr_add(reg, lo)); /* kept out before, added now */
    CHECK(logcap.reentered >= 4);
    logcap.reenter = NULL;

    /* Level filter: INFO hides DEBUG lines; OFF and NULL are silent. */
    rr_set_logger(RR_LOG_INFO, capture_logger, &logcap);
    log_reset();
    CHECK_OK(rr_del(reg, lo));
    CHECK(log_count() == 0);
    rr_set_logger(RR_LOG_OFF, capture_logger, &logcap);
    CHECK_OK(rr_add(reg, lo));
    CHECK(log_count() == 0);
    rr_set_logger(RR_LOG_TRACE, NULL, NULL);
    CHECK_OK(rr_del(reg, lo));
    CHECK(log_count() == 0);
    rr_set_logger(99, capture_logger, &logcap); /* above 5: TRACE */
    CHECK_OK(rr_add(reg, lo)); /* deleted just now: a reload */
    CHECK(log_has("http_routes: reloaded rl"));
    rr_set_logger(RR_LOG_OFF, NULL, NULL);

    rr_registry_free(reg);
    rr_route_release(r1);
    rr_route_release(r2);
    rr_route_release(r3);
    rr_route_release(lo);
    rr_route_release(s1);
    rr_route_release(s2);
}

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

/* ---- Proxmox ------------------------------------------------------------------------ */

static void check_link(rr_registry *reg, const char *alias, const char *url, bool docker,
                       const char *node, int32_t vmid, const char *vmname) {
    rr_route *r = mk_route(RR_KIND_HTTP, alias, url);
    rr_str n = {NULL, 0}, vn = {NULL, 0};
    int32_t id = -5;
    CHECK_OK(rr_route_set_docker(r, docker));
    CHECK_OK(rr_add(reg, r));
    if (!node) {
        if (rr_route_proxmox(r, &n, &id, &vn) != RR_NOT_FOUND)
            fprintf(stderr, "  %s (%s) linked to %s/%d unexpectedly\n", alias, url, n.ptr, id);
        CHECK(rr_route_proxmox(r, &n, &id, &vn) == RR_NOT_FOUND);
    } else {
        if (rr_route_proxmox(r, &n, &id, &vn) != RR_OK)
            fprintf(stderr, "  %s (%s) not linked\n", alias, url);
        CHECK_OK(rr_route_proxmox(r, &n, &id, &vn));
        CHECK(str_eq(n, node));
        CHECK(id == vmid);
        CHECK(str_eq(vn, vmname));
        CHECK_OK(rr_route_proxmox(r, NULL, NULL, NULL));
    }
    rr_route_release(r);
}

static void t_proxmox(void) {
    static const char inv[] =
        "{\"nodes\":[{\"name\":\"pve1\",\"ip\":\"10.0.0.2\"},{\"name\":\"pve2\"},"
        "{\"name\":\"lo\",\"ip\":\"127.0.0.1\"},{\"name\":\"any\",\"ip\":\"0.0.0.0\"}],"
        "\"resources\":[{\"node\":\"pve1\",\"vmid\":100,\"name\":\"web\",\"ips\":[\"10.0.0.50\",\"fd00::50\"]},"
        "{\"node\":\"pve2\",\"vmid\":101,\"name\":\"db\",\"ips\":[\"10.0.0.60\"],\"extra\":true}],"
        "\"unknown\":1}";
    static const char *const bad[] = {
        "{not json",
        "[]",
        "{\"nodes\":[{\"ip\":\"10.0.0.3\"}]}",
        "{\"nodes\":[{\"name\":\"\"}]}",
        "{\"nodes\":[{\"name\":\"n\",\"ip\":\"not-an-ip\"}]}",
        "{\"resources\":[{\"node\":\"pve1\",\"vmid\":\"100\",\"name\":\"web\"}]}",
        "{\"resources\":[{\"node\":\"pve1\",\"vmid\":1.5,\"name\":\"web\"}]}",
        "{\"resources\":[{\"node\":\"pve1\",\"name\":\"web\"}]}",
        "{\"nodes\":{}}",
    };
    static const char *const bad_names[] = {
        "JSON", "object", "name", "name", "not-an-ip", "vmid", "vmid", "vmid", "nodes",
    };
    rr_registry *reg = rr_registry_new();
    rr_route *r;
    rr_str n, vn;
    int32_t id;
    uint64_t g;
    size_t i;

    g = rr_generation(reg);
    CHECK_OK(rr_proxmox_load_json(reg, inv, sizeof inv - 1));
    CHECK(rr_generation(reg) != g);

    check_link(reg, "a1", "http://10.0.0.2:8006", false, "pve1", 0, "");     /* node by IP */
    check_link(reg, "a2", "https://pve2.lan:8006", false, "pve2", 0, "");    /* node by label */
    check_link(reg, "pve2", "http://192.0.2.1:80", false, "pve2", 0, "");    /* node by alias */
    check_link(reg, "a3", "http://10.0.0.50:80", false, "pve1", 100, "web"); /* resource by IP */
    check_link(reg, "a4", "http://[fd00::50]:80", false, "pve1", 100, "web");
    check_link(reg, "a5", "tcp://db.internal:5432", false, "pve2", 101, "db"); /* by label */
    check_link(reg, "web", "http://192.0.2.2:80", false, "pve1", 100, "web");  /* by alias */
    check_link(reg, "a6", "http://10.0.0.50:80", true, NULL, 0, NULL);        /* docker: never */
    check_link(reg, "a7", "http://127.0.0.1:80", false, NULL, 0, NULL);       /* loopback */
    check_link(reg, "a8", "http://0.0.0.0:80", false, NULL, 0, NULL);         /* unspecified */
    check_link(reg, "a9", "http://PVE2.lan:80", false, NULL, 0, NULL);        /* case-sensitive */
    check_link(reg, "a10", "http://192.0.2.9:80", false, NULL, 0, NULL);

    /* Explicit links: vmname from the inventory. */
    r = mk_route(RR_KIND_HTTP, "e1", "http://192.0.2.3:80");
    CHECK_OK(rr_route_set_proxmox(r, S("pve2"), 101));
    CHECK_OK(rr_route_proxmox(r, &n, &id, &vn));
    CHECK(str_eq(n, "pve2") && id == 101);
    CHECK_OK(rr_add(reg, r));
    CHECK_OK(rr_route_proxmox(r, &n, &id, &vn));
    CHECK(str_eq(n, "pve2") && id == 101 && str_eq(vn, "db"));
    rr_route_release(r);
    r = mk_route(RR_KIND_HTTP, "e2", "http://10.0.0.50:80"); /* explicit beats matching */
    CHECK_OK(rr_route_set_proxmox(r, S("pve1"), 0));
    CHECK_OK(rr_add(reg, r));
    CHECK_OK(rr_route_proxmox(r, &n, &id, &vn));
    CHECK(str_eq(n, "pve1") && id == 0 && str_eq(vn, ""));
    rr_route_release(r);

    /* Bad inventories: RR_INVALID_ARGUMENT naming the problem; the old one stays. */
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g = rr_generation(reg);
        CHECK(rr_proxmox_load_json(reg, bad[i], strlen(bad[i])) == RR_INVALID_ARGUMENT);
        CHECK(last_error_has(bad_names[i]));
        CHECK(rr_generation(reg) == g);
    }
    CHECK(rr_proxmox_load_json(reg, S("{\"nodes\":[{\"name\":\"\xff\"}]}")) == RR_INVALID_ARGUMENT);
    check_link(reg, "b1", "http://10.0.0.60:80", false, "pve2", 101, "db");

    /* An empty inventory: nothing links. */
    CHECK_OK(rr_proxmox_load_json(reg, S("{}")));
    check_link(reg, "b2", "http://10.0.0.60:80", false, NULL, 0, NULL);
    rr_registry_free(reg);
}

/* ---- the global registry ------------------------------------------------------------ */

static void t_global(void) {
    rr_registry *g = rr_registry_global();
    rr_route *r = mk_route(RR_KIND_HTTP, "global-route", "http://10.0.0.1:80");
    rr_route *got;
    const uint64_t *gp;
    uint64_t v;

    CHECK(g != NULL);
    CHECK(rr_registry_global() == g);
    gp = rr_generation_ptr(g);
    CHECK(gp != NULL && ((uintptr_t)gp % 8) == 0);
    v = __atomic_load_n(gp, __ATOMIC_ACQUIRE);
    CHECK_OK(rr_add(g, r));
    CHECK(__atomic_load_n(gp, __ATOMIC_ACQUIRE) != v);
    rr_registry_free(g); /* a no-op on the global registry */
    CHECK(rr_registry_global() == g);
    CHECK(rr_generation_ptr(g) == gp);
    got = rr_get(g, S("global-route"));
    CHECK(got == r);
    rr_route_release(got);
    CHECK(rr_num_all_routes(g) >= 1);
    rr_clear(g);
    CHECK(rr_num_all_routes(g) == 0);
    rr_route_release(r);
}

void test_abi(void) {
    t_version();
    t_last_error_per_thread();
    t_null_and_bad_input();
    t_route_fields();
    t_finalizer();
    t_add_get_del();
    t_logging_and_reload();
    t_iteration();
    t_context();
    t_health_and_providers();
    t_proxmox();
    t_global();
}
