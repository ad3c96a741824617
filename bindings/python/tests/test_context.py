from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Dict, List, Optional

import pytest
import route_registry as rr
from route_registry import Kind, Route, route_context, try_get_route


def _getters() -> Dict[str, str]:
    return {
        "name": rr.try_get_upstream_name(),
        "scheme": rr.try_get_upstream_scheme(),
        "host": rr.try_get_upstream_host(),
        "port": rr.try_get_upstream_port(),
        "host_port": rr.try_get_upstream_host_port(),
        "addr": rr.try_get_upstream_addr(),
        "url": rr.try_get_upstream_url(),
    }


def test_no_route_gives_none_and_empty_strings() -> None:
    assert try_get_route() is None
    assert set(_getters().values()) == {""}


def test_route_context_sets_and_restores() -> None:
    a = Route(Kind.HTTP, "a", "https://[::1]:8443/x")
    b = Route(Kind.STREAM, "b", "tcp://10.0.0.2:22")
    with route_context(a) as got:
        assert got is a and try_get_route() is a
        assert _getters() == {
            "name": "a", "scheme": "https", "host": "::1", "port": "8443",
            "host_port": "[::1]:8443", "addr": "[::1]:8443", "url": "https://[::1]:8443/x",
        }  # fmt: skip
        with route_context(b):
            assert try_get_route() is b and rr.try_get_upstream_port() == "22"
            with route_context(None) as inner:  # no route: the parent's stays
                assert inner is b and try_get_route() is b
        assert try_get_route() is a
    assert try_get_route() is None


def test_context_is_restored_after_an_exception() -> None:
    a = Route(Kind.HTTP, "a", "http://h:1")
    with pytest.raises(RuntimeError):
        with route_context(a):
            raise RuntimeError("boom")
    assert try_get_route() is None


def test_bad_route_context_arguments() -> None:
    with pytest.raises(TypeError, match="Route or None"):
        route_context("a")  # type: ignore[arg-type]
    ctx = route_context(Route(Kind.HTTP, "a", "http://h:1"))
    with ctx:
        with pytest.raises(RuntimeError, match="already entered"):
            ctx.__enter__()


def test_reading_another_context() -> None:
    a = Route(Kind.HTTP, "a", "http://h:1")
    with rr.with_route(a):
        snap = contextvars.copy_context()
    assert try_get_route() is None
    assert try_get_route(snap) is a and rr.try_get_upstream_host(snap) == "h"


def test_threads_see_their_own_route() -> None:
    routes = [Route(Kind.HTTP, f"r{i}", f"http://10.0.0.{i}:80") for i in range(8)]
    barrier = threading.Barrier(len(routes))
    errors: List[str] = []

    def work(r: Route) -> None:
        assert try_get_route() is None
        with route_context(r):
            barrier.wait()  # every thread is inside its own context at once
            for _ in range(200):
                if try_get_route() is not r or rr.try_get_upstream_host() != r.upstream_host:
                    errors.append(r.alias)
            barrier.wait()
        if try_get_route() is not None:
            errors.append("leaked " + r.alias)

    with route_context(Route(Kind.HTTP, "main", "http://h:1")):
        threads = [threading.Thread(target=work, args=(r,)) for r in routes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert rr.try_get_upstream_name() == "main"
    assert errors == []


def test_asyncio_tasks_see_their_own_route() -> None:
    routes = [Route(Kind.HTTP, f"t{i}", f"http://10.1.0.{i}:80") for i in range(20)]

    async def handler(r: Route) -> Optional[str]:
        with route_context(r):
            await asyncio.sleep(0.01)  # interleave with every other task
            assert try_get_route() is r
            await asyncio.sleep(0)
            return rr.try_get_upstream_name()

    async def main() -> List[Optional[str]]:
        names = await asyncio.gather(*(handler(r) for r in routes))
        assert try_get_route() is None
        return list(names)

    assert asyncio.run(main()) == [r.alias for r in routes]


def test_asyncio_child_task_inherits_parent_route() -> None:
    a = Route(Kind.HTTP, "parent", "http://h:1")

    async def child() -> Optional[Route]:
        return try_get_route()

    async def main() -> Optional[Route]:
        with route_context(a):
            task = asyncio.create_task(child())
        return await task

    assert asyncio.run(main()) is a
