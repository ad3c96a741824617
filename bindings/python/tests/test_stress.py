"""A bounded multi-threaded stress test (16 threads, ~2 s) with invariant checks."""

from __future__ import annotations

import random
import threading
import time
from typing import List

import route_registry as rr
from conftest import settle
from route_registry import HealthStatus, Kind, Registry, Route

THREADS = 16
SECONDS = 2.0
SHARED = [f"shared{i}" for i in range(32)]


def test_concurrent_mutation_lookup_and_iteration() -> None:
    settle()
    base, tracked = rr.live_routes(), rr.tracked_routes()
    reg = Registry()
    stop = time.monotonic() + SECONDS
    errors: List[str] = []
    counts = [0] * THREADS

    def owner(t: int) -> None:
        # Keys only this thread touches: each step must be seen by this thread at once, so a
        # stale cache entry would show up here.
        rnd = random.Random(t)
        n = 0
        while time.monotonic() < stop:
            key = f"own{t}-{rnd.randrange(8)}"
            r = Route(Kind.HTTP, key, "http://10.0.0.1:80", data=(t, n))
            if not reg.add(r):
                errors.append(f"add kept {key}")
            got = reg.get(key)
            if got is not r or got.data != (t, n):
                errors.append(f"{key}: got {got!r} after add")
            if rnd.random() < 0.5:
                reg.delete(key)
                if reg.get(key) is not None or key in reg:
                    errors.append(f"{key}: still visible after delete")
            n += 1
        counts[t] = n

    def shared(t: int) -> None:
        rnd = random.Random(100 + t)
        n = 0
        while time.monotonic() < stop:
            key = rnd.choice(SHARED)
            op = rnd.random()
            if op < 0.3:
                r = Route(Kind.STREAM, key, "tcp://10.0.0.2:22", priority=rnd.randrange(3))
                reg.add(r)
            elif op < 0.45:
                reg.stream.delete(key, missing_ok=True)
            elif op < 0.6:
                r2 = reg.stream.get(key)
                if r2 is not None:
                    r2.set_health(HealthStatus.HEALTHY, n, 1, "ok")
            else:
                got = reg.get(key)
                if got is not None and (got.key != key or got.kind is not Kind.STREAM):
                    errors.append(f"lookup {key} gave {got!r}")
            n += 1
        counts[t] = n

    def iterator(t: int) -> None:
        n = 0
        while time.monotonic() < stop:
            snap = reg.iter_all()
            keys = [(r.kind, r.key) for r in snap]
            if len(keys) != len(set(keys)):
                errors.append("duplicate key in one snapshot")
            for r in reg.stream.sorted():
                if r.kind is not Kind.STREAM:
                    errors.append("wrong kind in stream pool")
            info = reg.health_info()
            if any(not isinstance(v.status, HealthStatus) for v in info.values()):
                errors.append("bad health status")
            n += 1
        counts[t] = n

    roles = [owner] * 8 + [shared] * 6 + [iterator] * 2
    threads = [threading.Thread(target=f, args=(i,)) for i, f in enumerate(roles)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=SECONDS + 30)
        assert not th.is_alive(), "a stress thread hung"
    assert errors == [], errors[:10]
    assert all(c > 0 for c in counts), counts
    # Final consistency: the counters agree with what iteration sees.
    assert reg.num_all_routes() == len(reg.iter_all())
    assert reg.http.size() + reg.stream.size() == len(reg) == reg.num_active_routes()
    reg.clear()
    reg.close()
    settle()
    assert rr.live_routes() == base and rr.tracked_routes() == tracked
