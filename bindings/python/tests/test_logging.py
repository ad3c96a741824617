from __future__ import annotations

import logging
import threading

import pytest
import route_registry as rr
from route_registry import Kind, Registry, Route


def test_library_log_lines_reach_logging(reg: Registry, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="route_registry"):
        r = Route(Kind.HTTP, "app", "http://h:1", display_name="My App")
        reg.add(r)
        reg.add(Route(Kind.HTTP, "app", "http://h:2", display_name="My App 2"))
        reg.delete("app")
        reg.clear()  # nothing live to clear: no line
        reg.add(Route(Kind.STREAM, "db", "tcp://h:5432"))
        reg.clear()
    recs = [x for x in caplog.records if x.name == "route_registry"]
    msgs = [x.getMessage() for x in recs]
    assert "http_routes: added My App" in msgs, msgs
    assert any("My App 2" in m and "replace" in m for m in msgs), msgs
    assert any("removed" in m for m in msgs), msgs
    assert [m for m in msgs if "cleared" in m] == ["stream_routes: cleared 1 routes"], msgs
    assert all(x.levelno == logging.DEBUG for x in recs)


def test_log_lines_from_other_threads(reg: Registry, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="route_registry"):
        ts = [
            threading.Thread(target=reg.add, args=(Route(Kind.HTTP, f"t{i}", "http://h:1"),))
            for i in range(4)
        ]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    assert sorted(m for m in caplog.messages if "added t" in m) == [
        f"http_routes: added t{i}" for i in range(4)
    ]


def test_native_level_can_be_lowered_and_raised(
    reg: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        with caplog.at_level(logging.DEBUG, logger="route_registry"):
            rr.set_native_log_level(logging.INFO)  # add is DEBUG: not sent
            reg.add(Route(Kind.HTTP, "quiet", "http://h:1"))
            rr.set_native_log_level(None)
            reg.add(Route(Kind.HTTP, "off", "http://h:1"))
            rr.set_native_log_level(rr.TRACE)
            reg.add(Route(Kind.HTTP, "loud", "http://h:1"))
        assert not any("quiet" in m or "off" in m for m in caplog.messages)
        assert any("added loud" in m for m in caplog.messages)
        with pytest.raises(TypeError):
            rr.set_native_log_level("debug")  # type: ignore[arg-type]
    finally:
        rr.set_native_log_level(logging.DEBUG)


def test_disabled_logger_drops_lines(reg: Registry, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="route_registry"):
        reg.add(Route(Kind.HTTP, "app", "http://h:1"))
    assert not [r for r in caplog.records if r.name == "route_registry"]
