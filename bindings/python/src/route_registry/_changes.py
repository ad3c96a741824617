"""Change records, snapshots, watches and batches.

- :class:`Change` / :class:`Changes`: the records of the registry's change log after a
  generation (``rr_changes_since``), and the generation to ask from next time.
- :class:`Snapshot`: every route of some pools at one generation (``rr_snapshot``).
- :class:`Watch`: a subscription (``rr_subscribe``) that yields the records as they are
  committed, as a blocking iterator and as an ``async for`` iterator. The subscription
  callback only wakes the consumer (it runs on the writer's thread, so it does as little as
  possible); the consumer pulls the records itself. A consumer that fell behind the bounded
  change log gets a :class:`Resync` (a snapshot to start again from), never a silent gap.
- :class:`Batch`: adds and deletes committed as one change set (``rr_batch_*``).
- :class:`NativeRegistry`: the native registry's address, freed only once its ``Registry``
  object released it *and* no subscription is left, so a watch collected after its registry
  (in any order, on any thread) still unsubscribes from a live registry.
"""

from __future__ import annotations

import asyncio
import collections
import collections.abc
import ctypes
import functools
import math
import numbers
import threading
import time
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Deque,
    Iterator,
    List,
    Optional,
    Tuple,
    Union,
    overload,
)

from . import _bindings as B
from ._bindings import RR_INVALID_ARGUMENT, RR_PANIC, rr_change
from ._errors import InvalidArgument, Stale, check, error_for, num
from ._managed import Managed
from ._native import keep_forever, lib, read_str
from ._route import _BY_ADDR, Route, encode, from_new_ref, kind_arg
from ._types import ChangeOp, Kind

if TYPE_CHECKING:
    from ._registry import Registry

CHANGE_VISITOR = B.rr_change_visitor
CHANGE_FN = B.rr_change_fn
ROUTE_VISITOR = B.rr_route_visitor

_U64_MAX = (1 << 64) - 1
_REMOVED = B.RR_CHANGE_REMOVED

#: A raw record: (generation, op, kind, key, route address with a reference we own, or 0).
RawChange = Tuple[int, int, int, str, int]


def u64_arg(what: str, value: object) -> int:
    """A ``uint64_t`` argument: ``TypeError`` for a non-int, :class:`InvalidArgument` out of
    range (ctypes would silently truncate it)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be int, not {type(value).__name__}")
    if not 0 <= value <= _U64_MAX:
        raise InvalidArgument(f"{what} {num(value)} is out of range (0..2**64-1)")
    return int(value)


# The longest single wait on a condition: a longer timeout waits in several (the OS timeout
# types overflow far below what a float can hold).
_MAX_WAIT = 3600.0


def timeout_arg(what: str, value: object) -> Optional[float]:
    """A timeout in seconds: ``None`` (or infinity) for no limit, else a real number >= 0 as a
    finite ``float`` (huge values stay huge: the waits are cut into pieces). ``TypeError`` for
    a value that is not a real number (``bool`` included), :class:`InvalidArgument` for a
    negative one or NaN."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{what} must be a number of seconds (int or float) or None, not {type(value).__name__}"
        )
    try:
        t = float(value)
    except OverflowError:  # an int (or Fraction) beyond float: a sign and "very long"
        t = math.inf if value > 0 else -math.inf  # type: ignore[operator]
    if math.isnan(t) or t < 0:
        shown = num(value) if isinstance(value, int) else repr(value)
        if len(shown) > 64:  # a Fraction or Decimal can be huge too
            shown = shown[:64] + "..."
        raise InvalidArgument(
            f"{what} {shown} is not a number of seconds >= 0 (None or math.inf: no limit)"
        )
    return None if math.isinf(t) else t


# -- pulling records and snapshots (handles are the caller's, kept valid for the call) ----


