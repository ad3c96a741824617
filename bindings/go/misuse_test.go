package routes

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// boomHandler is a slog.Handler whose Handle panics.
type boomHandler struct{}

func (boomHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (boomHandler) Handle(context.Context, slog.Record) error { panic("handler boom") }
func (h boomHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h boomHandler) WithGroup(string) slog.Handler           { return h }

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A panicking log handler: the panic is recovered in the log callback, so it never unwinds
// through the library (which used to leak one native route per Add); every Add completes,
// the registry keeps working, and the panic is reported once, with its stack.
func TestLogHandlerPanicIsRecovered(t *testing.T) {
	var out lockedBuffer
	callbackPanicMu.Lock()
	saved := callbackPanicOut
	callbackPanicOut = &out
	callbackPanicMu.Unlock()
	defer func() {
		callbackPanicMu.Lock()
		callbackPanicOut = saved
		callbackPanicMu.Unlock()
	}()
	_, base := settle()
	reg := NewRegistry[*app]()
	SetLogHandler(boomHandler{})
	box := logHandler.Load()
	for i := 0; i < 20; i++ {
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("Add %d panicked in the caller: %v", i, v)
				}
			}()
			if err := reg.Add(mustRoute(t, KindHTTP, "p", "http://10.0.0.1:80")); err != nil {
				t.Errorf("Add %d: %v", i, err)
			}
		}()
	}
	SetLogHandler(nil)
	if n := box.panics.Load(); n < 20 {
		t.Errorf("recovered %d handler panics, want at least 20 (one per Add)", n)
	}
	if got := reg.HTTP.Size(); got != 1 {
		t.Errorf("size %d after 20 adds of key p, want 1", got)
	}
	report := out.String()
	if strings.Count(report, "routes: recovered a panic") != 1 || !strings.Contains(report, "handler boom") ||
		!strings.Contains(report, "boomHandler.Handle") {
		t.Errorf("want one report with the panic value and its stack, got:\n%s", report)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100; i++ {
			_ = reg.Add(mustRoute(t, KindHTTP, "q", "http://10.0.0.2:80"))
			_ = reg.HTTP.Del("q")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("registry calls hang after the panicking handler")
	}
	_ = reg.Close()
	waitFor(t, "the routes of the closed registry", func() bool { return LiveRoutes() <= base })
}

// Watch(nil) panics in the caller (recoverable), not in the binding's goroutine.
func TestWatchNilContextPanicsInCaller(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	before := liveWatchers.Load()
	v := func() (v any) {
		defer func() { v = recover() }()
		//lint:ignore SA1012 deliberate
		reg.Watch(nil) //nolint:staticcheck
		return nil
	}()
	if v != "routes: Watch: nil context" {
		t.Errorf("Watch(nil) panic = %v", v)
	}
	if liveWatchers.Load() != before {
		t.Error("Watch(nil) started a goroutine")
	}
}

// Inventory strings that are not UTF-8 are refused, naming the field, as the JSON form is.
func TestProxmoxInventoryInvalidUTF8(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	if err := reg.LoadProxmoxJSON([]byte("{\"nodes\":[{\"name\":\"pve\xff\",\"ip\":\"10.0.0.3\"}]}")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("LoadProxmoxJSON: %v, want ErrInvalidArgument", err)
	}
	good := ProxmoxInventory{Nodes: []ProxmoxNode{{Name: "pve", IP: "10.0.0.3"}}}
	if err := reg.LoadProxmoxInventory(good); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		inv   ProxmoxInventory
		field string
	}{
		{ProxmoxInventory{Nodes: []ProxmoxNode{{Name: "pve\xff", IP: "10.0.0.3"}}}, "nodes[0].name"},
		{ProxmoxInventory{Nodes: []ProxmoxNode{{Name: "a"}, {Name: "b", IP: "10.0.0.\xfe"}}}, "nodes[1].ip"},
		{ProxmoxInventory{Resources: []ProxmoxResource{{Node: "pve\xc3", VMID: 1, Name: "vm"}}}, "resources[0].node"},
		{ProxmoxInventory{Resources: []ProxmoxResource{{Node: "pve", VMID: 1, Name: "\x80vm"}}}, "resources[0].name"},
		{ProxmoxInventory{Resources: []ProxmoxResource{{Node: "pve", VMID: 1, Name: "vm", IPs: []string{"10.0.0.9", "\xff"}}}}, "resources[0].ips[1]"},
	} {
		err := reg.LoadProxmoxInventory(c.inv)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want ErrInvalidArgument naming it", c.field, err)
		}
	}
	// The refused loads left the good inventory in place.
	rt := mustRoute(t, KindHTTP, "n", "http://10.0.0.3:80")
	if err := reg.Add(rt); err != nil {
		t.Fatal(err)
	}
	if l, ok := rt.Proxmox(); !ok || l.Node != "pve" {
		t.Errorf("link = %+v, %v; want node pve", l, ok)
	}
}

