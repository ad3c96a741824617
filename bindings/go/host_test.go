package routes

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestFindHTTPRoute(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	app1 := mustRoute(t, KindHTTP, "app", "http://10.0.0.1:80")
	wild := mustRoute(t, KindHTTP, "*.wild.com", "http://10.0.0.2:80")
	st := mustRoute(t, KindStream, "tcp", "tcp://10.0.0.3:53")
	for _, rt := range []*Route[*app]{app1, wild, st} {
		if err := reg.Add(rt); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		host string
		want *Route[*app]
	}{
		{"app", app1}, {"app.example.com", app1}, {"APP.Example.com:8443", app1}, {"app.", app1},
		{"x.wild.com", wild}, {"a.b.wild.com", nil}, {"tcp.example.com", nil}, {"", nil},
		{"none.example.com", nil}, {"[::1]:80", nil}, {"app\x00.x", nil}, {strings.Repeat("a", 2000), nil},
	}
	for round := range 2 { // the second round is answered from the host cache
		native := nativeLookups.Load()
		for _, c := range cases {
			got, ok := reg.FindHTTPRoute(c.host)
			if got != c.want || ok != (c.want != nil) {
				t.Errorf("round %d: FindHTTPRoute(%.20q) = %v, %v; want %v", round, c.host, got, ok, c.want)
			}
		}
		if n := nativeLookups.Load() - native; round == 1 && n != 1 { // only the 2000-byte host is never cached
			t.Errorf("round 2 made %d native lookups, want 1", n)
		}
	}
	// A change drops every host answer: a cached miss becomes a hit.
	none := mustRoute(t, KindHTTP, "none", "http://10.0.0.4:80")
	if err := reg.Add(none); err != nil {
		t.Fatal(err)
	}
	if got, _ := reg.FindHTTPRoute("none.example.com"); got != none {
		t.Error("a cached miss survived an add")
	}
	_ = reg.HTTP.Del("app")
	if _, ok := reg.FindHTTPRoute("app.example.com"); ok {
		t.Error("a cached hit survived a delete")
	}
	// A route closed by its holder is looked up again.
	if got, _ := reg.FindHTTPRoute("x.wild.com"); got != wild {
		t.Fatal("wild")
	}
	wild.Close()
	if got, ok := reg.FindHTTPRoute("x.wild.com"); !ok || got == wild || got.Key() != "*.wild.com" {
		t.Error("a closed route was handed out")
	}
}

// Domains change the answers without a change record: host answers are dropped anyway.
func TestSetRouteDomainsInvalidatesHostAnswers(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	xy := mustRoute(t, KindHTTP, "x.y", "http://10.0.0.1:80")
	if err := reg.Add(xy); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.FindHTTPRoute("x.y.example.com"); ok { // first label "x": a miss, cached
		t.Fatal("found without domains")
	}
	g := reg.Generation()
	if err := reg.SetRouteDomains("example.com"); err != nil {
		t.Fatal(err)
	}
	if reg.Generation() != g+1 {
		t.Error("SetRouteDomains did not bump the generation")
	}
	if got, _ := reg.FindHTTPRoute("x.y.example.com"); got != xy {
		t.Error("the cached miss survived SetRouteDomains")
	}
	if err := reg.SetRouteDomains("other.org", ""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("an empty domain = %v", err)
	}
	if err := reg.SetRouteDomains("a\x00b"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("a NUL domain = %v", err)
	}
	if got, _ := reg.FindHTTPRoute("x.y.example.com"); got != xy {
		t.Error("a refused SetRouteDomains changed the domains")
	}
	if err := reg.SetRouteDomains(); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.FindHTTPRoute("x.y.example.com"); ok {
		t.Error("domains were not reset")
	}
}

// A flood of distinct unknown hosts cannot grow the host cache past its fixed table.
func TestFindHTTPRouteFloodIsBounded(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	if err := reg.Add(mustRoute(t, KindHTTP, "app", "http://10.0.0.1:80")); err != nil {
		t.Fatal(err)
	}
	for i := range 50000 {
		if _, ok := reg.FindHTTPRoute(fmt.Sprintf("h%d.attacker.net", i)); ok {
			t.Fatal("an unknown host matched")
		}
	}
	reg.FindHTTPRoute(strings.Repeat("b", maxCachedHost+1))
	v := reg.view.Load()
	tab := v.hosts.Load()
	n, bytes := 0, 0
	for i := range tab.slots {
		if e := tab.slots[i].Load(); e != nil {
			n++
			bytes += len(e.host)
		}
	}
	if n > hostSlots || bytes > hostSlots*maxCachedHost {
		t.Errorf("host cache holds %d entries, %d bytes", n, bytes)
	}
	if got, ok := reg.FindHTTPRoute("app.example.com"); !ok || got.Key() != "app" {
		t.Error("a known host after the flood")
	}
}
