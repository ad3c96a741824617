"""``Managed``: the one base class of every object that owns a native handle (registry, route,
route context).

It holds the handle and writes, once for all of them:

- ``close()`` (idempotent) and ``with``; a ``weakref.finalize`` that releases a forgotten
  handle when the object is garbage-collected. The finalizer holds only the address and the
  release function, never the object, so it cannot keep it alive. Release happens exactly
  once: ``weakref.finalize`` runs its function at most once, whoever calls it first. Not at
  interpreter exit (``atexit = False``): atexit handlers, daemon threads and ``__del__``
  methods may still use the objects then, and the process is ending anyway.
- The closed check: using an object after its own ``close()`` raises ``ValueError``.
- Safe ``close()`` from another thread: a call that uses the handle registers itself first
  (``_use``) and unregisters after (``_done``); ``close()`` marks the object closed and
  releases the handle only when no call is in flight (otherwise the last call out releases
  it). Each side writes its own mark before reading the other's, and the GIL orders those
  steps, so the handle is never released under a running native call.
- No copies: ``copy.copy``, ``copy.deepcopy`` and ``pickle`` raise ``TypeError`` (a copy
  would share the handle, and closing either would free it under the other).
- ``_consume()``: hands ownership of the handle to C exactly once (the finalizer is
  detached, running calls finish first; the object is closed afterwards).

Dependents keep what they need with ordinary strong references (a pool holds its registry,
a context holds its route and parent), so no order of release can free a handle in use.
"""

from __future__ import annotations

import time
import weakref
from typing import Any, Callable, ClassVar, List, Optional


class Managed:
    """Base of every object that owns a native handle. Not part of the public API."""

    __slots__ = ("_ptr", "_fin", "_users", "__weakref__")

    #: What the object is called in messages ("route", "registry"...).
    _what: ClassVar[str] = "object"

    _ptr: Optional[int]
    _fin: "Optional[weakref.finalize[..., Any]]"
    _users: List[None]

    def _set_handle(self, ptr: int, release: Optional[Callable[[int], Any]]) -> None:
        """Takes ownership of ``ptr`` (released by ``release(ptr)``; ``None`` for a handle
        that is never released, such as the global registry)."""
        if getattr(self, "_ptr", None) is not None:
            raise ValueError(f"the {self._what} already has a handle")
        self._users = []
        self._ptr = ptr
        fin = None
        if release is not None:
            fin = weakref.finalize(self, release, ptr)
            fin.atexit = False
        self._fin = fin

    # -- the closed check and in-flight calls -------------------------------------------

    def _use(self) -> int:
        """The handle, registered as in use until the matching :meth:`_done`. Raises
        ``ValueError`` when the object is closed."""
        users = self._users
        users.append(None)  # our mark first ...
        p = self._ptr  # ... then read theirs
        if p is None:
            self._done()
            raise ValueError(f"the {self._what} is closed")
        return p

    def _done(self) -> None:
        users = self._users
        users.pop()
        if not users and self._ptr is None:
            self._release_now()

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(handle, *args)`` with the handle kept valid for the call (``_use``/``_done``
        inlined: this is on every uncached path)."""
        users = self._users
        users.append(None)
        try:
            p = self._ptr
            if p is None:
                raise ValueError(f"the {self._what} is closed")
            return fn(p, *args)
        finally:
            users.pop()
            if not users and self._ptr is None:
                self._release_now()

    def _check(self) -> None:
        """Raises ``ValueError`` when closed (for Python-side state that needs no call)."""
        if self._ptr is None:
            raise ValueError(f"the {self._what} is closed")

    def _release_now(self) -> None:
        fin = self._fin
        if fin is not None:
            fin()  # runs at most once, whichever thread gets here first

    # -- public lifecycle -----------------------------------------------------------------

    def close(self) -> None:
        """Releases the native handle (idempotent). Any use afterwards raises ``ValueError``.
        Safe while another thread is using the object: the release waits for its call."""
        if self._ptr is None:
            return
        self._ptr = None  # our mark first ...
        self._on_close()
        if not self._users:  # ... then read theirs
            self._release_now()

    def _on_close(self) -> None:
        """Hook for subclasses: drop Python-side state when closed."""

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (or ownership handed to C)."""
        return self._ptr is None

    def __enter__(self) -> Any:
        self._check()
        return self

    # -- no copies: two Python objects must never own one native handle ------------------

    def _no_copy(self, how: str) -> TypeError:
        name = type(self).__name__
        return TypeError(
            f"a {name} cannot be {how}: it owns a native handle; share the object instead"
        )

    def __copy__(self) -> Any:
        raise self._no_copy("copied")

    def __deepcopy__(self, memo: Any) -> Any:
        raise self._no_copy("copied")

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise self._no_copy("pickled")

    def __reduce__(self) -> Any:
        raise self._no_copy("pickled")

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _consume(self) -> int:
        """Hands the handle to C: returns it and forgets it (this object never releases it and
        is closed from then on). Raises ``ValueError`` if already closed or consumed. Calls
        already running on other threads finish with the handle before it is returned, so
        the caller may pass it to a function that takes ownership. Not to be called from a
        callback of a running call on the same object (it would wait for itself)."""
        if self._ptr is None:
            raise ValueError(f"the {self._what} is closed")
        fin = self._fin
        if fin is not None and fin.detach() is None:  # a close() or _consume() came first
            raise ValueError(f"the {self._what} is closed")
        p = self._ptr
        if p is None:  # closed meanwhile by a handle-less object (no finalizer)
            raise ValueError(f"the {self._what} is closed")
        self._ptr = None  # no new call can start ...
        self._on_close()
        while self._users:  # ... and the running ones finish first
            time.sleep(0)
        return p
