package routes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	if ABIVersion() != HeaderABIVersion {
		t.Fatalf("library ABI %d, header ABI %d", ABIVersion(), HeaderABIVersion)
	}
	if v := Version(); v == "" || strings.Count(v, ".") != 2 {
		t.Fatalf("Version() = %q", v)
	}
}

func TestRouteAccessors(t *testing.T) {
	rt := mustRoute(t, KindHTTP, "app", "http://10.0.0.5:8080/base", func(c *RouteConfig) {
		c.Key = "file:app"
		c.DisplayName = "App"
		c.Provider = "file"
		c.Priority = 7
		c.Docker = true
	})
	defer rt.Close()
	checks := map[string][2]string{
		"Name": {rt.Name(), "app"}, "Alias": {rt.Alias(), "app"}, "Key": {rt.Key(), "file:app"},
		"DisplayName": {rt.DisplayName(), "App"}, "ProviderName": {rt.ProviderName(), "file"},
		"UpstreamScheme": {rt.UpstreamScheme(), "http"}, "UpstreamHost": {rt.UpstreamHost(), "10.0.0.5"},
		"UpstreamPort": {rt.UpstreamPort(), "8080"}, "UpstreamHostPort": {rt.UpstreamHostPort(), "10.0.0.5:8080"},
		"UpstreamAddr": {rt.UpstreamAddr(), "10.0.0.5:8080"}, "UpstreamURL": {rt.UpstreamURL(), "http://10.0.0.5:8080/base"},
		"Kind": {rt.Kind().String(), "http"}, "String": {rt.String(), "http route file:app"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if rt.Priority() != 7 || !rt.IsDocker() || rt.IsFrozen() || rt.Value().name != "app" {
		t.Fatalf("priority %d docker %v frozen %v value %+v", rt.Priority(), rt.IsDocker(), rt.IsFrozen(), rt.Value())
	}
	if _, ok := rt.Proxmox(); ok {
		t.Fatal("a docker route has no proxmox link")
	}
}

func TestLookupsReturnCallersObjects(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	rt := mustRoute(t, KindHTTP, "web", "http://127.0.0.1:81")
	if err := reg.Add(rt); err != nil {
		t.Fatal(err)
	}
	if !rt.IsFrozen() {
		t.Fatal("an added route is frozen")
	}
	for i := 0; i < 3; i++ { // first a native lookup, then cache hits
		got, ok := reg.Get("web")
		if !ok || got != rt || got.Value() != rt.Value() {
			t.Fatalf("Get gave %p (%v), want the caller's %p", got, ok, rt)
		}
	}
	for name, f := range map[string]func() (*Route[*app], bool){
		"HTTP.Get":            func() (*Route[*app], bool) { return reg.HTTP.Get("web") },
		"GetIncludeExcluded":  func() (*Route[*app], bool) { return reg.GetIncludeExcluded("web") },
		"GetHTTPRouteOrExact": func() (*Route[*app], bool) { return reg.GetHTTPRouteOrExact("web", "x") },
	} {
		if got, ok := f(); !ok || got != rt {
			t.Errorf("%s gave %p, want %p", name, got, rt)
		}
	}
	for got := range reg.IterActive {
		if got != rt || got.Value().name != "web" {
			t.Fatalf("IterActive gave %p %+v", got, got.Value())
		}
	}
	// A route made with another value type is seen with the zero value.
	other := NewRegistry[int]()
	defer other.Close()
	r2, err := NewRoute(RouteConfig{Kind: KindStream, Alias: "db", URL: "tcp://127.0.0.1:5432"}, 42)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Add((*Route[*app])(nil)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Add(nil) = %v", err)
	}
	if err := other.Add(r2); err != nil {
		t.Fatal(err)
	}
	if got, ok := other.Get("db"); !ok || got != r2 || got.Value() != 42 {
		t.Fatalf("Registry[int].Get = %v %v", got, ok)
	}
}

func TestPools(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	for _, tc := range []struct {
		pool *Pool[*app]
		kind Kind
		url  string
	}{{reg.HTTP, KindHTTP, "http://127.0.0.1:1"}, {reg.Stream, KindStream, "tcp://127.0.0.1:2"}, {reg.Excluded, KindExcluded, ""}} {
		p := tc.pool
		if p.Kind() != tc.kind {
			t.Fatalf("pool kind %v", p.Kind())
		}
		names := []string{"c", "a", "b"}
		for _, n := range names {
			if err := p.Add(mustRoute(t, tc.kind, n, tc.url)); err != nil {
				t.Fatal(err)
			}
		}
		if p.Size() != 3 {
			t.Fatalf("%v size %d", tc.kind, p.Size())
		}
		var got []string
		for _, rt := range p.Slice() {
			got = append(got, rt.Alias())
		}
		if !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Fatalf("%v Slice = %v", tc.kind, got)
		}
		seen := map[string]bool{}
		for k, rt := range p.Iter {
			if k != rt.Key() || rt.Kind() != tc.kind {
				t.Fatalf("Iter gave %q -> %v", k, rt)
			}
			seen[k] = true
		}
		if len(seen) != 3 {
			t.Fatalf("Iter saw %v", seen)
		}
		n := 0
		for range p.Iter {
			n++
			break
		}
		if n != 1 {
			t.Fatal("Iter does not stop")
		}
		// AddIfNotExists: kept, then added.
		dup := mustRoute(t, tc.kind, "a", tc.url)
		actual, added, err := p.AddIfNotExists(dup)
		if err != nil || added || actual == nil || actual == dup || actual.Alias() != "a" {
			t.Fatalf("AddIfNotExists(dup) = %v %v %v", actual, added, err)
		}
		fresh := mustRoute(t, tc.kind, "d", tc.url)
		if actual, added, err := p.AddIfNotExists(fresh); err != nil || !added || actual != fresh {
			t.Fatalf("AddIfNotExists(fresh) = %v %v %v", actual, added, err)
		}
		if err := p.Del("d"); err != nil {
			t.Fatal(err)
		}
		if err := p.Del("d"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "d") {
			t.Fatalf("Del twice = %v", err)
		}
		if _, ok := p.Get("d"); ok {
			t.Fatal("deleted route found")
		}
		if rt, ok := p.Get("b"); !ok || rt.Value().name != "b" {
			t.Fatal("Get b")
		}
		p.Clear()
		if p.Size() != 0 || len(p.Slice()) != 0 {
			t.Fatalf("%v not cleared", tc.kind)
		}
	}
	// A route of the wrong kind is refused, naming it.
	err := reg.Stream.Add(mustRoute(t, KindHTTP, "h", "http://127.0.0.1:3"))
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), `"h"`) {
		t.Fatalf("wrong kind: %v", err)
	}
}

