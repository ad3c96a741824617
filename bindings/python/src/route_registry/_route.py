"""``Route``: a Python handle on one native route, and the table that gives a lookup back the
same Python object (and the object attached to it) that was added.

How identity survives the trip through C:

- Each ``Route`` made here gets a process-unique ``user_data`` id and the native finalizer
  :func:`_on_native_destroyed`. Its shared Python-side state (:class:`_State`: the attached
  ``data`` and the cached identity strings) is stored in ``_STATES[id]`` and indexed by the
  native address in ``_BY_ADDR``.
- The native finalizer runs exactly once, when the native route is destroyed (the last
  reference released, by the registry or by a Python handle), before its memory is freed; it
  removes both entries. So an entry exists exactly while the native route lives, and an
  address found in ``_BY_ADDR`` is always that route (no reuse is possible before removal).
- The table holds the state, never a ``Route`` (which owns a native reference): otherwise the
  route could never be destroyed. The state keeps a weak reference to the live ``Route``
  handle, so a lookup returns that same object while the caller still has it, and otherwise a
  new handle sharing the same state (the same ``data`` object).
- A route made by other code (C, Go) in the same process has no state here: a lookup wraps it
  in a new handle each time (its ``data`` is ``None``).

Do not let the attached ``data`` hold a strong reference to its route (use a weakref): that
cycle passes through C, where Python's garbage collector cannot see it.
"""

from __future__ import annotations

import ctypes
import datetime
import itertools
import threading
import weakref
from typing import Any, Dict, Optional, Tuple, Union

from ._bindings import RR_NOT_FOUND
from ._errors import InvalidArgument, check, error_for, quote
from ._errors import num as _num
from ._managed import Managed
from ._native import FINALIZER, RrStr, keep_forever, lib, read_str
from ._types import HealthInfoWithoutDetail, HealthStatus, Kind, ProxmoxLink

_U64_MAX = (1 << 64) - 1
_U32_MAX = (1 << 32) - 1
_I32_MIN, _I32_MAX = -(1 << 31), (1 << 31) - 1

_ids = itertools.count(1)  # next() is atomic under the GIL
# Both live as long as the process: at exit the native routes are not freed, so their states
# (and the ``data`` attached) stay, rather than meet ``__del__`` methods in a half torn-down
# package (Python does not promise ``__del__`` for objects alive at exit).
_STATES: Dict[int, "_State"] = keep_forever({})  # user_data id -> state; the finalizer removes it
_BY_ADDR: Dict[int, "_State"] = keep_forever({})  # native address -> state (same lifetime)
_WRAP_LOCK = threading.Lock()  # makes "one live handle per route" hold across threads
# Moves whenever a Route handle is closed (or consumed): a registry's cached listings hold
# handles, and serve them only while no handle anywhere was closed since they were checked.
_CLOSES = [0]
_CLOSES_LOCK = threading.Lock()


def _on_native_destroyed(user_data: int) -> None:
    # Runs on whichever thread released the last reference, outside every library lock, before
    # the native memory is freed. Must not take _WRAP_LOCK (it can run inside a GC pass).
    try:
        st = _STATES.pop(user_data, None)
        if st is not None:
            if _BY_ADDR.get(st.addr) is st:
                del _BY_ADDR[st.addr]
            st.addr = 0
    except BaseException:  # late in interpreter shutdown (module globals gone): nothing to do
        pass


# Kept alive for the life of the process, interpreter shutdown included: the library may call
# it at any time.
_FINALIZER = keep_forever(FINALIZER(_on_native_destroyed))


def tracked_routes() -> int:
    """How many native routes made by this binding are alive (for leak checks)."""
    return len(_STATES)


def encode(what: str, value: object) -> bytes:
    """``value`` as UTF-8 for the library; ``TypeError`` for a non-``str``, and
    :class:`InvalidArgument` (naming ``what``, quoting at most 64 characters) for a string
    that is not valid Unicode (lone surrogates, as ``surrogateescape`` makes from bad bytes).
    Every other rule (empty, too long, NUL bytes) is the library's."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidArgument(
            f"{what} {quote(value)} is not valid UTF-8 (at offset {e.start})"
        ) from None


def u32_arg(what: str, value: object) -> int:
    """An enum-typed argument as the library takes it: any ``int`` in the C type's range is
    passed on and checked by the library; beyond it, :class:`InvalidArgument` here (ctypes
    would silently truncate it)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be int, not {type(value).__name__}")
    if not 0 <= value <= _U32_MAX:
        raise InvalidArgument(f"{what} {_num(value)} is out of range (0..{_U32_MAX})")
    return int(value)


