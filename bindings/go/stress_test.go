package routes

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStress runs goroutines mixing every operation of the binding for RR_STRESS_SECS seconds
// (default 2), under -race in `make test`, and checks invariants as it goes:
//   - owners: each owns a few keys nobody else touches, so an exact model predicts every
//     result (Add, AddIfNotExists, Del, all lookups, SetHealth/Health, Close, the request
//     context), even while the cache is refilled by the other goroutines;
//   - proxmox: owns the inventory and a few keys: a route added after a load gets that
//     inventory's link, a failed load keeps the old one;
//   - shared: all mutate one small key-space with random kinds and priorities; lookups must
//     give a route with the key asked, the caller's value and only the expected errors;
//   - iterators: snapshots, sizes, health maps and provider views stay within the key-space
//     and are consistent with themselves;
//   - a second registry with Clear/pool Clear/PurgeTombstones (a writer with an exact
//     model of its sizes) and a reader.
//
// At the end every op must have run, and every handle and native route is released.

var stressOps = []string{
	"Pool.Add", "Pool.AddIfNotExists", "Pool.Del", "Pool.Get", "Pool.Iter", "Pool.Slice",
	"Pool.Size", "Pool.Clear", "Add", "AddIfNotExists", "Del", "Clear", "Get",
	"GetIncludeExcluded", "GetHTTPRouteOrExact", "IterActive", "IterAll", "NumActiveRoutes",
	"NumAllRoutes", "HealthInfo", "HealthInfoWithoutDetail", "HealthInfoSimple", "HealthJSON",
	"ByProvider", "ByProviderKeys", "SetHealth", "Health", "Route.Close", "WithRouteContext",
	"TryGet", "LoadProxmoxInventory", "LoadProxmoxJSON", "Proxmox", "PurgeTombstones",
	"Generation", "IsFrozen",
}

const (
	stressOwners     = 4
	stressOwnedKeys  = 9 // per owner: kinds HTTP, STREAM, EXCLUDED in turn
	stressSharedKeys = 16
	stressPxKeys     = 4
	stressClearKeys  = 32
)

func stressDuration(t *testing.T) time.Duration {
	t.Helper()
	s := os.Getenv("RR_STRESS_SECS")
	if s == "" {
		return 2 * time.Second
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		t.Fatalf("RR_STRESS_SECS=%q: want a positive number of seconds", s)
	}
	return time.Duration(f * float64(time.Second))
}

type stressRun struct {
	mu       sync.Mutex
	failures []string
	nfail    int
	counts   map[string]int
	deadline time.Time
}

func (s *stressRun) errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nfail++
	if len(s.failures) < 20 {
		s.failures = append(s.failures, fmt.Sprintf(format, args...))
	}
}

func (s *stressRun) merge(local map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range local {
		s.counts[k] += v
	}
}

func (s *stressRun) running() bool { return time.Now().Before(s.deadline) }

func poolOf[T any](reg *Registry[T], k Kind) *Pool[T] {
	switch k {
	case KindHTTP:
		return reg.HTTP
	case KindStream:
		return reg.Stream
	}
	return reg.Excluded
}

// stressURL is the upstream of a route: the scheme follows the kind, host and port the key.
func stressURL(k Kind, a, b int) string {
	if k == KindStream {
		return fmt.Sprintf("tcp://10.2.%d.%d:%d", a, b, 5000+b)
	}
	return fmt.Sprintf("http://10.1.%d.%d:%d", a, b, 8000+b)
}

func isExpected(err error, allowed ...error) bool {
	if err == nil {
		return true
	}
	var e *Error
	if !errors.As(err, &e) && !errors.Is(err, ErrClosed) {
		return false
	}
	for _, a := range allowed {
		if errors.Is(err, a) {
			return true
		}
	}
	return false
}

