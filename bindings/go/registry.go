package routes

// #include "rr_go.h"
import "C"

import (
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

// Registry is a route registry (GoDoxy's `routes` package): three pools, lookups,
// iteration, health and provider views. T is the caller's route value type: lookups give
// back the caller's *Route[T] objects.
//
// Lookups read a Go-side replica of the pools (key -> *Route maps) kept current from the
// library's change records: a hit or a miss is an atomic load of the library's generation
// counter and one probe of an immutable hash table, with no cgo call. Iterations are cached
// per generation.
//
// A Registry and its pools may be used from any number of goroutines. Close releases its
// routes at once; see Close for what a closed Registry does.
type Registry[T any] struct {
	HTTP     *Pool[T]
	Stream   *Pool[T]
	Excluded *Pool[T]

	// nreg is freed only by the cleanup, once the Registry (and so every Pool, which holds
	// it) is unreachable. nreg and ngen are read only in do, try, raw, Close and fresh, and in
	// syncView and function literals that run inside do/try (TestNativeHandlesAreReadOnlyInHelpers
	// checks it): each is followed by runtime.KeepAlive(r), so the registry cannot be freed
	// under a call whatever the program closes or drops, on any goroutine.
	nreg    *C.rr_registry
	ngen    *uint64 // the library's generation counter (rr_generation_ptr), inside *nreg
	global  bool
	closed  atomic.Bool
	done    chan struct{} // closed by Close: watchers stop
	view    atomic.Pointer[view[T]]
	syncMu  sync.Mutex  // serializes the making of views
	folding atomic.Bool // a goroutine folds the replica's overlay (startFold)
	cleanup runtime.Cleanup
}

// Pool is one of a registry's three pools. It holds its Registry: a Pool alone keeps the
// registry alive (`p := routes.NewRegistry[T]().HTTP` is a usable pool).
type Pool[T any] struct {
	reg  *Registry[T]
	kind Kind
}

// Snapshot slots of a view: one per pool (unordered), one per pool sorted, active, all,
// by provider.
const (
	slotSorted     = 3 // + kind
	slotActive     = 6
	slotAll        = 7
	slotByProvider = 8
	numSlots       = 9
)

// NewRegistry makes an empty registry. Close releases its routes (else the garbage collector
// does); routes the program holds stay valid. It panics only if the library cannot allocate.
func NewRegistry[T any]() *Registry[T] {
	p, err := callPtr("NewRegistry", C.RR_PANIC, func() unsafe.Pointer { return unsafe.Pointer(C.rr_registry_new()) })
	if err != nil {
		panic(err)
	}
	c := (*C.rr_registry)(p)
	r := newRegistry[T](c, false)
	r.cleanup = runtime.AddCleanup(r, func(c *C.rr_registry) { C.rr_registry_free(c) }, c)
	return r
}

var globals sync.Map // reflect.Type -> *Registry[T]

// Global is the process-wide registry, seen with route values of type T (one *Registry per
// T, shared by all callers). Close on it is a no-op.
func Global[T any]() *Registry[T] {
	t := reflect.TypeFor[T]()
	if r, ok := globals.Load(t); ok {
		return r.(*Registry[T])
	}
	r, _ := globals.LoadOrStore(t, newRegistry[T](C.rr_registry_global(), true))
	return r.(*Registry[T])
}

func newRegistry[T any](c *C.rr_registry, global bool) *Registry[T] {
	r := &Registry[T]{nreg: c, global: global, done: make(chan struct{})}
	r.ngen = (*uint64)(unsafe.Pointer(C.rr_generation_ptr(c)))
	if !global { // a new registry is empty: its replica starts as an empty view
		base := newTables[T]()
		base.act = buildTable(base.m[mActive])
		r.view.Store(newView(atomic.LoadUint64(r.ngen), base, nil, 0, 0))
	}
	r.HTTP = &Pool[T]{reg: r, kind: KindHTTP}
	r.Stream = &Pool[T]{reg: r, kind: KindStream}
	r.Excluded = &Pool[T]{reg: r, kind: KindExcluded}
	return r
}

// Close releases the registry's routes now (routes the program holds stay valid) and makes
// the registry unusable: its methods that return an error return one wrapping ErrClosed, the
// others (lookups, iteration, sizes, health maps, Clear) panic with such an error; the same
// holds for its pools. Safe to call twice and from any goroutine, also while other goroutines
// use the registry: a call racing with Close either completes or sees ErrClosed, and a route
// it adds meanwhile is released when the registry is garbage-collected (the native registry
// itself, a few hundred bytes once emptied, is freed then). A no-op for Global.
func (r *Registry[T]) Close() error {
	r.made()
	if r.global || !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(r.done)
	r.syncMu.Lock() // no view made after this one is dropped
	r.view.Store(nil)
	r.syncMu.Unlock()
	beforeCall()
	C.rr_clear(r.nreg)
	runtime.KeepAlive(r)
	return nil
}

// do runs f with the native registry and keeps r alive until f returns (so that its cleanup
// cannot free the registry during the call). It panics with an error wrapping ErrClosed once
// r is closed. Every method without an error result reaches the library through here.
// Afterwards the replica is brought up to date (after a mutation: so that the next lookup
// needs no cgo call, and a deleted route is not kept alive by it).
func (r *Registry[T]) do(op string, f func(c *C.rr_registry)) {
	r.made()
	if r.closed.Load() {
		panic(&closedError{op: op, what: "registry"})
	}
	beforeCall()
	f(r.nreg)
	r.syncView(r.nreg)
	runtime.KeepAlive(r)
}

// try is do for methods with an error result: ErrClosed instead of the panic.
func (r *Registry[T]) try(op string, f func(c *C.rr_registry) error) error {
	r.made()
	if r.closed.Load() {
		return &closedError{op: op, what: "registry"}
	}
	beforeCall()
	err := f(r.nreg)
	r.syncView(r.nreg)
	runtime.KeepAlive(r)
	return err
}

// raw runs f with the native registry even when r is closed (for what must run then: ending
// a subscription).
func (r *Registry[T]) raw(f func(c *C.rr_registry)) {
	r.made()
	beforeCall()
	f(r.nreg)
	runtime.KeepAlive(r)
}

// syncView brings the replica to the library's current generation (inside do/try: reg is
// alive) and returns it; nil when r is closed. It pulls the change records since the
// replica's generation and applies them to a new view (the keys they name, nothing else);
// when the log no longer has them (RR_STALE) or there is no replica yet, it rebuilds the
// replica from one snapshot (rr_snapshot) and continues from that snapshot's generation.
func (r *Registry[T]) syncView(reg *C.rr_registry) *view[T] {
	if v := r.view.Load(); v != nil && v.gen == atomic.LoadUint64(r.ngen) {
		return v
	}
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	for range 8 { // writers may keep committing: give up after a few rounds (v is then behind)
		if r.closed.Load() {
			return nil
		}
		v := r.view.Load()
		if v != nil && v.gen == atomic.LoadUint64(r.ngen) {
			return v
		}
		var nv *view[T]
		if v != nil {
			recs, next, err := collectChanges[T](reg, v.gen, false)
			if err == nil {
				nv = applyRecords(v, recs, next)
			} else if !errors.Is(err, ErrStale) {
				panic(err) // only for a NULL registry or a generation from the future: a bug
			}
		}
		if nv == nil {
			nv = rebuildView[T](reg)
			replicaRebuilds.Add(1)
		}
		r.view.Store(nv)
		r.startFold(nv)
	}
	return r.view.Load()
}

// replicaRebuilds counts full rebuilds of replicas (for tests: one change must not cause one).
var replicaRebuilds atomic.Int64

// applyRecords is v with the records applied (the keys they name), at generation next.
func applyRecords[T any](v *view[T], recs []record[T], next uint64) *view[T] {
	b := newBuilder(v)
	for _, rc := range recs {
		switch rc.op {
		case ChangeAdded, ChangeReloaded, ChangeReplaced:
			b.set(rc.kind, rc.key, rc.route)
		case ChangeRemoved:
			b.set(rc.kind, rc.key, nil)
		case ChangeCleared:
			b.clear(rc.kind)
		}
	}
	return b.finish(next)
}

// rebuildView makes a replica from one snapshot of all three pools.
func rebuildView[T any](reg *C.rr_registry) *view[T] {
	var b C.rr_go_buf
	var gen C.uint64_t
	C.rr_go_snapshot_gen(reg, 4, &b, &gen)
	bl := &builder[T]{base: newTables[T](), ownBase: true}
	items := unsafe.Slice(b.items, int(b.n))
	uds := unsafe.Slice(b.uds, int(b.n))
	for i, p := range items {
		rt, took := adoptKeep[T](p, uds[i])
		if took {
			items[i] = nil
		}
		bl.set(rt.Kind(), rt.Key(), rt)
	}
	oom := b.oom != 0
	C.rr_go_buf_free(&b)
	if oom {
		panic("routes: out of memory")
	}
	return bl.finish(uint64(gen))
}

// repair replaces, in the current view, a route its holder closed by rt (the same native
// route, looked up again), so that later lookups of it need no cgo call again.
func (r *Registry[T]) repair(v *view[T], m int, key string, rt *Route[T]) {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	if r.view.Load() != v || r.closed.Load() {
		return
	}
	old := v.find(m, key)
	if old == nil || old.alive() || old.d.native != rt.d.native {
		return
	}
	b := newBuilder(v)
	b.set(rt.Kind(), rt.Key(), rt)
	r.view.Store(b.finish(v.gen))
}

// Generation is the library's mutation counter for this registry.
func (r *Registry[T]) Generation() uint64 {
	var g uint64
	r.do("Generation", func(*C.rr_registry) { g = atomic.LoadUint64(r.ngen) })
	return g
}

// fresh is the replica when it is at the library's current generation, else nil (also once
// closed). The hit path of every lookup: no cgo call, no allocation.
func (r *Registry[T]) fresh() *view[T] {
	// No check of its own (it would keep lookups from being inlined): a nil *Registry panics
	// here as any nil pointer does; a zero Registry has no view, and the slow path's do
	// panics with the message naming NewRegistry.
	v := r.view.Load()
	if v != nil && v.gen != atomic.LoadUint64(r.ngen) {
		v = nil
	}
	runtime.KeepAlive(r) // r.ngen points into the native registry that r's cleanup frees
	return v
}

// answer turns a replica's route into a lookup's result; hit is false when the route was
// closed by its holder (then the lookup asks the library for a new *Route).
func answer[T any](rt *Route[T]) (out *Route[T], found, hit bool) {
	if rt == nil {
		return nil, false, true
	}
	if !rt.alive() {
		return nil, false, false
	}
	return rt, true, true
}

// lookupSlow answers a lookup the fresh replica could not: it brings the replica up to date
// and asks it again (resolve), else asks the library (native: a new reference or NULL). A
// route found closed in the replica is replaced there by the new *Route (map m, key).
func (r *Registry[T]) lookupSlow(op string, m int, key string, resolve func(v *view[T]) (*Route[T], bool, bool),
	native func(*C.rr_registry) *C.rr_route) (*Route[T], bool) {
	var rt *Route[T]
	var found bool
	r.do(op, func(reg *C.rr_registry) {
		v := r.syncView(reg)
		if v != nil {
			var hit bool
			if rt, found, hit = resolve(v); hit {
				return
			}
		}
		nativeLookups.Add(1)
		rt = adopt[T](native(reg))
		found = rt != nil
		if v != nil && found && atomic.LoadUint64(r.ngen) == v.gen {
			r.repair(v, m, key, rt)
		}
	})
	return rt, found
}

// nativeLookups counts lookups that went to the library (for tests).
var nativeLookups atomic.Int64

// getKey is a lookup by one string key: the replica, else the library function f.
func (r *Registry[T]) getKey(op string, m int, key string, resolve func(v *view[T]) (*Route[T], bool, bool),
	f func(*C.rr_registry, *C.char, C.size_t) *C.rr_route) (*Route[T], bool) {
	return r.lookupSlow(op, m, key, resolve, func(reg *C.rr_registry) *C.rr_route {
		k, n := cstr(key)
		p := f(reg, k, n)
		runtime.KeepAlive(key)
		return p
	})
}

// Get is the live HTTP route with key, else the STREAM one (never EXCLUDED).
func (r *Registry[T]) Get(key string) (*Route[T], bool) {
	if v := r.fresh(); v != nil {
		var rt *Route[T]
		if v.over == nil { // no change since the base was built: the table alone (one call less)
			rt = (*Route[T])(v.act.find(key))
		} else {
			rt = v.active(key)
		}
		if rt, found, hit := answer(rt); hit {
			return rt, found
		}
	}
	return r.getKey("Get", mActive, key, func(v *view[T]) (*Route[T], bool, bool) {
		return answer(v.find(mActive, key))
	}, func(reg *C.rr_registry, k *C.char, n C.size_t) *C.rr_route { return C.rr_get(reg, k, n) })
}

func (v *view[T]) getIncl(key string) (*Route[T], bool, bool) {
	if rt, found, hit := answer(v.find(mActive, key)); !hit || found {
		return rt, found, hit
	}
	return answer(v.find(int(KindExcluded), key))
}

// GetIncludeExcluded is Get, then the EXCLUDED pool.
func (r *Registry[T]) GetIncludeExcluded(key string) (*Route[T], bool) {
	if v := r.fresh(); v != nil {
		if rt, found, hit := v.getIncl(key); hit {
			return rt, found
		}
	}
	return r.getKey("GetIncludeExcluded", int(KindExcluded), key, func(v *view[T]) (*Route[T], bool, bool) {
		return v.getIncl(key)
	}, func(reg *C.rr_registry, k *C.char, n C.size_t) *C.rr_route {
		return C.rr_get_include_excluded(reg, k, n)
	})
}

func (v *view[T]) orExact(alias, host string) (*Route[T], bool, bool) {
	if rt, found, hit := answer(v.find(int(KindHTTP), alias)); !hit || found {
		return rt, found, hit
	}
	return answer(v.find(int(KindHTTP), host))
}

// GetHTTPRouteOrExact is the HTTP route keyed alias, else the HTTP route keyed host (the
// lookup GoDoxy makes for a request: alias = the host's first label), as the library's
// rr_get_http_route_or_exact; answered from the replica like Get. FindHTTPRoute applies the
// whole host rules.
func (r *Registry[T]) GetHTTPRouteOrExact(alias, host string) (*Route[T], bool) {
	if v := r.fresh(); v != nil {
		if rt, found, hit := v.orExact(alias, host); hit {
			return rt, found
		}
	}
	return r.lookupSlow("GetHTTPRouteOrExact", int(KindHTTP), alias, func(v *view[T]) (*Route[T], bool, bool) {
		return v.orExact(alias, host)
	}, func(reg *C.rr_registry) *C.rr_route {
		a, an := cstr(alias)
		h, hn := cstr(host)
		p := C.rr_get_http_route_or_exact(reg, a, an, h, hn)
		runtime.KeepAlive(alias)
		runtime.KeepAlive(host)
		return p
	})
}

// Add adds rt to the pool of its kind. nil when added (or it replaced a route of lower or
// equal priority, or reloaded a just-deleted key); an *Error wrapping ErrKept when a live
// route with a higher priority stays; ErrInvalidArgument for a nil route; ErrClosed when rt
// or the registry is closed.
func (r *Registry[T]) Add(rt *Route[T]) error {
	return r.try("Add", func(reg *C.rr_registry) error {
		if rt == nil {
			return invalidArg("Add", "nil route")
		}
		return rt.with("Add", func(p *C.rr_route) error {
			return call("Add", func() C.rr_status { return C.rr_add(reg, p) })
		})
	})
}

// AddIfNotExists adds rt only if no live route has its key. It returns the route now
// registered under the key and whether it is rt.
func (r *Registry[T]) AddIfNotExists(rt *Route[T]) (actual *Route[T], added bool, err error) {
	err = r.try("AddIfNotExists", func(reg *C.rr_registry) error {
		if rt == nil {
			return invalidArg("AddIfNotExists", "nil route")
		}
		return rt.with("AddIfNotExists", func(p *C.rr_route) error {
			var out *C.rr_route
			err := call("AddIfNotExists", func() C.rr_status { return C.rr_add_if_not_exists(reg, p, &out) })
			actual = adopt[T](out)
			switch {
			case err == nil:
				added = true
				return nil
			case actual != nil: // RR_KEPT: a live route stays
				return nil
			}
			return err
		})
	})
	if err != nil {
		return nil, false, err
	}
	return actual, added, nil
}

// Del deletes the live route with rt's key from rt's pool (whichever route holds the key;
// rt may be closed). An *Error wrapping ErrNotFound when none.
func (r *Registry[T]) Del(rt *Route[T]) error {
	if rt == nil {
		return invalidArg("Del", "nil route")
	}
	return r.delKey(rt.Kind(), rt.Key())
}

func (r *Registry[T]) delKey(kind Kind, key string) error {
	return r.try("Del", func(reg *C.rr_registry) error {
		k, n := cstr(key)
		err := call("Del", func() C.rr_status { return C.rr_del_key(reg, C.rr_kind(kind), k, n) })
		runtime.KeepAlive(key)
		return err
	})
}

// Clear empties all three pools.
func (r *Registry[T]) Clear() {
	r.do("Clear", func(reg *C.rr_registry) { C.rr_clear(reg) })
}

// PurgeTombstones removes tombstones older than 1 s now; returns how many.
func (r *Registry[T]) PurgeTombstones() int {
	var n int
	r.do("PurgeTombstones", func(reg *C.rr_registry) { n = int(C.rr_purge_tombstones(reg)) })
	return n
}

// NumActiveRoutes is the number of live HTTP and STREAM routes.
func (r *Registry[T]) NumActiveRoutes() int {
	var n int
	r.do("NumActiveRoutes", func(reg *C.rr_registry) { n = int(C.rr_num_active_routes(reg)) })
	return n
}

// NumAllRoutes is the number of live routes in all three pools.
func (r *Registry[T]) NumAllRoutes() int {
	var n int
	r.do("NumAllRoutes", func(reg *C.rr_registry) { n = int(C.rr_num_all_routes(reg)) })
	return n
}

// snapshot gives the routes of one library iteration (which, kind: see rr_go_snapshot),
// cached per generation in slot. The slice is shared: callers must not modify it. It panics
// only if C cannot allocate the snapshot's arrays.
func (r *Registry[T]) snapshot(op string, slot int, which C.int, kind Kind) []*Route[T] {
	var out []*Route[T]
	r.do(op, func(reg *C.rr_registry) {
		v := r.syncView(reg)
		if v != nil {
			if s := v.snaps[slot].Load(); s != nil && allAlive(*s) {
				out = *s
				return
			}
		}
		var b C.rr_go_buf
		var gen C.uint64_t
		cacheable := true
		switch which {
		case C.RR_GO_SNAP_POOL: // rr_snapshot: one generation, reported
			C.rr_go_snapshot_gen(reg, C.uint32_t(kind), &b, &gen)
		case C.RR_GO_SNAP_ACTIVE:
			C.rr_go_snapshot_gen(reg, 3, &b, &gen)
		case C.RR_GO_SNAP_ALL:
			C.rr_go_snapshot_gen(reg, 4, &b, &gen)
		default: // sorted and by provider: one generation too, the one before and after
			g := atomic.LoadUint64(r.ngen)
			C.rr_go_snapshot(reg, which, C.rr_kind(kind), &b)
			gen = C.uint64_t(g)
			cacheable = atomic.LoadUint64(r.ngen) == g
		}
		items := unsafe.Slice(b.items, int(b.n))
		uds := unsafe.Slice(b.uds, int(b.n))
		fresh := make([]*Route[T], len(items)) // (not out: &fresh is stored, out stays on the stack)
		for i, p := range items {
			rt, took := adoptKeep[T](p, uds[i])
			if took {
				items[i] = nil
			}
			fresh[i] = rt
		}
		out = fresh
		oom := b.oom != 0
		C.rr_go_buf_free(&b)
		if oom {
			panic("routes: " + op + ": out of memory")
		}
		if v != nil && cacheable && uint64(gen) == v.gen {
			v.snaps[slot].Store(&fresh)
		}
	})
	return out
}

func allAlive[T any](s []*Route[T]) bool {
	for _, rt := range s {
		if !rt.alive() {
			return false
		}
	}
	return true
}

// IterActive visits the live HTTP routes, then the STREAM ones:
// `for rt := range reg.IterActive { ... }`. It works on a snapshot, so the loop body may add
// and delete.
func (r *Registry[T]) IterActive(yield func(*Route[T]) bool) {
	for _, rt := range r.snapshot("IterActive", slotActive, C.RR_GO_SNAP_ACTIVE, 0) {
		if !yield(rt) {
			return
		}
	}
}

// IterAll is IterActive, then the EXCLUDED routes.
func (r *Registry[T]) IterAll(yield func(*Route[T]) bool) {
	for _, rt := range r.snapshot("IterAll", slotAll, C.RR_GO_SNAP_ALL, 0) {
		if !yield(rt) {
			return
		}
	}
}

// ByProvider groups the routes of all three pools by provider name, each list ordered by
// key, then pool (the library's order, rr_iter_by_provider). The map is the caller's.
func (r *Registry[T]) ByProvider() map[string][]*Route[T] {
	s := r.snapshot("ByProvider", slotByProvider, C.RR_GO_SNAP_BY_PROVIDER, 0)
	out := map[string][]*Route[T]{}
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j].ProviderName() == s[i].ProviderName() {
			j++
		}
		out[s[i].ProviderName()] = append([]*Route[T](nil), s[i:j]...)
		i = j
	}
	return out
}

