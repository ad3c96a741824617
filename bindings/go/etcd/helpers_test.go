package etcd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/route-registry/routes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// testEtcd is a real etcd server run in-process on loopback ports with a temporary data dir.
type testEtcd struct {
	dir                  string
	clientPort, peerPort int
	e                    *embed.Etcd
	endpoint             string
}

// freePort picks a free loopback port (loopback only: tests never listen elsewhere).
func freePort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func newTestEtcd(tb testing.TB) *testEtcd {
	tb.Helper()
	te := &testEtcd{dir: tb.TempDir(), clientPort: freePort(tb), peerPort: freePort(tb)}
	te.start(tb)
	tb.Cleanup(te.stop)
	return te
}

func (te *testEtcd) start(tb testing.TB) {
	tb.Helper()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = te.tryStart(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond) // the old listener's port may still be closing
	}
	tb.Fatalf("embedded etcd: %v", err)
}

func (te *testEtcd) tryStart() error {
	cu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", te.clientPort)}
	pu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", te.peerPort)}
	cfg := embed.NewConfig()
	cfg.Name = "rr-test"
	cfg.Dir = te.dir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.UnsafeNoFsync = os.Getenv("RR_ETCD_FSYNC") == ""
	cfg.TickMs, cfg.ElectionMs = 10, 100 // fast election; minimum lease TTL 1 s
	cfg.MaxTxnOps = 1 << 20
	cfg.MaxRequestBytes = 64 << 20
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		e.Close()
		return fmt.Errorf("etcd not ready after 20 s")
	}
	te.e = e
	te.endpoint = cu.String()
	return nil
}

func (te *testEtcd) stop() {
	if te.e != nil {
		te.e.Server.HardStop() // ends the watch streams, so Close need not wait 5 s for them
		te.e.Close()
		te.e = nil
	}
}

var (
	sharedOnce sync.Once
	shared     *testEtcd
	sharedStop func()
)

// sharedEtcd is one server for the tests that need no server of their own (each uses its own
// prefix). TestMain stops it.
func sharedEtcd(tb testing.TB) *testEtcd {
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rr-etcd-shared-")
		if err != nil {
			tb.Fatal(err)
		}
		shared = &testEtcd{dir: dir, clientPort: freePort(tb), peerPort: freePort(tb)}
		shared.start(tb)
		sharedStop = func() { shared.stop(); os.RemoveAll(dir) }
	})
	if shared == nil || shared.e == nil {
		tb.Fatal("shared etcd did not start")
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedStop != nil {
		sharedStop()
	}
	os.Exit(code)
}

var prefixSeq atomic.Int64

func testPrefix(tb testing.TB) string {
	return fmt.Sprintf("/rr-test/%s-%d", strings.ReplaceAll(tb.Name(), "/", "_"), prefixSeq.Add(1))
}

func newClient(tb testing.TB, endpoint string) *clientv3.Client {
	tb.Helper()
	cli, err := Dial(endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cli.Close() })
	return cli
}

// logBuffer collects the mirror's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// testMirror is a running mirror into its own registry.
type testMirror struct {
	*Mirror[string]
	reg    *routes.Registry[string]
	logs   *logBuffer
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	applies []ApplyInfo
}

type mirrorOpt func(*MirrorConfig[string], *Mirror[string])

