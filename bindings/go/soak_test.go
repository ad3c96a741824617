package routes

import (
	"errors"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Soak: RR_SOAK_OPS add/del/get operations (default 200 000 for `make test`; `make soak` runs
// 10 000 000) with churn over ever-new keys, so that without tombstone purging the native map
// would grow without bound. Checked: the live size stays at the window, purging keeps the
// expired tombstones bounded, resident memory is flat after warm-up, and every cgo handle and
// native route is released after Clear.

const (
	soakWindow = 2000 // live routes kept while keys never repeat
	// RSS may grow by this much between warm-up (20% of the run) and the end. Both figures
	// are taken after runtime.GC + debug.FreeOSMemory; what remains is the native library's
	// malloc arena and the Go heap's fragmentation, which do not depend on the run's length.
	// A leak of one native route (~300 B) plus its Go objects (~400 B) per round would exceed
	// it after ~25 000 rounds, i.e. in both the short and the long run.
	soakRSSBound = 16 << 20
	// The Go heap in use after a GC may grow by this much (same reasoning, Go side only).
	soakHeapBound = 8 << 20
)

// raceEnabled says whether the test binary was built with -race. Under -race the resident
// memory grows with the run whatever the program does (the race runtime keeps shadow memory
// and sync-object metadata for heap addresses it saw; golang/go#14533, #37233, #63276):
// measured here ~2 KiB per round while the Go heap stays flat. So under -race the RSS bound is
// not checked (the figures are still logged) and the Go heap bound is; `make soak` runs
// without -race and checks both.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

func soakOps(t *testing.T) int {
	t.Helper()
	s := os.Getenv("RR_SOAK_OPS")
	if s == "" {
		return 200_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 4*soakWindow {
		t.Fatalf("RR_SOAK_OPS=%q: want an integer >= %d", s, 4*soakWindow)
	}
	return n
}

// rssBytes is the resident set size from /proc/self/statm (second field, in pages).
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatalf("reading /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		t.Fatalf("unexpected /proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatalf("unexpected /proc/self/statm: %q", b)
	}
	return pages * int64(os.Getpagesize())
}

// settledRSS is the RSS and the Go heap in use once the heap is collected and returned to
// the OS, and the cleanups of the collected routes had a moment to release their native
// references.
func settledRSS(t *testing.T) (rss int64, heap uint64) {
	t.Helper()
	for i := 0; i < 2; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond) // cleanups run on their own goroutine
	}
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return rssBytes(t), ms.HeapInuse
}

func soakKey(i int) string { return "soak-" + strconv.Itoa(i) }

