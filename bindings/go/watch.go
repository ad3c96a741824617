package routes

// #include "rr_go.h"
import "C"

import (
	"context"
	"errors"
	"runtime/cgo"
	"sync/atomic"
)

// watchBuffer is the capacity of the channel Watch returns.
const watchBuffer = 64

// liveWatchers counts Watch goroutines still running (for leak tests).
var liveWatchers atomic.Int64

// Watch sends the registry's change records as they are committed, starting after the
// current generation, until ctx is done or the registry is closed; then the channel is
// closed. A goroutine does it, woken by the library's subscription (rr_subscribe) after each
// commit; it pulls the records (Changes) and sends them in order. It blocks while the
// channel is full; if the consumer falls so far behind that the registry's change log
// (SetChangeLogCapacity) dropped records it had not pulled yet, it sends one Change with Op
// ChangeResync and the generation it continues from, and then the records after it: a
// consumer never misses a record silently. On a resync marker, read the registry again
// (Snapshot). On ctx's end the subscription is ended and the goroutine exits; a Watch holds
// its Registry until then. It panics on a closed registry, and on a nil ctx (as the standard
// library does: use context.Background() for a Watch that ends with the registry).
func (r *Registry[T]) Watch(ctx context.Context) <-chan Change[T] {
	if ctx == nil {
		panic("routes: Watch: nil context")
	}
	r.made()
	out := make(chan Change[T], watchBuffer)
	wake := make(chan struct{}, 1)
	var h cgo.Handle
	var token, since uint64
	r.do("Watch", func(reg *C.rr_registry) { // (panics before f on a closed registry)
		h = cgo.NewHandle(wake)
		token = uint64(C.rr_go_subscribe(reg, C.uintptr_t(h)))
		since = atomic.LoadUint64(r.ngen) // after subscribing: every later commit wakes us
	})
	if token == 0 {
		h.Delete()
		panic("routes: Watch: rr_subscribe failed")
	}
	liveWatchers.Add(1)
	go r.watch(ctx, out, wake, h, token, since)
	return out
}

func (r *Registry[T]) watch(ctx context.Context, out chan<- Change[T], wake chan struct{}, h cgo.Handle, token, since uint64) {
	defer func() {
		r.raw(func(reg *C.rr_registry) { C.rr_unsubscribe(reg, C.uint64_t(token)) })
		h.Delete() // after rr_unsubscribe returned, the callback never runs again
		close(out)
		liveWatchers.Add(-1)
	}()
	send := func(c Change[T]) bool {
		select {
		case out <- c:
			return true
		case <-ctx.Done():
		case <-r.done:
		}
		return false
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.done:
			return
		case <-wake:
		}
		seq, next, err := r.Changes(since)
		if errors.Is(err, ErrStale) {
			var g uint64
			if r.try("Watch", func(*C.rr_registry) error { g = atomic.LoadUint64(r.ngen); return nil }) != nil {
				return
			}
			if !send(Change[T]{Generation: g, Op: ChangeResync}) {
				return
			}
			since = g
			continue
		}
		if err != nil { // closed
			return
		}
		for c := range seq {
			if !send(c) {
				return
			}
		}
		since = next
	}
}
