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

import atexit
import ctypes
import ctypes.util
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

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


def keep_forever(obj: Any) -> Any:
    """Returns ``obj`` with one reference that is never released. For the ctypes callbacks
    the library keeps a pointer to (the log callback, the route finalizer, subscription
    callbacks): interpreter shutdown clears module globals, and a callback freed then would
    be called by a later native call (a ``__del__`` that adds a route) through a dangling
    pointer. And for the route states, which live as long as their native routes."""
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
    return obj


# -- interpreter exit -----------------------------------------------------------------------
#
# After the atexit handlers, Python stops every other thread the next time it takes the GIL,
# with pthread_exit. A thread taking the GIL inside a native call is one entering a ctypes
# callback (a log line, a route finalizer, a subscription, an iteration visitor): the forced
# unwind then crosses the library's frames, which may not unwind ("FATAL: exception not
# rethrown", abort), and leaves its locks held. So when the interpreter starts to exit
# (:func:`_close_gate`, an atexit handler):
#
# 1. every library function, looked up through ``lib`` as all of this package does, is
#    replaced by one that raises ``SystemExit`` on any thread but the exiting one (threads
#    still running are daemon threads, and ``threading`` ends a thread on ``SystemExit``
#    silently); the exiting thread (later atexit handlers, ``__del__`` methods) calls on;
# 2. the handler waits (at most ``_DRAIN_SECONDS``) until no other thread is inside a native
#    call: none has a frame of this package on top (about to call, or in a call), nor a
#    callback's frame anywhere on its stack (in a call that called back).
#
# Native memory is not released at exit either: the finalizers have ``atexit = False``.

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
# The Python functions the library calls back (ctypes callbacks), by name.
_CALLBACK_NAMES = frozenset({"visit", "on_change", "_on_log", "_on_native_destroyed"})
_DRAIN_SECONDS = 5.0
_exiting = [False]


def _ours(code: Any) -> bool:
    return bool(os.path.dirname(code.co_filename) == _PKG_DIR)


def _maybe_in_native(frame: Any) -> bool:
    if _ours(frame.f_code) and frame.f_code.co_name != "_refuse":
        return True
    f = frame
    while f is not None:
        c = f.f_code
        if c.co_name in _CALLBACK_NAMES and _ours(c):
            return True
        f = f.f_back
    return False


def _gated(name: str, fn: Callable[..., Any], exiting_thread: int) -> Callable[..., Any]:
    def _refuse(*args: Any) -> Any:
        if threading.get_ident() == exiting_thread:
            return fn(*args)
        raise SystemExit(
            f"route_registry: {name} refused on a thread other than the main one: the "
            "interpreter is exiting"
        )

    return _refuse


def _close_gate() -> None:
    if _exiting[0]:
        return
    _exiting[0] = True
    me = threading.get_ident()
    d = lib.__dict__
    for name in B.FUNCTIONS:
        fn = d.get(name)
        if fn is not None:
            d[name] = _gated(name, fn, me)
    deadline = time.monotonic() + _DRAIN_SECONDS
    while time.monotonic() < deadline:
        frames = sys._current_frames()
        busy = any(_maybe_in_native(f) for t, f in frames.items() if t != me)
        del frames
        if not busy:
            return
        time.sleep(0.001)


atexit.register(_close_gate)


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
