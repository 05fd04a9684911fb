"""The bottleneck search: which widths make a candidate block's count fall by a band below a baseline's.

Exact throughout. The band is a pair of Fractions; the candidate's count (params or MACs) is an
exact polynomial in its free width symbols. A single symbol's real solution set is bounded by the
exact real roots of `P(k) - (1-hi)*B` and `P(k) - (1-lo)*B` (surds by the quadratic formula up to
degree 2, sympy's `real_roots` beyond: radicals or CRootOf), and every integer decision (which widths work, how many) is made by
evaluating the polynomial on integers with Python ints: floats only ever appear as decimals shown
to people. Several independent symbols are enumerated over the outer ones, each step solving the
innermost symbol exactly with a pure-Python integer root isolation (no sympy per grid point).

This module imports sympy at the top: only the `bottleneck` command imports it.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import sympy

from cnncalc.solve.band import Band, Bound
from cnncalc.errors import CnncalcError, LimitError, NoAnswerError, UsageError

METRICS = ("params", "macs")
MAX_STEPS = 2_000_000  # outer grid points the multi-symbol search may visit
DEFAULT_LIMIT = 50  # combinations listed for several symbols unless --limit says otherwise
UNLIMITED = 1_000_000  # widths listed for one symbol (an unbounded answer lists this many at most)


class SolveError(CnncalcError):
    """The count cannot be solved exactly (not a polynomial, sympy gives a ConditionSet): exit status 2."""


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Endpoint:
    """One end of a solution interval: exact sympy number (or +oo), its decimal, whether it is included."""

    exact: Any
    value: float | None
    closed: bool

    @cached_property
    def text(self) -> str:
        return str(self.exact)


@dataclass(frozen=True)
class Piece:
    """A connected component of the real solution set."""

    lo: Endpoint
    hi: Endpoint


@dataclass(frozen=True, eq=False)  # eq unused; generating it costs import time on every run
class Boundary:
    """P(k) = value: the count meeting one end of the band, with all its real roots."""

    side: str  # "lower" or "upper"
    value: Fraction
    reduction: Fraction
    roots: tuple[Any, ...]


@dataclass(frozen=True)
class Run:
    """Feasible integers first, first+step, ..., last (last None: unbounded)."""

    first: int
    last: int | None
    step: int = 1

    @property
    def size(self) -> int | None:
        return None if self.last is None else (self.last - self.first) // self.step + 1

    def values(self, limit: int) -> list[int]:
        out = []
        value = self.first
        while len(out) < limit and (self.last is None or value <= self.last):
            out.append(value)
            value += self.step
        return out

    @property
    def text(self) -> str:
        if self.last is None:
            return f"{self.first}.. (unbounded)"
        if self.first == self.last:
            return str(self.first)
        step = f" step {self.step}" if self.step != 1 else ""
        return f"{self.first}..{self.last}{step}"


@dataclass(frozen=True, eq=False)
class Row:
    """For several symbols: one value of the outer symbols and the inner symbol's feasible runs."""

    outer: tuple[int, ...]
    runs: tuple[Run, ...]


@dataclass(frozen=True, eq=False)
class Solution:
    """The answer for one count (with or without bias, or MACs)."""

    bias: bool
    metric: str
    symbols: tuple[str, ...]
    baseline: int
    count: Any  # the candidate's count: a sympy expression
    lower: Fraction | None
    upper: Fraction
    bounds: tuple[Bound, ...]  # the integer domain actually searched (derived bounds included)
    derived: tuple[str, ...]  # symbols whose upper bound was derived, not given
    multiple_of: int
    method: str  # "real_roots", "solveset" or "enumeration"
    pieces: tuple[Piece, ...]  # one symbol: the real solution set
    boundaries: tuple[Boundary, ...]  # one symbol, polynomial: the boundary equations
    rows: tuple[Row, ...]  # several symbols: first `limit` rows; one symbol: one row with outer ()
    listed: tuple[tuple[int, ...], ...]  # first `limit` feasible integer points
    total: int | None  # all feasible integer points (None: unbounded)
    truncated: bool
    row_count: int  # rows with a feasible point (the one row of a single symbol, or outer values)
    terms: tuple[tuple[tuple[int, ...], Fraction], ...] = ()  # the count's monomials; () when not a polynomial

    def value_at(self, values: Sequence[int]) -> Fraction:
        """The candidate's count at integer widths (in the order of `symbols`), exactly."""
        if self.terms:
            return sum((c * math.prod(v**e for v, e in zip(values, m)) for m, c in self.terms), Fraction(0))
        return as_fraction(self.count.subs({s: v for s, v in zip(sorted(self.count.free_symbols, key=str), values)}))

    @property
    def symbol(self) -> str:
        return ", ".join(self.symbols)

    @cached_property
    def count_text(self) -> str:
        """The count as sympy prints it (printed once: tables, JSON and the working all show it)."""
        return str(self.count)

    @property
    def interval(self) -> Piece | None:
        return self.pieces[0] if self.pieces else None

    @property
    def runs(self) -> list[Run]:
        """Every feasible run, row after row (one symbol: its widths)."""
        return [r for row in self.rows for r in row.runs]

    @property
    def integers(self) -> list[Any]:
        if len(self.symbols) == 1:
            return [p[0] for p in self.listed]
        return [list(p) for p in self.listed]

    @property
    def empty(self) -> bool:
        return self.total == 0


