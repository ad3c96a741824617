#!/usr/bin/env python3
"""Reads routes from a JSON file, registers them, checks each upstream with a TCP connect and
prints the routes by provider with their health (and the health JSON with --json).

    python3 routes_report.py [routes.json] [--json] [--serve ALIAS]

The file is a list of {"alias", "url", "provider", "kind"} objects. Only the hosts named in
the file are contacted (0.5 s timeout). With --serve ALIAS (default: the first HTTP route),
the demo first opens a tiny local TCP listener on that route's port so one route is healthy
and the others are not.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python" / "src"))

import route_registry as rr  # noqa: E402
from route_registry import HealthStatus, Registry, Route  # noqa: E402

TIMEOUT = 0.5


def load_routes(path: Path) -> List[Dict[str, Any]]:
    data = json.loads(path.read_text())
    if not isinstance(data, list):
        raise SystemExit(f"{path}: expected a JSON list of routes")
    return data


def check(route: Route) -> None:
    """TCP-connects to the route's upstream and records the result as its health."""
    if route.kind is rr.Kind.EXCLUDED or not route.upstream_port:
        return  # nothing to check
    start = time.monotonic_ns()
    try:
        with socket.create_connection((route.upstream_host, int(route.upstream_port)), TIMEOUT):
            pass
    except OSError as e:
        route.set_health(HealthStatus.UNHEALTHY, 0, time.monotonic_ns() - start, str(e))
    else:
        route.set_health(HealthStatus.HEALTHY, 0, time.monotonic_ns() - start, "tcp connect ok")


def listen(host: str, port: int) -> Optional[socket.socket]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
    except OSError as e:
        print(f"(could not listen on {host}:{port}: {e})", file=sys.stderr)
        s.close()
        return None
    s.listen(16)
    return s


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", default=str(Path(__file__).with_name("routes.json")))
    ap.add_argument("--json", action="store_true", help="also print the health JSON")
    ap.add_argument("--serve", help="alias whose upstream port the demo listens on")
    args = ap.parse_args(argv)

    with Registry() as reg:
        for spec in load_routes(Path(args.file)):
            r = Route(spec.get("kind", "http"), spec["alias"], spec.get("url", ""),
                      provider=spec.get("provider", ""), data=spec)  # fmt: skip
            reg.add(r)

        serve = args.serve or next((r.alias for r in reg.http.sorted()), None)
        target = reg.get_include_excluded(serve) if serve else None
        listener = listen(target.upstream_host, int(target.upstream_port)) if target else None
        try:
            for r in reg.iter_all():
                check(r)
        finally:
            if listener is not None:
                listener.close()

        health = reg.health_info()
        print(f"{'provider':<10} {'alias':<10} {'kind':<9} {'upstream':<26} {'status':<10} latency")
        for provider, routes in reg.by_provider().items():
            for r in routes:
                h = health[r.alias]
                lat = f"{h.latency_ns / 1e6:.2f} ms" if h.latency_ns else "-"
                print(f"{provider or '(none)':<10} {r.alias:<10} {r.kind.name.lower():<9} "
                      f"{r.upstream_url or '-':<26} {h.status.label:<10} {lat}")  # fmt: skip
        good = sum(1 for h in health.values() if h.status.good)
        print(f"{good}/{len(health)} routes healthy")
        if args.json:
            print(reg.health_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
