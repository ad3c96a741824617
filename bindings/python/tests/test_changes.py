"""Change records, snapshots, batches and the caches that follow the change log."""

from __future__ import annotations

import ctypes
import gc
import random
import weakref
from typing import Any, Callable, List, Tuple

import pytest

import route_registry as rr
from route_registry import (
    Batch,
    Change,
    ChangeOp,
    InvalidArgument,
    Kind,
    Registry,
    RouteRegistryError,
    Route,
    Stale,
)
from route_registry._native import VISITOR, lib

A, RL, RP, RM, CL, INV = (
    ChangeOp.ADDED,
    ChangeOp.RELOADED,
    ChangeOp.REPLACED,
    ChangeOp.REMOVED,
    ChangeOp.CLEARED,
    ChangeOp.INVENTORY,
)


def http(alias: str, **kw: Any) -> Route:
    return Route(Kind.HTTP, alias, "http://10.0.0.1:80", **kw)


def stream(alias: str, **kw: Any) -> Route:
    return Route(Kind.STREAM, alias, "tcp://10.0.0.1:53", **kw)


def rec(c: Change) -> Tuple[int, ChangeOp, Kind, str, Any]:
    return (c.generation, c.op, c.kind, c.key, c.route)


class CallCounter:
    """Counts the calls of some library functions made through the binding's ``lib``."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.calls = {n: 0 for n in names}
        self._orig = {n: getattr(lib, n) for n in names}

    def __enter__(self) -> "CallCounter":
        for n in self.names:
            orig = self._orig[n]

            def wrapper(*args: Any, _n: str = n, _f: Any = orig) -> Any:
                self.calls[_n] += 1
                return _f(*args)

            setattr(lib, n, wrapper)
        return self

    def __exit__(self, *exc: object) -> None:
        for n, f in self._orig.items():
            setattr(lib, n, f)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


# -- change records ---------------------------------------------------------------------


def test_records_of_a_sequence_of_operations(reg: Registry) -> None:
    g0 = reg.generation
    a, b, s = http("a"), http("b", priority=1), stream("s")
    a2 = http("a")
    low = http("b", priority=0)
    reg.add(a)  # g0+1 ADDED a
    reg.add(b)  # +2 ADDED b
    reg.add(s)  # +3 ADDED s (stream)
    reg.add(a2)  # +4 REPLACED a (equal priority) -> a2
    assert reg.add(low) is False  # kept out: no change, no generation
    reg.delete("a")  # +5 REMOVED a2
    reg.add(a)  # +6 RELOADED a (deleted < 1 s ago)
    reg.load_proxmox_inventory({"nodes": []})  # +7 INVENTORY
    reg.http.clear()  # +8 CLEARED http
    reg.delete("nope", missing_ok=True)  # nothing
    ch = reg.changes(g0)
    assert [rec(c) for c in ch] == [
        (g0 + 1, A, Kind.HTTP, "a", a),
        (g0 + 2, A, Kind.HTTP, "b", b),
        (g0 + 3, A, Kind.STREAM, "s", s),
        (g0 + 4, RP, Kind.HTTP, "a", a2),
        (g0 + 5, RM, Kind.HTTP, "a", a2),
        (g0 + 6, RL, Kind.HTTP, "a", a),
        (g0 + 7, INV, Kind.HTTP, "", None),
        (g0 + 8, CL, Kind.HTTP, "", None),
    ]
    assert ch.next == reg.generation == g0 + 8
    assert all(isinstance(c.op, ChangeOp) and isinstance(c.kind, Kind) for c in ch)
    # From the middle, and nothing after the end.
    assert [c.generation for c in reg.changes(g0 + 6)] == [g0 + 7, g0 + 8]
    empty = reg.changes(reg.generation)
    assert len(empty) == 0 and empty.next == reg.generation
    with pytest.raises(InvalidArgument):
        reg.changes(reg.generation + 1)
    with pytest.raises(InvalidArgument):
        reg.changes(-1)


def test_a_batch_is_one_change_set(reg: Registry) -> None:
    old = [http(f"o{i}", provider="file") for i in range(3)]
    other = http("x", provider="docker")
    for r in old + [other]:
        reg.add(r)
    g = reg.generation
    new = [http("o1", provider="file"), http("n", provider="file")]
    with reg.batch() as b:
        b.replace_provider("file")
        for r in new:
            b.add(r)
        b.del_key(Kind.HTTP, "x")
    assert b.generation == reg.generation == g + 1
    ch = reg.changes(g)
    assert {c.generation for c in ch} == {g + 1}
    got = sorted((c.op, c.key) for c in ch)
    assert got == sorted([(RM, "o0"), (RM, "o2"), (RP, "o1"), (A, "n"), (RM, "x")])
    assert sorted(reg.keys()) == ["n", "o1"]


def test_limit_stops_at_a_change_set_boundary(reg: Registry) -> None:
    g = reg.generation
    for n in (5, 2):
        with reg.batch() as b:
            for i in range(n):
                b.add(http(f"b{n}-{i}"))
    reg.add(http("after"))
    first = reg.changes(g, limit=2)  # the first batch is never cut, the second not begun
    assert len(first) == 5 and first.next == g + 1
    rest = reg.changes(first.next, limit=1)  # the second whole, and one set after it
    assert [c.key for c in rest] == ["b2-0", "b2-1", "after"]
    assert rest.next == reg.generation == g + 3
    with pytest.raises(InvalidArgument):
        reg.changes(g, limit=0)


def test_stale_after_the_log_wrapped_then_snapshot_and_continue(reg: Registry) -> None:
    reg.set_change_log_capacity(4)
    g = reg.generation
    for i in range(10):
        reg.add(http(f"r{i}"))
    with pytest.raises(Stale) as ei:
        reg.changes(g)
    assert isinstance(ei.value, RouteRegistryError) and ei.value.status == 5
    assert ei.value.message  # the library's message
    snap = reg.snapshot()
    assert snap.generation == reg.generation
    assert sorted(r.key for r in snap.routes) == [f"r{i}" for i in range(10)]
    reg.add(http("later"))
    assert [c.key for c in reg.changes(snap.generation)] == ["later"]
    # The newest records are still there.
    assert [c.key for c in reg.changes(reg.generation - 2)] == ["r9", "later"]
    with pytest.raises(InvalidArgument):
        reg.set_change_log_capacity(0)


def test_snapshot_of_one_pool_and_of_the_active_ones(reg: Registry) -> None:
    reg.add(http("h"))
    reg.add(stream("s"))
    reg.add(Route(Kind.EXCLUDED, "e", "http://10.0.0.1:1"))
    assert [r.key for r in reg.snapshot("active").routes] == ["h", "s"]
    assert [r.key for r in reg.snapshot(Kind.STREAM).routes] == ["s"]
    assert [r.key for r in reg.snapshot("excluded").routes] == ["e"]
    assert len(reg.snapshot().routes) == 3
    with pytest.raises(InvalidArgument):
        reg.snapshot(7)


def _model_records(rnd: random.Random, reg: Registry, n: int) -> List[Tuple[ChangeOp, Kind, str]]:
    """Random adds and deletes (no reloads: every key is added once deleted only after a
    second... the model keeps it simple: a key once deleted is not re-added)."""
    live: "dict[Tuple[Kind, str], int]" = {}
    gone: "set[Tuple[Kind, str]]" = set()
    expected: List[Tuple[ChangeOp, Kind, str]] = []
    for _ in range(n):
        kind = rnd.choice([Kind.HTTP, Kind.STREAM])
        key = f"k{rnd.randrange(30)}"
        if (kind, key) in gone:
            continue
        if rnd.random() < 0.6:
            prio = rnd.randrange(3)
            r = Route(kind, key, "http://10.0.0.1:1" if kind == Kind.HTTP else "tcp://h:1",
                      priority=prio)  # fmt: skip
            if (kind, key) not in live:
                assert reg.add(r)
                live[(kind, key)] = prio
                expected.append((A, kind, key))
            elif prio >= live[(kind, key)]:
                assert reg.add(r)
                live[(kind, key)] = prio
                expected.append((RP, kind, key))
            else:
                assert not reg.add(r)
        elif (kind, key) in live:
            reg.pool(kind).delete(key)
            del live[(kind, key)]
            gone.add((kind, key))
            expected.append((RM, kind, key))
    return expected


@pytest.mark.parametrize("seed", range(5))
def test_records_of_random_sequences_equal_a_model(reg: Registry, seed: int) -> None:
    g = reg.generation
    expected = _model_records(random.Random(seed), reg, 300)
    ch = reg.changes(g)
    assert [(c.op, c.kind, c.key) for c in ch] == expected
    assert [c.generation for c in ch] == list(range(g + 1, g + 1 + len(expected)))


# -- batches ----------------------------------------------------------------------------


def test_batch_discards_on_an_exception_and_nothing_changes(reg: Registry) -> None:
    keep = http("keep", provider="file")
    reg.add(keep)
    g = reg.generation
    with pytest.raises(RuntimeError):
        with reg.batch() as b:
            b.replace_provider("file")
            b.add(http("new", provider="file"))
            raise RuntimeError("the new configuration is bad")
    assert b.closed and b.generation is None
    assert reg.generation == g and len(reg.changes(g)) == 0
    assert reg["keep"] is keep and "new" not in reg


def test_batch_entries_are_checked_when_put_in(reg: Registry) -> None:
    b = reg.batch()
    with pytest.raises(InvalidArgument, match="route is NULL"):
        b.add(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        b.add("a route")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        b.del_key(Kind.HTTP, "")
    with pytest.raises(InvalidArgument):
        b.del_key(9, "x")
    with pytest.raises(InvalidArgument) as ei:
        b.replace_provider("a\0b")
    assert "NUL" in str(ei.value)
    b.add(http("ok"))  # still usable
    gen = b.commit()
    assert gen == reg.generation and "ok" in reg
    # Spent: the library refuses further use, as it does in C and Go ...
    for use in (lambda: b.add(http("x")), b.commit, lambda: b.del_key("http", "k")):
        with pytest.raises(InvalidArgument, match="committed"):
            use()
    b.discard()
    # ... and once freed, the binding says it is closed.
    for use in (lambda: b.add(http("x")), b.commit, lambda: b.del_key("http", "k")):
        with pytest.raises(ValueError, match="batch is closed"):
            use()
    b.discard()  # idempotent
    b.close()


def test_batch_keeps_its_registry_alive_and_frees_when_dropped() -> None:
    b = Registry().batch()
    b.add(http("a"))
    reg = b.registry
    b.commit()
    assert reg["a"].alias == "a"
    reg.close()
    r = http("b")
    b2 = Batch(Registry())
    b2.add(r)
    ref = weakref.ref(b2)
    del b2
    gc.collect()
    assert ref() is None
    assert not r.frozen  # never committed


def test_commit_of_a_batch_that_changes_nothing(reg: Registry) -> None:
    reg.add(http("a", priority=5))
    g = reg.generation
    with reg.batch() as b:
        b.add(http("a", priority=1))  # kept out
        b.del_key("stream", "absent")
    assert b.generation == g == reg.generation


# -- caches that follow the log -------------------------------------------------------------


def test_a_change_to_one_key_leaves_the_others_cached(reg: Registry) -> None:
    a, b = http("a"), http("b")
    reg.add(a)
    reg.add(b)
    got_b = reg["b"]
    assert reg.get("missing") is None
    assert reg.http.get("b") is b
    with CallCounter("rr_get", "rr_pool_get", "rr_get_include_excluded") as cc:
        reg.add(http("a"))  # replaces a
        assert reg["b"] is got_b  # the same object, no native lookup
        assert reg.http.get("b") is b
        assert reg.get("missing") is None  # a cached miss of another key stays too
        assert cc.total == 0
        assert reg["a"] is not a  # the changed key is looked up again
        assert cc.calls["rr_get"] == 1
        reg.add(http("missing"))
        assert reg["missing"].alias == "missing"  # a cached miss is forgotten when named
        assert cc.calls["rr_get"] == 2


def test_stale_drops_every_cached_entry(reg: Registry) -> None:
    reg.set_change_log_capacity(2)
    for k in "abc":
        reg.add(http(k))
    assert reg["a"] and reg["b"]
    for i in range(5):
        reg.add(http(f"x{i}"))
    with CallCounter("rr_get") as cc:
        assert reg["a"].alias == "a" and reg["b"].alias == "b"
        assert cc.calls["rr_get"] == 2


def test_iteration_after_a_change_uses_the_replica(reg: Registry) -> None:
    for i in range(50):
        reg.add(http(f"r{i}"))
    assert len(reg.iter_active()) == 50
    with CallCounter("rr_snapshot", "rr_iter_active", "rr_route_retain") as cc:
        reg.add(http("new"))
        reg.delete("r3")
        keys = reg.keys()
        assert sorted(keys) == sorted([f"r{i}" for i in range(50) if i != 3] + ["new"])
        assert cc.calls["rr_snapshot"] == 0 and cc.calls["rr_iter_active"] == 0
        # Only the new route is wrapped: a reference for the replica, one for a new handle.
        assert cc.calls["rr_route_retain"] <= 2
    assert len(reg) == 50 and reg.http.size() == 50


def _native_listing(reg: Registry, fn: Callable[..., int], *args: Any) -> List[str]:
    out: List[str] = []

    def visit(addr: int, _ud: Any) -> bool:
        s = lib.rr_route_key(addr)
        out.append(ctypes.string_at(s.ptr, s.len).decode())
        return True

    fn(reg._ptr, *args, VISITOR(visit), None)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_the_replica_equals_the_library_after_random_changes(reg: Registry, seed: int) -> None:
    rnd = random.Random(seed)
    reg.set_change_log_capacity(rnd.choice([3, 64, 4096]))
    for step in range(400):
        kind = Kind(rnd.randrange(3))
        key = rnd.choice(["a", "B", "c", "Ä", "a1", "z", "m", "q", "é", "zz"])
        x = rnd.random()
        if x < 0.5:
            url = {Kind.HTTP: "http://h:1", Kind.STREAM: "tcp://h:1", Kind.EXCLUDED: "http://h:2"}
            alias = rnd.choice(["x", "y", key])
            reg.add(Route(kind, alias, url[kind], key=key, priority=rnd.randrange(-1, 2)))
        elif x < 0.75:
            reg.pool(kind).delete(key, missing_ok=True)
        elif x < 0.78:
            reg.pool(kind).clear()
        elif x < 0.85:
            with reg.batch() as b:
                for _ in range(rnd.randrange(4)):
                    k2 = rnd.choice(["a", "b", "c"])
                    b.add(Route(kind, k2, "http://h:3" if kind != Kind.STREAM else "tcp://h:3",
                                provider="p"))  # fmt: skip
                if rnd.random() < 0.5:
                    b.replace_provider("p")
        elif x < 0.87:
            rnd.choice(reg.iter_all() or (http("tmp"),)).close()  # a user closes a handle
        if step % 7 == 0 or x > 0.95:
            assert sorted(reg.keys()) == sorted(_native_listing(reg, lib.rr_iter_active))
            for k in Kind:
                got = [r.key for r in reg.pool(k).sorted()]
                assert got == _native_listing(reg, lib.rr_pool_iter_sorted, int(k))
                assert sorted(reg.pool(k).keys()) == sorted(got)
                assert reg.pool(k).size() == len(got)
            assert len(reg.iter_all()) == reg.num_all_routes() == lib.rr_num_all_routes(reg._ptr)
            assert all(not r.closed for r in reg.iter_all())


def test_closed_handles_in_listings_are_replaced(reg: Registry) -> None:
    reg.add(http("a", data="payload"))
    first = reg.iter_active()[0]
    first.close()
    again = reg.iter_active()[0]
    assert again is not first and not again.closed and again.data == "payload"


def test_clear_releases_what_the_replica_held(reg: Registry) -> None:
    from conftest import drop_change_records, settle

    settle()
    base = rr.live_routes()
    for i in range(20):
        reg.add(http(f"r{i}"))
    reg.iter_all()
    reg.clear()
    drop_change_records(reg)
    settle()
    assert rr.live_routes() == base


def test_the_replica_is_released_with_its_registry() -> None:
    from conftest import settle

    settle()
    base = rr.live_routes()
    reg = Registry()
    for i in range(20):
        reg.add(http(f"r{i}"))
    reg.iter_all()
    del reg
    settle()
    assert rr.live_routes() == base
    reg2 = Registry()
    reg2.add(http("x"))
    reg2.iter_all()
    reg2.close()
    settle()
    assert rr.live_routes() == base


def test_concurrent_readers_and_writers_see_whole_change_sets(reg: Registry) -> None:
    """Listings come from one generation: a reader never sees half of a reload."""
    import threading

    def load(version: int) -> None:
        with reg.batch() as b:
            b.replace_provider("file")
            for i in range(20):
                b.add(http(f"v{version}-{i}", provider="file"))

    load(0)
    stop = threading.Event()
    bad: List[Any] = []

    def reader() -> None:
        while not stop.is_set():
            keys = reg.keys()
            versions = {k.split("-")[0] for k in keys}
            if len(keys) != 20 or len(versions) != 1:
                bad.append(keys)
            if len(reg) != 20:
                bad.append(len(reg))

    ts = [threading.Thread(target=reader) for _ in range(2)]
    for t in ts:
        t.start()
    for v in range(1, 150):
        load(v)
    stop.set()
    for t in ts:
        t.join()
    assert not bad, bad[:3]


def test_clearing_one_pool_keeps_the_replica_of_the_others(reg: Registry) -> None:
    s = stream("s")
    reg.add(http("h"))
    reg.add(s)
    assert len(reg.iter_all()) == 2
    with CallCounter("rr_snapshot", "rr_iter_all") as cc:
        reg.http.clear()
        assert reg.iter_all() == (s,)
        assert cc.total == 0
    reg.clear()
    assert reg.iter_all() == () and len(reg) == 0


def test_cached_lookups_never_go_back_in_time(reg: Registry) -> None:
    """A writer replaces "k" with ever newer versions (and churns other keys, so catch-ups
    and cache fills interleave); each reader must see versions that never decrease, and,
    once the writer is done, the last one."""
    import threading

    stop = threading.Event()
    bad: List[Any] = []
    last = 1500

    def reader() -> None:
        seen = -1
        while not stop.is_set():
            for get in (reg.get, reg.http.get, reg.get_include_excluded):
                r = get("k")
                v = -1 if r is None else r.data
                if v < seen:
                    bad.append((seen, v))
                seen = max(seen, v)
            reg.iter_active()

    reg.add(http("k", data=0))
    ts = [threading.Thread(target=reader) for _ in range(3)]
    for t in ts:
        t.start()
    for v in range(1, last + 1):
        reg.add(http("k", data=v))
        reg.add(http(f"other{v % 7}"))
        if v % 5 == 0:
            reg.delete(f"other{v % 7}", missing_ok=True)
    stop.set()
    for t in ts:
        t.join()
    assert not bad, bad[:5]
    assert reg["k"].data == last and reg.http["k"].data == last
