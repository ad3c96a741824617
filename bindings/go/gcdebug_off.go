//go:build !rr_gcdebug

package routes

// gcAtEveryCall is set by the rr_gcdebug build tag (gcdebug_on.go).
const gcAtEveryCall = false

// beforeCall runs before every call into the library; see gcdebug_on.go.
func beforeCall() {}