// ByProviderKeys is the library's by-provider view: provider -> sorted route keys.
func (r *Registry[T]) ByProviderKeys() map[string][]string {
	var b []byte
	r.do("ByProviderKeys", func(reg *C.rr_registry) {
		p, err := callPtr("ByProviderKeys", C.RR_INVALID_ARGUMENT, func() unsafe.Pointer {
			return unsafe.Pointer(C.rr_by_provider_json(reg))
		})
		if err != nil {
			panic(err) // NULL only for a NULL registry: a bug of this package
		}
		b = takeJSON((*C.char)(p))
	})
	out := map[string][]string{}
	mustUnmarshal(b, &out)
	return out
}

// HealthJSON is the library's health JSON (byte-identical to encoding/json of the
// corresponding HealthInfo map). An unknown format is an *Error wrapping ErrInvalidArgument
// (the message names the format); a closed registry gives ErrClosed.
func (r *Registry[T]) HealthJSON(format HealthFormat) ([]byte, error) {
	var b []byte
	err := r.try("HealthJSON", func(reg *C.rr_registry) error {
		p, err := callPtr("HealthJSON", C.RR_INVALID_ARGUMENT, func() unsafe.Pointer {
			return unsafe.Pointer(C.rr_health_json(reg, C.rr_health_format(format)))
		})
		if err != nil {
			return err
		}
		b = takeJSON((*C.char)(p))
		return nil
	})
	return b, err
}

