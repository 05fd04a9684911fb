"""Metrics and constraints compiled to Python for exact evaluation at millions of integer points.

The source is generated from sympy's expression tree only, never from user text: a free symbol
becomes `s0`, `s1`, ... (its name never appears), a rational constant becomes `c0`, `c1`, ...
(a Fraction in the function's namespace), an integer its decimal digits, each node type a fixed
operator (`floor` is `//` on integers, exact), and common subexpressions `t0`, `t1`, ... hoisted
to the outermost loop whose symbols they read. Before it is compiled, every identifier of the
source is checked against the names this module makes (`_check_identifiers`), so that nothing
from a spec or the command line can reach the code even through a bug here.

Arithmetic is exact: Python ints, and Fractions where a rational constant or a negative power
needs one. A comparison `d OP 0` is made on the numerator of `d` over a common denominator, so
the hot loop stays in ints; `floor(n/d)` is `n // d`, which floors exactly for either sign.
"""

from __future__ import annotations

import io
import math
import re
import tokenize
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import sympy

_IDENTIFIER = re.compile(r"^(?:s|c|t)[0-9]+$")
_KEYWORDS = frozenset(("def", "for", "in", "if", "elif", "else", "is", "not", "and", "or", "continue", "return", "True", "False", "None"))
_HELPERS = frozenset((
    "max", "min", "_floor", "_ceil", "_ONE", "_ranges", "_out", "_row", "_append", "append", "_search", "_value",
    "_best", "_rows", "_outer", "_runs", "_first", "_last", "_step", "_v", "_top", "_ties", "_count", "_limit", "range",
))
_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_SYMPY_OPS: dict[type, str] = {
    sympy.StrictLessThan: "<", sympy.LessThan: "<=", sympy.StrictGreaterThan: ">", sympy.GreaterThan: ">=",
    sympy.Equality: "==", sympy.Unequality: "!=",
}


class Unsupported(Exception):
    """An expression node this compiler does not translate (an irrational power, a sympy function)."""


