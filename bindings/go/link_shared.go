//go:build rr_shared

package routes

// With `-tags rr_shared`: link libroute_registry.so from the build tree (found at run time
// through the rpath below, or LD_LIBRARY_PATH / the system search path once installed).

// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -lroute_registry -Wl,-rpath,${SRCDIR}/../../target/release
import "C"
