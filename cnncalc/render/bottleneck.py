"""Rendering of `cnncalc bottleneck`: the JSON document, the tables and the worked solution.

Imported only by the `bottleneck` command (it uses sympy through `solve`).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy

from cnncalc import arith
from cnncalc.solve.band import decimal_text, percent
from cnncalc.render.explain import steps_text
from cnncalc.render.tables import Report, Table, count_text
from cnncalc.solve.bottleneck import BottleneckResult, Piece, Run, Solution, as_fraction, as_rational, piece_text

Explanation = tuple[tuple[str, tuple[str, ...]], ...]


# ----------------------------------------------------------------------------- JSON


def bottleneck_document(result: BottleneckResult, explanation: Explanation = ()) -> dict[str, Any]:
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
        "reduce_exact": [_fraction_text(band.lo), None if band.hi is None else _fraction_text(band.hi)],
        "solutions": [_solution_json(s) for s in result.solutions],
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
        "symbol": s.symbol,
        "symbols": list(s.symbols),
        "baseline": s.baseline,
        "polynomial": s.count_text,
        "bounds": [None if s.lower is None else _number(s.lower), _number(s.upper)],
        "bounds_exact": [None if s.lower is None else _fraction_text(s.lower), _fraction_text(s.upper)],
        "inequality": inequality(s, exact=True),
        "interval": _interval_values(piece) if one and piece else None,
        "exact": [piece.lo.text, piece.hi.text] if one and piece else None,
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
            {"interval": _interval_values(p), "exact": [p.lo.text, p.hi.text], "closed": [p.lo.closed, p.hi.closed]}
            for p in s.pieces
        ]
        item["runs"] = [[r.first, r.last] for r in s.runs]
    else:
        item["derived_range"] = list(s.derived)
        item["rows"] = [
            {**dict(zip(s.symbols[:-1], row.outer)), s.symbols[-1]: [[r.first, r.last] for r in row.runs]}
            for row in s.rows
        ]
    return item


def _interval_values(piece: Piece) -> list[float | None]:
    return [piece.lo.value, piece.hi.value]


def _number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


def _fraction_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


# ----------------------------------------------------------------------------- tables


def mode_name(s: Solution) -> str:
    """The column heading of one count."""
    if s.metric == "macs":
        return "MACs"
    return "with bias" if s.bias else "without bias"


def bottleneck_report(result: BottleneckResult, explanation: Explanation = ()) -> Report:
    """The tables: one column per count side by side; a table of combinations per count for several symbols."""
    solutions = result.solutions
    what = "MACs" if result.metric == "macs" else "params"
    title = (
        f"{result.spec_name}: cut the {what} of {result.baseline!r} by {result.band.text} "
        f"with {result.candidate!r}, solving for {', '.join(result.symbols)}"
    )
    one = len(result.symbols) == 1
    rows: list[tuple[str, ...]] = [
        (f"baseline {result.baseline}", *(count_text(s.baseline) for s in solutions)),
        (f"candidate {result.candidate}", *(s.count_text for s in solutions)),
        ("inequality", *(inequality(s, exact=False) for s in solutions)),
    ]
    if one:
        rows += [
            ("interval (exact)", *(_pieces_text(s, exact=True) for s in solutions)),
            ("interval", *(_pieces_text(s, exact=False) for s in solutions)),
            (_widths_label(result, solutions), *(_runs_text(s) for s in solutions)),
            ("count", *(_total_text(s) for s in solutions)),
            ("reduction achieved", *(_achieved_text(s) for s in solutions)),
        ]
    else:
        rows += [
            ("searched", *(", ".join(_bound_text(s, b) for b in s.bounds) for s in solutions)),
            ("combinations", *(_total_text(s) for s in solutions)),
        ]
    if one and solutions[0].method == "solveset":
        how = "the count is not a polynomial: the interval comes from sympy's solveset over the positive reals."
    elif one:
        how = "interval ends are exact real roots of the boundary polynomials; every integer is checked exactly."
    else:
        how = (f"for each {', '.join(result.symbols[:-1])} the feasible {result.symbols[-1]} come from exact "
               "integer root isolation; nothing is rounded.")
    notes = [f"{', '.join(result.symbols)}: positive integer width{'s' if not one else ''}; {how}"]
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
        (*(str(v) for v in row.outer), ", ".join(r.text for r in row.runs), _size_text(row.runs)) for row in s.rows
    )
    notes = [f"{_total_text(s)} combinations in total, in {s.row_count} rows"]
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


def _bound_text(s: Solution, b: Any) -> str:
    derived = " (derived)" if b.name in s.derived else ""
    return f"{b.name} in {b.text}{derived}"


def number_text(value: Fraction) -> str:
    """An exact rational for people: a short decimal when it terminates, else p/q and its decimal."""
    text = _frac(value)
    return text if "/" not in text else f"{text} (~{decimal_text(value, 4)})"


def inequality(s: Solution, *, exact: bool) -> str:
    """lower <= P <= upper, with exact rationals (JSON) or short decimals (people)."""
    show = _fraction_text if exact else number_text
    upper = f"{s.count_text} <= {show(s.upper)}"
    return upper if s.lower is None else f"{show(s.lower)} <= {upper}"


def _pieces_text(s: Solution, *, exact: bool) -> str:
    if not s.pieces:
        return "empty"
    return " U ".join(piece_text(p, exact) for p in s.pieces)


def _runs_text(s: Solution) -> str:
    return ", ".join(r.text for r in s.runs) or "none"


def _total_text(s: Solution) -> str:
    return "unbounded" if s.total is None else str(s.total)


def _achieved_text(s: Solution) -> str:
    runs = s.runs
    if not runs:
        return "-"
    k = s.symbols[0]
    first, last = runs[0].first, runs[-1].last
    parts = [f"{_reduction(s, first)} at {k}={first}"]
    if last is not None and last != first:
        parts.append(f"{_reduction(s, last)} at {k}={last}")
    return " .. ".join(parts)


def _reduction(s: Solution, width: int) -> str:
    return _pct(1 - s.value_at([width]) / s.baseline)


def _pct(value: Fraction) -> str:
    return f"{float(value) * 100:.2f}%"


# ----------------------------------------------------------------------------- the worked solution


def bottleneck_explanation(result: BottleneckResult, baseline: Any, candidate: Any) -> Explanation:
    """The solution written out like a worked homework answer (evaluations made with explain=True)."""
    macs = result.metric == "macs"
    steps: list[tuple[str, tuple[str, ...]]] = []
    for role, evaluation in (("Baseline", baseline), ("Candidate", candidate)):
        what = "MACs" if macs else "parameters"
        steps.append((f"{role} block {evaluation.name!r}: {what} per layer", _layer_lines(evaluation, macs)))
        steps.append((f"{role} total", _total_lines(evaluation, macs)))
    for s in result.solutions:
        steps.extend(_solution_steps(result, s))
    return tuple(steps)


def _layer_lines(evaluation: Any, macs: bool) -> tuple[str, ...]:
    lines = []
    prefix = "MACs =" if macs else "params ="
    for row in evaluation.rows:
        value = row.macs if macs else row.params
        formulas = [text for text in steps_text(row.steps) if text.startswith(prefix)]
        if not formulas and arith.equal(value, 0) is True:
            continue
        head = f"{row.path} {row.type}: "
        lines.append(head + (formulas[0] if formulas else f"{prefix} {arith.as_text(value)}"))
        if not macs and arith.equal(row.bias, 0) is not True:
            no_bias = arith.sub(row.params, row.bias)
            lines.append(f"    without bias: {_paren(row.params)} - {_paren(row.bias)} = {arith.as_text(no_bias)}")
    return tuple(lines)


def _total_lines(evaluation: Any, macs: bool) -> tuple[str, ...]:
    rows = evaluation.rows
    if macs:
        terms = [r.macs for r in rows if arith.equal(r.macs, 0) is not True]
        return (f"MACs = {_sum_text(terms)} = {arith.as_text(evaluation.macs)}",)
    with_bias = [r.params for r in rows if arith.equal(r.params, 0) is not True]
    no_bias = [arith.sub(r.params, r.bias) for r in rows if arith.equal(arith.sub(r.params, r.bias), 0) is not True]
    return (
        f"with bias: {_sum_text(with_bias)} = {arith.as_text(evaluation.params)}",
        f"without bias: {_sum_text(no_bias)} = {arith.as_text(evaluation.params_no_bias)}",
    )


def _sum_text(terms: list[Any]) -> str:
    return " + ".join(_paren(t) for t in terms) if terms else "0"


def _paren(value: Any) -> str:
    text = arith.as_text(value)
    return f"({text})" if (" + " in text or " - " in text) else text


def _solution_steps(result: BottleneckResult, s: Solution) -> list[tuple[str, tuple[str, ...]]]:
    mode = mode_name(s)
    mode = mode[0].upper() + mode[1:]
    p = "P(" + ", ".join(s.symbols) + ")"
    band = result.band
    lines = [f"{p} = {s.count_text}, baseline B = {s.baseline}"]
    if band.hi is None:
        lines.append(f"reduce by at least {_pct(band.lo)}: {p} <= (1 - {_frac(band.lo)})*B")
    else:
        lines.append(f"reduce by {band.text}: (1 - {_frac(band.hi)})*B <= {p} <= (1 - {_frac(band.lo)})*B")
    lines.append(inequality(s, exact=False))
    steps = [(f"{mode}: the inequality", tuple(lines))]
    if len(s.symbols) == 1:
        steps.append((f"{mode}: the roots", _root_lines(s)))
        steps.append((f"{mode}: the interval", _interval_lines(s)))
        steps.append((f"{mode}: integer widths", _integer_lines(s)))
    else:
        steps.append((f"{mode}: the search", _search_lines(s)))
    return steps


def _frac(value: Fraction) -> str:
    """An exact rational: a short decimal when it terminates, else p/q."""
    text = decimal_text(value, 6)
    return text if Fraction(text) == value else _fraction_text(value)


def _root_lines(s: Solution) -> tuple[str, ...]:
    k = sympy.Symbol(s.symbols[0], positive=True, integer=True)
    lines = []
    if s.method == "solveset":
        return (f"{s.count_text} is not a polynomial in {k}: solved with sympy's solveset over k > 0",)
    for b in s.boundaries:
        shifted = sympy.expand(s.count - as_rational(b.value))
        lines.append(f"{b.side} end ({percent(b.reduction)} reduction): {s.count_text} - {number_text(b.value)} = 0")
        poly = sympy.Poly(shifted, k)
        if poly.degree() == 2:
            a, bb, c = poly.all_coeffs()
            disc = bb * bb - 4 * a * c
            a_, b_, c_, d_ = (_frac(as_fraction(v)) for v in (a, bb, c, disc))
            lines.append(f"    a = {a_}, b = {b_}, c = {c_}")
            lines.append(f"    {k} = (-b +- sqrt(b^2 - 4ac)) / 2a = ({_frac(-as_fraction(bb))} +- sqrt({d_})) / {_frac(2 * as_fraction(a))}")
        elif poly.degree() < 1:
            lines.append(f"    no root: the count does not depend on {k}")
        for root in b.roots:
            value = float(root.evalf(30))
            verdict = "" if value > 0 else " (not positive: rejected)"
            lines.append(f"    {k} = {root} ~ {value:.4f}{verdict}")
        if poly.degree() >= 1 and not b.roots:
            lines.append("    no real root")
    return tuple(lines)


def _interval_lines(s: Solution) -> tuple[str, ...]:
    k = s.symbols[0]
    if not s.pieces:
        return (f"no real {k} > 0 satisfies the inequality",)
    lines = []
    for piece in s.pieces:
        lines.append(f"{k} in {piece_text(piece, True)}")
        lines.append(f"  ~ {piece_text(piece, False)}")
    if len(s.pieces) == 1 and s.boundaries and all(c >= 0 for c in sympy.Poly(s.count).coeffs()):
        lines.insert(0, f"the count grows with {k} > 0, so the band is one interval between the positive roots")
    return tuple(lines)


def _integer_lines(s: Solution) -> tuple[str, ...]:
    k = s.symbols[0]
    runs = s.runs
    if not runs:
        return (f"no integer {k} lies in the interval",)
    step = s.multiple_of
    plural = "s" if s.total != 1 else ""
    multiples = f", multiples of {step}" if step != 1 else ""
    lines = [f"{k} = " + ", ".join(r.text for r in runs) + f" ({_total_text(s)} width{plural}{multiples})"]
    first, last = runs[0].first, runs[-1].last
    widths = [first - step, first] + ([] if last is None else [last, last + step])
    for width in dict.fromkeys(w for w in widths if w >= 1):
        value = s.value_at([width])
        inside = (s.lower is None or value >= s.lower) and value <= s.upper
        verdict = "inside the band" if inside else "outside the band"
        lines.append(f"check {k} = {width}: P = {_fraction_text(value)}, reduction {_pct(1 - value / s.baseline)} ({verdict})")
    return tuple(lines)


def _search_lines(s: Solution) -> tuple[str, ...]:
    inner = s.symbols[-1]
    outer = ", ".join(s.symbols[:-1])
    lines = []
    for b in s.bounds:
        if b.name in s.derived:
            lines.append(
                f"{b.name} <= {b.hi}: the count grows with every width, and with the others at their smallest "
                f"it exceeds the upper bound beyond {b.name} = {b.hi}"
            )
        else:
            lines.append(f"{b.name} in {b.text}")
    if s.multiple_of != 1:
        lines.append(f"only multiples of {s.multiple_of}")
    lines.append(
        f"for each {outer}, P is a polynomial in {inner} alone: its integer solutions come from exact "
        f"root isolation (integer bisection between the roots of its derivative)"
    )
    lines.append(f"{_total_text(s)} combinations satisfy the band")
    return tuple(lines)