// stressOwner: keys own<g>-<j> belong to this goroutine only; cur is the exact model.
func stressOwner(s *stressRun, reg *Registry[*app], g int) {
	rnd := rand.New(rand.NewPCG(uint64(g), 1))
	ops := map[string]int{}
	defer func() { s.merge(ops) }()
	var cur [stressOwnedKeys]*Route[*app]
	seq := 0
	base := httptest.NewRequest("GET", "http://client.example/", nil)
	statuses := []HealthStatus{StatusUnknown, StatusHealthy, StatusNapping, StatusStarting, StatusUnhealthy, StatusError}
	newRoute := func(j int) *Route[*app] {
		seq++
		k := Kind(j % 3)
		key := fmt.Sprintf("own%d-%d", g, j)
		rt, err := NewRoute(RouteConfig{Kind: k, Alias: key, URL: stressURL(k, g, j), Provider: fmt.Sprintf("owner%d", g)}, &app{name: key, n: seq})
		if err != nil {
			s.errorf("NewRoute(%s): %v", key, err)
			return nil
		}
		return rt
	}
	for s.running() {
		j := rnd.IntN(stressOwnedKeys)
		k := Kind(j % 3)
		key := fmt.Sprintf("own%d-%d", g, j)
		pool := poolOf(reg, k)
		model := cur[j]
		switch rnd.IntN(8) {
		case 0: // Add, through the pool or the registry
			rt := newRoute(j)
			if rt == nil {
				continue
			}
			if rt.IsFrozen() {
				s.errorf("%s: frozen before Add", key)
			}
			var err error
			if rnd.IntN(2) == 0 {
				err, ops["Pool.Add"] = pool.Add(rt), ops["Pool.Add"]+1
			} else {
				err, ops["Add"] = reg.Add(rt), ops["Add"]+1
			}
			if err != nil {
				s.errorf("%s: Add: %v", key, err)
				continue
			}
			ops["IsFrozen"]++
			if !rt.IsFrozen() {
				s.errorf("%s: not frozen after Add", key)
			}
			cur[j] = rt
			// a route of another kind is refused by this pool, naming the route
			other := poolOf(reg, Kind((j+1)%3))
			if err := other.Add(rt); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), key) {
				s.errorf("%s: Add to the %v pool = %v, want ErrInvalidArgument naming the key", key, other.Kind(), err)
			}
		case 1: // AddIfNotExists
			rt := newRoute(j)
			if rt == nil {
				continue
			}
			var actual *Route[*app]
			var added bool
			var err error
			if rnd.IntN(2) == 0 {
				actual, added, err = pool.AddIfNotExists(rt)
				ops["Pool.AddIfNotExists"]++
			} else {
				actual, added, err = reg.AddIfNotExists(rt)
				ops["AddIfNotExists"]++
			}
			switch {
			case err != nil:
				s.errorf("%s: AddIfNotExists: %v", key, err)
			case model == nil && (!added || actual != rt):
				s.errorf("%s: AddIfNotExists on a free key = %p %v, want %p true", key, actual, added, rt)
			case model != nil && (added || actual != model):
				s.errorf("%s: AddIfNotExists on a taken key = %p %v, want %p false", key, actual, added, model)
			}
			if model == nil {
				cur[j] = rt
			} else {
				rt.Close()
			}
		case 2: // Del, by key or by route
			var err error
			if model != nil && rnd.IntN(2) == 0 {
				err, ops["Del"] = reg.Del(model), ops["Del"]+1
			} else {
				err, ops["Pool.Del"] = pool.Del(key), ops["Pool.Del"]+1
			}
			if model == nil && !errors.Is(err, ErrNotFound) {
				s.errorf("%s: Del of an absent key = %v, want ErrNotFound", key, err)
			}
			if model != nil && err != nil {
				s.errorf("%s: Del: %v", key, err)
			}
			cur[j] = nil
		case 3: // every lookup agrees with the model
			check := func(op string, got *Route[*app], ok bool, want *Route[*app]) {
				ops[op]++
				if got != want || ok != (want != nil) {
					s.errorf("%s(%s) = %p %v, want %p", op, key, got, ok, want)
				} else if got != nil && (got.Key() != key || got.Value() != want.Value()) {
					s.errorf("%s(%s): key %q value %+v", op, key, got.Key(), got.Value())
				}
			}
			got, ok := pool.Get(key)
			check("Pool.Get", got, ok, model)
			got, ok = reg.GetIncludeExcluded(key)
			check("GetIncludeExcluded", got, ok, model)
			active, httpOnly := model, model
			if k == KindExcluded {
				active = nil
			}
			if k != KindHTTP {
				httpOnly = nil
			}
			got, ok = reg.Get(key)
			check("Get", got, ok, active)
			got, ok = reg.GetHTTPRouteOrExact(key, "absent.example")
			check("GetHTTPRouteOrExact", got, ok, httpOnly)
			got, ok = reg.GetHTTPRouteOrExact("absent", key)
			check("GetHTTPRouteOrExact", got, ok, httpOnly)
		case 4: // health: only this goroutine sets it on its routes
			if model == nil {
				continue
			}
			st := statuses[rnd.IntN(len(statuses))]
			up, lat := time.Duration(rnd.Int64N(1e12)), time.Duration(rnd.Int64N(1e9))
			detail := fmt.Sprintf("%s #%d", key, seq)
			ops["SetHealth"]++
			if err := model.SetHealth(st, up, lat, detail); err != nil {
				s.errorf("%s: SetHealth: %v", key, err)
			}
			ops["Health"]++
			if gst, gup, glat, err := model.Health(); err != nil || gst != st || gup != up || glat != lat {
				s.errorf("%s: Health = %v %v %v %v, want %v %v %v", key, gst, gup, glat, err, st, up, lat)
			}
			if rnd.IntN(8) == 0 {
				ops["HealthInfo"]++
				if hi, ok := reg.HealthInfo()[key]; !ok || hi.Status != st || hi.Uptime != up || hi.Latency != lat || hi.Detail != detail {
					s.errorf("%s: HealthInfo = %+v %v, want %v %v %v %q", key, hi, ok, st, up, lat, detail)
				}
			}
		case 5: // request context
			if model == nil {
				continue
			}
			ops["WithRouteContext"]++
			req := WithRouteContext(base, model)
			ops["TryGet"]++
			if TryGetRoute[*app](req) != model || TryGetRoute[int](req) != nil || TryGetRoute[*app](base) != nil {
				s.errorf("%s: TryGetRoute", key)
			}
			want := [7]string{key, model.UpstreamScheme(), model.UpstreamHost(), model.UpstreamPort(),
				model.UpstreamHostPort(), model.UpstreamAddr(), stressURL(k, g, j)}
			got := [7]string{TryGetUpstreamName(req), TryGetUpstreamScheme(req), TryGetUpstreamHost(req),
				TryGetUpstreamPort(req), TryGetUpstreamHostPort(req), TryGetUpstreamAddr(req), TryGetUpstreamURL(req)}
			net := 1
			if k == KindStream {
				net = 2
			}
			if got != want || got[2] != fmt.Sprintf("10.%d.%d.%d", net, g, j) {
				s.errorf("%s: TryGetUpstream* = %q, want %q", key, got, want)
			}
		case 6: // Close: the registry keeps the route; a lookup gives a new object, same value
			if model == nil {
				continue
			}
			ops["Route.Close"]++
			model.Close()
			if err := model.SetHealth(StatusHealthy, 0, 0, ""); !errors.Is(err, ErrClosed) {
				s.errorf("%s: SetHealth after Close = %v", key, err)
			}
			got, ok := pool.Get(key)
			ops["Pool.Get"]++
			if !ok || got == model || got.Value() != model.Value() || got.Key() != key {
				s.errorf("%s: Get after Close = %p %v (closed %p)", key, got, ok, model)
				continue
			}
			cur[j] = got
		case 7: // bad arguments give errors, not crashes
			ops["Add"]++
			if err := reg.Add(nil); !errors.Is(err, ErrInvalidArgument) {
				s.errorf("Add(nil) = %v", err)
			}
			if _, err := NewRoute(RouteConfig{Kind: k, Alias: "", URL: "http://h:1"}, &app{}); !errors.Is(err, ErrInvalidArgument) {
				s.errorf("NewRoute without alias = %v", err)
			}
		}
	}
}

