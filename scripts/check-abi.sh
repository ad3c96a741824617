#!/usr/bin/env bash
# The shared library must export exactly the symbols in abi/symbols.txt (sorted, one a line),
# and each must be declared in the header. An accidental ABI change fails here; an intended
# one updates abi/symbols.txt (and RR_ABI_VERSION if it is incompatible: docs/ABI.md).
# Usage: scripts/check-abi.sh [path/to/libroute_registry.so]   (--update rewrites the list)
set -euo pipefail
cd "$(dirname "$0")/.."
lib=target/release/libroute_registry.so
update=0
for a in "$@"; do
  case "$a" in --update) update=1 ;; *) lib=$a ;; esac
done
actual=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
if [ "$update" = 1 ]; then
  printf '%s\n' "$actual" > abi/symbols.txt
  echo "abi: wrote $(wc -l < abi/symbols.txt) symbols to abi/symbols.txt"
  exit 0
fi
if ! diff -u abi/symbols.txt <(printf '%s\n' "$actual"); then
  echo "abi: the exported symbols differ from abi/symbols.txt (see docs/ABI.md)" >&2
  exit 1
fi
missing=0
while read -r sym; do
  grep -Eq "[ *]${sym}\(" include/route_registry.h || { echo "abi: $sym is exported but not in the header" >&2; missing=1; }
done < abi/symbols.txt
[ "$missing" = 0 ] || exit 1
grep -Eo '\brr_[a-z_]+\(' include/route_registry.h | tr -d '(' | sort -u > /tmp/rr_header_fns.$$
if ! diff -u abi/symbols.txt /tmp/rr_header_fns.$$; then
  rm -f /tmp/rr_header_fns.$$
  echo "abi: the header declares functions the library does not export (or the reverse)" >&2
  exit 1
fi
rm -f /tmp/rr_header_fns.$$
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
abi=$(sed -n 's/^#define RR_ABI_VERSION \([0-9]*\)/\1/p' include/route_registry.h)
[ "$soname" = "libroute_registry.so.$abi" ] || { echo "abi: soname $soname does not carry RR_ABI_VERSION $abi" >&2; exit 1; }
echo "abi: $(wc -l < abi/symbols.txt) exported symbols match abi/symbols.txt and the header; soname $soname"
