"""The bottleneck search: which widths make a candidate block's count fall by a band below a baseline's.

Exact throughout. The band is a pair of Fractions; the candidate's count (params or MACs) is an
exact polynomial in its free width symbols. A single symbol's real solution set is bounded by the
exact real roots of `P(k) - (1-hi)*B` and `P(k) - (1-lo)*B` (`roots.py`), and every integer
decision (which widths work, how many) is made by evaluating the polynomial on integers with
Python ints (`integers.py`): floats only ever appear as decimals shown to people. Several
independent symbols are enumerated over the outer ones, each step solving the innermost symbol
exactly (`enumeration.py`).

This module sets the problem up: it picks the two blocks, reads their counts and the ranges,
and hands each count to the solver that fits it. It returns numbers: `cnncalc.render.bottleneck`
writes them out. It imports sympy at the top: only the `bottleneck` command imports it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import sympy

from cnncalc import arith
from cnncalc.analysis.evaluate import Evaluation
from cnncalc.conditions import Condition
from cnncalc.errors import UsageError
from cnncalc.solve.band import Band, Bound
from cnncalc.solve.enumeration import enumerate_widths
from cnncalc.solve.integers import DEFAULT_LIMIT, listing, stepped
from cnncalc.solve.rational import as_fraction
from cnncalc.solve.results import BottleneckResult, Problem, Row, Run, Solution
from cnncalc.solve.roots import real_pieces
from cnncalc.solve.validity import MAX_CHECKS, Checks, bound_inner, evaluated_grid, evaluated_runs

METRICS = ("params", "macs")
UNLIMITED = 1_000_000  # widths listed for one symbol (an unbounded answer lists this many at most)


# ----------------------------------------------------------------------------- choosing blocks


def count_of(evaluation: Evaluation, metric: str, bias: bool) -> Any:
    """A block's params (with or without bias) or MACs."""
    if metric == "macs":
        return evaluation.macs
    return evaluation.params if bias else evaluation.params_no_bias


def has_symbols(value: Any) -> bool:
    return bool(getattr(value, "free_symbols", None))


def free_symbols(evaluation: Evaluation, metric: str) -> set[Any]:
    """The widths to solve for: the free symbols of the counts and of the validity conditions
    (a width may decide only whether the block is valid, as groups: k of a 1x1 conv)."""
    found: set[Any] = set()
    for bias in (False, True):
        found |= getattr(count_of(evaluation, metric, bias), "free_symbols", set())
    for stated in evaluation.conditions:
        for condition in stated.conditions:
            found |= condition.symbols
    return found


def choose(evaluations: Sequence[Evaluation], metric: str, baseline: str | None, candidate: str | None) -> tuple[Evaluation, Evaluation]:
    """Pick (baseline, candidate): the one block without and the one with free symbols, unless named."""
    by_name = {e.name: e for e in evaluations}
    free = {e.name: bool(free_symbols(e, metric)) for e in evaluations}

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
            found=arith.as_text(base_count),
            hint="bind them with --set NAME=VALUE",
        )
    if not free_symbols(cand, metric):
        raise UsageError(
            f"the candidate block {candidate!r} has no free width symbol to solve for",
            expected="a block with a width like out_channels: k",
            found=arith.as_text(count_of(cand, metric, True)),
        )
    return base, cand


# ----------------------------------------------------------------------------- the solver


def solve_bottleneck(
    baseline: Evaluation,
    candidate: Evaluation,
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
    symbols = _ordered(free_symbols(candidate, metric))
    conditions = tuple(c for stated in candidate.conditions for c in stated.conditions)
    names = tuple(s.name for s in symbols)
    bounds = _bounds(names, ranges or {})
    if limit is None:
        limit = UNLIMITED if len(names) == 1 else DEFAULT_LIMIT
    solutions = []
    for bias in modes:
        base = count_of(baseline, metric, bias)
        if not isinstance(base, int) or base <= 0:
            raise UsageError(
                f"the baseline's {count_label(metric, bias)} must be a positive number to reduce",
                found=str(base),
            )
        count = sympy.expand(count_of(candidate, metric, bias))
        solutions.append(_solve_one(bias, metric, symbols, bounds, base, count, band, multiple_of, limit, conditions))
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
        candidate.conditions,
    )


