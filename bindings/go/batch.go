package routes

// TEMPORARY: replaced by the real batch (issue 10) at merge.
//
// This file gives the agreed Go batch API (NewBatch, Add, DelKey, ReplaceProvider, Commit,
// Discard, Close) so that code written against it (bindings/go/etcd) compiles and runs before
// the library has rr_batch. It is NOT atomic: Commit applies the entries one by one with the
// existing calls, so readers can see a half-applied batch and the generation moves once per
// applied entry. The real batch commits everything as one change set under one generation.

import (
	"strings"
	"sync"
)

type batchOp[T any] struct {
	rt   *Route[T] // an add (pinned while in the batch), else a delete of (kind, key)
	kind Kind
	key  string
}

// Batch collects adds and deletes and commits them together (see the real batch's docs).
type Batch[T any] struct {
	reg       *Registry[T]
	mu        sync.Mutex
	ops       []batchOp[T]
	providers []string
	spent     bool
}

// NewBatch makes an empty batch for r. Commit applies it; Discard frees it uncommitted.
func (r *Registry[T]) NewBatch() *Batch[T] {
	r.Generation() // panics on a closed registry
	return &Batch[T]{reg: r}
}

func (b *Batch[T]) usable(op string) error {
	if b == nil || b.spent {
		return invalidArg(op, "batch is nil, committed or discarded")
	}
	return nil
}

// Add puts rt in the batch (the batch holds a reference until it is committed or discarded).
func (b *Batch[T]) Add(rt *Route[T]) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable("Batch.Add"); err != nil {
		return err
	}
	if rt == nil {
		return invalidArg("Batch.Add", "nil route")
	}
	if !rt.acquire() {
		return ErrClosed
	}
	b.ops = append(b.ops, batchOp[T]{rt: rt})
	return nil
}

// DelKey puts the deletion of the live route with key in pool kind in the batch.
func (b *Batch[T]) DelKey(kind Kind, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable("Batch.DelKey"); err != nil {
		return err
	}
	if kind > KindExcluded {
		return invalidArg("Batch.DelKey", "bad kind %d", uint32(kind))
	}
	if key == "" || strings.IndexByte(key, 0) >= 0 {
		return invalidArg("Batch.DelKey", "bad key %q", key)
	}
	b.ops = append(b.ops, batchOp[T]{kind: kind, key: strings.Clone(key)})
	return nil
}

// ReplaceProvider marks the batch as the complete new set of provider's routes: at commit,
// every live route of that provider the batch does not add again is removed.
func (b *Batch[T]) ReplaceProvider(provider string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable("Batch.ReplaceProvider"); err != nil {
		return err
	}
	if strings.IndexByte(provider, 0) >= 0 {
		return invalidArg("Batch.ReplaceProvider", "bad provider %q", provider)
	}
	b.providers = append(b.providers, strings.Clone(provider))
	return nil
}

// Commit applies the batch and gives the registry's generation afterwards; b is spent.
func (b *Batch[T]) Commit() (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable("Batch.Commit"); err != nil {
		return 0, err
	}
	b.spent = true
	r := b.reg
	type pk struct {
		kind Kind
		key  string
	}
	added := map[pk]bool{}
	for _, op := range b.ops {
		if op.rt == nil {
			_ = r.delKey(op.kind, op.key) // absent: nothing to do
			continue
		}
		_ = r.Add(op.rt) // kept out: no change
		added[pk{op.rt.Kind(), op.rt.Key()}] = true
		op.rt.unpin()
	}
	b.ops = nil
	for _, prov := range b.providers {
		for rt := range r.IterAll {
			if rt.ProviderName() == prov && !added[pk{rt.Kind(), rt.Key()}] {
				_ = r.delKey(rt.Kind(), rt.Key())
			}
		}
	}
	return r.Generation(), nil
}

// Discard frees an uncommitted batch (a no-op once committed or discarded).
func (b *Batch[T]) Discard() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.spent {
		return
	}
	b.spent = true
	for _, op := range b.ops {
		if op.rt != nil {
			op.rt.unpin()
		}
	}
	b.ops = nil
}

// Close is Discard.
func (b *Batch[T]) Close() { b.Discard() }
