package etcd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/route-registry/routes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Two mirrors (and a third started late) show the same routes as the publishers' sets, and
// follow every publish.
func TestMirrorsConverge(t *testing.T) {
	t.Parallel()
	te := sharedEtcd(t)
	prefix := testPrefix(t)
	cli := newClient(t, te.endpoint)
	docker := newPublisher(t, cli, prefix, "docker", 10*time.Second)
	file := newPublisher(t, newClient(t, te.endpoint), prefix, "file", 10*time.Second)

	setD := httpRecords(50, "v1")
	setF := []Record{
		{Kind: routes.KindHTTP, Alias: "web", Key: "web.example.com", URL: "http://10.1.0.1:80", Priority: 3},
		{Kind: routes.KindStream, Alias: "db", URL: "tcp://10.1.0.2:5432", Proxmox: &Proxmox{Node: "pve", VMID: 100}},
		{Kind: routes.KindExcluded, Alias: "legacy"},
	}
	publish(t, docker, setD)
	rev := publish(t, file, setF)

	m1 := startMirror(t, cli, prefix)
	m2 := startMirror(t, newClient(t, te.endpoint), prefix)
	m1.waitRev(t, rev, 10*time.Second)
	m2.waitRev(t, rev, 10*time.Second)
	want := append(expected(setD, "docker"), expected(setF, "file")...)
	slices.Sort(want)
	check := func(stage string, want []string) {
		t.Helper()
		for i, m := range []*testMirror{m1, m2} {
			if got := listing(m.reg); !slices.Equal(got, want) {
				t.Fatalf("%s: mirror %d has\n%s\nwant\n%s", stage, i+1, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
		if a, b := byProviderKeys(m1.reg), byProviderKeys(m2.reg); a != b {
			t.Fatalf("%s: ByProvider differs:\n%s\nvs\n%s", stage, a, b)
		}
	}
	check("initial", want)
	if got := m1.reg.ByProviderKeys(); len(got["docker"]) != 50 || len(got["file"]) != 3 {
		t.Fatalf("by provider: %v", got)
	}

	// Changes: some updated, some removed, some added; the other provider untouched.
	setD2 := append(httpRecords(40, "v2"), Record{Kind: routes.KindStream, Alias: "cache", URL: "tcp://10.2.0.1:6379"})
	rev = publish(t, docker, setD2)
	m1.waitRev(t, rev, 10*time.Second)
	m2.waitRev(t, rev, 10*time.Second)
	want = append(expected(setD2, "docker"), expected(setF, "file")...)
	slices.Sort(want)
	check("after republish", want)

	// A mirror started now shows the same.
	m3 := startMirror(t, newClient(t, te.endpoint), prefix)
	m3.waitRev(t, rev, 10*time.Second)
	if got := listing(m3.reg); !slices.Equal(got, want) {
		t.Fatalf("late mirror differs:\n%s", strings.Join(got, "\n"))
	}
	// Routes carry the caller's value (MirrorConfig.Value) and come back on lookups.
	rt, ok := m3.reg.HTTP.Get("web.example.com")
	if !ok || rt.Value() != "http://10.1.0.1:80" || rt.Alias() != "web" || rt.Priority() != 3 {
		t.Fatalf("web.example.com: %v %v", rt, ok)
	}
	if m1.Skipped() != 0 || !m1.Connected() {
		t.Fatalf("skipped %d connected %v", m1.Skipped(), m1.Connected())
	}
	eventually(t, 3*time.Second, "lag 0 while connected", func() bool { return m1.Lag() == 0 })
}

// A publisher that dies without revoking its lease: its routes disappear from every mirror
// when the lease expires; another publisher's stay. Close revokes at once.
func TestLeaseExpiry(t *testing.T) {
	t.Parallel()
	te := sharedEtcd(t)
	prefix := testPrefix(t)
	deadCli, err := Dial(te.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	dead, err := NewPublisher(context.Background(), PublisherConfig{Client: deadCli, Prefix: prefix, Provider: "dead", LeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, dead, httpRecords(20, "v1"))
	alive := newPublisher(t, newClient(t, te.endpoint), prefix, "alive", 10*time.Second)
	rev := publish(t, alive, []Record{{Kind: routes.KindHTTP, Alias: "kept", URL: "http://10.9.0.1:80"}})

	cli := newClient(t, te.endpoint)
	m1 := startMirror(t, cli, prefix)
	m2 := startMirror(t, newClient(t, te.endpoint), prefix)
	m1.waitRev(t, rev, 10*time.Second)
	m2.waitRev(t, rev, 10*time.Second)
	if n := m1.reg.NumAllRoutes(); n != 21 {
		t.Fatalf("%d routes, want 21", n)
	}
	// Crash: the keep-alives stop (the client is gone), nothing is revoked.
	crashed := time.Now()
	deadCli.Close()
	for i, m := range []*testMirror{m1, m2} {
		eventually(t, 8*time.Second, fmt.Sprintf("mirror %d drops the dead publisher's routes", i+1), func() bool {
			return m.reg.NumAllRoutes() == 1
		})
		if _, ok := m.reg.Get("kept"); !ok {
			t.Fatalf("mirror %d lost the live publisher's route", i+1)
		}
	}
	t.Logf("routes of a crashed publisher (lease TTL 1 s) gone from both mirrors after %v", time.Since(crashed).Round(time.Millisecond))

	// Close revokes the lease: the routes go at once, not after the TTL.
	start := time.Now()
	if err := alive.Close(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*testMirror{m1, m2} {
		eventually(t, 3*time.Second, "revoked routes removed", func() bool { return m.reg.NumAllRoutes() == 0 })
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("revoked routes took %v to disappear", d)
	}
}

// etcd stopped and restarted on the same data dir: the mirrors keep serving their routes
// while it is down, report it, and converge within 5 s of the restart.
func TestEtcdRestart(t *testing.T) {
	te := newTestEtcd(t)
	prefix := testPrefix(t)
	// Clients connect through a loopback proxy so that stopping the in-process server drops
	// their connections at once, as the death of an etcd process does (the embedded server's
	// graceful stop would otherwise wait 5 s for their streams).
	fp := startFaultProxy(t, te.endpoint)
	pub := newPublisher(t, newClient(t, fp.endpoint()), prefix, "p", 30*time.Second)
	rev := publish(t, pub, httpRecords(30, "v1"))
	m1 := startMirror(t, newClient(t, fp.endpoint()), prefix)
	m2 := startMirror(t, newClient(t, fp.endpoint()), prefix)
	m1.waitRev(t, rev, 10*time.Second)
	m2.waitRev(t, rev, 10*time.Second)
	before := listing(m1.reg)

	fp.setBlocked(true)
	fp.killAll()
	te.stop()
	fp.setBlocked(false) // connections are refused by the stopped server now
	for i, m := range []*testMirror{m1, m2} {
		eventually(t, 5*time.Second, fmt.Sprintf("mirror %d notices etcd is gone", i+1), func() bool { return !m.Connected() })
		if got := listing(m.reg); !slices.Equal(got, before) {
			t.Fatalf("mirror %d changed its routes while etcd was down", i+1)
		}
		if rt, ok := m.reg.Get("app-3"); !ok || !strings.HasSuffix(rt.UpstreamURL(), "/v1") {
			t.Fatalf("mirror %d stopped serving app-3", i+1)
		}
	}
	time.Sleep(1500 * time.Millisecond) // long enough for the reconnect backoff to reach its cap
	if m1.Lag() < 1500*time.Millisecond || m1.Status().Connected {
		t.Fatalf("lag %v, status %+v while etcd is down", m1.Lag(), m1.Status())
	}

	te.start(t)
	restarted := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rev, err := pub.Publish(ctx, httpRecords(25, "v2"))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range []*testMirror{m1, m2} {
		eventually(t, 5*time.Second, fmt.Sprintf("mirror %d converges within 5 s of the restart", i+1), func() bool {
			return m.Revision() >= rev && m.Connected()
		})
		if got, want := listing(m.reg), expected(httpRecords(25, "v2"), "p"); !slices.Equal(got, want) {
			t.Fatalf("mirror %d after restart:\n%s", i+1, strings.Join(got, "\n"))
		}
	}
	t.Logf("both mirrors applied a change %v after etcd restarted", time.Since(restarted).Round(time.Millisecond))
}

// compactionScenario: a mirror whose watch starts only after etcd compacted past its
// revision must read everything again. The change it missed replaces 200 routes.
func compactionScenario(t *testing.T) (*testMirror, *versionReader) {
	te := newTestEtcd(t)
	prefix := testPrefix(t)
	cli := newClient(t, te.endpoint)
	pub := newPublisher(t, cli, prefix, "p", 30*time.Second)
	publish(t, pub, httpRecords(200, "v1"))

	hold := make(chan struct{})
	first := true
	m := startMirror(t, newClient(t, te.endpoint), prefix, func(_ *MirrorConfig[string], m *Mirror[string]) {
		m.beforeWatch = func(int64) {
			if first {
				first = false
				<-hold
			}
		}
	})
	m.waitReady(t, 10*time.Second)
	vr := startVersionReader(m.reg, 200)
	rev := publish(t, pub, httpRecords(200, "v2"))
	resp, err := cli.Put(context.Background(), "/elsewhere", "x") // compact past the publish
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(context.Background(), resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	close(hold)
	m.waitRev(t, rev, 10*time.Second)
	time.Sleep(50 * time.Millisecond)
	return m, vr
}

func TestCompactionForcesResync(t *testing.T) {
	m, vr := compactionScenario(t)
	close(vr.stop)
	<-vr.done
	if got, want := listing(m.reg), expected(httpRecords(200, "v2"), "p"); !slices.Equal(got, want) {
		t.Fatalf("after the resync:\n%s", strings.Join(got[:5], "\n"))
	}
	if n := m.Resyncs(); n != 2 {
		t.Fatalf("%d full reads, want 2 (start, compaction)", n)
	}
	if !strings.Contains(m.logs.String(), "compacted") {
		t.Fatalf("no log line about the compaction:\n%s", m.logs)
	}
}

// Needs the real batch: the resync after a compaction is one change set for readers.
func TestCompactionResyncIsOneBatch(t *testing.T) {
	m, vr := compactionScenario(t)
	vr.finish(t)
	requireOneBatch(t, m.applied(), true)
}

// Needs the real batch: a publish of 300 changed routes reaches readers as one change set.
func TestWatchResponseIsOneBatch(t *testing.T) {
	t.Parallel()
	te := sharedEtcd(t)
	prefix := testPrefix(t)
	pub := newPublisher(t, newClient(t, te.endpoint), prefix, "p", 10*time.Second)
	publish(t, pub, httpRecords(300, "v1"))
	m := startMirror(t, newClient(t, te.endpoint), prefix)
	m.waitReady(t, 10*time.Second)
	vr := startVersionReader(m.reg, 300)
	for _, v := range []string{"v2", "v3", "v4"} {
		rev := publish(t, pub, httpRecords(300, v))
		m.waitRev(t, rev, 10*time.Second)
	}
	vr.finish(t)
	requireOneBatch(t, m.applied(), false)
	requireOneBatch(t, m.applied(), true)
}

func TestInitialSync10k(t *testing.T) {
	t.Parallel()
	te := sharedEtcd(t)
	prefix := testPrefix(t)
	pub := newPublisher(t, newClient(t, te.endpoint), prefix, "bulk", 30*time.Second)
	recs := httpRecords(10000, "v1")
	rev := publish(t, pub, recs)
	start := time.Now()
	m := startMirror(t, newClient(t, te.endpoint), prefix)
	m.waitRev(t, rev, 30*time.Second)
	took := time.Since(start)
	t.Logf("initial sync of 10 000 routes: %v", took.Round(time.Millisecond))
	if n := m.reg.HTTP.Size(); n != 10000 {
		t.Fatalf("%d routes, want 10000", n)
	}
	if got, want := listing(m.reg), expected(recs, "bulk"); !slices.Equal(got, want) {
		t.Fatal("the 10 000 routes differ from the published set")
	}
	infos := m.applied()
	if len(infos) != 1 || !infos[0].Resync || infos[0].Added != 10000 {
		t.Fatalf("applied %+v, want one resync of 10000", infos)
	}
}

// A fault kills the mirror's connection while etcd is sending a watch response (a publish
// that changes 2000 routes): the mirror reconnects, reads again and converges. Separately, a
// batch that fails half-built (injected) is discarded and followed by a full read.
func TestFaultKillStreamMidBatch(t *testing.T) {
	te := newTestEtcd(t)
	prefix := testPrefix(t)
	fp := startFaultProxy(t, te.endpoint)
	pub := newPublisher(t, newClient(t, te.endpoint), prefix, "p", 30*time.Second)
	const n = 2000
	publish(t, pub, httpRecords(n, "v1"))
	m := startMirror(t, newClient(t, fp.endpoint()), prefix)
	m.waitReady(t, 10*time.Second)
	vr := startVersionReader(m.reg, n)
	t.Cleanup(func() {
		select {
		case <-vr.done:
		default:
			close(vr.stop)
			<-vr.done
		}
	})

	fp.cutAfter(32 << 10) // the response for 2000 records is ~250 KiB: cut inside it
	rev := publish(t, pub, httpRecords(n, "v2"))
	m.waitRev(t, rev, 15*time.Second)
	if fp.cuts() == 0 {
		t.Fatal("the fault proxy cut nothing")
	}
	if m.Resyncs() < 2 {
		t.Fatalf("%d full reads after the cut, want >= 2", m.Resyncs())
	}

	m.faultAfter.Store(n / 2) // the next batch fails after 1000 of its entries
	resyncs := m.Resyncs()
	rev = publish(t, pub, httpRecords(n, "v3"))
	m.waitRev(t, rev, 15*time.Second)
	if m.Resyncs() != resyncs+1 || !strings.Contains(m.logs.String(), "injected fault") {
		t.Fatalf("resyncs %d -> %d; logs:\n%s", resyncs, m.Resyncs(), m.logs)
	}
	if got, want := listing(m.reg), expected(httpRecords(n, "v3"), "p"); !slices.Equal(got, want) {
		t.Fatal("routes differ from the last publish")
	}
	t.Run("readers never see half a change (needs the real batch)", func(t *testing.T) {
		vr.finish(t)
		requireOneBatch(t, m.applied(), true)
	})
}

// A lost connection: the mirror keeps its routes, says it is disconnected, and after the
// connection comes back reads again and shows what changed meanwhile.
func TestLostConnection(t *testing.T) {
	te := newTestEtcd(t)
	prefix := testPrefix(t)
	fp := startFaultProxy(t, te.endpoint)
	pub := newPublisher(t, newClient(t, te.endpoint), prefix, "p", 30*time.Second)
	rev := publish(t, pub, httpRecords(10, "v1"))
	m := startMirror(t, newClient(t, fp.endpoint()), prefix)
	m.waitRev(t, rev, 10*time.Second)

	fp.setBlocked(true)
	fp.killAll()
	eventually(t, 5*time.Second, "mirror notices the lost connection", func() bool { return !m.Connected() })
	rev = publish(t, pub, httpRecords(12, "v2"))
	time.Sleep(300 * time.Millisecond)
	if m.reg.NumAllRoutes() != 10 || m.Lag() < 300*time.Millisecond {
		t.Fatalf("while disconnected: %d routes, lag %v", m.reg.NumAllRoutes(), m.Lag())
	}
	if st := m.Status(); st.Connected || st.LagMS < 300 {
		t.Fatalf("status %+v", st)
	}
	fp.setBlocked(false)
	back := time.Now()
	m.waitRev(t, rev, 5*time.Second)
	t.Logf("applying changes again %v after the connection came back", time.Since(back).Round(time.Millisecond))
	if got, want := listing(m.reg), expected(httpRecords(12, "v2"), "p"); !slices.Equal(got, want) {
		t.Fatal("routes differ after reconnecting")
	}
	eventually(t, 3*time.Second, "connected with lag 0", func() bool { return m.Connected() && m.Lag() == 0 })
}

// Every kind of bad record is skipped, counted once, logged, never applied, and empties the
// key it occupies on every mirror, whenever it started; the mirror keeps going.
func TestBadRecords(t *testing.T) {
	t.Parallel()
	te := sharedEtcd(t)
	prefix := testPrefix(t)
	cli := newClient(t, te.endpoint)
	ctx := context.Background()
	put := func(path, value string) int64 {
		t.Helper()
		resp, err := cli.Put(ctx, prefix+"/"+path, value)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	// Good records, one with unknown fields.
	put("http/good", `{"v":1,"alias":"good","url":"http://10.0.0.1:80"}`)
	put("http/unknown", `{"v":1,"alias":"unknown","url":"http://10.0.0.2:80","future":{"x":1},"vmname":"n"}`)
	put("http/badurl", `{"v":1,"alias":"badurl","url":"http://10.0.0.3:80"}`) // turns bad below
	rev := put("http/nourl", `{"v":1,"alias":"nourl","url":"http://10.0.0.4:80"}`)
	early := startMirror(t, cli, prefix)
	early.waitRev(t, rev, 10*time.Second)
	if n := early.reg.NumAllRoutes(); n != 4 {
		t.Fatalf("%d routes, want 4", n)
	}

	// Every kind of bad record, through the watch.
	for _, b := range badRecords {
		rev = put(b.path, b.value)
	}
	rev = put("http/later", `{"v":1,"alias":"later","url":"http://10.0.0.5:80"}`) // the mirror keeps going
	early.waitRev(t, rev, 10*time.Second)
	late := startMirror(t, newClient(t, te.endpoint), prefix)
	late.waitRev(t, rev, 10*time.Second)

	want := []string{
		"http/good alias=good url=http://10.0.0.1:80 provider= prio=0 docker=false",
		"http/later alias=later url=http://10.0.0.5:80 provider= prio=0 docker=false",
		"http/unknown alias=unknown url=http://10.0.0.2:80 provider= prio=0 docker=false",
	}
	for name, m := range map[string]*testMirror{"early": early, "late": late} {
		// badurl and nourl had good records first: now bad, the key has no route.
		if got := listing(m.reg); !slices.Equal(got, want) {
			t.Errorf("%s mirror:\n%s", name, strings.Join(got, "\n"))
		}
		if got := m.Skipped(); got != int64(len(badRecords)) {
			t.Errorf("%s mirror skipped %d, want %d", name, got, len(badRecords))
		}
		logs := m.logs.String()
		for _, b := range badRecords {
			if !strings.Contains(logs, "key="+prefix+"/"+b.path+" ") {
				t.Errorf("%s mirror: no log line for %s", name, b.name)
			}
		}
		if strings.Count(logs, "bad record skipped") != len(badRecords) {
			t.Errorf("%s mirror: %d log lines, want %d", name, strings.Count(logs, "bad record skipped"), len(badRecords))
		}
	}
	// A full read again (compaction, reconnection) counts nothing twice.
	m := early
	if _, err := m.resync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.Skipped(); got != int64(len(badRecords)) {
		t.Fatalf("after a re-read skipped %d", got)
	}
	// A bad record made good again is applied.
	rev = put("http/badurl", `{"v":1,"alias":"badurl","url":"http://10.0.0.3:81"}`)
	early.waitRev(t, rev, 10*time.Second)
	if rt, ok := early.reg.Get("badurl"); !ok || rt.UpstreamPort() != "81" {
		t.Fatal("a repaired record was not applied")
	}
}

// The registry's priority rule decides between the mirror's route and a route the program
// added itself; a record update replaces the mirror's own route whatever the priorities, and
// a deleted record never removes the program's route.
func TestPriorityRules(t *testing.T) {
	t.Parallel()
	te := sharedEtcd(t)
	prefix := testPrefix(t)
	cli := newClient(t, te.endpoint)
	pub := newPublisher(t, cli, prefix, "etcd", 10*time.Second)
	m := startMirror(t, cli, prefix)
	m.waitReady(t, 10*time.Second)

	local, err := routes.NewRoute(routes.RouteConfig{Kind: routes.KindHTTP, Alias: "shared", URL: "http://127.0.0.1:1", Provider: "local", Priority: 5}, "local")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.reg.Add(local); err != nil {
		t.Fatal(err)
	}
	rev := publish(t, pub, []Record{
		{Kind: routes.KindHTTP, Alias: "shared", URL: "http://10.0.0.1:80", Priority: 0},
		{Kind: routes.KindHTTP, Alias: "own", URL: "http://10.0.0.2:80", Priority: 5},
	})
	m.waitRev(t, rev, 10*time.Second)
	if rt, _ := m.reg.Get("shared"); rt != local {
		t.Fatalf("shared is %v, want the local route (priority 5 > 0)", rt)
	}
	// Lower the priority of the mirror's own route: it is replaced anyway.
	rev = publish(t, pub, []Record{
		{Kind: routes.KindHTTP, Alias: "shared", URL: "http://10.0.0.1:80", Priority: 0},
		{Kind: routes.KindHTTP, Alias: "own", URL: "http://10.0.0.9:80", Priority: 1},
	})
	m.waitRev(t, rev, 10*time.Second)
	if rt, ok := m.reg.Get("own"); !ok || rt.Priority() != 1 || rt.UpstreamHost() != "10.0.0.9" {
		t.Fatalf("own is %v, want the updated record (priority 1)", rt)
	}
	// Deleting the records: the local route stays, the mirror's own goes.
	rev = publish(t, pub, nil)
	m.waitRev(t, rev, 10*time.Second)
	if rt, _ := m.reg.Get("shared"); rt != local {
		t.Fatal("the mirror removed a route it did not put there")
	}
	if _, ok := m.reg.Get("own"); ok {
		t.Fatal("the mirror's route outlived its record")
	}
	// A higher-priority record beats the local route.
	rev = publish(t, pub, []Record{{Kind: routes.KindHTTP, Alias: "shared", URL: "http://10.0.0.7:80", Priority: 9}})
	m.waitRev(t, rev, 10*time.Second)
	if rt, _ := m.reg.Get("shared"); rt == local || rt.Priority() != 9 {
		t.Fatalf("shared is %v, want the record (priority 9)", rt)
	}
}

func TestPublisher(t *testing.T) {
	t.Parallel()
	te := sharedEtcd(t)
	prefix := testPrefix(t)
	cli := newClient(t, te.endpoint)
	ctx := context.Background()
	p := newPublisher(t, cli, prefix, "me", 10*time.Second)
	contents := func() map[string]int64 {
		resp, err := cli.Get(ctx, prefix+"/", clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, kv := range resp.Kvs {
			if providerOf(kv.Value) != "me" {
				continue
			}
			if clientv3.LeaseID(kv.Lease) != p.Lease() {
				t.Fatalf("%s is not under the publisher's lease", kv.Key)
			}
			out[strings.TrimPrefix(string(kv.Key), prefix+"/")] = kv.ModRevision
		}
		return out
	}
	publish(t, p, httpRecords(5, "v1"))
	first := contents()
	if len(first) != 5 {
		t.Fatalf("%v", first)
	}
	// Replace: app-0..2 unchanged (left alone), app-3 changed, app-4 removed, new one added.
	set2 := append(httpRecords(3, "v1"), httpRecords(4, "v2")[3], Record{Kind: routes.KindStream, Alias: "s", Provider: "ignored", URL: "tcp://h:1"})
	publish(t, p, set2)
	second := contents()
	if len(second) != 5 || second["http/app-0"] != first["http/app-0"] || second["http/app-3"] == first["http/app-3"] {
		t.Fatalf("first %v second %v", first, second)
	}
	if _, ok := second["http/app-4"]; ok {
		t.Fatal("app-4 not deleted")
	}
	if _, ok := second["stream/s"]; !ok {
		t.Fatal("stream/s not written (with the publisher's provider)")
	}
	// Nothing is written when a record is invalid or a key is another provider's.
	for _, bad := range [][]Record{
		{{Kind: routes.KindHTTP, Alias: "x", URL: "not a url"}},
		{{Kind: routes.KindHTTP, Alias: "x", URL: "http://h:1"}, {Kind: routes.KindHTTP, Alias: "x", URL: "http://h:2"}},
		{{Kind: routes.KindHTTP, Alias: "big", URL: "http://h:1/" + strings.Repeat("a", MaxRecordBytes)}},
	} {
		if _, err := p.Publish(ctx, bad); err == nil {
			t.Fatalf("published %+v", bad)
		}
	}
	other := newPublisher(t, cli, prefix, "other", 10*time.Second)
	if _, err := other.Publish(ctx, httpRecords(1, "x")); !errors.Is(err, ErrKeyOwned) {
		t.Fatalf("publishing over another provider's key: %v", err)
	}
	if got := contents(); len(got) != 5 || got["http/app-3"] != second["http/app-3"] {
		t.Fatalf("a refused publish changed etcd: %v", got)
	}
	// Racing publishers on one prefix: every publish lands complete (retried on conflict).
	done := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			pp, err := NewPublisher(ctx, PublisherConfig{Client: cli, Prefix: prefix, Provider: fmt.Sprintf("race-%d", i)})
			if err != nil {
				done <- err
				return
			}
			defer pp.Close()
			for j := 0; j < 5; j++ {
				recs := []Record{{Kind: routes.KindHTTP, Alias: fmt.Sprintf("r%d-%d", i, j), URL: "http://h:1"}}
				if _, err := pp.Publish(ctx, recs); err != nil {
					done <- err
					return
				}
			}
			resp, err := cli.Get(ctx, prefix+"/http/r", clientv3.WithPrefix())
			if err == nil {
				found := 0
				for _, kv := range resp.Kvs {
					if providerOf(kv.Value) == fmt.Sprintf("race-%d", i) {
						found++
					}
				}
				if found != 1 {
					err = fmt.Errorf("race-%d holds %d keys, want 1", i, found)
				}
			}
			done <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if got := contents(); len(got) != 0 {
		t.Fatalf("after Close: %v", got)
	}
}

// The mirror stops promptly on context cancel, leaving the routes in the registry.
func TestMirrorStopsOnCancel(t *testing.T) {
	t.Parallel()
	te := sharedEtcd(t)
	prefix := testPrefix(t)
	cli := newClient(t, te.endpoint)
	pub := newPublisher(t, cli, prefix, "p", 10*time.Second)
	rev := publish(t, pub, httpRecords(3, "v1"))
	m := startMirror(t, cli, prefix)
	m.waitRev(t, rev, 10*time.Second)
	start := time.Now()
	m.cancel()
	select {
	case <-m.done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2 s of cancel")
	}
	t.Logf("stopped in %v", time.Since(start))
	if m.Connected() || m.reg.NumAllRoutes() != 3 {
		t.Fatalf("connected=%v routes=%d", m.Connected(), m.reg.NumAllRoutes())
	}
	if err := m.Run(context.Background()); err == nil {
		t.Fatal("a second Run was accepted")
	}
}

// etcd replaced by another cluster at the same endpoint (a new data dir): the revisions start
// again and equal the ones the mirror saw, with other values; the mirror shows the new
// cluster's records.
func TestEtcdReplaced(t *testing.T) {
	te := newTestEtcd(t)
	prefix := testPrefix(t)
	fp := startFaultProxy(t, te.endpoint)
	pcli, err := Dial(te.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublisher(context.Background(), PublisherConfig{Client: pcli, Prefix: prefix, Provider: "p"})
	if err != nil {
		t.Fatal(err)
	}
	rev := publish(t, pub, httpRecords(10, "old"))
	m := startMirror(t, newClient(t, fp.endpoint()), prefix)
	m.waitRev(t, rev, 10*time.Second)
	pcli.Close() // the old cluster's publisher goes away with it

	// The mirror cannot reach the new cluster until it holds the new records.
	fp.setBlocked(true)
	fp.killAll()
	te.stop()
	te2 := &testEtcd{dir: t.TempDir(), clientPort: te.clientPort, peerPort: te.peerPort}
	te2.start(t)
	t.Cleanup(te2.stop)
	pub2 := newPublisher(t, newClient(t, te2.endpoint), prefix, "p", 10*time.Second)
	if rev2 := publish(t, pub2, httpRecords(10, "new")); rev2 != rev {
		t.Fatalf("revisions %d and %d: the test needs equal ones", rev, rev2)
	}
	fp.setBlocked(false)
	want := expected(httpRecords(10, "new"), "p")
	eventually(t, 10*time.Second, "the mirror shows the new cluster's records", func() bool {
		return slices.Equal(listing(m.reg), want)
	})
}

// A nil context is an error in the caller, before anything starts (a nil context used to
// crash Run, and a Publisher's calls).
func TestNilContext(t *testing.T) {
	t.Parallel()
	te := sharedEtcd(t)
	prefix := testPrefix(t)
	cli := newClient(t, te.endpoint)
	pub := newPublisher(t, cli, prefix, "p", 10*time.Second)
	//lint:ignore SA1012 deliberate
	if _, err := NewPublisher(nil, PublisherConfig{Client: cli, Provider: "q", Prefix: prefix}); err == nil || //nolint:staticcheck
		!strings.Contains(err.Error(), "nil context") {
		t.Errorf("NewPublisher(nil): %v", err)
	}
	//lint:ignore SA1012 deliberate
	if _, err := pub.Publish(nil, httpRecords(1, "v1")); err == nil || !strings.Contains(err.Error(), "nil context") { //nolint:staticcheck
		t.Errorf("Publish(nil): %v", err)
	}
	m, err := NewMirror(MirrorConfig[string]{Client: cli, Registry: routes.NewRegistry[string](), Prefix: prefix,
		Value: func(r Record) (string, error) { return r.URL, nil }})
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1012 deliberate
	if err := m.Run(nil); err == nil || !strings.Contains(err.Error(), "nil context") { //nolint:staticcheck
		t.Errorf("Run(nil): %v", err)
	}
	//lint:ignore SA1012 deliberate
	if err := m.WaitRevision(nil, 1); err == nil || !strings.Contains(err.Error(), "nil context") { //nolint:staticcheck
		t.Errorf("WaitRevision(nil): %v", err)
	}
	// The refused Run did not use up the mirror's one Run.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	rev := publish(t, pub, httpRecords(2, "v1"))
	if err := m.WaitRevision(ctx, rev); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