// stressProxmox owns the registry's inventory and keys px-<j>.
func stressProxmox(s *stressRun, reg *Registry[*app]) {
	ops := map[string]int{}
	defer func() { s.merge(ops) }()
	var held []*Route[*app]
	for v := 0; s.running(); v++ {
		want := ProxmoxLink{Node: "pve1", VMID: 100 + v%5, VMName: fmt.Sprintf("vm-%d", v)}
		inv := ProxmoxInventory{
			Nodes:     []ProxmoxNode{{Name: "pve1", IP: "10.9.0.2"}},
			Resources: []ProxmoxResource{{Node: "pve1", VMID: want.VMID, Name: want.VMName, IPs: []string{"10.9.0.50"}}},
		}
		ops["LoadProxmoxInventory"]++
		if err := reg.LoadProxmoxInventory(inv); err != nil {
			s.errorf("LoadProxmoxInventory: %v", err)
			continue
		}
		if v%3 == 0 { // a failed load keeps the inventory
			ops["LoadProxmoxJSON"]++
			if err := reg.LoadProxmoxJSON([]byte(`{"nodes":[{"name":1}]}`)); !errors.Is(err, ErrInvalidArgument) {
				s.errorf("LoadProxmoxJSON(bad) = %v, want ErrInvalidArgument", err)
			}
		}
		key := fmt.Sprintf("px-%d", v%stressPxKeys)
		rt, err := NewRoute(RouteConfig{Kind: KindHTTP, Alias: key, URL: "http://10.9.0.50:80", Provider: "proxmox"}, &app{name: key, n: v})
		if err != nil {
			s.errorf("NewRoute(%s): %v", key, err)
			continue
		}
		if err := reg.HTTP.Add(rt); err != nil {
			s.errorf("%s: Add: %v", key, err)
			continue
		}
		ops["Proxmox"]++
		if got, ok := rt.Proxmox(); !ok || got != want {
			s.errorf("%s: Proxmox() = %+v %v, want %+v", key, got, ok, want)
		}
		if got, ok := reg.HTTP.Get(key); !ok || got != rt {
			s.errorf("%s: HTTP.Get after Add = %p %v, want %p", key, got, ok, rt)
		}
		// A Docker route is never linked; an explicit link names the node only.
		dk, err := NewRoute(RouteConfig{Kind: KindHTTP, Alias: key + "-docker", URL: "http://10.9.0.50:81", Docker: true}, &app{name: key + "-docker"})
		if err != nil {
			s.errorf("NewRoute docker: %v", err)
			continue
		}
		if _, ok := dk.Proxmox(); ok {
			s.errorf("a Docker route has a Proxmox link")
		}
		dk.Close()
		held = append(held, rt)
		if len(held) > 8 {
			held[0].Close()
			held = held[1:]
		}
	}
}

