"""Enums and value types: Kind, HealthStatus, ChangeOp, HealthInfo, ProxmoxLink."""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from typing import Any, Union

from . import _bindings as B
from ._errors import InvalidArgument, quote
from ._errors import num as _num


def _names(cls: "enum.EnumMeta") -> str:
    return ", ".join(m.lower() for m in cls.__members__)


def _numbers(cls: "enum.EnumMeta") -> str:
    members: "dict[str, Any]" = dict(cls.__members__)
    return ", ".join(str(int(m)) for m in members.values())


class _EnumType(enum.EnumMeta):
    """Lists the members and this package's methods in ``dir()``, so that ``help()`` does not
    show every method these enums inherit from ``int``."""

    def __dir__(cls) -> "list[str]":
        own = {
            n
            for c in cls.__mro__
            if c.__module__ == __name__
            for n in c.__dict__
            if not n.startswith("_")
        }
        return sorted(own | set(cls.__members__) | {"__doc__", "__module__", "name", "value"})


class Kind(enum.IntEnum, metaclass=_EnumType):
    """Which pool a route belongs to: ``HTTP``, ``STREAM`` or ``EXCLUDED`` (``RR_KIND_*``)."""

    HTTP = B.RR_KIND_HTTP
    STREAM = B.RR_KIND_STREAM
    EXCLUDED = B.RR_KIND_EXCLUDED

    @classmethod
    def of(cls, value: Union["Kind", int, str]) -> "Kind":
        """``Kind`` from a ``Kind``, its number or its name (``"http"``, case-insensitive)."""
        if isinstance(value, bool):
            raise TypeError(f"kind must be a Kind, int or str, not bool ({value!r})")
        if isinstance(value, str):
            try:
                return cls[value.upper()]
            except KeyError:
                raise ValueError(
                    f"unknown route kind {quote(value)} (expected {_names(cls)})"
                ) from None
        if isinstance(value, int):
            try:
                return cls(value)
            except ValueError:
                raise ValueError(
                    f"unknown route kind {_num(value)} (expected {_numbers(cls)})"
                ) from None
        raise TypeError(f"kind must be a Kind, int or str, not {type(value).__name__}")


class ChangeOp(enum.IntEnum, metaclass=_EnumType):
    """What a change record says happened (``RR_CHANGE_*``): ``ADDED`` (the key was absent),
    ``RELOADED`` (the key was deleted less than 1 s before), ``REPLACED`` (a live route of
    lower or equal priority was replaced; the record names the new route), ``REMOVED`` (the
    record names the removed route), ``CLEARED`` (a pool that held routes was emptied: no key,
    no route), ``INVENTORY`` (the Proxmox inventory was replaced: no key, no route)."""

    ADDED = B.RR_CHANGE_ADDED
    RELOADED = B.RR_CHANGE_RELOADED
    REPLACED = B.RR_CHANGE_REPLACED
    REMOVED = B.RR_CHANGE_REMOVED
    CLEARED = B.RR_CHANGE_CLEARED
    INVENTORY = B.RR_CHANGE_INVENTORY


class HealthStatus(enum.IntFlag, metaclass=_EnumType):
    """A route's health (``RR_HEALTH_STATUS_*`` bit flags): ``UNKNOWN``, ``HEALTHY``,
    ``NAPPING``, ``STARTING``, ``UNHEALTHY``, ``ERROR``."""

    UNKNOWN = B.RR_HEALTH_STATUS_UNKNOWN
    HEALTHY = B.RR_HEALTH_STATUS_HEALTHY
    NAPPING = B.RR_HEALTH_STATUS_NAPPING
    STARTING = B.RR_HEALTH_STATUS_STARTING
    UNHEALTHY = B.RR_HEALTH_STATUS_UNHEALTHY
    ERROR = B.RR_HEALTH_STATUS_ERROR

    @property
    def good(self) -> bool:
        """HEALTHY, NAPPING or STARTING (``HealthStatusGood`` in GoDoxy's ``routes`` package)."""
        return self in (HealthStatus.HEALTHY, HealthStatus.NAPPING, HealthStatus.STARTING)

    @property
    def label(self) -> str:
        """The name the health JSON uses: ``"healthy"``, ``"unknown"``..."""
        return _LABELS[int(self)]

    @classmethod
    def from_label(cls, label: str) -> "HealthStatus":
        """The status the health JSON calls ``label``."""
        try:
            return _BY_LABEL[label]
        except KeyError:
            raise InvalidArgument(f"unknown health status {quote(label)}") from None

    @classmethod
    def of(cls, value: Union["HealthStatus", int, str]) -> "HealthStatus":
        """Checks one single status (a combination of flags is rejected)."""
        if isinstance(value, bool):
            raise TypeError(f"health status must be a HealthStatus or int, not bool ({value!r})")
        if isinstance(value, str):
            return cls.from_label(value.lower())
        if not isinstance(value, int):
            raise TypeError(
                f"health status must be a HealthStatus, int or str, not {type(value).__name__}"
            )
        if int(value) not in _LABELS:
            raise ValueError(
                f"invalid health status {_num(int(value))} (expected one of {_numbers(cls)})"
            )
        return cls(int(value))


# The names the health JSON uses (the library renders them; these parse its output).
_LABELS = {int(s): str(s.name).lower() for s in HealthStatus.__members__.values()}
_BY_LABEL = {label: HealthStatus(v) for v, label in _LABELS.items()}


def _td(ns: int) -> datetime.timedelta:
    return datetime.timedelta(microseconds=ns // 1000)


@dataclass(frozen=True)
class HealthInfoWithoutDetail:
    """A route's health without its detail (``HealthInfoWithoutDetail`` of GoDoxy's
    ``routes`` package).

    Durations are integer nanoseconds (as the health JSON has them, so nothing is lost);
    ``uptime`` and ``latency`` give them as ``datetime.timedelta`` (microsecond resolution).
    """

    status: HealthStatus
    uptime_ns: int = 0
    latency_ns: int = 0

    @property
    def uptime(self) -> datetime.timedelta:
        return _td(self.uptime_ns)

    @property
    def latency(self) -> datetime.timedelta:
        return _td(self.latency_ns)


@dataclass(frozen=True)
class HealthInfo(HealthInfoWithoutDetail):
    """A route's health (``HealthInfo`` of GoDoxy's ``routes`` package): status, uptime and
    latency in integer
    nanoseconds (``uptime``/``latency`` as ``timedelta``), and the detail text. A route whose
    health was never set reports ``UNKNOWN``, 0, 0 and ``"n/a"``."""

    detail: str = ""


@dataclass(frozen=True)
class ProxmoxLink:
    """A route's Proxmox link: node, vmid (0 = the node itself) and the VM's name."""

    node: str
    vmid: int
    vmname: str
