"""Build step: compile the Rust library with cargo and bundle it into the package.

``pip install ./bindings/python`` runs ``cargo build --release --lib`` in the repository root
(two levels up) and copies ``libroute_registry.so`` next to the package's modules, so the
installed package works from any directory. The wheel is tagged platform-specific.

Environment:
- ``CARGO`` — the cargo executable (default ``cargo``);
- ``CARGO_TARGET_DIR`` — where cargo puts its output (default ``<repo>/target``);
- ``ROUTE_REGISTRY_BUNDLE_LIB`` — a prebuilt library to bundle instead of building one.
Without a Rust checkout (or cargo), the package is built without a bundled library and
finds one at run time (``ROUTE_REGISTRY_LIB`` or the system search path).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LIB_NAME = "libroute_registry.dylib" if sys.platform == "darwin" else "libroute_registry.so"


def _build_native() -> Optional[Path]:
    prebuilt = os.environ.get("ROUTE_REGISTRY_BUNDLE_LIB")
    if prebuilt:
        return Path(prebuilt)
    if not (REPO / "Cargo.toml").is_file():
        print("route-registry: no Cargo.toml two levels up; not bundling a library",
              file=sys.stderr)
        return None
    cargo = os.environ.get("CARGO", "cargo")
    if shutil.which(cargo) is None:
        print(f"route-registry: {cargo} not found; not bundling a library", file=sys.stderr)
        return None
    subprocess.run([cargo, "build", "--release", "--lib"], cwd=REPO, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    return target / "release" / LIB_NAME


class BuildPyWithLib(build_py):
    def run(self) -> None:
        super().run()
        lib = _build_native()
        if lib is None:
            return
        if not lib.is_file():
            raise RuntimeError(f"route-registry: the built library {lib} does not exist")
        dest = Path(self.build_lib) / "route_registry" / LIB_NAME
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(lib, dest)
        os.chmod(dest, 0o755)


class BinaryDistribution(Distribution):
    """The wheel carries a native library: tag it for this platform, not ``any``."""

    def has_ext_modules(self) -> bool:
        return True


cmdclass = {"build_py": BuildPyWithLib}
try:  # a Python-version-independent platform tag: py3-none-<platform>
    try:
        from setuptools.command.bdist_wheel import bdist_wheel  # setuptools >= 70.1
    except ImportError:
        from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

    class BdistWheel(bdist_wheel):  # type: ignore[misc,valid-type]
        def finalize_options(self) -> None:
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):  # type: ignore[no-untyped-def]
            _, _, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = BdistWheel
except ImportError:
    pass

setup(cmdclass=cmdclass, distclass=BinaryDistribution)
