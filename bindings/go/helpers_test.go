package routes

import (
	"runtime"
	"testing"
	"time"
)

// app is the caller's own route type in these tests.
type app struct {
	name string
	n    int
}

func mustRoute(t testing.TB, kind Kind, alias, url string, opts ...func(*RouteConfig)) *Route[*app] {
	t.Helper()
	cfg := RouteConfig{Kind: kind, Alias: alias, URL: url}
	for _, o := range opts {
		o(&cfg)
	}
	rt, err := NewRoute(cfg, &app{name: alias})
	if err != nil {
		t.Fatalf("NewRoute(%q, %q): %v", alias, url, err)
	}
	return rt
}

func withProvider(p string) func(*RouteConfig) { return func(c *RouteConfig) { c.Provider = p } }
func withKey(k string) func(*RouteConfig)      { return func(c *RouteConfig) { c.Key = k } }
func withPriority(p int32) func(*RouteConfig)  { return func(c *RouteConfig) { c.Priority = p } }

// waitFor runs GC until cond holds (bounded: about 5 s).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (live handles %d, live routes %d)", what, LiveHandles(), LiveRoutes())
}

func runRuntimeGC() { runtime.GC() }

// settle runs GC until the live counts stop changing (bounded), so that routes other tests
// dropped are gone, and returns them.
func settle() (int64, int) {
	h, r := LiveHandles(), LiveRoutes()
	for i := 0; i < 100; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
		h2, r2 := LiveHandles(), LiveRoutes()
		if h2 == h && r2 == r && i >= 3 {
			break
		}
		h, r = h2, r2
	}
	return h, r
}
