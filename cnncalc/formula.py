"""Symbolic values as a student writes them: `floor((W + 2*p1 - k1)/s1) + 1`, `ceil(W/2)`.

`arith.as_text` prints a symbolic value through `text` here (sympy is imported only for
symbolic values, so only they bring this module in). The printed form:

- polynomials are expanded (the JSON contract: a total is "9*k**2 + 128*k");
- a floor or ceiling puts its argument over one denominator, `floor((W + 2*p - k)/s)`, where
  sympy's own printer writes `floor(W/s - k/s + 2*p/s)`;
- a floor or ceiling of (integer + c)/b, b a positive integer, is rewritten exactly into
  floor((A + r)/b) + q with 0 <= r < b, and into ceil(A/b) + q when r = b - 1, since
  floor((A + b - 1)/b) = ceil(A/b) for an integer A; a floor of a floor over a positive integer
  merges (floor(floor(y)/b) = floor(y/b), likewise ceil): PyTorch's stride-2 'same'-style sizes
  then read `ceil(W/2)` and `ceil(W/4)`, never a different value;
- terms run in sympy's order (higher degree first) but with the positive ones before the
  negative ones, `W + 2*p - k - 1`, and a constant stays where sympy puts it (`64 - k`);
- calls are the spec language's own: floor, ceil, min, max, and `%` for a remainder, so that a
  printed formula (all but a Piecewise) reads back with `cnncalc.spec.expr` to the same value
  (tests/test_formula.py checks it on random expressions).
"""

from __future__ import annotations

from typing import Any

import sympy
from sympy.core.sorting import default_sort_key
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

_MEMO: dict[Any, str] = {}
_MEMO_SIZE = 4_096


def text(value: Any) -> str:
    """A symbolic value in the textbook form (see the module's docstring)."""
    found = _MEMO.get(value)
    if found is None:
        found = _PRINTER.doprint(display(value))
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.clear()
        _MEMO[value] = found
    return found


def display(value: Any) -> Any:
    """The expression `text` prints: every floor and ceiling in its canonical form, expanded.
    Equal to `value` wherever its symbols are integers (they are: `arith.symbol`)."""
    return _expanded(_canonical(value, {}))


def _expanded(value: Any) -> Any:
    """`sympy.expand(value)`, but a max or min is rebuilt with its arguments expanded and not
    compared again: sympy's Max compares every pair of candidates through its assumptions,
    seconds for the few dozen of a network's sequential peak (`cnncalc.bounds` pruned them)."""
    from cnncalc.symtext import expand  # skips a value that is expanded already (most sizes)

    extremes: dict[Any, Any] = {}
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (sympy.Max, sympy.Min)):
            extremes.setdefault(node, sympy.Dummy())
        else:
            stack.extend(node.args)
    if not extremes:
        return expand(value)
    rebuilt = {d: e.func(*(_expanded(a) for a in e.args), evaluate=False) for e, d in extremes.items()}
    return expand(value.xreplace(extremes)).xreplace(rebuilt)


def _canonical(expr: Any, memo: dict[Any, Any]) -> Any:
    """Every floor and ceiling of `expr` rewritten by `_rounded`, innermost first (`memo`:
    the shared subexpressions, rewritten once)."""
    if not expr.args or expr.is_Atom:
        return expr
    found = memo.get(expr)
    if found is not None:
        return found
    args = tuple(_canonical(a, memo) for a in expr.args)
    if expr.func in (sympy.floor, sympy.ceiling):
        found = _rounded(expr.func, args[0])
    elif all(new is old for new, old in zip(args, expr.args)):
        found = expr
    elif expr.func in (sympy.Max, sympy.Min):
        found = expr.func(*args, evaluate=False)  # the same candidates: not compared all over again
    else:
        found = expr.func(*args)
    memo[expr] = found
    return found


