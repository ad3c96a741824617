from __future__ import annotations

import json
import time
from collections.abc import Mapping

import pytest
import route_registry as rr
from conftest import settle
from route_registry import HealthStatus, Kind, Registry, Route


def http(alias: str, **kw: object) -> Route:
    return Route(Kind.HTTP, alias, "http://10.0.0.5:8080", **kw)  # type: ignore[arg-type]


def test_registry_is_a_mapping_of_active_routes(reg: Registry) -> None:
    as_object: object = reg
    assert isinstance(as_object, Mapping)
    a, s, x = http("a"), Route(Kind.STREAM, "s", "tcp://10.0.0.6:22"), Route(Kind.EXCLUDED, "x")
    for r in (a, s, x):
        assert reg.add(r)
    assert reg["a"] is a and reg["s"] is s
    with pytest.raises(KeyError):
        reg["x"]  # EXCLUDED is not active
    with pytest.raises(rr.NotFound, match="'nope'"):
        reg["nope"]
    assert reg.get("x") is None and reg.get("x", 5) == 5
    assert "a" in reg and "s" in reg and "x" not in reg and 3 not in reg
    assert len(reg) == 2
    assert list(reg) == ["a", "s"]  # HTTP, then STREAM
    assert reg.keys() == ["a", "s"]
    assert list(reg.values()) == [a, s]
    assert reg.items() == [("a", a), ("s", s)]
    assert dict(reg) == {"a": a, "s": s}
    assert reg.iter_all() == (a, s, x)
    assert reg.iter_active() == (a, s)
    assert reg.num_active_routes() == 2 and reg.num_all_routes() == 3
    assert reg != Registry() and reg == reg


