"""``Registry`` and its pools.

Reads are cached on the Python side: one ctypes call costs more (400-700 ns) than a whole
dict lookup, so a hit must not cross into C when nothing changed. Each registry reads the
library's generation counter (bumped once per committed change set) through one
``ctypes.c_uint64.from_address`` object, and keeps ``_seen_gen``, the generation its caches
are known to be exact for.

- **Fast path** (no lock, no C call): the counter equals ``_seen_gen``, and the entry is
  there.
- **Catching up** (``_sync``, under the registry's lock): when the counter moved, the
  registry pulls the change records after ``_seen_gen`` (``rr_changes_since``) and forgets
  only the keys they name, in every key cache; the replica (below) applies them. On
  ``RR_STALE`` (the log no longer has them) everything is dropped.
- **Filling** a key cache: the counter is read *before* the native lookup, and the answer is
  stored only if that value is not older than ``_seen_gen`` at the time of storing (under the
  lock), so an answer computed before a change that was already caught up with is never
  stored; an answer stored early is forgotten by the catch-up that covers its key.
- **The replica**: on the first multi-route read (iteration, listing, sorted listing) the
  registry takes one ``rr_snapshot`` of the three pools and from then on keeps a Python copy
  of each pool (key -> ``Route``) up to date from the change records. Iterating after a change
  costs what iterating without one costs, plus the changed routes. The replica holds its own
  native reference to each route (released when a record removes it, or with the registry), so
  a handle closed by its user can be replaced by a fresh one on the same route. The listings
  built from it are immutable tuples, each valid for one generation.
- **Host answers** (``find_http_route``) depend on every key and on the route domains, so they
  are tagged with the generation read before the native call and all dropped when it moves
  (never per key); at most ``_HOST_LIMIT`` answers and ``_HOST_MISS_LIMIT`` misses are kept.

Counts without a replica, by-provider listings and ``get_http_route_or_exact`` pairs are
valid for one generation. Health updates do not move the counter, and health is never cached.
"""

from __future__ import annotations

import ctypes
import json
import itertools
import threading
import weakref
from collections.abc import Mapping
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Tuple,
    TypeVar,
    Union,
)

from . import _bindings as B
from ._bindings import RR_INVALID_ARGUMENT, RR_KEPT, RR_NOT_FOUND, RR_OK, RR_PANIC
from ._changes import (
    Batch,
    Changes,
    NativeRegistry,
    RawChange,
    Snapshot,
    Watch,
    make_change,
    pull,
    release_raw,
    snapshot_raw,
    take_snapshot,
    u64_arg,
)
from ._errors import InvalidArgument, NotFound, Stale, check, error_for, quote
from ._managed import Managed
from ._native import VISITOR, RrStr, lib, read_str, take_json
from ._route import (
    _BY_ADDR,
    _CLOSES,
    Route,
    encode,
    from_borrowed,
    from_new_ref,
    kind_arg,
    u32_arg,
)
from ._types import HealthInfo, HealthInfoWithoutDetail, HealthStatus, Kind

T = TypeVar("T")

#: Health JSON formats (``RR_HEALTH_*``).
HEALTH_FULL = B.RR_HEALTH_FULL
HEALTH_WITHOUT_DETAIL = B.RR_HEALTH_WITHOUT_DETAIL
HEALTH_SIMPLE = B.RR_HEALTH_SIMPLE

# A key cache larger than this is dropped (bounds memory when callers look up many unknown
# keys).
_CACHE_LIMIT = 1 << 16
# Host answers kept per generation: found routes (a wildcard or first-label route matches
# without bound: the table is dropped when full) and misses (further ones are not cached).
_HOST_LIMIT = 4096
_HOST_MISS_LIMIT = 1024

_ABSENT: Any = object()  # "no entry", distinct from a cached miss (None)

# rr_snapshot's `which`, and the names of the replica's listings.
_ACTIVE = 3
_ALL = 4

_CLEARED = B.RR_CHANGE_CLEARED
_INVENTORY = B.RR_CHANGE_INVENTORY
_REMOVED = B.RR_CHANGE_REMOVED

# Read by the fast path of a closed registry: matches no cache tag, so the slow path runs and
# raises. Never a real generation (the counter would need 2**64 - 1 mutations).
_CLOSED_GEN = ctypes.c_uint64((1 << 64) - 1)


