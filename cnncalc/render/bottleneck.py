"""Rendering of `cnncalc bottleneck`: the JSON document, the tables and the no-answer sentence.

The solver returns numbers (Fractions, sympy roots, integer runs); everything it says in words
is written here, and the worked solution in `working.py`. Imported only by the `bottleneck`
command (it uses sympy through `solve`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cnncalc import arith
from cnncalc.errors import NoAnswerError
from cnncalc.render.cells import condition_notes, conditions_json
from cnncalc.render.numbers import (
    approx_text,
    count_text,
    fixed_text,
    fraction_text,
    json_number,
    percent,
    percent_fixed,
)
from cnncalc.render.report import Report, Table, Working
from cnncalc.solve.band import Band, Bound
from cnncalc.solve.bottleneck import count_label
from cnncalc.solve.results import BottleneckResult, Endpoint, Piece, Run, Solution

# ----------------------------------------------------------------------------- the solver's values as text


def band_text(band: Band) -> str:
    """The band as users write it: '50%-60%', 'at least 50%', 'exactly 50%'."""
    if band.hi is None:
        return f"at least {percent(band.lo)}"
    if band.hi == band.lo:
        return f"exactly {percent(band.lo)}"
    return f"{percent(band.lo)}-{percent(band.hi)}"


def bound_text(bound: Bound) -> str:
    """Integer bounds as --range takes them: '1..256', '8..'."""
    return f"{bound.lo}..{'' if bound.hi is None else bound.hi}"


def run_text(run: Run) -> str:
    """Feasible integers: '51..57', '8..56 step 8', '7', '3.. (unbounded)'."""
    if run.last is None:
        return f"{run.first}.. (unbounded)"
    if run.first == run.last:
        return str(run.first)
    step = f" step {run.step}" if run.step != 1 else ""
    return f"{run.first}..{run.last}{step}"


def end_text(end: Endpoint) -> str:
    """An interval end exactly, as sympy prints it: '-64/9 + 64*sqrt(1645)/45', 'oo'."""
    return str(end.exact)


def piece_text(p: Piece, exact: bool | None = None) -> str:
    """An interval like [50.5695, 57.2817): its ends exact (exact=True), as decimals (False), or
    exact where rational and as decimals otherwise (None)."""

    def end(e: Endpoint) -> str:
        if e.value is None:
            return "oo"
        return end_text(e) if (e.exact.is_Rational if exact is None else exact) else fixed_text(e.value)

    return ("[" if p.lo.closed else "(") + f"{end(p.lo)}, {end(p.hi)}" + ("]" if p.hi.closed else ")")


@lru_cache(maxsize=16)
def _printed(count: Any) -> str:
    return str(count)


def polynomial_text(s: Solution) -> str:
    """The candidate's count as sympy prints it (printed once: tables, JSON and the working all show it)."""
    return _printed(s.count)


def mode_name(s: Solution) -> str:
    """The column heading of one count."""
    if s.metric == "macs":
        return "MACs"
    return "with bias" if s.bias else "without bias"


def inequality(s: Solution, *, exact: bool) -> str:
    """lower <= P <= upper, with exact rationals (JSON) or short decimals (people)."""
    show = fraction_text if exact else approx_text
    upper = f"{polynomial_text(s)} <= {show(s.upper)}"
    return upper if s.lower is None else f"{show(s.lower)} <= {upper}"


def total_text(s: Solution) -> str:
    """How many integer points fit: a number or 'unbounded'."""
    return "unbounded" if s.total is None else str(s.total)


def reduction_at(s: Solution, width: int) -> str:
    """The reduction against the baseline that one width achieves, as a percentage."""
    return percent_fixed(1 - s.value_at([width]) / s.baseline)


# ----------------------------------------------------------------------------- JSON


def bottleneck_document(result: BottleneckResult, explanation: Working = ()) -> dict[str, Any]:
    """The `bottleneck` JSON document (DESIGN.md keys, plus the working behind them)."""
    band = result.band
    document: dict[str, Any] = {
        "name": result.spec_name,
        "metric": result.metric,
        "baseline": {"name": result.baseline, **{k: arith.as_json(v) for k, v in result.baseline_counts.items()}},
        "candidate": {
            "name": result.candidate,
            **{k: arith.as_json(v) for k, v in result.candidate_counts.items()},
            "symbols": list(result.symbols),
        },
        "reduce": [float(band.lo), None if band.hi is None else float(band.hi)],
        "reduce_exact": [fraction_text(band.lo), None if band.hi is None else fraction_text(band.hi)],
        "solutions": [_solution_json(s) for s in result.solutions],
        "conditions": conditions_json(stated=result.conditions),
    }
    if explanation:
        document["explanation"] = [{"step": head, "lines": list(lines)} for head, lines in explanation]
    return document