def _rounded(func: Any, arg: Any) -> Any:
    """floor(arg) or ceiling(arg), as floor((A + r)/b) + q (0 <= r < b - 1) or ceil(A/b) + q,
    when arg = (A + c)/b with A an integer-valued expression, c an integer and b a positive
    integer; as it is otherwise."""
    numerator, denominator = sympy.fraction(sympy.together(arg))
    if not (denominator.is_Integer and denominator > 1):
        return func(arg)
    constant, rest = sympy.expand(numerator).as_coeff_Add()
    if not constant.is_Integer or rest == 0 or rest.is_integer is not True:
        return func(arg)
    b, c = int(denominator), int(constant)
    if func is sympy.ceiling:
        c += b - 1  # ceil(A/b) = floor((A + b - 1)/b) for an integer A
    q, r = divmod(c, b)
    if r == b - 1:
        if isinstance(rest, sympy.ceiling):  # ceil(ceil(y)/b) = ceil(y/b)
            return _rounded(sympy.ceiling, rest.args[0] / b) + q
        return sympy.ceiling(rest / b) + q
    if r == 0 and isinstance(rest, sympy.floor):  # floor(floor(y)/b) = floor(y/b)
        return _rounded(sympy.floor, rest.args[0] / b) + q
    return sympy.floor((rest + r) / b) + q


class _Printer(StrPrinter):  # type: ignore[misc]  # sympy is untyped
    """sympy's str printer with the textbook changes of the module's docstring."""

    def _print_Add(self, expr: Any, order: Any = None) -> str:
        from cnncalc.symtext import sparse_ordered_terms  # sympy's order, not quadratic in the symbols

        terms = (sparse_ordered_terms(expr) if len(expr.args) > 8 else None) or self._as_ordered_terms(expr, order=order)
        positive = [t for t in terms if t.is_Number or not t.could_extract_minus_sign()]
        negative = [t for t in terms if not t.is_Number and t.could_extract_minus_sign()]
        ordered = positive + negative
        if positive and positive[-1].is_Number and terms[-1] is positive[-1]:
            ordered = positive[:-1] + negative + positive[-1:]  # a constant sympy puts last stays last
        parts: list[str] = []
        for term in ordered:
            printed = self._print(term)
            sign = "+"
            if printed.startswith("-") and not term.is_Add:
                sign, printed = "-", printed[1:]
            if precedence(term) < precedence(expr) or term.is_Add:
                printed = f"({printed})"
            parts += [sign, printed]
        head = "-" if parts[0] == "-" else ""
        return head + " ".join(parts[1:])

    def _rounding(self, name: str, arg: Any) -> str:
        numerator, denominator = sympy.fraction(sympy.together(arg))
        if denominator == 1:
            return f"{name}({self._print(arg)})"
        numerator = sympy.expand(numerator)
        top = self._print(numerator)
        if numerator.is_Add:
            top = f"({top})"
        bottom = self._print(denominator)
        if not (denominator.is_Atom or denominator.is_Function):
            bottom = f"({bottom})"
        return f"{name}({top}/{bottom})"

    def _print_floor(self, expr: Any) -> str:
        return self._rounding("floor", expr.args[0])

    def _print_ceiling(self, expr: Any) -> str:
        return self._rounding("ceil", expr.args[0])

    def _print_Max(self, expr: Any) -> str:
        return "max(" + ", ".join(self._print(a) for a in sorted(expr.args, key=default_sort_key)) + ")"

    def _print_Min(self, expr: Any) -> str:
        return "min(" + ", ".join(self._print(a) for a in sorted(expr.args, key=default_sort_key)) + ")"

    def _print_Mod(self, expr: Any) -> str:
        left, right = expr.args
        return f"{self.parenthesize(left, precedence(expr))} % {self.parenthesize(right, precedence(expr), strict=True)}"

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        return str(super()._print_Pow(expr, rational=True))  # x**(1/2), not sqrt(x): the spec language has no sqrt

    def parenthesize(self, item: Any, level: int, strict: bool = False) -> str:
        if isinstance(item, sympy.Mod):  # `a % b` binds like `*` in Python: always bracketed inside another operation
            return f"({self._print(item)})"
        return str(super().parenthesize(item, level, strict=strict))


_PRINTER = _Printer()