def _release_all(addrs: Tuple[Dict[str, int], ...]) -> None:
    for d in addrs:
        refs = list(d.values())
        d.clear()
        for a in refs:
            lib.rr_route_release(a)


class _Replica:
    """A Python copy of the three pools at generation ``gen``: key -> ``Route`` per pool, and
    key -> native address on which the replica holds its own reference (released when the
    key goes, or all at once by :meth:`close` or the garbage collector)."""

    __slots__ = ("gen", "routes", "addrs", "_fin", "__weakref__")

    def __init__(self, gen: int) -> None:
        self.gen = gen
        self.routes: Tuple[Dict[str, Route], ...] = ({}, {}, {})
        self.addrs: Tuple[Dict[str, int], ...] = ({}, {}, {})
        self._fin = weakref.finalize(self, _release_all, self.addrs)
        self._fin.atexit = False

    def put(self, kind: int, key: str, addr: int) -> None:
        """Takes over the reference ``addr``."""
        addrs = self.addrs[kind]
        old = addrs.get(key)
        addrs[key] = addr
        self.routes[kind][key] = from_borrowed(addr)
        if old:
            lib.rr_route_release(old)

    def remove(self, kind: int, key: str) -> None:
        self.routes[kind].pop(key, None)
        a = self.addrs[kind].pop(key, None)
        if a:
            lib.rr_route_release(a)

    def clear_pool(self, kind: int) -> None:
        self.routes[kind].clear()
        _release_all((self.addrs[kind],))

    def repair(self) -> bool:
        """Replaces handles closed by their users with fresh ones (on the reference the
        replica holds). Whether any was replaced."""
        fixed = False
        for kind in range(3):
            routes, addrs = self.routes[kind], self.addrs[kind]
            closed = [k for k, r in routes.items() if r._ptr is None]
            for k in closed:
                routes[k] = from_borrowed(addrs[k])
                fixed = True
        return fixed

    def close(self) -> None:
        self.routes[0].clear()
        self.routes[1].clear()
        self.routes[2].clear()
        self._fin()


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
        if reg._gen.value == reg._seen_gen:
            r = reg._pool_get[self.kind].get(key, _ABSENT)
            if r is not _ABSENT and (r is None or r._ptr is not None):
                return default if r is None else r
        b = _lookup_key(key)
        if b is None:
            reg._check()
            return default
        kind = self.kind
        r = reg._lookup(reg._pool_get[kind], key, lambda p: lib.rr_pool_get(p, kind, b, len(b)))
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
        return self._reg._count(int(kind), lambda p: int(lib.rr_pool_size(p, kind)))

    def _snapshot(self) -> _Snapshot:
        return self._reg._view(int(self.kind))

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
        return list(self._reg._view(("sorted", int(self.kind))).routes)

    slice = sorted

    def _check_kind(self, route: Route) -> None:
        if isinstance(route, Route) and route.kind != self.kind:
            raise InvalidArgument(
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
        elif not isinstance(key, str):
            raise TypeError(f"key must be a str key or a Route, not {type(key).__name__}")
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
        reg._catch_up()

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
        "_lock",
        "_get_cache",
        "_pool_get",
        "_gie_cache",
        "_memo",
        "_rep",
        "_views",
        "_rep_epoch",
        "_hosts",
        "_host_gen",
        "_host_misses",
        "_native",
        "_watchers",
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
        self._lock = threading.Lock()
        self._seen_gen = int(self._gen.value)  # the caches are empty: exact for any generation
        self._get_cache: Dict[str, Optional[Route]] = {}
        self._pool_get: Tuple[Dict[str, Optional[Route]], ...] = ({}, {}, {})
        self._gie_cache: Dict[str, Optional[Route]] = {}
        self._memo: Dict[Any, Tuple[int, Any]] = {}
        self._rep: Optional[_Replica] = None
        self._views: Dict[Any, _Snapshot] = {}
        self._rep_epoch = -1
        self._hosts: Dict[Union[str, bytes], Optional[Route]] = {}
        self._host_gen = -1
        self._host_misses = 0
        self._watchers: "weakref.WeakSet[Watch]" = weakref.WeakSet()
        native = self._native = NativeRegistry(addr)
        self._set_handle(addr, None if is_global else native.release)
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
        for w in list(self._watchers):  # ends them (a blocked consumer wakes up and stops)
            w.close()

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

    # -- caches (see the module docstring) ----------------------------------------------

    def _drop_caches(self) -> None:
        """Forgets everything cached (the replica's references are released now)."""
        with self._lock:
            self._reset()

    def _catch_up(self) -> None:
        """Applies the change records now (after a clear: the routes the caches held are
        released at once, not at the next read)."""
        with self._lock:
            self._sync()

    def _reset(self) -> None:
        """With the lock held: empty caches, exact for any generation from now on."""
        self._get_cache.clear()
        for d in self._pool_get:
            d.clear()
        self._gie_cache.clear()
        self._memo.clear()
        self._views.clear()
        self._hosts.clear()
        self._host_misses = 0
        rep, self._rep = self._rep, None
        if rep is not None:
            rep.close()
        g = self._gen.value
        if g != _CLOSED_GEN.value:
            self._seen_gen = int(g)

    def _sync(self) -> None:
        """With the lock held: brings the caches (and the replica) to the current generation
        by the change records after ``_seen_gen``. ``ValueError`` once closed."""
        g0 = self._gen.value
        seen = self._seen_gen
        if g0 == seen:
            return
        self._check()
        self._memo.clear()  # entries valid for one generation only
        rep = self._rep
        if rep is None and not (self._get_cache or self._gie_cache or any(self._pool_get)):
            self._seen_gen = int(g0)  # nothing to forget
            return
        p = self._use()
        try:
            raw, nxt = pull(p, seen, 0, routes=rep is not None, removed=False)
        except Stale:
            self._reset()
            return
        finally:
            self._done()
        self._apply(raw)
        self._seen_gen = nxt

    def _apply(self, raw: List[RawChange]) -> None:
        """Forgets the keys the records name; the replica applies the records newer than
        itself (taking over their route references; the others are released)."""
        get_cache, gie, pool_get = self._get_cache, self._gie_cache, self._pool_get
        rep = self._rep
        rgen = rep.gen if rep is not None else None
        changed = False
        try:
            for i, (gen, op, kind, key, addr) in enumerate(raw):
                if op == _INVENTORY:
                    continue
                changed = True
                if op == _CLEARED:
                    get_cache.clear()
                    gie.clear()
                    pool_get[kind].clear()
                    if rep is not None and gen > rep.gen:
                        rep.clear_pool(kind)
                    continue
                get_cache.pop(key, None)
                gie.pop(key, None)
                pool_get[kind].pop(key, None)
                if rep is not None and gen > rep.gen:
                    if op == _REMOVED:
                        rep.remove(kind, key)
                    else:
                        raw[i] = (gen, op, kind, key, 0)  # the replica owns it now
                        rep.put(kind, key, addr)
        finally:
            release_raw(raw)
        if rep is not None and raw:
            rep.gen = max(rep.gen, raw[-1][0])
        if changed or rgen != (rep.gen if rep is not None else None):
            self._views.clear()

    def _build_replica(self) -> _Replica:
        """With the lock held: takes a snapshot of the three pools and brings the key caches
        up to its generation (or drops them when the log cannot)."""
        p = self._use()
        try:
            gen, entries = snapshot_raw(p, _ALL)
        finally:
            self._done()
        rep = _Replica(gen)
        try:
            for kind, key, addr in entries:
                rep.put(kind, key, addr)
        except BaseException:
            rep.close()
            raise
        self._rep = rep
        self._rep_epoch = _CLOSES[0]
        self._views.clear()
        seen = self._seen_gen
        if gen != seen:
            p = self._use()
            try:
                raw, nxt = pull(p, seen, 0, removed=False)  # those after gen: for the replica
            except Stale:
                # The key caches cannot catch up: drop them, keep the replica (it follows
                # from its own generation from now on).
                self._get_cache.clear()
                for d in self._pool_get:
                    d.clear()
                self._gie_cache.clear()
                self._seen_gen = gen
                raw, nxt = [], gen
            finally:
                self._done()
            self._apply(raw)
            self._seen_gen = nxt
        return rep

    def _view(self, which: Any) -> _Snapshot:
        """A listing from the replica (``0..2`` a pool, ``_ACTIVE``, ``_ALL``,
        ``("sorted", kind)``): immutable, of one generation."""
        if self._gen.value == self._seen_gen and self._rep_epoch == _CLOSES[0]:
            v = self._views.get(which)
            if v is not None:
                return v
        with self._lock:
            self._sync()
            rep = self._rep
            if rep is None:
                rep = self._build_replica()
            epoch = _CLOSES[0]
            if self._rep_epoch != epoch:
                if rep.repair():
                    self._views.clear()
                self._rep_epoch = epoch
            v = self._views.get(which)
            if v is None:
                v = self._views[which] = self._make_view(rep, which)
            return v

    def _make_view(self, rep: _Replica, which: Any) -> _Snapshot:
        if isinstance(which, tuple):  # ("sorted", kind): by alias, then key (bytewise)
            ordered = sorted(rep.routes[which[1]].values(), key=lambda r: (r.alias, r.key))
            return _Snapshot(tuple(ordered), tuple(r.key for r in ordered))
        if which == _ACTIVE or which == _ALL:
            parts = [self._views.get(k) or self._make_view(rep, k) for k in range(which - 1)]
            for k, part in enumerate(parts):
                self._views.setdefault(k, part)
            routes: Tuple[Route, ...] = ()
            keys: Tuple[str, ...] = ()
            for part in parts:
                routes += part.routes
                keys += part.keys
            return _Snapshot(routes, keys)
        d = rep.routes[which]
        return _Snapshot(tuple(d.values()), tuple(d.keys()))

    def _count(self, which: int, native: Callable[[int], int]) -> int:
        """A count: from the replica's listing when there is one, else from the library
        (cached for one generation)."""
        gen = self._gen.value
        if gen == self._seen_gen:
            v = self._views.get(which)
            if v is not None:
                return len(v.routes)
        e = self._memo.get(("n", which))
        if e is not None and e[0] == gen:
            return e[1]  # type: ignore[no-any-return]
        with self._lock:
            self._sync()
            if self._rep is not None:
                return len(self._view_locked(which).routes)
        p = self._use()
        try:
            n = native(p)
        finally:
            self._done()
        self._memo[("n", which)] = (gen, n)
        return n

    def _view_locked(self, which: Any) -> _Snapshot:
        rep = self._rep
        assert rep is not None
        v = self._views.get(which)
        if v is None:
            v = self._views[which] = self._make_view(rep, which)
        return v

    def _memoized(self, name: Any, compute: Callable[[int], T]) -> T:
        """``compute(handle)``, cached for one generation."""
        gen = self._gen.value  # before the native work
        e = self._memo.get(name)
        if e is not None and e[0] == gen and _all_open(e[1]):
            return e[1]  # type: ignore[no-any-return]
        p = self._use()
        try:
            v = compute(p)
        finally:
            self._done()
        self._memo[name] = (gen, v)
        return v

    def _lookup(
        self,
        cache: Dict[str, Optional[Route]],
        key: str,
        fetch: Callable[[int], Optional[int]],
    ) -> Optional[Route]:
        """A lookup's slow path: catch up, ask the library, remember the answer."""
        if self._gen.value != self._seen_gen:
            with self._lock:
                self._sync()
            if self._gen.value == self._seen_gen:  # the fast path again, caught up
                r = cache.get(key, _ABSENT)
                if r is not _ABSENT and (r is None or r._ptr is not None):
                    return r  # type: ignore[no-any-return]
        gen = self._gen.value  # read BEFORE the native lookup
        p = self._use()
        try:
            addr = fetch(p)
        finally:
            self._done()
        r = from_new_ref(addr) if addr else None
        with self._lock:
            if gen >= self._seen_gen:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[key] = r
        return r

    # -- lookups -------------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """The live HTTP route with ``key``, else the STREAM one (never EXCLUDED), or
        ``default``."""
        if self._gen.value == self._seen_gen:
            r = self._get_cache.get(key, _ABSENT)
            if r is not _ABSENT and (r is None or r._ptr is not None):
                return default if r is None else r
        return self._get_slow(key, default)

    def _get_slow(self, key: str, default: Any) -> Any:
        b = _lookup_key(key)
        if b is None:
            self._check()
            return default
        r = self._lookup(self._get_cache, key, lambda p: lib.rr_get(p, b, len(b)))
        return default if r is None else r

    def __getitem__(self, key: str) -> Route:
        if self._gen.value == self._seen_gen:
            r = self._get_cache.get(key)
            if r is not None and r._ptr is not None:
                return r
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
        if self._gen.value == self._seen_gen:
            r = self._gie_cache.get(key, _ABSENT)
            if r is not _ABSENT and (r is None or r._ptr is not None):
                return default if r is None else r
        b = _lookup_key(key)
        if b is None:
            self._check()
            return default
        r = self._lookup(self._gie_cache, key, lambda p: lib.rr_get_include_excluded(p, b, len(b)))
        return default if r is None else r

    def get_http_route_or_exact(self, alias: str, host: str) -> Optional[Route]:
        """The HTTP route keyed ``alias``, else the HTTP route keyed ``host`` (two cached
        lookups of the HTTP pool, as the library makes two)."""
        r = self.http.get(alias)
        return r if r is not None else self.http.get(host)  # type: ignore[no-any-return]

    def find_http_route(self, host: Union[str, bytes]) -> Optional[Route]:
        """The HTTP route for a request's ``Host`` header (``str``, or ``bytes`` as ASGI
        servers give headers), or ``None``, by the library's rules: the port is removed (as
        Go's ``net.SplitHostPort``: ``app.example.com:8443``, ``[::1]:80``), ASCII case and
        one trailing dot are ignored; with no route domains set, the route keyed by the host,
        else by its first label (``app.example.com`` -> ``app``); with route domains
        (:meth:`set_route_domains`), for each domain the host ends with, the route keyed by the
        part before it, else the route keyed by the whole host; then a wildcard route
        ``*.<suffix>`` matching the host after its first label. Only the HTTP pool is
        searched. A host that is empty, not valid UTF-8, holds a NUL byte or is longer than
        1024 bytes finds nothing.

        Answers are cached by the header exactly as given, for one generation (any change can
        change the answer for any number of hosts); at most 4096 found routes and 1024 misses
        are kept, so a flood of distinct hosts cannot grow the cache."""
        if self._gen.value == self._host_gen:
            try:
                r = self._hosts.get(host, _ABSENT)
            except TypeError:
                raise TypeError(f"host must be str or bytes, not {type(host).__name__}") from None
            if r is not _ABSENT and (r is None or r._ptr is not None):
                return r  # type: ignore[no-any-return]
        return self._find_slow(host)

    def _find_slow(self, host: Union[str, bytes]) -> Optional[Route]:
        if isinstance(host, str):
            try:
                b = host.encode("utf-8")
            except UnicodeEncodeError:  # not UTF-8: a miss, as the library answers
                self._check()
                return None
        elif isinstance(host, bytes):
            b = host
        else:
            raise TypeError(f"host must be str or bytes, not {type(host).__name__}")
        gen = self._gen.value  # read BEFORE the native call
        p = self._use()
        try:
            addr = lib.rr_find_http_route(p, b, len(b))
        finally:
            self._done()
        r = from_new_ref(addr) if addr else None
        with self._lock:
            if gen > self._host_gen:
                self._hosts.clear()
                self._host_misses = 0
                self._host_gen = int(gen)
            if gen == self._host_gen:
                hosts = self._hosts
                if r is None:
                    if self._host_misses < _HOST_MISS_LIMIT:
                        self._host_misses += 1
                        hosts[host] = None
                else:
                    if len(hosts) >= _HOST_LIMIT + _HOST_MISS_LIMIT:
                        hosts.clear()
                        self._host_misses = 0
                    hosts[host] = r
        return r

    def set_route_domains(self, domains: Iterable[str]) -> None:
        """Sets the domain suffixes :meth:`find_http_route` strips, tried in the order given
        (each with or without its leading dot: ``"example.com"`` and ``".example.com"`` are
        the same; stored lowercased, without a trailing dot). An empty iterable removes them
        (the default). A domain the library refuses (empty, only dots, longer than 255 bytes,
        holding a NUL byte) raises :class:`InvalidArgument` with its message, and the old
        domains stay. Moves the generation (host answers change)."""
        if isinstance(domains, (str, bytes)):
            raise TypeError(
                "domains must be an iterable of str (e.g. a list), not a single "
                f"{type(domains).__name__}"
            )
        encoded = [encode("domain", d) for d in domains]
        bufs = [ctypes.create_string_buffer(b, len(b) or 1) for b in encoded]
        arr = (RrStr * max(len(encoded), 1))()
        for i, (b, buf) in enumerate(zip(encoded, bufs)):
            arr[i].ptr = ctypes.addressof(buf)
            arr[i].len = len(b)
        check(self._call(lib.rr_set_route_domains, arr, len(encoded)))

    def _active(self) -> _Snapshot:
        return self._view(_ACTIVE)

    def iter_active(self) -> Tuple[Route, ...]:
        """A snapshot of the live HTTP routes, then the STREAM ones (one generation)."""
        return self._view(_ACTIVE).routes

    def iter_all(self) -> Tuple[Route, ...]:
        """A snapshot of the live HTTP, STREAM and EXCLUDED routes (one generation)."""
        return self._view(_ALL).routes

    def num_active_routes(self) -> int:
        """The number of live HTTP and STREAM routes."""
        return self._count(_ACTIVE, lambda p: int(lib.rr_num_active_routes(p)))

    def num_all_routes(self) -> int:
        """The number of live routes in all three pools."""
        return self._count(_ALL, lambda p: int(lib.rr_num_all_routes(p)))

    # -- change records, snapshots, watches, batches -------------------------------------

    def changes(self, since: int, limit: Optional[int] = None) -> Changes:
        """The change records after generation ``since``, oldest first, and ``next``, the
        generation to pass next time (``reg.changes(0)`` gives everything the log still has,
        when it has everything since the registry was made). With ``limit``, stops at the
        first change-set boundary after ``limit`` records (a set is never cut in two).
        Raises :class:`Stale` when records after ``since`` were already dropped from the
        bounded log: take a :meth:`snapshot` and continue from its generation.
        :class:`InvalidArgument` when ``since`` is after the current generation."""
        s = u64_arg("since", since)
        n = 0 if limit is None else u64_arg("limit", limit)
        if limit is not None and n == 0:
            raise InvalidArgument("limit must be at least 1")
        p = self._use()
        try:
            raw, nxt = pull(p, s, n)
        finally:
            self._done()
        return Changes(tuple(make_change(rec) for rec in raw), s, nxt)

    def snapshot(self, which: Union[Kind, int, str] = "all") -> Snapshot:
        """Every live route of a pool (a :class:`Kind`, ``"http"``...), of the active pools
        (``"active"``: HTTP then STREAM) or of all three (``"all"``), at one generation,
        reported with it: the records after that generation are exactly the changes since."""
        if which == "all":
            w = _ALL
        elif which == "active":
            w = _ACTIVE
        else:
            w = int(self.pool(which).kind)
        p = self._use()
        try:
            gen, routes = take_snapshot(p, w)
        finally:
            self._done()
        return Snapshot(gen, routes)

    def set_change_log_capacity(self, records: int) -> None:
        """How many change records the registry keeps (default 4096; at least 1). Change
        sets are kept or dropped whole, oldest first; a reader further behind gets
        :class:`Stale` (a :class:`Watch`, a :class:`Resync`). The log holds a reference to each
        route its records name."""
        n = u64_arg("records", records)
        check(self._call(lib.rr_set_change_log_capacity, n))

    def watch(self, since: Optional[int] = None) -> Watch:
        """A :class:`Watch` of the change records after ``since`` (default: the current
        generation, i.e. the changes from now on); iterate it with ``for`` or ``async for``,
        and close it (or use ``with``) to stop."""
        return Watch(self, since)

    def batch(self) -> Batch:
        """A new, empty :class:`Batch` for this registry (a context manager: commits when the
        block ends normally, discards on an exception)."""
        return Batch(self)

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
        if e is None:
            self._forget(key)
            return True
        if status == RR_NOT_FOUND and missing_ok:
            return False
        raise e

    def _forget(self, key: str) -> None:
        """Drops the cached answers for ``key`` now (always safe: the next catch-up would drop
        them; doing it at once releases the deleted route's handle sooner)."""
        self._get_cache.pop(key, None)
        self._gie_cache.pop(key, None)
        for d in self._pool_get:
            d.pop(key, None)

    def delete(self, route: Union[Route, str], *, missing_ok: bool = False) -> bool:
        """Deletes the live route with ``route``'s key from ``route``'s pool, or, for a
        ``str`` key, from the first of HTTP, STREAM and EXCLUDED that has one (each a single
        library call). Raises :class:`NotFound` when absent unless ``missing_ok``; returns
        whether a route was deleted."""
        if not isinstance(route, (str, Route)):
            raise TypeError(f"delete needs a Route or a str key, not {type(route).__name__}")
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
        if e is None:
            try:
                self._forget(route.key)
            except ValueError:  # closed by another thread meanwhile: the catch-up will do it
                pass
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
        self._catch_up()

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
