package routes_test

import (
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/route-registry/routes"
)

// backend is the caller's own per-route value: the registry hands it back on every lookup.
type backend struct {
	name string
}

// A registry of routes carrying the caller's own values: add one and look it up.
func Example() {
	reg := routes.NewRegistry[*backend]()
	defer reg.Close()

	rt, err := routes.NewRoute(routes.RouteConfig{
		Kind:     routes.KindHTTP,
		Alias:    "app",
		URL:      "http://10.0.0.5:8080",
		Provider: "docker",
	}, &backend{name: "app-backend"})
	if err != nil {
		fmt.Println("NewRoute:", err)
		return
	}
	if err := reg.Add(rt); err != nil {
		fmt.Println("Add:", err)
		return
	}

	got, ok := reg.Get("app")
	fmt.Println(ok, got == rt, got.Value().name)
	fmt.Println(got.Kind(), got.Alias(), got.ProviderName(), got.UpstreamHost())
	_, ok = reg.Get("missing")
	fmt.Println(ok)
	// Output:
	// true true app-backend
	// http app docker 10.0.0.5
	// false
}

// Adding a route whose key is taken: a route of lower priority is kept out, one of higher or
// equal priority replaces the live one.
func ExampleRegistry_Add() {
	reg := routes.NewRegistry[string]()
	defer reg.Close()

	mk := func(url string, priority int32) *routes.Route[string] {
		rt, err := routes.NewRoute(routes.RouteConfig{
			Kind: routes.KindHTTP, Alias: "app", URL: url, Priority: priority,
		}, url)
		if err != nil {
			panic(err)
		}
		return rt
	}
	fmt.Println(reg.Add(mk("http://10.0.0.1:80", 10)))
	err := reg.Add(mk("http://10.0.0.2:80", 5))
	fmt.Println(errors.Is(err, routes.ErrKept))
	fmt.Println(reg.Add(mk("http://10.0.0.3:80", 10)))

	got, _ := reg.Get("app")
	fmt.Println(got.Value())
	// Output:
	// <nil>
	// true
	// <nil>
	// http://10.0.0.3:80
}

// A request carries its route: handlers further down read the upstream without a lookup.
func ExampleWithRouteContext() {
	reg := routes.NewRegistry[struct{}]()
	defer reg.Close()
	rt, err := routes.NewRoute(routes.RouteConfig{
		Kind: routes.KindHTTP, Alias: "app", URL: "https://10.0.0.5:8443/base",
	}, struct{}{})
	if err != nil {
		panic(err)
	}
	if err := reg.Add(rt); err != nil {
		panic(err)
	}

	req := httptest.NewRequest("GET", "http://app.example.com/x", nil)
	if r, ok := reg.Get("app"); ok {
		req = routes.WithRouteContext(req, r)
	}
	fmt.Println(routes.TryGetUpstreamHost(req))
	fmt.Println(routes.TryGetUpstreamPort(req))
	fmt.Println(routes.TryGetUpstreamScheme(req))

	// A request without a route gives empty strings.
	bare := httptest.NewRequest("GET", "http://other.example.com/", nil)
	fmt.Printf("%q\n", routes.TryGetUpstreamHost(bare))
	// Output:
	// 10.0.0.5
	// 8443
	// https
	// ""
}

// A provider reload as one batch: the old set or the new one, never a mix; the change
// records say what changed.
func ExampleBatch() {
	reg := routes.NewRegistry[*backend]()
	defer reg.Close()
	load := func(aliases ...string) error {
		b := reg.NewBatch()
		defer b.Discard() // on an error nothing is applied
		for _, a := range aliases {
			rt, err := routes.NewRoute(routes.RouteConfig{Kind: routes.KindHTTP, Alias: a,
				URL: "http://10.0.0.5:8080", Provider: "file"}, &backend{name: a})
			if err != nil {
				return err
			}
			if err := b.Add(rt); err != nil {
				return err
			}
		}
		if err := b.ReplaceProvider("file"); err != nil {
			return err
		}
		_, err := b.Commit()
		return err
	}
	_ = load("a", "b")
	since := reg.Generation()
	_ = load("b", "c")
	changes, next, _ := reg.Changes(since)
	for c := range changes {
		fmt.Println(c.Generation, c.Op, c.Key)
	}
	fmt.Println("next:", next, "routes:", reg.NumAllRoutes())
	host, ok := reg.FindHTTPRoute("c.example.com:443")
	fmt.Println(host.Key(), ok)
	// Output:
	// 2 removed a
	// 2 replaced b
	// 2 added c
	// next: 2 routes: 2
	// c true
}
