"""Interpreter exit: programs that still use registries and routes while Python exits (an
atexit handler, daemon threads, a ``__del__`` that calls the library) end with status 0 and no
crash. Each scenario runs in a fresh interpreter, several times (the crashes were races)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
RUNS = int(os.environ.get("RR_EXIT_RUNS", "10"))

# An atexit handler registered before the package is imported runs after weakref's exit hook:
# the registry and route it uses must still be there.
ATEXIT_HANDLER = """
import atexit
def at_exit():
    for i in range(200):
        reg.add(Route(Kind.HTTP, f"late{i}", "http://1.1.1.1"))
    assert not reg.closed and not r.closed
    print("at exit:", len(reg), r.alias, reg.health_json()[:20], flush=True)
atexit.register(at_exit)
from route_registry import Registry, Route, Kind
reg = Registry()
r = Route(Kind.HTTP, "app", "http://1.1.1.1")
reg.add(r)
"""

# Daemon threads keep mutating the registry (log lines, finalizers, subscription callbacks,
# iterations: every kind of callback into Python) while the main thread returns.
DAEMONS = """
import threading, time
from route_registry import Registry, Route, Kind
reg = Registry()
w = reg.watch()
routes = [Route(Kind.HTTP, f"r{i}", "http://1.1.1.1") for i in range(100)]
for r in routes: reg.add(r)
def worker():
    i = 0
    while True:
        r = routes[i % 100]
        r.set_health(1, detail="ok"); r.alias
        reg.delete(r.key, missing_ok=True); reg.add(Route(Kind.HTTP, r.key, "http://1.1.1.1"))
        reg.health_json(); list(reg.values()); reg.changes(max(0, reg.generation - 5))
        i += 1
def watcher():
    for _ in w: pass
for _ in range(2): threading.Thread(target=worker, daemon=True).start()
threading.Thread(target=watcher, daemon=True).start()
time.sleep(0.2)
print("main returns", flush=True)
"""

# The same, but the main thread closes everything first: the last daemon call out frees the
# registry (many finalizers) while the interpreter exits.
DAEMONS_CLOSED = (
    DAEMONS.replace('print("main returns", flush=True)', "")
    + "reg.close(); [r.close() for r in routes]\nprint('main returns', flush=True)\n"
)

# A route's data whose __del__ calls the library; the route is deleted, then the program
# exits normally (the route dies with the registry's change log).
DEL_REENTERS = """
from route_registry import Registry, Route, Kind
reg = Registry()
class Reentrant:
    def __del__(self):
        reg.add(Route(Kind.HTTP, "from_del", "http://1.1.1.1"))
r = Route(Kind.HTTP, "victim", "http://1.1.1.1", data=Reentrant())
reg.add(r)
r.close(); del r
reg.delete("victim")
print("main returns", flush=True)
"""


# Every kind of object and callback on daemon threads at exit: batches, contexts, snapshots,
# listings, two watches, a small change log (finalizers run on each commit).
EVERYTHING = """
import threading, time
from route_registry import Registry, Route, RouteContext, Kind
reg = Registry(); reg.set_change_log_capacity(8)
ws = [reg.watch() for _ in range(2)]
def worker(k):
    i = 0
    while True:
        key = f"r{i % 50}"
        r = Route(Kind.HTTP, key, "http://1.1.1.1", provider=f"p{k}")
        reg.add(r); reg.snapshot(); reg.by_provider(); list(reg.items()); reg.health_info()
        with reg.batch() as b:
            b.replace_provider(f"p{k}")
            b.add(Route(Kind.HTTP, f"b{k}{i % 7}", "http://1.1.1.1", provider=f"p{k}"))
        with RouteContext(r) as c:
            c.upstream_host
        r.close(); i += 1
def watcher(w):
    for _ in w: pass
for k in range(4): threading.Thread(target=worker, args=(k,), daemon=True).start()
for w in ws: threading.Thread(target=watcher, args=(w,), daemon=True).start()
time.sleep(0.15)
print("main returns", flush=True)
"""


def _run(code: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "name,code",
    [
        ("atexit_handler", ATEXIT_HANDLER),
        ("daemon_threads", DAEMONS),
        ("daemon_threads_closed", DAEMONS_CLOSED),
        ("del_reenters", DEL_REENTERS),
        ("everything", EVERYTHING),
    ],
)
def test_clean_exit(name: str, code: str) -> None:
    for i in range(RUNS):
        p = _run(code)
        for bad in ("Fatal", "Segmentation", "FATAL", "corrupted", "double free"):
            assert bad not in p.stderr, f"{name} run {i}: {bad!r} in stderr:\n{p.stderr[-2000:]}"
        assert p.returncode == 0, f"{name} run {i}: exit status {p.returncode}\n{p.stderr[-2000:]}"
        assert "main returns" in p.stdout or "at exit: 201 app" in p.stdout, p.stdout


def test_data_alive_at_exit_is_not_finalized_in_a_torn_down_package() -> None:
    # The deleted route lives on in the change log at exit: its data's __del__ does not run
    # then (it would meet the package's module globals already cleared).
    p = _run(DEL_REENTERS)
    assert p.returncode == 0, p.stderr
    assert "Exception ignored" not in p.stderr, p.stderr


def test_atexit_handler_sees_a_live_registry() -> None:
    p = _run(ATEXIT_HANDLER)
    assert p.returncode == 0, p.stderr
    assert "at exit: 201 app" in p.stdout, p.stdout + p.stderr


def test_daemon_thread_is_stopped_silently_at_exit() -> None:
    # A daemon thread calling into the library after the exit began ends (SystemExit, which
    # threading ignores) instead of taking the GIL inside a native call.
    p = _run(DAEMONS)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr, p.stderr
