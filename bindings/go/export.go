package routes

// #include "route_registry.h"
import "C"

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/cgo"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Every function exported to C (//export) recovers: a Go panic must never unwind through the
// library's C and Rust frames (the ABI forbids it, and the library call that was running
// would be cut short with its locks and references held). A recovered panic is written to
// callbackPanicOut with its stack: a log handler's first panic only (each SetLogHandler
// installs a new handler, reported again), every other one (they would be bugs of this
// package).
var (
	callbackPanicMu  sync.Mutex
	callbackPanicOut io.Writer = os.Stderr
)

// reportCallbackPanic writes a recovered panic and the stack that raised it (called from the
// deferred function that recovered it, so debug.Stack still shows the panicking frames).
func reportCallbackPanic(where string, v any) {
	stack := debug.Stack()
	callbackPanicMu.Lock()
	defer callbackPanicMu.Unlock()
	fmt.Fprintf(callbackPanicOut, "routes: recovered a panic in %s (a panic must not unwind through the library): %v\n%s\n", where, v, stack)
}

// liveHandles counts the cgo handles this package created that are not yet deleted.
var liveHandles atomic.Int64

// LiveHandles is the number of route handles (runtime/cgo.Handle) alive: one per native route
// made by NewRoute that has not been destroyed yet. For leak checks.
func LiveHandles() int64 { return liveHandles.Load() }

// rrGoFinalizer runs once per route made by NewRoute, when its native route is destroyed.
//
//export rrGoFinalizer
func rrGoFinalizer(ud C.uint64_t) {
	defer func() {
		if v := recover(); v != nil {
			reportCallbackPanic("the route finalizer", v)
		}
	}()
	cgo.Handle(ud).Delete()
	liveHandles.Add(-1)
}

// rrGoLog receives the library's log lines. A panic of the handler is recovered here, in the
// library call that logged (which then completes normally): the line is lost and the
// handler's first panic is reported on os.Stderr with its stack.
//
//export rrGoLog
func rrGoLog(level C.rr_log_level, msg *C.char, n C.size_t, _ unsafe.Pointer) {
	box := logHandler.Load()
	if box == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			box.panics.Add(1)
			if box.reported.CompareAndSwap(false, true) {
				reportCallbackPanic(fmt.Sprintf("the slog.Handler given to SetLogHandler (%T); its later panics are not reported", box.h), v)
			}
		}
	}()
	lvl := slogLevel(uint32(level))
	ctx := context.Background()
	if !box.h.Enabled(ctx, lvl) {
		return
	}
	rec := slog.NewRecord(time.Now(), lvl, C.GoStringN(msg, C.int(n)), 0)
	_ = box.h.Handle(ctx, rec)
}

// rrGoChanged is the subscription callback of Watch (rr_subscribe): user_data is the number
// of a cgo.Handle (never a Go pointer) to the watcher's wake-up channel. It runs on the
// thread of the writer that committed, so it only signals: the watcher's goroutine pulls the
// records.
//
//export rrGoChanged
func rrGoChanged(_ C.uint64_t, ud unsafe.Pointer) {
	defer func() {
		if v := recover(); v != nil {
			reportCallbackPanic("the Watch subscription callback", v)
		}
	}()
	w, ok := cgo.Handle(uintptr(ud)).Value().(chan struct{})
	if !ok {
		return
	}
	select {
	case w <- struct{}{}:
	default: // a wake-up is already pending: the watcher will see this change too
	}
}
