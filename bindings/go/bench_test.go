package routes

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// Pure-Go registries to compare with: GoDoxy's pool is a map behind a lock; sync.Map is
// the other usual choice.
type goRoute struct {
	alias string
	u     *url.URL
}

type syncMapRegistry struct{ m sync.Map }

func (r *syncMapRegistry) Add(rt *goRoute) { r.m.Store(rt.alias, rt) }
func (r *syncMapRegistry) Get(k string) (*goRoute, bool) {
	v, ok := r.m.Load(k)
	if !ok {
		return nil, false
	}
	return v.(*goRoute), true
}
func (r *syncMapRegistry) Iter(yield func(*goRoute) bool) {
	r.m.Range(func(_, v any) bool { return yield(v.(*goRoute)) })
}

type rwMapRegistry struct {
	mu sync.RWMutex
	m  map[string]*goRoute
}

func (r *rwMapRegistry) Add(rt *goRoute) {
	r.mu.Lock()
	r.m[rt.alias] = rt
	r.mu.Unlock()
}
func (r *rwMapRegistry) Get(k string) (*goRoute, bool) {
	r.mu.RLock()
	rt, ok := r.m[k]
	r.mu.RUnlock()
	return rt, ok
}
func (r *rwMapRegistry) Iter(yield func(*goRoute) bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, rt := range r.m {
		if !yield(rt) {
			return
		}
	}
}

type goCtxKey struct{}

const benchRoutes = 10000

func benchSetup(b *testing.B) (*Registry[*app], *syncMapRegistry, *rwMapRegistry) {
	reg := NewRegistry[*app]()
	sm := &syncMapRegistry{}
	rw := &rwMapRegistry{m: map[string]*goRoute{}}
	for i := 0; i < benchRoutes; i++ {
		alias := fmt.Sprintf("app%d", i)
		raw := fmt.Sprintf("http://10.0.%d.%d:8080", i/256, i%256)
		rt, err := NewRoute(RouteConfig{Kind: KindHTTP, Alias: alias, URL: raw}, &app{name: alias})
		if err != nil {
			b.Fatal(err)
		}
		if err := reg.Add(rt); err != nil {
			b.Fatal(err)
		}
		u, _ := url.Parse(raw)
		sm.Add(&goRoute{alias, u})
		rw.Add(&goRoute{alias, u})
	}
	b.Cleanup(func() { reg.Close() })
	return reg, sm, rw
}

func BenchmarkGet(b *testing.B) {
	reg, sm, rw := benchSetup(b)
	for _, key := range []struct{ name, key string }{{"hit", "app4242"}, {"miss", "nope"}} {
		want := key.name == "hit"
		b.Run("binding/"+key.name, func(b *testing.B) {
			for b.Loop() {
				if _, ok := reg.Get(key.key); ok != want {
					b.Fatal("wrong result")
				}
			}
		})
		b.Run("syncmap/"+key.name, func(b *testing.B) {
			for b.Loop() {
				if _, ok := sm.Get(key.key); ok != want {
					b.Fatal("wrong result")
				}
			}
		})
		b.Run("rwmutex/"+key.name, func(b *testing.B) {
			for b.Loop() {
				if _, ok := rw.Get(key.key); ok != want {
					b.Fatal("wrong result")
				}
			}
		})
		b.Run("binding-parallel/"+key.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					reg.Get(key.key)
				}
			})
		})
		b.Run("syncmap-parallel/"+key.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					sm.Get(key.key)
				}
			})
		})
	}
}

func BenchmarkIter10k(b *testing.B) {
	reg, sm, rw := benchSetup(b)
	b.Run("binding", func(b *testing.B) {
		for b.Loop() {
			n := 0
			for range reg.IterActive {
				n++
			}
			if n != benchRoutes {
				b.Fatal(n)
			}
		}
	})
	b.Run("syncmap", func(b *testing.B) {
		for b.Loop() {
			n := 0
			for range sm.Iter {
				n++
			}
			if n != benchRoutes {
				b.Fatal(n)
			}
		}
	})
	b.Run("rwmutex", func(b *testing.B) {
		for b.Loop() {
			n := 0
			for range rw.Iter {
				n++
			}
			if n != benchRoutes {
				b.Fatal(n)
			}
		}
	})
}

func BenchmarkRouteContext(b *testing.B) {
	reg, sm, _ := benchSetup(b)
	req := httptest.NewRequest("GET", "http://app7.example.com/", nil)
	rt, _ := reg.Get("app7")
	grt, _ := sm.Get("app7")
	b.Run("binding", func(b *testing.B) {
		for b.Loop() {
			if TryGetUpstreamHost(WithRouteContext(req, rt)) != "10.0.0.7" {
				b.Fatal("host")
			}
		}
	})
	b.Run("go-context", func(b *testing.B) { // GoDoxy's way: context.WithValue + u.Hostname()
		for b.Loop() {
			r2 := req.WithContext(context.WithValue(req.Context(), goCtxKey{}, grt))
			if r2.Context().Value(goCtxKey{}).(*goRoute).u.Hostname() != "10.0.0.7" {
				b.Fatal("host")
			}
		}
	})
	_ = http.MethodGet
}
