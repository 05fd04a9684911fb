"""Sympy expressions evaluated in high precision: compiled into mpmath closures.

No code is generated and no string is parsed: the expression tree is walked
once and turned into nested closures over a list of values, which mpmath
evaluates at the caller's working precision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import TypeAlias

import mpmath
import sympy as sp

from cnncalc.derive.algebra import Binding
from cnncalc.errors import UsageError

__all__ = ["Number", "ScalarFn", "VectorFn", "evaluate", "numeric", "numeric_vector", "to_mpf"]

#: An exact or decimal input value.
Number: TypeAlias = "int | Fraction | str | mpmath.mpf"
ScalarFn = Callable[[Sequence[mpmath.mpf]], mpmath.mpf]
VectorFn = Callable[[Sequence[mpmath.mpf]], Sequence[mpmath.mpf]]
_Compiled = Callable[[list[mpmath.mpf]], mpmath.mpf]


def to_mpf(v: Number | sp.Rational) -> mpmath.mpf:
    """``v`` as an mpmath number at the current precision (fractions exactly rounded)."""
    if isinstance(v, Fraction):
        return mpmath.mpf(v.numerator) / v.denominator
    if isinstance(v, sp.Rational):
        return mpmath.mpf(int(v.p)) / int(v.q)
    return mpmath.mpf(v)


def _compile_mul(factors: list[_Compiled]) -> _Compiled:
    first, *rest = factors

    def mul(v: list[mpmath.mpf]) -> mpmath.mpf:
        r = first(v)
        for fn in rest:
            r = r * fn(v)
        return r

    return mul


def _compile(e: sp.Basic, slots: Mapping[sp.Basic, int]) -> _Compiled:
    """Turn a sympy tree into nested closures over a value list (no code generation)."""
    if e in slots:
        k = slots[e]
        return lambda v: v[k]
    if e.is_Rational:
        p, q = int(e.p), int(e.q)
        return (lambda v: mpmath.mpf(p)) if q == 1 else (lambda v: mpmath.mpf(p) / q)
    if e.is_Add:
        terms = [_compile(a, slots) for a in e.args]
        return lambda v: mpmath.fsum([t(v) for t in terms])
    if e.is_Mul:
        return _compile_mul([_compile(a, slots) for a in e.args])
    if e.is_Pow:
        base, ex = _compile(e.base, slots), e.exp
        if ex.is_Integer:
            n = int(ex)
            return lambda v: base(v) ** n
        if ex == sp.S.Half:
            return lambda v: mpmath.sqrt(base(v))
        power = _compile(ex, slots)
        return lambda v: mpmath.power(base(v), power(v))
    if isinstance(e, (sp.exp, sp.log)):
        arg, fn = _compile(e.args[0], slots), (mpmath.exp if isinstance(e, sp.exp) else mpmath.log)
        return lambda v: fn(arg(v))
    raise UsageError(f"cannot evaluate {type(e).__name__}: {e}")


def _program(
    exprs: Sequence[sp.Expr],
    variables: Sequence[sp.Symbol],
    values: Mapping[sp.Symbol, Number],
    bindings: Sequence[Binding],
) -> Callable[[Sequence[Number]], list[mpmath.mpf]]:
    """Compile ``exprs`` into point -> values; bindings are evaluated first, in order."""
    fixed_syms, raw = tuple(values), tuple(values.values())
    order = (*variables, *fixed_syms, *(sym for sym, _ in bindings))
    if len(set(order)) != len(order):
        raise UsageError("a symbol is both a variable, a fixed value or a node")
    slots: dict[sp.Basic, int] = {s: k for k, s in enumerate((*variables, *fixed_syms))}
    steps: list[_Compiled] = []
    for sym, definition in bindings:
        steps.append(_compile(definition, slots))
        slots[sym] = len(slots)
    outs = [_compile(e, slots) for e in exprs]
    converted: dict[int, list[mpmath.mpf]] = {}

    def run(point: Sequence[Number]) -> list[mpmath.mpf]:
        prec = mpmath.mp.prec
        if prec not in converted:
            converted[prec] = [to_mpf(x) for x in raw]
        vals = [to_mpf(x) for x in point] + converted[prec]
        for step in steps:
            vals.append(step(vals))
        return [out(vals) for out in outs]

    return run


def numeric(
    expr: sp.Expr,
    variables: Sequence[sp.Symbol],
    values: Mapping[sp.Symbol, Number] | None = None,
    bindings: Sequence[Binding] = (),
) -> ScalarFn:
    """Compile ``expr`` into ``f(point)`` for :func:`~cnncalc.derive.checks.check_gradient`.

    ``variables`` take the point's coordinates, ``values`` fix the other
    symbols, and ``bindings`` ``(node, definition)`` are evaluated in order
    first, so graph nodes are recomputed at every perturbed point.  The
    sympy tree is turned into plain closures evaluated with mpmath at the
    caller's precision.
    """
    run = _program((expr,), tuple(variables), dict(values or {}), tuple(bindings))
    return lambda point: run(point)[0]


def numeric_vector(
    exprs: Sequence[sp.Expr], variables: Sequence[sp.Symbol], values: Mapping[sp.Symbol, Number], bindings: Sequence[Binding]
) -> VectorFn:
    """Like :func:`numeric`, for several expressions at once (a gradient)."""
    return _program(tuple(exprs), tuple(variables), dict(values), tuple(bindings))


def evaluate(exprs: Sequence[sp.Expr], values: Mapping[sp.Symbol, Number]) -> list[mpmath.mpf]:
    """The values of ``exprs`` at ``values`` (no variables), at the current precision."""
    return _program(exprs, (), values, ())(())
