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
import threading
import weakref
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

from ._errors import RR_KEPT, RR_NOT_FOUND, NotFound, check, error_for
from ._native import VISITOR, lib, take_json
from ._route import Route, encode, from_borrowed, from_new_ref
from ._types import HealthInfo, HealthInfoWithoutDetail, HealthStatus, Kind

T = TypeVar("T")

#: Health JSON formats (``RR_HEALTH_*``).
HEALTH_FULL, HEALTH_WITHOUT_DETAIL, HEALTH_SIMPLE = 0, 1, 2

# A cache larger than this is dropped (bounds memory when callers look up many unknown keys).
_CACHE_LIMIT = 1 << 16

# Read by the fast path of a closed registry: matches no cache tag, so the slow path runs and
# raises. Never a real generation (the counter would need 2**64 - 1 mutations).
_CLOSED_GEN = ctypes.c_uint64((1 << 64) - 1)


def _free_registry(addr: int) -> None:
    lib.rr_registry_free(addr)


def _collect(iterate: Callable[[Any, Any], int]) -> Tuple[Route, ...]:
    """Runs a native iteration and returns the visited routes as Python handles."""
    out: List[Route] = []
    errors: List[BaseException] = []

    def visit(addr: int, _ud: Any) -> bool:
        try:
            out.append(from_borrowed(addr))
            return True
        except BaseException as e:  # never let an exception cross the C frames
            errors.append(e)
            return False

    cb = VISITOR(visit)
    iterate(cb, None)
    if errors:
        raise errors[0]
    return tuple(out)


def _all_open(v: Any) -> bool:
    return not isinstance(v, tuple) or all(r._ptr is not None for r in v)


class _Native:
    """What a registry and its pools share: the handle, the generation cell and the caches."""

    __slots__ = ("addr", "gen", "seen_gen", "get_cache", "memo", "lock", "__weakref__")

    def __init__(self, addr: int) -> None:
        self.addr: Optional[int] = addr
        gp = lib.rr_generation_ptr(addr)
        # One object, created once, read with .value: an aligned 8-byte load.
        self.gen = ctypes.c_uint64.from_address(gp)
        self.seen_gen = -1
        self.get_cache: Dict[str, Tuple[int, Optional[Route]]] = {}
        self.memo: Dict[Any, Tuple[int, Any]] = {}
        self.lock = threading.Lock()

    def p(self) -> int:
        a = self.addr
        if a is None:
            raise ValueError("the registry is closed")
        return a

    def observe(self, gen: int) -> None:
        """Drops every cached entry when the generation moved (their tags can never match
        again; dropping them releases their native references)."""
        if gen != self.seen_gen:
            self.seen_gen = gen
            self.get_cache.clear()
            self.memo.clear()
        elif len(self.get_cache) > _CACHE_LIMIT:
            self.get_cache.clear()

    def drop_caches(self) -> None:
        self.get_cache.clear()
        self.memo.clear()

    def memoized(self, name: Any, compute: Callable[[], T]) -> T:
        """``compute()``, cached until the next mutation."""
        gen = self.gen.value  # before the native work
        e = self.memo.get(name)
        if e is not None and e[0] == gen and _all_open(e[1]):
            return e[1]  # type: ignore[no-any-return]
        self.p()
        self.observe(gen)
        v = compute()
        self.memo[name] = (gen, v)
        return v

    def lookup(self, name: Any, fetch: Callable[[], Optional[int]]) -> Optional[Route]:
        gen = self.gen.value
        e = self.memo.get(name)
        if e is not None and e[0] == gen and (e[1] is None or e[1]._ptr is not None):
            return e[1]  # type: ignore[no-any-return]
        self.p()
        self.observe(gen)
        addr = fetch()
        r = from_new_ref(addr) if addr else None
        self.memo[name] = (gen, r)
        return r


def _key_arg(key: object) -> bytes:
    return encode("key", key)


