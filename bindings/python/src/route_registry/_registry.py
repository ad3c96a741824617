"""``Registry`` and its pools.

Lookups are cached on the Python side: one ctypes call costs more (400-700 ns) than a whole
dict lookup, so a hit must not cross into C when nothing changed. Each registry reads the
library's generation counter (bumped after every mutation becomes visible) through one
``ctypes.c_uint64.from_address`` object. A lookup reads the counter *before* the native
lookup and tags the cached entry with that value; an entry is served only while the counter
still equals its tag, so a stale entry is never returned. Health updates do not bump the
counter, and health is never cached.
"""

from __future__ import annotations

import ctypes
import json
import itertools
import threading
from collections.abc import Mapping
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Tuple,
    TypeVar,
    Union,
)

from . import _bindings as B
from ._bindings import RR_INVALID_ARGUMENT, RR_KEPT, RR_NOT_FOUND, RR_OK, RR_PANIC
from ._errors import InvalidArgument, NotFound, check, error_for, quote
from ._managed import Managed
from ._native import VISITOR, lib, read_str, take_json
from ._route import _BY_ADDR, Route, encode, from_borrowed, from_new_ref, kind_arg, u32_arg
from ._types import HealthInfo, HealthInfoWithoutDetail, HealthStatus, Kind

T = TypeVar("T")

#: Health JSON formats (``RR_HEALTH_*``).
HEALTH_FULL = B.RR_HEALTH_FULL
HEALTH_WITHOUT_DETAIL = B.RR_HEALTH_WITHOUT_DETAIL
HEALTH_SIMPLE = B.RR_HEALTH_SIMPLE

# A cache larger than this is dropped (bounds memory when callers look up many unknown keys).
_CACHE_LIMIT = 1 << 16

# Read by the fast path of a closed registry: matches no cache tag, so the slow path runs and
# raises. Never a real generation (the counter would need 2**64 - 1 mutations).
_CLOSED_GEN = ctypes.c_uint64((1 << 64) - 1)


def _free_registry(addr: int) -> None:
    lib.rr_registry_free(addr)


class _Snapshot:
    """The routes an iteration visited, with their keys read while the library lent them
    (a handle in it may be closed by another thread afterwards: the keys stay readable)."""

    __slots__ = ("routes", "keys")

    def __init__(self, routes: Tuple[Route, ...], keys: Tuple[str, ...]) -> None:
        self.routes = routes
        self.keys = keys


def _key_of(addr: int) -> str:
    st = _BY_ADDR.get(addr)
    k = st.key if st is not None else None
    return k if k is not None else read_str(lib.rr_route_key(addr))


def _collect(iterate: Callable[[Any, Any], int]) -> _Snapshot:
    """Runs a native iteration and returns the visited routes as Python handles."""
    out: List[Route] = []
    keys: List[str] = []
    errors: List[BaseException] = []

    def visit(addr: int, _ud: Any) -> bool:
        try:
            keys.append(_key_of(addr))
            out.append(from_borrowed(addr))
            return True
        except BaseException as e:  # never let an exception cross the C frames
            errors.append(e)
            return False

    cb = VISITOR(visit)
    iterate(cb, None)
    if errors:
        raise errors[0]
    return _Snapshot(tuple(out), tuple(keys))


def _by_provider(reg: int) -> Tuple[Tuple[str, Route], ...]:
    """(provider, route) in the library's by-provider order; the provider is read while the
    library lends the route (a handle may be closed by another thread meanwhile)."""
    out: List[Tuple[str, Route]] = []
    errors: List[BaseException] = []

    def visit(addr: int, _ud: Any) -> bool:
        try:
            out.append((read_str(lib.rr_route_provider(addr)), from_borrowed(addr)))
            return True
        except BaseException as e:  # never let an exception cross the C frames
            errors.append(e)
            return False

    lib.rr_iter_by_provider(reg, VISITOR(visit), None)
    if errors:
        raise errors[0]
    return tuple(out)