def count_label(metric: str, bias: bool) -> str:
    """The count's name in a sentence: 'MACs', 'params with bias', 'params without bias'."""
    if metric == "macs":
        return "MACs"
    return "params with bias" if bias else "params without bias"


def _counts(evaluation: Evaluation, metric: str) -> dict[str, Any]:
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
    conditions: tuple[Condition, ...] = (),
) -> Solution:
    lower, upper = band.bounds(base)
    names = tuple(s.name for s in symbols)
    try:
        poly = sympy.Poly(count, *symbols)
        terms = [(monom, as_fraction(coeff)) for monom, coeff in poly.terms()]
    except (sympy.PolynomialError, ValueError):
        poly, terms = None, None
    common = Problem(bias=bias, metric=metric, symbols=names, baseline=base, count=count, lower=lower, upper=upper,
                     multiple_of=multiple_of, terms=tuple(terms or ()))
    budget = [MAX_CHECKS]
    if terms is None:
        if len(symbols) > 1:
            return evaluated_grid(count, symbols, bounds, conditions, common, limit, budget)
        checks = Checks(conditions, symbols[0])
        found, bound = evaluated_runs(count, symbols[0], lower, upper, bounds[names[0]], checks.high)
        runs = checks.restrict(_stepped_runs(found, multiple_of), budget)
        rows = (Row((), tuple(runs)),) if runs else ()
        listed, total, truncated = listing(rows, limit)
        return Solution(**common, bounds=(bound,), derived=(), method="evaluation", pieces=(), boundaries=(), rows=rows,
                        listed=listed, total=total, truncated=truncated, row_count=len(rows))
    if len(symbols) == 1:
        pieces, boundaries = real_pieces(poly, bounds[names[0]], lower, upper, band)
        bound = bounds[names[0]]
        runs = solved_widths(count, symbols[0], lower, upper, bound, multiple_of, conditions)
        rows = (Row((), tuple(runs)),) if runs else ()
        listed, total, truncated = listing(rows, limit)
        return Solution(**common, bounds=(bound,), derived=(), method="real_roots", pieces=pieces,
                        boundaries=boundaries, rows=rows, listed=listed, total=total, truncated=truncated,
                        row_count=len(rows))
    inner = symbols[-1]
    alone = Checks([c for c in conditions if c.symbols <= {inner}], inner)
    tied = [c for c in conditions if not c.symbols <= {inner}]

    def restrict(outer: tuple[int, ...], runs: list[Run]) -> list[Run]:
        runs = alone.restrict(runs, budget)
        if tied and runs:
            runs = bound_inner(tied, inner, dict(zip(symbols[:-1], outer))).restrict(runs, budget)
        return runs

    return enumerate_widths(terms, names, bounds, common, limit, restrict)


def solved_widths(
    count: Any, symbol: Any, lower: Fraction | None, upper: Fraction, bound: Bound, step: int, conditions: Sequence[Condition]
) -> list[Run]:
    """One width of a polynomial count, through the `cnncalc solve` engine: the band is the
    constraint `lower <= count <= upper` (the preset), solved by `search.solve`'s exact-roots
    method (integer root isolation, the multiples of `step`, the validity conditions)."""
    from cnncalc.solve.search import Question, comparisons_of, solve

    band: tuple[Any, ...] = (("cmp", "<=", count, upper, "count <= upper"),)
    if lower is not None:
        band = (("cmp", "<=", lower, count, "lower <= count"), *band)
    relation = ("and", band)
    question = Question(
        (relation,), tuple(comparisons_of(relation)), tuple(conditions), {symbol.name: (bound.lo, bound.hi)}, {symbol.name: step},
        limit=1, extra_symbols=(symbol,),
    )
    result = solve(question)
    assert result.method == "roots" and result.symbols == (symbol.name,)
    return [run for row in result.rows for run in row.runs]


def _stepped_runs(runs: Sequence[Run], step: int) -> list[Run]:
    return stepped([(r.first, r.last) for r in runs], step)

