package routes

// #include "rr_go.h"
import "C"

import (
	"encoding/json"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Registry is a route registry (the seed's routes package): three pools, lookups, iteration,
// health and provider views. T is the caller's route value type: lookups give back the
// caller's *Route[T] objects.
//
// Lookups and iteration read a Go-side cache, valid while the library's generation counter
// (bumped after every add, delete, clear and inventory load) is unchanged: when nothing
// changed they never call into C.
type Registry[T any] struct {
	HTTP     *Pool[T]
	Stream   *Pool[T]
	Excluded *Pool[T]

	c       *C.rr_registry
	gen     *uint64 // the library's generation counter (rr_generation_ptr)
	global  bool
	closed  atomic.Bool
	cleanup runtime.Cleanup
	cache   atomic.Pointer[regCache[T]]
}

// Pool is one of a registry's three pools.
type Pool[T any] struct {
	reg  *Registry[T]
	kind Kind
}

// maxCacheEntries bounds the lookups cached per generation (so a flood of unknown keys
// cannot grow the cache without bound); beyond it lookups go to the library.
const maxCacheEntries = 1 << 16

// Snapshot kinds for rr_go_snapshot: 0..2 a pool, 3 active, 4 all, 5..7 a pool sorted.
const (
	snapActive = 3
	snapAll    = 4
	snapSorted = 5
	numSnaps   = 8
)

// regCache holds lookups made while the generation counter was gen. Every entry was looked
// up after reading gen (never before), so it is valid while the counter still equals gen.
type regCache[T any] struct {
	gen     uint64
	n       atomic.Int64
	get     sync.Map // key -> *Route[T] (nil: absent)
	getIncl sync.Map
	pool    [3]sync.Map
	snaps   [numSnaps]atomic.Pointer[[]*Route[T]]
}

// NewRegistry makes an empty registry. Close frees it (else the garbage collector does);
// routes it held stay valid while the program holds them.
func NewRegistry[T any]() *Registry[T] {
	c := C.rr_registry_new()
	if c == nil {
		panic("routes: rr_registry_new failed: " + gostr(C.rr_last_error()))
	}
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
	r := &Registry[T]{c: c, global: global}
	r.gen = (*uint64)(unsafe.Pointer(C.rr_generation_ptr(c)))
	r.HTTP = &Pool[T]{reg: r, kind: KindHTTP}
	r.Stream = &Pool[T]{reg: r, kind: KindStream}
	r.Excluded = &Pool[T]{reg: r, kind: KindExcluded}
	return r
}

// Close frees the registry (its references to its routes are released; routes the program
// holds stay valid). Safe to call twice; a no-op for Global. The registry must not be in use
// by other goroutines; using it afterwards panics.
func (r *Registry[T]) Close() error {
	defer runtime.KeepAlive(r)
	if r.global || !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	r.cleanup.Stop()
	r.cache.Store(nil)
	C.rr_registry_free(r.c)
	return nil
}

func (r *Registry[T]) ptr() *C.rr_registry {
	if r.closed.Load() {
		panic("routes: use of a closed Registry")
	}
	return r.c
}

// Generation is the library's mutation counter for this registry.
func (r *Registry[T]) Generation() uint64 {
	r.ptr()
	return atomic.LoadUint64(r.gen)
}

// current gives the cache for generation g, or nil when none is valid.
func (r *Registry[T]) current(g uint64) *regCache[T] {
	if c := r.cache.Load(); c != nil && c.gen == g {
		return c
	}
	return nil
}

// cacheFor gives a cache to store a lookup made after reading generation g; nil when the
// counter has moved past g (the lookup may be stale) or the cache is full.
func (r *Registry[T]) cacheFor(g uint64) *regCache[T] {
	for {
		c := r.cache.Load()
		if c != nil && c.gen == g {
			if c.n.Add(1) > maxCacheEntries {
				return nil
			}
			return c
		}
		if (c != nil && c.gen > g) || atomic.LoadUint64(r.gen) != g {
			return nil
		}
		if r.cache.CompareAndSwap(c, &regCache[T]{gen: g}) {
			continue
		}
	}
}

func fromCache[T any](m *sync.Map, key string) (*Route[T], bool, bool) {
	v, ok := m.Load(key)
	if !ok {
		return nil, false, false
	}
	rt := v.(*Route[T])
	if rt == nil {
		return nil, false, true
	}
	if !rt.alive() { // closed by its holder: look it up again
		return nil, false, false
	}
	return rt, true, true
}

type mapSel[T any] func(c *regCache[T]) *sync.Map

// lookup is the cached form of a native lookup returning a new reference or NULL.
func (r *Registry[T]) lookup(sel mapSel[T], key string, native func(*C.rr_registry, *C.char, C.size_t) *C.rr_route) (*Route[T], bool) {
	reg := r.ptr()
	g := atomic.LoadUint64(r.gen) // BEFORE the native lookup
	if c := r.current(g); c != nil {
		if rt, found, hit := fromCache[T](sel(c), key); hit {
			return rt, found
		}
	}
	k, n := cstr(key)
	rt := adopt[T](native(reg, k, n))
	runtime.KeepAlive(key)
	runtime.KeepAlive(r) // its cleanup must not free the registry during the call
	if c := r.cacheFor(g); c != nil {
		sel(c).Store(strings.Clone(key), rt)
	}
	return rt, rt != nil
}

func selGet[T any](c *regCache[T]) *sync.Map  { return &c.get }
func selIncl[T any](c *regCache[T]) *sync.Map { return &c.getIncl }

// Get is the live HTTP route with key, else the STREAM one (never EXCLUDED).
func (r *Registry[T]) Get(key string) (*Route[T], bool) {
	// The hit path, inlined: two atomic loads and a sync.Map load.
	if !r.closed.Load() {
		if c := r.cache.Load(); c != nil && c.gen == atomic.LoadUint64(r.gen) {
			if rt, found, hit := fromCache[T](&c.get, key); hit {
				return rt, found
			}
		}
	}
	return r.lookup(selGet[T], key, func(reg *C.rr_registry, k *C.char, n C.size_t) *C.rr_route {
		return C.rr_get(reg, k, n)
	})
}

// GetIncludeExcluded is Get, then the EXCLUDED pool.
func (r *Registry[T]) GetIncludeExcluded(key string) (*Route[T], bool) {
	return r.lookup(selIncl[T], key, func(reg *C.rr_registry, k *C.char, n C.size_t) *C.rr_route {
		return C.rr_get_include_excluded(reg, k, n)
	})
}

// GetHTTPRouteOrExact is the HTTP route keyed alias, else the HTTP route keyed host (the
// seed's lookup for a request: alias = the host's first label).
func (r *Registry[T]) GetHTTPRouteOrExact(alias, host string) (*Route[T], bool) {
	if rt, ok := r.HTTP.Get(alias); ok {
		return rt, true
	}
	return r.HTTP.Get(host)
}

// Add adds rt to the pool of its kind. nil when added (or it replaced a route of lower or
// equal priority, or reloaded a just-deleted key); an *Error wrapping ErrKept when a live
// route with a higher priority stays.
func (r *Registry[T]) Add(rt *Route[T]) error {
	defer runtime.KeepAlive(r)
	reg := r.ptr()
	if rt == nil {
		return invalidArg("Add", "nil route")
	}
	if !rt.acquire() {
		return ErrClosed
	}
	defer rt.unpin()
	return call("Add", func() C.rr_status { return C.rr_add(reg, rt.p) })
}

// AddIfNotExists adds rt only if no live route has its key. It returns the route now
// registered under the key and whether it is rt.
func (r *Registry[T]) AddIfNotExists(rt *Route[T]) (actual *Route[T], added bool, err error) {
	defer runtime.KeepAlive(r)
	reg := r.ptr()
	if rt == nil {
		return nil, false, invalidArg("AddIfNotExists", "nil route")
	}
	if !rt.acquire() {
		return nil, false, ErrClosed
	}
	defer rt.unpin()
	var p *C.rr_route
	err = call("AddIfNotExists", func() C.rr_status { return C.rr_add_if_not_exists(reg, rt.p, &p) })
	actual = adopt[T](p)
	switch {
	case err == nil:
		return actual, true, nil
	case actual != nil: // RR_KEPT: a live route stays
		return actual, false, nil
	}
	return nil, false, err
}

// Del deletes the live route with rt's key from rt's pool (whichever route holds the key).
// An *Error wrapping ErrNotFound when none.
func (r *Registry[T]) Del(rt *Route[T]) error {
	reg := r.ptr()
	if rt == nil {
		return invalidArg("Del", "nil route")
	}
	return r.delKey(reg, rt.Kind(), rt.Key())
}

func (r *Registry[T]) delKey(reg *C.rr_registry, kind Kind, key string) error {
	defer runtime.KeepAlive(r)
	k, n := cstr(key)
	err := call("Del", func() C.rr_status { return C.rr_del_key(reg, C.rr_kind(kind), k, n) })
	runtime.KeepAlive(key)
	return err
}

// Clear empties all three pools.
func (r *Registry[T]) Clear() {
	defer runtime.KeepAlive(r)
	C.rr_clear(r.ptr())
}

// PurgeTombstones removes tombstones older than 1 s now; returns how many.
func (r *Registry[T]) PurgeTombstones() int {
	defer runtime.KeepAlive(r)
	return int(C.rr_purge_tombstones(r.ptr()))
}

// NumActiveRoutes is the number of live HTTP and STREAM routes.
func (r *Registry[T]) NumActiveRoutes() int {
	defer runtime.KeepAlive(r)
	return int(C.rr_num_active_routes(r.ptr()))
}

// NumAllRoutes is the number of live routes in all three pools.
func (r *Registry[T]) NumAllRoutes() int {
	defer runtime.KeepAlive(r)
	return int(C.rr_num_all_routes(r.ptr()))
}

// snapshot gives the live routes of a snapshot kind, cached per generation.
func (r *Registry[T]) snapshot(which int) []*Route[T] {
	defer runtime.KeepAlive(r)
	reg := r.ptr()
	g := atomic.LoadUint64(r.gen)
	if c := r.current(g); c != nil {
		if s := c.snaps[which].Load(); s != nil && allAlive(*s) {
			return *s
		}
	}
	var b C.rr_go_buf
	C.rr_go_snapshot(reg, C.int(which), &b)
	items := unsafe.Slice(b.items, int(b.n))
	uds := unsafe.Slice(b.uds, int(b.n))
	out := make([]*Route[T], len(items))
	for i, p := range items {
		rt, took := adoptKeep[T](p, uds[i])
		if took {
			items[i] = nil
		}
		out[i] = rt
	}
	oom := b.oom != 0
	C.rr_go_buf_free(&b)
	if oom {
		panic("routes: out of memory while iterating")
	}
	if c := r.cacheFor(g); c != nil {
		c.snaps[which].Store(&out)
	}
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
	for _, rt := range r.snapshot(snapActive) {
		if !yield(rt) {
			return
		}
	}
}

// IterAll is IterActive, then the EXCLUDED routes.
func (r *Registry[T]) IterAll(yield func(*Route[T]) bool) {
	for _, rt := range r.snapshot(snapAll) {
		if !yield(rt) {
			return
		}
	}
}

// ByProvider groups the routes of all three pools by provider name, each list sorted by key.
func (r *Registry[T]) ByProvider() map[string][]*Route[T] {
	out := map[string][]*Route[T]{}
	for rt := range r.IterAll {
		out[rt.ProviderName()] = append(out[rt.ProviderName()], rt)
	}
	for _, l := range out {
		sort.SliceStable(l, func(i, j int) bool { return l[i].Key() < l[j].Key() })
	}
	return out
}

// ByProviderKeys is the library's by-provider view: provider -> sorted route keys.
func (r *Registry[T]) ByProviderKeys() map[string][]string {
	defer runtime.KeepAlive(r)
	out := map[string][]string{}
	mustUnmarshal(takeJSON(C.rr_by_provider_json(r.ptr())), &out)
	return out
}

// HealthJSON is the library's health JSON (byte-identical to encoding/json of the
// corresponding HealthInfo map).
func (r *Registry[T]) HealthJSON(format HealthFormat) []byte {
	defer runtime.KeepAlive(r)
	return takeJSON(C.rr_health_json(r.ptr(), C.rr_health_format(format)))
}

// HealthInfo is every route's health, keyed by alias.
func (r *Registry[T]) HealthInfo() map[string]HealthInfo {
	out := map[string]HealthInfo{}
	mustUnmarshal(r.HealthJSON(HealthFull), &out)
	return out
}

// HealthInfoWithoutDetail is HealthInfo without the details.
func (r *Registry[T]) HealthInfoWithoutDetail() map[string]HealthInfoWithoutDetail {
	out := map[string]HealthInfoWithoutDetail{}
	mustUnmarshal(r.HealthJSON(HealthWithoutDetail), &out)
	return out
}

// HealthInfoSimple is every route's health status, keyed by alias.
func (r *Registry[T]) HealthInfoSimple() map[string]HealthStatus {
	out := map[string]HealthStatus{}
	mustUnmarshal(r.HealthJSON(HealthSimple), &out)
	return out
}

func takeJSON(s *C.char) []byte {
	if s == nil {
		panic("routes: the library returned no JSON: " + gostr(C.rr_last_error()))
	}
	b := C.GoBytes(unsafe.Pointer(s), C.int(C.strlen(s)))
	C.rr_string_free(s)
	return b
}

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
// afterwards. On error the old inventory stays.
func (r *Registry[T]) LoadProxmoxInventory(inv ProxmoxInventory) error {
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

// LoadProxmoxJSON is LoadProxmoxInventory from JSON
// ({"nodes":[{"name","ip"}],"resources":[{"node","vmid","name","ips"}]}).
func (r *Registry[T]) LoadProxmoxJSON(b []byte) error {
	defer runtime.KeepAlive(r)
	reg := r.ptr()
	var p *C.char
	if len(b) > 0 {
		p = (*C.char)(unsafe.Pointer(&b[0]))
	}
	err := call("LoadProxmox", func() C.rr_status { return C.rr_proxmox_load_json(reg, p, C.size_t(len(b))) })
	runtime.KeepAlive(b)
	return err
}

// Kind is the pool's kind.
func (p *Pool[T]) Kind() Kind { return p.kind }

// Get is the live route with key in this pool.
func (p *Pool[T]) Get(key string) (*Route[T], bool) {
	r := p.reg
	if !r.closed.Load() {
		if c := r.cache.Load(); c != nil && c.gen == atomic.LoadUint64(r.gen) {
			if rt, found, hit := fromCache[T](&c.pool[p.kind], key); hit {
				return rt, found
			}
		}
	}
	kind := C.rr_kind(p.kind)
	return r.lookup(func(c *regCache[T]) *sync.Map { return &c.pool[p.kind] }, key,
		func(reg *C.rr_registry, k *C.char, n C.size_t) *C.rr_route { return C.rr_pool_get(reg, kind, k, n) })
}

// Add adds rt (which must be of this pool's kind); see Registry.Add.
func (p *Pool[T]) Add(rt *Route[T]) error {
	if rt != nil && rt.Kind() != p.kind {
		return invalidArg("Add", "route %q is a %s route, not %s", rt.Key(), rt.Kind(), p.kind)
	}
	return p.reg.Add(rt)
}

// AddIfNotExists adds rt (of this pool's kind) if no live route has its key; see
// Registry.AddIfNotExists.
func (p *Pool[T]) AddIfNotExists(rt *Route[T]) (*Route[T], bool, error) {
	if rt != nil && rt.Kind() != p.kind {
		return nil, false, invalidArg("AddIfNotExists", "route %q is a %s route, not %s", rt.Key(), rt.Kind(), p.kind)
	}
	return p.reg.AddIfNotExists(rt)
}

// Del deletes the live route with key. An *Error wrapping ErrNotFound when none.
func (p *Pool[T]) Del(key string) error { return p.reg.delKey(p.reg.ptr(), p.kind, key) }

// Size is the number of live routes (tombstones are not counted).
func (p *Pool[T]) Size() int {
	defer runtime.KeepAlive(p.reg)
	return int(C.rr_pool_size(p.reg.ptr(), C.rr_kind(p.kind)))
}

// Clear empties the pool.
func (p *Pool[T]) Clear() {
	defer runtime.KeepAlive(p.reg)
	C.rr_pool_clear(p.reg.ptr(), C.rr_kind(p.kind))
}

// Iter visits the live routes with their keys, in no particular order:
// `for key, rt := range reg.HTTP.Iter { ... }` (a snapshot: the body may add and delete).
func (p *Pool[T]) Iter(yield func(string, *Route[T]) bool) {
	for _, rt := range p.reg.snapshot(int(p.kind)) {
		if !yield(rt.Key(), rt) {
			return
		}
	}
}

// Slice is the live routes sorted by alias, then key. The slice is the caller's.
func (p *Pool[T]) Slice() []*Route[T] {
	s := p.reg.snapshot(snapSorted + int(p.kind))
	return append([]*Route[T](nil), s...)
}
