package routes

// #include "rr_go.h"
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
	"weak"
)

// Kind is the pool a route belongs to.
type Kind uint32

// The route kinds.
const (
	KindHTTP     Kind = C.RR_KIND_HTTP
	KindStream   Kind = C.RR_KIND_STREAM
	KindExcluded Kind = C.RR_KIND_EXCLUDED
)

func (k Kind) String() string {
	switch k {
	case KindHTTP:
		return "http"
	case KindStream:
		return "stream"
	case KindExcluded:
		return "excluded"
	}
	return fmt.Sprintf("Kind(%d)", uint32(k))
}

// RouteConfig is a route's identity: fixed when the route is made, frozen in the library once
// it is added to a registry.
type RouteConfig struct {
	Kind  Kind
	Alias string // the route's name: non-empty UTF-8, at most 255 bytes
	URL   string // the upstream URL (may be empty only for KindExcluded)

	Key         string // key in its pool; defaults to Alias
	DisplayName string // for log lines; defaults to Alias
	Provider    string
	Priority    int32 // an added route replaces a live one with the same key if >= its priority
	Docker      bool  // routes from Docker are not linked to Proxmox

	// An explicit Proxmox link (node non-empty; vmid 0 for the node itself).
	ProxmoxNode string
	ProxmoxVMID int32
}

// info is a route's immutable identity, copied to Go once, so that reading it (and the
// request-context functions) never crosses into C.
type info struct {
	kind                               Kind
	alias, key, displayName, provider  string
	scheme, host, port, hostPort, addr string
	url                                string
	priority                           int32
	docker                             bool
}

// routeData is what a native route's user_data handle points to: the caller's value, the
// identity, and a weak pointer to the route's current Go object (so lookups give back the
// same *Route while anyone holds it). It must not point strongly at a *Route: the handle is
// a GC root until the native route dies, which a *Route's reference would prevent.
type routeData[T any] struct {
	value  T
	info   info
	native uintptr // the native route's address: tells our handles from foreign user_data

	mu  sync.Mutex
	cur weak.Pointer[Route[T]]
}

// Route is a route: the caller's value of type T plus one reference to the native route,
// released by Close or, if never closed, when the garbage collector finds the Route
// unreachable. Lookups return the same *Route the caller made (while it is reachable and not
// closed), so a program gets its own objects back. A Route stays readable after it is deleted
// from its registry. The identity accessors never call into C.
type Route[T any] struct {
	d      *routeData[T]
	nroute *C.rr_route

	users   atomic.Int64 // 1 for the Route's own reference + calls in flight; 0 = released
	closing atomic.Bool
	cleanup runtime.Cleanup
}

