#!/usr/bin/env bash
# `make install` and `make dist` as a user sees them (run by `make test-install`):
#  - the installed shared library is stripped (no .debug_* sections, no .symtab), under 1.5 MB,
#    has the soname link; the static library carries no debug info; header and .pc installed;
#  - a C program built with `pkg-config --cflags --libs route_registry` and the documented
#    `-Wl,-rpath,$(pkg-config --variable=libdir route_registry)` runs without LD_LIBRARY_PATH;
#  - the `make dist` tarball, unpacked and then moved elsewhere, still builds (shared with rpath,
#    and static) through PKG_CONFIG_PATH alone: its .pc is relocatable.
set -eu  # no pipefail: `cmd | grep -q` may close the pipe early
cd "$(dirname "$0")/.."
ROOT=$PWD
MAKE=${MAKE:-make}
CC=${CC:-cc}
ABI=$(sed -n 's/^#define RR_ABI_VERSION \([0-9]*\)$/\1/p' include/route_registry.h)
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
MAX_SO=$((1536 * 1024))
tmp=$(mktemp -d /tmp/rr-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-install: FAIL: $*" >&2; exit 1; }
pass=0
ok() { pass=$((pass + 1)); echo "  ok: $*"; }

echo "== make install PREFIX=$tmp/prefix"
$MAKE --no-print-directory install PREFIX="$tmp/prefix" > "$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; fail "make install"; }
lib=$tmp/prefix/lib
so=$lib/libroute_registry.so.$ABI
[ -f "$so" ] && [ "$(readlink "$lib/libroute_registry.so")" = "libroute_registry.so.$ABI" ] \
  || fail "libroute_registry.so.$ABI and its link-time symlink"
size=$(stat -c %s "$so")
[ "$size" -lt "$MAX_SO" ] || fail "installed .so is $size bytes (limit $MAX_SO)"
ok "installed .so: $size bytes"
if readelf -S -W "$so" | grep -qE '\.debug_|\.symtab'; then fail "installed .so is not stripped"; fi
ok "installed .so has no .debug_* nor .symtab"
if readelf -S -W "$lib/libroute_registry.a" 2>/dev/null | grep -q '\.debug_'; then
  fail "installed .a carries debug info"
fi
ok "installed .a: $(stat -c %s "$lib/libroute_registry.a") bytes, no debug info"
readelf -d "$so" | grep -q "SONAME.*\[libroute_registry\.so\.$ABI\]" || fail "SONAME"
cmp include/route_registry.h "$tmp/prefix/include/route_registry.h" || fail "header"
grep -q "LD_LIBRARY_PATH=$lib" "$tmp/install.log" && grep -q -- "-Wl,-rpath,$lib" "$tmp/install.log" \
  || fail "make install into a non-system prefix must say how the loader finds the library"
ok "make install tells about rpath / LD_LIBRARY_PATH / ldconfig"

# A C program, built exactly as README.md documents it.
build_run() { # $1 = name, rest = extra flags
  local name=$1; shift
  # shellcheck disable=SC2046
  "$CC" -std=c99 -Wall -Wextra -Werror examples/c/main.c $(pkg-config --cflags --libs route_registry) \
    "$@" -o "$tmp/$name"
  (cd "$tmp" && env -u LD_LIBRARY_PATH "./$name") > "$tmp/$name.out" || { cat "$tmp/$name.out"; fail "$name runs"; }
  grep -q '^example: done$' "$tmp/$name.out" || fail "$name output"
}
export PKG_CONFIG_PATH=$lib/pkgconfig
[ "$(pkg-config --modversion route_registry)" = "$VERSION" ] || fail "pkg-config --modversion"
build_run app-installed -Wl,-rpath,"$(pkg-config --variable=libdir route_registry)"
ldd "$tmp/app-installed" | grep -q "$so" || fail "app-installed does not load $so"
ok "C program via pkg-config + rpath runs against the installed library"

echo "== make dist"
$MAKE --no-print-directory dist > "$tmp/dist.log" 2>&1 || { cat "$tmp/dist.log"; fail "make dist"; }
tarball=dist/route-registry-$VERSION-linux-$(uname -m).tar.gz
[ -f "$tarball" ] || fail "$tarball missing"
mkdir "$tmp/unpack"
tar -C "$tmp/unpack" -xzf "$tarball"
top=$tmp/unpack/route-registry-$VERSION-linux-$(uname -m)
for f in LICENSE README.md include/route_registry.h lib/libroute_registry.a \
         lib/libroute_registry.so lib/libroute_registry.so.$ABI lib/pkgconfig/route_registry.pc; do
  [ -e "$top/$f" ] || fail "tarball lacks $f"
done
if grep -q "$ROOT" "$top/lib/pkgconfig/route_registry.pc"; then fail ".pc names the build tree"; fi
ok "$tarball: $(stat -c %s "$tarball") bytes, complete"
# Move the unpacked tree: a relocatable .pc follows it.
mv "$top" "$tmp/elsewhere"
export PKG_CONFIG_PATH=$tmp/elsewhere/lib/pkgconfig
pkg-config --cflags route_registry | grep -q -- "-I$tmp/elsewhere" \
  || [ "$(realpath "$(pkg-config --variable=includedir route_registry)")" = "$tmp/elsewhere/include" ] \
  || fail "pkg-config paths do not follow the moved tree: $(pkg-config --cflags --libs route_registry)"
build_run app-dist -Wl,-rpath,"$(pkg-config --variable=libdir route_registry)"
ldd "$tmp/app-dist" | grep -q "libroute_registry\.so\.$ABI => $tmp/elsewhere/.*libroute_registry\.so\.$ABI" \
  || fail "app-dist does not load the unpacked library"
ok "unpacked and moved tarball: shared build with rpath runs"
# shellcheck disable=SC2046
"$CC" -std=c99 examples/c/main.c $(pkg-config --cflags route_registry) "$tmp/elsewhere/lib/libroute_registry.a" \
  $(pkg-config --static --libs-only-l route_registry | sed 's/-lroute_registry//') -o "$tmp/app-static"
"$tmp/app-static" | grep -q '^example: done$' || fail "static build"
if readelf -d "$tmp/app-static" | grep -q route_registry; then fail "static build still needs the .so"; fi
ok "unpacked tarball: static build runs"
echo "test-install: $pass passed, 0 failed"
