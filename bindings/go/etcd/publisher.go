package etcd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultLeaseTTL is a Publisher's default lease time to live.
const DefaultLeaseTTL = 10 * time.Second

// ErrKeyOwned is returned by Publish when a record's key is held by another provider's record.
var ErrKeyOwned = errors.New("key owned by another provider")

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	Client   *clientv3.Client
	Prefix   string        // default DefaultPrefix
	Provider string        // required: the publisher owns the records whose provider is this
	LeaseTTL time.Duration // default DefaultLeaseTTL; etcd rounds it up to whole seconds
	Logger   *slog.Logger  // default slog.Default()
	// MaxAttempts bounds the retries of a publish transaction that lost a race with another
	// writer under the prefix (default 50).
	MaxAttempts int
}

// Publisher publishes one provider's complete set of routes under an etcd lease that it
// keeps alive. When the process dies, the lease expires and every mirror drops the routes.
// When the lease is lost while the process lives (etcd unreachable for longer than the TTL),
// the publisher takes a new lease and publishes its last set again. Safe for concurrent use.
type Publisher struct {
	cfg    PublisherConfig
	base   string // prefix + "/"
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex // serialises Publish and lease changes
	lease  clientv3.LeaseID
	last   []Record
	hasSet bool
	closed bool
}

// NewPublisher grants the lease and starts keeping it alive. Close revokes it. A nil ctx is an
// error, as it is for Publish.
func NewPublisher(ctx context.Context, cfg PublisherConfig) (*Publisher, error) {
	if ctx == nil {
		return nil, errNilContext("NewPublisher")
	}
	if cfg.Client == nil || cfg.Provider == "" {
		return nil, errors.New("etcd: NewPublisher needs a Client and a Provider")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 50
	}
	p := &Publisher{cfg: cfg, base: prefixBase(cfg.Prefix), log: cfg.Logger, done: make(chan struct{})}
	if p.log == nil {
		p.log = slog.Default()
	}
	if err := p.grant(ctx); err != nil {
		return nil, err
	}
	kctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.keepAlive(kctx)
	return p, nil
}

func prefixBase(prefix string) string {
	for len(prefix) > 0 && prefix[len(prefix)-1] == '/' {
		prefix = prefix[:len(prefix)-1]
	}
	return prefix + "/"
}

func (p *Publisher) grant(ctx context.Context) error {
	ttl := int64((p.cfg.LeaseTTL + time.Second - 1) / time.Second)
	resp, err := p.cfg.Client.Grant(ctx, ttl)
	if err != nil {
		return fmt.Errorf("etcd: grant lease: %w", err)
	}
	p.mu.Lock()
	p.lease = resp.ID
	p.mu.Unlock()
	return nil
}

// Lease is the lease the records are currently published under.
func (p *Publisher) Lease() clientv3.LeaseID {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lease
}

// keepAlive keeps the lease alive; when it is lost, takes a new one and republishes.
func (p *Publisher) keepAlive(ctx context.Context) {
	defer close(p.done)
	backoff := newBackoff()
	for ctx.Err() == nil {
		ch, err := p.cfg.Client.KeepAlive(ctx, p.Lease())
		if err == nil {
			for range ch { // drain the responses; closed when the lease is gone or ctx ends
				backoff.reset()
			}
		}
		if ctx.Err() != nil || p.cfg.Client.Ctx().Err() != nil { // closed, or its client is
			return
		}
		p.log.Warn("etcd publisher: lease lost; taking a new one", "provider", p.cfg.Provider, "error", err)
		for ctx.Err() == nil && p.cfg.Client.Ctx().Err() == nil {
			gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := p.grant(gctx)
			if err == nil {
				err = p.republish(gctx)
			}
			cancel()
			if err == nil {
				break
			}
			p.log.Warn("etcd publisher: cannot renew", "provider", p.cfg.Provider, "error", err)
			backoff.wait(ctx)
		}
	}
}

func (p *Publisher) republish(ctx context.Context) error {
	p.mu.Lock()
	has, last := p.hasSet, p.last
	p.mu.Unlock()
	if !has {
		return nil
	}
	_, err := p.Publish(ctx, last)
	return err
}