// NewRoute makes a route carrying value. The error (an *Error, ErrInvalidArgument) names the
// bad field: an empty or over-long alias, a URL Go's net/url rejects or without scheme, host
// or valid port, a bad kind.
func NewRoute[T any](cfg RouteConfig, value T) (*Route[T], error) {
	var p *C.rr_route
	alias, aliasLen := cstr(cfg.Alias)
	u, uLen := cstr(cfg.URL)
	if err := call("NewRoute", func() C.rr_status {
		return C.rr_route_new(C.rr_kind(cfg.Kind), alias, aliasLen, u, uLen, &p)
	}); err != nil {
		return nil, err
	}
	runtime.KeepAlive(cfg)
	fail := func(err error) (*Route[T], error) {
		C.rr_route_release(p)
		return nil, err
	}
	setStr := func(op, s string, f func(*C.rr_route, *C.char, C.size_t) C.rr_status) error {
		if s == "" {
			return nil
		}
		ptr, n := cstr(s)
		err := call(op, func() C.rr_status { return f(p, ptr, n) })
		runtime.KeepAlive(s)
		return err
	}
	if err := setStr("SetKey", cfg.Key, func(r *C.rr_route, s *C.char, n C.size_t) C.rr_status {
		return C.rr_route_set_key(r, s, n)
	}); err != nil {
		return fail(err)
	}
	if err := setStr("SetDisplayName", cfg.DisplayName, func(r *C.rr_route, s *C.char, n C.size_t) C.rr_status {
		return C.rr_route_set_display_name(r, s, n)
	}); err != nil {
		return fail(err)
	}
	if err := setStr("SetProvider", cfg.Provider, func(r *C.rr_route, s *C.char, n C.size_t) C.rr_status {
		return C.rr_route_set_provider(r, s, n)
	}); err != nil {
		return fail(err)
	}
	if cfg.Priority != 0 {
		if err := call("SetPriority", func() C.rr_status { return C.rr_route_set_priority(p, C.int32_t(cfg.Priority)) }); err != nil {
			return fail(err)
		}
	}
	if cfg.Docker {
		if err := call("SetDocker", func() C.rr_status { return C.rr_route_set_docker(p, true) }); err != nil {
			return fail(err)
		}
	}
	if cfg.ProxmoxNode != "" || cfg.ProxmoxVMID != 0 {
		node, n := cstr(cfg.ProxmoxNode)
		err := call("SetProxmox", func() C.rr_status {
			return C.rr_route_set_proxmox(p, node, n, C.int32_t(cfg.ProxmoxVMID))
		})
		runtime.KeepAlive(cfg)
		if err != nil {
			return fail(err)
		}
	}
	d := &routeData[T]{value: value, info: readInfo(p), native: uintptr(unsafe.Pointer(p))}
	h := cgo.NewHandle(d)
	liveHandles.Add(1)
	if err := call("NewRoute", func() C.rr_status { return C.rr_route_set_user_data(p, C.uint64_t(h)) }); err != nil {
		h.Delete()
		liveHandles.Add(-1)
		return fail(err)
	}
	if err := call("NewRoute", func() C.rr_status { return C.rr_go_set_finalizer(p) }); err != nil {
		// Cannot happen on a fresh route; undo by hand rather than leak the handle.
		h.Delete()
		liveHandles.Add(-1)
		return fail(err)
	}
	d.mu.Lock()
	rt := newRouteObject(d, p)
	d.mu.Unlock()
	return rt, nil
}

func readInfo(p *C.rr_route) info {
	var ci C.rr_go_info
	C.rr_go_route_info(p, &ci)
	s := func(i int) string { return gostr(ci.s[i]) }
	return info{
		kind:        Kind(ci.kind),
		alias:       s(C.RR_GO_ALIAS),
		key:         s(C.RR_GO_KEY),
		displayName: s(C.RR_GO_DISPLAY),
		provider:    s(C.RR_GO_PROVIDER),
		scheme:      s(C.RR_GO_SCHEME),
		host:        s(C.RR_GO_HOST),
		port:        s(C.RR_GO_PORT),
		hostPort:    s(C.RR_GO_HOST_PORT),
		addr:        s(C.RR_GO_ADDR),
		url:         s(C.RR_GO_URL),
		priority:    int32(ci.priority),
		docker:      bool(ci.docker),
	}
}

// newRouteObject wraps p (a reference the new Route takes over). d.mu must be held.
func newRouteObject[T any](d *routeData[T], p *C.rr_route) *Route[T] {
	rt := &Route[T]{d: d, nroute: p}
	rt.users.Store(1)
	rt.cleanup = runtime.AddCleanup(rt, func(p *C.rr_route) { C.rr_route_release(p) }, p)
	d.cur = weak.Make(rt)
	return rt
}

// dataOf finds the routeData behind a native route's user_data, or nil when the route was not
// made by NewRoute with this T (a route from C code, or another Registry type parameter).
func dataOf[T any](ud C.uint64_t, p *C.rr_route) (d *routeData[T]) {
	if ud == 0 {
		return nil
	}
	defer func() {
		if recover() != nil { // not a live handle of ours: a foreign value
			d = nil
		}
	}()
	d, _ = cgo.Handle(ud).Value().(*routeData[T])
	if d != nil && d.native != uintptr(unsafe.Pointer(p)) {
		return nil
	}
	return d
}

