package routes

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func collect[T any](t *testing.T, reg *Registry[T], since uint64) ([]Change[T], uint64) {
	t.Helper()
	seq, next, err := reg.Changes(since)
	if err != nil {
		t.Fatalf("Changes(%d): %v", since, err)
	}
	var out []Change[T]
	for c := range seq {
		out = append(out, c)
	}
	return out, next
}

// Records name the generation, op, pool, key and route of every change, in order.
func TestChangesRecords(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	g0 := reg.Generation()
	a := mustRoute(t, KindHTTP, "a", "http://10.0.0.1:80")
	s := mustRoute(t, KindStream, "s", "tcp://10.0.0.2:5432")
	a2 := mustRoute(t, KindHTTP, "a", "http://10.0.0.3:80")
	for _, rt := range []*Route[*app]{a, s, a2} {
		if err := reg.Add(rt); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.Stream.Del("s"); err != nil {
		t.Fatal(err)
	}
	reg.Clear()
	got, next := collect(t, reg, g0)
	want := []struct {
		op   ChangeOp
		kind Kind
		key  string
		rt   *Route[*app]
	}{
		{ChangeAdded, KindHTTP, "a", a}, {ChangeAdded, KindStream, "s", s},
		{ChangeReplaced, KindHTTP, "a", a2}, {ChangeRemoved, KindStream, "s", s},
		{ChangeCleared, KindHTTP, "", nil},
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		c := got[i]
		if c.Op != w.op || c.Kind != w.kind || c.Key != w.key || c.Route != w.rt || c.Generation != g0+uint64(i)+1 {
			t.Errorf("record %d = {gen %d %v %v %q %v}, want {gen %d %v %v %q %v}", i, c.Generation, c.Op, c.Kind, c.Key, c.Route,
				g0+uint64(i)+1, w.op, w.kind, w.key, w.rt)
		}
	}
	if next != reg.Generation() {
		t.Errorf("next = %d, want the generation %d", next, reg.Generation())
	}
	if rest, _ := collect(t, reg, next); len(rest) != 0 {
		t.Errorf("records after next: %v", rest)
	}
	if _, _, err := reg.Changes(next + 1); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Changes from the future = %v, want ErrInvalidArgument", err)
	}
}

