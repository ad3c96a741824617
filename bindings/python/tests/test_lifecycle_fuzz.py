"""Runs the lifecycle fuzzer (tests/fuzz_lifecycle.py) in a subprocess: 4 threads sharing
registries, pools, routes and contexts, creating, dropping, closing, collecting and using
them in random order.

With ``RR_ASAN_LIB`` set (``make test`` sets it to the library built with AddressSanitizer by
``make lib-asan``), the subprocess loads that library with the ASan runtime preloaded, so a
use of freed native memory aborts with a report. Without it, it runs against the library the
tests use (a crash is then a segmentation fault, and some bad reads go unseen): the output
says which. ``RR_FUZZ_SECONDS`` and ``RR_FUZZ_SEED`` tune it (``make soak`` runs it longer).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def _env() -> "dict[str, str]":
    env = dict(os.environ, PYTHONPATH=str(SRC))
    asan_lib = os.environ.get("RR_ASAN_LIB")
    if asan_lib:
        runtime = subprocess.run(
            ["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert os.path.exists(runtime), f"ASan runtime not found ({runtime})"
        assert os.path.exists(asan_lib), f"RR_ASAN_LIB={asan_lib} does not exist: make lib-asan"
        env.update(
            LD_PRELOAD=runtime,
            ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
            ROUTE_REGISTRY_LIB=asan_lib,
        )
    return env


def test_lifecycle_fuzz_finds_nothing() -> None:
    seconds = os.environ.get("RR_FUZZ_SECONDS", "3")
    seed = os.environ.get("RR_FUZZ_SEED", "1")
    p = subprocess.run(
        [sys.executable, str(HERE / "fuzz_lifecycle.py"), "--seed", seed, "--threads", "4",
         "--ops", "10000000", "--seconds", seconds],
        env=_env(), capture_output=True, text=True, timeout=float(seconds) + 300,
    )  # fmt: skip
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout[-2000:]}\n{p.stderr[-6000:]}"
    assert "fuzz_lifecycle: ok" in p.stdout
    mode = "ASan" if os.environ.get("RR_ASAN_LIB") else "no sanitizer (set RR_ASAN_LIB)"
    print(f"\n{p.stdout.strip()} [{mode}]")


def test_the_fuzzer_reports_an_unexpected_exception(tmp_path: Path) -> None:
    """The driver's own check: a use that raises something unexpected fails the run."""
    shim = tmp_path / "sitecustomize.py"
    shim.write_text(
        "import route_registry as rr\n"
        "def broken(self):\n"
        "    raise RuntimeError('planted')\n"
        "rr.Route.upstream_url = property(broken)\n"
    )
    env = _env()
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{SRC}"
    p = subprocess.run(
        [sys.executable, str(HERE / "fuzz_lifecycle.py"), "--seed", "1", "--seconds", "5"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert p.returncode == 1 and "planted" in p.stderr, p.stderr[-2000:]