@dataclass(frozen=True, eq=False)
class BottleneckResult:
    """Both blocks' counts, the band and one Solution per requested count."""

    spec_name: str
    baseline: str
    candidate: str
    metric: str
    band: Band
    baseline_counts: dict[str, Any]
    candidate_counts: dict[str, Any]
    symbols: tuple[str, ...]
    solutions: tuple[Solution, ...]

    @property
    def empty(self) -> bool:
        return all(s.empty for s in self.solutions)


# ----------------------------------------------------------------------------- choosing blocks


def count_of(evaluation: Any, metric: str, bias: bool) -> Any:
    """A block's params (with or without bias) or MACs."""
    if metric == "macs":
        return evaluation.macs
    return evaluation.params if bias else evaluation.params_no_bias


def has_symbols(value: Any) -> bool:
    return bool(getattr(value, "free_symbols", None))


def choose(evaluations: Sequence[Any], metric: str, baseline: str | None, candidate: str | None) -> tuple[Any, Any]:
    """Pick (baseline, candidate): the one block without and the one with free symbols, unless named."""
    by_name = {e.name: e for e in evaluations}
    free = {e.name: has_symbols(count_of(e, metric, True)) for e in evaluations}

    def only(role: str, options: list[str], expected: str) -> str:
        if len(options) != 1:
            raise UsageError(
                f"cannot tell which block is the {role}",
                expected=expected,
                found=(", ".join(options) or "none") + f" (blocks: {', '.join(by_name)})",
            )
        return options[0]

    if baseline is None:
        fixed = [n for n in by_name if not free[n] and n != candidate]
        baseline = only("baseline", fixed, "exactly one block whose count has no free symbols, or --baseline NAME")
    if candidate is None:
        widths = [n for n in by_name if free[n] and n != baseline]
        candidate = only("candidate", widths, "exactly one block with free width symbols, or --candidate NAME")
    base, cand = by_name[baseline], by_name[candidate]
    base_count = count_of(base, metric, True)
    if has_symbols(base_count):
        raise UsageError(
            f"the baseline block {baseline!r} has free symbols",
            expected="a baseline with a numeric count",
            found=_text(base_count),
            hint="bind them with --set NAME=VALUE",
        )
    if not has_symbols(count_of(cand, metric, True)):
        raise UsageError(
            f"the candidate block {candidate!r} has no free width symbol to solve for",
            expected="a block with a width like out_channels: k",
            found=_text(count_of(cand, metric, True)),
        )
    return base, cand


def _text(value: Any) -> str:
    if has_symbols(value):
        return str(sympy.expand(value))
    return str(value)


# ----------------------------------------------------------------------------- the solver


