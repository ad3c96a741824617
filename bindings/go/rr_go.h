// rr_go.h: C helpers of the Go binding (static, so every cgo file that includes it gets its own
// copy). Each one batches several library calls into one cgo call.
#ifndef RR_GO_H
#define RR_GO_H
#include <stdlib.h>
#include <string.h>
#include "route_registry.h"

// Go functions exported from export.go (the prototypes cgo generates for them).
extern void rrGoFinalizer(uint64_t user_data);
extern void rrGoLog(rr_log_level level, char* msg, size_t len, void* user_data);
extern void rrGoChanged(uint64_t generation, void* user_data);

static inline void rr_go_set_logger(rr_log_level max_level, int on) {
	rr_set_logger(max_level, on ? (rr_log_fn)rrGoLog : NULL, NULL);
}

static inline rr_status rr_go_set_finalizer(rr_route *r) {
	return rr_route_set_finalizer(r, (rr_finalizer)rrGoFinalizer);
}

// A snapshot of routes taken in one cgo call: each item is a new reference, with its
// user_data beside it, so iterating costs two cgo calls however many routes there are.
typedef struct {
	rr_route **items;
	uint64_t *uds;
	size_t n, cap;
	int oom;
} rr_go_buf;

static inline bool rr_go_collect(const rr_route *r, void *ud) {
	rr_go_buf *b = (rr_go_buf *)ud;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		rr_route **items = (rr_route **)realloc(b->items, cap * sizeof *items);
		if (items == NULL) { b->oom = 1; return false; }
		b->items = items;
		uint64_t *uds = (uint64_t *)realloc(b->uds, cap * sizeof *uds);
		if (uds == NULL) { b->oom = 1; return false; }
		b->uds = uds;
		b->cap = cap;
	}
	b->items[b->n] = rr_route_retain((rr_route *)r);
	b->uds[b->n] = rr_route_user_data(r);
	b->n++;
	return true;
}

// What rr_go_snapshot collects.
enum { RR_GO_SNAP_POOL, RR_GO_SNAP_POOL_SORTED, RR_GO_SNAP_ACTIVE, RR_GO_SNAP_ALL,
       RR_GO_SNAP_BY_PROVIDER };

// Collects the routes of one iteration (`kind` is used by the two pool iterations only).
static inline void rr_go_snapshot(const rr_registry *reg, int which, rr_kind kind, rr_go_buf *b) {
	switch (which) {
	case RR_GO_SNAP_POOL: rr_pool_iter(reg, kind, rr_go_collect, b); break;
	case RR_GO_SNAP_POOL_SORTED: rr_pool_iter_sorted(reg, kind, rr_go_collect, b); break;
	case RR_GO_SNAP_ACTIVE: rr_iter_active(reg, rr_go_collect, b); break;
	case RR_GO_SNAP_ALL: rr_iter_all(reg, rr_go_collect, b); break;
	case RR_GO_SNAP_BY_PROVIDER: rr_iter_by_provider(reg, rr_go_collect, b); break;
	}
}

// Releases the items Go did not adopt (left non-NULL) and frees the arrays.
static inline void rr_go_buf_free(rr_go_buf *b) {
	for (size_t i = 0; i < b->n; i++) rr_route_release(b->items[i]);
	free(b->items);
	free(b->uds);
	b->items = NULL;
	b->uds = NULL;
	b->n = b->cap = 0;
}

// rr_snapshot of `which` (0..2 a pool, 3 active, 4 all) into b, with its generation.
static inline void rr_go_snapshot_gen(const rr_registry *reg, uint32_t which, rr_go_buf *b,
                                      uint64_t *gen) {
	rr_snapshot(reg, which, rr_go_collect, b, gen);
}

// Change records collected in one cgo call: each route is a new reference (or NULL), with its
// user_data beside it. A record's key is its route's key (empty when it names no route).
typedef struct {
	uint64_t gen;
	uint32_t op, kind;
	rr_route *route;
	uint64_t ud;
} rr_go_rec;

typedef struct {
	rr_go_rec *items;
	size_t n, cap;
	int oom;
} rr_go_recs;

static inline bool rr_go_collect_change(const rr_change *c, void *ud) {
	rr_go_recs *b = (rr_go_recs *)ud;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		rr_go_rec *items = (rr_go_rec *)realloc(b->items, cap * sizeof *items);
		if (items == NULL) { b->oom = 1; return false; }
		b->items = items;
		b->cap = cap;
	}
	rr_go_rec *r = &b->items[b->n++];
	r->gen = c->generation;
	r->op = c->op;
	r->kind = c->kind;
	r->route = c->route ? rr_route_retain((rr_route *)c->route) : NULL;
	r->ud = c->route ? rr_route_user_data(c->route) : 0;
	return true;
}

static inline rr_status rr_go_changes(const rr_registry *reg, uint64_t since, rr_go_recs *b,
                                      uint64_t *next) {
	return rr_changes_since(reg, since, rr_go_collect_change, b, next);
}

// Releases the routes Go did not adopt (left non-NULL) and frees the array.
static inline void rr_go_recs_free(rr_go_recs *b) {
	for (size_t i = 0; i < b->n; i++) rr_route_release(b->items[i].route);
	free(b->items);
	b->items = NULL;
	b->n = b->cap = 0;
}

// Subscribes the Go trampoline with a cgo.Handle as user_data (a number, not a Go pointer).
static inline uint64_t rr_go_subscribe(rr_registry *reg, uintptr_t handle) {
	return rr_subscribe(reg, (rr_change_fn)rrGoChanged, (void *)handle);
}

// Every immutable string of a route, in one cgo call.
enum { RR_GO_ALIAS, RR_GO_KEY, RR_GO_DISPLAY, RR_GO_PROVIDER, RR_GO_SCHEME, RR_GO_HOST,
       RR_GO_PORT, RR_GO_HOST_PORT, RR_GO_ADDR, RR_GO_URL, RR_GO_NSTR };

typedef struct {
	rr_str s[RR_GO_NSTR];
	rr_kind kind;
	int32_t priority;
	bool docker;
} rr_go_info;

static inline void rr_go_route_info(const rr_route *r, rr_go_info *out) {
	out->s[RR_GO_ALIAS] = rr_route_alias(r);
	out->s[RR_GO_KEY] = rr_route_key(r);
	out->s[RR_GO_DISPLAY] = rr_route_display_name(r);
	out->s[RR_GO_PROVIDER] = rr_route_provider(r);
	out->s[RR_GO_SCHEME] = rr_route_upstream_scheme(r);
	out->s[RR_GO_HOST] = rr_route_upstream_host(r);
	out->s[RR_GO_PORT] = rr_route_upstream_port(r);
	out->s[RR_GO_HOST_PORT] = rr_route_upstream_host_port(r);
	out->s[RR_GO_ADDR] = rr_route_upstream_addr(r);
	out->s[RR_GO_URL] = rr_route_upstream_url(r);
	out->kind = rr_route_kind(r);
	out->priority = rr_route_priority(r);
	out->docker = rr_route_is_docker(r);
}
#endif
