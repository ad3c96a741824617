package etcd

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/route-registry/routes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/connectivity"
)

// MirrorConfig configures a Mirror.
type MirrorConfig[T any] struct {
	Client   *clientv3.Client    // see DialConfig for options that reconnect within 1 s
	Prefix   string              // default DefaultPrefix
	Registry *routes.Registry[T] // the local registry the mirror writes to
	// Value makes the caller's value for a record's route (nil: the zero T). An error makes the
	// record bad (skipped and reported); it must decide the same on every replica.
	Value  func(Record) (T, error)
	Logger *slog.Logger // default slog.Default()
	// ProgressInterval is how often the mirror asks etcd to confirm that its watch is current
	// (default 500 ms). Lag is 0 while confirmations arrive.
	ProgressInterval time.Duration
	// PageSize is the number of records per response of the initial read (default 5000): the
	// read is paged, every page at the same revision, so it is one consistent snapshot.
	PageSize int64
	// OnApply, when set, is called on the mirror's goroutine after every committed batch.
	OnApply func(ApplyInfo)
}

// ApplyInfo describes one committed batch.
type ApplyInfo struct {
	Revision         int64  // etcd revision the registry now shows
	Resync           bool   // a full read (start, compaction, reconnection), else a watch response
	GenerationBefore uint64 // the registry's generation just before the commit
	Generation       uint64 // the generation the commit returned
	Added, Removed   int    // routes put in / deletions put in the batch
	Skipped          int    // bad records met while building it
}

type poolKey struct {
	kind routes.Kind
	key  string
}

type ownedRoute[T any] struct {
	rt     *routes.Route[T]
	modRev int64
	sum    uint64 // FNV-1a of the record's value: with modRev, tells an unchanged record
}

func valueSum(v []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(v)
	return h.Sum64()
}

// Mirror copies the records under a prefix into a registry and keeps them current: one read
// at revision R applied as one batch, then a watch from R+1 whose every response is applied
// as one batch, so the registry only shows states that existed in etcd. After a compaction,
// a lost connection or an etcd restart it reads everything again and applies the difference
// as one batch, serving the last good routes meanwhile. The mirror owns the routes it put in
// the registry: it removes or replaces only those (a route of the same key added by the
// program from another source is left to the registry's priority rule).
type Mirror[T any] struct {
	cfg  MirrorConfig[T]
	base string
	log  *slog.Logger

	// touched by Run's goroutine only
	owned map[poolKey]*ownedRoute[T]
	bad   map[string]int64 // etcd key -> mod revision of the bad record there

	running   atomic.Bool
	rev       atomic.Int64
	connected atomic.Bool
	skipped   atomic.Int64
	resyncs   atomic.Int64
	syncedAt  atomic.Int64 // unix nanoseconds of the last confirmation that the mirror was current
	started   time.Time

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever rev moves
	ready   chan struct{}

	// test hooks (same package only)
	beforeWatch func(rev int64)
	faultAfter  atomic.Int64 // >0: fail the next batch after that many entries
}

// errNilContext is the error of a function given a nil context.
func errNilContext(op string) error { return errors.New("etcd: " + op + ": nil context") }