def solve_bottleneck(
    baseline: Any,
    candidate: Any,
    band: Band,
    *,
    metric: str = "params",
    biases: Sequence[bool] = (False, True),
    ranges: Mapping[str | None, tuple[int, int | None]] | None = None,
    multiple_of: int = 1,
    limit: int | None = None,
) -> BottleneckResult:
    """Solve for the candidate's widths: one Solution per requested count (MACs: one, bias False).

    `limit` caps the listed integer points (default: every width for one symbol, 50 combinations
    for several); counts and runs always cover all of them.
    """
    if metric not in METRICS:
        raise UsageError("unknown metric", expected=" or ".join(METRICS), found=repr(metric))
    modes = (False,) if metric == "macs" else tuple(biases)
    symbols = _ordered(set().union(*(getattr(count_of(candidate, metric, b), "free_symbols", set()) for b in (False, True))))
    names = tuple(s.name for s in symbols)
    bounds = _bounds(names, ranges or {})
    if limit is None:
        limit = UNLIMITED if len(names) == 1 else DEFAULT_LIMIT
    solutions = []
    for bias in modes:
        base = count_of(baseline, metric, bias)
        if not isinstance(base, int) or base <= 0:
            raise UsageError(
                f"the baseline's {_label(metric, bias)} must be a positive number to reduce",
                found=str(base),
            )
        count = sympy.expand(count_of(candidate, metric, bias))
        solutions.append(_solve_one(bias, metric, symbols, bounds, base, count, band, multiple_of, limit))
    return BottleneckResult(
        baseline.spec_name,
        baseline.name,
        candidate.name,
        metric,
        band,
        _counts(baseline, metric),
        _counts(candidate, metric),
        names,
        tuple(solutions),
    )


def _label(metric: str, bias: bool) -> str:
    if metric == "macs":
        return "MACs"
    return "params with bias" if bias else "params without bias"


def _counts(evaluation: Any, metric: str) -> dict[str, Any]:
    counts = {"params": evaluation.params, "params_no_bias": evaluation.params_no_bias}
    if metric == "macs":
        counts["macs"] = evaluation.macs
    return counts


def _ordered(symbols: Iterable[Any]) -> tuple[Any, ...]:
    def key(s: Any) -> list[Any]:
        return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", s.name)]

    return tuple(sorted(symbols, key=key))


def _bounds(names: tuple[str, ...], ranges: Mapping[str | None, tuple[int, int | None]]) -> dict[str, Bound]:
    for name in ranges:
        if name is not None and name not in names:
            from cnncalc.spec import did_you_mean

            raise UsageError(
                f"--range names {name!r}, which is not a free symbol of the candidate",
                expected="one of " + ", ".join(names),
                found=repr(name),
                hint=did_you_mean(name, names),
            )
    bounds = {}
    for name in names:
        explicit = name in ranges or None in ranges
        lo, hi = ranges.get(name, ranges.get(None, (1, None)))
        bounds[name] = Bound(name, lo, hi, explicit)
    return bounds


def _solve_one(
    bias: bool,
    metric: str,
    symbols: tuple[Any, ...],
    bounds: dict[str, Bound],
    base: int,
    count: Any,
    band: Band,
    multiple_of: int,
    limit: int,
) -> Solution:
    lower, upper = band.bounds(base)
    names = tuple(s.name for s in symbols)
    try:
        poly = sympy.Poly(count, *symbols)
        terms = [(monom, as_fraction(coeff)) for monom, coeff in poly.terms()]
    except (sympy.PolynomialError, ValueError):
        poly, terms = None, None
    common = dict(bias=bias, metric=metric, symbols=names, baseline=base, count=count, lower=lower, upper=upper,
                  multiple_of=multiple_of, terms=tuple(terms or ()))
    if terms is None:
        if len(symbols) > 1:
            raise SolveError(
                f"the candidate's {_label(metric, bias)} is not a polynomial in {', '.join(names)}",
                found=str(count),
                hint="bind all symbols but one with --set NAME=VALUE, or write widths without //, floor, ceil, min or max",
            )
        return _solve_solveset(symbols[0], bounds[names[0]], count, common, limit)
    if len(symbols) == 1:
        coeffs = _ascending(terms, 0, ())
        pieces, boundaries = _real_pieces(poly, bounds[names[0]], lower, upper, band)
        bound = bounds[names[0]]
        runs = _stepped(integer_runs(coeffs, lower, upper, bound.lo, bound.hi), multiple_of)
        rows = (Row((), tuple(runs)),) if runs else ()
        listed, total, truncated = _listing(rows, limit)
        return Solution(**common, bounds=(bound,), derived=(), method="real_roots", pieces=pieces,
                        boundaries=boundaries, rows=rows, listed=listed, total=total, truncated=truncated,
                        row_count=len(rows))
    return _enumerate(terms, names, bounds, common, limit)


def as_fraction(value: Any) -> Fraction:
    """A sympy rational as a Fraction (ValueError for anything else)."""
    if not value.is_Rational:
        raise ValueError("not an exact rational")
    return Fraction(int(value.p), int(value.q))


def as_rational(value: Fraction) -> Any:
    """A Fraction as a sympy Rational."""
    return sympy.Rational(value.numerator, value.denominator)


