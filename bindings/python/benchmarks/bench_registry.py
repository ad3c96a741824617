"""Benchmarks the binding against a pure-Python registry (dict + threading.Lock), same run.

make -C bindings/python bench

"after one change" rows: each timed call first adds (or deletes, alternately) one route, so
the registry's caches must catch up with one change record before answering; the cost of the
add/delete alone is measured separately and subtracted.
"""

from __future__ import annotations

import sys
import threading
import timeit
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import route_registry as rr  # noqa: E402
from route_registry import HealthInfo, HealthStatus, Kind, Registry, Route  # noqa: E402

N_ROUTES = 10_000


class PyRoute:
    __slots__ = ("alias", "key", "status", "uptime", "latency", "detail")

    def __init__(self, alias: str) -> None:
        self.alias = self.key = alias
        self.status, self.uptime, self.latency, self.detail = HealthStatus.HEALTHY, 1, 2, "ok"


class PyRegistry:
    """What a Python proxy would write without the library."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._http: Dict[str, PyRoute] = {}

    def add(self, r: PyRoute) -> None:
        with self._lock:
            self._http[r.key] = r

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._http.get(key, default)

    def iter_active(self) -> List[PyRoute]:
        with self._lock:
            return list(self._http.values())

    def health_info(self) -> Dict[str, HealthInfo]:
        with self._lock:
            rs = list(self._http.values())
        return {r.alias: HealthInfo(r.status, r.uptime, r.latency, r.detail) for r in rs}


def bench(stmt: Callable[[], Any], number: int) -> float:
    """Best of 5, in ns per call."""
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e9


def fmt(ns: float) -> str:
    return (
        f"{ns / 1e6:10.2f} ms"
        if ns >= 1e6
        else f"{ns / 1e3:10.2f} µs"
        if ns >= 1e4
        else f"{ns:10.0f} ns"
    )


def main() -> None:
    reg = Registry()
    py = PyRegistry()
    for i in range(N_ROUTES):
        r = Route(Kind.HTTP, f"app{i}", f"http://10.0.{i // 250}.{i % 250}:8080")
        r.set_health(HealthStatus.HEALTHY, 1, 2, "ok")
        reg.add(r)
        py.add(PyRoute(f"app{i}"))
    del r

    def iter_rr() -> int:
        n = 0
        for _ in reg.iter_active():
            n += 1
        return n

    def iter_py() -> int:
        n = 0
        for _ in py.iter_active():
            n += 1
        return n

    def iter_rr_cold() -> int:
        reg._drop_caches()  # no cache, no replica: every route is wrapped through C
        return iter_rr()

    churn = Route(Kind.HTTP, "churn", "http://10.9.9.9:80")
    state = [False]

    def change() -> None:  # one add or one delete: one change record
        if state[0]:
            reg.delete(churn)
        else:
            reg.add(churn)
        state[0] = not state[0]

    def iter_after_change() -> int:
        change()
        return iter_rr()

    def get_after_change() -> Any:
        change()
        return reg.get("app4242")

    hosts = [f"app{i}.example.com" for i in range(100)]

    def find_host() -> Any:
        return reg.find_http_route("app4242.example.com")

    assert reg.get("app42") is not None and py.get("app42") is not None
    assert len(reg.health_info()) == len(py.health_info()) == N_ROUTES
    rows: List[Tuple[str, float, Optional[float]]] = [
        (
            "get hit",
            bench(lambda: reg.get("app4242"), 200_000),
            bench(lambda: py.get("app4242"), 200_000),
        ),
        (
            "get miss",
            bench(lambda: reg.get("nope"), 200_000),
            bench(lambda: py.get("nope"), 200_000),
        ),
        ("reg[key] hit", bench(lambda: reg["app4242"], 200_000), None),
        (f"iterate {N_ROUTES} (unchanged)", bench(iter_rr, 50), bench(iter_py, 50)),
        (f"iterate {N_ROUTES} (no cache: all through C)", bench(iter_rr_cold, 5), None),
        ("one add or delete (alone)", bench(change, 2_000), None),
        (f"iterate {N_ROUTES}, after one change", bench(iter_after_change, 200), None),
        ("get hit, after one change", bench(get_after_change, 2_000), None),
        ("find_http_route hit (first label)", bench(find_host, 200_000), None),
        (
            "find_http_route, uncached",
            bench(lambda: reg._find_slow(hosts[0]), 50_000),
            None,
        ),
        (f"health_info() {N_ROUTES}", bench(reg.health_info, 5), bench(py.health_info, 5)),
        (
            "get hit, uncached (1 C call + wrap)",
            bench(lambda: reg._get_slow("app4242", None), 50_000),
            None,
        ),
    ]
    print(f"route_registry {rr.library_version()} via {rr.lib_path}")
    print(f"Python {sys.version.split()[0]}, {N_ROUTES} HTTP routes")
    print(f"{'operation':<44}{'route_registry':>15}{'pure Python':>15}{'ratio':>9}")
    alone = dict((n, v) for n, v, _ in rows)["one add or delete (alone)"]
    for name, ours, theirs in rows:
        ratio = f"{ours / theirs:8.2f}x" if theirs else ""
        print(f"{name:<44}{fmt(ours):>15}{fmt(theirs) if theirs else '-':>15}{ratio:>9}")
        if name.endswith("after one change"):
            print(f"{'  ... minus the add/delete':<44}{fmt(ours - alone):>15}")
    reg.close()


if __name__ == "__main__":
    main()