// stressShared mutates and looks up a key-space shared by several goroutines.
func stressShared(s *stressRun, reg *Registry[*app], g int) {
	rnd := rand.New(rand.NewPCG(uint64(g), 2))
	ops := map[string]int{}
	defer func() { s.merge(ops) }()
	checkFound := func(op, key string, want Kind, anyKind bool, got *Route[*app], ok bool) {
		ops[op]++
		if !ok {
			return
		}
		if got.Key() != key || got.Value() == nil || got.Value().name != key || (!anyKind && got.Kind() != want) {
			s.errorf("%s(%s) gave %v (value %+v)", op, key, got, got.Value())
		}
	}
	for i := 0; s.running(); i++ {
		kind := Kind(rnd.IntN(3))
		key := fmt.Sprintf("sh%d", rnd.IntN(stressSharedKeys))
		pool := poolOf(reg, kind)
		switch rnd.IntN(6) {
		case 0, 1:
			rt, err := NewRoute(RouteConfig{Kind: kind, Alias: key, URL: stressURL(kind, 200+g, i%250), Priority: int32(rnd.IntN(3)), Provider: "shared"}, &app{name: key, n: i})
			if err != nil {
				s.errorf("NewRoute(%s): %v", key, err)
				continue
			}
			if rnd.IntN(2) == 0 {
				ops["Add"]++
				if err := reg.Add(rt); !isExpected(err, ErrKept) {
					s.errorf("%s: Add: %v", key, err)
				}
			} else {
				ops["Pool.AddIfNotExists"]++
				actual, added, err := pool.AddIfNotExists(rt)
				if err != nil || actual == nil || (added && actual != rt) || actual.Key() != key || actual.Kind() != kind {
					s.errorf("%s: AddIfNotExists = %v %v %v", key, actual, added, err)
				}
			}
		case 2:
			ops["Pool.Del"]++
			if err := pool.Del(key); !isExpected(err, ErrNotFound) {
				s.errorf("%s: Del: %v", key, err)
			}
		case 3:
			got, ok := pool.Get(key)
			checkFound("Pool.Get", key, kind, false, got, ok)
			got, ok = reg.Get(key)
			checkFound("Get", key, 0, true, got, ok)
			if ok && got.Kind() == KindExcluded {
				s.errorf("Get(%s) gave an EXCLUDED route", key)
			}
			got, ok = reg.GetIncludeExcluded(key)
			checkFound("GetIncludeExcluded", key, 0, true, got, ok)
			got, ok = reg.GetHTTPRouteOrExact(key, "none")
			checkFound("GetHTTPRouteOrExact", key, KindHTTP, false, got, ok)
		case 4:
			if rt, ok := reg.GetIncludeExcluded(key); ok {
				ops["SetHealth"]++
				if err := rt.SetHealth(HealthStatus(1<<rnd.IntN(5)), time.Duration(i), time.Millisecond, "shared "+key); err != nil {
					s.errorf("%s: SetHealth: %v", key, err)
				}
				ops["Health"]++
				if st, _, _, err := rt.Health(); err != nil || st.String() == "" || strings.HasPrefix(st.String(), "HealthStatus(") {
					s.errorf("%s: Health = %v %v", key, st, err)
				}
			}
		case 5:
			got, ok := reg.GetIncludeExcluded(key)
			ops["GetIncludeExcluded"]++
			if ok {
				ops["WithRouteContext"]++
				req := WithRouteContext(httptest.NewRequest("GET", "/", nil), got)
				ops["TryGet"]++
				if TryGetRoute[*app](req) != got || TryGetUpstreamName(req) != got.Alias() || TryGetUpstreamURL(req) != got.UpstreamURL() {
					s.errorf("%s: request context disagrees with the route", key)
				}
			}
		}
	}
}