def _ascending(terms: list[tuple[tuple[int, ...], Fraction]], axis: int, outer: tuple[int, ...]) -> list[Fraction]:
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


# -- one symbol: exact real solution set


def _real_pieces(
    poly: Any, bound: Bound, lower: Fraction | None, upper: Fraction, band: Band
) -> tuple[tuple[Piece, ...], tuple[Boundary, ...]]:
    """Components of {x in domain : lower <= P(x) <= upper}, ends exact, from the boundary roots."""
    coeffs = [as_fraction(c) for c in reversed(poly.all_coeffs())]
    boundaries = []
    sides = ([("lower", lower, band.hi)] if lower is not None else []) + [("upper", upper, band.lo)]
    for side, value, reduction in sides:
        assert reduction is not None
        shifted = [c - value if i == 0 else c for i, c in enumerate(coeffs)]
        roots = real_roots(shifted, poly.gen)
        boundaries.append(Boundary(side, value, reduction, roots))
    # The domain: (0, oo) by default; a --range gives a closed interval.
    lo_closed = bound.explicit
    d_lo = Fraction(bound.lo) if lo_closed else Fraction(0)
    d_hi = None if bound.hi is None else Fraction(bound.hi)

    def feasible(x: Fraction) -> bool:
        value = _horner(coeffs, x)
        return (lower is None or value >= lower) and value <= upper

    points: dict[Fraction, Any] = {}
    for b in boundaries:
        for r in dict.fromkeys(b.roots):
            approx = _approx(r)
            if approx > d_lo and (d_hi is None or approx < d_hi):
                points.setdefault(approx, r)
    ordered = sorted(points.items())
    # Elements in order: domain start, gaps and roots alternately, domain end; each feasible or not.
    elements: list[tuple[str, Any, bool]] = []  # (kind, exact point (None for a gap), feasible)
    elements.append(("point", sympy.Integer(d_lo.numerator) if lo_closed else sympy.Integer(0), lo_closed and feasible(d_lo)))
    previous = d_lo
    for approx, exact in ordered:
        elements.append(("gap", None, feasible((previous + approx) / 2)))
        elements.append(("point", exact, True))
        previous = approx
    if d_hi is None:
        elements.append(("gap", None, feasible(previous + 1)))
        elements.append(("point", sympy.oo, False))
    else:
        elements.append(("gap", None, feasible((previous + d_hi) / 2) if d_hi > previous else False))
        elements.append(("point", sympy.Integer(bound.hi), feasible(d_hi)))
    pieces = []
    start: tuple[Any, bool] | None = None
    last_point = elements[0][1]
    for kind, exact, ok in elements:
        if ok and start is None:
            start = (exact, True) if kind == "point" else (last_point, False)
        if not ok and start is not None:
            end = (last_point, True) if kind == "gap" else (exact, False)
            pieces.append(Piece(_endpoint(*start), _endpoint(*end)))
            start = None
        if kind == "point":
            last_point = exact
    if start is not None:
        pieces.append(Piece(_endpoint(*start), _endpoint(last_point, True)))
    return tuple(pieces), tuple(boundaries)


def real_roots(coeffs: Sequence[Fraction], gen: Any) -> tuple[Any, ...]:
    """The real roots (with multiplicity, ascending) of a polynomial given lowest degree first, exactly.

    Degrees 1 and 2 by formula (surds, ~10x cheaper than sympy's root isolation: this is on the
    hot path of every run); higher degrees by `Poly.real_roots` (radicals or CRootOf).
    """
    f = list(coeffs)
    while f and f[-1] == 0:
        f.pop()
    degree = len(f) - 1
    if degree <= 0:
        return ()
    if degree == 1:
        return (as_rational(-f[0] / f[1]),)
    if degree == 2:
        c, b, a = f
        disc = b * b - 4 * a * c
        if disc < 0:
            return ()
        if disc == 0:
            return (as_rational(-b / (2 * a)), as_rational(-b / (2 * a)))
        root = sympy.sqrt(as_rational(disc))
        pair = ((as_rational(-b) - root) / as_rational(2 * a), (as_rational(-b) + root) / as_rational(2 * a))
        return pair if a > 0 else pair[::-1]
    return tuple(sympy.Poly([as_rational(c) for c in reversed(f)], gen).real_roots())