// healthMap renders format (one of the three constants, so it cannot fail but on a closed
// registry, which panics like the other methods without an error result) into v.
func (r *Registry[T]) healthMap(op string, format HealthFormat, v any) {
	b, err := r.HealthJSON(format)
	if err != nil {
		if errors.Is(err, ErrClosed) {
			panic(&closedError{op: op, what: "registry"})
		}
		panic(err)
	}
	mustUnmarshal(b, v)
}

// HealthInfo is every route's health, keyed by alias.
func (r *Registry[T]) HealthInfo() map[string]HealthInfo {
	out := map[string]HealthInfo{}
	r.healthMap("HealthInfo", HealthFull, &out)
	return out
}

// HealthInfoWithoutDetail is HealthInfo without the details.
func (r *Registry[T]) HealthInfoWithoutDetail() map[string]HealthInfoWithoutDetail {
	out := map[string]HealthInfoWithoutDetail{}
	r.healthMap("HealthInfoWithoutDetail", HealthWithoutDetail, &out)
	return out
}

// HealthInfoSimple is every route's health status, keyed by alias.
func (r *Registry[T]) HealthInfoSimple() map[string]HealthStatus {
	out := map[string]HealthStatus{}
	r.healthMap("HealthInfoSimple", HealthSimple, &out)
	return out
}

