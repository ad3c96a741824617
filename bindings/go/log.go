package routes

// #include "route_registry.h"
import "C"

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// LevelTrace is the slog level of the library's TRACE lines (below slog.LevelDebug).
const LevelTrace = slog.LevelDebug - 4

type handlerBox struct {
	h        slog.Handler
	panics   atomic.Int64 // panics of h recovered by rrGoLog
	reported atomic.Bool  // the first one was written to os.Stderr
}

var (
	logHandler atomic.Pointer[handlerBox]
	logMu      sync.Mutex
)

// nativeLevels are the library's log levels (RR_LOG_*), most severe first.
var nativeLevels = [...]uint32{C.RR_LOG_ERROR, C.RR_LOG_WARN, C.RR_LOG_INFO, C.RR_LOG_DEBUG, C.RR_LOG_TRACE}

// slogLevel is the slog level of a library log level (above TRACE: TRACE).
func slogLevel(l uint32) slog.Level {
	switch l {
	case C.RR_LOG_ERROR:
		return slog.LevelError
	case C.RR_LOG_WARN:
		return slog.LevelWarn
	case C.RR_LOG_INFO:
		return slog.LevelInfo
	case C.RR_LOG_DEBUG:
		return slog.LevelDebug
	default:
		return LevelTrace
	}
}

// SetLogHandler sends the library's log lines (process-wide) to h: errors, warnings,
// information, and at slog.LevelDebug every add, remove, reload, replace and clear
// (e.g. "http_routes: added app"). The library is asked only for the levels h enables at
// the time of the call. A nil h turns logging off. A panic of h is recovered where the library
// calls it (it must not unwind through the library): that line is lost, the call that logged
// completes normally, and h's first panic is written to os.Stderr with its stack.
func SetLogHandler(h slog.Handler) {
	logMu.Lock()
	defer logMu.Unlock()
	if h == nil {
		setNativeLogger(uint32(C.RR_LOG_OFF), false)
		logHandler.Store(nil)
		return
	}
	maxLevel := uint32(C.RR_LOG_OFF)
	for _, l := range nativeLevels {
		if h.Enabled(context.Background(), slogLevel(l)) {
			maxLevel = l
		}
	}
	logHandler.Store(&handlerBox{h: h})
	setNativeLogger(maxLevel, true)
}
