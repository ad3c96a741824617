from __future__ import annotations

import datetime

import pytest
import route_registry as rr
from route_registry import HealthStatus, Kind, Route


def test_route_fields_from_keywords() -> None:
    obj = object()
    r = Route(
        Kind.HTTP, "app", "http://10.0.0.5:8080/base", key="docker:app", display_name="App",
        provider="docker", priority=7, is_docker=True, data=obj,
    )  # fmt: skip
    assert r.kind is Kind.HTTP
    assert r.alias == "app"
    assert r.key == "docker:app"
    assert r.display_name == "App"
    assert r.provider == "docker"
    assert r.priority == 7
    assert r.is_docker is True
    assert r.data is obj
    assert r.upstream_scheme == "http"
    assert r.upstream_host == "10.0.0.5"
    assert r.upstream_port == "8080"
    assert r.upstream_host_port == "10.0.0.5:8080"
    assert r.upstream_addr == "10.0.0.5:8080"
    assert r.upstream_url == "http://10.0.0.5:8080/base"
    assert r.user_data > 0
    assert not r.frozen
    assert r.proxmox is None
    assert "app" in repr(r)


def test_defaults_and_kind_spellings() -> None:
    r = Route("stream", "db", "tcp://10.0.0.9:5432")
    assert r.kind is Kind.STREAM
    assert (r.key, r.display_name, r.provider, r.priority, r.is_docker) == (
        "db",
        "db",
        "",
        0,
        False,
    )
    assert r.data is None
    assert Route(2, "x").kind is Kind.EXCLUDED  # EXCLUDED may have no URL
    assert Route(Kind.EXCLUDED, "y").upstream_url == ""


def test_cached_fields_match_the_library() -> None:
    from route_registry._native import lib, read_str

    r = Route(Kind.HTTP, "app", "http://h:1", key="k", display_name="d", provider="p", priority=-3)
    p = r._ptr
    assert read_str(lib.rr_route_alias(p)) == r.alias
    assert read_str(lib.rr_route_key(p)) == r.key
    assert read_str(lib.rr_route_display_name(p)) == r.display_name
    assert read_str(lib.rr_route_provider(p)) == r.provider
    assert lib.rr_route_priority(p) == r.priority == -3
    assert lib.rr_route_kind(p) == r.kind


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(kind=Kind.HTTP, alias=1, url="http://h:1"), "alias must be str"),
        (dict(kind=Kind.HTTP, alias=b"a", url="http://h:1"), "alias must be str"),
        (dict(kind=Kind.HTTP, alias="a", url=None), "url must be str"),
        (dict(kind=True, alias="a", url="http://h:1"), "bool"),
        (dict(kind=1.5, alias="a", url="http://h:1"), "kind must be"),
        (dict(kind=Kind.HTTP, alias="a", url="http://h:1", priority="1"), "priority"),
        (dict(kind=Kind.HTTP, alias="a", url="http://h:1", is_docker=1), "is_docker"),
        (dict(kind=Kind.HTTP, alias="a", url="http://h:1", key=5), "key must be str"),
        (dict(kind=Kind.HTTP, alias="a", url="http://h:1", provider=None), "provider"),
        (dict(kind=Kind.HTTP, alias="a", url="http://h:1", display_name=[]), "display_name"),
    ],
)
def test_wrong_python_types_raise_type_error_before_c(kwargs: dict, words: str) -> None:
    before = rr.live_routes()
    with pytest.raises(TypeError, match=words) as ei:
        Route(**kwargs)
    assert not isinstance(ei.value, rr.RouteRegistryError)
    assert rr.live_routes() == before


@pytest.mark.parametrize(
    "kwargs, words",
    [
        # The library's rules, with its messages.
        (dict(kind=Kind.HTTP, alias="", url="http://h:1"), "alias must not be empty"),
        (dict(kind=7, alias="a", url="http://h:1"), "route kind 7 is not one of"),
        (dict(kind=Kind.HTTP, alias="a", url="http://h:1", proxmox_node=""), "node"),
        (dict(kind=Kind.HTTP, alias="a", url="http://h:1", proxmox_node="pve", proxmox_vmid=-1),
         "vmid"),
        # What Python cannot pass to C unchanged: refused here, in the same category.
        (dict(kind=Kind.HTTP, alias="a\udcff", url="http://h:1"), "UTF-8"),
        (dict(kind="ftp", alias="a", url="http://h:1"), "unknown route kind 'ftp'"),
        (dict(kind=-1, alias="a", url="http://h:1"), "kind -1 is out of range"),
        (dict(kind=Kind.HTTP, alias="a", url="http://h:1", priority=2**31), "priority"),
        (dict(kind=Kind.HTTP, alias="a", url="http://h:1", proxmox_vmid=3), "proxmox_node"),
    ],
)  # fmt: skip
def test_bad_values_raise_invalid_argument(kwargs: dict, words: str) -> None:
    before = rr.live_routes()
    with pytest.raises(rr.InvalidArgument, match=words) as ei:
        Route(**kwargs)
    assert isinstance(ei.value, ValueError) and ei.value.status == rr.InvalidArgument.status
    assert rr.live_routes() == before


@pytest.mark.parametrize(
    "kind, alias, url, words",
    [
        (Kind.HTTP, "a", "", "must not be empty"),
        (Kind.HTTP, "a", "http://10.0.0.5:99999", "99999"),
        (Kind.STREAM, "a", "://nohost", "nohost"),
        (Kind.HTTP, "x" * 256, "http://h:1", "255"),
    ],
)
def test_library_rejections_carry_its_message(kind: Kind, alias: str, url: str, words: str) -> None:
    with pytest.raises(rr.InvalidArgument, match=words) as ei:
        Route(kind, alias, url)
    err: rr.InvalidArgument = ei.value
    assert err.status == 2
    assert words in err.message
    assert isinstance(err, ValueError)