// adopt turns p (a new reference, or nil) into the route's Go object: the current one when
// it is alive (then p is released, unless keep is false: see adoptKeep), else a new one that
// takes p over.
func adopt[T any](p *C.rr_route) *Route[T] {
	if p == nil {
		return nil
	}
	rt, took := adoptKeep[T](p, C.rr_route_user_data(p))
	if !took {
		C.rr_route_release(p)
	}
	return rt
}

// adoptKeep is adopt without the release: took says whether the result took p over.
func adoptKeep[T any](p *C.rr_route, ud C.uint64_t) (*Route[T], bool) {
	d := dataOf[T](ud, p)
	if d == nil {
		var zero T
		d = &routeData[T]{value: zero, info: readInfo(p), native: uintptr(unsafe.Pointer(p))}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if rt := d.cur.Value(); rt != nil && rt.alive() {
		return rt, false
	}
	return newRouteObject(d, p), true
}

func (rt *Route[T]) alive() bool { return !rt.closing.Load() }

// acquire pins the native reference for a call; false once the Route is closed.
func (rt *Route[T]) acquire() bool {
	for {
		n := rt.users.Load()
		if n <= 0 || rt.closing.Load() {
			return false
		}
		if rt.users.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (rt *Route[T]) unpin() {
	if rt.users.Add(-1) == 0 {
		C.rr_route_release(rt.nroute)
	}
}

// with runs f with the native route pinned (Close does not release it under f: the last of
// Close and the calls in flight releases the reference), or returns an error wrapping
// ErrClosed once rt is closed. Every method that reaches the native route goes through here.
func (rt *Route[T]) with(op string, f func(p *C.rr_route) error) error {
	rt.data()
	if !rt.acquire() {
		return &closedError{op: op, what: "route"}
	}
	defer rt.unpin() // also keeps rt reachable, so its cleanup cannot run during f
	beforeCall()
	return f(rt.nroute)
}

// Close releases the Route's native reference now (the native route lives on while a
// registry or another reference holds it). Safe to call twice and concurrently with other
// methods: calls in flight finish first. Afterwards the identity accessors (Alias, Key,
// Upstream*, Value...) still answer from their Go copy, SetHealth and Health return an error
// wrapping ErrClosed, Proxmox reports no link, IsFrozen false, Registry.Add ErrClosed; lookups
// give a new *Route for the same native route.
func (rt *Route[T]) Close() error {
	if rt == nil || !rt.closing.CompareAndSwap(false, true) {
		return nil
	}
	rt.cleanup.Stop()
	rt.unpin()
	return nil
}

// Release is Close.
func (rt *Route[T]) Release() { _ = rt.Close() }

// Value is the caller's value given to NewRoute (the zero T for a route made elsewhere).
func (rt *Route[T]) Value() T { return rt.data().value }

// Kind is the route's pool.
func (rt *Route[T]) Kind() Kind { return rt.data().info.kind }

// Name is the route's alias (GoDoxy's Name()).
func (rt *Route[T]) Name() string { return rt.data().info.alias }

// Alias is the route's alias.
func (rt *Route[T]) Alias() string { return rt.data().info.alias }

// Key is the route's key in its pool (the alias unless set).
func (rt *Route[T]) Key() string { return rt.data().info.key }

// DisplayName is the name used in log lines (the alias unless set).
func (rt *Route[T]) DisplayName() string { return rt.data().info.displayName }

// ProviderName is the provider's name (may be empty).
func (rt *Route[T]) ProviderName() string { return rt.data().info.provider }

// Priority is the route's priority.
func (rt *Route[T]) Priority() int32 { return rt.data().info.priority }

// IsDocker says whether the route comes from Docker.
func (rt *Route[T]) IsDocker() bool { return rt.data().info.docker }

// UpstreamScheme is the upstream URL's scheme (Go: u.Scheme).
func (rt *Route[T]) UpstreamScheme() string { return rt.data().info.scheme }

// UpstreamHost is the upstream host without port (Go: u.Hostname()).
func (rt *Route[T]) UpstreamHost() string { return rt.data().info.host }

// UpstreamPort is the upstream port, empty when absent (Go: u.Port()).
func (rt *Route[T]) UpstreamPort() string { return rt.data().info.port }

// UpstreamHostPort is the upstream host:port as written (Go: u.Host).
func (rt *Route[T]) UpstreamHostPort() string { return rt.data().info.hostPort }

// UpstreamAddr is the upstream address (Go: u.Host).
func (rt *Route[T]) UpstreamAddr() string { return rt.data().info.addr }

// UpstreamURL is the upstream URL as Go's u.String() gives it.
func (rt *Route[T]) UpstreamURL() string { return rt.data().info.url }

func (rt *Route[T]) String() string {
	d := rt.data()
	return d.info.kind.String() + " route " + d.info.key
}

// IsFrozen says whether the route has been added to a registry (false once closed).
func (rt *Route[T]) IsFrozen() bool {
	var frozen bool
	_ = rt.with("IsFrozen", func(p *C.rr_route) error {
		frozen = bool(C.rr_route_is_frozen(p))
		return nil
	})
	return frozen
}

// SetHealth records the route's health (any time, from any goroutine). detail may hold any
// bytes; the health JSON renders them as Go's encoding/json does. A negative uptime or
// latency, or a status that is not one of the six, is an *Error wrapping ErrInvalidArgument
// whose message names it; a closed route gives ErrClosed.
func (rt *Route[T]) SetHealth(status HealthStatus, uptime, latency time.Duration, detail string) error {
	if uptime < 0 {
		return invalidArg("SetHealth", "uptime %v is negative", uptime)
	}
	if latency < 0 {
		return invalidArg("SetHealth", "latency %v is negative", latency)
	}
	return rt.with("SetHealth", func(p *C.rr_route) error {
		d, n := cstr(detail)
		err := call("SetHealth", func() C.rr_status {
			return C.rr_route_set_health(p, C.rr_health_status(status), C.uint64_t(uptime), C.uint64_t(latency), d, n)
		})
		runtime.KeepAlive(detail)
		return err
	})
}

// Health is the route's health status, uptime and latency (the detail is in the registry's
// HealthInfo); an error wrapping ErrClosed once the route is closed.
func (rt *Route[T]) Health() (HealthStatus, time.Duration, time.Duration, error) {
	var st C.rr_health_status
	var up, lat C.uint64_t
	err := rt.with("Health", func(p *C.rr_route) error {
		return call("Health", func() C.rr_status { return C.rr_route_health(p, &st, &up, &lat) })
	})
	if err != nil {
		return 0, 0, 0, err
	}
	return HealthStatus(st), clampDur(uint64(up)), clampDur(uint64(lat)), nil
}

func clampDur(ns uint64) time.Duration {
	if ns > 1<<63-1 {
		return 1<<63 - 1
	}
	return time.Duration(ns)
}

// ProxmoxLink is a route's link to a Proxmox node (VMID 0) or VM/container.
type ProxmoxLink struct {
	Node   string `json:"node"`
	VMID   int    `json:"vmid"`
	VMName string `json:"vmname"`
}

// Proxmox is the route's Proxmox link: explicit (RouteConfig) or found in the registry's
// inventory when the route was added. ok is false when it has none (or is closed).
func (rt *Route[T]) Proxmox() (link ProxmoxLink, ok bool) {
	_ = rt.with("Proxmox", func(p *C.rr_route) error {
		var node, vmname C.rr_str
		var vmid C.int32_t
		if C.rr_route_proxmox(p, &node, &vmid, &vmname) == C.RR_OK { // else RR_NOT_FOUND
			// node and vmname are borrowed from the route, which with() keeps pinned.
			link, ok = ProxmoxLink{Node: gostr(node), VMID: int(vmid), VMName: gostr(vmname)}, true
		}
		return nil
	})
	return link, ok
}
