package etcd

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/route-registry/routes"
)

// Propagation: from the start of a publisher's Publish (its read and its transaction) to the
// changed route being returned by a lookup in a mirror's registry, over 1 000 changes of one
// route in a set of 100. Run with -benchtime=1x (each iteration makes 1 000 changes).
func BenchmarkPropagation(b *testing.B) {
	te := newTestEtcd(b)
	prefix := testPrefix(b)
	pub := newPublisher(b, newClient(b, te.endpoint), prefix, "bench", 30*time.Second)
	recs := httpRecords(100, "v0")
	rev := publish(b, pub, recs)
	applied := make(chan struct{}, 1)
	m := startMirror(b, newClient(b, te.endpoint), prefix, func(cfg *MirrorConfig[string], _ *Mirror[string]) {
		cfg.OnApply = func(ApplyInfo) {
			select {
			case applied <- struct{}{}:
			default:
			}
		}
	})
	m.waitRev(b, rev, 10*time.Second)
	const changes = 1000
	var lat []time.Duration
	for b.Loop() {
		lat = lat[:0]
		for i := 0; i < changes; i++ {
			k := i % len(recs)
			want := fmt.Sprintf("http://10.0.%d.%d:8080/c%d", k/250, k%250+1, i)
			recs[k].URL = want
			start := time.Now()
			publish(b, pub, recs)
			for {
				if rt, ok := m.reg.HTTP.Get(recs[k].Alias); ok && rt.UpstreamURL() == want {
					break
				}
				select {
				case <-applied:
				case <-time.After(5 * time.Second):
					b.Fatalf("change %d not applied after 5 s", i)
				}
			}
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
}

// Initial sync: a new mirror's first read of n routes applied to an empty registry.
func benchInitialSync(b *testing.B, n int) {
	te := newTestEtcd(b)
	prefix := testPrefix(b)
	pub := newPublisher(b, newClient(b, te.endpoint), prefix, "bulk", 60*time.Second)
	start := time.Now()
	rev := publish(b, pub, httpRecords(n, "v1"))
	publishTook := time.Since(start)
	cli := newClient(b, te.endpoint)
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		m := startMirror(b, cli, prefix)
		m.waitRev(b, rev, 60*time.Second)
		worst = max(worst, time.Since(start))
		m.stop()
		if m.reg.HTTP.Size() != n {
			b.Fatalf("%d routes", m.reg.HTTP.Size())
		}
		m.reg.Close()
	}
	b.ReportMetric(float64(worst.Milliseconds()), "worst_sync_ms")
	b.ReportMetric(float64(publishTook.Milliseconds()), "publish_ms")
}

func BenchmarkInitialSync10k(b *testing.B) { benchInitialSync(b, 10000) }

// 100 000 routes: one provider's set as one transaction (the test server allows 64 MiB
// requests and 1 Mi operations per transaction; etcd's defaults are 1.5 MiB and 128).
func BenchmarkInitialSync100k(b *testing.B) { benchInitialSync(b, 100000) }

func heapAfterGC() uint64 {
	var ms runtime.MemStats
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Memory of a mirror beyond the registry's own: Go heap of a registry holding 10 000 routes
// filled by a mirror, minus the same registry filled directly (same routes, same values).
func BenchmarkMirrorMemory(b *testing.B) {
	const n = 10000
	te := newTestEtcd(b)
	prefix := testPrefix(b)
	pub := newPublisher(b, newClient(b, te.endpoint), prefix, "mem", 60*time.Second)
	recs := httpRecords(n, "v1")
	rev := publish(b, pub, recs)
	cli := newClient(b, te.endpoint)
	for b.Loop() {
		base := heapAfterGC()
		direct := routes.NewRegistry[string]()
		for _, r := range recs {
			r.Provider = "mem"
			rt, err := NewRecordRoute(r, r.URL)
			if err != nil {
				b.Fatal(err)
			}
			if err := direct.Add(rt); err != nil {
				b.Fatal(err)
			}
		}
		directBytes := heapAfterGC() - base
		direct.Close()

		base = heapAfterGC()
		m := startMirror(b, cli, prefix)
		m.waitRev(b, rev, 30*time.Second)
		m.stop()
		mirrorBytes := heapAfterGC() - base
		runtime.KeepAlive(m)
		b.ReportMetric(float64(directBytes)/n, "registry_B/route")
		b.ReportMetric(float64(mirrorBytes)/n, "with_mirror_B/route")
		b.ReportMetric(float64(int64(mirrorBytes)-int64(directBytes))/n, "mirror_extra_B/route")
		m.reg.Close()
	}
}

// Sizes that bound a provider's set: the bytes of one transaction publishing n records
// (etcd's --max-request-bytes) and its operation count (--max-txn-ops).
func TestRecordSizes(t *testing.T) {
	for _, n := range []int{100, 10000, 100000} {
		total := 0
		for _, r := range httpRecords(n, "v1") {
			r.Provider = "docker"
			v, err := r.Encode()
			if err != nil {
				t.Fatal(err)
			}
			total += len(v) + len(r.EtcdKey(DefaultPrefix)) + 8 // + lease and framing, roughly
		}
		t.Logf("%6d routes: ~%d KiB per transaction, %d operations", n, total>>10, n)
		if n == 100 && total > 100*300 {
			t.Fatalf("records are larger than expected: %d bytes for 100", total)
		}
	}
}

// 100 000 routes all changed by one publish: one transaction, delivered to the mirror as one
// watch response and applied as one batch.
func BenchmarkRepublish100k(b *testing.B) {
	const n = 100000
	te := newTestEtcd(b)
	prefix := testPrefix(b)
	pub := newPublisher(b, newClient(b, te.endpoint), prefix, "bulk", 120*time.Second)
	rev := publish(b, pub, httpRecords(n, "v0"))
	m := startMirror(b, newClient(b, te.endpoint), prefix)
	m.waitRev(b, rev, 60*time.Second)
	var took time.Duration
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		_, err := pub.Publish(ctx, httpRecords(n, fmt.Sprintf("v%d", i)))
		cancel()
		if err != nil {
			// etcd answers "request timed out" when applying the transaction takes longer than
			// its request timeout (5 s + 2 election timeouts); the transaction may still commit.
			b.Logf("Publish of %d changed records after %v: %v", n, time.Since(start).Round(time.Millisecond), err)
		}
		want := fmt.Sprintf("/v%d", i)
		deadline := time.Now().Add(120 * time.Second)
		for {
			rt0, ok0 := m.reg.HTTP.Get("app-0")
			rtN, okN := m.reg.HTTP.Get(fmt.Sprintf("app-%d", n-1))
			if ok0 && okN && strings.HasSuffix(rt0.UpstreamURL(), want) && strings.HasSuffix(rtN.UpstreamURL(), want) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("the mirror did not show the re-publish within 120 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		took = max(took, time.Since(start))
	}
	// OnApply runs after the commit's bookkeeping: wait for it.
	eventually(b, 30*time.Second, "the re-publish reported as one batch", func() bool {
		in := m.applied()
		return len(in) > 0 && in[len(in)-1].Added == n && in[len(in)-1].Revision > rev
	})
	for _, in := range m.applied() {
		b.Logf("batch: resync=%v adds=%d deletions=%d revision=%d", in.Resync, in.Added, in.Removed, in.Revision)
	}
	b.Logf("mirror log: %s", m.logs)
	b.ReportMetric(float64(took.Milliseconds()), "publish_to_applied_ms")
}
