"""Library loading: search order, the error listing every path tried, and the symbol check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import route_registry as rr
from route_registry import _native

SRC = Path(__file__).resolve().parents[1] / "src"


def _import_with(env_lib: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env = dict(os.environ, ROUTE_REGISTRY_LIB=env_lib, PYTHONPATH=str(SRC))
    return subprocess.run(
        [sys.executable, "-c", "import route_registry"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_every_function_of_the_header_is_declared_with_the_generated_types() -> None:
    header = (Path(__file__).resolve().parents[3] / "include" / "route_registry.h").read_text()
    import re

    from route_registry import _bindings

    declared = set(re.findall(r"\b(rr_[a-z0-9_]+)\(", header))
    assert set(_bindings.FUNCTIONS) == declared
    for name, (restype, argtypes) in _bindings.FUNCTIONS.items():
        fn = getattr(_native.lib, name)
        assert fn.restype is restype and list(fn.argtypes) == list(argtypes), name


def test_a_missing_library_lists_every_path_tried() -> None:
    p = _import_with("/nonexistent/libroute_registry.so")
    assert p.returncode != 0
    assert "ImportError" in p.stderr and "Tried:" in p.stderr
    assert "/nonexistent/libroute_registry.so ($ROUTE_REGISTRY_LIB): no such file" in p.stderr


def test_a_library_without_the_symbols_fails_at_import() -> None:
    import ctypes.util

    libm = ctypes.util.find_library("m")
    assert libm
    p = _import_with(libm)
    assert p.returncode != 0
    assert "lacks" in p.stderr and "rr_abi_version" in p.stderr


def test_the_search_order() -> None:
    old = os.environ.get(_native.LIB_ENV)
    os.environ[_native.LIB_ENV] = "/x/lib.so"
    try:
        where = [w for w, _ in _native._candidates()]
    finally:
        if old is None:
            del os.environ[_native.LIB_ENV]
        else:
            os.environ[_native.LIB_ENV] = old
    assert where[0] == "$ROUTE_REGISTRY_LIB"
    assert where[1] == "package directory"
    assert "source checkout" in where
    assert where[-1] == "system search path"
    assert where.index("package directory") < where.index("source checkout")
    assert rr.lib_path  # loaded from one of them


def test_without_env_the_error_lists_each_place(tmp_path: Path) -> None:
    """A copy of the package outside the checkout, without a bundled library: the import
    tries the package directory, then the system (where a `make install` may have put it)."""
    import shutil

    pkg = tmp_path / "route_registry"
    shutil.copytree(
        SRC / "route_registry", pkg, ignore=shutil.ignore_patterns("*.so*", "__pycache__")
    )
    env = {k: v for k, v in os.environ.items() if k not in ("ROUTE_REGISTRY_LIB", "PYTHONPATH")}
    env["PYTHONPATH"] = str(tmp_path)
    p = subprocess.run(
        [sys.executable, "-c", "import route_registry as r; print(r.lib_path)"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if p.returncode == 0:  # found on the system search path
        assert str(tmp_path) not in p.stdout and "libroute_registry" in p.stdout
    else:
        assert f"{pkg / 'libroute_registry.so'} (package directory): no such file" in p.stderr
        assert "libroute_registry.so.1 (system search path)" in p.stderr
        assert "source checkout" not in p.stderr
