"""pip-installs the package into a fresh virtual environment and uses it from outside the
source tree (the build step runs cargo and bundles the library)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1]
REPO = PKG.parents[1]

CHECK = """
import os, route_registry as rr
assert os.path.dirname(rr.lib_path) == os.path.dirname(rr.__file__), rr.lib_path
reg = rr.Registry()
r = rr.Route(rr.Kind.HTTP, "app", "http://10.0.0.5:8080", data="payload")
assert reg.add(r) and reg["app"] is r and reg["app"].data == "payload"
assert reg.health_info_simple() == {"app": rr.HealthStatus.UNKNOWN}
print("ok", rr.lib_path)
"""


def test_pip_install_into_a_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    env = dict(os.environ)
    env.pop("ROUTE_REGISTRY_LIB", None)
    env.pop("PYTHONPATH", None)
    env.setdefault("CARGO_TARGET_DIR", str(REPO / "target"))  # reuse the built library
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    p = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", str(PKG)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    site = subprocess.run(
        [str(py), "-c", "import route_registry, sys; print(route_registry.__file__)"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert str(venv) in site and (Path(site).parent / "py.typed").is_file()
    out = subprocess.run(
        [str(py), "-c", CHECK], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ")
