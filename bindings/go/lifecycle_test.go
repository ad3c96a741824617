package routes

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLifecycleFuzz is a seeded random driver over every object a user can hold: registries
// (new and Global), pools held on their own, routes, route contexts carried by
// *http.Request, batches (filled, committed, discarded, or dropped uncommitted) and Watch
// channels (drained, cancelled, or ended by their registry's Close). Four goroutines share slots of each and, at random, create, drop (let the
// garbage collector take), close, collect (runtime.GC) and use them, in any order and on any
// goroutine, so that a Pool outlives its dropped Registry, a request outlives its dropped or
// closed Route, and Close races with calls in flight. Every result is checked: errors only
// of the documented kinds, a closed object answers with ErrClosed (an error, or for a
// registry method without an error result a panic wrapping it) and nothing else panics,
// lookups give routes with the key asked, a request gives back its own route. At the end
// every cgo handle and native route is released (LiveHandles, LiveRoutes).
//
// RR_FUZZ_SECS (default 2) bounds the run, RR_FUZZ_SEED (default 1) seeds it: goroutine g
// draws its ops from seed+g (the interleaving still depends on the scheduler). `make test`
// runs it under -race, under -asan, and with -tags rr_gcdebug (a collection before every
// call into the library); `make soak` runs it longer with a new seed.

const (
	fuzzGoroutines = 4
	fuzzRegSlots   = 4
	fuzzPoolSlots  = 6
	fuzzRouteSlots = 12
	fuzzCtxSlots   = 6
	fuzzKeys       = 8
	fuzzBatchSlots = 4
	fuzzWatchSlots = 4
)

// fuzzWatch is a running Watch: its channel and how to end it.
type fuzzWatch struct {
	ch     <-chan Change[*app]
	cancel func()
}

var fuzzOps = []string{
	"NewRegistry", "Global", "DropRegistry", "CloseRegistry", "TakePool", "DropPool",
	"NewRoute", "DropRoute", "CloseRoute", "WithRouteContext", "DropContext", "GC",
	"Add", "Pool.Add", "AddIfNotExists", "Del", "Pool.Del", "Get", "Pool.Get",
	"GetIncludeExcluded", "GetHTTPRouteOrExact", "IterAll", "Pool.Iter", "Pool.Slice",
	"ByProvider", "HealthJSON", "HealthInfo", "Size", "Clear", "Generation", "SetHealth",
	"Health", "Proxmox", "IsFrozen", "TryGet", "UseClosedRegistry", "UseClosedRoute",
	"NewBatch", "BatchAdd", "BatchDelKey", "BatchReplaceProvider", "BatchCommit", "BatchDiscard",
	"DropBatch", "Watch", "DrainWatch", "CancelWatch", "FindHTTPRoute", "Changes",
}

func fuzzEnv(t *testing.T, name string, def float64) float64 {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		t.Fatalf("%s=%q: want a non-negative number", name, s)
	}
	return f
}

type fuzzRun struct {
	regs   [fuzzRegSlots]atomic.Pointer[Registry[*app]]
	pools  [fuzzPoolSlots]atomic.Pointer[Pool[*app]]
	routes [fuzzRouteSlots]atomic.Pointer[Route[*app]]
	ctxs   [fuzzCtxSlots]atomic.Pointer[fuzzCtx]
	bats   [fuzzBatchSlots]atomic.Pointer[Batch[*app]]
	watch  [fuzzWatchSlots]atomic.Pointer[fuzzWatch]

	mu       sync.Mutex
	failures []string
	nfail    int
	counts   map[string]int
}

// fuzzCtx is a request carrying a route, with what it must answer.
type fuzzCtx struct {
	req   *http.Request
	route *Route[*app] // nil: held only through the request (the driver's pointer dropped)
	alias string
	url   string
}

func (f *fuzzRun) errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nfail++
	if len(f.failures) < 20 {
		f.failures = append(f.failures, fmt.Sprintf(format, args...))
	}
}

// closedPanic runs op and says whether it panicked with an error wrapping ErrClosed; any
// other panic is a failure.
func (f *fuzzRun) closedPanic(name string, op func()) (closed bool) {
	defer func() {
		if r := recover(); r != nil {
			if err, ok := r.(error); ok && errors.Is(err, ErrClosed) {
				closed = true
				return
			}
			f.errorf("%s panicked: %v", name, r)
		}
	}()
	op()
	return false
}

