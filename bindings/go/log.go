package routes

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// LevelTrace is the slog level of the library's TRACE lines (below slog.LevelDebug).
const LevelTrace = slog.LevelDebug - 4

type handlerBox struct{ h slog.Handler }

var (
	logHandler atomic.Pointer[handlerBox]
	logMu      sync.Mutex
)

func slogLevel(l int) slog.Level {
	switch l {
	case 1:
		return slog.LevelError
	case 2:
		return slog.LevelWarn
	case 3:
		return slog.LevelInfo
	case 4:
		return slog.LevelDebug
	default:
		return LevelTrace
	}
}

// SetLogHandler sends the library's log lines (process-wide) to h: errors, warnings,
// information, and at slog.LevelDebug every add, remove, reload, replace and clear
// (e.g. "http_routes: added app"). The library is asked only for the levels h enables at
// the time of the call. A nil h turns logging off.
func SetLogHandler(h slog.Handler) {
	logMu.Lock()
	defer logMu.Unlock()
	if h == nil {
		setNativeLogger(0, false)
		logHandler.Store(nil)
		return
	}
	maxLevel := 0
	for l := 1; l <= 5; l++ {
		if h.Enabled(context.Background(), slogLevel(l)) {
			maxLevel = l
		}
	}
	logHandler.Store(&handlerBox{h: h})
	setNativeLogger(maxLevel, true)
}
