"""find_http_route and set_route_domains: the host vectors shared with the C and Rust tests
(tests/host_vectors.json: GoDoxy's entrypoint cases and this library's rules), and the
Python cache of host answers."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

from conftest import REPO
from route_registry import InvalidArgument, Kind, Registry, Route
from route_registry import _registry

URLS = {"http": "http://10.0.0.1:80", "stream": "tcp://10.0.0.1:53", "excluded": "http://h:1"}


def _cases() -> List[Dict[str, Any]]:
    with open(REPO / "tests" / "host_vectors.json", encoding="utf-8") as f:
        return json.load(f)["cases"]  # type: ignore[no-any-return]


def _route(spec: Any) -> Route:
    if isinstance(spec, str):
        return Route(Kind.HTTP, spec, URLS["http"])
    kind = spec.get("kind", "http")
    key = spec["key"]
    return Route(kind, key.strip("*.") or "w", URLS[kind], key=key,
                 priority=spec.get("priority", 0))  # fmt: skip


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["name"])
def test_host_vectors(reg: Registry, case: Dict[str, Any]) -> None:
    if "domains" in case:
        reg.set_route_domains(case["domains"])
    for spec in case["routes"]:
        reg.add(_route(spec))
    for key in case.get("delete", []):
        reg.http.delete(key)
    for _ in range(2):  # uncached, then cached
        for host, key in case["match"].items():
            r = reg.find_http_route(host)
            assert r is not None and r.key == key, (host, key, r)
            assert reg.find_http_route(host.encode("utf-8", "surrogatepass")) is r
        for host in case["no_match"]:
            assert reg.find_http_route(host) is None, host


def test_case_port_ipv6_and_trailing_dot(reg: Registry) -> None:
    app = Route(Kind.HTTP, "app", URLS["http"])
    v6 = Route(Kind.HTTP, "v6", URLS["http"], key="::1")
    reg.add(app)
    reg.add(v6)
    for host in ["app", "APP", "App.Example.COM", "app.example.com.", "app.example.com:8443",
                 "app:80", "app:", b"app.example.com"]:  # fmt: skip
        assert reg.find_http_route(host) is app, host
    assert reg.find_http_route("[::1]:80") is v6
    assert reg.find_http_route("::1") is v6  # SplitHostPort fails: used as it is


def test_hostile_hosts_are_misses(reg: Registry) -> None:
    reg.add(Route(Kind.HTTP, "app", URLS["http"]))
    reg.add(Route(Kind.HTTP, "w", URLS["http"], key="*.example.com"))
    for host in ["", "a" * (1 << 20), "app\0", b"app\xff.example.com", b"\xff", ".", "...",
                 ":80", "\ud800.example.com", "app" + "." * 2000]:  # fmt: skip
        assert reg.find_http_route(host) is None, repr(host)[:40]
    with pytest.raises(TypeError, match="str or bytes"):
        reg.find_http_route(bytearray(b"app"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str or bytes"):
        reg.find_http_route(None)  # type: ignore[arg-type]


def test_domains_errors_carry_the_library_message(reg: Registry) -> None:
    reg.set_route_domains(["example.com"])
    app = Route(Kind.HTTP, "app", URLS["http"])
    reg.add(app)
    for bad in ([""], ["."], [".."], ["a\0b"], ["x" * 300], ["ok.com", ""]):
        with pytest.raises(InvalidArgument) as ei:
            reg.set_route_domains(bad)
        assert ei.value.message and "domain" in ei.value.message.lower(), ei.value.message
    with pytest.raises(InvalidArgument, match="UTF-8"):
        reg.set_route_domains(["\udcff.com"])
    with pytest.raises(TypeError):
        reg.set_route_domains("example.com")  # a single str is not a list of domains
    with pytest.raises(TypeError):
        reg.set_route_domains([1])  # type: ignore[list-item]
    # The old domains stayed.
    assert reg.find_http_route("app.example.com") is app
    assert reg.find_http_route("app.other.org") is None  # no first-label rule with domains
    reg.set_route_domains(())
    assert reg.find_http_route("app.other.org") is app


def test_a_domain_change_invalidates_cached_answers(reg: Registry) -> None:
    app = Route(Kind.HTTP, "app", URLS["http"])
    reg.add(app)
    assert reg.find_http_route("app.other.org") is app  # first label, cached
    g = reg.generation
    reg.set_route_domains(["example.com"])
    assert reg.generation == g + 1 and len(reg.changes(g)) == 0  # no change record
    assert reg.find_http_route("app.other.org") is None
    assert reg.find_http_route("app.example.com") is app


def test_a_route_change_invalidates_every_host_answer(reg: Registry) -> None:
    """One add changes answers for hosts that name no key: never invalidated per key."""
    wild = Route(Kind.HTTP, "w", URLS["http"], key="*.example.com")
    reg.add(wild)
    assert reg.find_http_route("x.example.com") is wild
    assert reg.find_http_route("y.example.com") is wild
    x = Route(Kind.HTTP, "x", URLS["http"])
    reg.add(x)  # the record names "x", but "x.example.com" must now find it
    assert reg.find_http_route("x.example.com") is x
    assert reg.find_http_route("y.example.com") is wild
    reg.delete(x)
    assert reg.find_http_route("x.example.com") is wild


def test_cached_host_answers_cost_no_native_call(reg: Registry) -> None:
    from test_changes import CallCounter

    app = Route(Kind.HTTP, "app", URLS["http"])
    reg.add(app)
    reg.find_http_route("app.example.com")
    reg.find_http_route("nothing.example.com")
    with CallCounter("rr_find_http_route") as cc:
        for _ in range(10):
            assert reg.find_http_route("app.example.com") is app
            assert reg.find_http_route("nothing.example.com") is None
        assert cc.total == 0


def test_misses_are_bounded(reg: Registry) -> None:
    from test_changes import CallCounter

    reg.add(Route(Kind.HTTP, "app", URLS["http"]))
    limit = _registry._HOST_MISS_LIMIT
    for i in range(limit * 5):
        assert reg.find_http_route(f"nope{i}.example.com") is None
    assert len(reg._hosts) <= limit
    # Hits through a wildcard are unbounded too: the table is dropped when full.
    reg.add(Route(Kind.HTTP, "w", URLS["http"], key="*.example.com"))
    for i in range(_registry._HOST_LIMIT * 3):
        assert reg.find_http_route(f"h{i}.example.com") is not None
    assert len(reg._hosts) <= _registry._HOST_LIMIT + limit
    # Still answered, and a repeated host is served from the cache.
    reg.find_http_route("app.example.com")
    with CallCounter("rr_find_http_route") as cc:
        assert reg.find_http_route("app.example.com").key == "app"  # type: ignore[union-attr]
        assert cc.total == 0


def test_find_http_route_on_a_closed_registry_raises() -> None:
    reg = Registry()
    reg.add(Route(Kind.HTTP, "app", URLS["http"]))
    assert reg.find_http_route("app") is not None
    reg.close()
    with pytest.raises(ValueError, match="registry is closed"):
        reg.find_http_route("app")
    with pytest.raises(ValueError, match="registry is closed"):
        reg.set_route_domains(["a.com"])
