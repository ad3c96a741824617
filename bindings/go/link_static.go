//go:build !rr_shared

package routes

// The default: compile against the header of this source tree and link its static library
// (built by `make lib` at the repository root), so `go build` gives a self-contained binary
// with no run-time dependency on libroute_registry. A module outside the checkout uses it
// through `require github.com/route-registry/routes v0.0.0` plus
// `replace github.com/route-registry/routes => /path/to/route-registry/bindings/go`.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libroute_registry.a -lpthread -ldl -lm
import "C"
