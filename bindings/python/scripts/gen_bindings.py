#!/usr/bin/env python3
"""Generates ``src/route_registry/_bindings.py`` (the ctypes declaration table) from the C
header ``include/route_registry.h``, so that no value or signature is typed twice.

    python3 bindings/python/scripts/gen_bindings.py            # rewrite the table
    python3 bindings/python/scripts/gen_bindings.py --check    # exit 1 if it is out of date

The header is read generically: ``#define`` integer constants, opaque struct typedefs,
structs with fields, scalar typedefs, function-pointer typedefs, enums and every function
declaration. Anything it does not understand stops the generator with the offending text,
so a new kind of declaration cannot be dropped silently.

Type rules (the same for every function):
- ``const char *`` argument: ``c_char_p`` (Python passes ``bytes``).
- Every other pointer argument to an opaque handle, ``void`` or ``char``: ``c_void_p``;
  a pointer to a struct or a scalar: ``POINTER(T)``; a pointer to a handle pointer:
  ``POINTER(c_void_p)``.
- Every pointer result, every pointer in a struct field or a callback parameter:
  ``c_void_p`` (an int address: ctypes never converts or frees it behind our back).
- Scalar typedefs keep their name (``rr_status = c_uint32``) so the table reads as the header.
Standard library only.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import List, Optional, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
HEADER = REPO / "include" / "route_registry.h"
OUT = HERE.parent / "src" / "route_registry" / "_bindings.py"

SCALARS = {
    "void": "None",
    "bool": "c_bool",
    "_Bool": "c_bool",
    "char": "c_char",
    "int": "c_int",
    "unsigned": "c_uint",
    "unsigned int": "c_uint",
    "long": "c_long",
    "unsigned long": "c_ulong",
    "float": "c_float",
    "double": "c_double",
    "int8_t": "c_int8",
    "uint8_t": "c_uint8",
    "int16_t": "c_int16",
    "uint16_t": "c_uint16",
    "int32_t": "c_int32",
    "uint32_t": "c_uint32",
    "int64_t": "c_int64",
    "uint64_t": "c_uint64",
    "size_t": "c_size_t",
    "ssize_t": "c_ssize_t",
    "intptr_t": "c_ssize_t",
    "uintptr_t": "c_size_t",
}


class HeaderError(Exception):
    pass


class Header:
    """What the header declares, in declaration order."""

    def __init__(self) -> None:
        self.constants: List[Tuple[str, str]] = []  # (name, python literal)
        self.opaque: List[str] = []
        self.structs: List[Tuple[str, List[Tuple[str, str]]]] = []  # name, [(field, C type)]
        self.aliases: List[Tuple[str, str]] = []  # name, C type
        self.funcptrs: List[Tuple[str, str, List[Tuple[str, str]]]] = []  # name, ret, params
        self.functions: List[Tuple[str, str, List[Tuple[str, str]], str]] = []  # + prototype
        self.order: List[Tuple[str, str]] = []  # (what, name) for the type section

    # -- type mapping -----------------------------------------------------------------

    def _base(self, ctype: str) -> Tuple[str, int, bool]:
        """(base name, pointer depth, const) of a C type."""
        t = ctype.replace("*", " * ")
        words = t.split()
        const = "const" in words
        stars = words.count("*")
        base = " ".join(w for w in words if w not in ("const", "struct", "enum", "*"))
        if not base:
            raise HeaderError(f"cannot read the type {ctype!r}")
        return base, stars, const

    def _is_known(self, base: str) -> bool:
        return (
            base in SCALARS
            or base in self.opaque
            or any(base == n for n, _ in self.structs)
            or any(base == n for n, _ in self.aliases)
            or any(base == n for n, _, _ in self.funcptrs)
        )

    def py_type(self, ctype: str, where: str) -> str:
        """The ctypes expression for ``ctype`` used as ``where``: arg, ret, field or cb."""
        base, stars, const = self._base(ctype)
        if not self._is_known(base):
            raise HeaderError(f"unknown type {base!r} in {ctype!r}")
        if stars == 0:
            if base in self.opaque:
                raise HeaderError(f"opaque type {base!r} used by value")
            if base == "void" and where != "ret":
                raise HeaderError(f"void used as a {where} type")
            return SCALARS.get(base, base)
        if stars == 1:
            if where == "arg" and base == "char" and const:
                return "c_char_p"
            if where != "arg" or base in self.opaque or base in ("void", "char"):
                return "c_void_p"
            return f"POINTER({SCALARS.get(base, base)})"
        if base in self.opaque and stars == 2:
            return "POINTER(c_void_p)"
        inner = self.py_type(ctype.rsplit("*", 1)[0], "field")
        return f"POINTER({inner})"


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _params(text: str) -> List[Tuple[str, str]]:
    text = " ".join(text.split())
    if text in ("", "void"):
        return []
    out = []
    for i, p in enumerate(text.split(",")):
        p = p.strip()
        m = re.fullmatch(r"(.*?[\s*])([A-Za-z_]\w*)", p)
        if m and m.group(1).strip() and m.group(2) not in SCALARS:
            out.append((m.group(2), m.group(1).strip()))
        else:  # unnamed parameter
            out.append((f"arg{i}", p))
    return out


def _int_literal(v: str) -> Optional[str]:
    v = v.strip()
    while v.startswith("(") and v.endswith(")"):
        v = v[1:-1].strip()
    m = re.fullmatch(r"(-?)(0[xX][0-9a-fA-F]+|\d+)[uUlL]*", v)
    if m:
        return str(int(m.group(1) + m.group(2), 0))
    if re.fullmatch(r'"([^"\\]|\\.)*"', v):
        return v
    return None


def parse(text: str) -> Header:
    h = Header()
    text = _strip_comments(text)
    body: List[str] = []
    skip_depth = 0  # inside #ifdef __cplusplus ... #endif
    depth = 0
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#"):
            d = s[1:].strip()
            if d.startswith(("if", "ifdef", "ifndef")):
                depth += 1
                if skip_depth == 0 and "__cplusplus" in d:
                    skip_depth = depth
            elif d.startswith("endif"):
                if skip_depth == depth:
                    skip_depth = 0
                depth -= 1
            elif d.startswith("define") and skip_depth == 0:
                m = re.fullmatch(r"define\s+([A-Za-z_]\w*)(?:\s+(.*))?", d)
                if not m:
                    raise HeaderError(f"cannot read {s!r}")
                name, value = m.group(1), m.group(2)
                if value is None:
                    continue  # include guard
                lit = _int_literal(value)
                if lit is None:
                    raise HeaderError(f"cannot read the value of {s!r}")
                h.constants.append((name, lit))
            elif d.startswith(("include", "else", "elif", "pragma", "undef")):
                pass
            else:
                raise HeaderError(f"unknown preprocessor line {s!r}")
            continue
        if skip_depth:
            continue
        body.append(line)

    # Statements end at ';' outside braces.
    stmts: List[str] = []
    cur: List[str] = []
    braces = 0
    for ch in "\n".join(body):
        if ch == "{":
            braces += 1
        elif ch == "}":
            braces -= 1
        if ch == ";" and braces == 0:
            stmts.append(" ".join("".join(cur).split()))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        raise HeaderError(f"unterminated declaration: {''.join(cur).strip()[:200]!r}")

    for st in stmts:
        m = re.fullmatch(r"typedef struct (\w+) (\w+)", st)
        if m and m.group(1) == m.group(2):
            h.opaque.append(m.group(1))
            h.order.append(("opaque", m.group(1)))
            continue
        m = re.fullmatch(r"typedef struct (\w+)? ?\{(.*)\} (\w+)", st)
        if m:
            fields = []
            for f in m.group(2).split(";"):
                f = f.strip()
                if not f:
                    continue
                fm = re.fullmatch(r"(.*?[\s*])(\w+)", f)
                if not fm:
                    raise HeaderError(f"cannot read the field {f!r} of {m.group(3)}")
                fields.append((fm.group(2), fm.group(1).strip()))
            h.structs.append((m.group(3), fields))
            h.order.append(("struct", m.group(3)))
            continue
        m = re.fullmatch(r"typedef enum (\w+)? ?\{(.*)\} (\w+)", st)
        if m:
            nxt = 0
            for item in m.group(2).split(","):
                item = item.strip()
                if not item:
                    continue
                em = re.fullmatch(r"(\w+)(?:\s*=\s*(.+))?", item)
                lit = _int_literal(em.group(2)) if em and em.group(2) else str(nxt)
                if not em or lit is None:
                    raise HeaderError(f"cannot read the enumerator {item!r}")
                h.constants.append((em.group(1), lit))
                nxt = int(lit) + 1
            h.aliases.append((m.group(3), "int"))
            h.order.append(("alias", m.group(3)))
            continue
        m = re.fullmatch(r"typedef (.+?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)", st)
        if m:
            h.funcptrs.append((m.group(2), m.group(1).strip(), _params(m.group(3))))
            h.order.append(("funcptr", m.group(2)))
            continue
        m = re.fullmatch(r"typedef (.+?[\s*])(\w+)", st)
        if m:
            h.aliases.append((m.group(2), m.group(1).strip()))
            h.order.append(("alias", m.group(2)))
            continue
        m = re.fullmatch(r"(?:extern )?(.+?[\s*])(\w+)\s*\((.*)\)", st)
        if m and not st.startswith("typedef"):
            h.functions.append((m.group(2), m.group(1).strip(), _params(m.group(3)), st))
            continue
        raise HeaderError(f"cannot read the declaration {st[:200]!r}")
    return h


def _c_param(name: str, ctype: str) -> str:
    return f"{ctype}{name}" if ctype.endswith("*") else f"{ctype} {name}"


def render(h: Header, header_name: str = "include/route_registry.h") -> str:
    out: List[str] = []
    w = out.append
    w("# GENERATED by bindings/python/scripts/gen_bindings.py from " + header_name + ".")
    w("# Do not edit: change the header (make header), then run the script. A test fails")
    w("# when this file differs from what the header generates.")
    w("# ruff: noqa: E501")
    w('"""The ctypes declaration table of the C ABI: constants, types and, for every')
    w('function, its result and argument types (``FUNCTIONS``)."""')
    w("")
    w("# fmt: off")
    w("from ctypes import (  # noqa: F401")
    w("    CFUNCTYPE, POINTER, Structure, c_bool, c_char, c_char_p, c_double, c_float, c_int,")
    w("    c_int8, c_int16, c_int32, c_int64, c_long, c_size_t, c_ssize_t, c_uint, c_uint8,")
    w("    c_uint16, c_uint32, c_uint64, c_ulong, c_void_p,")
    w(")")
    w("from typing import Any, Dict, List, Tuple")
    w("")
    w("# -- constants (#define and enumerators) --")
    for name, lit in h.constants:
        w(f"{name} = {lit}")
    w("")
    w("# -- types --")
    structs = dict(h.structs)
    aliases = dict(h.aliases)
    funcptrs = {n: (r, p) for n, r, p in h.funcptrs}
    for what, name in h.order:
        if what == "opaque":
            w(f"# {name}: opaque, passed as c_void_p")
        elif what == "struct":
            w("")
            w(f"class {name}(Structure):")
            w("    _fields_ = [")
            for fname, ftype in structs[name]:
                w(f"        ({fname!r}, {h.py_type(ftype, 'field')}),  # {ftype}")
            w("    ]")
            w("")
        elif what == "alias":
            w(f"{name} = {h.py_type(aliases[name], 'field')}")
        elif what == "funcptr":
            ret, params = funcptrs[name]
            args = [h.py_type(ret, "ret")] + [h.py_type(t, "cb") for _, t in params]
            sig = ", ".join(_c_param(n, t) for n, t in params)
            w(f"{name} = CFUNCTYPE({', '.join(args)})  # {ret} (*)({sig})")
    w("")
    w("# -- functions: name -> (restype, argtypes) --")
    w("FUNCTIONS: Dict[str, Tuple[Any, List[Any]]] = {")
    for name, ret, params, proto in h.functions:
        w(f"    # {proto}")
        args = ", ".join(h.py_type(t, "arg") for _, t in params)
        w(f"    {name!r}: ({h.py_type(ret, 'ret')}, [{args}]),")
    w("}")
    w("# fmt: on")
    return "\n".join(out) + "\n"


def generate(header: Path = HEADER) -> str:
    return render(parse(header.read_text(encoding="utf-8")))


def main(argv: List[str]) -> int:
    try:
        text = generate()
    except HeaderError as e:
        print(f"gen_bindings: {HEADER}: {e}", file=sys.stderr)
        return 2
    if "--check" in argv:
        if not OUT.is_file() or OUT.read_text(encoding="utf-8") != text:
            print(f"gen_bindings: {OUT} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