def pull(
    reg: int, since: int, limit: int = 0, routes: bool = True, removed: bool = True
) -> Tuple[List[RawChange], int]:
    """The raw records after ``since`` and the generation to ask from next time. With
    ``routes``, each record's route (for ``REMOVED`` too) is retained: the caller owns those
    references (``removed=False``: not for ``REMOVED`` records). With ``limit``, stops soon
    after ``limit`` records, at a change-set boundary (a set is never cut; a set larger than
    ``limit`` comes whole). Raises :class:`Stale` or :class:`InvalidArgument`."""
    out: List[RawChange] = []
    errors: List[BaseException] = []
    from_address = rr_change.from_address
    retain = lib.rr_route_retain
    string_at = ctypes.string_at

    def visit(addr: int, _ud: Any) -> bool:
        try:
            c = from_address(addr)
            gen = c.generation
            k = c.key
            key = string_at(k.ptr, k.len).decode("utf-8", "replace") if k.len else ""
            r = c.route
            op = c.op
            keep = r and routes and (removed or op != _REMOVED)
            out.append((gen, op, c.kind, key, retain(r) if keep else 0))
            # Stopping counts this record as visited; the library then reports the last set
            # seen whole, and the records of a set cut short are dropped below (given again
            # next time). Stopping only once a set after the limit has begun means the
            # sets up to the limit always come whole.
            return not (limit and len(out) > limit and gen != out[limit - 1][0])
        except BaseException as e:  # never let an exception cross the C frames
            errors.append(e)
            return False

    nxt = ctypes.c_uint64()
    status = lib.rr_changes_since(reg, since, CHANGE_VISITOR(visit), None, ctypes.byref(nxt))
    e = error_for(status) if status else None  # read the message on this thread now
    if errors or e is not None:
        release_raw(out)
        if errors:
            raise errors[0]
        assert e is not None
        raise e
    n = int(nxt.value)
    if out and out[-1][0] > n:  # a set cut short by the limit: given again next time
        cut = [rec for rec in out if rec[0] > n]
        out = [rec for rec in out if rec[0] <= n]
        release_raw(cut)
    return out, n


def release_raw(raw: List[RawChange]) -> None:
    for rec in raw:
        if rec[4]:
            lib.rr_route_release(rec[4])


def _key_kind(addr: int) -> Tuple[int, str]:
    """A registered (so frozen) route's kind and key: cached in its shared state."""
    st = _BY_ADDR.get(addr)
    if st is not None:
        key, kind = st.key, st.kind
        if key is None:
            key = st.key = read_str(lib.rr_route_key(addr))
        if kind is None:
            kind = st.kind = Kind(lib.rr_route_kind(addr))
        return int(kind), key
    return int(lib.rr_route_kind(addr)), read_str(lib.rr_route_key(addr))


def snapshot_raw(reg: int, which: int) -> Tuple[int, List[Tuple[int, str, int]]]:
    """``rr_snapshot``: the generation and (kind, key, route address with a reference the
    caller owns) for every route visited."""
    out: List[Tuple[int, str, int]] = []
    errors: List[BaseException] = []
    retain = lib.rr_route_retain

    def visit(addr: int, _ud: Any) -> bool:
        try:
            kind, key = _key_kind(addr)
            out.append((kind, key, retain(addr)))
            return True
        except BaseException as e:  # never let an exception cross the C frames
            errors.append(e)
            return False

    gen = ctypes.c_uint64()
    lib.rr_snapshot(reg, which, ROUTE_VISITOR(visit), None, ctypes.byref(gen))
    if errors:
        for _k, _key, a in out:
            lib.rr_route_release(a)
        raise errors[0]
    return int(gen.value), out


# -- value types --------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One change record: at ``generation`` (shared by the records of one change set),
    ``op`` happened to ``key`` in ``kind``'s pool. ``route`` is the route added (``ADDED``,
    ``RELOADED``), the new one (``REPLACED``), the one removed (``REMOVED``), or ``None``
    (``CLEARED``: ``key`` is empty; ``INVENTORY``: ``key`` is empty and ``kind`` is
    meaningless)."""

    generation: int
    op: ChangeOp
    kind: Kind
    key: str
    route: Optional[Route]


def make_change(rec: RawChange) -> Change:
    """A :class:`Change` from a raw record (takes over the record's route reference)."""
    gen, op, kind, key, addr = rec
    return Change(gen, ChangeOp(op), Kind(kind), key, from_new_ref(addr) if addr else None)


class Changes:
    """The records after ``since``, oldest first (a sequence of :class:`Change`: ``len``,
    indexing, iteration), and ``next``: the generation to pass to :meth:`Registry.changes`
    next time (the current generation when every record was returned)."""

    __slots__ = ("_records", "since", "next")

    def __init__(self, records: Tuple[Change, ...], since: int, next: int) -> None:
        self._records = records
        self.since = since
        self.next = next

    @overload
    def __getitem__(self, i: int) -> Change: ...
    @overload
    def __getitem__(self, i: slice) -> Tuple[Change, ...]: ...
    def __getitem__(self, i: Union[int, slice]) -> Union[Change, Tuple[Change, ...]]:
        return self._records[i]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Change]:
        return iter(self._records)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Changes):
            return (self._records, self.next) == (other._records, other.next)
        if isinstance(other, (list, tuple)):
            return list(self._records) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Changes(since={self.since}, next={self.next}, {list(self._records)!r})"