func TestSoak(t *testing.T) {
	ops := soakOps(t)
	baseHandles, baseRoutes := settle()
	reg := NewRegistry[*app]()
	// Each round: make a route with a new key and add it (1 op), look it up (1 op), look up
	// the key added soakWindow rounds ago and delete it (2 ops). Even rounds use HTTP, odd
	// ones STREAM; every 16th route is held and closed by hand, the rest are dropped at once
	// (their cleanups release them).
	const opsPerRound = 4
	rounds := ops / opsPerRound
	warmup := rounds / 5
	var rssWarm, rssPeak int64
	var heapWarm uint64
	deletes := 0
	start := time.Now()
	for i := 0; i < rounds; i++ {
		key := soakKey(i)
		kind := KindHTTP
		if i%2 == 1 {
			kind = KindStream
		}
		url := "http://10.0.0.1:8080"
		if kind == KindStream {
			url = "tcp://10.0.0.1:5432"
		}
		rt, err := NewRoute(RouteConfig{Kind: kind, Alias: key, URL: url, Provider: "soak"}, &app{name: key, n: i})
		if err != nil {
			t.Fatalf("round %d: NewRoute: %v", i, err)
		}
		if i%3 == 0 {
			_, added, err := reg.AddIfNotExists(rt)
			if err != nil || !added {
				t.Fatalf("round %d: AddIfNotExists = %v, %v", i, added, err)
			}
		} else if err := reg.Add(rt); err != nil {
			t.Fatalf("round %d: Add: %v", i, err)
		}
		if got, ok := reg.Get(key); !ok || got != rt || got.Value().n != i {
			t.Fatalf("round %d: Get(%q) = %v, %v", i, key, got, ok)
		}
		if i%16 == 0 {
			rt.Close()
		}
		if i >= soakWindow {
			old := soakKey(i - soakWindow)
			pool := reg.HTTP
			if (i-soakWindow)%2 == 1 {
				pool = reg.Stream
			}
			got, ok := pool.Get(old)
			if !ok || got.Key() != old || got.Value().n != i-soakWindow {
				t.Fatalf("round %d: %v.Get(%q) = %v, %v", i, pool.Kind(), old, got, ok)
			}
			if err := pool.Del(old); err != nil {
				t.Fatalf("round %d: Del(%q): %v", i, old, err)
			}
			deletes++
		}
		if i == warmup {
			rssWarm, heapWarm = settledRSS(t)
			rssPeak = max(rssPeak, rssWarm)
		}
		if i%8192 == 0 {
			rssPeak = max(rssPeak, rssBytes(t))
		}
	}
	elapsed := time.Since(start)
	rssPeak = max(rssPeak, rssBytes(t))

	// Tombstones younger than 1 s are kept (a re-add within 1 s is a reload); older ones are
	// purged on a later delete, at most 8 times per second. So the expired ones present now
	// are those deleted during the last ~1/8 s: bound them by the average delete rate over a
	// generous 1/2 s, plus the purge threshold. Without purging there would be every delete
	// older than 1 s. (The C ABI has no tombstone counter: rr_purge_tombstones counts them.)
	expired := reg.PurgeTombstones()
	rate := float64(deletes) / elapsed.Seconds()
	bound := int(rate/2) + 512
	if expired > bound {
		t.Errorf("%d expired tombstones were still present at the end (bound %d; %d deletes in %v)", expired, bound, deletes, elapsed)
	}

	live := min(rounds, soakWindow)
	if n := reg.NumActiveRoutes(); n != live {
		t.Errorf("NumActiveRoutes = %d, want the window %d", n, live)
	}
	if n := reg.HTTP.Size() + reg.Stream.Size(); n != live {
		t.Errorf("pool sizes sum to %d, want %d", n, live)
	}
	// The lookup cache of the last generation still holds the last deleted route (bounded:
	// one generation's entries); a lookup now starts the current generation's cache.
	if _, ok := reg.Get("soak-absent"); ok {
		t.Error("Get of a never-added key found a route")
	}
	rssEnd, heapEnd := settledRSS(t)
	// Every route not in the registry was dropped: only the window is alive (once the change
	// log's records, which hold the routes they name, are dropped).
	reg.dropChangeRecords()
	var handlesWindow int64
	var routesWindow int
	waitForSoak(t, "only the window's handles and routes alive", func() bool {
		handlesWindow, routesWindow = LiveHandles()-baseHandles, LiveRoutes()-baseRoutes
		return handlesWindow == int64(live) && routesWindow == live
	})

	reg.Clear()
	if n := reg.NumAllRoutes(); n != 0 {
		t.Errorf("NumAllRoutes after Clear = %d", n)
	}
	if _, ok := reg.Get(soakKey(rounds - 1)); ok {
		t.Error("Get after Clear found a route")
	}
	if err := reg.HTTP.Del(soakKey(rounds - 2)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Del after Clear = %v, want ErrNotFound", err)
	}
	reg.Close()
	waitForSoak(t, "handles and routes back to baseline", func() bool {
		return LiveHandles() == baseHandles && LiveRoutes() == baseRoutes
	})

	growth := rssEnd - rssWarm
	heapGrowth := int64(heapEnd) - int64(heapWarm)
	race := raceEnabled()
	t.Logf("soak: %d ops (%d rounds, %d deletes) in %v (%.0f ops/s); expired tombstones at end %d (bound %d)",
		rounds*opsPerRound, rounds, deletes, elapsed.Round(time.Millisecond), float64(rounds*opsPerRound)/elapsed.Seconds(), expired, bound)
	t.Logf("soak: RSS after warm-up %d KiB, at end %d KiB (growth %+d KiB, bound %d KiB%s), peak %d KiB",
		rssWarm>>10, rssEnd>>10, growth>>10, soakRSSBound>>10, map[bool]string{true: ", not checked under -race"}[race], rssPeak>>10)
	t.Logf("soak: Go heap in use after warm-up %d KiB, at end %d KiB (growth %+d KiB, bound %d KiB)",
		heapWarm>>10, heapEnd>>10, heapGrowth>>10, soakHeapBound>>10)
	t.Logf("soak: live handles/routes above baseline with the window: %d/%d; after Clear: %d/%d (baseline %d/%d)",
		handlesWindow, routesWindow, LiveHandles()-baseHandles, LiveRoutes()-baseRoutes, baseHandles, baseRoutes)
	if heapGrowth > soakHeapBound {
		t.Errorf("the Go heap grew by %d KiB after warm-up (bound %d KiB)", heapGrowth>>10, soakHeapBound>>10)
	}
	if !race && growth > soakRSSBound {
		t.Errorf("resident memory grew by %d KiB after warm-up (bound %d KiB)", growth>>10, soakRSSBound>>10)
	}
}

// waitForSoak is waitFor with a longer bound (a 10M-op run leaves many cleanups to run).
func waitForSoak(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (live handles %d, live routes %d)", what, LiveHandles(), LiveRoutes())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