def _endpoint(exact: Any, closed: bool) -> Endpoint:
    if exact is sympy.oo:
        return Endpoint(exact, None, False)
    return Endpoint(exact, float(as_fraction(exact)) if exact.is_Rational else float(exact.evalf(30)), closed)


def _approx(root: Any) -> Fraction:
    """An exact rational for a rational root; a 40-digit rational approximation otherwise (ordering only)."""
    if root.is_Rational:
        return as_fraction(root)
    return Fraction(str(sympy.Float(root.evalf(40), 40)))


def _horner(coeffs: Sequence[Any], x: Any) -> Any:
    """The polynomial with coefficients `coeffs` (lowest degree first) at x."""
    value: Any = 0
    for c in reversed(coeffs):
        value = value * x + c
    return value


# -- one symbol, non-polynomial: solveset over the explicit domain


def _solve_solveset(k: Any, bound: Bound, count: Any, common: dict[str, Any], limit: int) -> Solution:
    lower, upper = common["lower"], common["upper"]
    x = sympy.Symbol(k.name, real=True)
    expr = count.subs(k, x)
    start = sympy.Integer(bound.lo) if bound.explicit else sympy.Integer(0)
    domain = sympy.Interval(start, sympy.oo if bound.hi is None else sympy.Integer(bound.hi), not bound.explicit, bound.hi is None)
    result = sympy.solveset(sympy.Le(expr, as_rational(upper)), x, domain)
    if lower is not None:
        result = sympy.Intersection(result, sympy.solveset(sympy.Ge(expr, as_rational(lower)), x, domain))
    if isinstance(result, sympy.ConditionSet) or result.has(sympy.ConditionSet):
        raise SolveError(
            f"sympy cannot solve the band for {k.name} exactly (solveset returned a ConditionSet)",
            found=f"the count {expr}, which is not a polynomial in {k.name}",
            hint=f"write widths without //, floor or ceil, or bind {k.name} with --set {k.name}=VALUE to check one width",
        )
    components = list(result.args) if isinstance(result, sympy.Union) else [result]
    pieces = []
    runs = []
    for part in components:
        if part is sympy.S.EmptySet:
            continue
        if isinstance(part, sympy.FiniteSet):
            for point in part:
                pieces.append(Piece(_endpoint(point, True), _endpoint(point, True)))
                if point.is_integer and point >= 1:
                    runs.append(Run(int(point), int(point)))
            continue
        if not isinstance(part, sympy.Interval):
            raise SolveError(f"sympy returned an unexpected set for {k.name}", found=str(result))
        pieces.append(Piece(_endpoint(part.start, not part.left_open), _endpoint(part.end, not part.right_open)))
        first = max(1, int(sympy.ceiling(part.start)))
        if part.contains(first) is not sympy.true:
            first += 1
        if part.end is sympy.oo:
            runs.append(Run(first, None))
            continue
        last = int(sympy.floor(part.end))
        if part.contains(last) is not sympy.true:
            last -= 1
        if first <= last:
            runs.append(Run(first, last))
    stepped = _stepped([(r.first, r.last) for r in runs], common["multiple_of"])
    rows = (Row((), tuple(stepped)),) if stepped else ()
    listed, total, truncated = _listing(rows, limit)
    return Solution(**common, bounds=(bound,), derived=(), method="solveset", pieces=tuple(pieces), boundaries=(),
                    rows=rows, listed=listed, total=total, truncated=truncated, row_count=len(rows))


# -- integers: exact root isolation on integer cells


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


def _sign(v: Any) -> int:
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
    for p, q in zip(marks, marks[1:]):
        if q == p + 1 and p in critical:
            cells.add(p)
            continue
        fp, fq = _horner(f, p), _horner(f, q)
        if fp == 0:
            cells.add(p)
        if fq == 0:
            cells.add(min(q, b - 1))
        sp, sq = _sign(fp), _sign(fq)
        if sp and sq and sp != sq:
            lo, hi = p, q
            while hi - lo > 1:
                mid = (lo + hi) // 2
                sm = _sign(_horner(f, mid))
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
        value = _horner(ints, n)
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


def _stepped(runs: Iterable[tuple[int, int | None]], step: int) -> list[Run]:
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