// expect checks err is nil, wraps ErrClosed or one of allowed.
func (f *fuzzRun) expect(name string, err error, allowed ...error) {
	if err == nil || errors.Is(err, ErrClosed) {
		return
	}
	for _, a := range allowed {
		if errors.Is(err, a) {
			return
		}
	}
	f.errorf("%s: unexpected error %v", name, err)
}

func fuzzKey(rnd *rand.Rand) string { return "fz" + strconv.Itoa(rnd.IntN(fuzzKeys)) }

func fuzzKind(rnd *rand.Rand) Kind {
	return []Kind{KindHTTP, KindHTTP, KindStream, KindExcluded}[rnd.IntN(4)]
}

func (f *fuzzRun) checkRoute(name, key string, rt *Route[*app], ok bool) {
	if ok != (rt != nil) {
		f.errorf("%s(%q) = %v, %v", name, key, rt, ok)
		return
	}
	if rt != nil && (rt.Key() != key || rt.Value() == nil || rt.Value().name != rt.Alias()) {
		f.errorf("%s(%q) gave route %q with value %+v", name, key, rt.Key(), rt.Value())
	}
}

func (f *fuzzRun) pickReg(rnd *rand.Rand) *Registry[*app] {
	return f.regs[rnd.IntN(fuzzRegSlots)].Load()
}
func (f *fuzzRun) pickPool(rnd *rand.Rand) *Pool[*app] {
	return f.pools[rnd.IntN(fuzzPoolSlots)].Load()
}
func (f *fuzzRun) pickRoute(rnd *rand.Rand) *Route[*app] {
	return f.routes[rnd.IntN(fuzzRouteSlots)].Load()
}
func (f *fuzzRun) pickCtx(rnd *rand.Rand) *fuzzCtx       { return f.ctxs[rnd.IntN(fuzzCtxSlots)].Load() }
func poolByKind(reg *Registry[*app], k Kind) *Pool[*app] { return poolOf(reg, k) }
func (f *fuzzRun) newRoute(rnd *rand.Rand) (*Route[*app], error) {
	kind, key := fuzzKind(rnd), fuzzKey(rnd)
	url := fmt.Sprintf("http://10.9.0.%d:%d", rnd.IntN(250)+1, 8000+rnd.IntN(100))
	if kind == KindStream {
		url = fmt.Sprintf("tcp://10.9.1.%d:%d", rnd.IntN(250)+1, 5000+rnd.IntN(100))
	}
	alias := key
	if rnd.IntN(3) == 0 {
		alias = key + "-" + strconv.Itoa(rnd.IntN(1000)) // key set apart from the alias
	}
	return NewRoute(RouteConfig{
		Kind: kind, Alias: alias, URL: url, Key: key,
		Provider: []string{"", "docker", "file"}[rnd.IntN(3)], Priority: int32(rnd.IntN(3)),
	}, &app{name: alias})
}

