// Package xsyncbase is a benchmark-only module: the baseline the Go binding's lookups are
// measured against, in the same `go test -bench` run. It is GoDoxy's way of holding routes
// (one xsync.Map per pool; Get tries HTTP, then STREAM) and GoDoxy's findRouteAnyDomain
// ported over such a pool. The binding itself imports nothing outside the standard library.
package xsyncbase

import (
	"strings"

	"github.com/puzpuzpuz/xsync/v4"
)

// Route is a pure-Go route.
type Route struct {
	Alias string
	URL   string
}

// Registry is GoDoxy's routes package on xsync.Map: one map per pool.
type Registry struct {
	HTTP, Stream *xsync.Map[string, *Route]
}

// New makes an empty registry.
func New() *Registry {
	return &Registry{HTTP: xsync.NewMap[string, *Route](), Stream: xsync.NewMap[string, *Route]()}
}

// Get is the HTTP route with key, else the STREAM one.
func (r *Registry) Get(key string) (*Route, bool) {
	if rt, ok := r.HTTP.Load(key); ok {
		return rt, true
	}
	return r.Stream.Load(key)
}

// FindRouteAnyDomain is GoDoxy's entrypoint findRouteAnyDomain over the HTTP pool: the
// host's first label, else the whole host, else the host without its ":port".
func (r *Registry) FindRouteAnyDomain(host string) *Route {
	if before, _, ok := strings.Cut(host, "."); ok {
		if rt, ok := r.HTTP.Load(before); ok {
			return rt
		}
	}
	if rt, ok := r.HTTP.Load(host); ok {
		return rt
	}
	if before, _, ok := strings.Cut(host, ":"); ok {
		if rt, ok := r.HTTP.Load(before); ok {
			return rt
		}
	}
	return nil
}
