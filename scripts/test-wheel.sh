#!/usr/bin/env bash
# The Python packaging as a user meets it (run by `make test-wheel`):
#  1. `make wheel` with cargo offline (CARGO_NET_OFFLINE=true): the sdist carries the Rust crate
#     (rust/Cargo.toml, Cargo.lock, src/, ...) and `python -m build` builds the wheel *from that
#     sdist*; auditwheel repairs it to a manylinux tag; the library is inside, stripped.
#  2. The wheel installed (pip --no-index: no network) into a fresh venv whose PATH has no
#     cargo, and used from a directory outside the repository: the library loads from the
#     package directory, routes are added, looked up and carried in a context.
#  3. With RR_TEST_VENDORED=1 (default 1): a vendored sdist (ROUTE_REGISTRY_VENDOR=1) builds
#     with pip from the sdist alone, with an empty CARGO_HOME and cargo offline.
set -eu  # no pipefail: `cmd | grep -q` may close the pipe early
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
MAKE=${MAKE:-make}
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tmp=$(mktemp -d /tmp/rr-wheel.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() { echo "test-wheel: FAIL: $*" >&2; exit 1; }
pass=0
ok() { pass=$((pass + 1)); echo "  ok: $*"; }

echo "== make wheel (cargo offline)"
CARGO_NET_OFFLINE=true $MAKE --no-print-directory wheel PYTHON="$PY" > "$tmp/wheel.log" 2>&1 \
  || { tail -40 "$tmp/wheel.log"; fail "make wheel"; }
sdist=dist/python/route_registry-$VERSION.tar.gz
[ -f "$sdist" ] || fail "no sdist $sdist"
tar tzf "$sdist" > "$tmp/sdist.txt"
for f in rust/Cargo.toml rust/Cargo.lock rust/build.rs rust/cbindgen.toml rust/src/lib.rs \
         rust/src/ffi/mod.rs rust/include/route_registry.h rust/LICENSE \
         src/route_registry/__init__.py src/route_registry/_native.py setup.py pyproject.toml LICENSE; do
  grep -qx "route_registry-$VERSION/$f" "$tmp/sdist.txt" || fail "sdist lacks $f"
done
if grep -qE '\.so(\.[0-9]+)?$|/target/' "$tmp/sdist.txt"; then fail "sdist carries build output"; fi
ok "sdist $(basename "$sdist"): the Rust crate under rust/, no build output"
grep -q "Building wheel from the sdist\|Building wheel\.\.\." "$tmp/wheel.log" || true
wheels=$(ls "$ROOT"/dist/python/*.whl)
[ "$(echo "$wheels" | wc -l)" = 1 ] || fail "expected one wheel: $wheels"
whl=$(basename "$wheels")
case "$whl" in
  route_registry-$VERSION-py3-none-manylinux_*_x86_64*.whl) ;;
  *) fail "wheel $whl is not py3-none-manylinux_*";;
esac
ok "wheel tag: ${whl#route_registry-$VERSION-}"
"$PY" -m zipfile -l "$wheels" > "$tmp/wheel.txt"
grep -q "route_registry/libroute_registry.so " "$tmp/wheel.txt" || fail "wheel lacks route_registry/libroute_registry.so"
grep -q "dist-info/licenses/LICENSE" "$tmp/wheel.txt" || fail "wheel lacks the LICENSE"
mkdir "$tmp/unz" && (cd "$tmp/unz" && "$PY" -m zipfile -e "$wheels" .)
so=$tmp/unz/route_registry/libroute_registry.so
if readelf -S -W "$so" | grep -q '\.debug_'; then fail "the wheel's library carries debug info"; fi
ok "the wheel carries route_registry/libroute_registry.so ($(stat -c %s "$so") bytes, no debug info) and LICENSE"

echo "== fresh venv, no cargo on PATH, outside the tree"
"$PY" -m venv "$tmp/venv"
clean_path="$tmp/venv/bin:/usr/bin:/bin"
if PATH=$clean_path command -v cargo > /dev/null; then fail "cargo is on the clean PATH ($clean_path)"; fi
run() { env -i HOME="$tmp" PATH="$clean_path" LANG=C.UTF-8 "$@"; }
run "$tmp/venv/bin/python" -m pip install -q --no-index --disable-pip-version-check "$wheels" \
  || fail "pip install the wheel without an index"
mkdir "$tmp/elsewhere"
cat > "$tmp/elsewhere/use_it.py" <<'PYSRC'
import os
import shutil

import route_registry as rr

assert shutil.which("cargo") is None, "cargo is reachable"
pkg = os.path.dirname(rr.__file__)
assert os.path.dirname(rr.lib_path) == pkg, (rr.lib_path, pkg)
assert "/site-packages/" in pkg, pkg
reg = rr.Registry()
r = rr.Route(rr.Kind.HTTP, "app", "http://10.0.0.5:8080", provider="docker", data="payload")
assert reg.add(r)
got = reg["app"]
assert got is r and got.data == "payload"
with rr.route_context(got):
    assert rr.try_get_upstream_host() == "10.0.0.5"
assert reg.health_info_simple() == {"app": rr.HealthStatus.UNKNOWN}
print("wheel ok", rr.lib_path)
PYSRC
(cd "$tmp/elsewhere" && run "$tmp/venv/bin/python" use_it.py) > "$tmp/use.out" 2>&1 \
  || { cat "$tmp/use.out"; fail "using the installed wheel"; }
grep -q "^wheel ok $tmp/venv/.*/site-packages/route_registry/libroute_registry.so$" "$tmp/use.out" \
  || { cat "$tmp/use.out"; fail "the library did not load from the installed package"; }
ok "installed into a fresh venv without cargo; used from $tmp/elsewhere"

if [ "${RR_TEST_VENDORED:-1}" = 1 ]; then
  unset CARGO_TARGET_DIR
  echo "== vendored sdist: empty CARGO_HOME, cargo offline"
  ROUTE_REGISTRY_VENDOR=1 "$PY" -m build --sdist --outdir "$tmp/vsdist" bindings/python > "$tmp/vsdist.log" 2>&1 \
    || { tail -20 "$tmp/vsdist.log"; fail "vendored sdist"; }
  vs=$(ls "$tmp"/vsdist/*.tar.gz)
  tar tzf "$vs" > "$tmp/vsdist.txt"
  grep -q "rust/vendor/serde_json/" "$tmp/vsdist.txt" || fail "vendored sdist lacks rust/vendor"
  grep -q "^route_registry-$VERSION/.cargo/config.toml$" "$tmp/vsdist.txt" || fail "vendored sdist lacks .cargo/config.toml"
  mkdir "$tmp/cargo-home"
  CARGO_HOME=$tmp/cargo-home CARGO_NET_OFFLINE=true CARGO_TARGET_DIR=$ROOT/target/wheel-vendored \
    "$PY" -m pip wheel -q --no-deps --wheel-dir "$tmp/vwheel" "$vs" > "$tmp/vwheel.log" 2>&1 \
    || { tail -30 "$tmp/vwheel.log"; fail "wheel from the vendored sdist, offline, empty CARGO_HOME"; }
  [ -z "$(ls -A "$tmp/cargo-home")" ] || [ ! -d "$tmp/cargo-home/registry" ] \
    || fail "cargo used a registry cache: $(ls "$tmp/cargo-home")"
  "$PY" -m zipfile -l "$tmp"/vwheel/*.whl > "$tmp/vwheel.txt"
  grep -q "route_registry/libroute_registry.so " "$tmp/vwheel.txt" \
    || fail "the wheel from the vendored sdist lacks the library"
  ok "vendored sdist ($(stat -c %s "$vs") bytes) builds offline with an empty CARGO_HOME"
fi
echo "test-wheel: $pass passed, 0 failed"
