package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/route-registry/routes"
)

func TestDemoEndToEnd(t *testing.T) {
	var out bytes.Buffer
	ex, err := RunDemo(context.Background(), &out, "routes.json")
	if err != nil {
		t.Fatalf("RunDemo: %v\n%s", err, out.String())
	}
	if len(ex) != 7 {
		t.Fatalf("%d exchanges", len(ex))
	}
	var changes ChangesJSON
	if err := json.Unmarshal([]byte(ex[4].Body), &changes); err != nil {
		t.Fatalf("changes JSON %q: %v", ex[4].Body, err)
	}
	ops := map[string]string{}
	for _, c := range changes.Changes {
		if c.Generation != changes.Next {
			t.Errorf("a reload's record at generation %d, want one change set at %d", c.Generation, changes.Next)
		}
		ops[c.Key] = c.Op
	}
	if ops["db"] != "removed" || ops["app3"] != "added" || ops["app2"] != "replaced" {
		t.Errorf("reload records: %+v", changes.Changes)
	}
	if !strings.Contains(ex[5].Body, "upstream 1: host=app2.example.test") || !strings.Contains(ex[6].Body, "upstream 2: host=app3.example.test") {
		t.Errorf("after the reload: %q, %q", ex[5].Body, ex[6].Body)
	}
	if !strings.Contains(out.String(), `msg="route removed" kind=stream key=db`) {
		t.Errorf("the reload's records were not logged:\n%s", out.String())
	}
	for i, want := range []string{
		"upstream 1: host=app1.example.test path=/hello route=app1 upstream-host=127.0.0.1",
		"upstream 2: host=app2.example.test:",
		"no such route: unknown.example.test",
	} {
		if !strings.Contains(ex[i].Body, want) {
			t.Errorf("exchange %d: %d %q, want %q", i, ex[i].Status, ex[i].Body, want)
		}
	}
	if ex[2].Status != http.StatusNotFound {
		t.Errorf("unknown host: %d", ex[2].Status)
	}
	var health map[string]routes.HealthInfo
	if err := json.Unmarshal([]byte(ex[3].Body), &health); err != nil {
		t.Fatalf("health JSON %q: %v", ex[3].Body, err)
	}
	for _, alias := range []string{"app1", "app2", "db"} {
		if h := health[alias]; h.Status != routes.StatusHealthy || h.Latency <= 0 {
			t.Errorf("health[%s] = %+v", alias, h)
		}
	}
	if health["legacy"].Status != routes.StatusUnknown || len(health) != 4 {
		t.Errorf("health = %+v", health)
	}
	if !strings.Contains(out.String(), "GET unknown.example.test/ -> 404") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRoutingByHost(t *testing.T) {
	reg := routes.NewRegistry[*target]()
	defer reg.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.Header.Get("X-Route-Name")))
	}))
	defer up.Close()
	err := AddRoutes(reg, []RouteEntry{
		{Alias: "web", Upstream: up.URL, Kind: "http"},
		{Alias: "*.wild.org", Upstream: up.URL, Kind: "http"},
		{Alias: "a.b", Upstream: up.URL, Kind: "http"},
		{Alias: "bare.example.org", Upstream: up.URL, Kind: "http"},
		{Alias: "tcp", Upstream: "tcp://" + strings.TrimPrefix(up.URL, "http://"), Kind: "stream"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.SetRouteDomains("corp.example"); err != nil {
		t.Fatal(err)
	}
	p := NewProxy(reg)
	for host, want := range map[string]string{
		"web.corp.example":     "web",              // the part before a -domains domain
		"web:8080":             "web",              // alias with port
		"x.wild.org:8443":      "*.wild.org",       // wildcard route
		"A.B.corp.example:80":  "a.b",              // part before a -domains domain, any case
		"bare.example.org:443": "bare.example.org", // host without its port
		"tcp.example.com":      "",                 // stream routes are not HTTP routes
		"nothing.example.com":  "",
	} {
		req := httptest.NewRequest("GET", "http://"+host+"/", nil)
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		if want == "" {
			if rec.Code != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", host, rec.Code)
			}
			continue
		}
		if rec.Code != 200 || rec.Body.String() != want {
			t.Errorf("%s: %d %q, want %q", host, rec.Code, rec.Body.String(), want)
		}
	}
	if err := AddRoutes(reg, []RouteEntry{{Alias: "x", Upstream: "http://a b", Kind: "http"}}); err == nil || !strings.Contains(err.Error(), "a b") {
		t.Errorf("bad upstream: %v", err)
	}
	if err := AddRoutes(reg, []RouteEntry{{Alias: "x", Upstream: "http://a", Kind: "udp"}}); err == nil || !strings.Contains(err.Error(), "udp") {
		t.Errorf("bad kind: %v", err)
	}
}

func TestHealthCheckMarksDownUpstreams(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	reg := routes.NewRegistry[*target]()
	defer reg.Close()
	if err := AddRoutes(reg, []RouteEntry{{Alias: "down", Upstream: "http://" + dead, Kind: "http"}, {Alias: "down-tcp", Upstream: "tcp://" + dead, Kind: "stream"}}); err != nil {
		t.Fatal(err)
	}
	(&Checker{Reg: reg, Timeout: time.Second}).CheckAll(context.Background())
	for alias, h := range reg.HealthInfo() {
		if h.Status != routes.StatusUnhealthy || h.Detail == "" {
			t.Errorf("%s: %+v", alias, h)
		}
	}
}

func TestServeShutsDownCleanly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "routes.json")
	if err := os.WriteFile(path, []byte(`[{"alias":"a","upstream":"http://127.0.0.1:1","kind":"http"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, path, "127.0.0.1:0", 50*time.Millisecond, []string{"example.com"}) }()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// A reload keeps the routes whose entries did not change (same route, health kept, no
// record); only the changed entries are recorded, and loading the same file again changes
// nothing.
func TestReloadKeepsUnchangedRoutes(t *testing.T) {
	reg := routes.NewRegistry[*target]()
	defer reg.Close()
	path := filepath.Join(t.TempDir(), "routes.json")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := `{"alias":"a","upstream":"http://127.0.0.1:1","provider":"file","kind":"http"}`
	write(`[` + a + `,{"alias":"b","upstream":"http://127.0.0.1:2","provider":"file","kind":"http"}]`)
	fp := &FileProvider{Reg: reg, Path: path, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := fp.Load(); err != nil {
		t.Fatal(err)
	}
	ra, _ := reg.Get("a")
	if err := ra.SetHealth(routes.StatusHealthy, 2*time.Millisecond, time.Minute, "up"); err != nil {
		t.Fatal(err)
	}
	write(`[` + a + `,{"alias":"b","upstream":"http://127.0.0.1:3","provider":"file","kind":"http"},
	        {"alias":"c","upstream":"tcp://127.0.0.1:4","provider":"file","kind":"stream"}]`)
	recs, err := fp.Load()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range recs {
		got = append(got, c.Op.String()+" "+c.Key)
	}
	if strings.Join(got, ", ") != "replaced b, added c" {
		t.Errorf("reload records: %q, want only b replaced and c added", got)
	}
	if now, _ := reg.Get("a"); now != ra {
		t.Error("the unchanged route a was replaced")
	}
	if st, up, _, err := ra.Health(); err != nil || st != routes.StatusHealthy || up != 2*time.Millisecond {
		t.Errorf("the unchanged route lost its health: %v %v %v", st, up, err)
	}
	g := reg.Generation()
	if recs, err := fp.Load(); err != nil || len(recs) != 0 || reg.Generation() != g {
		t.Errorf("loading the same file again: %d records, generation %d -> %d, err %v", len(recs), g, reg.Generation(), err)
	}
}

// A routes file that fails to load leaves the old routes; /api/changes answers 400 for a bad
// since and 410 once the records were dropped from the log.
func TestReloadErrorKeepsOldRoutesAndChangesAPI(t *testing.T) {
	reg := routes.NewRegistry[*target]()
	defer reg.Close()
	path := filepath.Join(t.TempDir(), "routes.json")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`[{"alias":"a","upstream":"http://127.0.0.1:1","provider":"file","kind":"http"}]`)
	fp := &FileProvider{Reg: reg, Path: path}
	if _, err := fp.Load(); err != nil {
		t.Fatal(err)
	}
	g := reg.Generation()
	write(`[{"alias":"b","upstream":"http://127.0.0.1:2","provider":"file","kind":"http"},
	        {"alias":"c","upstream":"http://bad host:x","provider":"file","kind":"http"}]`)
	if _, err := fp.Load(); err == nil {
		t.Fatal("a bad file loaded")
	}
	if _, ok := reg.Get("a"); !ok || reg.Generation() != g {
		t.Fatal("a failed reload changed the routes")
	}
	if _, ok := reg.Get("b"); ok {
		t.Fatal("half of a failed reload is visible")
	}
	p := NewProxy(reg)
	get := func(q string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/api/changes"+q, nil))
		return rec
	}
	if rec := get("?since=x"); rec.Code != http.StatusBadRequest {
		t.Errorf("bad since: %d %s", rec.Code, rec.Body)
	}
	if rec := get("?since=0"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"key":"a"`) {
		t.Errorf("since=0: %d %s", rec.Code, rec.Body)
	}
	if err := reg.SetChangeLogCapacity(1); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		write(fmt.Sprintf(`[{"alias":"a","upstream":"http://127.0.0.1:%d","provider":"file","kind":"http"}]`, 10+i))
		if _, err := fp.Load(); err != nil {
			t.Fatal(err)
		}
	}
	if rec := get("?since=0"); rec.Code != http.StatusGone || !strings.Contains(rec.Body.String(), `"generation"`) {
		t.Errorf("stale: %d %s", rec.Code, rec.Body)
	}
}
