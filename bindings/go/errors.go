package routes

// #include "route_registry.h"
import "C"

import (
	"errors"
	"fmt"
)

// Status is a status code of the native library (rr_status). The non-OK values are also the
// sentinel errors: errors.Is(err, ErrNotFound) holds for every *Error with that status.
type Status uint32

// The library's status codes (the header's RR_* values).
const (
	StatusOK              Status = C.RR_OK
	StatusNotFound        Status = C.RR_NOT_FOUND
	StatusInvalidArgument Status = C.RR_INVALID_ARGUMENT
	StatusKept            Status = C.RR_KEPT
	StatusFrozen          Status = C.RR_FROZEN
	StatusStale           Status = C.RR_STALE
	StatusPanic           Status = C.RR_PANIC
)

// Sentinel errors, for errors.Is.
var (
	// ErrNotFound: nothing has that key (or the route has no Proxmox link).
	ErrNotFound error = StatusNotFound
	// ErrInvalidArgument: a bad argument; the *Error's message names it.
	ErrInvalidArgument error = StatusInvalidArgument
	// ErrKept: not added, an existing route with the same key stays.
	ErrKept error = StatusKept
	// ErrFrozen: the route's identity is frozen (it was added to a registry).
	ErrFrozen error = StatusFrozen
	// ErrStale: the change records after the generation asked for were dropped from the
	// registry's bounded change log (Changes): read the routes again (Snapshot) and continue
	// from that generation.
	ErrStale error = StatusStale
	// ErrPanic: the library caught a panic (a bug in the library); it stays usable.
	ErrPanic error = StatusPanic
	// ErrClosed: the Route or Registry was closed with Close. Methods that return an error
	// return one wrapping ErrClosed; the other methods of a closed Registry (and its pools)
	// panic with such an error.
	ErrClosed = errors.New("routes: closed")
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNotFound:
		return "not found"
	case StatusInvalidArgument:
		return "invalid argument"
	case StatusKept:
		return "kept"
	case StatusFrozen:
		return "frozen"
	case StatusStale:
		return "stale"
	case StatusPanic:
		return "panic"
	}
	return fmt.Sprintf("status %d", uint32(s))
}

func (s Status) Error() string { return "routes: " + s.String() }

// Error is a failed library call: which operation, its status and the library's message
// (which names the bad value, quoting at most 64 characters of it).
type Error struct {
	Op      string
	Status  Status
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("routes: %s: %s", e.Op, e.Status)
	}
	return fmt.Sprintf("routes: %s: %s (%s)", e.Op, e.Message, e.Status)
}

// Unwrap gives the status, so errors.Is(err, ErrKept) and the like work.
func (e *Error) Unwrap() error { return e.Status }

func invalidArg(op, format string, args ...any) error {
	return &Error{Op: op, Status: StatusInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// closedError is the error (or panic value) of a use after Close: errors.Is(err, ErrClosed).
type closedError struct{ op, what string }

func (e *closedError) Error() string   { return "routes: " + e.op + ": the " + e.what + " is closed" }
func (e *closedError) Is(t error) bool { return t == ErrClosed }
