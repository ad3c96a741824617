//go:build !rr_shared

package routes

// The default: link the static library, so `go build` gives a self-contained binary.

// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libroute_registry.a -lpthread -ldl -lm
import "C"