func TestRegistryLookupOrder(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	h := mustRoute(t, KindHTTP, "x", "http://127.0.0.1:1", withProvider("p1"))
	s := mustRoute(t, KindStream, "x", "tcp://127.0.0.1:2", withProvider("p2"))
	s2 := mustRoute(t, KindStream, "only-stream", "udp://127.0.0.1:3", withProvider("p2"))
	e := mustRoute(t, KindExcluded, "ex", "", withProvider("p1"), withKey("p1:ex"))
	host := mustRoute(t, KindHTTP, "h", "http://127.0.0.1:4", withKey("h.example.com"))
	for _, rt := range []*Route[*app]{h, s, s2, e, host} {
		if err := reg.Add(rt); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := reg.Get("x"); got != h {
		t.Fatal("Get prefers HTTP")
	}
	if got, _ := reg.Get("only-stream"); got != s2 {
		t.Fatal("Get falls back to STREAM")
	}
	if _, ok := reg.Get("p1:ex"); ok {
		t.Fatal("Get never returns EXCLUDED")
	}
	if got, ok := reg.GetIncludeExcluded("p1:ex"); !ok || got != e {
		t.Fatal("GetIncludeExcluded")
	}
	if got, ok := reg.GetHTTPRouteOrExact("nope", "h.example.com"); !ok || got != host {
		t.Fatal("GetHTTPRouteOrExact exact host")
	}
	if _, ok := reg.GetHTTPRouteOrExact("only-stream", "nope"); ok {
		t.Fatal("GetHTTPRouteOrExact looks in HTTP only")
	}
	if reg.NumActiveRoutes() != 4 || reg.NumAllRoutes() != 5 {
		t.Fatalf("counts %d %d", reg.NumActiveRoutes(), reg.NumAllRoutes())
	}
	var active, all []string
	for rt := range reg.IterActive {
		active = append(active, rt.Kind().String()+":"+rt.Key())
	}
	for rt := range reg.IterAll {
		all = append(all, rt.Kind().String()+":"+rt.Key())
	}
	if len(active) != 4 || len(all) != 5 || !strings.HasPrefix(all[4], "excluded:") ||
		!strings.HasPrefix(active[0], "http:") || !strings.HasPrefix(active[3], "stream:") {
		t.Fatalf("IterActive %v IterAll %v", active, all)
	}
	n := 0
	for range reg.IterAll {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatal("IterAll early stop")
	}
	// ByProvider (Go objects) agrees with the library's keys view.
	bp := reg.ByProvider()
	keys := reg.ByProviderKeys()
	want := map[string][]string{"": {"h.example.com"}, "p1": {"p1:ex", "x"}, "p2": {"only-stream", "x"}}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("ByProviderKeys = %v", keys)
	}
	for p, l := range bp {
		var ks []string
		for _, rt := range l {
			if rt.ProviderName() != p {
				t.Fatalf("route %v under provider %q", rt, p)
			}
			ks = append(ks, rt.Key())
		}
		if !slices.Equal(ks, want[p]) {
			t.Fatalf("ByProvider[%q] = %v", p, ks)
		}
	}
	if len(bp) != len(want) {
		t.Fatalf("ByProvider has %d providers", len(bp))
	}
	// Priority: a lower one is kept out.
	low := mustRoute(t, KindHTTP, "x", "http://127.0.0.1:9", withPriority(-1))
	if err := reg.Add(low); !errors.Is(err, ErrKept) {
		t.Fatalf("lower priority: %v", err)
	}
	if low.IsFrozen() {
		t.Fatal("a kept-out route is not frozen")
	}
	high := mustRoute(t, KindHTTP, "x", "http://127.0.0.1:10", withPriority(1))
	if err := reg.Add(high); err != nil {
		t.Fatal(err)
	}
	if got, _ := reg.Get("x"); got != high {
		t.Fatal("higher priority replaces")
	}
	if err := reg.Del(high); err != nil {
		t.Fatal(err)
	}
	reg.Clear()
	if reg.NumAllRoutes() != 0 {
		t.Fatal("Clear")
	}
	if reg.PurgeTombstones() != 0 {
		t.Fatal("no tombstones after Clear")
	}
}

