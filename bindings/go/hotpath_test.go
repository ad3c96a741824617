package routes

import (
	"net/http/httptest"
	"testing"
)

// Lookups answered from the cache and the request-context accessors allocate nothing.
func TestHotPathsDoNotAllocate(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	rt := mustRoute(t, KindHTTP, "hot", "http://10.0.0.1:80")
	if err := reg.Add(rt); err != nil {
		t.Fatal(err)
	}
	req := WithRouteContext(httptest.NewRequest("GET", "http://hot/", nil), rt)
	for name, f := range map[string]func(){
		"Get hit":                  func() { reg.Get("hot") },
		"Get miss":                 func() { reg.Get("cold") },
		"Pool.Get":                 func() { reg.HTTP.Get("hot") },
		"GetIncludeExcluded":       func() { reg.GetIncludeExcluded("hot") },
		"GetHTTPRouteOrExact":      func() { reg.GetHTTPRouteOrExact("x", "hot") },
		"TryGetRoute":              func() { TryGetRoute[*app](req) },
		"TryGetUpstreamHostPort":   func() { TryGetUpstreamHostPort(req) },
		"IterActive (cached)":      func() { reg.IterActive(func(*Route[*app]) bool { return true }) },
		"Generation (no cgo call)": func() { reg.Generation() },
		"FindHTTPRoute hit":        func() { reg.FindHTTPRoute("hot.example.com") },
		"FindHTTPRoute miss":       func() { reg.FindHTTPRoute("cold.example.com") },
	} {
		f() // fill the cache
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %.1f allocations per call", name, n)
		}
	}
}
