"""Several symbols: enumerate the outer widths over their ranges, solve the innermost one exactly.

For each point of the outer grid the count is a polynomial in the inner symbol alone, whose
feasible integers come from the exact integer root isolation of `integers.py` (no sympy per
grid point). Outer symbols without an upper bound get one derived from the count when it grows
with every width.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from fractions import Fraction

from cnncalc.errors import LimitError, UsageError
from cnncalc.solve.band import Bound
from cnncalc.solve.integers import ascending, integer_runs, list_runs, stepped
from cnncalc.solve.results import Problem, Row, Run, Solution, Term

MAX_STEPS = 2_000_000  # outer grid points the multi-symbol search may visit


def enumerate_widths(
    terms: Sequence[Term],
    names: tuple[str, ...],
    given: dict[str, Bound],
    common: Problem,
    limit: int,
    restrict: Callable[[tuple[int, ...], list[Run]], list[Run]] = lambda outer, runs: runs,
) -> Solution:
    """Every feasible combination; `restrict` cuts an outer point's inner runs to the valid widths."""
    lower, upper, step = common["lower"], common["upper"], common["multiple_of"]
    monotone = all(c >= 0 for _, c in terms)
    bounds = dict(given)
    derived = []
    for axis, name in enumerate(names[:-1]):
        bound = bounds[name]
        if bound.hi is not None and not monotone:
            continue
        if not monotone:
            raise UsageError(
                f"cannot bound {name}: the candidate's count does not grow with every width",
                expected=f"--range {name}=A..B",
                found=str(common["count"]),
            )
        # The count grows with every width: the largest useful value of this one has the others at their minimum.
        floor_values = tuple(bounds[n].lo for i, n in enumerate(names) if i != axis)
        reach = integer_runs(ascending(terms, axis, floor_values), None, upper, bound.lo, None)
        if not reach or reach[0][0] != bound.lo:
            hi = bound.lo - 1  # even the smallest widths exceed the band: nothing to search
        elif reach[0][1] is None:
            if bound.hi is not None:
                continue
            raise UsageError(
                f"cannot bound {name}: the count does not depend on it",
                expected=f"--range {name}=A..B or --set {name}=VALUE",
                found=str(common["count"]),
            )
        else:
            hi = reach[0][1]
        if bound.hi is not None:  # a given range: searched only as far as the count can stay in the band
            hi = min(hi, bound.hi)
        else:
            derived.append(name)
        bounds[name] = Bound(name, bound.lo, hi, bound.explicit)
    outer_ranges = []
    size = 1
    for name in names[:-1]:
        b = bounds[name]
        first = -(-b.lo // step) * step
        values = range(first, b.hi + 1, step) if b.hi is not None and first <= b.hi else range(0)
        outer_ranges.append(values)
        size *= len(values)
    if size > MAX_STEPS:
        raise LimitError(
            f"the search over {', '.join(names[:-1])} is too large",
            expected=f"at most {MAX_STEPS:,} combinations of the outer widths",
            found=f"{size:,}",
            hint="narrow it with --range NAME=A..B, --multiple-of N or --set NAME=VALUE",
        )
    inner_bound = bounds[names[-1]]
    rows: list[Row] = []
    listed: list[tuple[int, ...]] = []
    total: int | None = 0
    row_count = 0
    # Pre-split each term into (outer exponents, inner exponent, coefficient) for the hot loop.
    split = [(tuple(m[:-1]), m[-1], c) for m, c in terms]
    degree = max((e for _, e, _ in split), default=0)
    for outer in itertools.product(*outer_ranges):
        coeffs = [Fraction(0)] * (degree + 1)
        for exps, e, c in split:
            factor = c
            for v, x in zip(outer, exps):
                if x:
                    factor *= v**x
            coeffs[e] += factor
        runs = stepped(integer_runs(coeffs, lower, upper, inner_bound.lo, inner_bound.hi), step)
        if runs:
            runs = restrict(outer, runs)
        if not runs:
            continue
        row = Row(outer, tuple(runs))
        row_count += 1
        if len(rows) < limit:
            rows.append(row)
        total = list_runs(listed, total, outer, runs, limit)
    truncated = total is None or total > len(listed)
    return Solution(
        **common,
        bounds=tuple(bounds[n] for n in names),
        derived=tuple(derived),
        method="enumeration",
        pieces=(),
        boundaries=(),
        rows=tuple(rows),
        listed=tuple(listed),
        total=total,
        truncated=truncated,
        row_count=row_count,
    )