def kind_arg(kind: Union[Kind, int, str]) -> int:
    """A route kind: a :class:`Kind`, its name (``"http"``...) or any integer (the library
    rejects unknown ones)."""
    if isinstance(kind, str):
        try:
            return int(Kind[kind.upper()])
        except KeyError:
            raise InvalidArgument(
                f"unknown route kind {quote(kind)} (expected http, stream or excluded)"
            ) from None
    return u32_arg("kind", kind)


def _ns(what: str, value: Union[int, datetime.timedelta]) -> int:
    if isinstance(value, datetime.timedelta):
        ns = (value.days * 86400 + value.seconds) * 1_000_000_000 + value.microseconds * 1000
    elif isinstance(value, int) and not isinstance(value, bool):
        ns = value
    else:
        raise TypeError(f"{what} must be int nanoseconds or timedelta, not {type(value).__name__}")
    if not 0 <= ns <= _U64_MAX:
        raise InvalidArgument(f"{what} {_num(ns)} ns is out of range (0..2**64-1)")
    return ns


class _State:
    """Python-side state shared by every handle on one native route."""

    __slots__ = (
        "ud", "addr", "data", "wref", "kind", "alias", "key", "display_name", "provider",
        "priority", "is_docker", "scheme", "host", "port", "host_port", "addr_str", "url",
        "proxmox", "__weakref__",
    )  # fmt: skip

    def __init__(self, ud: int, addr: int, data: Any = None) -> None:
        self.ud = ud
        self.addr = addr
        self.data = data
        self.wref: Optional["weakref.ReferenceType[Route]"] = None
        self.kind: Optional[Kind] = None
        self.alias: Optional[str] = None
        self.key: Optional[str] = None
        self.display_name: Optional[str] = None
        self.provider: Optional[str] = None
        self.priority: Optional[int] = None
        self.is_docker: Optional[bool] = None
        self.scheme: Optional[str] = None
        self.host: Optional[str] = None
        self.port: Optional[str] = None
        self.host_port: Optional[str] = None
        self.addr_str: Optional[str] = None
        self.url: Optional[str] = None
        self.proxmox: Optional[ProxmoxLink] = None


def _read_str_of(p: int, fn: Any) -> str:
    # The rr_str is borrowed from the route: copy it before the reference can go.
    return read_str(fn(p))


def _release(addr: int) -> None:
    lib.rr_route_release(addr)


