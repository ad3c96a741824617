"""route_registry: Python (ctypes) binding of the route-registry library.

>>> from route_registry import Registry, Route, Kind
>>> with Registry() as reg:
...     r = Route(Kind.HTTP, "app", "http://10.0.0.5:8080", provider="docker", data={"x": 1})
...     reg.add(r)
...     reg["app"] is r
True
"""

from __future__ import annotations

from ._context import (
    RouteContext,
    route_context,
    try_get_route,
    try_get_upstream_addr,
    try_get_upstream_host,
    try_get_upstream_host_port,
    try_get_upstream_name,
    try_get_upstream_port,
    try_get_upstream_scheme,
    try_get_upstream_url,
    with_route,
)
from ._errors import (
    Frozen,
    InvalidArgument,
    Kept,
    LibraryPanic,
    NotFound,
    RouteRegistryError,
)
from ._logging import TRACE, set_native_log_level
from ._native import ABI_VERSION, lib as _lib, lib_path, read_str as _read_str
from ._registry import (
    HEALTH_FULL,
    HEALTH_SIMPLE,
    HEALTH_WITHOUT_DETAIL,
    Pool,
    Registry,
    global_registry,
)
from ._route import Route, tracked_routes
from ._types import HealthInfo, HealthInfoWithoutDetail, HealthStatus, Kind, ProxmoxLink

__version__ = "0.1.0"


def library_version() -> str:
    """The loaded library's crate version (``rr_version()``)."""
    return _read_str(_lib.rr_version())


def live_routes() -> int:
    """How many native routes are alive in this process (``rr_live_routes()``; leak checks)."""
    return int(_lib.rr_live_routes())


__all__ = [
    "ABI_VERSION",
    "Frozen",
    "HEALTH_FULL",
    "HEALTH_SIMPLE",
    "HEALTH_WITHOUT_DETAIL",
    "HealthInfo",
    "HealthInfoWithoutDetail",
    "HealthStatus",
    "InvalidArgument",
    "Kept",
    "Kind",
    "LibraryPanic",
    "NotFound",
    "Pool",
    "ProxmoxLink",
    "Registry",
    "Route",
    "RouteContext",
    "RouteRegistryError",
    "TRACE",
    "global_registry",
    "lib_path",
    "library_version",
    "live_routes",
    "route_context",
    "set_native_log_level",
    "tracked_routes",
    "try_get_route",
    "try_get_upstream_addr",
    "try_get_upstream_host",
    "try_get_upstream_host_port",
    "try_get_upstream_name",
    "try_get_upstream_port",
    "try_get_upstream_scheme",
    "try_get_upstream_url",
    "with_route",
]