func startMirror(tb testing.TB, cli *clientv3.Client, prefix string, opts ...mirrorOpt) *testMirror {
	tb.Helper()
	tm := &testMirror{reg: routes.NewRegistry[string](), logs: &logBuffer{}, done: make(chan struct{})}
	cfg := MirrorConfig[string]{
		Client: cli, Prefix: prefix, Registry: tm.reg,
		Value:            func(r Record) (string, error) { return r.URL, nil },
		Logger:           slog.New(slog.NewTextHandler(io.MultiWriter(tm.logs), nil)),
		ProgressInterval: 100 * time.Millisecond,
		OnApply: func(info ApplyInfo) {
			tm.mu.Lock()
			tm.applies = append(tm.applies, info)
			tm.mu.Unlock()
		},
	}
	m, err := NewMirror(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range opts {
		o(&m.cfg, m)
	}
	tm.Mirror = m
	ctx, cancel := context.WithCancel(context.Background())
	tm.cancel = cancel
	go func() {
		defer close(tm.done)
		_ = m.Run(ctx)
	}()
	tb.Cleanup(tm.stop)
	return tm
}

func (tm *testMirror) stop() {
	tm.cancel()
	<-tm.done
}

func (tm *testMirror) applied() []ApplyInfo {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return append([]ApplyInfo(nil), tm.applies...)
}

func (tm *testMirror) waitReady(tb testing.TB, d time.Duration) {
	tb.Helper()
	select {
	case <-tm.Ready():
	case <-time.After(d):
		tb.Fatalf("mirror not ready after %v", d)
	}
}

func (tm *testMirror) waitRev(tb testing.TB, rev int64, d time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := tm.WaitRevision(ctx, rev); err != nil {
		tb.Fatalf("mirror at revision %d, want %d after %v (connected=%v)", tm.Revision(), rev, d, tm.Connected())
	}
}

// listing is a registry's routes, one line each, sorted: independent of health.
func listing[T any](reg *routes.Registry[T]) []string {
	var out []string
	for rt := range reg.IterAll {
		out = append(out, fmt.Sprintf("%s/%s alias=%s url=%s provider=%s prio=%d docker=%v",
			rt.Kind(), rt.Key(), rt.Alias(), rt.UpstreamURL(), rt.ProviderName(), rt.Priority(), rt.IsDocker()))
	}
	sort.Strings(out)
	return out
}

// expected is the listing a set of records should give.
func expected(recs []Record, provider string) []string {
	reg := routes.NewRegistry[string]()
	defer reg.Close()
	for _, r := range recs {
		r.Provider = provider
		rt, err := NewRecordRoute(r, "")
		if err != nil {
			panic(err)
		}
		if err := reg.Add(rt); err != nil {
			panic(err)
		}
	}
	return listing(reg)
}

func byProviderKeys[T any](reg *routes.Registry[T]) string {
	var b strings.Builder
	bp := reg.ByProvider()
	names := make([]string, 0, len(bp))
	for p := range bp {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		fmt.Fprintf(&b, "%s:", p)
		for _, rt := range bp[p] {
			fmt.Fprintf(&b, " %s/%s", rt.Kind(), rt.Key())
		}
		b.WriteString("\n")
	}
	return b.String()
}

func eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// httpRecords makes n HTTP records app-0..app-(n-1) pointing at version ver.
func httpRecords(n int, ver string) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Kind: routes.KindHTTP, Alias: fmt.Sprintf("app-%d", i),
			URL: fmt.Sprintf("http://10.0.%d.%d:8080/%s", i/250, i%250+1, ver)}
	}
	return recs
}

func newPublisher(tb testing.TB, cli *clientv3.Client, prefix, provider string, ttl time.Duration) *Publisher {
	tb.Helper()
	p, err := NewPublisher(context.Background(), PublisherConfig{Client: cli, Prefix: prefix, Provider: provider, LeaseTTL: ttl})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

func publish(tb testing.TB, p *Publisher, recs []Record) int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rev, err := p.Publish(ctx, recs)
	if err != nil {
		tb.Fatal(err)
	}
	return rev
}

// versionReader reads the registry continuously and records every state in which the
// routes of a provider do not all point at one version, or their number is not n: a state
// that never existed in etcd.
type versionReader struct {
	bad    atomic.Int64
	reads  atomic.Int64
	sample atomic.Value
	stop   chan struct{}
	done   chan struct{}
}

func startVersionReader(reg *routes.Registry[string], n int) *versionReader {
	vr := &versionReader{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(vr.done)
		for {
			select {
			case <-vr.stop:
				return
			default:
			}
			vers := map[string]int{}
			total := 0
			for rt := range reg.IterAll {
				u := rt.UpstreamURL()
				vers[u[strings.LastIndexByte(u, '/')+1:]]++
				total++
			}
			vr.reads.Add(1)
			if len(vers) > 1 || total != n {
				vr.bad.Add(1)
				vr.sample.Store(fmt.Sprintf("%d routes, versions %v", total, vers))
			}
		}
	}()
	return vr
}

func (vr *versionReader) finish(tb testing.TB) {
	tb.Helper()
	close(vr.stop)
	<-vr.done
	if n := vr.bad.Load(); n > 0 {
		tb.Errorf("readers saw %d of %d states that never existed in etcd, e.g. %v", n, vr.reads.Load(), vr.sample.Load())
	}
}

// requireOneBatch checks that every commit the mirror made moved the registry's generation
// by exactly one: readers saw each etcd change as one change set.
func requireOneBatch(tb testing.TB, infos []ApplyInfo, resync bool) {
	tb.Helper()
	n := 0
	for _, in := range infos {
		if in.Resync != resync || in.Added+in.Removed == 0 {
			continue
		}
		n++
		if d := in.Generation - in.GenerationBefore; d != 1 {
			tb.Errorf("a batch of %d adds and %d deletions (revision %d, resync=%v) moved the generation by %d, want 1",
				in.Added, in.Removed, in.Revision, in.Resync, d)
		}
	}
	if n == 0 {
		tb.Errorf("no batch (resync=%v) was applied", resync)
	}
}