// Publish replaces the provider's records with recs in one etcd transaction: the records of
// this provider that recs does not name are deleted, the others put under the lease (records
// whose value and lease are unchanged are left alone). The provider is written into every
// record. The transaction is guarded by the prefix's revision and retried when another writer
// got in between. It returns the revision of the transaction (or of the read, when nothing
// changed). Nothing is written when a record is invalid (the library refuses the route, the
// record is oversized, two records share a key) or a key belongs to another provider.
func (p *Publisher) Publish(ctx context.Context, recs []Record) (int64, error) {
	if ctx == nil {
		return 0, errNilContext("Publisher.Publish")
	}
	vals := make(map[string][]byte, len(recs))
	order := make([]string, 0, len(recs))
	own := make([]Record, len(recs))
	for i, r := range recs {
		r.Provider = p.cfg.Provider
		if r.Key == r.Alias {
			r.Key = ""
		}
		own[i] = r
		if err := validate(p.cfg.Prefix, r); err != nil {
			return 0, err
		}
		k := r.EtcdKey(p.cfg.Prefix)
		if _, dup := vals[k]; dup {
			return 0, fmt.Errorf("etcd: two records at %q", k)
		}
		v, _ := r.Encode()
		vals[k] = v
		order = append(order, k)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, errors.New("etcd: publisher is closed")
	}
	var lastErr error
	for attempt := 0; attempt < p.cfg.MaxAttempts; attempt++ {
		rev, ok, err := p.tryPublish(ctx, vals, order)
		if err != nil {
			return 0, err
		}
		if ok {
			p.last, p.hasSet = own, true
			return rev, nil
		}
		lastErr = fmt.Errorf("etcd: publish lost %d races for %q", attempt+1, p.base)
		t := time.NewTimer(time.Duration(attempt+1) * 5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
	}
	return 0, lastErr
}

// validate applies a mirror's rules to a record before it is written.
func validate(prefix string, r Record) error {
	v, err := r.Encode()
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	parsed, err := ParseRecord(prefix, r.EtcdKey(prefix), v)
	if err != nil {
		return fmt.Errorf("etcd: record %q: %w", r.Alias, err)
	}
	rt, err := NewRecordRoute(parsed, struct{}{})
	if err != nil {
		return fmt.Errorf("etcd: record %q: %w", r.Alias, err)
	}
	_ = rt.Close()
	return nil
}

// providerOf reads only the "provider" field (also of a record that is otherwise bad).
func providerOf(v []byte) string {
	var x struct {
		Provider string `json:"provider"`
	}
	_ = json.Unmarshal(v, &x)
	return x.Provider
}

func (p *Publisher) tryPublish(ctx context.Context, vals map[string][]byte, order []string) (int64, bool, error) {
	cli := p.cfg.Client
	resp, err := cli.Get(ctx, p.base, clientv3.WithPrefix())
	if err != nil {
		return 0, false, err
	}
	rev := resp.Header.Revision
	mine := map[string]bool{}
	var ops []clientv3.Op
	for _, kv := range resp.Kvs {
		k := string(kv.Key)
		newVal, want := vals[k]
		if providerOf(kv.Value) != p.cfg.Provider {
			if want {
				return 0, false, fmt.Errorf("etcd: %q: %w %q", k, ErrKeyOwned, providerOf(kv.Value))
			}
			continue
		}
		mine[k] = true
		switch {
		case !want:
			ops = append(ops, clientv3.OpDelete(k))
		case clientv3.LeaseID(kv.Lease) != p.lease || !bytes.Equal(kv.Value, newVal):
			ops = append(ops, clientv3.OpPut(k, string(newVal), clientv3.WithLease(p.lease)))
		}
	}
	for _, k := range order {
		if !mine[k] {
			ops = append(ops, clientv3.OpPut(k, string(vals[k]), clientv3.WithLease(p.lease)))
		}
	}
	if len(ops) == 0 {
		return rev, true, nil
	}
	tr, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(p.base).WithPrefix(), "<", rev+1)).
		Then(ops...).Commit()
	if err != nil {
		return 0, false, err
	}
	return tr.Header.Revision, tr.Succeeded, nil
}

// Close stops the keep-alive and revokes the lease, so every mirror drops the provider's
// routes at once. Safe to call twice.
func (p *Publisher) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	<-p.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := p.cfg.Client.Revoke(ctx, p.Lease())
	return err
}

// retryBackoff is a reconnect backoff: 50 ms doubling, capped at 1 s, with jitter.
type retryBackoff struct{ d time.Duration }

func newBackoff() *retryBackoff { return &retryBackoff{d: 50 * time.Millisecond} }

func (b *retryBackoff) reset() { b.d = 50 * time.Millisecond }

func (b *retryBackoff) wait(ctx context.Context) {
	d := b.d - b.d/5 + time.Duration(time.Now().UnixNano()%int64(b.d/5+1))
	if b.d *= 2; b.d > time.Second {
		b.d = time.Second
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