class Pool(Mapping):  # type: ignore[type-arg]
    """One pool of a registry (HTTP, STREAM or EXCLUDED): key -> route.

    A read-only ``Mapping`` of its live routes (``pool["key"]``, ``in``, ``len``, iteration
    over keys) plus the seed's pool methods. ``size()`` counts live routes only (tombstones
    are not counted, unlike the Go pool).
    """

    __slots__ = ("_n", "kind", "_reg")

    def __init__(self, reg: "Registry", n: _Native, kind: Kind) -> None:
        self._n = n
        self.kind = kind
        self._reg = weakref.ref(reg)

    def get(self, key: str, default: Any = None) -> Any:
        """The live route with ``key``, or ``default``."""
        n = self._n
        gen = n.gen.value
        e = n.memo.get((self.kind, key))
        if e is not None and e[0] == gen and (e[1] is None or e[1]._ptr is not None):
            r = e[1]
        else:
            b = _key_arg(key)
            addr = n.p()
            r = n.lookup((self.kind, key), lambda: lib.rr_pool_get(addr, self.kind, b, len(b)))
        return default if r is None else r

    def __getitem__(self, key: str) -> Route:
        r = self.get(key)
        if r is None:
            raise NotFound(f"no {self.kind.name} route with key {key!r}", RR_NOT_FOUND)
        return r  # type: ignore[no-any-return]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return self.size()

    def __iter__(self) -> Iterator[str]:
        return (r.key for r in self.routes())

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def size(self) -> int:
        """The number of live routes."""
        n = self._n
        return n.memoized(("size", self.kind), lambda: int(lib.rr_pool_size(n.p(), self.kind)))

    def routes(self) -> Tuple[Route, ...]:
        """A snapshot of the live routes (in no particular order)."""
        n = self._n
        return n.memoized(
            ("iter", self.kind),
            lambda: _collect(lambda cb, ud: lib.rr_pool_iter(n.p(), self.kind, cb, ud)),
        )

    def values(self) -> Tuple[Route, ...]:  # type: ignore[override]
        return self.routes()

    def items(self) -> List[Tuple[str, Route]]:  # type: ignore[override]
        return [(r.key, r) for r in self.routes()]

    def keys(self) -> List[str]:  # type: ignore[override]
        return [r.key for r in self.routes()]

    def sorted(self) -> List[Route]:
        """The live routes sorted by alias, then key (the seed's ``Slice``)."""
        n = self._n
        return list(
            n.memoized(
                ("sorted", self.kind),
                lambda: _collect(lambda cb, ud: lib.rr_pool_iter_sorted(n.p(), self.kind, cb, ud)),
            )
        )

    slice = sorted

    def _check_kind(self, route: Route) -> None:
        if not isinstance(route, Route):
            raise TypeError(f"expected a Route, not {type(route).__name__}")
        if route.kind != self.kind:
            raise ValueError(
                f"route {route.alias!r} is a {route.kind.name} route; "
                f"it cannot go to the {self.kind.name} pool"
            )

    def add(self, route: Route, *, raise_if_kept: bool = False) -> bool:
        """Adds (or replaces, or reloads) ``route``. ``True`` when it is now registered;
        ``False`` when a live route with the same key and a higher priority stays (or raises
        :class:`Kept` with ``raise_if_kept=True``)."""
        self._check_kind(route)
        reg = self._reg()
        assert reg is not None
        return reg.add(route, raise_if_kept=raise_if_kept)

    def add_if_not_exists(self, route: Route) -> Tuple[Route, bool]:
        """Adds ``route`` only if no live route has its key. Returns ``(actual, added)``: the
        route now registered under the key, and whether it is ``route``."""
        self._check_kind(route)
        reg = self._reg()
        assert reg is not None
        return reg.add_if_not_exists(route)

    def delete(self, key: Union[str, Route], *, missing_ok: bool = False) -> bool:
        """Deletes the live route with ``key`` (or with that route's key). Raises
        :class:`NotFound` (a ``KeyError``) when absent, unless ``missing_ok``; returns whether
        a route was deleted."""
        if isinstance(key, Route):
            key = key.key
        b = _key_arg(key)
        n = self._n
        status = lib.rr_del_key(n.p(), self.kind, b, len(b))
        n.drop_caches()
        if status == RR_NOT_FOUND and missing_ok:
            return False
        check(status)
        return True

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def clear(self) -> None:
        """Removes every route of this pool (tombstones included)."""
        n = self._n
        lib.rr_pool_clear(n.p(), self.kind)
        n.drop_caches()

    def __repr__(self) -> str:
        return f"<Pool {self.kind.name} size={self.size() if self._n.addr else '?'}>"