collections.abc.Sequence.register(Changes)


@dataclass(frozen=True)
class Snapshot:
    """Every live route of the pools asked for, as they were at ``generation``: the change
    records after ``generation`` are exactly the changes made since."""

    generation: int
    routes: Tuple[Route, ...]


@dataclass(frozen=True)
class Resync:
    """Given by a :class:`Watch` in place of records it can no longer give (the consumer fell
    further behind than the registry's change log keeps): the state to start again from.
    ``routes`` are every live route of the three pools at ``generation``; the items that
    follow are the changes after it."""

    generation: int
    routes: Tuple[Route, ...]


def take_snapshot(reg: int, which: int) -> Tuple[int, Tuple[Route, ...]]:
    gen, raw = snapshot_raw(reg, which)
    return gen, tuple(from_new_ref(a) for _k, _key, a in raw)


# -- the native registry and subscriptions --------------------------------------------------


# The callbacks of live subscriptions, by (registry address, token): never freed while the
# library may call them, interpreter shutdown included (the finalizers do not unsubscribe at
# exit).
_LIVE_CBS: "dict[Tuple[int, int], Any]" = keep_forever({})


class NativeRegistry:
    """A native registry's address. Freed when its ``Registry`` object released it and no
    subscription is left, whichever comes last (so an unsubscription never meets a freed
    registry, whatever order the garbage collector finalizes things in)."""

    __slots__ = ("addr", "subs", "released", "lock")

    def __init__(self, addr: int) -> None:
        self.addr = addr
        self.subs = 0
        self.released = False
        self.lock = threading.Lock()

    def release(self, _addr: int) -> None:
        with self.lock:
            self.released = True
            free = self.subs == 0
        if free:
            lib.rr_registry_free(self.addr)

    def subscribe(self, cb: Any) -> int:
        """Called while the registry is in use (so not released)."""
        with self.lock:
            self.subs += 1
        token = int(lib.rr_subscribe(self.addr, cb, None))
        if not token:
            e = error_for(RR_INVALID_ARGUMENT)
            self._drop_sub()
            raise e
        _LIVE_CBS[(self.addr, token)] = cb
        return token

    def unsubscribe(self, cb: Any, token: int) -> None:
        """Ends the subscription ``token``; ``cb`` (its callback) is kept alive until then."""
        lib.rr_unsubscribe(self.addr, token)
        _LIVE_CBS.pop((self.addr, token), None)
        del cb
        self._drop_sub()

    def _drop_sub(self) -> None:
        with self.lock:
            self.subs -= 1
            free = self.released and self.subs == 0
        if free:
            lib.rr_registry_free(self.addr)


def _unsubscribe(native: NativeRegistry, cb: Any, token: int) -> None:
    native.unsubscribe(cb, token)


def _resolve(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


class _Signal:
    """What the subscription callback touches: a condition for blocking consumers and the
    futures of waiting ``async`` consumers. Holds no reference to the watch."""

    __slots__ = ("cond", "closed", "waiters")

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.closed = False
        self.waiters: List[Tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]] = []

    def wake(self, close: bool = False) -> None:
        with self.cond:
            if close:
                self.closed = True
            waiters, self.waiters = self.waiters, []
            self.cond.notify_all()
        for loop, fut in waiters:
            try:
                loop.call_soon_threadsafe(_resolve, fut)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass


def _callback(sig: _Signal) -> Any:
    def on_change(_generation: int, _ud: Any) -> None:
        try:
            sig.wake()
        except BaseException:  # never let an exception cross the C frames
            pass

    return CHANGE_FN(on_change)


Item = Union[Change, Resync]