// stressIterator checks snapshots, counts and views against the key-space.
func stressIterator(s *stressRun, reg *Registry[*app]) {
	ops := map[string]int{}
	defer func() { s.merge(ops) }()
	maxPool := map[Kind]int{
		KindHTTP:     stressOwners*stressOwnedKeys/3 + stressSharedKeys + stressPxKeys,
		KindStream:   stressOwners*stressOwnedKeys/3 + stressSharedKeys,
		KindExcluded: stressOwners*stressOwnedKeys/3 + stressSharedKeys,
	}
	maxAll := maxPool[KindHTTP] + maxPool[KindStream] + maxPool[KindExcluded]
	knownProviders := map[string]bool{"shared": true, "proxmox": true}
	for g := 0; g < stressOwners; g++ {
		knownProviders[fmt.Sprintf("owner%d", g)] = true
	}
	checkRoute := func(op string, rt *Route[*app]) {
		if rt == nil || rt.Value() == nil || rt.Value().name != rt.Key() {
			s.errorf("%s gave %v", op, rt)
		}
	}
	var lastGen uint64
	for s.running() {
		ops["Generation"]++
		if g := reg.Generation(); g < lastGen {
			s.errorf("Generation went back from %d to %d", lastGen, g)
		} else {
			lastGen = g
		}
		seen := map[string]bool{}
		n := 0
		ops["IterActive"]++
		for rt := range reg.IterActive {
			checkRoute("IterActive", rt)
			id := rt.Kind().String() + "/" + rt.Key()
			if rt.Kind() == KindExcluded || seen[id] {
				s.errorf("IterActive: %s (excluded or twice)", id)
			}
			seen[id] = true
			n++
		}
		if n > maxPool[KindHTTP]+maxPool[KindStream] {
			s.errorf("IterActive visited %d routes", n)
		}
		all := 0
		ops["IterAll"]++
		for rt := range reg.IterAll {
			checkRoute("IterAll", rt)
			all++
		}
		if all > maxAll {
			s.errorf("IterAll visited %d routes (key-space %d)", all, maxAll)
		}
		for _, k := range []Kind{KindHTTP, KindStream, KindExcluded} {
			p := poolOf(reg, k)
			ops["Pool.Iter"]++
			for key, rt := range p.Iter {
				checkRoute("Pool.Iter", rt)
				if key != rt.Key() || rt.Kind() != k {
					s.errorf("%v.Iter: key %q route %v", k, key, rt)
				}
			}
			ops["Pool.Slice"]++
			sl := p.Slice()
			if !slices.IsSortedFunc(sl, func(a, b *Route[*app]) int {
				return strings.Compare(a.Alias()+"\x00"+a.Key(), b.Alias()+"\x00"+b.Key())
			}) {
				s.errorf("%v.Slice is not sorted by alias, key", k)
			}
			ops["Pool.Size"]++
			if n := p.Size(); n < 0 || n > maxPool[k] {
				s.errorf("%v.Size = %d (key-space %d)", k, n, maxPool[k])
			}
		}
		ops["NumActiveRoutes"]++
		if n := reg.NumActiveRoutes(); n < 0 || n > maxPool[KindHTTP]+maxPool[KindStream] {
			s.errorf("NumActiveRoutes = %d", n)
		}
		ops["NumAllRoutes"]++
		if n := reg.NumAllRoutes(); n < 0 || n > maxAll {
			s.errorf("NumAllRoutes = %d", n)
		}
		ops["HealthInfo"]++
		for alias, hi := range reg.HealthInfo() {
			if _, err := hi.Status.MarshalText(); err != nil || hi.Uptime < 0 || hi.Latency < 0 || alias == "" {
				s.errorf("HealthInfo[%q] = %+v", alias, hi)
			}
		}
		ops["HealthInfoWithoutDetail"]++
		for alias, hi := range reg.HealthInfoWithoutDetail() {
			if _, err := hi.Status.MarshalText(); err != nil {
				s.errorf("HealthInfoWithoutDetail[%q] = %+v", alias, hi)
			}
		}
		ops["HealthInfoSimple"]++
		simple := reg.HealthInfoSimple()
		if len(simple) > maxAll {
			s.errorf("HealthInfoSimple has %d aliases", len(simple))
		}
		ops["HealthJSON"]++
		for _, f := range []HealthFormat{HealthFull, HealthWithoutDetail, HealthSimple} {
			var m map[string]json.RawMessage
			if b, err := reg.HealthJSON(f); err != nil {
				s.errorf("HealthJSON(%d): %v", f, err)
			} else if err := json.Unmarshal(b, &m); err != nil {
				s.errorf("HealthJSON(%d) does not parse: %v", f, err)
			}
		}
		ops["ByProvider"]++
		for prov, l := range reg.ByProvider() {
			if !knownProviders[prov] && prov != "" {
				s.errorf("ByProvider: unknown provider %q", prov)
			}
			if !sort.SliceIsSorted(l, func(i, j int) bool { return l[i].Key() < l[j].Key() }) {
				s.errorf("ByProvider[%q] is not sorted by key", prov)
			}
			for _, rt := range l {
				if rt.ProviderName() != prov {
					s.errorf("ByProvider[%q] holds %v of provider %q", prov, rt, rt.ProviderName())
				}
			}
		}
		ops["ByProviderKeys"]++
		for prov, keys := range reg.ByProviderKeys() {
			if (!knownProviders[prov] && prov != "") || !slices.IsSorted(keys) {
				s.errorf("ByProviderKeys[%q] = %q", prov, keys)
			}
		}
	}
}

