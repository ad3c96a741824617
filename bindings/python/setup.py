"""Build step: setuptools-rust compiles the Rust crate and puts the library in the package.

The package is pure Python (ctypes); its only native part is ``libroute_registry.so``, the
C-ABI library built by cargo from the Rust crate. setuptools-rust's
``RustExtension(..., binding=Binding.NoBinding)`` (made for ctypes/cffi libraries) runs
``cargo rustc --lib --crate-type cdylib --release`` and copies the library beside the
package's modules, where ``route_registry._native`` looks first. Two small adjustments:

- the library keeps its plain name ``libroute_registry.so`` (setuptools would add a
  ``.cpython-3xx-...`` suffix meant for extension modules), and
- the wheel is tagged ``py3-none-<platform>``: the library does not depend on the Python
  version, so one wheel serves every CPython >= 3.9.

Where the crate is: the package lives in ``bindings/python`` of the repository and the crate
at the repository root, outside the directory an sdist is made from. So:

- in a checkout, the crate is ``../../Cargo.toml``;
- ``sdist`` copies the crate (``Cargo.toml``, ``Cargo.lock``, ``build.rs``, ``cbindgen.toml``,
  ``src/``, ``include/``, ``benches/`` and the Rust tests named in ``Cargo.toml``, ``LICENSE``)
  into ``rust/`` of the sdist, and a build from the sdist uses ``rust/Cargo.toml``. With
  ``ROUTE_REGISTRY_VENDOR=1`` the sdist also carries every dependency (``cargo vendor`` into
  ``rust/vendor``) and a ``.cargo/config.toml`` that uses them, so it builds with no network and an empty
  cargo cache (the sdist is then about 13 MB instead of 0.2 MB).

cargo runs with ``--locked`` (the versions in ``Cargo.lock``). ``CARGO``,
``CARGO_TARGET_DIR`` and ``CARGO_NET_OFFLINE`` are honoured as cargo honours them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.sdist import sdist
from setuptools_rust import Binding, RustExtension, Strip
from setuptools_rust.build import build_rust

HERE = Path(__file__).resolve().parent
LIB_NAME = "libroute_registry.dylib" if sys.platform == "darwin" else "libroute_registry.so"
STAGED = "rust"  # the crate's directory inside an sdist

# What of the repository root an sdist needs to build the library (tests/ and benches/ only
# because Cargo.toml names targets there: cargo refuses a manifest whose targets are missing).
CRATE_FILES = ["Cargo.toml", "Cargo.lock", "build.rs", "cbindgen.toml", "LICENSE"]
CRATE_DIRS = ["src", "include", "benches"]
CRATE_TESTS = "tests"  # only its top-level *.rs files


def crate_manifest() -> str:
    """The crate's Cargo.toml, relative to this file: staged in an sdist, else the checkout's."""
    if (HERE / STAGED / "Cargo.toml").is_file():
        return f"{STAGED}/Cargo.toml"
    if (HERE.parent.parent / "Cargo.toml").is_file():
        return "../../Cargo.toml"
    raise SystemExit(
        "route-registry: no Rust crate found (neither rust/Cargo.toml of an sdist nor "
        "../../Cargo.toml of a checkout)"
    )


class BuildRustPlainName(build_rust):
    """Installs the cdylib as ``route_registry/libroute_registry.so``, the loader's name."""

    def get_dylib_ext_path(self, ext: RustExtension, target_fname: str) -> str:
        path = super().get_dylib_ext_path(ext, target_fname)
        return os.path.join(os.path.dirname(path), LIB_NAME)


class SdistWithCrate(sdist):
    """Copies the Rust crate from the repository root into ``rust/`` of the sdist."""

    def make_release_tree(self, base_dir: str, files: list) -> None:  # type: ignore[type-arg]
        super().make_release_tree(base_dir, files)
        src = HERE / STAGED if (HERE / STAGED / "Cargo.toml").is_file() else HERE.parent.parent
        dest = Path(base_dir) / STAGED
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for name in CRATE_FILES:
            shutil.copy2(src / name, dest / name)
        ignore = shutil.ignore_patterns("target", "__pycache__", "*.pyc")
        for name in CRATE_DIRS:
            shutil.copytree(src / name, dest / name, ignore=ignore)
        (dest / CRATE_TESTS).mkdir()
        for rs in sorted((src / CRATE_TESTS).glob("*.rs")):
            shutil.copy2(rs, dest / CRATE_TESTS / rs.name)
        if os.environ.get("ROUTE_REGISTRY_VENDOR") == "1":
            cargo = os.environ.get("CARGO", "cargo")
            cfg = subprocess.run(
                [cargo, "vendor", "--locked", "--manifest-path", str(dest / "Cargo.toml"),
                 str(dest / "vendor")],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            # cargo reads .cargo/config.toml from the directory it runs in (the sdist's root,
            # where pip runs setup.py), not from the manifest's: put it there, with the
            # source replacement's absolute path made relative to it.
            cargo_cfg = Path(base_dir) / ".cargo"
            cargo_cfg.mkdir(exist_ok=True)
            (cargo_cfg / "config.toml").write_text(
                cfg.replace(str(dest / "vendor"), f"{STAGED}/vendor")
            )


class BdistWheelPy3(bdist_wheel):
    """A Python-version-independent platform tag: ``py3-none-<platform>``."""

    def get_tag(self):  # type: ignore[no-untyped-def]
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(
    rust_extensions=[
        RustExtension(
            "route_registry.libroute_registry",
            path=crate_manifest(),
            binding=Binding.NoBinding,
            strip=Strip.All,
            cargo_manifest_args=["--locked"],
        )
    ],
    cmdclass={
        "build_rust": BuildRustPlainName,
        "sdist": SdistWithCrate,
        "bdist_wheel": BdistWheelPy3,
    },
    zip_safe=False,
)
