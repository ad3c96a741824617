"""One answer per bad input: every case of tests/conformance/bad_inputs.json (repository root)
that Python can express, with the same category of error as C and Go, the message's length
bound, and at most 64 consecutive characters of a long bad value quoted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
import route_registry as rr
from route_registry import Kind, Registry, Route

TABLE_PATH = Path(__file__).resolve().parents[3] / "tests" / "conformance" / "bad_inputs.json"
TABLE = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
MAX_QUOTED: int = TABLE["max_quoted_chars"]
MAX_MESSAGE: int = TABLE["max_message_bytes"]
CASES: List[Dict[str, Any]] = [c for c in TABLE["cases"] if "python" in c.get("langs", ["python"])]

_ABSENT = object()  # what an "absent" lookup gave
_PRESENT = object()  # what a lookup that found a route gave


class UnknownOp(AssertionError):
    """The table has an operation this runner does not know: never skipped silently."""


def value(v: Any) -> Any:
    """A table value as Python passes it (see tests/conformance/README.md)."""
    if isinstance(v, list):
        return [value(x) for x in v]
    if isinstance(v, dict) and "hex" in v:
        return bytes.fromhex(v["hex"]).decode("utf-8", "surrogateescape")
    if isinstance(v, dict) and "repeat" in v:
        return v.get("prefix", "") + v["repeat"] * v["count"]
    return v


def _conf_route() -> Route:
    return Route(Kind.HTTP, "conf", "http://10.0.0.1:80")


def _get(reg: Registry, key: str) -> Any:
    got = reg.get(key)
    if got is not None:
        return got
    with pytest.raises(KeyError) as ei:  # and reg[key] raises KeyError (NotFound)
        reg[key]
    assert isinstance(ei.value, rr.NotFound)
    _check_message(str(ei.value), [key])
    return _ABSENT


def _use_after_close(obj: str) -> None:
    if obj == "route":
        r = _conf_route()
        r.close()
        _ = r.alias
    elif obj == "registry":
        reg = Registry()
        reg.close()
        reg.get("a")
    elif obj == "batch":
        b = Registry().batch()
        b.discard()
        b.add(_conf_route())
    elif obj == "watch":
        w = Registry().watch()
        w.close()
        w.get()
    else:
        raise UnknownOp(f"use_after_close of {obj!r}")


def _batch_op(reg: Registry, op: str, a: Dict[str, Any]) -> Any:
    with reg.batch() as b:
        try:
            if op == "batch_add":
                return b.add(a["route"])
            if op == "batch_del_key":
                return b.del_key(a["kind"], a["key"])
            if op == "batch_replace_provider":
                return b.replace_provider(a["provider"])
            b.commit()
            return b.commit()
        finally:
            b.discard()


def _find(reg: Registry, host: str) -> Any:
    reg.add(_conf_route())
    got = reg.find_http_route(host)
    return _ABSENT if got is None else _PRESENT


def _op(case: Dict[str, Any], reg: Registry) -> Callable[[], Any]:
    a = {k: value(v) for k, v in case.get("args", {}).items()}
    op = case["op"]
    if op == "route_new":
        return lambda: Route(a["kind"], a["alias"], a["url"])
    if op == "route_set":
        setter = {"key": "set_key", "display_name": "set_display_name", "provider": "set_provider"}
        if a["field"] not in setter:
            raise UnknownOp(f"route_set of field {a['field']!r}")
        return lambda: getattr(_conf_route(), setter[a["field"]])(a["value"])
    if op == "route_set_priority":
        return lambda: _conf_route().set_priority(a["priority"])
    if op == "route_set_proxmox":
        return lambda: _conf_route().set_proxmox(a["node"], a["vmid"])
    if op == "route_set_health":
        return lambda: _conf_route().set_health(
            a["status"], a["uptime_ns"], a["latency_ns"], a["detail"]
        )
    if op == "health_json":
        return lambda: reg.health_json(a["format"])
    if op == "del_key":
        return lambda: reg.pool(a["kind"]).delete(a["key"])
    if op == "get":
        return lambda: _get(reg, a["key"])
    if op == "proxmox_load_json":
        return lambda: reg.load_proxmox_inventory(a["json"])
    if op == "add":
        if "registry" in a:
            raise UnknownOp("add with a NULL registry (Python cannot express it)")
        return lambda: reg.add(a["route"])
    if op == "use_after_close":
        return lambda: _use_after_close(a["object"])
    if op in ("batch_add", "batch_del_key", "batch_replace_provider", "batch_commit_twice"):
        return lambda: _batch_op(reg, op, a)
    if op == "changes_since":
        return lambda: reg.changes(a["since"])
    if op == "set_change_log_capacity":
        return lambda: reg.set_change_log_capacity(a["records"])
    if op == "set_route_domains":
        return lambda: reg.set_route_domains(a["domains"])
    if op == "find_http_route":
        return lambda: _find(reg, a["host"])
    raise UnknownOp(f"unknown op {op!r} in case {case.get('id')!r}")


def _check_message(msg: str, values: List[Any]) -> None:
    assert msg, "an empty error message"
    assert (
        len(msg.encode("utf-8", "surrogateescape")) <= MAX_MESSAGE
    ), f"message of {len(msg.encode('utf-8', 'surrogateescape'))} bytes: {msg[:200]!r}"
    for v in values:
        if isinstance(v, str) and len(v) > MAX_QUOTED:
            w = MAX_QUOTED + 1
            leaked = [msg[i : i + w] for i in range(len(msg) - w + 1) if msg[i : i + w] in v]
            assert not leaked, f"the message quotes more than {MAX_QUOTED} chars: {msg[:200]!r}"


EXPECT = {
    "invalid_argument": rr.InvalidArgument,
    "not_found": rr.NotFound,
}


def run_case(case: Dict[str, Any]) -> None:
    expect = case["expect"]
    with Registry() as reg:
        call = _op(case, reg)
        values: List[Any] = []
        for v in case.get("args", {}).values():
            v = value(v)
            values.extend(v if isinstance(v, list) else [v])
        if expect in ("ok", "absent", "present"):
            got = call()
            if expect == "absent":
                assert got is _ABSENT, f"expected absent, got {got!r}"
            if expect == "present":
                assert got is _PRESENT, f"expected a route, got {got!r}"
            return
        if expect == "closed":
            with pytest.raises(ValueError) as ei:
                call()
            assert "closed" in str(ei.value)
            assert not isinstance(ei.value, rr.RouteRegistryError)
        elif expect in EXPECT:
            with pytest.raises(EXPECT[expect]) as ei:
                call()
        else:
            raise UnknownOp(f"unknown expectation {expect!r} in case {case['id']!r}")
        msg = str(ei.value)
        if "mentions" in case:
            assert case["mentions"] in msg, f"{msg[:200]!r} does not mention {case['mentions']!r}"
        _check_message(msg, values)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case: Dict[str, Any]) -> None:
    run_case(case)


def test_the_table_is_found_and_python_runs_most_of_it() -> None:
    assert len(CASES) >= 40 and len(CASES) >= len(TABLE["cases"]) - 5


@pytest.mark.parametrize(
    "case",
    [
        {"id": "x", "op": "no_such_op", "args": {}, "expect": "ok"},
        {"id": "y", "op": "health_json", "args": {"format": 0}, "expect": "exploded"},
        {"id": "z", "op": "route_set", "args": {"field": "colour", "value": ""}, "expect": "ok"},
    ],
)
def test_an_unknown_op_or_expectation_fails(case: Dict[str, Any]) -> None:
    with pytest.raises(UnknownOp):
        run_case(case)


def test_a_long_value_in_a_message_is_caught() -> None:
    with pytest.raises(AssertionError, match="quotes more than"):
        _check_message("key " + "a" * 65 + " bad", ["a" * 100])
    _check_message("key " + "a" * 64 + "... bad", ["a" * 100])


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.set_priority(10**5000),
        lambda r: r.set_health(1, -(10**6000)),
        lambda r: r.set_health("x" * 100_000),
        lambda r: Route(10**70, "a", "http://10.0.0.1:80"),
        lambda r: Route("k" * 100_000, "a", "http://10.0.0.1:80"),
    ],
    ids=["priority", "uptime", "status_label", "kind_int", "kind_name"],
)
def test_python_side_refusals_are_bounded_too(call: Callable[[Route], Any]) -> None:
    """What Python refuses itself (values it cannot pass to C unchanged) follows the same
    rules: InvalidArgument, a short message, at most 64 characters of the value."""
    with pytest.raises(rr.InvalidArgument) as ei:
        call(_conf_route())
    msg = str(ei.value)
    _check_message(msg, ["x" * 100_000, "k" * 100_000])
    assert len(msg) < 200