class Source:
    """Python text for sympy expressions over a fixed list of symbols, with its constants."""

    def __init__(self, symbols: Sequence[Any]) -> None:
        self.names = {s: f"s{i}" for i, s in enumerate(symbols)}
        self.constants: dict[str, Any] = {}
        self._constant_names: dict[Any, str] = {}

    def constant(self, value: Any) -> str:
        name = self._constant_names.get(value)
        if name is None:
            name = self._constant_names[value] = f"c{len(self._constant_names)}"
            self.constants[name] = value
        return name

    def expr(self, e: Any) -> str:
        """Python text for a sympy value (a number, a symbol, an expression)."""
        if isinstance(e, bool):
            return "True" if e else "False"
        if isinstance(e, int):
            return f"({int(e)})"
        if isinstance(e, Fraction):
            return f"({int(e.numerator)})" if e.denominator == 1 else self.constant(e)
        if e is sympy.true or e is sympy.false:
            return "True" if e is sympy.true else "False"
        if e.is_Integer:
            return f"({int(e)})"
        if e.is_Rational:
            return self.constant(Fraction(int(e.p), int(e.q)))
        if e.is_Symbol:
            if e not in self.names:
                raise Unsupported("a symbol outside the search")
            return self.names[e]
        if e.is_Add:
            return "(" + " + ".join(self.expr(a) for a in e.args) + ")"
        if e.is_Mul:
            return "(" + "*".join(self.expr(a) for a in e.args) + ")"
        if e.is_Pow:
            base, exponent = e.args
            if not exponent.is_Integer:
                raise Unsupported("a power that is not an integer")
            n = int(exponent)
            if n >= 0:
                return f"({self.expr(base)}**{n})"
            return f"(_ONE/({self.expr(base)}**{-n}))"
        if isinstance(e, (sympy.floor, sympy.ceiling)):
            numerator, denominator = sympy.fraction(sympy.together(e.args[0]))
            top, bottom = self.expr(numerator), self.expr(denominator)
            if isinstance(e, sympy.floor):
                return f"({top}//{bottom})" if denominator != 1 else f"_floor({top})"
            return f"(-((-{top})//{bottom}))" if denominator != 1 else f"_ceil({top})"
        if isinstance(e, sympy.Mod):
            return f"({self.expr(e.args[0])} % {self.expr(e.args[1])})"
        if isinstance(e, (sympy.Max, sympy.Min)):
            return ("max(" if isinstance(e, sympy.Max) else "min(") + ", ".join(self.expr(a) for a in e.args) + ")"
        if isinstance(e, sympy.Piecewise):
            text = "None"
            for value, condition in reversed(e.args):
                text = f"({self.expr(value)} if {self.truth(condition)} else {text})"
            return text
        raise Unsupported(type(e).__name__)

    def truth(self, c: Any) -> str:
        """Python text for a sympy condition (inside a Piecewise)."""
        if c is sympy.true or c is sympy.false:
            return "True" if c is sympy.true else "False"
        if type(c) in _SYMPY_OPS:
            return self.compare(_SYMPY_OPS[type(c)], sympy.Add(c.lhs, -c.rhs))
        if isinstance(c, (sympy.And, sympy.Or)):
            joiner = " and " if isinstance(c, sympy.And) else " or "
            return "(" + joiner.join(self.truth(a) for a in c.args) + ")"
        if isinstance(c, sympy.Not):
            return f"(not {self.truth(c.args[0])})"
        raise Unsupported(type(c).__name__)

    def compare(self, op: str, difference: Any) -> str:
        """`difference OP 0`, exactly, on the numerator over a common denominator where one exists."""
        if not isinstance(difference, sympy.Basic):
            return f"({self.expr(difference)} {_OPS[op]} 0)"
        numerator, denominator = sympy.fraction(sympy.together(difference))
        if denominator.is_Number:
            if denominator < 0:
                op = _FLIP[op]
            return f"({self.expr(numerator)} {_OPS[op]} 0)"
        top, bottom = self.expr(numerator), self.expr(denominator)
        if op in ("==", "!="):
            return f"({bottom} != 0 and {top} {op} 0)"
        return f"({bottom} != 0 and {top}*{bottom} {_OPS[op]} 0)"

    def integral(self, value: Any) -> str:
        """`value` is an integer (a validity condition of kind "int"), exactly."""
        if not isinstance(value, sympy.Basic):
            return "True" if isinstance(value, int) or (isinstance(value, Fraction) and value.denominator == 1) else "False"
        numerator, denominator = sympy.fraction(sympy.together(value))
        top, bottom = self.expr(numerator), self.expr(denominator)
        return f"({bottom} != 0 and {top} % {bottom} == 0)"