// step runs one random operation; it returns its name.
func (f *fuzzRun) step(rnd *rand.Rand) string {
	switch op := fuzzOps[rnd.IntN(len(fuzzOps))]; op {
	case "NewRegistry":
		f.regs[rnd.IntN(fuzzRegSlots)].Store(NewRegistry[*app]())
		return op
	case "Global":
		f.regs[rnd.IntN(fuzzRegSlots)].Store(Global[*app]())
		return op
	case "DropRegistry":
		f.regs[rnd.IntN(fuzzRegSlots)].Store(nil)
		return op
	case "CloseRegistry":
		if r := f.pickReg(rnd); r != nil {
			if err := r.Close(); err != nil {
				f.errorf("Registry.Close: %v", err)
			}
		}
		return op
	case "TakePool":
		if r := f.pickReg(rnd); r != nil {
			f.pools[rnd.IntN(fuzzPoolSlots)].Store(poolByKind(r, fuzzKind(rnd)))
		}
		return op
	case "DropPool":
		f.pools[rnd.IntN(fuzzPoolSlots)].Store(nil)
		return op
	case "NewRoute":
		rt, err := f.newRoute(rnd)
		if err != nil {
			f.errorf("NewRoute: %v", err)
			return op
		}
		f.routes[rnd.IntN(fuzzRouteSlots)].Store(rt)
		return op
	case "DropRoute":
		f.routes[rnd.IntN(fuzzRouteSlots)].Store(nil)
		return op
	case "CloseRoute":
		if rt := f.pickRoute(rnd); rt != nil {
			if err := rt.Close(); err != nil {
				f.errorf("Route.Close: %v", err)
			}
		}
		return op
	case "WithRouteContext":
		if rt := f.pickRoute(rnd); rt != nil {
			req := httptest.NewRequest("GET", "http://x/", nil)
			if c := f.pickCtx(rnd); c != nil && rnd.IntN(2) == 0 {
				req = c.req // nest: the new route must win
			}
			c := &fuzzCtx{req: WithRouteContext(req, rt), route: rt, alias: rt.Alias(), url: rt.UpstreamURL()}
			if rnd.IntN(2) == 0 {
				c.route = nil // the request alone must keep the route
			}
			f.ctxs[rnd.IntN(fuzzCtxSlots)].Store(c)
		}
		return op
	case "DropContext":
		f.ctxs[rnd.IntN(fuzzCtxSlots)].Store(nil)
		return op
	case "NewBatch":
		if r := f.pickReg(rnd); r != nil {
			f.closedPanic(op, func() { f.bats[rnd.IntN(fuzzBatchSlots)].Store(r.NewBatch()) })
		}
		return op
	case "BatchAdd":
		if b, rt := f.bats[rnd.IntN(fuzzBatchSlots)].Load(), f.pickRoute(rnd); b != nil && rt != nil {
			f.expect(op, b.Add(rt), ErrInvalidArgument)
		}
		return op
	case "BatchDelKey":
		if b := f.bats[rnd.IntN(fuzzBatchSlots)].Load(); b != nil {
			f.expect(op, b.DelKey(fuzzKind(rnd), fuzzKey(rnd)), ErrInvalidArgument)
		}
		return op
	case "BatchReplaceProvider":
		if b := f.bats[rnd.IntN(fuzzBatchSlots)].Load(); b != nil {
			f.expect(op, b.ReplaceProvider("fuzz"), ErrInvalidArgument)
		}
		return op
	case "BatchCommit":
		if b := f.bats[rnd.IntN(fuzzBatchSlots)].Load(); b != nil {
			_, err := b.Commit()
			f.expect(op, err, ErrInvalidArgument)
		}
		return op
	case "BatchDiscard":
		if b := f.bats[rnd.IntN(fuzzBatchSlots)].Load(); b != nil {
			if rnd.IntN(2) == 0 {
				b.Discard()
			} else if err := b.Close(); err != nil {
				f.errorf("Batch.Close: %v", err)
			}
		}
		return op
	case "DropBatch": // an uncommitted batch left to the garbage collector
		f.bats[rnd.IntN(fuzzBatchSlots)].Store(nil)
		return op
	case "Watch":
		if r := f.pickReg(rnd); r != nil {
			f.closedPanic(op, func() {
				ctx, cancel := context.WithCancel(context.Background())
				w := &fuzzWatch{ch: r.Watch(ctx), cancel: cancel}
				if old := f.watch[rnd.IntN(fuzzWatchSlots)].Swap(w); old != nil {
					old.cancel()
				}
			})
		}
		return op
	case "DrainWatch":
		if w := f.watch[rnd.IntN(fuzzWatchSlots)].Load(); w != nil {
			for range 64 {
				select {
				case c, ok := <-w.ch:
					if !ok {
						return op
					}
					switch c.Op {
					case ChangeAdded, ChangeReloaded, ChangeReplaced, ChangeRemoved:
						if c.Route == nil || c.Route.Key() != c.Key {
							f.errorf("Watch: %v record for %q carries %v", c.Op, c.Key, c.Route)
						}
					case ChangeCleared, ChangeInventory, ChangeResync:
					default:
						f.errorf("Watch: unknown op %v", c.Op)
					}
				default:
					return op
				}
			}
		}
		return op
	case "CancelWatch":
		if w := f.watch[rnd.IntN(fuzzWatchSlots)].Swap(nil); w != nil {
			w.cancel()
		}
		return op
	case "GC":
		if rnd.IntN(4) == 0 { // a full collection costs milliseconds: not at every draw
			runtime.GC()
		} else {
			runtime.Gosched()
		}
		return op
	case "UseClosedRegistry":
		// A registry closed here and used afterwards: every method gives ErrClosed.
		r := NewRegistry[*app]()
		if rnd.IntN(2) == 0 {
			f.regs[rnd.IntN(fuzzRegSlots)].Store(r) // others may use it too
		}
		p := poolByKind(r, fuzzKind(rnd))
		r.Close()
		rt, _ := f.newRoute(rnd)
		if err := r.Add(rt); !errors.Is(err, ErrClosed) {
			f.errorf("Add on a closed registry: %v", err)
		}
		if err := p.Del("x"); !errors.Is(err, ErrClosed) {
			f.errorf("Pool.Del on a closed registry: %v", err)
		}
		if _, err := r.HealthJSON(HealthSimple); !errors.Is(err, ErrClosed) {
			f.errorf("HealthJSON on a closed registry: %v", err)
		}
		uses := []func(){
			func() { r.Get("x") }, func() { p.Get("x") }, func() { p.Size() }, func() { r.Clear() },
			func() { p.Slice() }, func() { r.ByProvider() }, func() { r.HealthInfo() },
			func() { r.Generation() }, func() { r.GetHTTPRouteOrExact("a", "b") },
			func() {
				for range r.IterAll {
				}
			},
		}
		if !f.closedPanic("a closed registry", uses[rnd.IntN(len(uses))]) {
			f.errorf("a method of a closed registry did not panic with ErrClosed")
		}
		return op
	case "UseClosedRoute":
		rt, err := f.newRoute(rnd)
		if err != nil {
			f.errorf("NewRoute: %v", err)
			return op
		}
		if r := f.pickReg(rnd); r != nil && rnd.IntN(2) == 0 {
			f.expect("Add", r.Add(rt), ErrKept)
		}
		req := WithRouteContext(httptest.NewRequest("GET", "http://x/", nil), rt)
		rt.Close()
		if err := rt.SetHealth(StatusHealthy, 0, 0, ""); !errors.Is(err, ErrClosed) {
			f.errorf("SetHealth on a closed route: %v", err)
		}
		if _, _, _, err := rt.Health(); !errors.Is(err, ErrClosed) {
			f.errorf("Health on a closed route: %v", err)
		}
		if _, ok := rt.Proxmox(); ok || rt.IsFrozen() {
			f.errorf("a closed route reports a Proxmox link or frozen")
		}
		if r := f.pickReg(rnd); r != nil {
			if err := r.Add(rt); !errors.Is(err, ErrClosed) {
				f.errorf("Add of a closed route: %v", err)
			}
		}
		if TryGetRoute[*app](req) != rt || TryGetUpstreamName(req) != rt.Alias() || rt.Key() == "" {
			f.errorf("a closed route's identity or request context is lost")
		}
		return op
	}
	return f.use(rnd)
}