def test_lookup_key_types_are_checked(reg: Registry) -> None:
    with pytest.raises(TypeError, match="key must be str"):
        reg.get(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key must be str"):
        reg[b"a"]  # type: ignore[index]
    with pytest.raises(TypeError):
        reg.get(["unhashable"])  # type: ignore[arg-type]
    assert reg.get("\udc80") is None  # not UTF-8: absent, as the library answers NULL
    assert "\udc80" not in reg and reg.http.get("\udc80") is None
    with pytest.raises(KeyError):
        reg["\udc80"]
    with pytest.raises(TypeError):
        reg.http.get(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        reg.get_include_excluded(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        reg.get_http_route_or_exact("a", 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a Route"):
        reg.add("a")  # type: ignore[arg-type]
    with pytest.raises(rr.InvalidArgument, match="route"):  # NULL: the library's answer
        reg.add_if_not_exists(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        reg.delete(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        reg.pool("ftp")
    with pytest.raises(rr.InvalidArgument, match="kind 7"):
        reg.pool(7)


def test_get_include_excluded_and_http_or_exact(reg: Registry) -> None:
    a = http("app")
    host = http("10.0.0.7")
    s = Route(Kind.STREAM, "both", "tcp://h:1")
    x = Route(Kind.EXCLUDED, "ex")
    for r in (a, host, s, x):
        reg.add(r)
    assert reg.get_include_excluded("ex") is x
    assert reg.get_include_excluded("both") is s
    assert reg.get_include_excluded("zz") is None and reg.get_include_excluded("zz", 1) == 1
    assert reg.get_http_route_or_exact("app", "10.0.0.7") is a
    assert reg.get_http_route_or_exact("nope", "10.0.0.7") is host
    assert reg.get_http_route_or_exact("both", "nope") is None  # STREAM not considered
    h2 = http("both")
    reg.add(h2)
    assert reg.get("both") is h2  # HTTP before STREAM
    assert reg.stream["both"] is s


def test_pools(reg: Registry) -> None:
    assert reg.pool("http") is reg.http and reg.pool(Kind.STREAM) is reg.stream
    assert reg.pool(2) is reg.excluded
    b, a2, a1 = http("b"), http("a", key="z"), http("a", key="y")
    for r in (b, a2, a1):
        assert reg.http.add(r)
    assert reg.http.size() == len(reg.http) == 3
    assert reg.http.get("y") is a1 and reg.http["z"] is a2 and "b" in reg.http
    assert reg.http.get("a") is None
    with pytest.raises(KeyError):
        reg.http["a"]
    assert sorted(reg.http) == ["b", "y", "z"]
    assert set(reg.http.values()) == {a1, a2, b}
    assert dict(reg.http.items()) == {"b": b, "y": a1, "z": a2}
    assert reg.http.sorted() == [a1, a2, b]  # alias, then key
    assert reg.http.slice() == [a1, a2, b]
    assert reg.stream.size() == 0 and list(reg.stream) == [] and reg.stream.sorted() == []
    with pytest.raises(ValueError, match="STREAM pool"):
        reg.stream.add(b)
    with pytest.raises(ValueError, match="EXCLUDED pool"):
        reg.excluded.add_if_not_exists(b)
    assert reg.http.delete("z")
    assert reg.http.get("z") is None and reg.http.size() == 2
    with pytest.raises(rr.NotFound) as ei:
        reg.http.delete("z")
    assert ei.value.status == 1 and "z" in ei.value.message
    assert reg.http.delete("z", missing_ok=True) is False
    del reg.http["y"]
    assert reg.http.delete(b) is True  # by route
    assert reg.http.size() == 0
    reg.http.add(http("c"))
    reg.stream.add(Route(Kind.STREAM, "s", "tcp://h:1"))
    reg.http.clear()
    assert reg.http.size() == 0 and reg.stream.size() == 1
    assert "HTTP" in repr(reg.http)


def test_priority_replace_and_kept(reg: Registry) -> None:
    hi = http("app", priority=5)
    lo = http("app", priority=1)
    same = http("app", priority=5)
    assert reg.add(hi)
    assert reg.add(lo) is False  # kept out
    assert not lo.frozen and reg["app"] is hi
    with pytest.raises(rr.Kept) as ei:
        reg.add(lo, raise_if_kept=True)
    assert ei.value.status == 3 and ei.value.message
    assert reg.add(same)  # equal priority replaces
    assert reg["app"] is same
    lo.set_priority(9)  # not frozen: may still change
    assert reg.http.add(lo) and reg["app"] is lo


def test_add_if_not_exists(reg: Registry) -> None:
    first, second = http("app"), http("app", priority=100)
    actual, added = reg.add_if_not_exists(first)
    assert actual is first and added
    actual, added = reg.http.add_if_not_exists(second)
    assert actual is first and not added
    assert not second.frozen


def test_delete_by_route_and_by_key(reg: Registry) -> None:
    a, x = http("a"), Route(Kind.EXCLUDED, "x")
    reg.add(a)
    reg.add(x)
    assert reg.delete(a)
    assert "a" not in reg
    assert a.data is None and not a.closed  # the handle stays valid after deletion
    assert a.upstream_host == "10.0.0.5"
    with pytest.raises(rr.NotFound):
        reg.delete(a)
    assert reg.delete(a, missing_ok=True) is False
    assert reg.delete("x") and reg.num_all_routes() == 0
    with pytest.raises(KeyError):
        del reg["x"]
    assert reg.delete("x", missing_ok=True) is False


def test_reload_within_one_second_is_logged_as_reloaded(
    reg: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    reg.add(http("app", display_name="App"))
    reg.delete("app")
    with caplog.at_level("DEBUG", logger="route_registry"):
        reg.add(http("app", display_name="App"))
    assert any("reloaded App" in m for m in caplog.messages), caplog.messages


def test_lookups_return_the_same_object_and_its_data(reg: Registry) -> None:
    payload = {"backend": object()}
    r = http("app", data=payload)
    reg.add(r)
    assert reg["app"] is r and reg.get("app") is r and reg.http.get("app") is r
    assert reg.get_include_excluded("app") is r and reg.iter_all()[0] is r
    rid = id(r)
    del r
    settle()
    got = reg["app"]  # the cache kept it, or a new handle shares the data
    assert got.data is payload
    reg.clear()  # drops the caches too
    reg.add(got)
    del got
    reg.clear()
    settle()
    r2 = http("b", data=payload)
    reg.add(r2)
    del r2
    reg._drop_caches()  # no Python handle left anywhere
    settle()
    fresh = reg["b"]  # a new handle on the same native route, with the same data
    assert fresh.data is payload
    assert reg["b"] is fresh
    assert isinstance(rid, int)


def test_data_can_be_set_later_and_is_shared(reg: Registry) -> None:
    r = http("app")
    reg.add(r)
    r.data = ["x"]
    assert reg["app"].data == ["x"]


def test_cache_never_serves_a_stale_entry(reg: Registry) -> None:
    assert reg.get("app") is None  # caches the miss
    g0 = reg.generation
    a = http("app")
    reg.add(a)
    assert reg.generation != g0
    assert reg.get("app") is a
    # A mutation made behind the Python object's back (straight through C) is seen too.
    from route_registry._native import lib

    assert lib.rr_del_key(reg._ptr, 0, b"app", 3) == 0
    assert reg.get("app") is None and "app" not in reg and len(reg) == 0
    assert reg.iter_active() == ()
    b = http("app", priority=1)
    assert lib.rr_add(reg._ptr, b._ptr) == 0
    assert reg["app"] is b and reg.http.size() == 1 and reg.http.get("app") is b
    # Health changes do not bump the generation but are never cached.
    b.set_health(HealthStatus.ERROR, 0, 0, "boom")
    assert reg.health_info()["app"].status is HealthStatus.ERROR
    b.set_health(HealthStatus.HEALTHY)
    assert reg.health_info_simple() == {"app": HealthStatus.HEALTHY}


def test_health_info_forms(reg: Registry) -> None:
    a = http("a")
    a.set_health(HealthStatus.HEALTHY, 3_600_000_000_000, 1_500_000, "ok <b>")
    reg.add(a)
    reg.add(Route(Kind.EXCLUDED, "x"))
    full = reg.health_info()
    assert full == {
        "a": rr.HealthInfo(HealthStatus.HEALTHY, 3_600_000_000_000, 1_500_000, "ok <b>"),
        "x": rr.HealthInfo(HealthStatus.UNKNOWN, 0, 0, "n/a"),
    }
    assert reg.health_info_without_detail() == {
        "a": rr.HealthInfoWithoutDetail(HealthStatus.HEALTHY, 3_600_000_000_000, 1_500_000),
        "x": rr.HealthInfoWithoutDetail(HealthStatus.UNKNOWN, 0, 0),
    }
    assert reg.health_info_simple() == {"a": HealthStatus.HEALTHY, "x": HealthStatus.UNKNOWN}
    raw = reg.health_json()
    assert "\\u003cb\\u003e" in raw and json.loads(raw)["a"]["detail"] == "ok <b>"
    assert reg.health_json(rr.HEALTH_SIMPLE) == '{"a":"healthy","x":"unknown"}'
    assert '"detail"' not in reg.health_json(rr.HEALTH_WITHOUT_DETAIL)
    with pytest.raises(ValueError):
        reg.health_json(3)
    with pytest.raises(TypeError):
        reg.health_json("full")  # type: ignore[arg-type]


def test_by_provider(reg: Registry) -> None:
    a = http("a", provider="docker")
    b = http("b", provider="docker", key="docker:b")
    f = Route(Kind.STREAM, "f", "tcp://h:1", provider="file")
    n = Route(Kind.EXCLUDED, "n")
    for r in (b, a, f, n):
        reg.add(r)
    assert reg.by_provider() == {"": [n], "docker": [a, b], "file": [f]}
    assert json.loads(reg.by_provider_json()) == {
        "": ["n"],
        "docker": ["a", "docker:b"],
        "file": ["f"],
    }


def test_clear_and_counts(reg: Registry) -> None:
    reg.add(http("a"))
    reg.add(Route(Kind.STREAM, "s", "tcp://h:1"))
    reg.add(Route(Kind.EXCLUDED, "x"))
    assert (reg.num_active_routes(), reg.num_all_routes()) == (2, 3)
    reg.clear()
    assert (reg.num_active_routes(), reg.num_all_routes(), len(reg)) == (0, 0, 0)
    assert reg.get("a") is None


def test_purge_tombstones(reg: Registry) -> None:
    reg.add(http("a"))
    reg.delete("a")
    assert reg.purge_tombstones() == 0  # younger than 1 s
    time.sleep(1.05)
    assert reg.purge_tombstones() == 1


def test_proxmox_inventory_links_routes(reg: Registry) -> None:
    reg.load_proxmox_inventory(
        {
            "nodes": [{"name": "pve1", "ip": "10.0.0.2"}],
            "resources": [{"node": "pve1", "vmid": 100, "name": "web", "ips": ["10.0.0.50"]}],
        }
    )
    by_ip = Route(Kind.HTTP, "site", "http://10.0.0.50:80")
    node = Route(Kind.HTTP, "pve1", "https://10.0.0.2:8006")
    docker = Route(Kind.HTTP, "web", "http://10.0.0.50:80", is_docker=True)
    explicit = Route(Kind.HTTP, "x", "http://h:1", proxmox_node="pve1", proxmox_vmid=100)
    for r in (by_ip, node, docker, explicit):
        reg.add(r)
    assert by_ip.proxmox == rr.ProxmoxLink("pve1", 100, "web")
    assert node.proxmox == rr.ProxmoxLink("pve1", 0, "")
    assert docker.proxmox is None
    assert explicit.proxmox == rr.ProxmoxLink("pve1", 100, "web")
    reg.load_proxmox_inventory('{"nodes": [], "resources": []}')
    reg.load_proxmox_inventory(b'{"nodes": []}')


@pytest.mark.parametrize(
    "inv, exc",
    [
        ('{"nodes": [{"ip": "1.2.3.4"}]}', rr.InvalidArgument),
        ('{"resources": [{"node": "a", "vmid": "x", "name": "n"}]}', rr.InvalidArgument),
        ("not json", rr.InvalidArgument),
        (42, TypeError),
    ],
)
def test_bad_proxmox_inventory(reg: Registry, inv: object, exc: type) -> None:
    reg.load_proxmox_inventory({"nodes": [{"name": "keep", "ip": "10.9.9.9"}]})
    with pytest.raises(exc) as ei:
        reg.load_proxmox_inventory(inv)  # type: ignore[arg-type]
    if isinstance(ei.value, rr.InvalidArgument):
        assert ei.value.message  # the library's own message
    r = Route(Kind.HTTP, "z", "http://10.9.9.9:1")
    reg.add(r)
    assert r.proxmox == rr.ProxmoxLink("keep", 0, "")  # the old inventory stays


def test_closed_registry(reg: Registry) -> None:
    r = http("a")
    reg.add(r)
    assert reg["a"] is r
    reg.close()
    reg.close()
    assert reg.closed and repr(reg) == "<Registry (closed)>"
    for call in (
        lambda: reg.get("a"),
        lambda: reg["a"],
        lambda: len(reg),
        lambda: reg.add(http("b")),
        lambda: reg.http.size(),
        lambda: reg.health_info(),
        lambda: reg.iter_all(),
        lambda: reg.generation,
    ):
        with pytest.raises(ValueError, match="registry is closed"):
            call()
    assert r.upstream_host == "10.0.0.5"  # routes held stay valid


def test_context_manager_frees() -> None:
    settle()
    before = rr.live_routes()
    with Registry() as reg:
        reg.add(http("a"))
    assert reg.closed
    settle()
    assert rr.live_routes() == before


def test_global_registry_is_one_object(global_reg: Registry) -> None:
    assert rr.global_registry() is global_reg is Registry.global_()
    assert global_reg.is_global
    r = http("g")
    global_reg.add(r)
    assert rr.global_registry()["g"] is r
    global_reg.close()  # a no-op
    assert not global_reg.closed and global_reg["g"] is r
    assert "global" in repr(global_reg)


def test_version_and_library_path() -> None:
    assert rr.library_version().count(".") == 2
    assert rr.ABI_VERSION == 1
    assert rr.lib_path.endswith((".so", ".so.1", ".dylib"))