// panicMessage runs f and returns what it panicked with, as a string ("" when it did not).
func panicMessage(f func()) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			switch v := v.(type) {
			case string:
				msg = v
			case error:
				msg = v.Error()
			default:
				msg = "non-string panic"
			}
		}
	}()
	f()
	return ""
}

// nil receivers and zero values not made by their constructor panic with a message naming
// the type and the constructor; the TryGet* functions answer "none" for a nil request.
func TestNilAndZeroReceivers(t *testing.T) {
	var (
		nreg *Registry[*app]
		zreg Registry[*app]
		npl  *Pool[*app]
		zpl  Pool[*app]
		nrt  *Route[*app]
		zrt  Route[*app]
		zb   Batch[*app]
	)
	rt := mustRoute(t, KindHTTP, "a", "http://10.0.0.1:80")
	reg := NewRegistry[*app]()
	defer reg.Close()
	const regMsg = "routes: Registry used without NewRegistry"
	const poolMsg = "routes: Pool used without NewRegistry"
	const routeMsg = "routes: Route used without NewRoute"
	for _, c := range []struct {
		name, want string
		f          func()
	}{
		{"nil Registry.Close", regMsg, func() { _ = nreg.Close() }},
		{"zero Registry.Close", regMsg, func() { _ = zreg.Close() }},
		// A lookup on a nil *Registry panics as a nil dereference (no check on the hot path).
		{"nil Registry.Get", "runtime error: invalid memory address or nil pointer dereference", func() { nreg.Get("a") }},
		{"zero Registry.Get", regMsg, func() { zreg.Get("a") }},
		{"nil Registry.FindHTTPRoute", "runtime error: invalid memory address or nil pointer dereference", func() { nreg.FindHTTPRoute("a") }},
		{"zero Registry.FindHTTPRoute", regMsg, func() { zreg.FindHTTPRoute("a") }},
		{"nil Registry.Add", regMsg, func() { _ = nreg.Add(rt) }},
		{"zero Registry.Add", regMsg, func() { _ = zreg.Add(rt) }},
		{"zero Registry.NewBatch", regMsg, func() { zreg.NewBatch() }},
		{"zero Registry.Watch", regMsg, func() { zreg.Watch(context.Background()) }},
		{"zero Registry.Generation", regMsg, func() { zreg.Generation() }},
		{"zero Registry.IterActive", regMsg, func() {
			for range zreg.IterActive {
			}
		}},
		{"nil Pool.Get", poolMsg, func() { npl.Get("a") }},
		{"zero Pool.Get", poolMsg, func() { zpl.Get("a") }},
		{"zero Pool.Add", poolMsg, func() { _ = zpl.Add(rt) }},
		{"zero Pool.Size", poolMsg, func() { zpl.Size() }},
		{"nil Route.Alias", routeMsg, func() { nrt.Alias() }},
		{"zero Route.Alias", routeMsg, func() { zrt.Alias() }},
		{"zero Route.Value", routeMsg, func() { zrt.Value() }},
		{"nil Route.SetHealth", routeMsg, func() { _ = nrt.SetHealth(StatusHealthy, 0, 0, "") }},
		{"zero Route.SetHealth", routeMsg, func() { _ = zrt.SetHealth(StatusHealthy, 0, 0, "") }},
		{"Registry.Add(zero Route)", routeMsg, func() { _ = reg.Add(&zrt) }},
		{"zero Batch.Commit", "routes: Batch used without Registry.NewBatch", func() { _, _ = zb.Commit() }},
		{"zero Batch.Add", "routes: Batch used without Registry.NewBatch", func() { _ = zb.Add(rt) }},
		{"WithRouteContext(nil request)", "routes: WithRouteContext: nil request", func() { WithRouteContext(nil, rt) }},
	} {
		if got := panicMessage(c.f); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: panic %q, want %q", c.name, got, c.want)
		}
	}
	// What stays quiet: a nil route's Close, a nil batch's Discard, a zero batch's Discard.
	for name, f := range map[string]func(){
		"nil Route.Close":    func() { _ = nrt.Close() },
		"nil Batch.Discard":  func() { (*Batch[*app])(nil).Discard() },
		"zero Batch.Discard": func() { zb.Discard() },
	} {
		if got := panicMessage(f); got != "" {
			t.Errorf("%s panicked: %s", name, got)
		}
	}
	if TryGetRoute[*app](nil) != nil || TryGetUpstreamHost(nil) != "" || TryGetUpstreamName(nil) != "" ||
		TryGetUpstreamURL(nil) != "" || TryGetUpstreamAddr(nil) != "" || TryGetUpstreamPort(nil) != "" ||
		TryGetUpstreamScheme(nil) != "" || TryGetUpstreamHostPort(nil) != "" {
		t.Error("a TryGet* function found a route on a nil request")
	}
	req := WithRouteContext(httptest.NewRequest("GET", "http://a/", nil), rt)
	if TryGetUpstreamHost(req) != "10.0.0.1" {
		t.Errorf("TryGetUpstreamHost = %q", TryGetUpstreamHost(req))
	}
}