def _check_identifiers(source: str) -> None:
    """Every name in the generated source is one this module makes: s0.., c0.., t0.., its helpers
    and Python keywords. Anything else (a name that slipped in from user text) is a bug: refused."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME and token.string not in _KEYWORDS and token.string not in _HELPERS and not _IDENTIFIER.match(token.string):
            raise AssertionError(f"generated code holds an identifier it did not make: {token.string!r}")
        if token.type == tokenize.STRING:
            raise AssertionError("generated code holds a string literal")


def _compiled(source: str, constants: dict[str, Any], entry: str) -> Callable[..., Any]:
    _check_identifiers(source)
    namespace: dict[str, Any] = {"__builtins__": {}, "max": max, "min": min, "range": range, "_floor": math.floor, "_ceil": math.ceil, "_ONE": Fraction(1), **constants}
    code = compile(source, "<cnncalc solve>", "exec")
    exec(code, namespace)
    function: Callable[..., Any] = namespace[entry]
    return function


def _hoisted(source: Source, expressions: Sequence[Any], symbols: Sequence[Any]) -> tuple[list[tuple[int, str, str]], list[Any], dict[Any, int]]:
    """Common subexpressions as (loop level, name, text), each at the outermost level that has
    its symbols, and the expressions rewritten over them."""
    basic = [e for e in expressions if isinstance(e, sympy.Basic)]
    if not basic:
        return [], list(expressions), {}
    counter = (sympy.Symbol(f"_cse{i}") for i in range(10**9))
    replacements, reduced = sympy.cse(basic, symbols=counter, optimizations=None)
    index = {s: i for i, s in enumerate(symbols)}
    levels: dict[Any, int] = {}
    assigned: list[tuple[int, str, str]] = []
    for i, (name, value) in enumerate(replacements):
        level = max((levels[s] if s in levels else index[s] + 1 for s in value.free_symbols), default=0)
        levels[name] = level
        source.names[name] = f"t{i}"
        assigned.append((level, f"t{i}", source.expr(value)))
    it = iter(reduced)
    rewritten = [next(it) if isinstance(e, sympy.Basic) else e for e in expressions]
    return assigned, rewritten, levels


def level_of(value: Any, symbols: Sequence[Any], levels: dict[Any, int]) -> int:
    """The outermost loop level at which every symbol (or hoisted name) of `value` is bound."""
    index = {s: i for i, s in enumerate(symbols)}
    found = 0
    for s in getattr(value, "free_symbols", ()):
        found = max(found, levels[s] if s in levels else index[s] + 1)
    return found


Check = tuple[str, Any]
"""One test of the search: ("lt"|"le"|"gt"|"ge"|"eq"|"ne"|"int", value) meaning value OP 0, or
("any", [Check-trees]) / ("all", [...]) / ("not", tree) for logic that is not a plain conjunction."""


def search_function(symbols: Sequence[Any], checks: Sequence[Any]) -> Callable[[Sequence[range], list[Any]], None]:
    """A function(ranges, out) that appends (outer values, [inner values]) for every point of the
    grid (one range per symbol, in order) where every check holds. `checks`: a conjunction of
    check trees (see `Check`); each plain check is tested at the outermost loop it can be."""
    text, constants = search_source(symbols, checks)
    return _compiled(text, constants, "_search")


def search_source(symbols: Sequence[Any], checks: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """The Python source of `search_function` and the constants it reads (c0, c1, ...)."""
    source = Source(symbols)
    values = [_value_of(c) for c in checks]
    leaves = [v for tree in values for v in tree]
    assigned, rewritten, levels = _hoisted(source, leaves, symbols)
    replaced = dict(zip(map(id, leaves), rewritten))
    n = len(symbols)
    tests: list[list[str]] = [[] for _ in range(n + 1)]
    for check in checks:
        text, level = _test_text(source, check, replaced, symbols, levels)
        tests[level].append(text)
    names = [f"s{i}" for i in range(n)]
    lines = ["def _search(_ranges, _out):"]
    fast = n > 0 and not any(lvl == n for lvl, _, _ in assigned)  # the inner loop as one comprehension
    for level in range(n + 1):
        if fast and level == n - 1:
            indent = "    " * (level + 1)
            lines.extend(f"{indent}{name} = {text}" for lvl, name, text in assigned if lvl == level)
            for text in tests[level]:
                lines.append(f"{indent}if not {text}:")
                lines.append(f"{indent}    {'continue' if level > 0 else 'return'}")
            test = " and ".join(tests[n]) or "True"
            lines.append(f"{indent}_row = [{names[-1]} for {names[-1]} in _ranges[{level}] if {test}]")
            break
        indent = "    " * (level + 1)
        if level == max(n - 1, 0):
            lines.append(f"{indent}_row = []")
            lines.append(f"{indent}_append = _row.append")
        lines.extend(f"{indent}{name} = {text}" for lvl, name, text in assigned if lvl == level)
        for text in tests[level]:
            lines.append(f"{indent}if not {text}:")
            lines.append(f"{indent}    {'continue' if level > 0 else 'return'}")
        if level < n:
            lines.append(f"{indent}for {names[level]} in _ranges[{level}]:")
    if not fast:
        lines.append("    " * (n + 1) + f"_append({names[-1] if n else 'None'})")
    indent = "    " * max(n, 1)
    outer = "(" + "".join(f"{x}, " for x in names[:-1]) + ")"
    lines.append(f"{indent}if _row:")
    lines.append(f"{indent}    _out.append(({outer}, _row))")
    return "\n".join(lines) + "\n", source.constants


def _value_of(check: Any) -> list[Any]:
    kind, payload = check
    if kind in ("all", "any"):
        return [v for part in payload for v in _value_of(part)]
    if kind == "not":
        return _value_of(payload)
    return [payload]


def _test_text(source: Source, check: Any, replaced: dict[int, Any], symbols: Sequence[Any], levels: dict[Any, int]) -> tuple[str, int]:
    kind, payload = check
    if kind in ("all", "any"):
        parts = [_test_text(source, part, replaced, symbols, levels) for part in payload]
        joiner = " and " if kind == "all" else " or "
        return "(" + (joiner.join(p for p, _ in parts) or ("True" if kind == "all" else "False")) + ")", max((lvl for _, lvl in parts), default=0)
    if kind == "not":
        text, level = _test_text(source, payload, replaced, symbols, levels)
        return f"(not {text})", level
    value = replaced.get(id(payload), payload)
    level = level_of(value, symbols, levels)
    if kind == "int":
        return source.integral(value), level
    op = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}[kind]
    return source.compare(op, value), level


def value_function(symbols: Sequence[Any], values: Sequence[Any]) -> Callable[..., tuple[Any, ...]]:
    """A function(s0, s1, ...) returning each of `values` at an integer point, exactly."""
    source = Source(symbols)
    assigned, rewritten, _ = _hoisted(source, list(values), symbols)
    args = ", ".join(f"s{i}" for i in range(len(symbols)))
    lines = [f"def _value({args}):"]
    lines.extend(f"    {name} = {text}" for _, name, text in assigned)
    lines.append("    return (" + "".join(f"{source.expr(v)}, " for v in rewritten) + ")")
    return _compiled("\n".join(lines) + "\n", source.constants, "_value")


def best_function(symbols: Sequence[Any], value: Any, sense: str) -> Callable[[Any, int], tuple[Any, list[tuple[int, ...]], int]]:
    """A function(rows, limit) -> (best value, first `limit` points reaching it, how many do) over
    rows of (outer values, [(first, last, step), ...]) runs of the last symbol: the objective's
    optimum ("max" or "min") and its ties, in one generated loop (no call per point)."""
    source = Source(symbols)
    assigned, (rewritten,), _ = _hoisted(source, [value], symbols)
    n = len(symbols)
    better = ">" if sense == "max" else "<"
    outer = "".join(f"s{i}, " for i in range(n - 1))
    lines = ["def _best(_rows, _limit):", "    _top = None", "    _ties = []", "    _count = 0", "    for _outer, _runs in _rows:"]
    if n > 1:
        lines.append(f"        ({outer}) = _outer")
    lines.extend(f"        {name} = {text}" for lvl, name, text in assigned if lvl < n)
    lines.append("        for _first, _last, _step in _runs:")
    lines.append(f"            for s{n - 1} in range(_first, _last + 1, _step):")
    lines.extend(f"                {name} = {text}" for lvl, name, text in assigned if lvl == n)
    lines += [
        f"                _v = {source.expr(rewritten)}",
        f"                if _top is None or _v {better} _top:",
        "                    _top = _v",
        f"                    _ties = [({''.join(f's{i}, ' for i in range(n))})]",
        "                    _count = 1",
        "                elif _v == _top:",
        "                    _count += 1",
        "                    if _count <= _limit:",
        f"                        _ties.append(({''.join(f's{i}, ' for i in range(n))}))",
        "    return _top, _ties, _count",
    ]
    function: Callable[[Any, int], tuple[Any, list[tuple[int, ...]], int]] = _compiled("\n".join(lines) + "\n", source.constants, "_best")
    return function
