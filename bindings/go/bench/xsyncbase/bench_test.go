package xsyncbase

import (
	"fmt"
	"testing"
	"time"

	"github.com/route-registry/routes"
)

// The binding and the xsync.Map baseline, filled with the same 10 000 HTTP routes (app0 ..
// app9999), measured side by side in one run:
//
//	go test -run '^$' -bench . -benchmem
const n = 10000

type app struct{ name string }

func setup(b *testing.B) (*routes.Registry[*app], *Registry) {
	reg := routes.NewRegistry[*app]()
	x := New()
	for i := range n {
		alias := fmt.Sprintf("app%d", i)
		raw := fmt.Sprintf("http://10.0.%d.%d:8080", i/256, i%256)
		rt, err := routes.NewRoute(routes.RouteConfig{Kind: routes.KindHTTP, Alias: alias, URL: raw}, &app{alias})
		if err != nil {
			b.Fatal(err)
		}
		if err := reg.Add(rt); err != nil {
			b.Fatal(err)
		}
		x.HTTP.Store(alias, &Route{Alias: alias, URL: raw})
	}
	b.Cleanup(func() { reg.Close() })
	return reg, x
}

// Get: a hit (app4242) and a miss (an absent key: HTTP then STREAM for the baseline).
func BenchmarkGet(b *testing.B) {
	reg, x := setup(b)
	for _, c := range []struct{ name, key string }{{"hit", "app4242"}, {"miss", "nope"}} {
		want := c.name == "hit"
		b.Run("binding/"+c.name, func(b *testing.B) {
			for b.Loop() {
				if _, ok := reg.Get(c.key); ok != want {
					b.Fatal("wrong result")
				}
			}
		})
		b.Run("xsync/"+c.name, func(b *testing.B) {
			for b.Loop() {
				if _, ok := x.Get(c.key); ok != want {
					b.Fatal("wrong result")
				}
			}
		})
		b.Run("binding-parallel/"+c.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, ok := reg.Get(c.key); ok != want {
						panic("wrong result")
					}
				}
			})
		})
		b.Run("xsync-parallel/"+c.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, ok := x.Get(c.key); ok != want {
						panic("wrong result")
					}
				}
			})
		})
	}
}

// FindHTTPRoute on a cache hit against GoDoxy's findRouteAnyDomain over xsync.Map: a
// first-label match (app4242.example.com -> app4242).
func BenchmarkFindHTTPRoute(b *testing.B) {
	reg, x := setup(b)
	const host = "app4242.example.com"
	b.Run("binding", func(b *testing.B) {
		for b.Loop() {
			if _, ok := reg.FindHTTPRoute(host); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("godoxy-xsync", func(b *testing.B) {
		for b.Loop() {
			if x.FindRouteAnyDomain(host) == nil {
				b.Fatal("miss")
			}
		}
	})
	b.Run("binding-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				reg.FindHTTPRoute(host)
			}
		})
	})
	b.Run("godoxy-xsync-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				x.FindRouteAnyDomain(host)
			}
		})
	})
}

// AfterChange: lookups of unchanged keys right after one add or one delete in the
// 10 000-route registry, against the same lookups with no change. Each iteration makes the
// change (untimed), then times 64 lookups of distinct unchanged keys (so each is that key's
// first lookup since the change) with one clock read around them; the reported metric is
// ns per lookup. "foreign" makes the change through another Registry value on the same
// native registry (Global with another type), as C code or another binding would, so the
// first lookup has to pull the change record itself.
func BenchmarkAfterChange(b *testing.B) {
	reg, _ := setup(b)
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprintf("app%d", 100+i*97)
	}
	extra, err := routes.NewRoute(routes.RouteConfig{Kind: routes.KindHTTP, Alias: "churn", URL: "http://10.9.9.9:80"}, &app{"churn"})
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, change func(i int)) {
		var total time.Duration
		lookups := 0
		for i := 0; i < b.N; i++ {
			change(i)
			t0 := time.Now()
			for _, k := range keys {
				if _, ok := reg.Get(k); !ok {
					b.Fatal("miss")
				}
			}
			total += time.Since(t0)
			lookups += len(keys)
		}
		b.ReportMetric(float64(total.Nanoseconds())/float64(lookups), "ns/lookup")
	}
	b.Run("no-change", func(b *testing.B) { run(b, func(int) {}) })
	b.Run("add-or-del", func(b *testing.B) {
		run(b, func(i int) {
			if i%2 == 0 {
				_ = reg.Add(extra)
			} else {
				_ = reg.HTTP.Del("churn")
			}
		})
	})
	greg := routes.Global[*app]()
	oreg := routes.Global[string]()
	for i := range n {
		rt, _ := routes.NewRoute(routes.RouteConfig{Kind: routes.KindHTTP, Alias: fmt.Sprintf("app%d", i), URL: "http://10.0.0.1:80"}, &app{})
		_ = greg.Add(rt)
	}
	gextra, _ := routes.NewRoute(routes.RouteConfig{Kind: routes.KindHTTP, Alias: "churn", URL: "http://10.9.9.9:80"}, "x")
	reg = greg
	b.Run("foreign-add-or-del", func(b *testing.B) {
		run(b, func(i int) {
			if i%2 == 0 {
				_ = oreg.Add(gextra)
			} else {
				_ = oreg.HTTP.Del("churn")
			}
		})
	})
	greg.Clear()
}