def _solution_json(s: Solution) -> dict[str, Any]:
    one = len(s.symbols) == 1
    piece = s.interval
    item: dict[str, Any] = {
        "bias": s.bias,
        "metric": s.metric,
        "symbol": ", ".join(s.symbols),
        "symbols": list(s.symbols),
        "baseline": s.baseline,
        "polynomial": polynomial_text(s),
        "bounds": [None if s.lower is None else json_number(s.lower), json_number(s.upper)],
        "bounds_exact": [None if s.lower is None else fraction_text(s.lower), fraction_text(s.upper)],
        "inequality": inequality(s, exact=True),
        "interval": _interval_values(piece) if one and piece else None,
        "exact": [end_text(piece.lo), end_text(piece.hi)] if one and piece else None,
        "closed": [piece.lo.closed, piece.hi.closed] if one and piece else None,
        "integers": s.integers,
        "count": s.total,
        "truncated": s.truncated,
        "multiple_of": s.multiple_of,
        "range": {b.name: [b.lo, b.hi] for b in s.bounds},
        "method": s.method,
    }
    if one:
        item["intervals"] = [
            {"interval": _interval_values(p), "exact": [end_text(p.lo), end_text(p.hi)], "closed": [p.lo.closed, p.hi.closed]}
            for p in s.pieces
        ]
        item["runs"] = [_run_json(r) for r in s.runs]
    else:
        item["derived_range"] = list(s.derived)
        item["rows"] = [
            {**dict(zip(s.symbols[:-1], row.outer)), s.symbols[-1]: [_run_json(r) for r in row.runs]}
            for row in s.rows
        ]
    return item


def _run_json(run: Run) -> list[int | None]:
    """[first, last], or [first, last, step] for a run thinned to a step (multiples, residues)."""
    return [run.first, run.last] if run.step == 1 else [run.first, run.last, run.step]


def _interval_values(piece: Piece) -> list[float | None]:
    return [piece.lo.value, piece.hi.value]


# ----------------------------------------------------------------------------- tables


def bottleneck_report(result: BottleneckResult, explanation: Working = ()) -> Report:
    """The tables: one column per count side by side; a table of combinations per count for several symbols."""
    solutions = result.solutions
    what = "MACs" if result.metric == "macs" else "params"
    title = (
        f"{result.spec_name}: cut the {what} of {result.baseline!r} by {band_text(result.band)} "
        f"with {result.candidate!r}, solving for {', '.join(result.symbols)}"
    )
    one = len(result.symbols) == 1
    rows: list[tuple[str, ...]] = [
        (f"baseline {result.baseline}", *(count_text(s.baseline) for s in solutions)),
        (f"candidate {result.candidate}", *(polynomial_text(s) for s in solutions)),
        ("inequality", *(inequality(s, exact=False) for s in solutions)),
    ]
    if one and solutions[0].method != "evaluation":
        rows += [
            ("interval (exact)", *(_pieces_text(s, exact=True) for s in solutions)),
            ("interval", *(_pieces_text(s, exact=False) for s in solutions)),
        ]
    if one:
        rows += [
            (_widths_label(result, solutions), *(_runs_text(s) for s in solutions)),
            ("count", *(total_text(s) for s in solutions)),
            ("reduction achieved", *(_achieved_text(s) for s in solutions)),
        ]
    else:
        rows += [
            ("searched", *(", ".join(_searched_text(s, b) for b in s.bounds) for s in solutions)),
            ("combinations", *(total_text(s) for s in solutions)),
        ]
    if one and solutions[0].method == "evaluation":
        how = ("the count is not a polynomial: every width is evaluated exactly (by bisection where the count "
               "never decreases as the width grows).")
    elif one:
        how = "interval ends are exact real roots of the boundary polynomials; every integer is checked exactly."
    else:
        how = (f"for each {', '.join(result.symbols[:-1])} the feasible {result.symbols[-1]} come from exact "
               "integer root isolation; nothing is rounded.")
    notes = [f"{', '.join(result.symbols)}: positive integer width{'s' if not one else ''}; {how}"]
    notes.extend(condition_notes(result.conditions))
    if solutions[0].multiple_of != 1:
        notes.append(f"only multiples of {solutions[0].multiple_of}.")
    if result.metric == "macs":
        notes.append("MACs: one multiply-accumulate = 1 MAC; bias additions are not counted, so one answer serves both.")
    tables = [Table(title, ("", *(mode_name(s) for s in solutions)), tuple(rows), (False,) * (1 + len(solutions)), tuple(notes))]
    if not one:
        for s in solutions:
            tables.append(_combinations_table(s))
    return Report(tuple(tables), explanation)