// takeJSON copies and frees a JSON string the library returned (non-NULL).
func takeJSON(s *C.char) []byte {
	b := C.GoBytes(unsafe.Pointer(s), C.int(C.strlen(s)))
	C.rr_string_free(s)
	return b
}

// mustUnmarshal parses the library's JSON; a failure is a bug (of the library or of this
// package), hence a panic.
func mustUnmarshal(b []byte, v any) {
	if err := json.Unmarshal(b, v); err != nil {
		panic("routes: cannot parse the library's JSON: " + err.Error())
	}
}

// ProxmoxInventory is a Proxmox inventory: nodes and resources (VMs, containers).
type ProxmoxInventory struct {
	Nodes     []ProxmoxNode     `json:"nodes"`
	Resources []ProxmoxResource `json:"resources"`
}

// ProxmoxNode is a Proxmox node.
type ProxmoxNode struct {
	Name string `json:"name"`
	IP   string `json:"ip,omitempty"`
}

// ProxmoxResource is a VM or container on a node.
type ProxmoxResource struct {
	Node string   `json:"node"`
	VMID int      `json:"vmid"`
	Name string   `json:"name"`
	IPs  []string `json:"ips,omitempty"`
}

// LoadProxmoxInventory replaces the registry's Proxmox inventory; it applies to routes added
// afterwards. On error the old inventory stays. A string that is not valid UTF-8 is refused
// (ErrInvalidArgument naming the field, e.g. nodes[0].name), as LoadProxmoxJSON and the
// library refuse it, rather than stored with U+FFFD in place of its bad bytes.
func (r *Registry[T]) LoadProxmoxInventory(inv ProxmoxInventory) error {
	if err := inv.checkUTF8(); err != nil {
		return err
	}
	if inv.Nodes == nil {
		inv.Nodes = []ProxmoxNode{}
	}
	if inv.Resources == nil {
		inv.Resources = []ProxmoxResource{}
	}
	b, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	return r.LoadProxmoxJSON(b)
}