// use runs one of the operations on the objects held (any of which may be closed).
func (f *fuzzRun) use(rnd *rand.Rand) string {
	op := fuzzOps[rnd.IntN(len(fuzzOps))]
	r, p, rt := f.pickReg(rnd), f.pickPool(rnd), f.pickRoute(rnd)
	key := fuzzKey(rnd)
	var ran bool
	// A registry closed by another goroutine meanwhile: its methods without an error result
	// panic with ErrClosed, which closedPanic accepts (any other panic is a failure).
	f.closedPanic(op, func() {
		ran = true
		switch op {
		case "Add":
			if r != nil && rt != nil {
				f.expect(op, r.Add(rt), ErrKept)
			}
		case "FindHTTPRoute":
			if r != nil {
				if got, ok := r.FindHTTPRoute(key + ".example.com:443"); ok && (got.Key() != key || got.Kind() != KindHTTP) {
					f.errorf("FindHTTPRoute(%q) = %v", key, got)
				}
			}
		case "Changes":
			if r != nil {
				seq, _, err := r.Changes(0)
				f.expect(op, err, ErrStale)
				if err == nil {
					for c := range seq {
						if c.Route != nil && c.Route.Key() != c.Key {
							f.errorf("Changes: record for %q carries %v", c.Key, c.Route)
						}
					}
				}
			}
		case "Pool.Add":
			if p != nil && rt != nil {
				err := p.Add(rt)
				if rt.Kind() != p.Kind() {
					if !errors.Is(err, ErrInvalidArgument) {
						f.errorf("Pool.Add of a %v route to the %v pool: %v", rt.Kind(), p.Kind(), err)
					}
					return
				}
				f.expect(op, err, ErrKept)
			}
		case "AddIfNotExists":
			if r != nil && rt != nil {
				actual, added, err := r.AddIfNotExists(rt)
				f.expect(op, err)
				// Not added: actual is the route that holds the key (rt itself when rt was
				// already there). Added: rt itself, unless another goroutine closed rt
				// meanwhile (then a new object for the same native route).
				if err == nil && (actual == nil || actual.Key() != rt.Key() || added && actual != rt && rt.alive()) {
					f.errorf("AddIfNotExists(%q) = %v, %v", rt.Key(), actual, added)
				}
			}
		case "Del":
			if r != nil && rt != nil {
				f.expect(op, r.Del(rt), ErrNotFound)
			}
		case "Pool.Del":
			if p != nil {
				f.expect(op, p.Del(key), ErrNotFound)
			}
		case "Get":
			if r != nil {
				got, ok := r.Get(key)
				f.checkRoute(op, key, got, ok)
				if ok && got.Kind() == KindExcluded {
					f.errorf("Get(%q) gave an excluded route", key)
				}
			}
		case "Pool.Get":
			if p != nil {
				got, ok := p.Get(key)
				f.checkRoute(op, key, got, ok)
				if ok && got.Kind() != p.Kind() {
					f.errorf("%v pool gave a %v route", p.Kind(), got.Kind())
				}
			}
		case "GetIncludeExcluded":
			if r != nil {
				got, ok := r.GetIncludeExcluded(key)
				f.checkRoute(op, key, got, ok)
			}
		case "GetHTTPRouteOrExact":
			if r != nil {
				host := fuzzKey(rnd)
				got, ok := r.GetHTTPRouteOrExact(key, host)
				if ok && (got.Kind() != KindHTTP || (got.Key() != key && got.Key() != host)) {
					f.errorf("GetHTTPRouteOrExact(%q, %q) gave %v", key, host, got)
				}
			}
		case "IterAll":
			if r != nil {
				for got := range r.IterAll {
					if got.Value() == nil || !strings.HasPrefix(got.Key(), "fz") && !r.global {
						f.errorf("IterAll gave %v", got)
					}
				}
			}
		case "Pool.Iter":
			if p != nil {
				for k, got := range p.Iter {
					if k != got.Key() || got.Kind() != p.Kind() {
						f.errorf("Pool.Iter gave %q -> %v", k, got)
					}
				}
			}
		case "Pool.Slice":
			if p != nil {
				s := p.Slice()
				if !sort.SliceIsSorted(s, func(i, j int) bool {
					return s[i].Alias() < s[j].Alias() || s[i].Alias() == s[j].Alias() && s[i].Key() < s[j].Key()
				}) {
					f.errorf("Pool.Slice is not sorted")
				}
			}
		case "ByProvider":
			if r != nil {
				for prov, l := range r.ByProvider() {
					for _, got := range l {
						if got.ProviderName() != prov {
							f.errorf("ByProvider[%q] holds a route of %q", prov, got.ProviderName())
						}
					}
				}
			}
		case "HealthJSON":
			if r != nil {
				_, err := r.HealthJSON(HealthFormat(rnd.IntN(4)))
				f.expect(op, err, ErrInvalidArgument)
			}
		case "HealthInfo":
			if r != nil {
				_ = r.HealthInfo()
			}
		case "Size":
			if p != nil && p.Size() < 0 {
				f.errorf("negative size")
			}
		case "Clear":
			if p != nil && rnd.IntN(4) == 0 {
				p.Clear()
			}
		case "Generation":
			if r != nil {
				g1 := r.Generation()
				if g2 := r.Generation(); g2 < g1 {
					f.errorf("generation went back: %d then %d", g1, g2)
				}
			}
		case "SetHealth":
			if rt != nil {
				f.expect(op, rt.SetHealth(StatusHealthy, time.Duration(rnd.IntN(1000)), 0, "fuzz"))
			}
		case "Health":
			if rt != nil {
				_, _, _, err := rt.Health()
				f.expect(op, err)
			}
		case "Proxmox":
			if rt != nil {
				rt.Proxmox()
			}
		case "IsFrozen":
			if rt != nil {
				rt.IsFrozen()
			}
		case "TryGet":
			if c := f.pickCtx(rnd); c != nil {
				got := TryGetRoute[*app](c.req)
				if got == nil || (c.route != nil && got != c.route) || got.Alias() != c.alias ||
					TryGetUpstreamName(c.req) != c.alias || TryGetUpstreamURL(c.req) != c.url {
					f.errorf("the request's route: %v, name %q url %q; want %q %q", got, TryGetUpstreamName(c.req), TryGetUpstreamURL(c.req), c.alias, c.url)
				}
				if got != nil {
					// The request keeps the native route alive: health works unless closed.
					f.expect("context route Health", func() error { _, _, _, err := got.Health(); return err }())
				}
			}
		default:
			ran = false
		}
	})
	if !ran {
		return f.step(rnd)
	}
	return op
}

