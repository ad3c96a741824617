"""help(route_registry) shows the API first and stays readable; the public names are all
exported and documented."""

from __future__ import annotations

import inspect
import pydoc
import re
from pathlib import Path

import route_registry as rr

PKG = Path(rr.__file__).resolve().parent


def _help(obj: object) -> str:
    return pydoc.render_doc(obj, renderer=pydoc.plaintext)


def test_help_shows_the_api_before_the_classes() -> None:
    text = _help(rr)
    assert text.index("API") < text.index("Lifecycle") < text.index("CLASSES")
    # 1 264 lines before change records, batches and watches (eight more public classes and
    # seven registry methods: about 500 lines); a runaway (every inherited method) is more.
    assert len(text.splitlines()) < 2000


def test_help_does_not_list_inherited_int_and_exception_methods() -> None:
    for cls in (rr.Kind, rr.HealthStatus):
        text = _help(cls)
        assert "bit_length" not in text and "conjugate" not in text, cls
        assert "HTTP" in text or "HEALTHY" in text
    for cls in (rr.NotFound, rr.InvalidArgument, rr.RouteRegistryError):
        text = _help(cls)
        assert "add_note" not in text and "__reduce__" not in text, cls
        assert "status" in text
    assert "of" in dir(rr.Kind) and "from_label" in dir(rr.HealthStatus)


def test_every_public_name_is_exported_and_documented() -> None:
    for name in rr.__all__:
        obj = getattr(rr, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"
    public = {n for n, o in vars(rr).items() if not n.startswith("_") and not inspect.ismodule(o)}
    assert public - {"annotations"} <= set(rr.__all__) | {"lib_path"}


def test_public_methods_are_documented() -> None:
    for cls in (rr.Registry, rr.Pool, rr.Route, rr.RouteContext, rr.Batch, rr.Watch):
        for name, member in vars(cls).items():
            if name.startswith("_") or name in ("slice", "kind", "http", "stream", "excluded"):
                continue  # an alias; slots (described in the class docstring)
            doc = getattr(member, "__doc__", None)
            assert doc and doc.strip(), f"{cls.__name__}.{name} has no docstring"


def test_docstrings_describe_behaviour_in_the_projects_own_words() -> None:
    for path in PKG.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bthe seed\b|\.\./shared|SPEC\b", text), path.name
