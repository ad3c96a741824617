package routes

// #include "route_registry.h"
import "C"

import (
	"context"
	"log/slog"
	"runtime/cgo"
	"sync/atomic"
	"time"
	"unsafe"
)

// liveHandles counts the cgo handles this package created that are not yet deleted.
var liveHandles atomic.Int64

// LiveHandles is the number of route handles (runtime/cgo.Handle) alive: one per native route
// made by NewRoute that has not been destroyed yet. For leak checks.
func LiveHandles() int64 { return liveHandles.Load() }

// rrGoFinalizer runs once per route made by NewRoute, when its native route is destroyed.
//
//export rrGoFinalizer
func rrGoFinalizer(ud C.uint64_t) {
	cgo.Handle(ud).Delete()
	liveHandles.Add(-1)
}

// rrGoLog receives the library's log lines.
//
//export rrGoLog
func rrGoLog(level C.rr_log_level, msg *C.char, n C.size_t, _ unsafe.Pointer) {
	box := logHandler.Load()
	if box == nil {
		return
	}
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
	w, ok := cgo.Handle(uintptr(ud)).Value().(chan struct{})
	if !ok {
		return
	}
	select {
	case w <- struct{}{}:
	default: // a wake-up is already pending: the watcher will see this change too
	}
}