def test_long_key_is_rejected_by_the_library_and_nothing_leaks() -> None:
    from conftest import settle

    settle()
    before = rr.live_routes()
    with pytest.raises(rr.InvalidArgument, match="255"):
        Route(Kind.HTTP, "a", "http://h:1", key="k" * 300)
    from conftest import settle

    settle()
    assert rr.live_routes() == before


def test_setters_work_before_add_and_raise_frozen_after(reg: rr.Registry) -> None:
    r = Route(Kind.HTTP, "app", "http://h:1")
    r.set_key("k2")
    r.set_display_name("Nice")
    r.set_provider("file")
    r.set_priority(3)
    r.set_docker(True)
    assert (r.key, r.display_name, r.provider, r.priority, r.is_docker) == (
        "k2",
        "Nice",
        "file",
        3,
        True,
    )
    r.set_key("")
    assert r.key == "app"
    r.set_proxmox("pve1", 0)
    assert r.proxmox == rr.ProxmoxLink("pve1", 0, "")
    assert reg.add(r)
    assert r.frozen
    for call in (
        lambda: r.set_key("z"),
        lambda: r.set_display_name("z"),
        lambda: r.set_provider("z"),
        lambda: r.set_priority(1),
        lambda: r.set_docker(False),
        lambda: r.set_proxmox("pve2", 1),
    ):
        with pytest.raises(rr.Frozen) as ei:
            call()
        assert ei.value.status == 4 and ei.value.message
    assert (r.key, r.provider, r.priority) == ("app", "file", 3)
    with pytest.raises(TypeError):
        r.set_priority(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        r.set_docker("yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        r.set_proxmox("", 1)


def test_health_setting_and_reading() -> None:
    r = Route(Kind.HTTP, "app", "http://h:1")
    assert r.health_status is HealthStatus.UNKNOWN
    assert r.health == rr.HealthInfoWithoutDetail(HealthStatus.UNKNOWN, 0, 0)
    r.set_health(HealthStatus.HEALTHY, datetime.timedelta(seconds=2), 1500, "ok")
    h = r.health
    assert h.status is HealthStatus.HEALTHY
    assert h.uptime_ns == 2_000_000_000 and h.uptime == datetime.timedelta(seconds=2)
    assert h.latency_ns == 1500 and h.latency == datetime.timedelta(microseconds=1)
    r.set_health(8, 0, 0, b"\xff raw")
    assert r.health_status is HealthStatus.UNHEALTHY
    r.set_health("napping")
    assert r.health_status is HealthStatus.NAPPING


@pytest.mark.parametrize(
    "args, exc",
    [
        ((3,), ValueError),  # a combination of flags is not one status
        ((32,), ValueError),
        ((-1,), ValueError),
        (("sleepy",), ValueError),
        ((None,), TypeError),
        ((True,), TypeError),
        ((1, -1), ValueError),
        ((1, 0, 2**64), ValueError),
        ((1, 1.5), TypeError),
        ((1, 0, 0, 12), TypeError),
        ((1, 0, 0, "\udcff"), ValueError),
    ],
)
def test_bad_health_arguments(args: tuple, exc: type) -> None:
    r = Route(Kind.HTTP, "app", "http://h:1")
    with pytest.raises(exc):
        r.set_health(*args)
    assert r.health_status is HealthStatus.UNKNOWN


def test_health_status_enum() -> None:
    assert {s: int(s) for s in (HealthStatus.UNKNOWN, HealthStatus.HEALTHY, HealthStatus.NAPPING,
            HealthStatus.STARTING, HealthStatus.UNHEALTHY, HealthStatus.ERROR)} == {
        HealthStatus.UNKNOWN: 0, HealthStatus.HEALTHY: 1, HealthStatus.NAPPING: 2,
        HealthStatus.STARTING: 4, HealthStatus.UNHEALTHY: 8, HealthStatus.ERROR: 16,
    }  # fmt: skip
    good = {s for s in (0, 1, 2, 4, 8, 16) if HealthStatus(s).good}
    assert good == {1, 2, 4}
    assert HealthStatus.HEALTHY.label == "healthy"
    assert HealthStatus.from_label("error") is HealthStatus.ERROR
    assert isinstance(HealthStatus.HEALTHY, int)
    with pytest.raises(ValueError):
        HealthStatus.from_label("nope")


def test_health_info_is_a_frozen_dataclass() -> None:
    import dataclasses

    h = rr.HealthInfo(HealthStatus.HEALTHY, 1, 2, "d")
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.detail = "x"  # type: ignore[misc]
    assert h == rr.HealthInfo(HealthStatus.HEALTHY, 1, 2, "d")


def test_closed_route_handle() -> None:
    r = Route(Kind.HTTP, "app", "http://h:1")
    with r:
        assert not r.closed
    assert r.closed
    r.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        r.set_health(1)
    with pytest.raises(ValueError, match="closed"):
        _ = r.upstream_host
    assert repr(r) == "<Route (closed)>"


def test_explicit_proxmox_link() -> None:
    r = Route(Kind.HTTP, "app", "http://h:1", proxmox_node="pve1", proxmox_vmid=100)
    assert r.proxmox == rr.ProxmoxLink("pve1", 100, "")