// NewMirror makes a mirror; Run starts it.
func NewMirror[T any](cfg MirrorConfig[T]) (*Mirror[T], error) {
	if cfg.Client == nil || cfg.Registry == nil {
		return nil, errors.New("etcd: NewMirror needs a Client and a Registry")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = 500 * time.Millisecond
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 5000
	}
	m := &Mirror[T]{
		cfg: cfg, base: prefixBase(cfg.Prefix), log: cfg.Logger,
		owned: map[poolKey]*ownedRoute[T]{}, bad: map[string]int64{},
		changed: make(chan struct{}), ready: make(chan struct{}), started: time.Now(),
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	return m, nil
}

// Revision is the etcd revision whose state the registry shows (0 before the first sync).
func (m *Mirror[T]) Revision() int64 { return m.rev.Load() }

// Connected says whether the mirror is connected and watching.
func (m *Mirror[T]) Connected() bool { return m.connected.Load() }

// Skipped is the number of bad records skipped (each version of a record counted once).
func (m *Mirror[T]) Skipped() int64 { return m.skipped.Load() }

// Resyncs is the number of full reads applied (1 after the first sync).
func (m *Mirror[T]) Resyncs() int64 { return m.resyncs.Load() }

// Ready is closed once the first read is applied.
func (m *Mirror[T]) Ready() <-chan struct{} { return m.ready }

// Lag is how long the mirror may have been behind etcd: 0 while connected and etcd confirms
// (every ProgressInterval) that the watch is current; otherwise the time since the last
// confirmation (since the start, before the first sync).
func (m *Mirror[T]) Lag() time.Duration {
	at := m.syncedAt.Load()
	if at == 0 {
		return time.Since(m.started)
	}
	d := time.Since(time.Unix(0, at))
	if m.connected.Load() && d <= 2*m.cfg.ProgressInterval+100*time.Millisecond {
		return 0
	}
	return d
}

// Status is the mirror's state as the examples report it at /api/mirror.
type Status struct {
	Revision  int64 `json:"revision"`
	Connected bool  `json:"connected"`
	Skipped   int64 `json:"skipped"`
	LagMS     int64 `json:"lag_ms"`
}

// Status gives Revision, Connected, Skipped and Lag together.
func (m *Mirror[T]) Status() Status {
	return Status{Revision: m.Revision(), Connected: m.Connected(), Skipped: m.Skipped(), LagMS: m.Lag().Milliseconds()}
}

// WaitRevision waits until the registry shows etcd's state at rev or later (a nil ctx is an
// error).
func (m *Mirror[T]) WaitRevision(ctx context.Context, rev int64) error {
	if ctx == nil {
		return errNilContext("Mirror.WaitRevision")
	}
	for {
		m.mu.Lock()
		ch := m.changed
		m.mu.Unlock()
		if m.rev.Load() >= rev {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func (m *Mirror[T]) setRev(rev int64, confirmed bool) {
	if confirmed {
		m.syncedAt.Store(time.Now().UnixNano())
	}
	if rev <= m.rev.Load() {
		return
	}
	m.rev.Store(rev)
	m.mu.Lock()
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
}

var (
	errCompacted = errors.New("watch revision compacted")
	errLost      = errors.New("connection lost")
	errStalled   = errors.New("etcd stopped confirming the watch")
	errInjected  = errors.New("injected fault")
)

// Run mirrors until ctx is done, then returns nil (the routes stay in the registry). It
// reconnects by itself, with a backoff capped at 1 s. A Mirror runs once. A nil ctx is an
// error (nothing starts; Run may still be called).
func (m *Mirror[T]) Run(ctx context.Context) error {
	if ctx == nil { // (before Run starts: a nil context would crash it, maybe in a goroutine)
		return errNilContext("Mirror.Run")
	}
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("etcd: Mirror.Run called twice")
	}
	defer m.connected.Store(false)
	bo := newBackoff()
	for ctx.Err() == nil {
		rev, err := m.resync(ctx)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			m.connected.Store(false)
			m.log.Warn("etcd mirror: read failed; retrying", "prefix", m.cfg.Prefix, "error", err)
			bo.wait(ctx)
			continue
		}
		bo.reset()
		err = m.watch(ctx, rev)
		if ctx.Err() != nil {
			break
		}
		m.connected.Store(false)
		m.log.Warn("etcd mirror: watch ended; reading again", "prefix", m.cfg.Prefix, "revision", m.Revision(), "error", err)
		if !errors.Is(err, errCompacted) {
			bo.wait(ctx)
		}
	}
	return nil
}

// staged is one key's change in a batch being built.
type staged[T any] struct {
	k      poolKey
	rt     *routes.Route[T] // nil: remove the mirror's route at k
	modRev int64
	sum    uint64
}

// builder collects a batch's changes, last change per key wins.
type builder[T any] struct {
	m       *Mirror[T]
	order   []poolKey
	changes map[poolKey]*staged[T]
	skipped int
}

func (m *Mirror[T]) newBuilder() *builder[T] {
	return &builder[T]{m: m, changes: map[poolKey]*staged[T]{}}
}

func (b *builder[T]) set(s *staged[T]) {
	if _, ok := b.changes[s.k]; !ok {
		b.order = append(b.order, s.k)
	}
	b.changes[s.k] = s
}

// put stages a record's value: its route, or for a bad record the removal of the mirror's route
// at its key (reported and counted once per record version).
func (b *builder[T]) put(etcdKey string, value []byte, modRev int64) {
	m := b.m
	rec, err := ParseRecord(m.cfg.Prefix, etcdKey, value)
	var rt *routes.Route[T]
	if err == nil {
		var v T
		if m.cfg.Value != nil {
			v, err = m.cfg.Value(rec)
			if err != nil {
				err = fmt.Errorf("%w: %v", ErrBadRecord, err)
			}
		}
		if err == nil {
			rt, err = NewRecordRoute(rec, v)
		}
	}
	if err != nil {
		b.skipped++
		if m.bad[etcdKey] != modRev {
			m.bad[etcdKey] = modRev
			m.skipped.Add(1)
			m.log.Warn("etcd mirror: bad record skipped", "key", etcdKey, "revision", modRev, "error", err)
		}
		if kind, key, e := SplitKey(m.cfg.Prefix, etcdKey); e == nil {
			b.set(&staged[T]{k: poolKey{kind, key}}) // the key shows no route of the mirror
		}
		return
	}
	delete(m.bad, etcdKey)
	b.set(&staged[T]{k: poolKey{rec.Kind, rec.Key}, rt: rt, modRev: modRev, sum: valueSum(value)})
}

func (b *builder[T]) del(etcdKey string) {
	delete(b.m.bad, etcdKey)
	if kind, key, err := SplitKey(b.m.cfg.Prefix, etcdKey); err == nil {
		b.set(&staged[T]{k: poolKey{kind, key}})
	}
}

func (m *Mirror[T]) pool(k routes.Kind) *routes.Pool[T] {
	switch k {
	case routes.KindHTTP:
		return m.cfg.Registry.HTTP
	case routes.KindStream:
		return m.cfg.Registry.Stream
	}
	return m.cfg.Registry.Excluded
}

// live says whether the mirror's route is the one the registry holds at its key.
func (m *Mirror[T]) live(k poolKey, o *ownedRoute[T]) bool {
	cur, ok := m.pool(k.kind).Get(k.key)
	return ok && cur == o.rt
}

// commit applies the staged changes as one batch and records what the mirror now owns.
func (b *builder[T]) commit(rev int64, resync bool) error {
	m := b.m
	reg := m.cfg.Registry
	batch := reg.NewBatch()
	defer batch.Discard()
	info := ApplyInfo{Revision: rev, Resync: resync, Skipped: b.skipped}
	entries := int64(0)
	fault := m.faultAfter.Load()
	for _, k := range b.order {
		s := b.changes[k]
		if o := m.owned[k]; o != nil && m.live(k, o) {
			if err := batch.DelKey(k.kind, k.key); err != nil {
				return err
			}
			info.Removed++
			entries++
		}
		if s.rt != nil {
			if err := batch.Add(s.rt); err != nil {
				return err
			}
			info.Added++
			entries++
		}
		if fault > 0 && entries >= fault {
			m.faultAfter.Store(0)
			return errInjected
		}
	}
	if entries > 0 {
		info.GenerationBefore = reg.Generation()
		gen, err := batch.Commit()
		if err != nil {
			return err
		}
		info.Generation = gen
	} else {
		info.GenerationBefore = reg.Generation()
		info.Generation = info.GenerationBefore
	}
	for _, k := range b.order {
		if s := b.changes[k]; s.rt != nil {
			m.owned[k] = &ownedRoute[T]{rt: s.rt, modRev: s.modRev, sum: s.sum}
		} else {
			delete(m.owned, k)
		}
	}
	m.setRev(rev, resync)
	if m.cfg.OnApply != nil && (entries > 0 || resync) {
		m.cfg.OnApply(info)
	}
	return nil
}

// resync reads the prefix at one revision and applies the difference with what the mirror
// holds as one batch.
func (m *Mirror[T]) resync(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cli := m.cfg.Client
	end := clientv3.GetPrefixRangeEnd(m.base)
	b := m.newBuilder()
	seen := map[poolKey]bool{}
	badSeen := map[string]bool{}
	start, rev := m.base, int64(0)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(m.cfg.PageSize)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := cli.Get(ctx, start, opts...)
		if err != nil {
			return 0, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			k := string(kv.Key)
			if kind, key, err := SplitKey(m.cfg.Prefix, k); err == nil {
				pk := poolKey{kind, key}
				seen[pk] = true
				if o := m.owned[pk]; o != nil && o.modRev == kv.ModRevision && o.sum == valueSum(kv.Value) {
					continue // unchanged since the mirror applied it (also across an etcd replaced by another)
				}
			}
			if _, wasBad := m.bad[k]; wasBad {
				badSeen[k] = true
			}
			b.put(k, kv.Value, kv.ModRevision)
			if _, isBad := m.bad[k]; isBad {
				badSeen[k] = true
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	for k := range m.owned {
		if !seen[k] {
			b.set(&staged[T]{k: k})
		}
	}
	for k := range m.bad {
		if !badSeen[k] {
			delete(m.bad, k)
		}
	}
	if err := b.commit(rev, true); err != nil {
		return 0, err
	}
	m.resyncs.Add(1)
	m.connected.Store(true)
	select {
	case <-m.ready:
	default:
		close(m.ready)
	}
	return rev, nil
}

// watch applies the changes after rev until the watch fails or ctx ends.
func (m *Mirror[T]) watch(ctx context.Context, rev int64) error {
	if m.beforeWatch != nil {
		m.beforeWatch(rev)
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	cli := m.cfg.Client
	lost := make(chan struct{})
	go func() { // a connection that leaves READY is lost: read everything again
		defer cancel() // also ends a Watch call still waiting for its stream
		defer close(lost)
		conn := cli.ActiveConnection()
		for {
			s := conn.GetState()
			if s != connectivity.Ready && s != connectivity.Idle {
				return
			}
			if !conn.WaitForStateChange(wctx, s) {
				return
			}
		}
	}()
	wch := cli.Watch(wctx, m.base, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	tick := time.NewTicker(m.cfg.ProgressInterval)
	defer tick.Stop()
	stall := max(15*time.Second, 4*m.cfg.ProgressInterval)
	for {
		select {
		case <-lost:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return errLost
		case <-tick.C:
			if time.Since(time.Unix(0, m.syncedAt.Load())) > stall {
				return errStalled
			}
			// Bounded: while the stream reconnects, the request would wait for it.
			pctx, pcancel := context.WithTimeout(wctx, m.cfg.ProgressInterval)
			_ = cli.RequestProgress(pctx)
			pcancel()
		case resp, ok := <-wch:
			if !ok {
				select {
				case <-lost:
					return errLost
				default:
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return errors.New("watch channel closed")
			}
			if resp.CompactRevision != 0 {
				return fmt.Errorf("%w at %d", errCompacted, resp.CompactRevision)
			}
			if err := resp.Err(); err != nil {
				return err
			}
			if resp.IsProgressNotify() {
				m.connected.Store(true)
				m.setRev(resp.Header.Revision, true)
				continue
			}
			if len(resp.Events) == 0 {
				continue
			}
			b := m.newBuilder()
			last := int64(0)
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					b.del(string(ev.Kv.Key))
				} else {
					b.put(string(ev.Kv.Key), ev.Kv.Value, ev.Kv.ModRevision)
				}
				last = ev.Kv.ModRevision
			}
			if err := b.commit(last, false); err != nil {
				return err
			}
		}
	}
}
