"""The ctypes table is generated from the header: regenerating it must give the committed
file exactly (function names, result and argument types, structs, callbacks, constants)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import route_registry as rr
from route_registry import _bindings

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gen_bindings.py"


def _gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_bindings", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_bindings"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_the_committed_table_is_what_the_header_generates() -> None:
    gen = _gen()
    fresh = gen.generate()
    committed = gen.OUT.read_text(encoding="utf-8")
    if fresh != committed:
        import difflib

        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(True), fresh.splitlines(True), "committed", "generated"
            )
        )
        pytest.fail(f"_bindings.py is out of date; run scripts/gen_bindings.py:\n{diff[:4000]}")


def test_an_argument_type_change_in_the_header_changes_the_table() -> None:
    gen = _gen()
    header = gen.HEADER.read_text(encoding="utf-8")
    changed = header.replace(
        "rr_status rr_route_set_priority(struct rr_route *r, int32_t priority);",
        "rr_status rr_route_set_priority(struct rr_route *r, int64_t priority);",
    )
    assert changed != header
    h = gen.parse(changed)
    table = gen.render(h)
    assert "'rr_route_set_priority': (rr_status, [c_void_p, c_int64])," in table
    assert table != gen.OUT.read_text(encoding="utf-8")


def test_the_generator_reads_new_kinds_of_declarations() -> None:
    gen = _gen()
    text = """
    #define RR_BATCH_MAX 0x10
    typedef struct rr_batch rr_batch;
    typedef struct rr_pair { const char *key; size_t len; int32_t n; } rr_pair;
    typedef bool (*rr_watch_fn)(const struct rr_pair *p, uint64_t gen, void *user_data);
    typedef enum rr_mode { RR_MODE_A, RR_MODE_B = 4, RR_MODE_C } rr_mode;
    #ifdef __cplusplus
    extern "C" {
    #endif
    rr_batch *rr_batch_new(const struct rr_registry *reg);
    size_t rr_batch_pairs(const rr_batch *b, struct rr_pair *out, size_t cap,
                          rr_watch_fn f, rr_mode mode, char *buf, struct rr_batch **next);
    #ifdef __cplusplus
    }
    #endif
    """
    text = "typedef struct rr_registry rr_registry;\n" + text
    out = gen.render(gen.parse(text))
    assert "RR_BATCH_MAX = 16" in out
    assert "RR_MODE_A = 0\nRR_MODE_B = 4\nRR_MODE_C = 5" in out
    assert "class rr_pair(Structure):" in out and "('n', c_int32)" in out
    assert "rr_watch_fn = CFUNCTYPE(c_bool, c_void_p, c_uint64, c_void_p)" in out
    assert "'rr_batch_new': (c_void_p, [c_void_p])," in out
    assert (
        "'rr_batch_pairs': (c_size_t, [c_void_p, POINTER(rr_pair), c_size_t, rr_watch_fn, "
        "rr_mode, c_void_p, POINTER(c_void_p)]),"
    ) in out
    ns: dict = {}
    exec(compile(out, "<generated>", "exec"), ns)  # the output is valid Python
    assert ns["FUNCTIONS"]["rr_batch_new"][1] == [ns["c_void_p"]]


@pytest.mark.parametrize(
    "text, words",
    [
        ("#define RR_X some_macro(1)\n", "cannot read the value"),
        ("int rr_f(struct rr_unknown *u);\n", "unknown type"),
        ("union rr_u { int a; };\n", "cannot read the declaration"),
        ("#warning hi\n", "unknown preprocessor line"),
    ],
)
def test_the_generator_stops_on_what_it_does_not_understand(text: str, words: str) -> None:
    gen = _gen()
    with pytest.raises(gen.HeaderError, match=words):
        gen.render(gen.parse(text))


def test_enums_and_formats_come_from_the_table() -> None:
    assert [int(k) for k in rr.Kind] == [
        _bindings.RR_KIND_HTTP, _bindings.RR_KIND_STREAM, _bindings.RR_KIND_EXCLUDED,
    ]  # fmt: skip
    assert int(rr.HealthStatus.ERROR) == _bindings.RR_HEALTH_STATUS_ERROR
    assert rr.HEALTH_SIMPLE == _bindings.RR_HEALTH_SIMPLE
    assert rr.InvalidArgument.status == _bindings.RR_INVALID_ARGUMENT
    assert rr.LibraryPanic.status == _bindings.RR_PANIC
    assert rr.ABI_VERSION == _bindings.RR_ABI_VERSION == rr._native.lib.rr_abi_version()
