"""Exceptions: every non-OK ``rr_status`` becomes one of these, with the library's message."""

from __future__ import annotations

from typing import Dict, Type

from ._bindings import RR_FROZEN, RR_INVALID_ARGUMENT, RR_KEPT, RR_NOT_FOUND, RR_PANIC, RR_STALE
from ._native import last_error

#: Error messages quote at most this many characters of a bad value (as the library does).
MAX_QUOTED = 64


def num(value: int) -> str:
    """An integer for an error message: in full up to 64 digits, else its sign, first digits
    and length (a hostile integer cannot make a message huge, or overflow ``str()``)."""
    if -(10**64) < value < 10**64:
        return str(value)
    sign = "-" if value < 0 else ""
    top = abs(value) >> (abs(value).bit_length() - 64)
    return f"{sign}{top}... ({value.bit_length()} bits)"


def quote(value: object) -> str:
    """``value`` for an error message: quoted with ``repr`` escapes, cut after 64 characters
    (as the library's messages), so a hostile value cannot make a message huge."""
    s = value if isinstance(value, str) else repr(value)
    if len(s) > MAX_QUOTED:
        return repr(s[:MAX_QUOTED]) + "..."
    return repr(s)


class _ErrorType(type):
    """Lists only this package's attributes in ``dir()``, so that ``help()`` shows what an
    error carries instead of every method inherited from ``BaseException``."""

    def __dir__(cls) -> "list[str]":
        names = {"__doc__", "__module__", "args", "with_traceback"}
        for c in cls.__mro__:
            if c.__module__ == __name__:
                names.update(c.__dict__)
        return sorted(names)


class RouteRegistryError(Exception, metaclass=_ErrorType):
    """A call into the library failed: ``status`` (the ``rr_status``) and ``message`` (the
    library's own message)."""

    status: int = -1

    def __init__(self, message: str, status: int = -1) -> None:
        super().__init__(message)
        self.message = message
        if status >= 0:
            self.status = status

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.message


class NotFound(RouteRegistryError, KeyError):
    """``RR_NOT_FOUND``: nothing has that key (also a ``KeyError``)."""

    status = RR_NOT_FOUND


class InvalidArgument(RouteRegistryError, ValueError):
    """``RR_INVALID_ARGUMENT``: the library rejected a value (also a ``ValueError``)."""

    status = RR_INVALID_ARGUMENT


class Kept(RouteRegistryError):
    """``RR_KEPT``: an existing route with that key stays. Only raised by
    ``add(route, raise_if_kept=True)``; by default ``add`` returns ``False`` instead."""

    status = RR_KEPT


class Frozen(RouteRegistryError):
    """``RR_FROZEN``: an identity setter was called on a route already added to a registry."""

    status = RR_FROZEN


class Stale(RouteRegistryError):
    """``RR_STALE``: the change records after the generation asked for were already dropped
    from the registry's bounded change log. Take a fresh :meth:`Registry.snapshot` and
    continue from its ``generation``."""

    status = RR_STALE


class LibraryPanic(RouteRegistryError):
    """``RR_PANIC``: the library caught an internal panic (it stays usable)."""

    status = RR_PANIC


_BY_STATUS: Dict[int, Type[RouteRegistryError]] = {
    RR_NOT_FOUND: NotFound,
    RR_INVALID_ARGUMENT: InvalidArgument,
    RR_KEPT: Kept,
    RR_FROZEN: Frozen,
    RR_STALE: Stale,
    RR_PANIC: LibraryPanic,
}


def error_for(status: int) -> RouteRegistryError:
    """The exception for a non-OK status. Call it right after the failing call, on the same
    thread: it reads the thread's ``rr_last_error()``."""
    msg = last_error() or f"route-registry call failed with status {status}"
    return _BY_STATUS.get(status, RouteRegistryError)(msg, status)


def check(status: int) -> None:
    """Raises the exception for ``status`` unless it is ``RR_OK``."""
    if status:
        raise error_for(status)