// checkUTF8 refuses a string field that is not valid UTF-8 (encoding/json would replace its
// bad bytes with U+FFFD: the library would store another name than the one given).
func (inv *ProxmoxInventory) checkUTF8() error {
	bad := func(field string, i int, name string, j int) error {
		if j >= 0 {
			return invalidArg("LoadProxmoxInventory", "%s[%d].%s[%d] is not valid UTF-8", field, i, name, j)
		}
		return invalidArg("LoadProxmoxInventory", "%s[%d].%s is not valid UTF-8", field, i, name)
	}
	for i, n := range inv.Nodes {
		if !utf8.ValidString(n.Name) {
			return bad("nodes", i, "name", -1)
		}
		if !utf8.ValidString(n.IP) {
			return bad("nodes", i, "ip", -1)
		}
	}
	for i, res := range inv.Resources {
		if !utf8.ValidString(res.Node) {
			return bad("resources", i, "node", -1)
		}
		if !utf8.ValidString(res.Name) {
			return bad("resources", i, "name", -1)
		}
		for j, ip := range res.IPs {
			if !utf8.ValidString(ip) {
				return bad("resources", i, "ips", j)
			}
		}
	}
	return nil
}

// LoadProxmoxJSON is LoadProxmoxInventory from JSON
// ({"nodes":[{"name","ip"}],"resources":[{"node","vmid","name","ips"}]}).
func (r *Registry[T]) LoadProxmoxJSON(b []byte) error {
	return r.try("LoadProxmox", func(reg *C.rr_registry) error {
		var p *C.char
		if len(b) > 0 {
			p = (*C.char)(unsafe.Pointer(&b[0]))
		}
		err := call("LoadProxmox", func() C.rr_status { return C.rr_proxmox_load_json(reg, p, C.size_t(len(b))) })
		runtime.KeepAlive(b)
		return err
	})
}