class Watch(Managed):
    """The registry's change records as they are committed: a :class:`Change` per record,
    oldest first, from the generation the watch started at; a :class:`Resync` when the
    consumer fell further behind than the registry's change log keeps
    (:meth:`Registry.set_change_log_capacity`).

    Use it as a blocking iterator (``for item in reg.watch(): ...``), as an asynchronous one
    (``async for item in reg.watch(): ...``) or with :meth:`get` (a timeout). Waiting costs
    nothing: the consumer sleeps until a commit wakes it through the library's subscription
    (the callback runs on the writer's thread and only wakes the consumer; the consumer pulls
    the records). :meth:`close` (or the end of a ``with`` block, or closing the registry)
    ends the subscription: iteration then stops (``StopIteration``/``StopAsyncIteration``),
    also in a consumer blocked on another thread or task, and the callback never runs again.

    Meant for one consumer; several consumers of one watch share its items (each item goes
    to one of them). The watch keeps its registry alive.
    """

    __slots__ = ("_reg", "_sig", "_next", "_buf", "_pull_lock", "_limit")
    _what = "watch"

    def __init__(self, reg: "Registry", since: Optional[int] = None, limit: int = 1024) -> None:
        sig = _Signal()
        cb = _callback(sig)
        self._sig = sig
        self._buf: Deque[Item] = collections.deque()
        self._pull_lock = threading.Lock()
        self._limit = limit
        self._reg = reg
        native = reg._native
        p = reg._use()
        try:
            if since is None:
                since = int(lib.rr_generation(p))
            else:
                since = u64_arg("since", since)
                if since > int(lib.rr_generation(p)):
                    check(lib.rr_changes_since(p, since, CHANGE_VISITOR(), None, None))
            self._next: int = since
            token = native.subscribe(cb)
            self._set_handle(token, functools.partial(_unsubscribe, native, cb))
        finally:
            reg._done()
        reg._watchers.add(self)  # our mark first ...
        if reg._ptr is None:  # ... then read the registry's (its close() ends its watchers)
            self.close()
            raise ValueError("the registry is closed")

    @property
    def registry(self) -> "Registry":
        """The registry watched."""
        return self._reg

    @property
    def next_generation(self) -> int:
        """The generation after which the records not yet pulled start."""
        return self._next

    def _on_close(self) -> None:
        self._sig.wake(close=True)
        self._buf.clear()

    def _pending(self) -> bool:
        """Whether records may wait (checked under the signal's lock)."""
        return bool(self._buf) or self._reg._gen.value != self._next

    def poll(self) -> Optional[Item]:
        """The next item if one is there now, else ``None`` (never waits). ``ValueError``
        once closed."""
        with self._pull_lock:
            buf = self._buf
            if buf:
                return buf.popleft()
            self._check()
            reg = self._reg
            if reg._gen.value == self._next:
                return None
            p = reg._use()
            try:
                try:
                    raw, nxt = pull(p, self._next, self._limit)
                except Stale:
                    gen, routes = take_snapshot(p, 4)
                    self._next = gen
                    return Resync(gen, routes)
            finally:
                reg._done()
            self._next = nxt
            buf.extend(make_change(rec) for rec in raw)
            return buf.popleft() if buf else None

    def _ended(self) -> bool:
        if self._ptr is None:
            return True
        if self._reg._ptr is None:
            self.close()
            return True
        return False

    def get(self, timeout: Optional[float] = None) -> Optional[Item]:
        """The next item, waiting for a commit if there is none; ``None`` when ``timeout``
        seconds passed first. ``timeout`` is ``None`` or ``math.inf`` (wait as long as it
        takes) or a real number of seconds >= 0 (``0``: do not wait); a negative or NaN one
        raises :class:`InvalidArgument`, a value that is not a number (a ``str``, a ``bool``)
        ``TypeError``. ``ValueError`` once closed (also when closed while waiting)."""
        t = timeout_arg("timeout", timeout)
        deadline = None if t is None else time.monotonic() + t
        sig = self._sig
        while True:
            item = self.poll()
            if item is not None:
                return item
            with sig.cond:
                while not sig.closed and not self._pending():
                    if deadline is None:
                        sig.cond.wait()
                    else:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            return None
                        sig.cond.wait(min(left, _MAX_WAIT))

    def __iter__(self) -> "Watch":
        return self

    def __next__(self) -> Item:
        try:
            item = self.get()
        except ValueError:
            if self._ended():
                raise StopIteration from None
            raise
        assert item is not None
        return item

    def __aiter__(self) -> "Watch":
        return self

    async def __anext__(self) -> Item:
        loop = asyncio.get_running_loop()
        sig = self._sig
        while True:
            try:
                item = self.poll()
            except ValueError:
                if self._ended():
                    raise StopAsyncIteration from None
                raise
            if item is not None:
                return item
            fut: Optional["asyncio.Future[None]"] = loop.create_future()
            with sig.cond:
                if sig.closed or self._pending():
                    fut = None
                else:
                    sig.waiters.append((loop, fut))  # type: ignore[arg-type]
            if fut is None:
                continue
            try:
                await fut
            finally:
                with sig.cond:
                    try:
                        sig.waiters.remove((loop, fut))
                    except ValueError:
                        pass

    def __repr__(self) -> str:
        state = "closed" if getattr(self, "_ptr", None) is None else f"next={self._next}"
        return f"<Watch {state}>"


# -- batches --------------------------------------------------------------------------------


def _free_batch(addr: int) -> None:
    lib.rr_batch_free(addr)


