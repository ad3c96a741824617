package routes

// #include "rr_go.h"
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// Batch collects adds and deletes and commits them to its registry as one change set: one
// generation, and readers (lookups, iteration, counts, health JSON, change records) see all
// of it or none of it. Each entry is checked when it is put in (an error leaves the batch as
// it was, and usable), so Commit cannot fail half-way. Use it with a deferred Discard:
//
//	b := reg.NewBatch()
//	defer b.Discard()
//	for _, rt := range newRoutes {
//		if err := b.Add(rt); err != nil {
//			return err // nothing changed
//		}
//	}
//	if err := b.ReplaceProvider("file"); err != nil {
//		return err
//	}
//	gen, err := b.Commit()
//
// A Batch owns a native batch (rr_batch), freed by Discard or Close (committed or not), or by
// the garbage collector if the program drops it. It holds its Registry (and the routes put in
// it: the native batch holds a reference to each) until then. A committed batch is spent: the
// library refuses every further entry and commit (ErrInvalidArgument, its message). Its
// methods may be called from several goroutines.
type Batch[T any] struct {
	reg *Registry[T]

	mu      sync.Mutex
	nbatch  *C.rr_batch // nil once discarded; read only in withBatch and free
	state   batchState
	cleanup runtime.Cleanup
}

type batchState uint8

const (
	batchOpen batchState = iota
	batchCommitted
	batchDiscarded
)

// NewBatch makes an empty batch for r. Commit applies it; Discard frees it uncommitted. Like
// the registry's other methods without an error result, it panics (with an error wrapping
// ErrClosed) on a closed registry, and if the library cannot allocate.
func (r *Registry[T]) NewBatch() *Batch[T] {
	var b *Batch[T]
	r.do("NewBatch", func(*C.rr_registry) {
		p, err := callPtr("NewBatch", C.RR_PANIC, func() unsafe.Pointer { return unsafe.Pointer(C.rr_batch_new()) })
		if err != nil {
			panic(err)
		}
		nb := (*C.rr_batch)(p)
		b = &Batch[T]{reg: r, nbatch: nb}
		b.cleanup = runtime.AddCleanup(b, func(nb *C.rr_batch) { C.rr_batch_free(nb) }, nb)
	})
	return b
}

// withBatch runs f with the native batch under the batch's lock, or returns ErrClosed after
// Discard/Close. (After Commit the native batch itself refuses, with the library's message.)
func (b *Batch[T]) withBatch(op string, f func(nb *C.rr_batch) error) error {
	if b == nil {
		return invalidArg(op, "nil batch")
	}
	if b.reg == nil {
		panicUnmade("Batch", "Registry.NewBatch")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == batchDiscarded {
		return &closedError{op: op, what: "batch"}
	}
	beforeCall()
	err := f(b.nbatch)
	runtime.KeepAlive(b) // the cleanup cannot free the native batch under f
	return err
}

// free releases the native batch (b.mu held).
func (b *Batch[T]) free(state batchState) {
	if b.nbatch != nil {
		b.cleanup.Stop()
		C.rr_batch_free(b.nbatch)
		b.nbatch = nil
	}
	b.state = state
}

// Add puts "add rt" in the batch: at commit, rt is added by the rules of Registry.Add (in
// batch order; a route kept out by a higher-priority one gives no change record). The batch
// holds its own reference to the native route, so rt may be closed meanwhile. Errors (the
// batch is unchanged and usable): ErrInvalidArgument for a nil route or a committed batch
// (the library's messages), ErrClosed for a closed route or a discarded batch.
func (b *Batch[T]) Add(rt *Route[T]) error {
	return b.withBatch("Batch.Add", func(nb *C.rr_batch) error {
		if rt == nil { // the library's answer to a NULL route
			return call("Batch.Add", func() C.rr_status { return C.rr_batch_add(nb, nil) })
		}
		return rt.with("Batch.Add", func(p *C.rr_route) error {
			return call("Batch.Add", func() C.rr_status { return C.rr_batch_add(nb, p) })
		})
	})
}

// DelKey puts "delete the live route with key from kind's pool" in the batch (nothing at
// commit if there is none then). ErrInvalidArgument, naming the value, for a bad kind or a
// key no route can have (empty, over 255 bytes, not UTF-8, with a NUL byte).
func (b *Batch[T]) DelKey(kind Kind, key string) error {
	return b.withBatch("Batch.DelKey", func(nb *C.rr_batch) error {
		k, n := cstr(key)
		err := call("Batch.DelKey", func() C.rr_status { return C.rr_batch_del_key(nb, C.rr_kind(kind), k, n) })
		runtime.KeepAlive(key)
		return err
	})
}

// ReplaceProvider marks the batch as the complete new set of provider's routes: at commit,
// before the batch's entries, every live route of that provider (in any pool) that the batch
// does not add again under the same pool and key is removed; one that it does add there is
// replaced by the first such add whatever the priorities (the same *Route added again stays,
// unchanged). Readers see the old set or the new one, never a mix. May be called for several
// providers.
func (b *Batch[T]) ReplaceProvider(provider string) error {
	return b.withBatch("Batch.ReplaceProvider", func(nb *C.rr_batch) error {
		p, n := cstr(provider)
		err := call("Batch.ReplaceProvider", func() C.rr_status { return C.rr_batch_replace_provider(nb, p, n) })
		runtime.KeepAlive(provider)
		return err
	})
}

// Commit applies the batch to its registry as one change set and returns the registry's
// generation afterwards (unchanged when the batch changed nothing). The batch is spent:
// further entries and commits are ErrInvalidArgument from the library ("already
// committed"); Discard or Close frees it. ErrClosed when the registry or the batch was closed
// (nothing changes).
func (b *Batch[T]) Commit() (uint64, error) {
	var gen uint64
	err := b.withBatch("Batch.Commit", func(nb *C.rr_batch) error {
		err := b.reg.try("Batch.Commit", func(reg *C.rr_registry) error {
			var g C.uint64_t
			err := call("Batch.Commit", func() C.rr_status { return C.rr_batch_commit(reg, nb, &g) })
			gen = uint64(g)
			return err
		})
		if err == nil {
			b.state = batchCommitted
		}
		return err
	})
	return gen, err
}

// Discard frees the batch: an uncommitted one is not applied (nothing changes); a committed
// one is just released. Safe to call twice and from a defer on every path; afterwards the
// batch's methods return ErrClosed.
func (b *Batch[T]) Discard() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.free(batchDiscarded)
}

// Close is Discard (so a Batch is an io.Closer-like resource); it always returns nil.
func (b *Batch[T]) Close() error {
	b.Discard()
	return nil
}