// Kind is the pool's kind.
func (p *Pool[T]) Kind() Kind { p.registry(); return p.kind }

// Registry is the registry the pool belongs to.
func (p *Pool[T]) Registry() *Registry[T] { return p.registry() }

// Get is the live route with key in this pool.
func (p *Pool[T]) Get(key string) (*Route[T], bool) {
	r := p.registry()
	if v := r.fresh(); v != nil {
		if rt, found, hit := answer(v.find(int(p.kind), key)); hit {
			return rt, found
		}
	}
	kind := p.kind
	return r.getKey("Pool.Get", int(kind), key, func(v *view[T]) (*Route[T], bool, bool) {
		return answer(v.find(int(kind), key))
	}, func(reg *C.rr_registry, k *C.char, n C.size_t) *C.rr_route {
		return C.rr_pool_get(reg, C.rr_kind(kind), k, n)
	})
}

// Add adds rt (which must be of this pool's kind); see Registry.Add.
func (p *Pool[T]) Add(rt *Route[T]) error {
	p.registry()
	if rt != nil && rt.Kind() != p.kind {
		return invalidArg("Add", "route %q is a %s route, not %s", rt.Key(), rt.Kind(), p.kind)
	}
	return p.registry().Add(rt)
}

// AddIfNotExists adds rt (of this pool's kind) if no live route has its key; see
// Registry.AddIfNotExists.
func (p *Pool[T]) AddIfNotExists(rt *Route[T]) (*Route[T], bool, error) {
	p.registry()
	if rt != nil && rt.Kind() != p.kind {
		return nil, false, invalidArg("AddIfNotExists", "route %q is a %s route, not %s", rt.Key(), rt.Kind(), p.kind)
	}
	return p.registry().AddIfNotExists(rt)
}