class Route(Managed):
    """A route: an immutable record (identity) plus its health, and any Python object you
    attach with ``data=``. Build it with keyword arguments, then add it to a registry; its
    identity is frozen from then on. Lookups give back this same object while you hold it.

    A ``Route`` owns one native reference, released by :meth:`close` (or ``with``), or when
    the object is garbage-collected. A registry or a context holds its own reference, so
    closing a handle does not remove the route from a registry; any use of a closed handle
    raises ``ValueError``.
    """

    __slots__ = ("_st",)
    _what = "route"

    _st: _State

    def __init__(
        self,
        kind: Union[Kind, int, str],
        alias: str,
        url: str = "",
        *,
        key: str = "",
        display_name: str = "",
        provider: str = "",
        priority: int = 0,
        is_docker: bool = False,
        proxmox_node: Optional[str] = None,
        proxmox_vmid: int = 0,
        data: Any = None,
    ) -> None:
        k = kind_arg(kind)
        a = encode("alias", alias)
        u = encode("url", url)
        kb = encode("key", key)
        db = encode("display_name", display_name)
        pb = encode("provider", provider)
        _check_int("priority", priority, _I32_MIN, _I32_MAX)
        if not isinstance(is_docker, bool):
            raise TypeError(f"is_docker must be bool, not {type(is_docker).__name__}")
        nb = None
        if proxmox_node is not None:
            nb = encode("proxmox_node", proxmox_node)
            _check_vmid("proxmox_vmid", proxmox_vmid)
        elif proxmox_vmid:
            raise InvalidArgument("proxmox_vmid needs proxmox_node")

        out = ctypes.c_void_p()
        status = lib.rr_route_new(k, a, len(a), u, len(u), ctypes.byref(out))
        if status:
            raise error_for(status)
        addr: int = out.value  # type: ignore[assignment]
        self._set_handle(addr, _release)
        ud = next(_ids)
        check(lib.rr_route_set_user_data(addr, ud))
        check(lib.rr_route_set_finalizer(addr, _FINALIZER))
        st = _State(ud, addr, data)
        st.wref = weakref.ref(self)
        self._st = st
        _STATES[ud] = st
        _BY_ADDR[addr] = st
        try:
            if kb:
                check(lib.rr_route_set_key(addr, kb, len(kb)))
            if db:
                check(lib.rr_route_set_display_name(addr, db, len(db)))
            if pb:
                check(lib.rr_route_set_provider(addr, pb, len(pb)))
            if priority:
                check(lib.rr_route_set_priority(addr, priority))
            if is_docker:
                check(lib.rr_route_set_docker(addr, True))
            if nb is not None:
                check(lib.rr_route_set_proxmox(addr, nb, len(nb), proxmox_vmid))
        except BaseException:
            self.close()
            raise
        # Known without asking the library (identity cannot change behind our back); the
        # default key and display name are the library's (rr_route_key), read on first use.
        st.kind = Kind(k)
        st.alias = alias
        st.provider = provider
        st.priority = priority
        st.is_docker = is_docker

    # -- handles -------------------------------------------------------------------------

    @classmethod
    def _adopt(cls, addr: int, st: _State) -> "Route":
        """A handle owning the new reference ``addr``."""
        self = object.__new__(cls)
        self._st = st
        self._set_handle(addr, _release)
        return self

    def close(self) -> None:
        """Releases this handle's native reference (idempotent). The route stays in any
        registry or context holding it; this handle raises ``ValueError`` from then on."""
        Managed.close(self)

    def _on_close(self) -> None:
        with _CLOSES_LOCK:
            _CLOSES[0] += 1

    # -- identity ------------------------------------------------------------------------

    @property
    def data(self) -> Any:
        """The Python object attached to the route (shared by every handle on it)."""
        self._check()
        return self._st.data

    @data.setter
    def data(self, value: Any) -> None:
        self._check()
        self._st.data = value

    @property
    def user_data(self) -> int:
        """The native ``user_data`` (this binding's id for the route; 0 for foreign routes)."""
        return int(self._call(lib.rr_route_user_data))

    @property
    def kind(self) -> Kind:
        """Which pool the route belongs to."""
        st = self._st
        v = st.kind
        if v is None:
            v = st.kind = Kind(self._call(lib.rr_route_kind))
        else:
            self._check()
        return v

    def _str(self, slot: str, fn: Any) -> str:
        """A string field: cached in the shared state after the first read. The fast path
        (cached, handle open) is inlined in each property."""
        if self._ptr is None:
            self._check()
        st = self._st
        v: Optional[str] = getattr(st, slot)
        if v is None:
            v = self._call(_read_str_of, fn)  # copied while the handle is held
            setattr(st, slot, v)
        return v

    @property
    def alias(self) -> str:
        """The route's name."""
        v = self._st.alias
        if v is None or self._ptr is None:
            v = self._str("alias", lib.rr_route_alias)
        return v

    @property
    def key(self) -> str:
        """Its key in the pool (the alias unless set)."""
        v = self._st.key
        if v is None or self._ptr is None:
            v = self._str("key", lib.rr_route_key)
        return v

    @property
    def display_name(self) -> str:
        """The name used in log lines (the alias unless set)."""
        v = self._st.display_name
        if v is None or self._ptr is None:
            v = self._str("display_name", lib.rr_route_display_name)
        return v

    @property
    def provider(self) -> str:
        """The provider's name (may be empty)."""
        v = self._st.provider
        if v is None or self._ptr is None:
            v = self._str("provider", lib.rr_route_provider)
        return v

    @property
    def priority(self) -> int:
        """The priority: an added route replaces a live one only if its priority is at least
        that one's."""
        st = self._st
        if st.priority is None:
            st.priority = int(self._call(lib.rr_route_priority))
        else:
            self._check()
        return st.priority

    @property
    def is_docker(self) -> bool:
        """Whether the route comes from Docker (never linked to Proxmox)."""
        st = self._st
        if st.is_docker is None:
            st.is_docker = bool(self._call(lib.rr_route_is_docker))
        else:
            self._check()
        return st.is_docker

    @property
    def frozen(self) -> bool:
        """Whether the route has been added to a registry (its identity can no longer change)."""
        return bool(self._call(lib.rr_route_is_frozen))

    @property
    def upstream_scheme(self) -> str:
        """Go's ``u.Scheme``."""
        v = self._st.scheme
        if v is None or self._ptr is None:
            v = self._str("scheme", lib.rr_route_upstream_scheme)
        return v

    @property
    def upstream_host(self) -> str:
        """Go's ``u.Hostname()``: no port, no IPv6 brackets."""
        v = self._st.host
        if v is None or self._ptr is None:
            v = self._str("host", lib.rr_route_upstream_host)
        return v

    @property
    def upstream_port(self) -> str:
        """Go's ``u.Port()`` (empty when absent)."""
        v = self._st.port
        if v is None or self._ptr is None:
            v = self._str("port", lib.rr_route_upstream_port)
        return v

    @property
    def upstream_host_port(self) -> str:
        """Go's ``u.Host``."""
        v = self._st.host_port
        if v is None or self._ptr is None:
            v = self._str("host_port", lib.rr_route_upstream_host_port)
        return v

    @property
    def upstream_addr(self) -> str:
        """Go's ``u.Host`` (``TryGetUpstreamAddr`` in GoDoxy's ``routes`` package)."""
        v = self._st.addr_str
        if v is None or self._ptr is None:
            v = self._str("addr_str", lib.rr_route_upstream_addr)
        return v

    @property
    def upstream_url(self) -> str:
        """Go's ``u.String()``."""
        v = self._st.url
        if v is None or self._ptr is None:
            v = self._str("url", lib.rr_route_upstream_url)
        return v

    @property
    def proxmox(self) -> Optional[ProxmoxLink]:
        """The Proxmox link (explicit, or found from the registry's inventory when added), or
        ``None``."""
        st = self._st
        if st.proxmox is not None:
            self._check()
            return st.proxmox
        p = self._use()
        try:
            node, vmname, vmid = RrStr(), RrStr(), ctypes.c_int32()
            status = lib.rr_route_proxmox(
                p, ctypes.byref(node), ctypes.byref(vmid), ctypes.byref(vmname)
            )
            if status == RR_NOT_FOUND:  # no link
                return None
            check(status)
            link = ProxmoxLink(read_str(node), vmid.value, read_str(vmname))
            if lib.rr_route_is_frozen(p):  # the link is fixed once added
                st.proxmox = link
            return link
        finally:
            self._done()

    # -- identity setters (before the route is added; then Frozen) -----------------------

    def _set_str(self, fn: Any, what: str, value: str, slots: Tuple[str, ...]) -> None:
        b = encode(what, value)
        check(self._call(fn, b, len(b)))
        for slot in slots:  # read back from the library on next use (it applies defaults)
            setattr(self._st, slot, None)

    def set_key(self, key: str) -> None:
        """Sets the key ("" resets it to the alias). Raises :class:`Frozen` once added."""
        self._set_str(lib.rr_route_set_key, "key", key, ("key",))

    def set_display_name(self, name: str) -> None:
        """Sets the display name ("" resets it to the alias). :class:`Frozen` once added."""
        self._set_str(lib.rr_route_set_display_name, "display_name", name, ("display_name",))

    def set_provider(self, provider: str) -> None:
        """Sets the provider's name. :class:`Frozen` once added."""
        self._set_str(lib.rr_route_set_provider, "provider", provider, ("provider",))

    def set_priority(self, priority: int) -> None:
        """Sets the priority (a 32-bit signed integer). :class:`Frozen` once added."""
        _check_int("priority", priority, _I32_MIN, _I32_MAX)
        check(self._call(lib.rr_route_set_priority, priority))
        self._st.priority = priority

    def set_docker(self, is_docker: bool) -> None:
        """Marks the route as coming from Docker. :class:`Frozen` once added."""
        if not isinstance(is_docker, bool):
            raise TypeError(f"is_docker must be bool, not {type(is_docker).__name__}")
        check(self._call(lib.rr_route_set_docker, is_docker))
        self._st.is_docker = is_docker

    def set_proxmox(self, node: str, vmid: int = 0) -> None:
        """Links the route to Proxmox ``node`` and VM ``vmid`` (0: the node itself)."""
        b = encode("proxmox node", node)
        _check_vmid("proxmox vmid", vmid)
        check(self._call(lib.rr_route_set_proxmox, b, len(b), vmid))

    # -- health --------------------------------------------------------------------------

    def set_health(
        self,
        status: Union[HealthStatus, int, str],
        uptime: Union[int, datetime.timedelta] = 0,
        latency: Union[int, datetime.timedelta] = 0,
        detail: Union[str, bytes] = "",
    ) -> None:
        """Records the route's health (any thread, any time). ``status`` is a
        :class:`HealthStatus`, its number or its label (``"healthy"``); ``uptime``/``latency``
        are integer nanoseconds or ``timedelta``; ``detail`` is text or raw bytes."""
        if isinstance(status, str):
            s = int(HealthStatus.from_label(status.lower()))
        else:
            s = u32_arg("health status", status)
        up = _ns("uptime", uptime)
        lat = _ns("latency", latency)
        if isinstance(detail, str):
            d = encode("detail", detail)
        elif isinstance(detail, (bytes, bytearray)):
            d = bytes(detail)
        else:
            raise TypeError(f"detail must be str or bytes, not {type(detail).__name__}")
        check(self._call(lib.rr_route_set_health, s, up, lat, d, len(d)))

    @property
    def health_status(self) -> HealthStatus:
        """The current health status."""
        return HealthStatus(self._call(lib.rr_route_health_status))

    @property
    def health(self) -> HealthInfoWithoutDetail:
        """Status, uptime and latency (the detail is in the registry's health info)."""
        s, up, lat = ctypes.c_uint32(), ctypes.c_uint64(), ctypes.c_uint64()
        check(self._call(lib.rr_route_health, ctypes.byref(s), ctypes.byref(up), ctypes.byref(lat)))
        return HealthInfoWithoutDetail(HealthStatus(s.value), up.value, lat.value)

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<Route (closed)>"
        try:
            return (
                f"Route({self.kind.name.lower()!r}, {self.alias!r}, {self.upstream_url!r}, "
                f"key={self.key!r}, provider={self.provider!r})"
            )
        except ValueError:  # closed by another thread meanwhile
            return "<Route (closed)>"


