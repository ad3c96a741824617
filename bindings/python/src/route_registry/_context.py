"""Route context on ``contextvars``: ``with route_context(route):`` attaches a route to the
current context (a thread, or an asyncio task, each see their own), and ``try_get_route()``
/ ``try_get_upstream_*()`` read it. Nested contexts chain: leaving one restores the route of
the enclosing one. Attaching is O(1) and copies nothing. With no route, the getters return
``None`` / ``""``, never raise.
"""

from __future__ import annotations

import contextvars
from types import TracebackType
from typing import Optional, Type

from ._route import Route

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
    """Alias of :class:`route_context` (the seed's ``WithRouteContext``)."""
    return route_context(route)


def try_get_route(context: Optional[contextvars.Context] = None) -> Optional[Route]:
    """The route of the current context (or of ``context``), or ``None``."""
    if context is not None:
        return context.get(_current)
    return _current.get()


def try_get_upstream_name(context: Optional[contextvars.Context] = None) -> str:
    """The route's alias, or ``""``."""
    r = try_get_route(context)
    return r.alias if r is not None else ""


def try_get_upstream_scheme(context: Optional[contextvars.Context] = None) -> str:
    r = try_get_route(context)
    return r.upstream_scheme if r is not None else ""


def try_get_upstream_host(context: Optional[contextvars.Context] = None) -> str:
    r = try_get_route(context)
    return r.upstream_host if r is not None else ""


def try_get_upstream_port(context: Optional[contextvars.Context] = None) -> str:
    r = try_get_route(context)
    return r.upstream_port if r is not None else ""


def try_get_upstream_host_port(context: Optional[contextvars.Context] = None) -> str:
    r = try_get_route(context)
    return r.upstream_host_port if r is not None else ""


def try_get_upstream_addr(context: Optional[contextvars.Context] = None) -> str:
    r = try_get_route(context)
    return r.upstream_addr if r is not None else ""


def try_get_upstream_url(context: Optional[contextvars.Context] = None) -> str:
    r = try_get_route(context)
    return r.upstream_url if r is not None else ""
