"""Loading the shared library and declaring every C function it exports.

Every ``argtypes``/``restype`` comes from the generated table ``_bindings.FUNCTIONS`` (made
from the header by ``scripts/gen_bindings.py``), and each one is resolved when the library
loads, so a library that lacks a symbol (or has another ABI version) fails at import with a
clear message instead of at first use.

Search order (the first that loads wins; the error lists every path tried):

1. ``$ROUTE_REGISTRY_LIB`` (a path to the shared library);
2. the library bundled in this package's directory (``pip install`` puts it there);
3. ``target/release`` of the repository when running from a source checkout;
4. the system search path (``ctypes.util.find_library("route_registry")``, then the soname
   ``libroute_registry.so.<ABI version>`` and ``libroute_registry.so``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from . import _bindings as B
from ._bindings import rr_str

#: The ABI version this binding was generated for (``RR_ABI_VERSION`` in the header).
ABI_VERSION = B.RR_ABI_VERSION

#: Environment variable naming the shared library to load.
LIB_ENV = "ROUTE_REGISTRY_LIB"

# Callback types, from the header (strings and handles arrive as c_void_p: no implicit
# conversion).
VISITOR = B.rr_route_visitor
LOG_FN = B.rr_log_fn
FINALIZER = B.rr_finalizer
RrStr = rr_str


def _lib_filenames() -> List[str]:
    if sys.platform == "darwin":
        return ["libroute_registry.dylib"]
    if sys.platform == "win32":
        return ["route_registry.dll"]
    return ["libroute_registry.so", f"libroute_registry.so.{ABI_VERSION}"]


def _candidates() -> List[Tuple[str, str]]:
    """(where, path) pairs in search order."""
    out: List[Tuple[str, str]] = []
    env = os.environ.get(LIB_ENV)
    if env:
        out.append((f"${LIB_ENV}", env))
    here = Path(__file__).resolve().parent
    for name in _lib_filenames():
        out.append(("package directory", str(here / name)))
    # Source checkout: <repo>/bindings/python/src/route_registry/_native.py
    repo = here.parents[3] if len(here.parents) > 3 else None
    if repo is not None and (repo / "Cargo.toml").is_file():
        target = Path(os.environ.get("CARGO_TARGET_DIR", repo / "target"))
        for name in _lib_filenames():
            out.append(("source checkout", str(target / "release" / name)))
    found = ctypes.util.find_library("route_registry")
    if found:
        out.append(("system (find_library)", found))
    for name in _lib_filenames():
        out.append(("system search path", name))
    return out


def _declare(lib: ctypes.CDLL, path: str) -> None:
    missing = []
    for name, (restype, argtypes) in B.FUNCTIONS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = list(argtypes)
    if missing:
        raise ImportError(
            f"route_registry: the library {path} lacks {len(missing)} symbol(s) this binding "
            f"needs: {', '.join(missing)} (it is older than the header the binding was "
            "generated from: rebuild it with `make lib`)"
        )
    abi = lib.rr_abi_version()
    if abi != ABI_VERSION:
        raise ImportError(
            f"route_registry: the library {path} has ABI version {abi}; this binding needs "
            f"{ABI_VERSION}"
        )


def load() -> Tuple[ctypes.CDLL, str]:
    """Loads the library (see the module docstring for the order) and declares its functions."""
    tried: List[str] = []
    for where, path in _candidates():
        is_path = os.sep in path
        if is_path and not os.path.exists(path):
            tried.append(f"  {path} ({where}): no such file")
            if where.startswith("$"):
                break  # an explicit choice that fails must not silently fall back
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"  {path} ({where}): {e}")
            if where.startswith("$"):
                break  # an explicit choice that fails must not silently fall back
            continue
        _declare(lib, path)
        return lib, path
    raise ImportError(
        "route_registry: cannot load the route-registry shared library. Tried:\n"
        + "\n".join(tried)
        + f"\nBuild it with `make lib` in the repository and set {LIB_ENV} to "
        "target/release/libroute_registry.so, or `pip install bindings/python`."
    )


lib, lib_path = load()


def read_str(s: RrStr) -> str:
    """Copies a borrowed ``rr_str`` into a Python ``str``."""
    n = s.len
    if not n:
        return ""
    return ctypes.string_at(s.ptr, n).decode("utf-8", "replace")


def take_json(p: Optional[int]) -> Optional[str]:
    """Copies and frees a ``char *`` the library returned."""
    if not p:
        return None
    try:
        return ctypes.string_at(p).decode("utf-8")
    finally:
        lib.rr_string_free(p)


def last_error() -> str:
    """The message of the last failing call on this OS thread."""
    return read_str(lib.rr_last_error())
