"""Library log lines go to the standard ``logging`` module, logger ``route_registry``.

The callback is installed when the package is imported, at DEBUG (where add, remove, reload,
replace and clear are logged); :func:`set_native_log_level` changes how much the library
sends (``logging.NOTSET``/``0``-style off via ``None``).
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any, Optional

from . import _bindings as B
from ._native import LOG_FN, keep_forever, lib

logger = logging.getLogger("route_registry")

#: logging level for the library's TRACE (below DEBUG).
TRACE = 5
logging.addLevelName(TRACE, "TRACE")

# rr_log_level -> logging level
_TO_PY = {
    B.RR_LOG_ERROR: logging.ERROR,
    B.RR_LOG_WARN: logging.WARNING,
    B.RR_LOG_INFO: logging.INFO,
    B.RR_LOG_DEBUG: logging.DEBUG,
    B.RR_LOG_TRACE: TRACE,
}


def _on_log(level: int, msg: Any, n: int, _ud: Any) -> None:
    try:
        py = _TO_PY.get(level, logging.DEBUG)
        if logger.isEnabledFor(py):
            text = ctypes.string_at(msg, n).decode("utf-8", "replace") if n else ""
            logger.log(py, "%s", text)
    except Exception:  # never raise into the library
        pass


# Kept alive for the life of the process, interpreter shutdown included: the library may call
# it from any thread.
_LOG_CB = keep_forever(LOG_FN(_on_log))


def set_native_log_level(level: Optional[int]) -> None:
    """Sets the most verbose level the library sends to ``logging``: a ``logging`` level
    (``logging.DEBUG``, ``TRACE`` = 5, ``logging.INFO``...) or ``None`` to stop it."""
    if level is None:
        lib.rr_set_logger(B.RR_LOG_OFF, LOG_FN(), None)
        return
    if not isinstance(level, int) or isinstance(level, bool):
        raise TypeError(f"level must be an int logging level or None, not {type(level).__name__}")
    if level <= TRACE:
        rr = B.RR_LOG_TRACE
    elif level <= logging.DEBUG:
        rr = B.RR_LOG_DEBUG
    elif level <= logging.INFO:
        rr = B.RR_LOG_INFO
    elif level <= logging.WARNING:
        rr = B.RR_LOG_WARN
    else:
        rr = B.RR_LOG_ERROR
    lib.rr_set_logger(rr, _LOG_CB, None)


set_native_log_level(logging.DEBUG)
