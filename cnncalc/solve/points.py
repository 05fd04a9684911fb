"""Counts and conditions evaluated exactly at integer points, fast.

sympy substitutes a value into an expression in about a millisecond; the solver checks up to
tens of thousands of widths. `compiled(expr)` turns an expression once into nested Python
closures over ints and Fractions (exact, about a microsecond a node). A node it does not know
(an irrational power, a function of sympy's own) is handed to sympy with its arguments already
numbers, so the result is exact either way. No text is ever executed: the closures are built
from the expression tree.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy

Value = Any  # int, Fraction, or (past an irrational node) a sympy number
Compiled = Callable[[Mapping[Any, int]], Value]

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    sympy.StrictGreaterThan: operator.gt,
    sympy.GreaterThan: operator.ge,
    sympy.StrictLessThan: operator.lt,
    sympy.LessThan: operator.le,
    sympy.Equality: operator.eq,
    sympy.Unequality: operator.ne,
}


def _number(value: Any) -> Value:
    if value.is_Integer:
        return int(value)
    if value.is_Rational:
        return Fraction(int(value.p), int(value.q))
    return value


def _as_sympy(value: Value) -> Any:
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    return sympy.Integer(value) if isinstance(value, int) else value


def _exact(value: Value) -> bool:
    return isinstance(value, (int, Fraction))


@lru_cache(maxsize=4096)
def compiled(expr: Any) -> Compiled:
    """`expr` (a sympy expression or relational) as a function of {symbol: int}, exact."""
    if expr is sympy.true or expr is sympy.false:
        truth = bool(expr)
        return lambda env: truth
    if expr.is_Number:
        constant = _number(expr)
        return lambda env: constant
    if expr.is_Symbol:
        return lambda env: env[expr]
    parts = [compiled(a) for a in expr.args]
    if expr.is_Add:
        return lambda env: _fold(operator.add, [p(env) for p in parts])
    if expr.is_Mul:
        return lambda env: _fold(operator.mul, [p(env) for p in parts])
    if expr.is_Pow and expr.exp.is_Integer:
        base, exponent = parts[0], int(expr.exp)
        return lambda env: _power(base(env), exponent)
    if isinstance(expr, (sympy.floor, sympy.ceiling)):
        rounding = math.floor if isinstance(expr, sympy.floor) else math.ceil
        inner = parts[0]
        return lambda env: _rounded(rounding, inner(env))
    if isinstance(expr, sympy.Mod):
        a, b = parts
        return lambda env: _exact_or_sympy(expr, [a(env), b(env)], operator.mod)
    if isinstance(expr, (sympy.Max, sympy.Min)):
        pick = max if isinstance(expr, sympy.Max) else min
        return lambda env: _exact_or_sympy(expr, [p(env) for p in parts], lambda *v: pick(v))
    if type(expr) in _COMPARE:
        compare = _COMPARE[type(expr)]
        a, b = parts
        return lambda env: _exact_or_sympy(expr, [a(env), b(env)], compare)
    if isinstance(expr, sympy.And):
        return lambda env: all(p(env) for p in parts)
    if isinstance(expr, sympy.Or):
        return lambda env: any(p(env) for p in parts)
    if isinstance(expr, sympy.Piecewise):
        pairs = [(compiled(e), compiled(c)) for e, c in expr.args]
        return lambda env: next(e(env) for e, c in pairs if c(env))
    func = expr.func
    return lambda env: _number(func(*(_as_sympy(p(env)) for p in parts)))


def _fold(op: Callable[[Any, Any], Any], values: list[Value]) -> Value:
    if all(map(_exact, values)):
        result = values[0]
        for v in values[1:]:
            result = op(result, v)
        return _simplest(result)
    result = _as_sympy(values[0])
    for v in values[1:]:
        result = op(result, _as_sympy(v))
    return _number(result)


def _simplest(value: Value) -> Value:
    return int(value) if isinstance(value, Fraction) and value.denominator == 1 else value


def _power(base: Value, exponent: int) -> Value:
    if not _exact(base):
        return _number(_as_sympy(base) ** exponent)
    if exponent >= 0:
        return base**exponent
    return _simplest(Fraction(1) / Fraction(base) ** -exponent)


def _rounded(rounding: Callable[[Any], int], value: Value) -> Value:
    return rounding(value) if _exact(value) else _number((sympy.floor if rounding is math.floor else sympy.ceiling)(value))


def _exact_or_sympy(expr: Any, values: list[Value], op: Callable[..., Any]) -> Any:
    if all(map(_exact, values)):
        found = op(*values)
        return found if isinstance(found, bool) else _simplest(found)
    result = expr.func(*(_as_sympy(v) for v in values))
    return bool(result) if result in (sympy.true, sympy.false) else _number(result)


SLOW_NODE_COST = 50  # an irrational power goes through sympy: about 50 times the cost of a node


def cost(expr: Any) -> int:
    """The budget one evaluation of `expr` spends: 1, plus SLOW_NODE_COST per irrational power."""
    if not hasattr(expr, "atoms"):
        return 1
    return 1 + SLOW_NODE_COST * sum(1 for p in expr.atoms(sympy.Pow) if not p.exp.is_Integer)


def value_at(expr: Any, env: Mapping[Any, int]) -> Value:
    """`expr` at integer values of its symbols, exactly (numbers pass through)."""
    if not hasattr(expr, "free_symbols"):
        return expr
    return compiled(expr)(env)