def _widths_label(result: BottleneckResult, solutions: tuple[Solution, ...]) -> str:
    step = solutions[0].multiple_of
    return f"integer {result.symbols[0]}" + (f" (multiples of {step})" if step != 1 else "")


def _combinations_table(s: Solution) -> Table:
    rows = tuple(
        (*(str(v) for v in row.outer), ", ".join(run_text(r) for r in row.runs), _size_text(row.runs)) for row in s.rows
    )
    notes = [f"{total_text(s)} combinations in total, in {s.row_count} rows"]
    if len(s.rows) < s.row_count:
        notes.append(f"showing the first {len(s.rows)} rows (raise --limit for more)")
    return Table(
        f"{mode_name(s)}: feasible {', '.join(s.symbols)}",
        (*s.symbols[:-1], s.symbols[-1], "count"),
        rows,
        (*(True for _ in s.symbols[:-1]), False, True),
        tuple(notes) if rows else ("no combination fits",),
    )


def _size_text(runs: tuple[Run, ...]) -> str:
    sizes = [r.size for r in runs]
    return "unbounded" if None in sizes else str(sum(s for s in sizes if s is not None))


def _searched_text(s: Solution, b: Bound) -> str:
    derived = " (derived)" if b.name in s.derived else ""
    return f"{b.name} in {bound_text(b)}{derived}"


def _pieces_text(s: Solution, *, exact: bool) -> str:
    if not s.pieces:
        return "empty"
    return " U ".join(piece_text(p, exact) for p in s.pieces)


def _runs_text(s: Solution) -> str:
    return ", ".join(run_text(r) for r in s.runs) or "none"


def _achieved_text(s: Solution) -> str:
    runs = s.runs
    if not runs:
        return "-"
    k = s.symbols[0]
    first, last = runs[0].first, runs[-1].last
    parts = [f"{reduction_at(s, first)} at {k}={first}"]
    if last is not None and last != first:
        parts.append(f"{reduction_at(s, last)} at {k}={last}")
    return " .. ".join(parts)


# ----------------------------------------------------------------------------- no answer


def no_answer(result: BottleneckResult) -> NoAnswerError:
    """The sentence for an empty answer, with what the band does allow."""
    names = ", ".join(result.symbols)
    what = "width" if len(result.symbols) == 1 else "combination of widths"
    counts = " or ".join(count_label(s.metric, s.bias) for s in result.solutions)
    details = []
    for s in result.solutions:
        if len(s.symbols) != 1:
            continue
        if s.pieces:
            where = " or ".join(piece_text(p) for p in s.pieces)
            details.append(f"{count_label(s.metric, s.bias)}: the band holds only for {names} in {where}, which holds no admissible integer")
        else:
            details.append(f"{count_label(s.metric, s.bias)}: no real {names} > 0 meets the band")
    first = result.solutions[0]
    limits = []
    if first.multiple_of != 1:
        limits.append(f"multiples of {first.multiple_of}")
    limits.extend(f"{b.name} in {bound_text(b)}" for b in first.bounds if b.explicit)
    scope = f" (searching {', '.join(limits)})" if limits else ""
    return NoAnswerError(
        f"no integer {what} {names}{scope} reduces the {counts} of {result.candidate!r} by {band_text(result.band)} "
        f"against {result.baseline!r}" + ("; " + "; ".join(details) if details else ""),
        hint="widen the band with --reduce" + (", or loosen --range / --multiple-of" if limits else ""),
    )
