package routes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDeletedButHeldRouteStaysUsable(t *testing.T) {
	reg := NewRegistry[*app]()
	rt := mustRoute(t, KindHTTP, "held", "http://127.0.0.1:8080")
	if err := reg.Add(rt); err != nil {
		t.Fatal(err)
	}
	got, _ := reg.Get("held")
	if err := reg.HTTP.Del("held"); err != nil {
		t.Fatal(err)
	}
	reg.Clear()
	reg.Close()
	for i := 0; i < 3; i++ {
		runRuntimeGC()
	}
	if got.Alias() != "held" || got.UpstreamURL() != "http://127.0.0.1:8080" || !got.IsFrozen() {
		t.Fatal("identity lost")
	}
	if err := got.SetHealth(StatusHealthy, time.Second, time.Millisecond, "still here"); err != nil {
		t.Fatal(err)
	}
	if st, up, _, err := got.Health(); err != nil || st != StatusHealthy || up != time.Second {
		t.Fatalf("health %v %v %v", st, up, err)
	}
}

func TestCloseRoute(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	rt := mustRoute(t, KindHTTP, "c", "http://127.0.0.1:1")
	if err := reg.Add(rt); err != nil {
		t.Fatal(err)
	}
	if got, _ := reg.Get("c"); got != rt { // cached
		t.Fatal("Get")
	}
	rt.Close()
	rt.Release() // twice: fine
	if err := rt.SetHealth(StatusHealthy, 0, 0, ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetHealth after Close = %v", err)
	}
	if _, _, _, err := rt.Health(); !errors.Is(err, ErrClosed) {
		t.Fatal("Health after Close")
	}
	if err := reg.Add(rt); !errors.Is(err, ErrClosed) {
		t.Fatal("Add after Close")
	}
	if rt.Alias() != "c" {
		t.Fatal("identity after Close")
	}
	// The registry still holds the route: a lookup gives a fresh object with the same value.
	got, ok := reg.Get("c")
	if !ok || got == rt || got.Value() != rt.Value() {
		t.Fatalf("Get after Close = %p %v", got, ok)
	}
	if err := got.SetHealth(StatusNapping, 0, 0, ""); err != nil {
		t.Fatal(err)
	}
	if s := reg.HealthInfoSimple(); s["c"] != StatusNapping {
		t.Fatal("fresh object drives the same native route")
	}
	if again, _ := reg.Get("c"); again != got {
		t.Fatal("the fresh object is the one handed out now")
	}
	if n := 0; true {
		for r := range reg.IterAll {
			n++
			if r != got {
				t.Fatal("IterAll after Close")
			}
		}
		if n != 1 {
			t.Fatal("IterAll count")
		}
	}
}

// Every handle is deleted once the native routes die, and every native route dies.
func TestHandlesAndNativeRoutesAreReleased(t *testing.T) {
	baseHandles, baseRoutes := settle()
	func() {
		reg := NewRegistry[*app]()
		for i := 0; i < 500; i++ {
			rt := mustRoute(t, KindHTTP, fmt.Sprintf("r%d", i), "http://127.0.0.1:1")
			if err := reg.Add(rt); err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				rt.Close()
			}
		}
		for i := 0; i < 500; i += 3 {
			reg.Get(fmt.Sprintf("r%d", i))
		}
		for range reg.IterAll {
		}
		_ = reg.HTTP.Slice()
		if LiveHandles() < baseHandles+500 || LiveRoutes() < baseRoutes+500 {
			t.Fatalf("handles %d routes %d", LiveHandles(), LiveRoutes())
		}
		reg.Clear()
		// a second registry dropped without Close: the cleanup frees it
		reg2 := NewRegistry[*app]()
		if err := reg2.Add(mustRoute(t, KindStream, "s", "tcp://127.0.0.1:2")); err != nil {
			t.Fatal(err)
		}
		reg.Close()
	}()
	waitFor(t, "handles and routes back to baseline", func() bool {
		return LiveHandles() == baseHandles && LiveRoutes() == baseRoutes
	})
	if LiveHandles() < 0 {
		t.Fatal("a handle was deleted twice")
	}
}

func TestConcurrentUse(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	var wg sync.WaitGroup
	var failures atomic.Int64
	stop := time.Now().Add(500 * time.Millisecond)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop) && i < 20000; i++ {
				key := fmt.Sprintf("k%d", i%50)
				switch (g + i) % 5 {
				case 0:
					rt, err := NewRoute(RouteConfig{Kind: Kind(i % 3), Alias: key, URL: "http://127.0.0.1:1"}, &app{name: key, n: g})
					if err != nil {
						failures.Add(1)
						continue
					}
					_ = reg.Add(rt)
				case 1:
					_ = reg.HTTP.Del(key)
					_ = reg.Stream.Del(key)
				case 2:
					if rt, ok := reg.Get(key); ok && (rt.Key() != key || rt.Value().name != key) {
						failures.Add(1)
					}
				case 3:
					for rt := range reg.IterAll {
						if rt.Value() == nil || rt.Value().name != rt.Alias() {
							failures.Add(1)
						}
					}
				case 4:
					if rt, ok := reg.GetIncludeExcluded(key); ok {
						_ = rt.SetHealth(StatusHealthy, time.Duration(i), 0, key)
					}
					_ = reg.HealthInfo()
				}
			}
		}()
	}
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d failures", failures.Load())
	}
}

