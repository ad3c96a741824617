//go:build rr_gcdebug

package routes

import "runtime"

// With `-tags rr_gcdebug` every call into the library is preceded by a full garbage
// collection, so that an object released too early (a cleanup running while its native
// handle is still in use, a missing runtime.KeepAlive) is freed at the worst moment and
// shows up in the tests. Slow: for tests only.
const gcAtEveryCall = true

func beforeCall() { runtime.GC() }