// stressClearWriter is the only writer of reg2: its sizes follow an exact model across Add,
// Del, pool Clear and Clear.
func stressClearWriter(s *stressRun, reg2 *Registry[*app]) {
	rnd := rand.New(rand.NewPCG(7, 7))
	ops := map[string]int{}
	defer func() { s.merge(ops) }()
	present := [3]map[string]bool{{}, {}, {}}
	for i := 0; s.running(); i++ {
		k := Kind(rnd.IntN(3))
		key := fmt.Sprintf("cl%d", rnd.IntN(stressClearKeys))
		switch r := rnd.IntN(20); {
		case r < 10:
			rt, err := NewRoute(RouteConfig{Kind: k, Alias: key, URL: stressURL(k, 250, rnd.IntN(250))}, &app{name: key, n: i})
			if err != nil {
				s.errorf("NewRoute(%s): %v", key, err)
				continue
			}
			ops["Pool.Add"]++
			if err := poolOf(reg2, k).Add(rt); err != nil {
				s.errorf("reg2 %s: Add: %v", key, err)
			}
			present[k][key] = true
		case r < 16:
			err := poolOf(reg2, k).Del(key)
			ops["Pool.Del"]++
			if present[k][key] != (err == nil) || !isExpected(err, ErrNotFound) {
				s.errorf("reg2 %s: Del = %v (present %v)", key, err, present[k][key])
			}
			delete(present[k], key)
		case r < 18:
			ops["Pool.Clear"]++
			poolOf(reg2, k).Clear()
			present[k] = map[string]bool{}
		case r < 19:
			ops["Clear"]++
			reg2.Clear()
			present = [3]map[string]bool{{}, {}, {}}
		default:
			ops["PurgeTombstones"]++
			if n := reg2.PurgeTombstones(); n < 0 {
				s.errorf("PurgeTombstones = %d", n)
			}
		}
		for kk := range present {
			ops["Pool.Size"]++
			if n := poolOf(reg2, Kind(kk)).Size(); n != len(present[kk]) {
				s.errorf("reg2 %v.Size = %d, want %d", Kind(kk), n, len(present[kk]))
			}
		}
		ops["NumAllRoutes"]++
		if n := reg2.NumAllRoutes(); n != len(present[0])+len(present[1])+len(present[2]) {
			s.errorf("reg2 NumAllRoutes = %d", n)
		}
	}
}

