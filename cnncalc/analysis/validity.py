"""The validity conditions of an evaluation stated simply, and refused when they can never hold.

Each layer records what PyTorch requires of its free symbols (`cnncalc.conditions`). Here they
are read back: a requirement on one symbol that is linear (`k - 64 >= 1`, `2*k = 64`, `k/8` an
integer) becomes a bound, a value or a residue class of that symbol; the bounds of one symbol
are merged into the tightest (`65 <= k <= 200`), and contradictory ones (`k >= 65` and
`k <= 16`) are an error at once, located at the layer that made them so. Anything else is kept as
written (`floor((N - k)/s) + 1 >= 1`). Only specs with free symbols come here (sympy is loaded).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, NamedTuple

from cnncalc import arith
from cnncalc.conditions import Condition
from cnncalc.errors import ShapeError

MAX_MODULUS = 1_000_000  # residue classes are worked out for moduli up to this


class Linear(NamedTuple):
    """A condition read as a statement about one symbol: `op` is ">=", "<=", "=", "!=" or
    "mod" (then the symbol is `value` modulo `modulus`)."""

    symbol: Any
    op: str
    value: int
    modulus: int = 0


class Stated(NamedTuple):
    """One line of the validity conditions: its text and the requirements behind it."""

    text: str
    conditions: tuple[Condition, ...]


def linear(condition: Condition) -> Linear | bool | None:
    """The condition as a statement about one symbol; False when it holds for no positive
    integer, True when for every one; None when it is not linear in one symbol."""
    import sympy

    difference = sympy.expand(arith.sub(condition.lhs, condition.rhs) if condition.kind != "int" else condition.lhs)
    symbols = difference.free_symbols
    if len(symbols) != 1:
        return None
    (symbol,) = symbols
    try:
        poly = sympy.Poly(difference, symbol)
    except sympy.PolynomialError:
        return None
    if poly.degree() != 1 or not all(c.is_Rational for c in poly.all_coeffs()):
        return None
    a, b = (Fraction(int(c.p), int(c.q)) for c in poly.all_coeffs())
    if condition.kind == "ge":
        return Linear(symbol, ">=", math.ceil(-b / a)) if a > 0 else Linear(symbol, "<=", math.floor(-b / a))
    if condition.kind in ("eq", "ne"):
        root = -b / a
        if root.denominator == 1 and root >= 1:
            return Linear(symbol, "=" if condition.kind == "eq" else "!=", int(root))
        return condition.kind == "ne"
    modulus = math.lcm(a.denominator, b.denominator)
    if modulus > MAX_MODULUS:
        return None
    # a*k + b is an integer for k in one residue class modulo a's denominator, or for none.
    step = a.denominator
    residues = [r for r in range(step) if (a * r + b).denominator == 1]
    if not residues:
        return False
    return Linear(symbol, "mod", residues[0], step)


def simplified(condition: Condition) -> Condition:
    """A "ge" condition without the floor of an output size: floor(X) + c >= 0 holds exactly when
    X + c >= 0 (c an integer), and (A + c*s)/s >= 0 when A + c*s >= 0 (s positive), so
    `floor((N + 2*p - k)/s) + 1 >= 1` reads `N + 2*p - k >= 0`."""
    if condition.kind != "ge":
        return condition
    import sympy

    difference = sympy.expand(arith.sub(condition.lhs, condition.rhs))
    floors = [t for t in sympy.Add.make_args(difference) if isinstance(t, sympy.floor)]
    rest = difference - sum(floors)
    if len(floors) != 1 or not rest.is_Integer:
        return condition
    numerator, denominator = sympy.fraction(sympy.together(floors[0].args[0] + rest))
    if denominator.is_positive is not True:
        return condition
    return condition._replace(lhs=sympy.expand(numerator), rhs=0)


def state(conditions: Sequence[Condition]) -> tuple[Stated, ...]:
    """The conditions as lines to print, tightest bounds first; ShapeError when they cannot hold together."""
    bounds: dict[Any, dict[str, tuple[int, Condition]]] = {}
    residues: dict[Any, list[tuple[int, int, Condition]]] = {}
    excluded: dict[Any, dict[int, Condition]] = {}
    others: list[Stated] = []
    for condition in map(simplified, conditions):
        found = linear(condition)
        if found is False:
            _never(condition, "it holds for no positive integer value")
        if found is True:
            continue
        if found is None:
            if condition.kind == "eq" and _integer_roots(condition) == []:
                _never(condition, "it holds for no positive integer value")
            others.append(Stated(_as_written(condition), (condition,)))
            continue
        assert isinstance(found, Linear)
        if found.op == "mod":
            residues.setdefault(found.symbol, []).append((found.value, found.modulus, condition))
            continue
        if found.op == "!=":
            excluded.setdefault(found.symbol, {}).setdefault(found.value, condition)
            continue
        mine = bounds.setdefault(found.symbol, {})
        ops = (">=", "<=") if found.op == "=" else (found.op,)
        for op in ops:
            held = mine.get(op)
            tighter = held is None or (found.value > held[0] if op == ">=" else found.value < held[0])
            if tighter:
                mine[op] = (found.value, condition)
        if found.op == "=":
            mine.setdefault("=", (found.value, condition))
    lines: list[Stated] = []
    for symbol in sorted(set(bounds) | set(residues) | set(excluded), key=lambda s: s.name):
        lines.extend(_symbol_lines(symbol, bounds.get(symbol, {}), residues.get(symbol, [])))
        lines.extend(Stated(f"{symbol.name} != {value}", (c,)) for value, c in sorted(excluded.get(symbol, {}).items()))
    return (*lines, *others)


def _symbol_lines(symbol: Any, bounds: dict[str, tuple[int, Condition]], residues: list[tuple[int, int, Condition]]) -> list[Stated]:
    name = symbol.name
    low = bounds.get(">=")
    high = bounds.get("<=")
    if low is not None and low[0] <= 1:
        low = None  # every symbol is a positive integer already
    if high is not None and high[0] < 1:
        _never(high[1], f"it needs {name} <= {high[0]}, but {name} is a positive integer")
    if low is not None and high is not None and low[0] > high[0]:
        later = max((low[1], high[1]), key=lambda c: (c.position is not None, getattr(c.position, "line", 0)))
        _never(later, f"it needs {name} >= {low[0]} and {name} <= {high[0]} together")
    lines: list[Stated] = []
    if low is not None and high is not None:
        text = f"{name} = {low[0]}" if low[0] == high[0] else f"{low[0]} <= {name} <= {high[0]}"
        lines.append(Stated(text, _distinct(low[1], high[1])))
    elif low is not None:
        lines.append(Stated(f"{name} >= {low[0]}", (low[1],)))
    elif high is not None:
        lines.append(Stated(f"{name} <= {high[0]}", (high[1],)))
    classes = [(r, m, c) for r, m, c in residues if m > 1]
    if classes:
        # one residue class modulo the lcm, or none (Chinese remaindering, by trying them)
        modulus = math.lcm(*(m for _, m, _ in classes))
        if modulus > MAX_MODULUS:
            lines.extend(Stated(_residue_text(name, r, m), (c,)) for r, m, c in classes)
            return lines
        residue = next((n for n in range(modulus) if all(n % m == r for r, m, _ in classes)), None)
        if residue is None:
            _never(classes[-1][2], f"no {name} meets " + " and ".join(_residue_text(name, r, m) for r, m, _ in classes))
        assert residue is not None
        lines.append(Stated(_residue_text(name, residue, modulus), _distinct(*(c for _, _, c in classes))))
    return lines


def _residue_text(name: str, residue: int, modulus: int) -> str:
    return f"{name} is a multiple of {modulus}" if residue == 0 else f"{name} = {residue} mod {modulus}"


def _distinct(*conditions: Condition) -> tuple[Condition, ...]:
    return tuple(dict.fromkeys(conditions))


def _as_written(condition: Condition) -> str:
    if condition.kind == "int":
        value = condition.lhs
        numerator, denominator = value.as_numer_denom()
        if numerator.is_Integer and denominator.is_Symbol:
            return f"{denominator.name} divides {numerator}"
        return f"{arith.as_text(value)} is an integer"
    if condition.kind == "eq":
        roots = _integer_roots(condition)
        if roots is not None:
            return f"{_symbol_name(condition)} in {{{', '.join(map(str, roots))}}}"
    op = {"ge": ">=", "eq": "=", "ne": "!="}[condition.kind]
    return f"{arith.as_text(condition.lhs)} {op} {arith.as_text(condition.rhs)}"


def _symbol_name(condition: Condition) -> str:
    (symbol,) = condition.symbols
    return str(symbol.name)


def _integer_roots(condition: Condition) -> list[int] | None:
    """The positive integer roots of a one-symbol polynomial equation (None: not one)."""
    import sympy

    difference = sympy.expand(arith.sub(condition.lhs, condition.rhs))
    if len(difference.free_symbols) != 1:
        return None
    try:
        poly = sympy.Poly(difference, *difference.free_symbols)
    except sympy.PolynomialError:
        return None
    if not all(c.is_Rational for c in poly.all_coeffs()):
        return None
    return sorted(int(r) for r in sympy.roots(poly, filter="Z") if r >= 1)


def _never(condition: Condition, why: str) -> None:
    raise ShapeError(
        f"this layer can never be valid: {why}",
        position=condition.position,
        path=condition.path,
        expected=condition.reason,
        found=_as_written(condition),
    )