def _check_int(what: str, value: object, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be int, not {type(value).__name__} ({value!r:.40})")
    if not lo <= value <= hi:
        raise InvalidArgument(f"{what} {_num(value)} is out of range ({lo}..{hi})")


def _check_vmid(what: str, value: object) -> None:
    """A Proxmox VM id: the library takes 0 (the node itself) to 2**31-1 and refuses a
    negative one with its own message; beyond the C type, refused here with that range."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be int, not {type(value).__name__} ({value!r:.40})")
    if not _I32_MIN <= value <= _I32_MAX:
        raise InvalidArgument(
            f"{what} {_num(value)} is out of range (0..{_I32_MAX}; 0 links the node itself)"
        )


def from_new_ref(addr: int) -> Route:
    """The ``Route`` for a native reference we now own (from a lookup): the live handle of
    this route if there is one (then our extra reference is released), else a new handle."""
    st = _BY_ADDR.get(addr)
    if st is not None:
        w = st.wref
        r = w() if w is not None else None
        if r is not None and r._ptr is not None:
            lib.rr_route_release(addr)
            return r
        with _WRAP_LOCK:
            w = st.wref
            r = w() if w is not None else None
            if r is not None and r._ptr is not None:
                lib.rr_route_release(addr)
                return r
            r = Route._adopt(addr, st)
            st.wref = weakref.ref(r)
            return r
    # Not made by this binding (or made before a finalizer could be set): a fresh handle.
    return Route._adopt(addr, _State(0, addr))


def from_borrowed(addr: int) -> Route:
    """The ``Route`` for a borrowed native pointer (iteration): no reference taken unless a new
    handle is needed."""
    st = _BY_ADDR.get(addr)
    if st is not None:
        w = st.wref
        r = w() if w is not None else None
        if r is not None and r._ptr is not None:
            return r
    return from_new_ref(lib.rr_route_retain(addr))