func TestLifecycleFuzz(t *testing.T) {
	secs := fuzzEnv(t, "RR_FUZZ_SECS", 2)
	seed := uint64(fuzzEnv(t, "RR_FUZZ_SEED", 1))
	baseHandles, baseRoutes := settle()
	f := &fuzzRun{counts: map[string]int{}}
	deadline := time.Now().Add(time.Duration(secs * float64(time.Second)))
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < fuzzGoroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed+uint64(g), 0x5eed))
			local := map[string]int{}
			for i := 0; ; i++ {
				if i%16 == 0 && !time.Now().Before(deadline) {
					break
				}
				local[f.step(rnd)]++
			}
			f.mu.Lock()
			for k, v := range local {
				f.counts[k] += v
			}
			f.mu.Unlock()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Duration(secs*float64(time.Second)) + 2*time.Minute):
		t.Fatal("fuzz goroutines hung")
	}
	elapsed := time.Since(start)
	if f.nfail > 0 {
		t.Fatalf("seed %d: %d failures, first ones:\n%s", seed, f.nfail, strings.Join(f.failures, "\n"))
	}
	total := 0
	var never []string
	for _, op := range fuzzOps {
		if f.counts[op] == 0 {
			never = append(never, op)
		}
		total += f.counts[op]
	}
	t.Logf("lifecycle fuzz: seed %d, %d goroutines, %d ops in %.1f s (%.0f ops/s), gc at every call: %v",
		seed, fuzzGoroutines, total, elapsed.Seconds(), float64(total)/elapsed.Seconds(), gcAtEveryCall)
	if len(never) > 0 && total >= 20*len(fuzzOps) {
		t.Errorf("operations that never ran in %d ops: %v", total, never)
	}
	// Drop everything (closing some), then every handle and native route must be released.
	for i := range f.regs {
		if r := f.regs[i].Swap(nil); r != nil && i%2 == 0 {
			r.Close()
		}
	}
	for i := range f.pools {
		f.pools[i].Store(nil)
	}
	for i := range f.routes {
		if rt := f.routes[i].Swap(nil); rt != nil && i%2 == 0 {
			rt.Close()
		}
	}
	for i := range f.ctxs {
		f.ctxs[i].Store(nil)
	}
	for i := range f.bats {
		if b := f.bats[i].Swap(nil); b != nil && i%2 == 0 {
			b.Discard()
		}
	}
	for i := range f.watch {
		if w := f.watch[i].Swap(nil); w != nil {
			w.cancel()
		}
	}
	waitFor(t, "every watcher to end", func() bool { return liveWatchers.Load() == 0 })
	Global[*app]().Clear()
	Global[*app]().dropChangeRecords()
	waitFor(t, "handles and routes back to baseline after the lifecycle fuzz", func() bool {
		return LiveHandles() == baseHandles && LiveRoutes() == baseRoutes
	})
}
