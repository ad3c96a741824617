"""The Go-generated vectors (testdata/ in the repository, or ../shared/testdata beside it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest
import route_registry as rr
from conftest import TESTDATA
from route_registry import Kind, Registry, Route


def _load(name: str) -> Dict[str, Any]:
    path = TESTDATA / name
    assert path.is_file(), f"missing test vectors {path}"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


HEALTH = _load("health_json.json")["cases"]
URLS = _load("upstream_urls.json")["vectors"]


def test_vectors_are_found_relative_to_the_repo(testdata: Path) -> None:
    assert (testdata / "health_json.json").is_file()
    assert len(HEALTH) >= 10 and len(URLS) >= 30


@pytest.mark.parametrize("case", HEALTH, ids=[f"case{i}" for i in range(len(HEALTH))])
def test_health_json_is_byte_identical_to_go(case: Dict[str, Any], reg: Registry) -> None:
    routes: List[Route] = []
    for spec in case["routes"]:
        name = bytes.fromhex(spec["name_hex"]).decode("utf-8")
        if "\0" in name:
            # Names with a NUL byte are refused (every rr_str is also read as a C string):
            # such a case cannot be built here; its other routes are covered by other cases.
            with pytest.raises(rr.InvalidArgument, match="NUL"):
                Route(Kind.HTTP, name, "http://10.0.0.1:80")
            return
        r = Route(Kind.HTTP, name, "http://10.0.0.1:80")
        if not spec.get("no_health"):
            r.set_health(
                spec["status"], spec["uptime_ns"], spec["latency_ns"],
                bytes.fromhex(spec["detail_hex"]),
            )  # fmt: skip
        assert reg.add(r)
        routes.append(r)
    full = reg.health_json(rr.HEALTH_FULL)
    assert full.encode("utf-8") == case["full"].encode("utf-8")
    assert reg.health_json(rr.HEALTH_WITHOUT_DETAIL).encode() == case["without_detail"].encode()
    assert reg.health_json(rr.HEALTH_SIMPLE).encode() == case["simple"].encode()
    # The parsed forms agree with the raw JSON.
    parsed = json.loads(case["full"])
    info = reg.health_info()
    assert set(info) == set(parsed)
    for alias, v in parsed.items():
        assert info[alias].status.label == v["status"]
        assert (info[alias].uptime_ns, info[alias].latency_ns, info[alias].detail) == (
            v["uptime"], v["latency"], v["detail"],
        )  # fmt: skip
    assert {a: s.label for a, s in reg.health_info_simple().items()} == json.loads(case["simple"])


@pytest.mark.parametrize("vec", URLS, ids=[repr(v["input"]) for v in URLS])
@pytest.mark.parametrize("kind", [Kind.HTTP, Kind.STREAM])
def test_upstream_urls_match_go_net_url(vec: Dict[str, Any], kind: Kind) -> None:
    if not vec["accept"]:
        with pytest.raises(rr.InvalidArgument) as ei:
            Route(kind, "r", vec["input"])
        assert ei.value.message
        return
    r = Route(kind, "r", vec["input"])
    assert r.upstream_scheme == vec.get("scheme", "")
    assert r.upstream_host == vec.get("host", "")
    assert r.upstream_port == vec.get("port", "")
    assert r.upstream_host_port == vec.get("host_port", "")
    assert r.upstream_addr == vec.get("host_port", "")
    assert r.upstream_url == vec.get("url", "")