class Batch(Managed):
    """Adds and deletes committed to a registry as one change set, under one generation:
    readers see all of it or none of it. Made by :meth:`Registry.batch`.

    Each entry is checked when it is put in (a refused entry raises and leaves the batch as
    it was, still usable), so :meth:`commit` cannot fail half-way. :meth:`replace_provider`
    makes the batch a configuration reload of that provider. As a context manager the batch
    commits when the block ends normally and is discarded (nothing changes) when it raises::

        with reg.batch() as b:
            b.replace_provider("file")
            for r in load_routes():
                b.add(r)          # an exception here: the old routes stay, untouched

    After :meth:`commit` the batch is spent: another entry or a second commit raises
    :class:`InvalidArgument`, as the library says; :meth:`close` (or :meth:`discard`, or the
    end of the ``with`` block) frees it, after which any use raises ``ValueError``.
    ``generation`` is the registry's generation after the commit. The batch holds its own
    references to the routes put in it, and keeps its registry alive.
    """

    __slots__ = ("_reg", "_generation")
    _what = "batch"

    def __init__(self, reg: "Registry") -> None:
        reg._check()
        addr = lib.rr_batch_new()
        if not addr:
            raise error_for(RR_PANIC)
        self._set_handle(addr, _free_batch)
        self._reg = reg
        self._generation: Optional[int] = None

    @property
    def registry(self) -> "Registry":
        """The registry the batch commits to."""
        return self._reg

    @property
    def generation(self) -> Optional[int]:
        """The registry's generation after :meth:`commit` (``None`` before, or when
        discarded)."""
        return self._generation

    def add(self, route: Route) -> None:
        """Puts "add ``route``" in the batch (to the pool of its kind, by the rules of
        :meth:`Registry.add` at commit; a route kept out by a higher-priority one gives no
        change record). The route is frozen when the commit registers it."""
        if route is not None and not isinstance(route, Route):
            raise TypeError(f"expected a Route, not {type(route).__name__}")
        bp = self._use()
        try:
            if route is None:  # the library's answer for a NULL route, as in C and Go
                status = lib.rr_batch_add(bp, None)
                e = error_for(status) if status else None
            else:
                rp = route._use()
                try:
                    status = lib.rr_batch_add(bp, rp)
                    e = error_for(status) if status else None
                finally:
                    route._done()
        finally:
            self._done()
        if e is not None:
            raise e

    def del_key(self, kind: Union[Kind, int, str], key: str) -> None:
        """Puts "delete the live route with ``key`` from ``kind``'s pool" in the batch (nothing
        happens at commit if there is none then)."""
        k = kind_arg(kind)
        b = encode("key", key)
        check(self._call(lib.rr_batch_del_key, k, b, len(b)))

    def replace_provider(self, provider: str) -> None:
        """Marks the batch as the complete new set of ``provider``'s routes: at commit, every
        live route of that provider (in any pool) that the batch does not add again under the
        same pool and key is removed, in the same change set; one that it does add there is
        replaced by the first such add whatever the priorities (the same ``Route`` added
        again stays, unchanged)."""
        b = encode("provider", provider)
        check(self._call(lib.rr_batch_replace_provider, b, len(b)))

    def commit(self) -> int:
        """Applies the batch as one change set and closes it. Returns the registry's
        generation afterwards (unchanged when the batch changed nothing)."""
        bp = self._use()
        try:
            reg = self._reg
            rp = reg._use()
            try:
                gen = ctypes.c_uint64()
                status = lib.rr_batch_commit(rp, bp, ctypes.byref(gen))
                e = error_for(status) if status else None
            finally:
                reg._done()
        finally:
            self._done()
        if e is not None:
            raise e
        # The batch stays open, spent: a second commit or a new entry gets the library's
        # RR_INVALID_ARGUMENT, as in C and Go. close(), discard() or the end of a ``with``
        # block frees it.
        self._generation = g = int(gen.value)
        return g

    def discard(self) -> None:
        """Frees the batch uncommitted: nothing changes (idempotent; same as :meth:`close`)."""
        self.close()

    def __enter__(self) -> "Batch":
        self._check()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None and self._ptr is not None and self._generation is None:
                self.commit()
        finally:
            self.close()

    def __repr__(self) -> str:
        if getattr(self, "_ptr", None) is None:
            g = getattr(self, "_generation", None)
            done = "" if g is None else f" at generation {g}"
            return f"<Batch closed{done}>"
        return "<Batch open>"


__all__ = [
    "Batch",
    "Change",
    "Changes",
    "NativeRegistry",
    "Resync",
    "Snapshot",
    "Watch",
    "make_change",
    "pull",
    "release_raw",
    "snapshot_raw",
    "take_snapshot",
    "u64_arg",
]
