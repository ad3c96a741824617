#!/usr/bin/env bash
# Installs what the tests need that a fresh machine may lack. Idempotent; quiet when all is there.
set -euo pipefail
need_apt=()
command -v valgrind >/dev/null || need_apt+=(valgrind)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "install-deps: apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "install-deps: missing ${need_apt[*]}; install them (as root: apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi
PY=${PYTHON:-python3}
if ! "$PY" -c 'import pytest' 2>/dev/null; then
  echo "install-deps: pip install pytest"
  "$PY" -m pip install -q pytest
fi