// A reader behind the bounded log gets ErrStale, then continues from a snapshot.
func TestChangesStaleThenSnapshot(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	if err := reg.SetChangeLogCapacity(2); err != nil {
		t.Fatal(err)
	}
	if err := reg.SetChangeLogCapacity(0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("capacity 0 = %v", err)
	}
	for i := range 5 {
		if err := reg.Add(mustRoute(t, KindHTTP, fmt.Sprint("k", i), "http://10.0.0.1:80")); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := reg.Changes(0); !errors.Is(err, ErrStale) {
		t.Fatalf("Changes(0) after the log wrapped = %v, want ErrStale", err)
	}
	all, gen := reg.Snapshot()
	if len(all) != 5 || gen != reg.Generation() {
		t.Fatalf("Snapshot = %d routes at %d, want 5 at %d", len(all), gen, reg.Generation())
	}
	_ = reg.HTTP.Del("k0")
	got, _ := collect(t, reg, gen)
	if len(got) != 1 || got[0].Op != ChangeRemoved || got[0].Key != "k0" {
		t.Errorf("after the snapshot: %+v", got)
	}
}

// A batch commits as one change set: one generation for all its records; ReplaceProvider
// removes the provider's routes the batch does not add again.
func TestBatchIsOneChangeSet(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	for _, k := range []string{"old1", "keep"} {
		if err := reg.Add(mustRoute(t, KindHTTP, k, "http://10.0.0.1:80", withProvider("file"))); err != nil {
			t.Fatal(err)
		}
	}
	other := mustRoute(t, KindHTTP, "other", "http://10.0.0.9:80", withProvider("docker"))
	if err := reg.Add(other); err != nil {
		t.Fatal(err)
	}
	g0 := reg.Generation()
	b := reg.NewBatch()
	defer b.Discard()
	keep := mustRoute(t, KindHTTP, "keep", "http://10.0.0.2:80", withProvider("file"))
	nw := mustRoute(t, KindStream, "new", "tcp://10.0.0.3:53", withProvider("file"))
	for _, rt := range []*Route[*app]{keep, nw} {
		if err := b.Add(rt); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.ReplaceProvider("file"); err != nil {
		t.Fatal(err)
	}
	gen, err := b.Commit()
	if err != nil || gen != g0+1 {
		t.Fatalf("Commit = %d, %v; want %d", gen, err, g0+1)
	}
	recs, _ := collect(t, reg, g0)
	if len(recs) != 3 {
		t.Fatalf("records %+v", recs)
	}
	for _, c := range recs {
		if c.Generation != gen {
			t.Errorf("record %v %q at generation %d, want %d", c.Op, c.Key, c.Generation, gen)
		}
	}
	if _, ok := reg.Get("old1"); ok {
		t.Error("old1 survived ReplaceProvider")
	}
	if got, _ := reg.Get("keep"); got != keep {
		t.Error("keep is not the batch's route")
	}
	if got, _ := reg.Get("new"); got != nw {
		t.Error("new is not the batch's route")
	}
	if got, _ := reg.Get("other"); got != other {
		t.Error("another provider's route was touched")
	}
	if _, err := b.Commit(); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("second Commit = %v, want ErrInvalidArgument", err)
	}
	b.Discard() // no-op after Commit
	if err := b.Close(); err != nil {
		t.Error(err)
	}
}

// The error path: an entry refused leaves the batch usable; a batch discarded after an error
// changes nothing; a spent or discarded batch refuses everything.
func TestBatchErrorPathChangesNothing(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	if err := reg.Add(mustRoute(t, KindHTTP, "stay", "http://10.0.0.1:80", withProvider("file"))); err != nil {
		t.Fatal(err)
	}
	g0 := reg.Generation()
	load := func(bad bool) error {
		b := reg.NewBatch()
		defer b.Discard()
		if err := b.Add(mustRoute(t, KindHTTP, "fresh", "http://10.0.0.2:80", withProvider("file"))); err != nil {
			return err
		}
		if err := b.ReplaceProvider("file"); err != nil {
			return err
		}
		if bad {
			if err := b.DelKey(KindHTTP, ""); err != nil {
				return err
			}
		}
		_, err := b.Commit()
		return err
	}
	if err := load(true); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad entry = %v, want ErrInvalidArgument", err)
	}
	if g := reg.Generation(); g != g0 {
		t.Fatalf("generation moved %d -> %d after a discarded batch", g0, g)
	}
	if _, ok := reg.Get("stay"); !ok {
		t.Fatal("the old set was touched")
	}
	if _, ok := reg.Get("fresh"); ok {
		t.Fatal("a discarded batch's route is visible")
	}

	b := reg.NewBatch()
	if err := b.DelKey(Kind(7), "x"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("bad kind = %v", err)
	}
	if err := b.DelKey(KindHTTP, "a\x00b"); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("NUL key = %v", err)
	}
	if err := b.Add(nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil route = %v", err)
	}
	closed := mustRoute(t, KindHTTP, "c", "http://10.0.0.1:80")
	closed.Close()
	if err := b.Add(closed); !errors.Is(err, ErrClosed) {
		t.Errorf("closed route = %v, want ErrClosed", err)
	}
	if err := b.DelKey(KindHTTP, "stay"); err != nil { // still usable
		t.Fatal(err)
	}
	b.Discard()
	b.Discard()
	if err := b.Add(mustRoute(t, KindHTTP, "z", "http://10.0.0.1:80")); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Discard = %v, want ErrClosed", err)
	}
	if _, err := b.Commit(); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Discard = %v, want ErrClosed", err)
	}
	if _, ok := reg.Get("stay"); !ok {
		t.Error("a discarded delete was applied")
	}
	var nilBatch *Batch[*app]
	nilBatch.Discard()
	if err := nilBatch.Add(closed); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil batch = %v", err)
	}
}