func stressClearReader(s *stressRun, reg2 *Registry[*app]) {
	rnd := rand.New(rand.NewPCG(8, 8))
	ops := map[string]int{}
	defer func() { s.merge(ops) }()
	for s.running() {
		key := fmt.Sprintf("cl%d", rnd.IntN(stressClearKeys))
		ops["Get"]++
		if rt, ok := reg2.Get(key); ok && (rt.Key() != key || rt.Value().name != key) {
			s.errorf("reg2 Get(%s) = %v", key, rt)
		}
		ops["IterAll"]++
		n := 0
		for rt := range reg2.IterAll {
			if rt.Value() == nil || rt.Value().name != rt.Key() {
				s.errorf("reg2 IterAll gave %v", rt)
			}
			n++
		}
		if n > 3*stressClearKeys {
			s.errorf("reg2 IterAll visited %d", n)
		}
	}
}

func TestStress(t *testing.T) {
	d := stressDuration(t)
	baseHandles, baseRoutes := settle()
	reg := NewRegistry[*app]()
	reg2 := NewRegistry[*app]()
	s := &stressRun{counts: map[string]int{}, deadline: time.Now().Add(d)}
	var wg sync.WaitGroup
	var started atomic.Int32
	spawn := func(f func()) {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	for g := 0; g < stressOwners; g++ {
		spawn(func() { stressOwner(s, reg, g) })
	}
	spawn(func() { stressProxmox(s, reg) })
	for g := 0; g < 3; g++ {
		spawn(func() { stressShared(s, reg, g) })
	}
	for g := 0; g < 2; g++ {
		spawn(func() { stressIterator(s, reg) })
	}
	spawn(func() { stressClearWriter(s, reg2) })
	spawn(func() { stressClearReader(s, reg2) })
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d + 60*time.Second):
		t.Fatal("stress goroutines hung")
	}
	if s.nfail > 0 {
		t.Fatalf("%d invariant violations, first ones:\n%s", s.nfail, strings.Join(s.failures, "\n"))
	}
	total := 0
	for _, op := range stressOps {
		if s.counts[op] == 0 {
			t.Errorf("operation %s never ran", op)
		}
		total += s.counts[op]
	}
	t.Logf("stress: %d goroutines for %v, %d operations; per op: %v", started.Load(), d, total, s.counts)
	// Final consistency, now that nothing runs.
	all := 0
	for range reg.IterAll {
		all++
	}
	if all != reg.NumAllRoutes() || reg.HTTP.Size()+reg.Stream.Size() != reg.NumActiveRoutes() ||
		len(reg.HTTP.Slice())+len(reg.Stream.Slice())+len(reg.Excluded.Slice()) != all {
		t.Fatalf("counts disagree: IterAll %d NumAll %d NumActive %d", all, reg.NumAllRoutes(), reg.NumActiveRoutes())
	}
	reg.Clear()
	reg.Close()
	reg2.Close()
	waitFor(t, "handles and routes back to baseline after the stress", func() bool {
		return LiveHandles() == baseHandles && LiveRoutes() == baseRoutes
	})
}
