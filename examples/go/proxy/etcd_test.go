package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/route-registry/routes"
	rretcd "github.com/route-registry/routes/etcd"
)

// /api/mirror reports the mirror; here etcd is unreachable (a closed loopback port), so the
// mirror is disconnected at revision 0 and the proxy still serves its other routes.
func TestMirrorAPI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close()
	reg := routes.NewRegistry[*target]()
	defer reg.Close()
	m, stop, err := startMirror(context.Background(), reg, endpoint, "/rr-test")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	h := withMirrorAPI(NewProxy(reg), m)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9/api/mirror", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got["revision"], got["connected"], got["skipped"]) != "0 false 0" || got["lag_ms"] == nil || len(got) != 4 {
		t.Fatalf("/api/mirror: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://nothing.example.test/", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("unknown host: %d", rec.Code)
	}
}

func TestMirrorValue(t *testing.T) {
	v, err := mirrorValue(rretcd.Record{Kind: routes.KindHTTP, Alias: "a", URL: "http://10.0.0.1:8080/x"})
	if err != nil || v.url.Host != "10.0.0.1:8080" {
		t.Fatalf("%v %v", v, err)
	}
	if v, err := mirrorValue(rretcd.Record{Kind: routes.KindExcluded, Alias: "a"}); err != nil || v.url != nil {
		t.Fatalf("%v %v", v, err)
	}
}
