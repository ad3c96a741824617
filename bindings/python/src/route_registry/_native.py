"""Loading the shared library and declaring every C function it exports.

Every ``argtypes``/``restype`` lives in :data:`_FUNCTIONS`, and each one is resolved when the
library loads, so a library that lacks a symbol (or has another ABI version) fails at import
with a clear message instead of at first use.

Search order (the first that loads wins; the error lists every path tried):

1. ``$ROUTE_REGISTRY_LIB`` (a path to the shared library);
2. the library bundled in this package's directory (``pip install`` puts it there);
3. ``target/release`` of the repository when running from a source checkout;
4. the system search path (``ctypes.util.find_library("route_registry")``, then the soname
   ``libroute_registry.so.1`` and ``libroute_registry.so``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_int32,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

#: The ABI version this binding was written for (``RR_ABI_VERSION`` in the header).
ABI_VERSION = 1

#: Environment variable naming the shared library to load.
LIB_ENV = "ROUTE_REGISTRY_LIB"


class RrStr(Structure):
    """``rr_str``: a borrowed ``(ptr, len)`` string, NUL-terminated as well."""

    _fields_ = [("ptr", c_void_p), ("len", c_size_t)]


# Callback types. Strings arrive as c_void_p so that ctypes does not convert them implicitly.
VISITOR = CFUNCTYPE(c_bool, c_void_p, c_void_p)
LOG_FN = CFUNCTYPE(None, c_uint32, c_void_p, c_size_t, c_void_p)
FINALIZER = CFUNCTYPE(None, c_uint64)

_P = c_void_p  # every opaque handle (rr_registry *, rr_route *, rr_ctx *)
_S = c_char_p  # string input pointer; always followed by a c_size_t length

# name -> (restype, argtypes). One line per function of include/route_registry.h.
_FUNCTIONS: "dict[str, Tuple[Any, Sequence[Any]]]" = {
    # version and errors
    "rr_abi_version": (c_uint32, ()),
    "rr_version": (RrStr, ()),
    "rr_last_error": (RrStr, ()),
    "rr_string_free": (None, (c_void_p,)),
    "rr_live_routes": (c_size_t, ()),
    # registries
    "rr_registry_new": (_P, ()),
    "rr_registry_free": (None, (_P,)),
    "rr_registry_global": (_P, ()),
    # routes: building
    "rr_route_new": (c_uint32, (c_uint32, _S, c_size_t, _S, c_size_t, POINTER(c_void_p))),
    "rr_route_retain": (_P, (_P,)),
    "rr_route_release": (None, (_P,)),
    "rr_route_set_key": (c_uint32, (_P, _S, c_size_t)),
    "rr_route_set_display_name": (c_uint32, (_P, _S, c_size_t)),
    "rr_route_set_provider": (c_uint32, (_P, _S, c_size_t)),
    "rr_route_set_priority": (c_uint32, (_P, c_int32)),
    "rr_route_set_docker": (c_uint32, (_P, c_bool)),
    "rr_route_set_proxmox": (c_uint32, (_P, _S, c_size_t, c_int32)),
    "rr_route_set_user_data": (c_uint32, (_P, c_uint64)),
    "rr_route_set_finalizer": (c_uint32, (_P, FINALIZER)),
    # routes: accessors
    "rr_route_kind": (c_uint32, (_P,)),
    "rr_route_alias": (RrStr, (_P,)),
    "rr_route_key": (RrStr, (_P,)),
    "rr_route_display_name": (RrStr, (_P,)),
    "rr_route_provider": (RrStr, (_P,)),
    "rr_route_upstream_scheme": (RrStr, (_P,)),
    "rr_route_upstream_host": (RrStr, (_P,)),
    "rr_route_upstream_port": (RrStr, (_P,)),
    "rr_route_upstream_host_port": (RrStr, (_P,)),
    "rr_route_upstream_addr": (RrStr, (_P,)),
    "rr_route_upstream_url": (RrStr, (_P,)),
    "rr_route_priority": (c_int32, (_P,)),
    "rr_route_user_data": (c_uint64, (_P,)),
    "rr_route_is_docker": (c_bool, (_P,)),
    "rr_route_is_frozen": (c_bool, (_P,)),
    "rr_route_proxmox": (c_uint32, (_P, POINTER(RrStr), POINTER(c_int32), POINTER(RrStr))),
    # health
    "rr_route_set_health": (c_uint32, (_P, c_uint32, c_uint64, c_uint64, _S, c_size_t)),
    "rr_route_health_status": (c_uint32, (_P,)),
    "rr_route_health": (c_uint32, (_P, POINTER(c_uint32), POINTER(c_uint64), POINTER(c_uint64))),
    "rr_route_health_detail": (c_size_t, (_P, c_void_p, c_size_t)),
    # registering
    "rr_add": (c_uint32, (_P, _P)),
    "rr_add_if_not_exists": (c_uint32, (_P, _P, POINTER(c_void_p))),
    "rr_del": (c_uint32, (_P, _P)),
    "rr_del_key": (c_uint32, (_P, c_uint32, _S, c_size_t)),
    "rr_clear": (None, (_P,)),
    "rr_pool_clear": (None, (_P, c_uint32)),
    "rr_purge_tombstones": (c_size_t, (_P,)),
    "rr_pool_size": (c_size_t, (_P, c_uint32)),
    "rr_pool_tombstones": (c_size_t, (_P, c_uint32)),
    "rr_num_active_routes": (c_size_t, (_P,)),
    "rr_num_all_routes": (c_size_t, (_P,)),
    # lookups
    "rr_get": (_P, (_P, _S, c_size_t)),
    "rr_get_include_excluded": (_P, (_P, _S, c_size_t)),
    "rr_pool_get": (_P, (_P, c_uint32, _S, c_size_t)),
    "rr_get_http_route_or_exact": (_P, (_P, _S, c_size_t, _S, c_size_t)),
    # iteration
    "rr_iter_active": (c_size_t, (_P, VISITOR, c_void_p)),
    "rr_iter_all": (c_size_t, (_P, VISITOR, c_void_p)),
    "rr_pool_iter": (c_size_t, (_P, c_uint32, VISITOR, c_void_p)),
    "rr_pool_iter_sorted": (c_size_t, (_P, c_uint32, VISITOR, c_void_p)),
    # JSON (char * results are c_void_p so that we can free them)
    "rr_health_json": (c_void_p, (_P, c_uint32)),
    "rr_by_provider_json": (c_void_p, (_P,)),
    # route context (the Python binding uses contextvars; declared so the ABI is checked)
    "rr_with_route_context": (_P, (_P, _P)),
    "rr_ctx_free": (None, (_P,)),
    "rr_try_get_route": (_P, (_P,)),
    "rr_try_get_upstream_name": (RrStr, (_P,)),
    "rr_try_get_upstream_scheme": (RrStr, (_P,)),
    "rr_try_get_upstream_host": (RrStr, (_P,)),
    "rr_try_get_upstream_port": (RrStr, (_P,)),
    "rr_try_get_upstream_host_port": (RrStr, (_P,)),
    "rr_try_get_upstream_addr": (RrStr, (_P,)),
    "rr_try_get_upstream_url": (RrStr, (_P,)),
    # Proxmox, change detection, logging
    "rr_proxmox_load_json": (c_uint32, (_P, _S, c_size_t)),
    "rr_generation": (c_uint64, (_P,)),
    "rr_generation_ptr": (c_void_p, (_P,)),
    "rr_set_logger": (None, (c_uint32, LOG_FN, c_void_p)),
}


def _lib_filenames() -> List[str]:
    if sys.platform == "darwin":
        return ["libroute_registry.dylib"]
    if sys.platform == "win32":
        return ["route_registry.dll"]
    return ["libroute_registry.so", "libroute_registry.so.1"]


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
    for name, (restype, argtypes) in _FUNCTIONS.items():
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
            f"needs: {', '.join(missing)} (rebuild it with `make lib`)"
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
