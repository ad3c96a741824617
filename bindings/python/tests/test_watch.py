"""Watches: blocking and asyncio consumers woken by the library's subscription."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from typing import Any, List, Union

import pytest

import route_registry as rr
from route_registry import Change, ChangeOp, Kind, Registry, Resync, Route, Watch
from route_registry import _changes


def http(alias: str, **kw: Any) -> Route:
    return Route(Kind.HTTP, alias, "http://10.0.0.1:80", **kw)


def writer(reg: Registry, keys: List[str], delay: float = 0.002) -> threading.Thread:
    def run() -> None:
        for k in keys:
            time.sleep(delay)
            reg.add(http(k))

    t = threading.Thread(target=run)
    t.start()
    return t


class CountingCallbacks:
    """Counts the subscription callbacks of watches made while installed."""

    def __init__(self) -> None:
        self.calls = 0
        self._orig = _changes._callback

    def __enter__(self) -> "CountingCallbacks":
        orig = self._orig

        def make(sig: Any) -> Any:
            def on_change(_g: int, _ud: Any) -> None:
                self.calls += 1
                sig.wake()

            return _changes.CHANGE_FN(on_change)

        _changes._callback = make
        del orig
        return self

    def __exit__(self, *exc: object) -> None:
        _changes._callback = self._orig


def test_blocking_iteration_with_a_writer_thread(reg: Registry) -> None:
    keys = [f"k{i}" for i in range(30)]
    with reg.watch() as w:
        t = writer(reg, keys)
        got: List[str] = []
        for item in w:
            assert isinstance(item, Change) and item.op == ChangeOp.ADDED
            assert item.route is not None and item.route.key == item.key
            got.append(item.key)
            if len(got) == len(keys):
                break
        t.join()
    assert got == keys
    assert w.closed


def test_watch_starts_now_or_from_a_generation(reg: Registry) -> None:
    reg.add(http("before"))
    g = reg.generation
    reg.add(http("after"))
    with reg.watch() as now, reg.watch(since=g - 1) as past:
        assert now.poll() is None
        assert [past.get(0).key, past.get(0).key] == ["before", "after"]  # type: ignore[union-attr]
        assert past.get(timeout=0.01) is None
    with pytest.raises(rr.InvalidArgument):
        reg.watch(since=reg.generation + 5)


def test_async_iteration_with_a_writer_thread(reg: Registry) -> None:
    keys = [f"a{i}" for i in range(25)]

    async def consume() -> List[str]:
        got: List[str] = []
        w = reg.watch()
        t = writer(reg, keys)
        async for item in w:
            assert isinstance(item, Change)
            got.append(item.key)
            if len(got) == len(keys):
                break
        w.close()
        await asyncio.get_running_loop().run_in_executor(None, t.join)
        return got

    assert asyncio.run(consume()) == keys


def test_async_consumer_waits_without_polling(reg: Registry) -> None:
    """Between commits the consumer sleeps on a future: no pull happens while idle."""
    pulls = [0]
    orig = _changes.pull

    def counting_pull(*a: Any, **kw: Any) -> Any:
        pulls[0] += 1
        return orig(*a, **kw)

    async def consume() -> None:
        w = reg.watch()
        task = asyncio.ensure_future(w.__anext__())
        await asyncio.sleep(0.2)  # idle: nothing committed
        assert pulls[0] == 0 and not task.done()
        threading.Thread(target=lambda: reg.add(http("x"))).start()
        item = await asyncio.wait_for(task, 5)
        assert isinstance(item, Change) and item.key == "x"
        assert pulls[0] == 1
        w.close()

    _changes.pull = counting_pull
    try:
        asyncio.run(consume())
    finally:
        _changes.pull = orig


def test_closing_wakes_a_blocked_consumer(reg: Registry) -> None:
    w = reg.watch()
    out: List[Any] = []

    def consume() -> None:
        out.extend(w)  # blocks until closed

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.1)
    w.close()
    t.join(5)
    assert not t.is_alive() and out == []
    with pytest.raises(ValueError, match="watch is closed"):
        w.get()
    with pytest.raises(ValueError, match="watch is closed"):
        w.poll()


def test_closing_wakes_an_async_consumer(reg: Registry) -> None:
    async def run() -> List[Any]:
        w = reg.watch()
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, lambda: threading.Thread(target=w.close).start())
        return [item async for item in w]

    assert asyncio.run(run()) == []


def test_closing_the_registry_ends_its_watches() -> None:
    reg = Registry()
    w = reg.watch()
    t = threading.Thread(target=lambda: list(w))
    t.start()
    time.sleep(0.05)
    reg.close()
    t.join(5)
    assert not t.is_alive() and w.closed
    with pytest.raises(ValueError):
        reg.watch()


def test_resync_when_the_consumer_falls_behind(reg: Registry) -> None:
    reg.set_change_log_capacity(8)
    with reg.watch() as w:
        reg.add(http("first"))
        item = w.get(0)
        assert isinstance(item, Change) and item.key == "first"
        for i in range(50):  # the consumer does not read: the log drops what it needs
            reg.add(http(f"r{i}"))
        item2 = w.get(0)
        assert isinstance(item2, Resync)
        assert item2.generation == reg.generation
        expected = sorted(["first"] + [f"r{i}" for i in range(50)])
        assert sorted(r.key for r in item2.routes) == expected
        reg.add(http("next"))
        item3 = w.get(1)
        assert isinstance(item3, Change) and item3.key == "next"
        assert item3.generation == item2.generation + 1


def test_no_silent_gap_under_a_fast_writer(reg: Registry) -> None:
    """Every generation is accounted for: a record, or a resync covering it."""
    reg.set_change_log_capacity(16)
    n = 400
    with reg.watch() as w:
        t = writer(reg, [f"k{i}" for i in range(n)], delay=0)
        last = w.next_generation
        seen: List[Union[Change, Resync]] = []
        while last < n:
            item = w.get(5)
            assert item is not None
            if isinstance(item, Change):
                assert item.generation == last + 1, (item, last)
            else:
                assert item.generation > last
            last = item.generation
            seen.append(item)
            if len(seen) % 50 == 0:
                time.sleep(0.01)  # fall behind now and then
        t.join()
    assert last == n


def test_stopping_unsubscribes_and_the_callback_never_runs_after(reg: Registry) -> None:
    with CountingCallbacks() as cc:
        w = reg.watch()
        gc.collect()  # the callback object is kept alive by the subscription alone
        reg.add(http("a"))
        assert cc.calls == 1
        assert reg._native.subs == 1
        w.close()
        assert reg._native.subs == 0
        for i in range(5):
            reg.add(http(f"b{i}"))
        assert cc.calls == 1
        with reg.watch():
            reg.add(http("c"))
        reg.add(http("d"))
        assert cc.calls == 2


def test_close_from_another_thread_while_callbacks_run(reg: Registry) -> None:
    """Unsubscribing while a writer thread is delivering: after close() returns, no call."""
    with CountingCallbacks() as cc:
        for _ in range(20):
            w = reg.watch()
            stop = threading.Event()

            def write(stop: threading.Event = stop) -> None:
                i = 0
                while not stop.is_set():
                    reg.add(http(f"w{i % 5}"))
                    i += 1

            t = threading.Thread(target=write)
            t.start()
            time.sleep(0.005)
            w.close()
            after = cc.calls
            time.sleep(0.005)
            assert cc.calls == after
            stop.set()
            t.join()


def test_a_forgotten_watch_unsubscribes_and_frees_in_any_order() -> None:
    with CountingCallbacks() as cc:
        reg = Registry()
        w = reg.watch()
        native = reg._native
        ref = weakref.ref(w)
        del w
        gc.collect()
        assert ref() is None and native.subs == 0
        reg.add(http("a"))
        assert cc.calls == 0
        # The registry and its watch collected together, in one garbage-collector pass.
        for _ in range(10):
            reg2 = Registry()
            w2 = reg2.watch()
            native2 = reg2._native
            reg2.add(http("b"))
            holder: List[Any] = [w2, reg2]
            holder.append(holder)
            del reg2, w2, holder
            gc.collect()
            assert native2.released and native2.subs == 0


def test_watch_keeps_its_registry_alive() -> None:
    w = Registry().watch()
    w.registry.add(http("a"))
    item = w.get(1)
    assert isinstance(item, Change) and item.key == "a"
    w.close()
    assert isinstance(w, Watch)


def test_a_watch_from_a_generation_the_log_dropped_starts_with_a_resync(reg: Registry) -> None:
    reg.set_change_log_capacity(2)
    for i in range(6):
        reg.add(http(f"r{i}"))

    async def first() -> Any:
        with reg.watch(since=0) as w:
            return await w.__anext__()

    item = asyncio.run(first())
    assert isinstance(item, Resync) and item.generation == reg.generation
    assert sorted(r.key for r in item.routes) == [f"r{i}" for i in range(6)]


# -- Watch.get(timeout): what it accepts ------------------------------------------------------


def test_get_timeout_rejects_nan_and_negative() -> None:
    import math

    with rr.Registry() as reg, reg.watch() as w:
        for bad in (math.nan, -1, -0.5, -math.inf, -(2**2000)):
            t0 = time.monotonic()
            with pytest.raises(rr.InvalidArgument, match="timeout .* is not a number of seconds"):
                w.get(bad)
            assert time.monotonic() - t0 < 1.0  # refused at once, no wait, no spin


def test_get_timeout_rejects_non_numbers() -> None:
    with rr.Registry() as reg, reg.watch() as w:
        for bad, tname in (("1", "str"), (True, "bool"), (b"1", "bytes"), ([], "list")):
            with pytest.raises(
                TypeError, match=f"timeout must be a number of seconds .* not {tname}"
            ):
                w.get(bad)


def test_get_timeout_zero_small_and_none() -> None:
    import fractions

    with rr.Registry() as reg, reg.watch() as w:
        assert w.get(0) is None
        assert w.get(0.01) is None
        assert w.get(fractions.Fraction(1, 100)) is None
        reg.add(rr.Route(rr.Kind.HTTP, "a", "http://1.1.1.1"))
        assert isinstance(w.get(None), rr.Change)


@pytest.mark.parametrize("forever", ["inf", "1e10", "2**2000", "10**400"])
def test_get_timeout_huge_waits_without_overflow(forever: str) -> None:
    # inf and huge finite timeouts wait (no OverflowError) and return the item a commit makes.
    t = eval(forever.replace("inf", "float('inf')"))
    with rr.Registry() as reg, reg.watch() as w:
        out: list = []

        def consume() -> None:
            try:
                out.append(w.get(t))
            except BaseException as e:  # noqa: BLE001
                out.append(e)

        th = threading.Thread(target=consume)
        th.start()
        time.sleep(0.1)
        assert not out, out  # still waiting
        reg.add(rr.Route(rr.Kind.HTTP, "a", "http://1.1.1.1"))
        th.join(5)
        assert not th.is_alive()
        assert len(out) == 1 and isinstance(out[0], rr.Change), out
