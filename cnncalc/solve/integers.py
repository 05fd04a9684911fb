"""Integer solutions found exactly: which integers n in [a, b] satisfy lower <= P(n) <= upper.

Pure Python ints (no sympy, no floats): the polynomial and the bounds are scaled to integers,
each boundary polynomial's real roots are isolated between integer cells (bisection between
the roots of its derivative, found recursively), and the feasible stretches between the cells
are read off by evaluating P on integers. Then runs are thinned to multiples of a step and listed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

from cnncalc.solve.results import Row, Run, Term

DEFAULT_LIMIT = 50  # combinations listed for several symbols unless --limit says otherwise


def horner(coeffs: Sequence[Any], x: Any) -> Any:
    """The polynomial with coefficients `coeffs` (lowest degree first) at x."""
    value: Any = 0
    for c in reversed(coeffs):
        value = value * x + c
    return value



def ascending(terms: Sequence[Term], axis: int, outer: tuple[int, ...]) -> list[Fraction]:
    """Coefficients (lowest degree first) of the polynomial in symbol `axis`, the others fixed at `outer`."""
    degree = max((m[axis] for m, _ in terms), default=0)
    coeffs = [Fraction(0)] * (degree + 1)
    for monom, coeff in terms:
        factor = coeff
        j = 0
        for i, e in enumerate(monom):
            if i == axis:
                continue
            if e:
                factor *= outer[j] ** e
            j += 1
        coeffs[monom[axis]] += factor
    return coeffs


def _scaled(coeffs: Sequence[Fraction], lower: Fraction | None, upper: Fraction) -> tuple[list[int], int | None, int]:
    """Integer coefficients and bounds: everything multiplied by one common denominator."""
    denominators = [c.denominator for c in coeffs] + [upper.denominator] + ([lower.denominator] if lower is not None else [])
    scale = math.lcm(*denominators)
    ints = [int(c * scale) for c in coeffs]
    return ints, (None if lower is None else int(lower * scale)), int(upper * scale)


def _trim(f: list[int]) -> list[int]:
    f = list(f)
    while len(f) > 1 and f[-1] == 0:
        f.pop()
    return f


def _sign(v: int) -> int:
    return (v > 0) - (v < 0)


def root_cells(f: Sequence[int], a: int, b: int) -> set[int]:
    """Integers n in [a, b] such that every real root of f in [a, b] lies in some [n, n+1].

    Exact: f is monotone between the cells of its derivative's roots (found recursively), so
    each such stretch holds at most one root, located by integer bisection on the sign of f.
    Over-reporting a cell is harmless; missing a root is impossible.
    """
    f = _trim(list(f))
    degree = len(f) - 1
    if degree <= 0 or a >= b:
        return {a} if degree <= 0 and f[0] == 0 else set()
    critical = root_cells([i * c for i, c in enumerate(f)][1:], a, b) if degree >= 2 else set()
    marks = sorted({a, b} | {n for c in critical for n in (c, c + 1) if a <= n <= b})
    cells: set[int] = set()
    for p, q in itertools.pairwise(marks):
        if q == p + 1 and p in critical:
            cells.add(p)
            continue
        fp, fq = horner(f, p), horner(f, q)
        if fp == 0:
            cells.add(p)
        if fq == 0:
            cells.add(min(q, b - 1))
        sp, sq = _sign(fp), _sign(fq)
        if sp and sq and sp != sq:
            lo, hi = p, q
            while hi - lo > 1:
                mid = (lo + hi) // 2
                sm = _sign(horner(f, mid))
                if sm == 0:
                    cells.add(mid)
                    break
                if sm == sp:
                    lo = mid
                else:
                    hi = mid
            else:
                cells.add(lo)
    return cells


def _cauchy(f: Sequence[int]) -> int:
    """An integer beyond every real root of f (Cauchy's bound)."""
    f = _trim(list(f))
    if len(f) <= 1:
        return 0
    lead = abs(f[-1])
    return 1 + max(-(-abs(c) // lead) for c in f[:-1]) + 1


def integer_runs(
    coeffs: Sequence[Fraction], lower: Fraction | None, upper: Fraction, a: int, b: int | None
) -> list[tuple[int, int | None]]:
    """Maximal runs of integers n in [a, b] (b None: no upper limit) with lower <= P(n) <= upper, exactly."""
    ints, low, up = _scaled(coeffs, lower, upper)
    boundaries = [[ints[0] - up, *ints[1:]]]
    if low is not None:
        boundaries.append([ints[0] - low, *ints[1:]])
    end = b if b is not None else max(a, *(_cauchy(g) for g in boundaries))
    marks: set[int] = {a, end}
    for g in boundaries:
        for cell in root_cells(g, a, end):
            marks.update(n for n in (cell, cell + 1) if a <= n <= end)

    def feasible(n: int) -> bool:
        value: int = horner(ints, n)
        return (low is None or value >= low) and value <= up

    ordered = sorted(marks)
    # (first, last, feasible) stretches in order: each mark, and each gap between marks (constant sign).
    stretches: list[tuple[int, int | None, bool]] = []
    for i, p in enumerate(ordered):
        stretches.append((p, p, feasible(p)))
        if i + 1 < len(ordered) and ordered[i + 1] - p >= 2:
            stretches.append((p + 1, ordered[i + 1] - 1, feasible(p + 1)))
    if b is None:
        stretches.append((end + 1, None, feasible(end + 1)))
    runs: list[tuple[int, int | None]] = []
    for first, last, ok in stretches:
        if not ok:
            continue
        if runs and runs[-1][1] is not None and runs[-1][1] + 1 == first:
            runs[-1] = (runs[-1][0], last)
        else:
            runs.append((first, last))
    return runs


def stepped(runs: Iterable[tuple[int, int | None]], step: int) -> list[Run]:
    """Keep the multiples of `step` in each run."""
    out = []
    for first, last in runs:
        start = -(-first // step) * step
        if last is None:
            out.append(Run(start, None, step))
            continue
        stop = last // step * step
        if start <= stop:
            out.append(Run(start, stop, step))
    return out


def list_runs(listed: list[tuple[int, ...]], total: int | None, outer: tuple[int, ...], runs: Iterable[Run], limit: int) -> int | None:
    """Add one row's points to `listed` while it holds fewer than `limit` (an unbounded run adds a
    handful, never a million); returns `total` plus the row's count (None: unbounded)."""
    for run in runs:
        room = limit - len(listed)
        if room > 0:
            listed.extend(outer + (v,) for v in run.values(room if run.last is not None else min(room, DEFAULT_LIMIT)))
        size = run.size
        total = None if size is None or total is None else total + size
    return total


def listing(rows: Sequence[Row], limit: int) -> tuple[tuple[tuple[int, ...], ...], int | None, bool]:
    listed: list[tuple[int, ...]] = []
    total: int | None = 0
    for row in rows:
        total = list_runs(listed, total, row.outer, row.runs, limit)
    return tuple(listed), total, total is None or total > len(listed)

