package routes

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

type ctxKeyOther struct{}

func TestRouteContext(t *testing.T) {
	rt := mustRoute(t, KindHTTP, "web", "https://[fe80::1]:8443/p?q=1")
	defer rt.Close()
	req := httptest.NewRequest("GET", "http://web.example.com/x", nil)
	req = req.WithContext(context.WithValue(req.Context(), ctxKeyOther{}, "v"))

	// Without a route: empty strings, nil route.
	for name, f := range contextFuncs() {
		if got := f(req); got != "" {
			t.Errorf("%s without a route = %q", name, got)
		}
	}
	if TryGetRoute[*app](req) != nil {
		t.Fatal("TryGetRoute without a route")
	}
	if WithRouteContext[*app](req, nil) != req {
		t.Fatal("a nil route leaves the request alone")
	}

	r2 := WithRouteContext(req, rt)
	if reflect.ValueOf(r2.Header).Pointer() != reflect.ValueOf(req.Header).Pointer() || r2.URL != req.URL {
		t.Fatal("WithRouteContext must not clone the request's contents")
	}
	want := map[string]string{
		"Name": "web", "Scheme": "https", "Host": "fe80::1", "Port": "8443",
		"HostPort": "[fe80::1]:8443", "Addr": "[fe80::1]:8443", "URL": "https://[fe80::1]:8443/p?q=1",
	}
	for name, f := range contextFuncs() {
		if got := f(r2); got != want[name] {
			t.Errorf("TryGetUpstream%s = %q, want %q", name, got, want[name])
		}
	}
	if got := TryGetRoute[*app](r2); got != rt || got.Value().name != "web" {
		t.Fatalf("TryGetRoute = %v", got)
	}
	if TryGetRoute[int](r2) != nil {
		t.Fatal("TryGetRoute of another type")
	}
	if r2.Context().Value(ctxKeyOther{}) != "v" {
		t.Fatal("the parent context's values stay visible")
	}
	// A context derived from the route context still finds the route.
	ctx, cancel := context.WithTimeout(r2.Context(), time.Minute)
	defer cancel()
	r3 := r2.WithContext(context.WithValue(ctx, ctxKeyOther{}, "w"))
	if TryGetUpstreamHost(r3) != "fe80::1" || TryGetRoute[*app](r3) != rt {
		t.Fatal("route lost under a derived context")
	}
	// The innermost route wins.
	other := mustRoute(t, KindHTTP, "api", "http://127.0.0.1:9000")
	defer other.Close()
	r4 := WithRouteContext(r3, other)
	if TryGetUpstreamName(r4) != "api" || TryGetUpstreamPort(r4) != "9000" {
		t.Fatal("nested route")
	}
}

func contextFuncs() map[string]func(r *http.Request) string {
	return map[string]func(r *http.Request) string{
		"Name": TryGetUpstreamName, "Scheme": TryGetUpstreamScheme, "Host": TryGetUpstreamHost,
		"Port": TryGetUpstreamPort, "HostPort": TryGetUpstreamHostPort, "Addr": TryGetUpstreamAddr,
		"URL": TryGetUpstreamURL,
	}
}
