/*
 * Change log, snapshots, subscriptions and batches through the C ABI (one change set, one
 * generation; RR_STALE after the log wrapped; bad input leaves a batch usable).
 */
#include <pthread.h>

#include "rr_test.h"

typedef struct {
    uint64_t gen[16];
    uint32_t op[16];
    char key[16][16];
    int route_null[16];
    int n;
    int limit;
} seen_t;

static bool collect(const rr_change *c, void *ud) {
    seen_t *s = (seen_t *)ud;
    CHECK(s->n < 16);
    CHECK(str_ok(c->key));
    CHECK(c->key.len < sizeof s->key[0]);
    s->gen[s->n] = c->generation;
    s->op[s->n] = c->op;
    memcpy(s->key[s->n], c->key.ptr, c->key.len + 1);
    s->route_null[s->n] = c->route == NULL;
    if (c->route) CHECK(str_eqn(rr_route_key(c->route), c->key.ptr, c->key.len));
    s->n++;
    return s->n < s->limit;
}

static bool count_route(const rr_route *r, void *ud) {
    (void)r;
    (*(size_t *)ud)++;
    return true;
}

static void test_records_and_stale(void) {
    rr_registry *reg = rr_registry_new();
    rr_route *a = mk_route(RR_KIND_HTTP, "a", "http://10.0.0.1:80");
    rr_route *b = mk_route(RR_KIND_STREAM, "b", "tcp://10.0.0.1:53");
    seen_t s;
    uint64_t next = 99, gen = 0;
    size_t n = 0;

    CHECK_OK(rr_add(reg, a));
    rr_batch *batch = rr_batch_new();
    CHECK(batch != NULL);
    CHECK_OK(rr_batch_add(batch, b));
    CHECK_OK(rr_batch_del_key(batch, RR_KIND_HTTP, S("a")));
    CHECK_OK(rr_batch_commit(reg, batch, &gen));
    CHECK(gen == 2 && rr_generation(reg) == 2);
    CHECK(rr_batch_commit(reg, batch, NULL) == RR_INVALID_ARGUMENT);
    rr_batch_free(batch);

    memset(&s, 0, sizeof s);
    s.limit = 100;
    CHECK_OK(rr_changes_since(reg, 0, collect, &s, &next));
    CHECK(s.n == 3 && next == 2);
    CHECK(s.gen[0] == 1 && s.op[0] == RR_CHANGE_ADDED && strcmp(s.key[0], "a") == 0);
    CHECK(s.gen[1] == 2 && s.op[1] == RR_CHANGE_ADDED && strcmp(s.key[1], "b") == 0);
    CHECK(s.gen[2] == 2 && s.op[2] == RR_CHANGE_REMOVED && strcmp(s.key[2], "a") == 0);

    /* A visitor stopping inside set 2 gets it again. */
    memset(&s, 0, sizeof s);
    s.limit = 2;
    CHECK_OK(rr_changes_since(reg, 0, collect, &s, &next));
    CHECK(s.n == 2 && next == 1);

    rr_clear(reg);
    memset(&s, 0, sizeof s);
    s.limit = 100;
    CHECK_OK(rr_changes_since(reg, 2, collect, &s, NULL));
    CHECK(s.n == 1 && s.op[0] == RR_CHANGE_CLEARED && s.route_null[0] && s.key[0][0] == '\0');

    /* The log wraps: RR_STALE, then a snapshot to resync from. */
    CHECK(rr_set_change_log_capacity(reg, 0) == RR_INVALID_ARGUMENT);
    CHECK_OK(rr_set_change_log_capacity(reg, 1));
    CHECK_OK(rr_add(reg, a));
    next = 99;
    CHECK(rr_changes_since(reg, 0, collect, &s, &next) == RR_STALE);
    CHECK(next == 99);
    CHECK(last_error_has("snapshot"));
    CHECK(rr_snapshot(reg, 4, count_route, &n, &gen) == 1 && n == 1 && gen == 4);
    CHECK_OK(rr_changes_since(reg, gen, collect, &s, &next));
    CHECK(next == 4);
    CHECK(rr_changes_since(reg, 5, collect, &s, &next) == RR_INVALID_ARGUMENT);
    CHECK(rr_changes_since(NULL, 0, collect, &s, &next) == RR_INVALID_ARGUMENT);
    CHECK(rr_snapshot(reg, 5, count_route, &n, &gen) == 0 && gen == 0);

    rr_route_release(a);
    rr_route_release(b);
    rr_registry_free(reg);
}

