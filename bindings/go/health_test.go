package routes

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testdata holds the Go-generated vectors: ../shared/testdata beside the checkout when it
// exists (CI keeps the generator's output there), else the repository's testdata/.
var testdata = func() string {
	if fi, err := os.Stat("../../../shared/testdata"); err == nil && fi.IsDir() {
		return "../../../shared/testdata"
	}
	return "../../testdata"
}()

func TestHealth(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	a := mustRoute(t, KindHTTP, "a", "http://127.0.0.1:1")
	b := mustRoute(t, KindStream, "b<&>", "tcp://127.0.0.1:2")
	c := mustRoute(t, KindExcluded, "c", "")
	for _, rt := range []*Route[*app]{a, b, c} {
		if err := reg.Add(rt); err != nil {
			t.Fatal(err)
		}
	}
	if st, up, lat, err := a.Health(); err != nil || st != StatusUnknown || up != 0 || lat != 0 {
		t.Fatalf("fresh health %v %v %v %v", st, up, lat, err)
	}
	if err := a.SetHealth(StatusHealthy, time.Hour, 1500*time.Microsecond, "ok"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetHealth(StatusUnhealthy, 0, -time.Second, "x"); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "latency") {
		t.Fatalf("negative latency: %v", err)
	}
	if err := b.SetHealth(StatusUnhealthy, -1, 0, "x"); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "uptime") {
		t.Fatalf("negative uptime: %v", err)
	}
	if err := b.SetHealth(StatusUnhealthy, 0, 0, "refused \xff\n\u2028"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetHealth(HealthStatus(3), 0, 0, ""); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad status: %v", err)
	}
	if st, up, lat, _ := a.Health(); st != StatusHealthy || up != time.Hour || lat != 1500*time.Microsecond || !st.Good() {
		t.Fatalf("health %v %v %v", st, up, lat)
	}
	full := reg.HealthInfo()
	want := HealthInfo{Status: StatusHealthy, Uptime: time.Hour, Latency: 1500 * time.Microsecond, Detail: "ok"}
	if full["a"] != want {
		t.Fatalf("HealthInfo[a] = %+v", full["a"])
	}
	if full["b<&>"].Detail != "refused \xff\n\u2028" || full["b<&>"].Latency != 0 {
		t.Fatalf("HealthInfo[b] = %+v", full["b<&>"])
	}
	if full["c"] != (HealthInfo{Status: StatusUnknown, Detail: "n/a"}) {
		t.Fatalf("HealthInfo[c] = %+v", full["c"])
	}
	if s := reg.HealthInfoSimple(); len(s) != 3 || s["a"] != StatusHealthy || s["b<&>"] != StatusUnhealthy {
		t.Fatalf("HealthInfoSimple = %v", s)
	}
	if w := reg.HealthInfoWithoutDetail(); w["a"] != (HealthInfoWithoutDetail{StatusHealthy, time.Hour, 1500 * time.Microsecond}) {
		t.Fatalf("HealthInfoWithoutDetail = %v", w)
	}
	assertJSONEqual(t, reg)
}

// encoding/json of the returned maps equals the library's bytes.
func assertJSONEqual(t *testing.T, reg *Registry[*app]) {
	t.Helper()
	for _, tc := range []struct {
		f HealthFormat
		v any
	}{{HealthFull, reg.HealthInfo()}, {HealthWithoutDetail, reg.HealthInfoWithoutDetail()}, {HealthSimple, reg.HealthInfoSimple()}} {
		got, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if lib, err := reg.HealthJSON(tc.f); err != nil || !bytes.Equal(got, lib) {
			t.Errorf("format %d: encoding/json %s, library %s (%v)", tc.f, got, lib, err)
		}
	}
}

func TestHealthStatusText(t *testing.T) {
	for s, n := range healthNames {
		b, err := s.MarshalText()
		var back HealthStatus
		if err != nil || string(b) != n || back.UnmarshalText(b) != nil || back != s || s.String() != n {
			t.Fatalf("%d: %q %v %v", s, b, err, back)
		}
	}
	if _, err := HealthStatus(3).MarshalText(); err == nil {
		t.Fatal("3 is not a status")
	}
	var s HealthStatus
	if err := s.UnmarshalText([]byte("sleepy")); err == nil {
		t.Fatal("sleepy is not a status")
	}
}

func TestHealthVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testdata, "health_json.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []struct {
			Routes []struct {
				NameHex   string `json:"name_hex"`
				Status    uint32 `json:"status"`
				UptimeNs  uint64 `json:"uptime_ns"`
				LatencyNs uint64 `json:"latency_ns"`
				DetailHex string `json:"detail_hex"`
				NoHealth  bool   `json:"no_health"`
			} `json:"routes"`
			Full          string `json:"full"`
			WithoutDetail string `json:"without_detail"`
			Simple        string `json:"simple"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 3 {
		t.Fatalf("only %d cases", len(file.Cases))
	}
	compared := 0
	for i, c := range file.Cases {
		reg := NewRegistry[*app]()
		refused := false
		for _, r := range c.Routes {
			name, _ := hex.DecodeString(r.NameHex)
			detail, _ := hex.DecodeString(r.DetailHex)
			if bytes.IndexByte(name, 0) >= 0 {
				// A name with a NUL byte is refused (every name is also read as a C string),
				// so this case's maps cannot be built any more: check the refusal instead.
				_, err := NewRoute(RouteConfig{Kind: KindHTTP, Alias: string(name), URL: "http://127.0.0.1:80"}, &app{})
				if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "NUL") {
					t.Errorf("case %d: alias %q: %v, want an invalid argument naming the NUL", i, name, err)
				}
				refused = true
				continue
			}
			rt := mustRoute(t, KindHTTP, string(name), "http://127.0.0.1:80")
			if err := reg.Add(rt); err != nil {
				t.Fatal(err)
			}
			if !r.NoHealth {
				if err := rt.SetHealth(HealthStatus(r.Status), clampDur(r.UptimeNs), clampDur(r.LatencyNs), string(detail)); err != nil {
					t.Fatal(err)
				}
				if r.UptimeNs > 1<<63-1 {
					// Durations above INT64_MAX are clamped: pass the raw value natively too.
					if _, up, _, _ := rt.Health(); up != 1<<63-1 {
						t.Fatalf("uptime %v", up)
					}
				}
			}
		}
		if refused {
			reg.Close()
			continue
		}
		compared++
		for _, f := range []struct {
			f    HealthFormat
			want string
		}{{HealthFull, c.Full}, {HealthWithoutDetail, c.WithoutDetail}, {HealthSimple, c.Simple}} {
			if got, err := reg.HealthJSON(f.f); err != nil || string(got) != f.want {
				t.Errorf("case %d format %d:\n got %s (%v)\nwant %s", i, f.f, got, err, f.want)
			}
		}
		assertJSONEqual(t, reg)
		reg.Close()
	}
	if compared < 3 {
		t.Fatalf("only %d cases compared", compared)
	}
}

func TestUpstreamVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testdata, "upstream_urls.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Input, Scheme, Host, Port, HostPort, URL string
			Accept                                   bool
		} `json:"vectors"`
	}
	if err := json.Unmarshal(bytes.ReplaceAll(raw, []byte(`"host_port"`), []byte(`"hostport"`)), &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 10 {
		t.Fatalf("only %d vectors", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		rt, err := NewRoute(RouteConfig{Kind: KindHTTP, Alias: "u", URL: v.Input}, &app{})
		if !v.Accept {
			if err == nil || !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%q accepted, want an error (got %v)", v.Input, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", v.Input, err)
			continue
		}
		got := [6]string{rt.UpstreamScheme(), rt.UpstreamHost(), rt.UpstreamPort(), rt.UpstreamHostPort(), rt.UpstreamAddr(), rt.UpstreamURL()}
		want := [6]string{v.Scheme, v.Host, v.Port, v.HostPort, v.HostPort, v.URL}
		if got != want {
			t.Errorf("%q: got %q, want %q", v.Input, got, want)
		}
		rt.Close()
	}
}

// A real U+FFFD, invalid bytes and text that looks like an escape all survive the round trip:
// encoding/json of the map still equals the library's bytes.
func TestHealthDetailRoundTrip(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	rt := mustRoute(t, KindHTTP, "d", "http://127.0.0.1:1")
	if err := reg.Add(rt); err != nil {
		t.Fatal(err)
	}
	detail := "real \uFFFD bad \xfe\xc3 text \\ufffd \"q\" \b\f\x01 \U0001F600 <&>"
	if err := rt.SetHealth(StatusError, 1, 2, detail); err != nil {
		t.Fatal(err)
	}
	want := "real \uFFFD bad \xff\xff text \\ufffd \"q\" \b\f\x01 \U0001F600 <&>"
	if got := reg.HealthInfo()["d"].Detail; got != want {
		t.Fatalf("detail %q, want %q", got, want)
	}
	direct, _ := json.Marshal(map[string]HealthInfo{"d": {StatusError, 1, 2, detail}})
	if lib, err := reg.HealthJSON(HealthFull); err != nil || !bytes.Equal(direct, lib) {
		t.Fatalf("encoding/json of the raw detail %s, library %s", direct, lib)
	}
	assertJSONEqual(t, reg)
}
