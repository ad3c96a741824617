"""Lifecycle rules: whatever the user drops, closes or lets the garbage collector take, in any
order, nothing crashes; using an object after its own close() raises ValueError."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import route_registry as rr
from conftest import settle
from route_registry import Kind, Registry, Route

SRC = Path(__file__).resolve().parents[1] / "src"


def _run(code: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env = dict(os.environ, PYTHONPATH=str(SRC))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_pool_keeps_its_registry_alive_in_a_fresh_interpreter() -> None:
    """The line that used to crash the interpreter (exit -11): the registry, referenced only
    through its pool, was freed by the garbage collector under the pool."""
    p = _run(
        """
        import gc
        from route_registry import Registry, Route, Kind
        pool = Registry().http
        gc.collect()
        assert pool.get("a") is None
        pool.add(Route(Kind.HTTP, "a", "http://10.0.0.1:80"))
        gc.collect()
        assert pool["a"].alias == "a" and len(pool) == 1
        print("ok")
        """
    )
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])
    assert p.stdout.strip() == "ok"


def test_a_pool_keeps_its_registry_alive() -> None:
    pool = Registry().stream
    settle()
    pool.add(Route(Kind.STREAM, "s", "tcp://10.0.0.1:53"))
    settle()
    assert pool["s"].upstream_port == "53"
    assert pool.registry.stream is pool


def test_a_closed_route_raises_value_error_on_every_use() -> None:
    r = Route(Kind.HTTP, "a", "http://10.0.0.1:80", provider="p", data=1)
    assert r.alias == "a"
    r.close()
    assert r.closed
    for attr in (
        "alias", "key", "display_name", "provider", "priority", "is_docker", "kind",
        "upstream_url", "upstream_host", "user_data", "frozen", "proxmox", "health",
        "health_status", "data",
    ):  # fmt: skip
        with pytest.raises(ValueError, match="closed"):
            getattr(r, attr)
    with pytest.raises(ValueError, match="closed"):
        r.set_health(rr.HealthStatus.HEALTHY)
    with pytest.raises(ValueError, match="closed"):
        r.set_key("k")
    with pytest.raises(ValueError, match="closed"):
        Registry().add(r)
    with pytest.raises(ValueError, match="closed"):
        rr.route_context(r)
    assert repr(r) == "<Route (closed)>"
    r.close()  # idempotent


def test_a_closed_registry_and_its_pools_raise_value_error() -> None:
    reg = Registry()
    pool = reg.excluded
    reg.close()
    for use in (
        lambda: reg.get("a"), lambda: reg["a"], lambda: len(reg), lambda: reg.iter_all(),
        lambda: reg.health_json(), lambda: reg.by_provider(), lambda: reg.delete("a"),
        lambda: pool.get("a"), lambda: pool.size(), lambda: pool.clear(),
        lambda: reg.generation,
    ):  # fmt: skip
        with pytest.raises(ValueError, match="closed"):
            use()
    reg.close()


def test_a_route_handle_outlives_its_closed_registry() -> None:
    reg = Registry()
    r = Route(Kind.HTTP, "a", "http://10.0.0.1:80")
    reg.add(r)
    got = reg["a"]
    reg.close()
    settle()
    assert got is r and got.upstream_host == "10.0.0.1"


def test_every_managed_object_shares_one_base() -> None:
    from route_registry._managed import Managed

    assert issubclass(Registry, Managed) and issubclass(Route, Managed)
    assert issubclass(rr.RouteContext, Managed)
    assert issubclass(rr.Batch, Managed) and issubclass(rr.Watch, Managed)


def test_batches_and_watches_keep_their_registry_alive_in_a_fresh_interpreter() -> None:
    p = _run(
        """
        import gc
        from route_registry import Registry, Route, Kind
        b = Registry().batch()
        w = b.registry.watch()
        gc.collect()
        b.add(Route(Kind.HTTP, "a", "http://10.0.0.1:80"))
        b.commit()
        gc.collect()
        assert w.get(1).key == "a"
        w2 = Registry().watch()
        gc.collect()
        w2.registry.add(Route(Kind.HTTP, "b", "http://10.0.0.1:80"))
        assert w2.get(1).key == "b"
        del w2
        gc.collect()
        print("ok")
        """
    )
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])
    assert p.stdout.strip() == "ok"


def test_a_closed_batch_or_watch_raises_value_error() -> None:
    reg = Registry()
    b = reg.batch()
    b.close()
    for use in (lambda: b.add(Route(Kind.HTTP, "a", "http://h:1")), b.commit,
                lambda: b.replace_provider("p"), lambda: b.del_key("http", "a")):  # fmt: skip
        with pytest.raises(ValueError, match="batch is closed"):
            use()
    w = reg.watch()
    w.close()
    w.close()
    for use2 in (w.get, w.poll):
        with pytest.raises(ValueError, match="watch is closed"):
            use2()
    assert list(w) == []
    reg.close()


def test_close_releases_exactly_once_even_after_gc() -> None:
    settle()
    base = rr.live_routes()
    r = Route(Kind.HTTP, "a", "http://10.0.0.1:80")
    r.close()
    r.close()
    del r
    settle()
    assert rr.live_routes() == base


def test_ownership_can_be_handed_to_c_exactly_once() -> None:
    settle()
    base = rr.live_routes()
    r = Route(Kind.HTTP, "a", "http://10.0.0.1:80")
    ptr = r._consume()
    assert r.closed and rr.live_routes() == base + 1
    with pytest.raises(ValueError, match="closed"):
        r._consume()
    del r
    settle()
    assert rr.live_routes() == base + 1  # C owns it now: the finalizer no longer releases it
    rr._native.lib.rr_route_release(ptr)
    assert rr.live_routes() == base


def test_a_context_holds_its_route() -> None:
    settle()
    base = rr.live_routes()
    r = Route(Kind.HTTP, "ctx", "http://10.0.0.7:81")
    ctx = rr.RouteContext(r)
    r.close()
    del r
    gc.collect()
    assert ctx.route is not None and ctx.upstream_host == "10.0.0.7"
    assert ctx.upstream_name == "ctx"
    child = rr.RouteContext(None, parent=ctx)
    ctx.close()
    assert child.upstream_port == "81"
    with pytest.raises(ValueError, match="closed"):
        _ = ctx.upstream_host
    child.close()
    settle()
    assert rr.live_routes() == base


def test_consume_and_close_race_releases_exactly_once() -> None:
    """Many threads close() or _consume() the same routes at once: each native reference ends
    up released exactly once (by close, or by us for the one consumer that won)."""
    import threading

    settle()
    base = rr.live_routes()
    for _ in range(50):
        r = Route(Kind.HTTP, "race", "http://10.0.0.1:80")
        won: "list[int]" = []
        go = threading.Barrier(4)

        def consume(r: Route = r, won: "list[int]" = won, go: threading.Barrier = go) -> None:
            go.wait()
            try:
                won.append(r._consume())
            except ValueError:
                pass

        def close(r: Route = r, go: threading.Barrier = go) -> None:
            go.wait()
            r.close()

        ts = [threading.Thread(target=f) for f in (consume, consume, close, close)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert len(won) <= 1 and r.closed
        for p in won:
            rr._native.lib.rr_route_release(p)
        del r
    settle()
    assert rr.live_routes() == base


def test_a_borrowed_string_is_copied_before_a_concurrent_close_releases_the_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """close() during a call defers the release until the call is done, and the call's
    borrowed rr_str is copied inside it (the lifecycle fuzzer found a version that copied it
    after: a use after free under ASan)."""
    from route_registry import _route

    settle()
    base = rr.live_routes()
    r = Route(Kind.HTTP, "borrow", "http://10.0.0.9:81")
    alive_when_read: "list[int]" = []
    real_read = _route.read_str

    def read(s: object) -> str:
        alive_when_read.append(rr.live_routes())
        return real_read(s)  # type: ignore[arg-type]

    def closes_meanwhile(p: int) -> object:
        r.close()  # as another thread would, while this call holds the handle
        return _route.lib.rr_route_upstream_host(p)

    monkeypatch.setattr(_route, "read_str", read)
    assert r._str("host", closes_meanwhile) == "10.0.0.9"
    assert alive_when_read == [base + 1]  # copied while the route was still alive
    assert r.closed and rr.live_routes() == base  # and released right after