func TestGlobalRegistry(t *testing.T) {
	g := Global[*app]()
	if g != Global[*app]() {
		t.Fatal("Global is one registry per type")
	}
	rt := mustRoute(t, KindHTTP, "global-test", "http://127.0.0.1:80")
	if err := g.Add(rt); err != nil {
		t.Fatal(err)
	}
	if got, ok := g.Get("global-test"); !ok || got != rt {
		t.Fatal("global Get")
	}
	if got, ok := Global[int]().Get("global-test"); !ok || got.Alias() != "global-test" || got.Value() != 0 {
		t.Fatal("the global registry is shared across value types")
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.HTTP.Del("global-test"); err != nil { // still usable: Close is a no-op
		t.Fatal(err)
	}
}

func TestClosedRegistry(t *testing.T) {
	reg := NewRegistry[*app]()
	if err := reg.Add(mustRoute(t, KindHTTP, "a", "http://127.0.0.1:1")); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Get("a"); !ok {
		t.Fatal("Get")
	}
	reg.Close()
	reg.Close()
	if err := reg.Add(mustRoute(t, KindHTTP, "b", "http://127.0.0.1:1")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
	if _, err := reg.HealthJSON(HealthFull); !errors.Is(err, ErrClosed) {
		t.Fatalf("HealthJSON after Close: %v", err)
	}
	defer func() {
		r := recover()
		if err, ok := r.(error); !ok || !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "Get: the registry is closed") {
			t.Fatalf("use after Close: %v", r)
		}
	}()
	reg.Get("a")
}

// ByProvider keeps the library's order within a provider: by key, then pool.
func TestByProviderOrder(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	for _, rt := range []*Route[*app]{
		mustRoute(t, KindExcluded, "k", "", withProvider("p")),
		mustRoute(t, KindStream, "k", "tcp://127.0.0.1:2", withProvider("p")),
		mustRoute(t, KindHTTP, "k", "http://127.0.0.1:1", withProvider("p")),
		mustRoute(t, KindHTTP, "z", "http://127.0.0.1:1", withProvider("p")),
		mustRoute(t, KindHTTP, "a", "http://127.0.0.1:1", withProvider("p")),
		mustRoute(t, KindHTTP, "b", "http://127.0.0.1:1", withProvider("q")),
	} {
		if err := reg.Add(rt); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, rt := range reg.ByProvider()["p"] {
		got = append(got, rt.Kind().String()+":"+rt.Key())
	}
	if want := []string{"http:a", "http:k", "stream:k", "excluded:k", "http:z"}; !slices.Equal(got, want) {
		t.Fatalf("ByProvider[p] = %v, want %v", got, want)
	}
	if l := reg.ByProvider()["q"]; len(l) != 1 || l[0].Key() != "b" {
		t.Fatalf("ByProvider[q] = %v", l)
	}
}

// GetHTTPRouteOrExact's cache is keyed by both strings and dropped on every change.
func TestGetHTTPRouteOrExactCache(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	a := mustRoute(t, KindHTTP, "a", "http://127.0.0.1:1")
	ab := mustRoute(t, KindHTTP, "ab", "http://127.0.0.1:1")
	for _, rt := range []*Route[*app]{a, ab} {
		if err := reg.Add(rt); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ { // the second round is served from the cache
		if got, _ := reg.GetHTTPRouteOrExact("a", "b"); got != a {
			t.Fatalf("(a, b) = %v", got)
		}
		if got, _ := reg.GetHTTPRouteOrExact("x", "ab"); got != ab {
			t.Fatalf("(x, ab) = %v", got)
		}
		if got, ok := reg.GetHTTPRouteOrExact("ab", ""); !ok || got != ab {
			t.Fatalf("(ab, \"\") = %v", got)
		}
		if _, ok := reg.GetHTTPRouteOrExact("", "a\x00b"); ok {
			t.Fatal(`("", "a\x00b") found something`)
		}
	}
	if err := reg.HTTP.Del("a"); err != nil {
		t.Fatal(err)
	}
	if got, ok := reg.GetHTTPRouteOrExact("a", "ab"); !ok || got != ab {
		t.Fatalf("after deleting a: %v %v", got, ok)
	}
}