def _list_runs(listed: list[tuple[int, ...]], total: int | None, outer: tuple[int, ...], runs: Iterable[Run], limit: int) -> int | None:
    """Add one row's points to `listed` while it holds fewer than `limit` (an unbounded run adds a
    handful, never a million); returns `total` plus the row's count (None: unbounded)."""
    for run in runs:
        room = limit - len(listed)
        if room > 0:
            listed.extend(outer + (v,) for v in run.values(room if run.last is not None else min(room, DEFAULT_LIMIT)))
        size = run.size
        total = None if size is None or total is None else total + size
    return total


def _listing(rows: Sequence[Row], limit: int) -> tuple[tuple[tuple[int, ...], ...], int | None, bool]:
    listed: list[tuple[int, ...]] = []
    total: int | None = 0
    for row in rows:
        total = _list_runs(listed, total, row.outer, row.runs, limit)
    return tuple(listed), total, total is None or total > len(listed)


# -- several symbols: enumerate the outer ones, solve the inner one exactly


def _enumerate(
    terms: list[tuple[tuple[int, ...], Fraction]],
    names: tuple[str, ...],
    given: dict[str, Bound],
    common: dict[str, Any],
    limit: int,
) -> Solution:
    lower, upper, step = common["lower"], common["upper"], common["multiple_of"]
    monotone = all(c >= 0 for _, c in terms)
    bounds = dict(given)
    derived = []
    for axis, name in enumerate(names[:-1]):
        bound = bounds[name]
        if bound.hi is not None:
            continue
        if not monotone:
            raise UsageError(
                f"cannot bound {name}: the candidate's count does not grow with every width",
                expected=f"--range {name}=A..B",
                found=str(common["count"]),
            )
        # The count grows with every width: the largest useful value of this one has the others at their minimum.
        floor_values = tuple(bounds[n].lo for i, n in enumerate(names) if i != axis)
        runs = integer_runs(_ascending(terms, axis, floor_values), None, upper, bound.lo, None)
        if not runs or runs[0][0] != bound.lo:
            hi = bound.lo - 1  # even the smallest widths exceed the band: nothing to search
        elif runs[0][1] is None:
            raise UsageError(
                f"cannot bound {name}: the count does not depend on it",
                expected=f"--range {name}=A..B or --set {name}=VALUE",
                found=str(common["count"]),
            )
        else:
            hi = runs[0][1]
        bounds[name] = Bound(name, bound.lo, hi, bound.explicit)
        derived.append(name)
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
        runs = _stepped(integer_runs(coeffs, lower, upper, inner_bound.lo, inner_bound.hi), step)
        if not runs:
            continue
        row = Row(outer, tuple(runs))
        row_count += 1
        if len(rows) < limit:
            rows.append(row)
        total = _list_runs(listed, total, outer, runs, limit)
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


def no_answer(result: BottleneckResult) -> NoAnswerError:
    """The sentence for an empty answer, with what the band does allow."""
    names = ", ".join(result.symbols)
    what = "width" if len(result.symbols) == 1 else "combination of widths"
    counts = " or ".join(_label(s.metric, s.bias) for s in result.solutions)
    details = []
    for s in result.solutions:
        if len(s.symbols) != 1:
            continue
        if s.pieces:
            where = " or ".join(piece_text(p) for p in s.pieces)
            details.append(f"{_label(s.metric, s.bias)}: the band holds only for {names} in {where}, which holds no admissible integer")
        else:
            details.append(f"{_label(s.metric, s.bias)}: no real {names} > 0 meets the band")
    first = result.solutions[0]
    limits = []
    if first.multiple_of != 1:
        limits.append(f"multiples of {first.multiple_of}")
    limits.extend(f"{b.name} in {b.text}" for b in first.bounds if b.explicit)
    scope = f" (searching {', '.join(limits)})" if limits else ""
    return NoAnswerError(
        f"no integer {what} {names}{scope} reduces the {counts} of {result.candidate!r} by {result.band.text} "
        f"against {result.baseline!r}" + ("; " + "; ".join(details) if details else ""),
        hint="widen the band with --reduce" + (", or loosen --range / --multiple-of" if limits else ""),
    )


def piece_text(p: Piece, exact: bool | None = None) -> str:
    """An interval like [50.5695, 57.2817): its ends exact (exact=True), as decimals (False), or
    exact where rational and as decimals otherwise (None)."""

    def end(e: Endpoint) -> str:
        if e.value is None:
            return "oo"
        return e.text if (e.exact.is_Rational if exact is None else exact) else f"{e.value:.4f}"

    return ("[" if p.lo.closed else "(") + f"{end(p.lo)}, {end(p.hi)}" + ("]" if p.hi.closed else ")")
