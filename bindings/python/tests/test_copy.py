"""No copies of objects that own a native handle: copy.copy, copy.deepcopy and pickle raise
TypeError (a copy would share the handle, and closing either would free it under the
other)."""

from __future__ import annotations

import copy
import pickle
from typing import Any, Callable, Iterator, List

import pytest

import route_registry as rr


@pytest.fixture
def objects() -> Iterator[List[Any]]:
    reg = rr.Registry()
    r = rr.Route(rr.Kind.HTTP, "app", "http://1.1.1.1")
    reg.add(r)
    draft = rr.Route(rr.Kind.HTTP, "draft", "http://1.1.1.1")
    ctx = rr.RouteContext(r)
    b = reg.batch()
    w = reg.watch()
    objs = [reg, r, draft, ctx, b, w]
    try:
        yield objs
    finally:
        for o in reversed(objs):
            o.close()


COPIERS: List[Callable[[Any], Any]] = [
    copy.copy,
    copy.deepcopy,
    pickle.dumps,
    lambda o: pickle.dumps(o, protocol=0),
    lambda o: pickle.dumps(o, protocol=pickle.HIGHEST_PROTOCOL),
]


@pytest.mark.parametrize(
    "copier", COPIERS, ids=["copy", "deepcopy", "pickle", "pickle0", "pickleN"]
)
def test_managed_objects_refuse_copies(objects: List[Any], copier: Callable[[Any], Any]) -> None:
    for o in objects:
        name = type(o).__name__
        with pytest.raises(
            TypeError, match=f"a {name} cannot be (copied|pickled): it owns a native handle"
        ):
            copier(o)
        assert not o.closed  # refusing left the original as it was


def test_containers_of_routes_refuse_deep_copies(objects: List[Any]) -> None:
    reg, r = objects[0], objects[1]
    with pytest.raises(TypeError, match="cannot be copied"):
        copy.deepcopy(reg.http)  # a pool holds its registry
    with pytest.raises(TypeError, match="cannot be copied"):
        copy.deepcopy(reg.snapshot())
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps([r])


def test_original_still_works_after_a_refused_copy(objects: List[Any]) -> None:
    reg, r = objects[0], objects[1]
    with pytest.raises(TypeError):
        copy.copy(r)
    for i in range(1000):
        r.set_health(rr.HealthStatus.HEALTHY, detail="x" * (i % 50))
    assert r.upstream_url == "http://1.1.1.1"
    assert reg["app"] is r