// Del deletes the live route with key. An *Error wrapping ErrNotFound when none.
func (p *Pool[T]) Del(key string) error { return p.registry().delKey(p.kind, key) }

// Size is the number of live routes (tombstones are not counted).
func (p *Pool[T]) Size() int {
	var n int
	p.registry().do("Pool.Size", func(reg *C.rr_registry) { n = int(C.rr_pool_size(reg, C.rr_kind(p.kind))) })
	return n
}

// Clear empties the pool.
func (p *Pool[T]) Clear() {
	p.registry().do("Pool.Clear", func(reg *C.rr_registry) { C.rr_pool_clear(reg, C.rr_kind(p.kind)) })
}

// Iter visits the live routes with their keys, in no particular order:
// `for key, rt := range reg.HTTP.Iter { ... }` (a snapshot: the body may add and delete).
func (p *Pool[T]) Iter(yield func(string, *Route[T]) bool) {
	for _, rt := range p.registry().snapshot("Pool.Iter", int(p.kind), C.RR_GO_SNAP_POOL, p.kind) {
		if !yield(rt.Key(), rt) {
			return
		}
	}
}

// Slice is the live routes sorted by alias, then key (the library's order,
// rr_pool_iter_sorted). The slice is the caller's.
func (p *Pool[T]) Slice() []*Route[T] {
	s := p.registry().snapshot("Pool.Slice", slotSorted+int(p.kind), C.RR_GO_SNAP_POOL_SORTED, p.kind)
	return append([]*Route[T](nil), s...)
}
