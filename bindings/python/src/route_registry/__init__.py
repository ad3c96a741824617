"""route_registry: Python (ctypes) binding of the route-registry library.

>>> from route_registry import Registry, Route, Kind
>>> with Registry() as reg:
...     r = Route(Kind.HTTP, "app", "http://10.0.0.5:8080", provider="docker", data={"x": 1})
...     assert reg.add(r)
...     reg["app"] is r
True

API
    Registry()                 a registry; a read-only Mapping of its active routes
      .http .stream .excluded  its pools (Pool): get, [key], add, add_if_not_exists,
                               delete, size, clear, sorted
      .add(route)              False when a higher-priority route keeps the key
      .get(key) / [key]        the live HTTP route, else the STREAM one
      .delete(key or route)    NotFound when absent (missing_ok=True: False)
      .health_info() .health_json(format) .by_provider() .by_provider_json()
      .iter_active() .iter_all() .generation .close()
      .find_http_route(host)   the HTTP route for a Host header (domains, first label,
                               wildcards); .set_route_domains(["example.com", ...])
      .changes(since)          Changes: the change records after a generation, and .next;
                               Stale when the bounded log dropped some
      .watch(since=None)       Watch: the records as they are committed, for ``for`` and
                               ``async for`` (Change items, or Resync after falling behind)
      .batch()                 Batch: add, del_key, replace_provider, commit, discard;
                               ``with reg.batch() as b:`` commits only on success
      .snapshot(which)         Snapshot: routes at one generation
    Registry.global_()         the process-wide registry (never freed)
    Route(kind, alias, url, *, key, display_name, provider, priority, is_docker,
          proxmox_node, proxmox_vmid, data)
                               identity settable until added; set_health(...) any time
    route_context(route)       attaches a route to the current contextvars context;
                               try_get_route(), try_get_upstream_host()...
    RouteContext(route, parent=None)   the library's own context object
    Kind, HealthStatus, ChangeOp   enums (values from the C header)
    HealthInfo, HealthInfoWithoutDetail, ProxmoxLink   value types
    RouteRegistryError         base of NotFound (KeyError), InvalidArgument
                               (ValueError), Kept, Frozen, Stale, LibraryPanic

Lifecycle
    Registry, Route, RouteContext, Batch and Watch own a native handle (a watch: its
    subscription): close() (or ``with``) releases
    it, and so does garbage collection of a forgotten object, exactly once. Using an object
    after its own close() raises ValueError. An object keeps alive what it needs: a pool
    its registry, a context its route and parent, a batch or a watch its registry (a watch
    ends when its registry is closed), a route handle its native route (a
    registry that holds the route keeps it too). Closing from another thread while a call
    is running is safe: the release waits for that call. None of them can be copied or
    pickled (TypeError: share the object). Nothing is freed at interpreter exit, and from
    then on other threads' calls into the library raise SystemExit.
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
from ._changes import Batch, Change, Changes, Resync, Snapshot, Watch
from ._errors import (
    Frozen,
    InvalidArgument,
    Kept,
    LibraryPanic,
    NotFound,
    RouteRegistryError,
    Stale,
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
from ._types import (
    ChangeOp,
    HealthInfo,
    HealthInfoWithoutDetail,
    HealthStatus,
    Kind,
    ProxmoxLink,
)

__version__ = "0.1.0"


def library_version() -> str:
    """The loaded library's crate version (``rr_version()``)."""
    return _read_str(_lib.rr_version())


def live_routes() -> int:
    """How many native routes are alive in this process (``rr_live_routes()``; leak checks)."""
    return int(_lib.rr_live_routes())


__all__ = [
    "ABI_VERSION",
    "Batch",
    "Change",
    "ChangeOp",
    "Changes",
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
    "Resync",
    "Route",
    "RouteContext",
    "RouteRegistryError",
    "Snapshot",
    "Stale",
    "TRACE",
    "Watch",
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
