"""Route context.

On ``contextvars``: ``with route_context(route):`` attaches a route to the current context (a
thread, or an asyncio task, each see their own), and ``try_get_route()`` /
``try_get_upstream_*()`` read it. Nested contexts chain: leaving one restores the route of the
enclosing one. Attaching is O(1) and copies nothing. With no route, the getters return
``None`` / ``""``, never raise.

:class:`RouteContext` is the library's own context object (``rr_ctx``), for code that passes
contexts to C: it holds its route and its parent, so they live as long as it does.
"""

from __future__ import annotations

import contextvars
from types import TracebackType
from typing import Any, Optional, Type

from ._bindings import RR_PANIC
from ._errors import error_for
from ._managed import Managed
from ._native import lib, read_str
from ._route import Route, from_new_ref

_current: "contextvars.ContextVar[Optional[Route]]" = contextvars.ContextVar(
    "route_registry.route", default=None
)


class route_context:
    """Context manager attaching ``route`` to the current context for the ``with`` block.
    ``route_context(None)`` keeps the enclosing context's route (as the C ABI's NULL route).
    Re-entrant use of one instance is not supported; make one per ``with``."""

    __slots__ = ("route", "_token")

    def __init__(self, route: Optional[Route]) -> None:
        if route is not None and not isinstance(route, Route):
            raise TypeError(f"route_context needs a Route or None, not {type(route).__name__}")
        if route is not None:
            route._check()
        self.route = route
        self._token: Optional["contextvars.Token[Optional[Route]]"] = None

    def __enter__(self) -> Optional[Route]:
        if self._token is not None:
            raise RuntimeError("this route_context is already entered")
        if self.route is None:
            return _current.get()
        self._token = _current.set(self.route)
        return self.route

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None


def with_route(route: Optional[Route]) -> route_context:
    """Alias of :class:`route_context` (``WithRouteContext`` in GoDoxy's ``routes`` package)."""
    return route_context(route)


def try_get_route(context: Optional[contextvars.Context] = None) -> Optional[Route]:
    """The route of the current context (or of ``context``, a ``contextvars.Context``), or
    ``None``."""
    if context is not None:
        if not isinstance(context, contextvars.Context):
            raise TypeError(
                f"context must be a contextvars.Context or None, not {type(context).__name__}"
            )
        return context.get(_current)
    return _current.get()


def try_get_upstream_name(context: Optional[contextvars.Context] = None) -> str:
    """The route's alias, or ``""``."""
    r = try_get_route(context)
    return r.alias if r is not None else ""


def try_get_upstream_scheme(context: Optional[contextvars.Context] = None) -> str:
    """The route's upstream scheme, or ``""``."""
    r = try_get_route(context)
    return r.upstream_scheme if r is not None else ""


def try_get_upstream_host(context: Optional[contextvars.Context] = None) -> str:
    """The route's upstream host (no port), or ``""``."""
    r = try_get_route(context)
    return r.upstream_host if r is not None else ""


def try_get_upstream_port(context: Optional[contextvars.Context] = None) -> str:
    """The route's upstream port, or ``""``."""
    r = try_get_route(context)
    return r.upstream_port if r is not None else ""


def try_get_upstream_host_port(context: Optional[contextvars.Context] = None) -> str:
    """The route's upstream host:port, or ``""``."""
    r = try_get_route(context)
    return r.upstream_host_port if r is not None else ""


def try_get_upstream_addr(context: Optional[contextvars.Context] = None) -> str:
    """The route's upstream address (host:port), or ``""``."""
    r = try_get_route(context)
    return r.upstream_addr if r is not None else ""


def try_get_upstream_url(context: Optional[contextvars.Context] = None) -> str:
    """The route's upstream URL, or ``""``."""
    r = try_get_route(context)
    return r.upstream_url if r is not None else ""


def _free_ctx(addr: int) -> None:
    lib.rr_ctx_free(addr)


class RouteContext(Managed):
    """A native route context (``rr_ctx``): carries ``route`` (or, when ``route`` is
    ``None``, its parent's route), chained to ``parent``. It holds its route and parent, so
    closing or dropping them does not affect it. Free it with :meth:`close` (or ``with``, or
    garbage collection); using it afterwards raises ``ValueError``."""

    __slots__ = ("_route", "_parent")
    _what = "route context"

    def __init__(self, route: Optional[Route], parent: Optional["RouteContext"] = None) -> None:
        if route is not None and not isinstance(route, Route):
            raise TypeError(f"RouteContext needs a Route or None, not {type(route).__name__}")
        if parent is not None and not isinstance(parent, RouteContext):
            raise TypeError(f"parent must be a RouteContext or None, not {type(parent).__name__}")
        rp = route._use() if route is not None else None
        try:
            pp = parent._use() if parent is not None else None
            try:
                addr = lib.rr_with_route_context(pp, rp)
            finally:
                if parent is not None:
                    parent._done()
        finally:
            if route is not None:
                route._done()
        if not addr:
            raise error_for(RR_PANIC)
        self._route = route
        self._parent = parent
        self._set_handle(addr, _free_ctx)

    def _on_close(self) -> None:
        self._route = None
        self._parent = None

    @property
    def route(self) -> Optional[Route]:
        """The route of this context or its nearest ancestor that has one, or ``None``."""
        p = self._use()
        try:
            addr = lib.rr_try_get_route(p)
        finally:
            self._done()
        return from_new_ref(addr) if addr else None

    def _str(self, fn: Any) -> str:
        p = self._use()
        try:
            return read_str(fn(p))
        finally:
            self._done()

    @property
    def upstream_name(self) -> str:
        """The route's alias, or ``""``."""
        return self._str(lib.rr_try_get_upstream_name)

    @property
    def upstream_scheme(self) -> str:
        """The upstream scheme, or ``""``."""
        return self._str(lib.rr_try_get_upstream_scheme)

    @property
    def upstream_host(self) -> str:
        """The upstream host (no port), or ``""``."""
        return self._str(lib.rr_try_get_upstream_host)

    @property
    def upstream_port(self) -> str:
        """The upstream port, or ``""``."""
        return self._str(lib.rr_try_get_upstream_port)

    @property
    def upstream_host_port(self) -> str:
        """The upstream host:port, or ``""``."""
        return self._str(lib.rr_try_get_upstream_host_port)

    @property
    def upstream_addr(self) -> str:
        """The upstream address (host:port), or ``""``."""
        return self._str(lib.rr_try_get_upstream_addr)

    @property
    def upstream_url(self) -> str:
        """The upstream URL, or ``""``."""
        return self._str(lib.rr_try_get_upstream_url)

    def __repr__(self) -> str:
        if self.closed:
            return "<RouteContext (closed)>"
        return f"<RouteContext {self.upstream_name!r}>"