// A mutation's effect is seen by every lookup that starts after it returns, however many
// goroutines keep filling the cache meanwhile.
func TestCacheNeverServesStaleEntries(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	var done atomic.Bool
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				reg.Get("flip")
				reg.HTTP.Get("flip")
				reg.GetHTTPRouteOrExact("flip", "x")
				for range reg.IterActive {
				}
			}
		}()
	}
	for i := 0; i < 2000; i++ {
		rt := mustRoute(t, KindHTTP, "flip", "http://127.0.0.1:1")
		if err := reg.Add(rt); err != nil {
			t.Fatal(err)
		}
		if got, ok := reg.Get("flip"); !ok || got != rt {
			t.Fatalf("iteration %d: Get after Add = %p %v, want %p", i, got, ok, rt)
		}
		if got, ok := reg.HTTP.Get("flip"); !ok || got != rt {
			t.Fatalf("iteration %d: HTTP.Get after Add", i)
		}
		n := 0
		for got := range reg.IterActive {
			n++
			if got != rt {
				t.Fatalf("iteration %d: IterActive after Add", i)
			}
		}
		if n != 1 {
			t.Fatalf("iteration %d: IterActive saw %d", i, n)
		}
		if err := reg.HTTP.Del("flip"); err != nil {
			t.Fatal(err)
		}
		if _, ok := reg.Get("flip"); ok {
			t.Fatalf("iteration %d: Get after Del", i)
		}
		if _, ok := reg.GetHTTPRouteOrExact("flip", "x"); ok {
			t.Fatalf("iteration %d: GetHTTPRouteOrExact after Del", i)
		}
		for range reg.IterActive {
			t.Fatalf("iteration %d: IterActive after Del", i)
		}
	}
	done.Store(true)
	wg.Wait()
}

type captureHandler struct {
	mu    sync.Mutex
	lines []string
	level slog.Level
}

func (h *captureHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, r.Level.String()+" "+r.Message)
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func (h *captureHandler) has(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestLogging(t *testing.T) {
	h := &captureHandler{level: slog.LevelDebug}
	SetLogHandler(h)
	defer SetLogHandler(nil)
	reg := NewRegistry[*app]()
	defer reg.Close()
	rt := mustRoute(t, KindHTTP, "logged", "http://127.0.0.1:1", func(c *RouteConfig) { c.DisplayName = "Logged App" })
	if err := reg.Add(rt); err != nil {
		t.Fatal(err)
	}
	if err := reg.HTTP.Del("logged"); err != nil {
		t.Fatal(err)
	}
	if !h.has("DEBUG http_routes: added Logged App") || !h.has("Logged App") {
		t.Fatalf("log lines: %q", h.lines)
	}
	// Info level: the DEBUG lines are not asked for.
	quiet := &captureHandler{level: slog.LevelInfo}
	SetLogHandler(quiet)
	if err := reg.Add(mustRoute(t, KindHTTP, "quiet", "http://127.0.0.1:1")); err != nil {
		t.Fatal(err)
	}
	if quiet.has("quiet") {
		t.Fatalf("debug line at info level: %q", quiet.lines)
	}
	SetLogHandler(nil)
	if err := reg.Add(mustRoute(t, KindHTTP, "silent", "http://127.0.0.1:1")); err != nil {
		t.Fatal(err)
	}
	if h.has("silent") {
		t.Fatal("logging off still logs")
	}
}

func TestProxmox(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	inv := ProxmoxInventory{
		Nodes:     []ProxmoxNode{{Name: "pve1", IP: "10.0.0.2"}},
		Resources: []ProxmoxResource{{Node: "pve1", VMID: 100, Name: "web", IPs: []string{"10.0.0.50"}}},
	}
	if err := reg.LoadProxmoxInventory(inv); err != nil {
		t.Fatal(err)
	}
	byIP := mustRoute(t, KindHTTP, "site", "http://10.0.0.50:80")
	node := mustRoute(t, KindHTTP, "pve1", "https://192.168.1.9:8006")
	explicit := mustRoute(t, KindHTTP, "other", "http://192.168.1.10:80", func(c *RouteConfig) { c.ProxmoxNode = "pve1"; c.ProxmoxVMID = 100 })
	none := mustRoute(t, KindHTTP, "none", "http://192.168.1.11:80")
	for _, rt := range []*Route[*app]{byIP, node, explicit, none} {
		if err := reg.Add(rt); err != nil {
			t.Fatal(err)
		}
	}
	for rt, want := range map[*Route[*app]]ProxmoxLink{
		byIP: {"pve1", 100, "web"}, node: {"pve1", 0, ""}, explicit: {"pve1", 100, "web"},
	} {
		if got, ok := rt.Proxmox(); !ok || got != want {
			t.Errorf("%v: Proxmox() = %+v %v, want %+v", rt, got, ok, want)
		}
	}
	if _, ok := none.Proxmox(); ok {
		t.Error("an unmatched route has no link")
	}
	if err := reg.LoadProxmoxJSON([]byte(`{"resources":[{"node":"a","vmid":"1","name":"n"}]}`)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad inventory: %v", err)
	}
	if err := reg.LoadProxmoxJSON(nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("empty inventory: %v", err)
	}
	// The old inventory stays after a failed load.
	late := mustRoute(t, KindHTTP, "late", "http://10.0.0.50:81")
	if err := reg.Add(late); err != nil {
		t.Fatal(err)
	}
	if got, ok := late.Proxmox(); !ok || got.VMID != 100 {
		t.Fatalf("old inventory lost: %+v %v", got, ok)
	}
}
