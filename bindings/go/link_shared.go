//go:build rr_shared

package routes

// With `-tags rr_shared`: compile against the installed header and link the installed shared
// library, both found through pkg-config (`make install PREFIX=...` or an unpacked `make dist`
// tarball; set PKG_CONFIG_PATH to its lib/pkgconfig unless pkg-config already searches it).
// Nothing here points into the source checkout. The executable finds libroute_registry.so.1
// at run time through the loader's search path (ldconfig), LD_LIBRARY_PATH, or an rpath the
// caller adds: CGO_LDFLAGS="-Wl,-rpath,$(pkg-config --variable=libdir route_registry)".

// #cgo pkg-config: route_registry
import "C"