def _all_open(v: Any) -> bool:
    if isinstance(v, Route):
        return v._ptr is not None
    if isinstance(v, _Snapshot):
        return all(r._ptr is not None for r in v.routes)
    if isinstance(v, tuple):
        return all((r[1] if isinstance(r, tuple) else r)._ptr is not None for r in v)
    return True


def _key_arg(key: object) -> bytes:
    return encode("key", key)


def _lookup_key(key: object) -> Optional[bytes]:
    """A lookup key as UTF-8, or ``None`` when it cannot be one (lone surrogates): such a key
    is absent, as the library answers NULL for a key that is not UTF-8."""
    if not isinstance(key, str):
        raise TypeError(f"key must be str, not {type(key).__name__}")
    try:
        return key.encode("utf-8")
    except UnicodeEncodeError:
        return None


class Pool(Mapping):  # type: ignore[type-arg]
    """One pool of a registry (HTTP, STREAM or EXCLUDED): key -> route.

    A read-only ``Mapping`` of its live routes (``pool["key"]``, ``in``, ``len``, iteration
    over keys) plus the pool methods of GoDoxy's ``routes`` package. ``size()`` counts live
    routes only (tombstones are not counted, unlike the Go pool). A pool holds its registry:
    ``pool = Registry().http`` keeps the registry alive for as long as ``pool`` is.
    """

    __slots__ = ("kind", "_reg", "__weakref__")

    def __init__(self, reg: "Registry", kind: Kind) -> None:
        self.kind = kind
        self._reg = reg  # strong: the registry lives at least as long as its pools

    @property
    def registry(self) -> "Registry":
        """The registry this pool belongs to."""
        return self._reg

    def get(self, key: str, default: Any = None) -> Any:
        """The live route with ``key``, or ``default``."""
        reg = self._reg
        gen = reg._gen.value
        e = reg._memo.get((self.kind, key))
        if e is not None and e[0] == gen and (e[1] is None or e[1]._ptr is not None):
            r = e[1]
        else:
            b = _lookup_key(key)
            if b is None:
                reg._check()
                return default
            kind = self.kind
            r = reg._lookup((kind, key), lambda p: lib.rr_pool_get(p, kind, b, len(b)))
        return default if r is None else r

    def __getitem__(self, key: str) -> Route:
        r = self.get(key)
        if r is None:
            raise NotFound(f"no {self.kind.name} route with key {quote(key)}", RR_NOT_FOUND)
        return r  # type: ignore[no-any-return]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return self.size()

    def __iter__(self) -> Iterator[str]:
        return iter(self._snapshot().keys)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pool) and other._reg is self._reg and other.kind == self.kind

    def __hash__(self) -> int:
        return hash((id(self._reg), self.kind))

    def size(self) -> int:
        """The number of live routes."""
        kind = self.kind
        return self._reg._memoized(("size", kind), lambda p: int(lib.rr_pool_size(p, kind)))

    def _snapshot(self) -> _Snapshot:
        kind = self.kind
        return self._reg._memoized(
            ("iter", kind), lambda p: _collect(lambda cb, ud: lib.rr_pool_iter(p, kind, cb, ud))
        )

    def routes(self) -> Tuple[Route, ...]:
        """A snapshot of the live routes (in no particular order)."""
        return self._snapshot().routes

    def values(self) -> Tuple[Route, ...]:  # type: ignore[override]
        """The live routes (a snapshot, as :meth:`routes`)."""
        return self.routes()

    def items(self) -> List[Tuple[str, Route]]:  # type: ignore[override]
        """``(key, route)`` for the live routes (a snapshot)."""
        snap = self._snapshot()
        return list(zip(snap.keys, snap.routes))

    def keys(self) -> List[str]:  # type: ignore[override]
        """The keys of the live routes (a snapshot)."""
        return list(self._snapshot().keys)

    def sorted(self) -> List[Route]:
        """The live routes sorted by alias, then key (``Slice`` in GoDoxy's ``routes``)."""
        kind = self.kind
        return list(
            self._reg._memoized(
                ("sorted", kind),
                lambda p: _collect(lambda cb, ud: lib.rr_pool_iter_sorted(p, kind, cb, ud)),
            ).routes
        )

    slice = sorted

    def _check_kind(self, route: Route) -> None:
        if isinstance(route, Route) and route.kind != self.kind:
            raise ValueError(
                f"route {quote(route.alias)} is a {route.kind.name} route; "
                f"it cannot go to the {self.kind.name} pool"
            )

    def add(self, route: Route, *, raise_if_kept: bool = False) -> bool:
        """Adds (or replaces, or reloads) ``route``. ``True`` when it is now registered;
        ``False`` when a live route with the same key and a higher priority stays (or raises
        :class:`Kept` with ``raise_if_kept=True``)."""
        self._check_kind(route)
        return self._reg.add(route, raise_if_kept=raise_if_kept)

    def add_if_not_exists(self, route: Route) -> Tuple[Route, bool]:
        """Adds ``route`` only if no live route has its key. Returns ``(actual, added)``: the
        route now registered under the key, and whether it is ``route``."""
        self._check_kind(route)
        return self._reg.add_if_not_exists(route)

    def delete(self, key: Union[str, Route], *, missing_ok: bool = False) -> bool:
        """Deletes the live route with ``key`` (or with that route's key). Raises
        :class:`NotFound` (a ``KeyError``) when absent, unless ``missing_ok``; returns whether
        a route was deleted."""
        if isinstance(key, Route):
            key = key.key
        return self._reg._del_key(int(self.kind), key, missing_ok)

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def clear(self) -> None:
        """Removes every route of this pool (tombstones included)."""
        reg = self._reg
        p = reg._use()
        try:
            lib.rr_pool_clear(p, self.kind)
        finally:
            reg._done()
        reg._drop_caches()

    def __repr__(self) -> str:
        if self._reg.closed:
            return f"<Pool {self.kind.name} (registry closed)>"
        return f"<Pool {self.kind.name} size={self.size()}>"


