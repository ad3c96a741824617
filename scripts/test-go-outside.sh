#!/usr/bin/env bash
# The Go binding used the way a user's own module uses it (run by `make test-go-outside`):
# a module in a temporary directory outside the repository, with
#   require github.com/route-registry/routes v0.0.0
#   replace github.com/route-registry/routes => <repo>/bindings/go
# built and run twice:
#  - static (the default): self-contained, needs no libroute_registry at run time;
#  - shared (-tags rr_shared) against `make install PREFIX=<tmp>` found through pkg-config, with
#    the installed header: no -I or -L into the checkout, and no RUNPATH into the checkout
#    (checked with readelf -d); run once through LD_LIBRARY_PATH and once through an rpath
#    added with CGO_LDFLAGS, as the README documents.
# Needs no network: GOPROXY=off, GOTOOLCHAIN=local.
set -eu  # no pipefail: `cmd | grep -q` may close the pipe early
cd "$(dirname "$0")/.."
ROOT=$PWD
GO=${GO:-go}
MAKE=${MAKE:-make}
ABI=$(sed -n 's/^#define RR_ABI_VERSION \([0-9]*\)$/\1/p' include/route_registry.h)
tmp=$(mktemp -d /tmp/rr-go-outside.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "test-go-outside: FAIL: $*" >&2; exit 1; }
pass=0
ok() { pass=$((pass + 1)); echo "  ok: $*"; }
case "$tmp" in "$ROOT"/*) fail "temporary directory $tmp is inside the repository";; esac
export GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-mod=mod
unset LD_LIBRARY_PATH

mod=$tmp/app
mkdir -p "$mod"
cat > "$mod/go.mod" <<GOMOD
module example.com/rrapp

go 1.24

require github.com/route-registry/routes v0.0.0

replace github.com/route-registry/routes => $ROOT/bindings/go
GOMOD
cat > "$mod/main.go" <<'GOSRC'
package main

import (
	"fmt"
	"net/http/httptest"
	"os"

	"github.com/route-registry/routes"
)

type backend struct{ name string }

func main() {
	reg := routes.NewRegistry[*backend]()
	defer reg.Close()
	rt, err := routes.NewRoute(routes.RouteConfig{
		Kind: routes.KindHTTP, Alias: "app", URL: "http://10.0.0.5:8080", Provider: "docker",
	}, &backend{name: "app-backend"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "NewRoute:", err)
		os.Exit(1)
	}
	if err := reg.Add(rt); err != nil {
		fmt.Fprintln(os.Stderr, "Add:", err)
		os.Exit(1)
	}
	got, ok := reg.Get("app")
	if !ok || got != rt || got.Value().name != "app-backend" {
		fmt.Fprintln(os.Stderr, "Get did not return the route added")
		os.Exit(1)
	}
	req := routes.WithRouteContext(httptest.NewRequest("GET", "http://app.example.com/", nil), got)
	if h := routes.TryGetUpstreamHost(req); h != "10.0.0.5" {
		fmt.Fprintln(os.Stderr, "TryGetUpstreamHost:", h)
		os.Exit(1)
	}
	if routes.ABIVersion() != routes.HeaderABIVersion {
		fmt.Fprintln(os.Stderr, "ABI mismatch")
		os.Exit(1)
	}
	fmt.Printf("rrapp ok %s abi %d routes %d\n", routes.Version(), routes.ABIVersion(), reg.NumActiveRoutes())
}
GOSRC
(cd "$mod" && $GO mod tidy) || fail "go mod tidy with require + replace"
ok "go mod tidy resolves github.com/route-registry/routes through replace"

no_runpath_into_checkout() { # $1 = executable
  local d
  d=$(readelf -d "$1")
  if echo "$d" | grep -E 'R(UN)?PATH' | grep -qF "$ROOT"; then
    echo "$d" | grep -E 'R(UN)?PATH' >&2
    fail "$(basename "$1") has a RUNPATH/RPATH into the checkout"
  fi
}

echo "== static (default)"
(cd "$mod" && $GO build -o "$tmp/app-static" .) || fail "static build"
"$tmp/app-static" | grep -q "^rrapp ok .* routes 1$" || fail "static program output"
no_runpath_into_checkout "$tmp/app-static"
if readelf -d "$tmp/app-static" | grep -q 'NEEDED.*libroute_registry'; then
  fail "static build needs libroute_registry.so"
fi
ok "static build runs, needs no libroute_registry.so, no RUNPATH into the checkout"

echo "== shared (-tags rr_shared) against make install"
prefix=$tmp/prefix
$MAKE --no-print-directory install PREFIX="$prefix" > "$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; fail "make install"; }
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# Go's build cache keys a cgo package on its #cgo and CGO_* flags but not on what pkg-config
# prints: a package built against an earlier (since deleted) prefix would be reused. A flag
# unique to this run makes the cache miss (users reinstalling elsewhere: `go build -a`).
export CGO_CPPFLAGS="-DRR_GO_OUTSIDE_RUN_$(date +%s%N)"
cflags=$(cd "$mod" && $GO list -tags rr_shared -f '{{join .CgoCFLAGS " "}} | {{join .CgoLDFLAGS " "}} | {{join .CgoPkgConfig " "}}' github.com/route-registry/routes)
case "$cflags" in *"$ROOT"*) fail "rr_shared build flags point into the checkout: $cflags";; esac
case "$cflags" in *"| route_registry") ;; *) fail "rr_shared does not use pkg-config route_registry: $cflags";; esac
ok "rr_shared: cgo flags are only pkg-config's ($cflags)"
(cd "$mod" && $GO build -x -tags rr_shared -o "$tmp/app-shared" . 2> "$tmp/build-shared.log") \
  || { tail -30 "$tmp/build-shared.log"; fail "shared build"; }
# (cgo itself adds -I<package dir>, which is bindings/go: that is the module's source, not the
# library's header or the build tree.)
if grep -qE -- "$ROOT/(include|target)" "$tmp/build-shared.log"; then
  grep -E -- "$ROOT/(include|target)" "$tmp/build-shared.log" | head -3 >&2
  fail "the shared build used the checkout's include/ or target/"
fi
grep -q -- "-I$prefix/include" "$tmp/build-shared.log" || fail "the shared build did not use the installed header"
ok "the C compiler saw the installed include and lib directories only"
readelf -d "$tmp/app-shared" | grep -q "NEEDED.*\[libroute_registry\.so\.$ABI\]" \
  || fail "app-shared does not need libroute_registry.so.$ABI"
no_runpath_into_checkout "$tmp/app-shared"
LD_LIBRARY_PATH=$prefix/lib "$tmp/app-shared" | grep -q "^rrapp ok .* routes 1$" || fail "shared program"
LD_LIBRARY_PATH=$prefix/lib ldd "$tmp/app-shared" | grep -q "libroute_registry\.so\.$ABI => $prefix/lib/" \
  || fail "app-shared does not load the installed library"
ok "shared build needs libroute_registry.so.$ABI, runs with LD_LIBRARY_PATH=<prefix>/lib"
(cd "$mod" && CGO_LDFLAGS="-Wl,-rpath,$(pkg-config --variable=libdir route_registry)" \
  $GO build -tags rr_shared -o "$tmp/app-rpath" .) || fail "shared build with rpath"
readelf -d "$tmp/app-rpath" | grep -q "RUNPATH.*\[$prefix/lib\]" || fail "app-rpath lacks RUNPATH $prefix/lib"
no_runpath_into_checkout "$tmp/app-rpath"
"$tmp/app-rpath" | grep -q "^rrapp ok .* routes 1$" || fail "shared program with rpath"
ok "shared build with CGO_LDFLAGS rpath runs without LD_LIBRARY_PATH (RUNPATH $prefix/lib only)"
echo "test-go-outside: $pass passed, 0 failed"
