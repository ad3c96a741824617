package routes

// #include "rr_go.h"
import "C"

import (
	"hash/maphash"
	"runtime"
	"strings"
	"sync/atomic"
	"unsafe"
)

// Host answers (FindHTTPRoute) are cached in the replica's view of the generation they were
// looked up at, so they are dropped as a whole when the generation moves: any add or delete
// can change the answer for any number of hosts (a wildcard covers an unbounded set), and so
// does SetRouteDomains, which writes no change record. The cache is a fixed table of
// hostSlots entries (direct-mapped by a hash of the header; a new host takes its slot), so a
// flood of distinct unknown hosts cannot grow it. Hosts longer than maxCachedHost bytes (no
// route can match them after the port is stripped) are not cached.
const (
	hostSlots     = 1024
	maxCachedHost = 300
)

var hostSeed = maphash.MakeSeed()

type hostTable[T any] struct {
	slots [hostSlots]atomic.Pointer[hostEntry[T]]
}

type hostEntry[T any] struct {
	host string
	rt   *Route[T] // nil: no route
}

// FindHTTPRoute is the HTTP route for a request's Host header, by the library's rules
// (rr_find_http_route): the port stripped as net.SplitHostPort does; ASCII case and one
// trailing dot ignored; with no domains (SetRouteDomains) the route keyed by the host, else
// by its first label; with domains, for each domain the host ends with the route keyed by the
// part before it, else the whole host; then a wildcard route keyed `*.<suffix>`. Only the
// HTTP pool. An empty, invalid or hostile header is a miss.
//
// Answers, found or not, are cached per generation by the header exactly as given, in a
// fixed-size table: a repeated host costs no cgo call and allocates nothing until the
// registry changes.
func (r *Registry[T]) FindHTTPRoute(host string) (*Route[T], bool) {
	if v := r.fresh(); v != nil {
		if t := v.hosts.Load(); t != nil {
			e := t.slots[maphash.String(hostSeed, host)&(hostSlots-1)].Load()
			if e != nil && e.host == host {
				if e.rt == nil {
					return nil, false
				}
				if e.rt.alive() {
					return e.rt, true
				}
			}
		}
	}
	return r.findHostSlow(host)
}

func (r *Registry[T]) findHostSlow(host string) (*Route[T], bool) {
	var rt *Route[T]
	r.do("FindHTTPRoute", func(reg *C.rr_registry) {
		v := r.syncView(reg)
		g := atomic.LoadUint64(r.ngen) // BEFORE the native call
		h, n := cstr(host)
		nativeLookups.Add(1)
		rt = adopt[T](C.rr_find_http_route(reg, h, n))
		runtime.KeepAlive(host)
		if v == nil || v.gen != g || len(host) > maxCachedHost {
			return
		}
		t := v.hosts.Load()
		if t == nil {
			v.hosts.CompareAndSwap(nil, &hostTable[T]{})
			t = v.hosts.Load()
		}
		t.slots[maphash.String(hostSeed, host)&(hostSlots-1)].Store(&hostEntry[T]{host: strings.Clone(host), rt: rt})
	})
	return rt, rt != nil
}

// SetRouteDomains sets the domain suffixes FindHTTPRoute strips, tried in the order given;
// each may be given with or without its leading dot (`example.com` and `.example.com` are the
// same) and is compared without ASCII case. No arguments: no domains (the default). An
// *Error wrapping ErrInvalidArgument names a bad domain (empty, nothing but dots, with a NUL
// byte, over 255 bytes); the old domains then stay. It bumps the generation, so every cached
// host answer is dropped.
func (r *Registry[T]) SetRouteDomains(domains ...string) error {
	return r.try("SetRouteDomains", func(reg *C.rr_registry) error {
		// The array and the bytes go in C memory: C memory may not hold Go pointers.
		total := 0
		for _, d := range domains {
			total += len(d)
		}
		n := len(domains)
		arr := (*C.rr_str)(C.calloc(C.size_t(max(n, 1)), C.size_t(unsafe.Sizeof(C.rr_str{}))))
		buf := (*C.char)(C.malloc(C.size_t(max(total, 1))))
		if arr == nil || buf == nil {
			C.free(unsafe.Pointer(arr))
			C.free(unsafe.Pointer(buf))
			panic("routes: SetRouteDomains: out of memory")
		}
		defer C.free(unsafe.Pointer(arr))
		defer C.free(unsafe.Pointer(buf))
		items := unsafe.Slice(arr, max(n, 1))
		bytes := unsafe.Slice((*byte)(unsafe.Pointer(buf)), max(total, 1))
		off := 0
		for i, d := range domains {
			copy(bytes[off:], d)
			items[i] = C.rr_str{ptr: (*C.char)(unsafe.Add(unsafe.Pointer(buf), off)), len: C.size_t(len(d))}
			off += len(d)
		}
		return call("SetRouteDomains", func() C.rr_status { return C.rr_set_route_domains(reg, arr, C.size_t(n)) })
	})
}