_registry_ids = itertools.count(1)


class Registry(Managed, Mapping):  # type: ignore[type-arg]
    """A route registry: three pools (``http``, ``stream``, ``excluded``).

    As a ``Mapping`` it shows the **active** routes (HTTP, then STREAM): ``reg["key"]``
    (``KeyError`` when absent), ``get``, ``in``, ``len`` (= ``num_active_routes()``) and
    iteration over their keys (a key held by both an HTTP and a STREAM route is listed twice;
    lookups return the HTTP one). Registries compare by identity.

    ``Registry()`` makes an independent registry, freed by :meth:`close` (or ``with``, or
    garbage collection once neither it nor any of its pools is referenced);
    ``Registry.global_()`` is the process-wide one (never freed). Routes you hold stay valid
    after their registry is freed; any use of a closed registry (or its pools) raises
    ``ValueError``.
    """

    __slots__ = (
        "_gen",
        "_seen_gen",
        "_get_cache",
        "_memo",
        "_global",
        "http",
        "stream",
        "excluded",
    )
    _what = "registry"

    _global_instance: Optional["Registry"] = None
    _global_lock = threading.Lock()

    def __init__(self) -> None:
        addr = lib.rr_registry_new()
        if not addr:
            raise error_for(RR_PANIC)
        self._setup(addr, is_global=False)

    def _setup(self, addr: int, is_global: bool) -> None:
        self._global = is_global
        # One object, created once, read with .value: an aligned 8-byte load. Reading
        # ``self._gen.value`` is one expression with no Python call inside, so the GIL is not
        # released between fetching the cell and reading it: close() swaps in _CLOSED_GEN
        # before it frees the registry, and a reader sees one or the other.
        self._gen = ctypes.c_uint64.from_address(lib.rr_generation_ptr(addr))
        self._seen_gen = -1
        self._get_cache: Dict[str, Tuple[int, Optional[Route]]] = {}
        self._memo: Dict[Any, Tuple[int, Any]] = {}
        self._set_handle(addr, None if is_global else _free_registry)
        # The pools and the registry reference each other (a pool holds its registry): a
        # registry dropped without close() is freed by the cyclic garbage collector.
        #: The HTTP pool.
        self.http = Pool(self, Kind.HTTP)
        #: The STREAM pool.
        self.stream = Pool(self, Kind.STREAM)
        #: The EXCLUDED pool.
        self.excluded = Pool(self, Kind.EXCLUDED)

    @classmethod
    def global_(cls) -> "Registry":
        """The process-wide registry (one Python object; :meth:`close` is a no-op on it)."""
        g = cls._global_instance
        if g is None:
            with cls._global_lock:
                g = cls._global_instance
                if g is None:
                    g = object.__new__(cls)
                    g._setup(lib.rr_registry_global(), is_global=True)
                    cls._global_instance = g
        return g

    @property
    def is_global(self) -> bool:
        """Whether this is the process-wide registry."""
        return self._global

    def close(self) -> None:
        """Frees the registry (idempotent; a no-op for the global one). Routes you still hold
        stay valid; the registry and its pools raise ``ValueError`` from then on. Safe while
        another thread uses it: the native registry is freed when that call returns."""
        if self._global:
            return
        Managed.close(self)

    def _on_close(self) -> None:
        self._gen = _CLOSED_GEN
        self._drop_caches()

    # -- pools ---------------------------------------------------------------------------

    def pool(self, kind: Union[Kind, int, str]) -> Pool:
        """The pool of ``kind`` (a :class:`Kind`, its number or its name)."""
        k = kind if isinstance(kind, Kind) else None
        if k is None:
            n = kind_arg(kind)
            if n not in Kind._value2member_map_:
                raise InvalidArgument(
                    f"route kind {n} is not one of "
                    + ", ".join(f"{int(m)} ({m.name.lower()})" for m in Kind)
                )
            k = Kind(n)
        return self.http if k is Kind.HTTP else self.stream if k is Kind.STREAM else self.excluded

    # -- caches --------------------------------------------------------------------------

    def _observe(self, gen: int) -> None:
        """Drops every cached entry when the generation moved (their tags can never match
        again; dropping them releases their native references)."""
        if gen != self._seen_gen:
            self._seen_gen = gen
            self._get_cache.clear()
            self._memo.clear()
        elif len(self._get_cache) > _CACHE_LIMIT:
            self._get_cache.clear()

    def _drop_caches(self) -> None:
        self._get_cache.clear()
        self._memo.clear()

    def _memoized(self, name: Any, compute: Callable[[int], T]) -> T:
        """``compute(handle)``, cached until the next mutation."""
        gen = self._gen.value  # before the native work
        e = self._memo.get(name)
        if e is not None and e[0] == gen and _all_open(e[1]):
            return e[1]  # type: ignore[no-any-return]
        p = self._use()
        try:
            self._observe(gen)
            v = compute(p)
        finally:
            self._done()
        self._memo[name] = (gen, v)
        return v

    def _lookup(self, name: Any, fetch: Callable[[int], Optional[int]]) -> Optional[Route]:
        gen = self._gen.value
        e = self._memo.get(name)
        if e is not None and e[0] == gen and (e[1] is None or e[1]._ptr is not None):
            return e[1]  # type: ignore[no-any-return]
        p = self._use()
        try:
            self._observe(gen)
            addr = fetch(p)
        finally:
            self._done()
        r = from_new_ref(addr) if addr else None
        self._memo[name] = (gen, r)
        return r

    # -- lookups -------------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """The live HTTP route with ``key``, else the STREAM one (never EXCLUDED), or
        ``default``."""
        gen = self._gen.value  # read BEFORE the native lookup
        e = self._get_cache.get(key)
        if e is not None and e[0] == gen and (e[1] is None or e[1]._ptr is not None):
            r = e[1]
            return default if r is None else r
        return self._get_slow(key, gen, default)

    def _get_slow(self, key: str, gen: int, default: Any) -> Any:
        b = _lookup_key(key)
        if b is None:
            self._check()
            return default
        p = self._use()
        try:
            addr = lib.rr_get(p, b, len(b))
            self._observe(gen)
        finally:
            self._done()
        r = from_new_ref(addr) if addr else None
        self._get_cache[key] = (gen, r)
        return default if r is None else r

    def __getitem__(self, key: str) -> Route:
        e = self._get_cache.get(key)
        if e is not None and e[0] == self._gen.value and e[1] is not None and e[1]._ptr is not None:
            return e[1]
        r = self.get(key)
        if r is None:
            raise NotFound(f"no active route with key {quote(key)}", RR_NOT_FOUND)
        return r  # type: ignore[no-any-return]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return self.num_active_routes()

    def __iter__(self) -> Iterator[str]:
        return iter(self._active().keys)

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def keys(self) -> List[str]:  # type: ignore[override]
        """The keys of the active routes (a snapshot)."""
        return list(self._active().keys)

    def values(self) -> Tuple[Route, ...]:  # type: ignore[override]
        """The active routes (a snapshot, as :meth:`iter_active`)."""
        return self.iter_active()

    def items(self) -> List[Tuple[str, Route]]:  # type: ignore[override]
        """``(key, route)`` for the active routes (a snapshot)."""
        snap = self._active()
        return list(zip(snap.keys, snap.routes))

    def get_include_excluded(self, key: str, default: Any = None) -> Any:
        """As :meth:`get`, then the EXCLUDED pool."""
        b = _lookup_key(key)
        if b is None:
            self._check()
            return default
        r = self._lookup(("gie", key), lambda p: lib.rr_get_include_excluded(p, b, len(b)))
        return default if r is None else r

    def get_http_route_or_exact(self, alias: str, host: str) -> Optional[Route]:
        """The HTTP route keyed ``alias``, else the HTTP route keyed ``host``."""
        a = _lookup_key(alias)
        h = _lookup_key(host)
        if a is None or h is None:  # not UTF-8: absent, as the library answers
            self._check()
            return None
        return self._lookup(
            ("ghe", alias, host),
            lambda p: lib.rr_get_http_route_or_exact(p, a, len(a), h, len(h)),
        )

    def _active(self) -> _Snapshot:
        return self._memoized(
            "active", lambda p: _collect(lambda cb, ud: lib.rr_iter_active(p, cb, ud))
        )

    def iter_active(self) -> Tuple[Route, ...]:
        """A snapshot of the live HTTP routes, then the STREAM ones."""
        return self._active().routes

    def iter_all(self) -> Tuple[Route, ...]:
        """A snapshot of the live HTTP, STREAM and EXCLUDED routes."""
        return self._memoized(
            "all", lambda p: _collect(lambda cb, ud: lib.rr_iter_all(p, cb, ud))
        ).routes

    def num_active_routes(self) -> int:
        """The number of live HTTP and STREAM routes."""
        return self._memoized("nactive", lambda p: int(lib.rr_num_active_routes(p)))

    def num_all_routes(self) -> int:
        """The number of live routes in all three pools."""
        return self._memoized("nall", lambda p: int(lib.rr_num_all_routes(p)))

    @property
    def generation(self) -> int:
        """The library's change counter (moves on every add, delete, clear, inventory load)."""
        self._check()
        return int(self._gen.value)

    # -- mutations -----------------------------------------------------------------------

    def _with_route(self, route: object, fn: Callable[[int, Optional[int]], T]) -> T:
        """``fn(registry handle, route handle)`` with both kept valid for the call. ``None``
        passes NULL, which the library rejects with its own message."""
        if route is not None and not isinstance(route, Route):
            raise TypeError(f"expected a Route, not {type(route).__name__}")
        p = self._use()
        try:
            if route is None:
                return fn(p, None)
            rp = route._use()
            try:
                return fn(p, rp)
            finally:
                route._done()
        finally:
            self._done()

    def add(self, route: Route, *, raise_if_kept: bool = False) -> bool:
        """Adds ``route`` to the pool of its kind (replacing a live route of lower or equal
        priority, or reloading a key deleted less than 1 s ago); its identity is then frozen.
        Returns ``False`` when an existing route of higher priority stays (``route`` is then
        neither registered nor frozen), or raises :class:`Kept` with ``raise_if_kept``."""
        status = self._with_route(route, lambda p, rp: lib.rr_add(p, rp))
        if status == RR_KEPT:
            e = error_for(status)
            if raise_if_kept:
                raise e
            return False
        check(status)
        return True

    def add_if_not_exists(self, route: Route) -> Tuple[Route, bool]:
        """Adds ``route`` only if no live route has its key. Returns ``(actual, added)``."""
        out = ctypes.c_void_p()
        status = self._with_route(
            route, lambda p, rp: lib.rr_add_if_not_exists(p, rp, ctypes.byref(out))
        )
        if status not in (RR_OK, RR_KEPT):
            raise error_for(status)
        actual = from_new_ref(out.value) if out.value else route
        return actual, status == RR_OK

    def _del_key(self, kind: int, key: str, missing_ok: bool) -> bool:
        b = _key_arg(key)
        p = self._use()
        try:
            status = lib.rr_del_key(p, kind, b, len(b))
            e = error_for(status) if status else None  # read the message on this thread now
        finally:
            self._done()
        self._drop_caches()
        if e is None:
            return True
        if status == RR_NOT_FOUND and missing_ok:
            return False
        raise e

    def delete(self, route: Union[Route, str], *, missing_ok: bool = False) -> bool:
        """Deletes the live route with ``route``'s key from ``route``'s pool, or, for a
        ``str`` key, from the first of HTTP, STREAM and EXCLUDED that has one (each a single
        library call). Raises :class:`NotFound` when absent unless ``missing_ok``; returns
        whether a route was deleted."""
        if isinstance(route, str):
            for kind in (Kind.HTTP, Kind.STREAM, Kind.EXCLUDED):
                try:
                    return self._del_key(int(kind), route, missing_ok=False)
                except NotFound:
                    if kind == Kind.EXCLUDED:
                        if missing_ok:
                            return False
                        raise NotFound(f"no route with key {quote(route)}", RR_NOT_FOUND) from None
            raise AssertionError("unreachable")
        status = self._with_route(route, lambda p, rp: lib.rr_del(p, rp))
        e = error_for(status) if status else None
        self._drop_caches()
        if e is None:
            return True
        if status == RR_NOT_FOUND and missing_ok:
            return False
        raise e

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def clear(self) -> None:
        """Empties all three pools (tombstones included)."""
        p = self._use()
        try:
            lib.rr_clear(p)
        finally:
            self._done()
        self._drop_caches()

    def purge_tombstones(self) -> int:
        """Removes tombstones older than 1 s now; returns how many."""
        p = self._use()
        try:
            return int(lib.rr_purge_tombstones(p))
        finally:
            self._done()

    def load_proxmox_inventory(self, inventory: Union[str, bytes, Mapping]) -> None:  # type: ignore[type-arg]
        """Replaces the Proxmox inventory (JSON text, or a dict that is JSON-encoded):
        ``{"nodes": [{"name", "ip"}], "resources": [{"node", "vmid", "name", "ips"}]}``.
        Applies to routes added afterwards. Raises :class:`InvalidArgument` (the old
        inventory stays)."""
        if isinstance(inventory, Mapping):
            b = json.dumps(inventory).encode()
        elif isinstance(inventory, str):
            b = encode("inventory", inventory)
        elif isinstance(inventory, (bytes, bytearray)):
            b = bytes(inventory)
        else:
            raise TypeError(
                f"inventory must be JSON text or a dict, not {type(inventory).__name__}"
            )
        p = self._use()
        try:
            status = lib.rr_proxmox_load_json(p, b, len(b))
            e = error_for(status) if status else None
        finally:
            self._done()
        self._drop_caches()
        if e is not None:
            raise e

    # -- health and grouping -------------------------------------------------------------

    def _json(self, fn: Callable[[int], Optional[int]]) -> str:
        p = self._use()
        try:
            raw = fn(p)
            e = None if raw else error_for(RR_INVALID_ARGUMENT)
        finally:
            self._done()
        if e is not None:
            raise e
        s = take_json(raw)
        assert s is not None
        return s

    def health_json(self, format: int = HEALTH_FULL) -> str:
        """The health JSON exactly as the library renders it (byte-identical to Go's
        ``encoding/json``): ``format`` is ``HEALTH_FULL``, ``HEALTH_WITHOUT_DETAIL`` or
        ``HEALTH_SIMPLE``. An unknown format raises :class:`InvalidArgument`."""
        f = u32_arg("health format", format)
        return self._json(lambda p: lib.rr_health_json(p, f))

    def health_info(self) -> Dict[str, HealthInfo]:
        """alias -> :class:`HealthInfo` over all three pools."""
        raw = json.loads(self.health_json(HEALTH_FULL))
        lab = HealthStatus.from_label
        return {
            a: HealthInfo(lab(v["status"]), v["uptime"], v["latency"], v["detail"])
            for a, v in raw.items()
        }

    def health_info_without_detail(self) -> Dict[str, HealthInfoWithoutDetail]:
        """alias -> :class:`HealthInfoWithoutDetail` over all three pools."""
        raw = json.loads(self.health_json(HEALTH_WITHOUT_DETAIL))
        lab = HealthStatus.from_label
        return {
            a: HealthInfoWithoutDetail(lab(v["status"]), v["uptime"], v["latency"])
            for a, v in raw.items()
        }

    def health_info_simple(self) -> Dict[str, HealthStatus]:
        """alias -> :class:`HealthStatus` over all three pools."""
        raw = json.loads(self.health_json(HEALTH_SIMPLE))
        lab = HealthStatus.from_label
        return {a: lab(v) for a, v in raw.items()}

    def by_provider_json(self) -> str:
        """``{"provider": ["key", ...]}`` as the library renders it (sorted)."""
        return self._json(lambda p: lib.rr_by_provider_json(p))

    def by_provider(self) -> Dict[str, List[Route]]:
        """provider -> its routes over all three pools, in the library's order: providers
        sorted, each list by key, then pool (as :meth:`by_provider_json`)."""
        pairs = self._memoized("by_provider", _by_provider)
        out: Dict[str, List[Route]] = {}
        last: Optional[List[Route]] = None
        last_provider: Optional[str] = None
        for provider, r in pairs:  # consecutive routes share a provider
            if last is None or provider != last_provider:
                last = out[provider] = []
                last_provider = provider
            last.append(r)
        return out

    def __repr__(self) -> str:
        if self.closed:
            return "<Registry (closed)>"
        kind = "global " if self._global else ""
        try:
            return (
                f"<{kind}Registry http={self.http.size()} stream={self.stream.size()} "
                f"excluded={self.excluded.size()}>"
            )
        except ValueError:
            return "<Registry (closed)>"


def global_registry() -> Registry:
    """The process-wide registry."""
    return Registry.global_()
