"""The candidate's validity conditions applied to the solver's integer runs, and counts that are
not polynomials solved by exact evaluation.

A run of widths that meets the band is cut down to the widths that also build a valid network:
bounds of one symbol clip the run, a residue class (`k` a multiple of 8) thins it, an excluded
value splits it, and any other condition is checked width by width, exactly, within a budget.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import sympy

from cnncalc import arith
from cnncalc.analysis.validity import Linear, linear
from cnncalc.conditions import Condition, holds_for
from cnncalc.errors import UsageError
from cnncalc.solve import points
from cnncalc.solve.band import Bound
from cnncalc.solve.integers import list_runs, stepped
from cnncalc.solve.results import Problem, Row, Run, Solution

GRID_POINT_COST = 20  # an outer point of a non-polynomial count: a substitution and a bisection
MAX_CHECKS = 50_000  # widths checked one by one (a condition or a count evaluated at each; ~50 us each)


class Checks:
    """Conditions on one (inner) symbol, the others bound: read once, applied to many runs."""

    def __init__(self, conditions: Sequence[Condition], symbol: Any) -> None:
        self.symbol = symbol
        self.low = 1
        self.high: int | None = None
        self.classes: list[tuple[int, int]] = []  # (residue, modulus)
        self.excluded: set[int] = set()
        self.pointwise: list[Condition] = []
        self.never = False
        for condition in conditions:
            if not condition.symbols:
                self.never = self.never or not condition.holds_at({})
                continue
            found = linear(condition) if condition.symbols == {symbol} else None
            if found is True:
                continue
            if found is False:
                self.never = True
            elif found is None:
                self.pointwise.append(condition)
                self._divisor_bound(condition)
            else:
                assert isinstance(found, Linear)
                self._add(found)

    def _divisor_bound(self, condition: Condition) -> None:
        """`n/k` an integer (k divides n, as groups divide channels) bounds k by |n|."""
        if condition.kind != "int":
            return
        numerator, denominator = sympy.fraction(sympy.together(condition.lhs))
        if numerator.is_Integer and numerator != 0 and denominator == self.symbol:
            self._add(Linear(self.symbol, "<=", abs(int(numerator))))

    def _add(self, found: Linear) -> None:
        if found.op in (">=", "="):
            self.low = max(self.low, found.value)
        if found.op in ("<=", "="):
            self.high = found.value if self.high is None else min(self.high, found.value)
        if found.op == "mod":
            self.classes.append((found.value, found.modulus))
        if found.op == "!=":
            self.excluded.add(found.value)

    def restrict(self, runs: Sequence[Run], budget: list[int]) -> list[Run]:
        """The widths of `runs` that meet every condition (budget[0]: checks left, spent here)."""
        if self.never:
            return []
        out: list[Run] = []
        for run in runs:
            first, last = max(run.first, self.low), run.last
            if self.high is not None:
                last = self.high if last is None else min(last, self.high)
            step = run.step
            first = run.first + -(-(first - run.first) // step) * step  # back onto the run's grid
            for residue, modulus in self.classes:
                first, step = _thin(first, step, residue, modulus)
                if first < 0:
                    break
            if first < 0 or (last is not None and first > last):
                continue
            if last is not None:
                last = first + (last - first) // step * step  # onto the thinned grid
            pieces = [Run(first, last, step)]
            for value in sorted(self.excluded):
                pieces = [part for piece in pieces for part in _without(piece, value)]
            if self.pointwise:
                pieces = [part for piece in pieces for part in self._checked(piece, budget)]
            out.extend(pieces)
        return out

    def _checked(self, run: Run, budget: list[int]) -> list[Run]:
        each = sum(points.cost(c.difference) for c in self.pointwise)
        if run.last is None or run.size is None or run.size * each > budget[0]:
            raise UsageError(
                f"too many widths of {self.symbol.name} to check one by one against its conditions",
                expected=f"at most {MAX_CHECKS // each:,} widths in all",
                found=f"{'unbounded' if run.last is None else f'{run.size:,}'} from {run.first}",
                hint=f"narrow the search with --range {self.symbol.name}=A..B",
            )
        budget[0] -= run.size * each
        good = [v for v in range(run.first, run.last + 1, run.step) if all(_holds(c, {self.symbol: v}) for c in self.pointwise)]
        return runs_of(good, run.step)


def _holds(condition: Condition, env: dict[Any, int]) -> bool:
    try:
        return holds_for(condition.kind, points.value_at(condition.difference, env))
    except ZeroDivisionError:
        return False  # PyTorch's own evaluation would fail there too


def _thin(first: int, step: int, residue: int, modulus: int) -> tuple[int, int]:
    """The progression first, first+step, ... cut to the values = residue (mod modulus); first -1: none."""
    for j in range(modulus // math.gcd(step, modulus)):
        value = first + j * step
        if value % modulus == residue:
            return value, math.lcm(step, modulus)
    return -1, step


def _without(run: Run, value: int) -> list[Run]:
    if value < run.first or (run.last is not None and value > run.last) or (value - run.first) % run.step:
        return [run]
    parts = [Run(run.first, value - run.step, run.step)] if value > run.first else []
    if run.last is None or value < run.last:
        parts.append(Run(value + run.step, run.last, run.step))
    return parts


def runs_of(values: Sequence[int], step: int) -> list[Run]:
    """Sorted values grouped into runs of the given step."""
    out: list[Run] = []
    for v in values:
        if out and out[-1].last is not None and out[-1].last + step == v:
            out[-1] = Run(out[-1].first, v, step)
        else:
            out.append(Run(v, v, step))
    return out


def bound_inner(conditions: Sequence[Condition], symbol: Any, outer: dict[Any, int]) -> Checks:
    """`Checks` for the inner symbol with the outer symbols bound to integers."""
    bound = [c._replace(lhs=arith.substitute(c.lhs, outer), rhs=arith.substitute(c.rhs, outer)) if outer else c for c in conditions]
    return Checks(bound, symbol)


# ----------------------------------------------------------------------------- non-polynomial counts


def nondecreasing(expr: Any, symbol: Any) -> bool:
    """True when the expression provably never decreases as the (positive integer) symbol grows."""
    if expr.is_Number or expr == symbol or symbol not in expr.free_symbols:
        return True
    if expr.is_Add:
        return all(nondecreasing(a, symbol) for a in expr.args)
    if expr.is_Mul:
        return all(nondecreasing(a, symbol) and a.is_nonnegative for a in expr.args)
    if expr.is_Pow:
        base, exponent = expr.args
        return bool(exponent.is_positive and symbol not in exponent.free_symbols and base.is_nonnegative and nondecreasing(base, symbol))
    if isinstance(expr, (sympy.floor, sympy.ceiling, sympy.Max, sympy.Min)):
        return all(nondecreasing(a, symbol) for a in expr.args)
    return False


def _at_least(value: Any, bound: Fraction) -> bool:
    return bool(value >= bound) if isinstance(value, (int, Fraction)) else bool(sympy.Ge(value, sympy.Rational(bound.numerator, bound.denominator)))


def _at_most(value: Any, bound: Fraction) -> bool:
    return bool(value <= bound) if isinstance(value, (int, Fraction)) else bool(sympy.Le(value, sympy.Rational(bound.numerator, bound.denominator)))


GALLOP_LIMIT = 2**128  # how far a growing count is followed without an upper bound


def first_true(holds: Callable[[int], bool], lo: int, hi: int | None) -> int | None:
    """The first n in [lo, hi] (hi None: unbounded, up to GALLOP_LIMIT) where a monotone
    predicate holds (false ... false true ... true), or None: galloping, then bisection."""
    if holds(lo):
        return lo
    below, step = lo, 1
    while True:
        at = lo + step
        if hi is not None and at >= hi:
            if not holds(hi):
                return None
            at = hi
            break
        if holds(at):
            break
        if step > GALLOP_LIMIT:
            return None
        below, step = at, step * 2
    while at - below > 1:
        mid = (below + at) // 2
        below, at = (below, mid) if holds(mid) else (mid, at)
    return at


def evaluated_runs(count: Any, symbol: Any, lower: Fraction | None, upper: Fraction, bound: Bound, high: int | None) -> tuple[list[Run], Bound]:
    """The widths whose count lies in [lower, upper], by exact evaluation: two binary searches
    when the count never decreases, else one by one over a finite range (`high`: a bound from
    the conditions). Returns the runs and the range searched."""

    def at(k: int) -> Any:
        return points.value_at(count, {symbol: k})

    hi = bound.hi if high is None else (high if bound.hi is None else min(high, bound.hi))
    searched = Bound(bound.name, bound.lo, hi, bound.explicit)
    if hi is not None and hi < bound.lo:
        return [], searched
    if nondecreasing(count, symbol):
        first = bound.lo if lower is None else first_true(lambda k: _at_least(at(k), lower), bound.lo, hi)
        if first is None or not _at_most(at(first), upper):
            return [], searched
        beyond = first_true(lambda k: not _at_most(at(k), upper), first, hi)
        if beyond is None and hi is None:
            raise UsageError(
                f"the count stays in the band however large {symbol.name} grows",
                expected=f"--range {symbol.name}=A..B",
                found=str(count),
            )
        return [Run(first, hi if beyond is None else beyond - 1)], searched
    if hi is None:
        raise UsageError(
            f"the count is not a polynomial in {symbol.name} and may not grow with it: give a finite range",
            expected=f"--range {symbol.name}=A..B",
            found=str(count),
        )
    each = points.cost(count)
    if (hi - bound.lo + 1) * each > MAX_CHECKS:
        raise UsageError(
            f"too many widths of {symbol.name} to evaluate one by one",
            expected=f"a range of at most {MAX_CHECKS // each:,} widths",
            found=f"{hi - bound.lo + 1:,}",
            hint=f"narrow it with --range {symbol.name}=A..B",
        )
    good = [k for k in range(bound.lo, hi + 1) if (lower is None or _at_least(at(k), lower)) and _at_most(at(k), upper)]
    return runs_of(good, 1), searched


def evaluated_grid(
    count: Any, symbols: tuple[Any, ...], bounds: dict[str, Bound], conditions: Sequence[Condition], common: Problem, limit: int, budget: list[int]
) -> Solution:
    """Several symbols and a count that is not a polynomial: the outer widths enumerated over
    finite ranges (given, or from their conditions), the last one solved by `evaluated_runs`."""
    lower, upper, step = common["lower"], common["upper"], common["multiple_of"]
    *outer_symbols, inner = symbols
    ranges = []
    searched = dict(bounds)
    for symbol in outer_symbols:
        alone = Checks([c for c in conditions if c.symbols <= {symbol}], symbol)
        bound = bounds[symbol.name]
        hi = bound.hi if alone.high is None else (alone.high if bound.hi is None else min(bound.hi, alone.high))
        if hi is None:
            raise UsageError(
                f"the count is not a polynomial in {', '.join(s.name for s in symbols)}: give {symbol.name} a finite range",
                expected=f"--range {symbol.name}=A..B",
                found=str(common["count"]),
            )
        searched[symbol.name] = Bound(symbol.name, bound.lo, hi, bound.explicit)
        first = -(-max(bound.lo, alone.low) // step) * step
        ranges.append(range(first, hi + 1, step))
    size = math.prod(len(r) for r in ranges)
    if size * GRID_POINT_COST > budget[0]:
        raise UsageError(
            f"too many combinations of {', '.join(s.name for s in outer_symbols)} to evaluate one by one",
            expected=f"at most {budget[0] // GRID_POINT_COST:,}",
            found=f"{size:,}",
            hint="narrow them with --range NAME=A..B or bind one with --set NAME=VALUE",
        )
    budget[0] -= size * GRID_POINT_COST
    alone = Checks([c for c in conditions if c.symbols <= {inner}], inner)
    tied = [c for c in conditions if not c.symbols <= {inner}]
    rows: list[Row] = []
    listed: list[tuple[int, ...]] = []
    total: int | None = 0
    row_count = 0
    for outer in itertools.product(*ranges):
        env = dict(zip(outer_symbols, outer))
        inner_count = count.xreplace({s: sympy.Integer(v) for s, v in env.items()})
        found, _ = evaluated_runs(inner_count, inner, lower, upper, bounds[inner.name], alone.high)
        runs = alone.restrict(stepped([(r.first, r.last) for r in found], step), budget)
        if tied and runs:
            runs = bound_inner(tied, inner, env).restrict(runs, budget)
        if not runs:
            continue
        row_count += 1
        if len(rows) < limit:
            rows.append(Row(outer, tuple(runs)))
        total = list_runs(listed, total, outer, runs, limit)
    return Solution(
        **common, bounds=tuple(searched[s.name] for s in symbols), derived=(), method="evaluation", pieces=(), boundaries=(),
        rows=tuple(rows), listed=tuple(listed), total=total, truncated=total is None or total > len(listed), row_count=row_count,
    )