static void test_batch_bad_input_and_replace_provider(void) {
    rr_registry *reg = rr_registry_new();
    rr_route *old1 = mk_route(RR_KIND_HTTP, "old1", "http://10.0.0.1:80");
    rr_route *old2 = mk_route(RR_KIND_STREAM, "old2", "tcp://10.0.0.1:53");
    rr_route *other = mk_route(RR_KIND_HTTP, "other", "http://10.0.0.1:80");
    rr_route *fresh = mk_route(RR_KIND_HTTP, "fresh", "http://10.0.0.1:80");
    rr_batch *b = rr_batch_new();
    uint64_t gen = 0;

    CHECK_OK(rr_route_set_provider(old1, S("file")));
    CHECK_OK(rr_route_set_provider(old2, S("file")));
    CHECK_OK(rr_route_set_provider(fresh, S("file")));
    CHECK_OK(rr_add(reg, old1));
    CHECK_OK(rr_add(reg, old2));
    CHECK_OK(rr_add(reg, other));

    /* Bad entries: refused, the batch stays as it was and usable. */
    CHECK(rr_batch_add(b, NULL) == RR_INVALID_ARGUMENT);
    CHECK(rr_batch_add(NULL, fresh) == RR_INVALID_ARGUMENT);
    CHECK(rr_batch_del_key(b, 7, S("k")) == RR_INVALID_ARGUMENT);
    CHECK(rr_batch_del_key(b, RR_KIND_HTTP, NULL, 3) == RR_INVALID_ARGUMENT);
    CHECK(rr_batch_del_key(b, RR_KIND_HTTP, "a\0b", 3) == RR_INVALID_ARGUMENT);
    CHECK(rr_batch_replace_provider(b, "\xff", 1) == RR_INVALID_ARGUMENT);
    CHECK(rr_batch_commit(NULL, b, &gen) == RR_INVALID_ARGUMENT);
    CHECK(rr_generation(reg) == 3);

    CHECK_OK(rr_batch_replace_provider(b, S("file")));
    CHECK_OK(rr_batch_add(b, fresh));
    CHECK_OK(rr_batch_commit(reg, b, &gen));
    CHECK(gen == 4);
    CHECK(rr_num_all_routes(reg) == 2);
    CHECK(rr_pool_size(reg, RR_KIND_STREAM) == 0);
    rr_route *got = rr_get(reg, S("other"));
    CHECK(got == other);
    rr_route_release(got);
    rr_batch_free(b);
    rr_batch_free(NULL);

    rr_route_release(old1);
    rr_route_release(old2);
    rr_route_release(other);
    rr_route_release(fresh);
    rr_registry_free(reg);
}

typedef struct {
    rr_registry *reg;
    uint64_t sum;
    uint64_t token;
    int nested;
} sub_t;

static void on_change(uint64_t generation, void *ud) {
    sub_t *s = (sub_t *)ud;
    uint64_t next = 0;
    s->sum += generation;
    /* Re-entrant: read the records, and commit once from inside the callback. */
    CHECK_OK(rr_changes_since(s->reg, generation - 1, NULL, NULL, &next));
    if (generation == 1 && !s->nested) {
        rr_route *r = mk_route(RR_KIND_HTTP, "nested", "http://10.0.0.1:80");
        s->nested = 1;
        CHECK_OK(rr_add(s->reg, r));
        rr_route_release(r);
    }
    if (generation == 3) CHECK_OK(rr_unsubscribe(s->reg, s->token)); /* itself */
}

static void test_subscribe(void) {
    sub_t s;
    rr_route *r = mk_route(RR_KIND_HTTP, "a", "http://10.0.0.1:80");
    memset(&s, 0, sizeof s);
    s.reg = rr_registry_new();
    CHECK(rr_subscribe(s.reg, NULL, NULL) == 0);
    CHECK(rr_subscribe(NULL, on_change, NULL) == 0);
    s.token = rr_subscribe(s.reg, on_change, &s);
    CHECK(s.token != 0);
    CHECK_OK(rr_add(s.reg, r));  /* 1, then the nested add: 2 */
    CHECK(s.sum == 1 + 2);
    CHECK_OK(rr_del(s.reg, r));  /* 3: unsubscribes itself */
    CHECK_OK(rr_add(s.reg, r));  /* 4: not called */
    CHECK(s.sum == 1 + 2 + 3);
    CHECK(rr_unsubscribe(s.reg, s.token) == RR_NOT_FOUND);
    CHECK(rr_unsubscribe(s.reg, 0) == RR_INVALID_ARGUMENT);
    rr_route_release(r);
    rr_registry_free(s.reg);
}

/* The global registry's change log holds references to the routes its records name (the
 * earlier tests added and removed routes there). Drop those records, so that main's final
 * check that no route is left alive holds: a log of 1 record, then a commit whose record
 * names no route. */
static void test_global_log_releases_routes(void) {
    rr_registry *g = rr_registry_global();
    size_t before = rr_live_routes();
    CHECK_OK(rr_set_change_log_capacity(g, 1));
    CHECK_OK(rr_proxmox_load_json(g, S("{}")));
    CHECK(rr_live_routes() <= before);
    CHECK_OK(rr_set_change_log_capacity(g, 4096));
}

void test_changes(void) {
    test_records_and_stale();
    test_batch_bad_input_and_replace_provider();
    test_subscribe();
    test_global_log_releases_routes();
}
