"""Which exception class a wrong argument gets: InvalidArgument (also a ValueError) for a
value the library's rules refuse, TypeError naming what is accepted for a value of the wrong
Python type."""

from __future__ import annotations

import contextvars
from typing import Iterator

import pytest

import route_registry as rr
from route_registry import InvalidArgument, Kind, Registry, Route


@pytest.fixture
def reg() -> Iterator[Registry]:
    r = Registry()
    try:
        yield r
    finally:
        r.close()


def test_pool_kind_mismatch_is_invalid_argument(reg: Registry) -> None:
    s = Route(Kind.STREAM, "s", "tcp://1.1.1.1:5")
    for call in (reg.http.add, reg.http.add_if_not_exists, reg.excluded.add):
        with pytest.raises(InvalidArgument) as ei:
            call(s)
        msg = str(ei.value)
        assert "'s'" in msg and "STREAM" in msg and "pool" in msg
        assert ei.value.status == rr._bindings.RR_INVALID_ARGUMENT
    assert reg.http.add(Route(Kind.HTTP, "h", "http://1.1.1.1"))  # the right kind works


@pytest.mark.parametrize("bad", [None, 1, 2.5, b"k", ["k"]])
def test_delete_wrong_type_is_type_error_naming_both(reg: Registry, bad: object) -> None:
    with pytest.raises(TypeError, match=f"a Route or a str key, not {type(bad).__name__}"):
        reg.delete(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=f"a str key or a Route, not {type(bad).__name__}"):
        reg.http.delete(bad)  # type: ignore[arg-type]


def test_get_and_delete_agree_on_none(reg: Registry) -> None:
    with pytest.raises(TypeError):
        reg.get(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        reg.delete(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("vmid", [2**31, 2**40, -(2**31) - 1])
def test_vmid_beyond_int32_states_the_accepted_range(vmid: int) -> None:
    with pytest.raises(InvalidArgument, match=r"out of range \(0\.\.2147483647"):
        Route(Kind.HTTP, "a", "http://1.1.1.1", proxmox_node="pve", proxmox_vmid=vmid)
    r = Route(Kind.HTTP, "a", "http://1.1.1.1")
    with pytest.raises(InvalidArgument, match=r"out of range \(0\.\.2147483647"):
        r.set_proxmox("pve", vmid)
    r.set_proxmox("pve", 2**31 - 1)  # the top of the range is accepted
    assert r.proxmox is not None and r.proxmox.vmid == 2**31 - 1


@pytest.mark.parametrize("bad", [1, "x", {}, object()])
def test_context_argument_of_wrong_type_is_type_error(bad: object) -> None:
    for fn in (rr.try_get_route, rr.try_get_upstream_host, rr.try_get_upstream_url):
        with pytest.raises(TypeError, match="contextvars.Context or None"):
            fn(bad)  # type: ignore[arg-type]


def test_context_argument_still_reads_a_context() -> None:
    r = Route(Kind.HTTP, "a", "http://1.1.1.1:81")
    with rr.route_context(r):
        inner = contextvars.copy_context()
    assert rr.try_get_route(inner) is r
    assert rr.try_get_upstream_host(inner) == "1.1.1.1"
    assert rr.try_get_route(contextvars.Context()) is None
