"""Native references are released deterministically and by finalizers, never twice."""

from __future__ import annotations

import weakref

import route_registry as rr
from conftest import drop_change_records, settle
from route_registry import Kind, Registry, Route


def test_routes_return_to_baseline_after_clear_and_gc() -> None:
    settle()
    base, tracked = rr.live_routes(), rr.tracked_routes()
    reg = Registry()
    for i in range(500):
        r = Route(Kind.HTTP, f"r{i}", "http://h:1", data=[i])
        reg.add(r)
        reg.get(f"r{i}")
    del r
    reg.iter_all()
    reg.http.sorted()
    reg.by_provider()
    assert rr.live_routes() == base + 500
    reg.clear()
    drop_change_records(reg)
    settle()
    assert rr.live_routes() == base and rr.tracked_routes() == tracked
    reg.close()


def test_closing_a_registry_releases_its_routes() -> None:
    settle()
    base = rr.live_routes()
    reg = Registry()
    kept = Route(Kind.HTTP, "kept", "http://h:1")
    for i in range(50):
        reg.add(Route(Kind.STREAM, f"s{i}", "tcp://h:1"))
    reg.add(kept)
    reg.get("kept")
    reg.close()
    settle()
    assert rr.live_routes() == base + 1  # only the one we hold
    assert kept.upstream_host == "h"
    kept.close()
    assert rr.live_routes() == base


def test_dropped_registry_is_freed_by_its_finalizer() -> None:
    settle()
    base = rr.live_routes()
    reg = Registry()
    reg.add(Route(Kind.HTTP, "a", "http://h:1"))
    ref = weakref.ref(reg)
    del reg
    settle()
    assert ref() is None
    assert rr.live_routes() == base


def test_route_handle_is_released_once_by_close_or_gc() -> None:
    settle()
    base = rr.live_routes()
    r = Route(Kind.HTTP, "a", "http://h:1")
    assert rr.live_routes() == base + 1
    r.close()
    r.close()
    assert rr.live_routes() == base
    del r
    settle()
    assert rr.live_routes() == base
    r2 = Route(Kind.HTTP, "b", "http://h:1")
    del r2
    settle()
    assert rr.live_routes() == base


def test_deleted_route_is_destroyed_when_the_last_handle_goes() -> None:
    settle()
    base, tracked = rr.live_routes(), rr.tracked_routes()
    with Registry() as reg:
        r = Route(Kind.HTTP, "a", "http://h:1")
        reg.add(r)
        assert reg.get("a") is r
        reg.delete(r)
        drop_change_records(reg)
        assert rr.live_routes() == base + 1  # our handle keeps it
        del r
        settle()
        assert rr.live_routes() == base and rr.tracked_routes() == tracked


def test_iteration_of_foreign_routes_does_not_leak() -> None:
    """Routes made through the C API directly (no Python state) get fresh handles."""
    import ctypes

    from route_registry._native import lib

    settle()
    base = rr.live_routes()
    with Registry() as reg:
        out = ctypes.c_void_p()
        assert lib.rr_route_new(0, b"c", 1, b"http://h:1", 10, ctypes.byref(out)) == 0
        assert lib.rr_add(reg._ptr, out.value) == 0
        lib.rr_route_release(out.value)
        got = reg["c"]
        assert got.alias == "c" and got.data is None and got.user_data == 0
        assert reg.iter_all()[0].upstream_url == "http://h:1"
        del got
    settle()
    assert rr.live_routes() == base
