"""Shared fixtures. Tests import the package from ../src (no install needed); the library
comes from $ROUTE_REGISTRY_LIB or, in a source checkout, ../../target/release."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Iterator

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

import route_registry as rr  # noqa: E402

#: <repo>/bindings/python/tests -> <repo>. The Go-generated vectors: ../shared/testdata beside
#: the checkout when it exists (CI keeps the generator's output there), else <repo>/testdata.
REPO = Path(__file__).resolve().parents[3]
TESTDATA = (
    REPO.parent / "shared" / "testdata"
    if (REPO.parent / "shared" / "testdata").is_dir()
    else REPO / "testdata"
)


@pytest.fixture
def testdata() -> Path:
    assert TESTDATA.is_dir(), f"test vectors not found at {TESTDATA}"
    return TESTDATA


@pytest.fixture
def reg() -> Iterator[rr.Registry]:
    r = rr.Registry()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def global_reg() -> Iterator[rr.Registry]:
    g = rr.Registry.global_()
    g.clear()
    try:
        yield g
    finally:
        g.clear()
        g.load_proxmox_inventory({"nodes": [], "resources": []})


def settle() -> None:
    """Collects garbage so that dropped handles release their native references."""
    for _ in range(3):
        gc.collect()


def drop_change_records(reg) -> None:  # type: ignore[no-untyped-def]
    """The registry's change log holds a reference to each route its records name (up to its
    capacity, 4096 records by default). Keep one record, and commit one that names no route
    (an inventory load), so that a test counting live routes sees only the routes the
    registry itself holds."""
    from route_registry._native import lib

    assert lib.rr_set_change_log_capacity(reg._ptr, 1) == 0
    reg.load_proxmox_inventory({"nodes": []})