class Registry(Mapping):  # type: ignore[type-arg]
    """A route registry: three pools (``http``, ``stream``, ``excluded``).

    As a ``Mapping`` it shows the **active** routes (HTTP, then STREAM): ``reg["key"]``
    (``KeyError`` when absent), ``get``, ``in``, ``len`` (= ``num_active_routes()``) and
    iteration over their keys (a key held by both an HTTP and a STREAM route is listed twice;
    lookups return the HTTP one). Registries compare by identity.

    ``Registry()`` makes an independent registry, freed by :meth:`close` (or ``with``, or
    garbage collection); ``Registry.global_()`` is the process-wide one (never freed).
    """

    __slots__ = ("_n", "http", "stream", "excluded", "_fin", "_global", "__weakref__")

    _global_instance: Optional["Registry"] = None
    _global_lock = threading.Lock()

    def __init__(self) -> None:
        addr = lib.rr_registry_new()
        if not addr:
            raise error_for(255)
        self._setup(addr, is_global=False)

    def _setup(self, addr: int, is_global: bool) -> None:
        self._n = _Native(addr)
        self._global = is_global
        self.http = Pool(self, self._n, Kind.HTTP)
        self.stream = Pool(self, self._n, Kind.STREAM)
        self.excluded = Pool(self, self._n, Kind.EXCLUDED)
        if is_global:
            self._fin = None
        else:
            self._fin = weakref.finalize(self, _free_registry, addr)

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
        return self._global

    def close(self) -> None:
        """Frees the registry (idempotent; a no-op for the global one). Routes you still hold
        stay valid. The registry must not be in use by another thread."""
        if self._global or self._n.addr is None:
            return
        n = self._n
        n.addr = None
        n.gen = _CLOSED_GEN
        n.drop_caches()
        assert self._fin is not None
        self._fin()

    @property
    def closed(self) -> bool:
        return self._n.addr is None

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pool(self, kind: Union[Kind, int, str]) -> Pool:
        k = Kind.of(kind)
        return self.http if k == Kind.HTTP else self.stream if k == Kind.STREAM else self.excluded

    # -- lookups -------------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """The live HTTP route with ``key``, else the STREAM one (never EXCLUDED), or
        ``default``."""
        n = self._n
        gen = n.gen.value  # read BEFORE the native lookup
        e = n.get_cache.get(key)
        if e is not None and e[0] == gen and (e[1] is None or e[1]._ptr is not None):
            r = e[1]
            return default if r is None else r
        return self._get_slow(key, gen, default)

    def _get_slow(self, key: str, gen: int, default: Any) -> Any:
        b = _key_arg(key)
        n = self._n
        addr = lib.rr_get(n.p(), b, len(b))
        r = from_new_ref(addr) if addr else None
        n.observe(gen)
        n.get_cache[key] = (gen, r)
        return default if r is None else r

    def __getitem__(self, key: str) -> Route:
        n = self._n
        e = n.get_cache.get(key)
        if e is not None and e[0] == n.gen.value and e[1] is not None and e[1]._ptr is not None:
            return e[1]
        r = self.get(key)
        if r is None:
            raise NotFound(f"no active route with key {key!r}", RR_NOT_FOUND)
        return r  # type: ignore[no-any-return]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return self.num_active_routes()

    def __iter__(self) -> Iterator[str]:
        return (r.key for r in self.iter_active())

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def keys(self) -> List[str]:  # type: ignore[override]
        return [r.key for r in self.iter_active()]

    def values(self) -> Tuple[Route, ...]:  # type: ignore[override]
        return self.iter_active()

    def items(self) -> List[Tuple[str, Route]]:  # type: ignore[override]
        return [(r.key, r) for r in self.iter_active()]

    def get_include_excluded(self, key: str, default: Any = None) -> Any:
        """As :meth:`get`, then the EXCLUDED pool."""
        b = _key_arg(key)
        n = self._n
        r = n.lookup(("gie", key), lambda: lib.rr_get_include_excluded(n.p(), b, len(b)))
        return default if r is None else r

    def get_http_route_or_exact(self, alias: str, host: str) -> Optional[Route]:
        """The HTTP route keyed ``alias``, else the HTTP route keyed ``host``."""
        a = encode("alias", alias)
        h = encode("host", host)
        n = self._n
        return n.lookup(
            ("ghe", alias, host),
            lambda: lib.rr_get_http_route_or_exact(n.p(), a, len(a), h, len(h)),
        )

    def iter_active(self) -> Tuple[Route, ...]:
        """A snapshot of the live HTTP routes, then the STREAM ones."""
        n = self._n
        return n.memoized(
            "active", lambda: _collect(lambda cb, ud: lib.rr_iter_active(n.p(), cb, ud))
        )

    def iter_all(self) -> Tuple[Route, ...]:
        """A snapshot of the live HTTP, STREAM and EXCLUDED routes."""
        n = self._n
        return n.memoized("all", lambda: _collect(lambda cb, ud: lib.rr_iter_all(n.p(), cb, ud)))

    def num_active_routes(self) -> int:
        n = self._n
        return n.memoized("nactive", lambda: int(lib.rr_num_active_routes(n.p())))

    def num_all_routes(self) -> int:
        n = self._n
        return n.memoized("nall", lambda: int(lib.rr_num_all_routes(n.p())))

    @property
    def generation(self) -> int:
        """The library's change counter (moves on every add, delete, clear, inventory load)."""
        self._n.p()
        return int(self._n.gen.value)

    # -- mutations -----------------------------------------------------------------------

    @staticmethod
    def _route_arg(route: object) -> Route:
        if not isinstance(route, Route):
            raise TypeError(f"expected a Route, not {type(route).__name__}")
        return route

    def add(self, route: Route, *, raise_if_kept: bool = False) -> bool:
        """Adds ``route`` to the pool of its kind (replacing a live route of lower or equal
        priority, or reloading a key deleted less than 1 s ago); its identity is then frozen.
        Returns ``False`` when an existing route of higher priority stays (``route`` is then
        neither registered nor frozen), or raises :class:`Kept` with ``raise_if_kept``."""
        r = self._route_arg(route)
        n = self._n
        status = lib.rr_add(n.p(), r._p())
        if status == RR_KEPT:
            e = error_for(status)
            if raise_if_kept:
                raise e
            return False
        check(status)
        return True

    def add_if_not_exists(self, route: Route) -> Tuple[Route, bool]:
        """Adds ``route`` only if no live route has its key. Returns ``(actual, added)``."""
        r = self._route_arg(route)
        out = ctypes.c_void_p()
        status = lib.rr_add_if_not_exists(self._n.p(), r._p(), ctypes.byref(out))
        if status not in (0, RR_KEPT):
            raise error_for(status)
        actual = from_new_ref(out.value) if out.value else r
        return actual, status == 0

    def delete(self, route: Union[Route, str], *, missing_ok: bool = False) -> bool:
        """Deletes the live route with ``route``'s key from ``route``'s pool (a ``str`` key is
        looked for in HTTP, then STREAM, then EXCLUDED). Raises :class:`NotFound` when absent
        unless ``missing_ok``; returns whether a route was deleted."""
        n = self._n
        if isinstance(route, str):
            r = self.get_include_excluded(route)
            if r is None:
                if missing_ok:
                    return False
                raise NotFound(f"no route with key {route!r}", RR_NOT_FOUND)
            return self.pool(r.kind).delete(route, missing_ok=missing_ok)
        r = self._route_arg(route)
        status = lib.rr_del(n.p(), r._p())
        n.drop_caches()
        if status == RR_NOT_FOUND and missing_ok:
            return False
        check(status)
        return True

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def clear(self) -> None:
        """Empties all three pools (tombstones included)."""
        n = self._n
        lib.rr_clear(n.p())
        n.drop_caches()

    def purge_tombstones(self) -> int:
        """Removes tombstones older than 1 s now; returns how many."""
        return int(lib.rr_purge_tombstones(self._n.p()))

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
        n = self._n
        check(lib.rr_proxmox_load_json(n.p(), b, len(b)))
        n.drop_caches()

    # -- health and grouping -------------------------------------------------------------

    def health_json(self, format: int = HEALTH_FULL) -> str:
        """The health JSON exactly as the library renders it (byte-identical to Go's
        ``encoding/json``): ``format`` is ``HEALTH_FULL``, ``HEALTH_WITHOUT_DETAIL`` or
        ``HEALTH_SIMPLE``."""
        if not isinstance(format, int) or isinstance(format, bool):
            raise TypeError(f"format must be int, not {type(format).__name__}")
        if format not in (HEALTH_FULL, HEALTH_WITHOUT_DETAIL, HEALTH_SIMPLE):
            raise ValueError(f"invalid health format {format} (expected 0, 1 or 2)")
        s = take_json(lib.rr_health_json(self._n.p(), format))
        if s is None:
            raise error_for(2)
        return s

    def health_info(self) -> Dict[str, HealthInfo]:
        """alias -> :class:`HealthInfo` over all three pools (see SPEC §3 for shared aliases)."""
        raw = json.loads(self.health_json(HEALTH_FULL))
        lab = HealthStatus.from_label
        return {
            a: HealthInfo(lab(v["status"]), v["uptime"], v["latency"], v["detail"])
            for a, v in raw.items()
        }

    def health_info_without_detail(self) -> Dict[str, HealthInfoWithoutDetail]:
        raw = json.loads(self.health_json(HEALTH_WITHOUT_DETAIL))
        lab = HealthStatus.from_label
        return {
            a: HealthInfoWithoutDetail(lab(v["status"]), v["uptime"], v["latency"])
            for a, v in raw.items()
        }

    def health_info_simple(self) -> Dict[str, HealthStatus]:
        raw = json.loads(self.health_json(HEALTH_SIMPLE))
        lab = HealthStatus.from_label
        return {a: lab(v) for a, v in raw.items()}

    def by_provider_json(self) -> str:
        """``{"provider": ["key", ...]}`` as the library renders it (sorted)."""
        s = take_json(lib.rr_by_provider_json(self._n.p()))
        if s is None:
            raise error_for(2)
        return s

    def by_provider(self) -> Dict[str, List[Route]]:
        """provider -> its routes over all three pools, providers and each list sorted by key
        (then kind), as in :meth:`by_provider_json`."""
        out: Dict[str, List[Route]] = {}
        for r in self.iter_all():
            out.setdefault(r.provider, []).append(r)
        return {p: sorted(rs, key=lambda r: (r.key, r.kind)) for p, rs in sorted(out.items())}

    def __repr__(self) -> str:
        if self.closed:
            return "<Registry (closed)>"
        kind = "global " if self._global else ""
        return (
            f"<{kind}Registry http={self.http.size()} stream={self.stream.size()} "
            f"excluded={self.excluded.size()}>"
        )


def global_registry() -> Registry:
    """The process-wide registry."""
    return Registry.global_()