// A batch dropped without Discard is freed by the garbage collector, with its references.
func TestBatchDroppedIsFreed(t *testing.T) {
	_, routes0 := settle()
	func() {
		reg := NewRegistry[*app]()
		defer reg.Close()
		b := reg.NewBatch()
		if err := b.Add(mustRoute(t, KindHTTP, "x", "http://10.0.0.1:80")); err != nil {
			t.Fatal(err)
		}
	}()
	waitFor(t, "the dropped batch's route released", func() bool { return LiveRoutes() == routes0 })
}

// One change to key A does not evict key B: B is answered from the replica with the same
// object, no call into the library and no rebuild; only an RR_STALE rebuilds everything.
func TestReplicaInvalidatesPerKey(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	a := mustRoute(t, KindHTTP, "a", "http://10.0.0.1:80")
	bRt := mustRoute(t, KindHTTP, "b", "http://10.0.0.2:80")
	for _, rt := range []*Route[*app]{a, bRt} {
		if err := reg.Add(rt); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := reg.Get("b"); got != bRt {
		t.Fatal("b")
	}
	v0 := reg.view.Load()
	native, rebuilds := nativeLookups.Load(), replicaRebuilds.Load()
	a2 := mustRoute(t, KindHTTP, "a", "http://10.0.0.3:80")
	if err := reg.Add(a2); err != nil {
		t.Fatal(err)
	}
	v1 := reg.view.Load()
	if v1 == v0 || v1.gen != reg.Generation() {
		t.Fatal("the replica did not follow the change")
	}
	if v1.find(mActive, "b") != bRt || v1.base != v0.base {
		t.Error("key b was evicted or the base rebuilt by a change to key a")
	}
	if got, _ := reg.Get("b"); got != bRt {
		t.Error("Get(b) after a change to a")
	}
	if got, _ := reg.Get("a"); got != a2 {
		t.Error("Get(a) did not see the new route")
	}
	if _, ok := reg.Get("zz"); ok {
		t.Error("a miss became a hit")
	}
	if n := nativeLookups.Load() - native; n != 0 {
		t.Errorf("%d lookups went to the library after one change", n)
	}
	if n := replicaRebuilds.Load() - rebuilds; n != 0 {
		t.Errorf("%d full rebuilds after one change", n)
	}
}

// Changes made through another Registry value on the same native registry (Global with
// another type: as C code would) are pulled by the first lookup; past the log's capacity
// (RR_STALE) the replica is rebuilt from a snapshot.
func TestReplicaFollowsForeignChangesAndStale(t *testing.T) {
	g := Global[*app]()
	other := Global[string]()
	defer func() {
		g.Clear()
		_ = g.SetChangeLogCapacity(4096)
	}()
	rt, _ := NewRoute(RouteConfig{Kind: KindHTTP, Alias: "foreign", URL: "http://10.0.0.1:80"}, "v")
	if err := other.Add(rt); err != nil {
		t.Fatal(err)
	}
	if got, ok := g.Get("foreign"); !ok || got.Key() != "foreign" {
		t.Fatal("a foreign add is not seen")
	}
	if err := g.SetChangeLogCapacity(1); err != nil {
		t.Fatal(err)
	}
	rebuilds := replicaRebuilds.Load()
	for i := range 5 {
		r2, _ := NewRoute(RouteConfig{Kind: KindStream, Alias: fmt.Sprint("f", i), URL: "tcp://10.0.0.1:80"}, "v")
		if err := other.Add(r2); err != nil {
			t.Fatal(err)
		}
	}
	_ = other.HTTP.Del("foreign")
	if _, ok := g.Get("foreign"); ok {
		t.Error("a foreign delete is not seen")
	}
	for i := range 5 {
		if got, ok := g.Get(fmt.Sprint("f", i)); !ok || got.Kind() != KindStream {
			t.Errorf("f%d not found after the rebuild", i)
		}
	}
	if replicaRebuilds.Load() == rebuilds {
		t.Error("RR_STALE did not rebuild the replica")
	}
}

// Watch delivers each commit's records, in order, then ends on cancel with no goroutine left.
func TestWatch(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ch := reg.Watch(ctx)
	a := mustRoute(t, KindHTTP, "a", "http://10.0.0.1:80")
	if err := reg.Add(a); err != nil {
		t.Fatal(err)
	}
	b := reg.NewBatch()
	_ = b.Add(mustRoute(t, KindHTTP, "b", "http://10.0.0.1:80"))
	_ = b.DelKey(KindHTTP, "a")
	gen, _ := b.Commit()
	want := []struct {
		op  ChangeOp
		key string
	}{{ChangeAdded, "a"}, {ChangeAdded, "b"}, {ChangeRemoved, "a"}}
	for i, w := range want {
		select {
		case c := <-ch:
			if c.Op != w.op || c.Key != w.key {
				t.Errorf("change %d = %v %q, want %v %q", i, c.Op, c.Key, w.op, w.key)
			}
			if i > 0 && c.Generation != gen {
				t.Errorf("batch record at %d, want %d", c.Generation, gen)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("change %d not delivered", i)
		}
	}
	cancel()
	for range ch { // drains, then closed
	}
	waitFor(t, "the watcher goroutine to end", func() bool { return liveWatchers.Load() == 0 })
}

// A consumer that falls behind the log gets a resync marker, never a silent gap.
func TestWatchResyncMarker(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	if err := reg.SetChangeLogCapacity(4); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := reg.Watch(ctx)
	start := reg.Generation()
	const n = 400
	for i := range n {
		if err := reg.Add(mustRoute(t, KindHTTP, fmt.Sprint("k", i), "http://10.0.0.1:80")); err != nil {
			t.Fatal(err)
		}
	}
	end := reg.Generation()
	last, markers := start, 0
	for last < end {
		select {
		case c := <-ch:
			if c.Op == ChangeResync {
				markers++
				if c.Generation < last {
					t.Fatalf("resync marker at %d after %d", c.Generation, last)
				}
				last = c.Generation
				continue
			}
			if c.Generation != last+1 {
				t.Fatalf("gap: record at %d after %d with no resync marker", c.Generation, last)
			}
			last = c.Generation
		case <-time.After(10 * time.Second):
			t.Fatalf("stuck at %d of %d", last, end)
		}
	}
	if markers == 0 {
		t.Error("the consumer fell behind a 4-record log by 400 changes and got no resync marker")
	}
}

// Watchers end on cancel and when the registry is closed; none is left running.
func TestWatchNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	reg := NewRegistry[*app]()
	var cancels []context.CancelFunc
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		cancels = append(cancels, cancel)
		reg.Watch(ctx)
	}
	_ = reg.Add(mustRoute(t, KindHTTP, "x", "http://10.0.0.1:80"))
	for _, c := range cancels[:10] {
		c()
	}
	reg.Close() // the other 10 end with the registry
	waitFor(t, "every watcher to end", func() bool { return liveWatchers.Load() == 0 })
	waitFor(t, "the goroutine count to come back", func() bool { return runtime.NumGoroutine() <= before+1 })
	for _, c := range cancels {
		c()
	}
	func() {
		defer func() {
			if v := recover(); v == nil || !errors.Is(v.(error), ErrClosed) {
				t.Errorf("Watch on a closed registry: %v", v)
			}
		}()
		reg.Watch(context.Background())
	}()
}
