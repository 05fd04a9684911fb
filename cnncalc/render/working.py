"""The worked solution of `cnncalc bottleneck --explain`: both blocks' counts layer by layer,
the inequality, its boundary roots, the interval and the integer widths, like a homework answer."""

from __future__ import annotations

from typing import Any

import sympy

from cnncalc import arith
from cnncalc.analysis.evaluate import Evaluation
from cnncalc.render.bottleneck import (
    band_text,
    bound_text,
    inequality,
    mode_name,
    piece_text,
    polynomial_text,
    run_text,
    total_text,
)
from cnncalc.render.explain import step_text
from cnncalc.render.numbers import approx_text, fixed_text, fraction_text, percent, percent_fixed, rational_text, value_text
from cnncalc.render.report import Working
from cnncalc.solve.rational import as_fraction, as_rational
from cnncalc.solve.results import BottleneckResult, Solution


def bottleneck_explanation(result: BottleneckResult, baseline: Evaluation, candidate: Evaluation) -> Working:
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


def _layer_lines(evaluation: Evaluation, macs: bool) -> tuple[str, ...]:
    lines = []
    what = "MACs" if macs else "params"
    for row in evaluation.rows:
        value = row.macs if macs else row.params
        formulas = [step_text(step) for step in row.steps if step.lhs == what]
        if not formulas and arith.equal(value, 0) is True:
            continue
        head = f"{row.path} {row.type}: "
        lines.append(head + (formulas[0] if formulas else f"{what} = {value_text(value)}"))
        if not macs and arith.equal(row.bias, 0) is not True:
            no_bias = arith.sub(row.params, row.bias)
            lines.append(f"    without bias: {_paren(row.params)} - {_paren(row.bias)} = {value_text(no_bias)}")
    return tuple(lines)


def _total_lines(evaluation: Evaluation, macs: bool) -> tuple[str, ...]:
    rows = evaluation.rows
    if macs:
        terms = [r.macs for r in rows if arith.equal(r.macs, 0) is not True]
        return (f"MACs = {_sum_text(terms)} = {value_text(evaluation.macs)}",)
    with_bias = [r.params for r in rows if arith.equal(r.params, 0) is not True]
    no_bias = [arith.sub(r.params, r.bias) for r in rows if arith.equal(arith.sub(r.params, r.bias), 0) is not True]
    return (
        f"with bias: {_sum_text(with_bias)} = {value_text(evaluation.params)}",
        f"without bias: {_sum_text(no_bias)} = {value_text(evaluation.params_no_bias)}",
    )


def _sum_text(terms: list[Any]) -> str:
    return " + ".join(_paren(t) for t in terms) if terms else "0"


def _paren(value: Any) -> str:
    text = value_text(value)
    return f"({text})" if (" + " in text or " - " in text) else text


def _solution_steps(result: BottleneckResult, s: Solution) -> list[tuple[str, tuple[str, ...]]]:
    mode = mode_name(s)
    mode = mode[0].upper() + mode[1:]
    p = "P(" + ", ".join(s.symbols) + ")"
    band = result.band
    lines = [f"{p} = {polynomial_text(s)}, baseline B = {s.baseline}"]
    if band.hi is None:
        lines.append(f"reduce by at least {percent_fixed(band.lo)}: {p} <= (1 - {rational_text(band.lo)})*B")
    else:
        lines.append(f"reduce by {band_text(band)}: (1 - {rational_text(band.hi)})*B <= {p} <= (1 - {rational_text(band.lo)})*B")
    lines.append(inequality(s, exact=False))
    steps = [(f"{mode}: the inequality", tuple(lines))]
    if len(s.symbols) == 1:
        steps.append((f"{mode}: the roots", _root_lines(s)))
        if s.method != "evaluation":
            steps.append((f"{mode}: the interval", _interval_lines(s)))
        steps.append((f"{mode}: integer widths", _integer_lines(s, result.conditions)))
    else:
        steps.append((f"{mode}: the search", _search_lines(s)))
    return steps


def _root_lines(s: Solution) -> tuple[str, ...]:
    k = sympy.Symbol(s.symbols[0], positive=True, integer=True)
    lines = []
    if s.method == "evaluation":
        return (f"{polynomial_text(s)} is not a polynomial in {k}: evaluated exactly at each integer {k} of the range",)
    for b in s.boundaries:
        shifted = sympy.expand(s.count - as_rational(b.value))
        lines.append(f"{b.side} end ({percent(b.reduction)} reduction): {polynomial_text(s)} - {approx_text(b.value)} = 0")
        poly = sympy.Poly(shifted, k)
        if poly.degree() == 2:
            a, bb, c = poly.all_coeffs()
            disc = bb * bb - 4 * a * c
            a_, b_, c_, d_ = (rational_text(as_fraction(v)) for v in (a, bb, c, disc))
            lines.append(f"    a = {a_}, b = {b_}, c = {c_}")
            lines.append(f"    {k} = (-b +- sqrt(b^2 - 4ac)) / 2a = ({rational_text(-as_fraction(bb))} +- sqrt({d_})) / {rational_text(2 * as_fraction(a))}")
        elif poly.degree() < 1:
            lines.append(f"    no root: the count does not depend on {k}")
        for root in b.roots:
            value = float(root.evalf(30))
            verdict = "" if value > 0 else " (not positive: rejected)"
            lines.append(f"    {k} = {root} ~ {fixed_text(value)}{verdict}")
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


def _integer_lines(s: Solution, stated: tuple[Any, ...]) -> tuple[str, ...]:
    k = s.symbols[0]
    runs = s.runs
    conditions = [c for line in stated for c in line.conditions]
    valid_only = [f"valid widths only: {'; '.join(line.text for line in stated)}"] if stated else []
    if not runs:
        return (*valid_only, f"no valid integer {k} meets the band" if stated else f"no integer {k} lies in the interval")
    step = s.multiple_of
    plural = "s" if s.total != 1 else ""
    multiples = f", multiples of {step}" if step != 1 else ""
    lines = [*valid_only, f"{k} = " + ", ".join(run_text(r) for r in runs) + f" ({total_text(s)} width{plural}{multiples})"]
    first, last = runs[0].first, runs[-1].last
    widths = [first - step, first] + ([] if last is None else [last, last + step])
    for width in dict.fromkeys(w for w in widths if w >= 1):
        value = s.value_at([width])
        inside = (s.lower is None or value >= s.lower) and value <= s.upper
        verdict = "inside the band" if inside else "outside the band"
        failed = [c.reason for c in conditions if not c.holds_at(dict.fromkeys(c.symbols, width))]
        if failed:
            verdict += "; not valid: " + ", ".join(failed)
        lines.append(f"check {k} = {width}: P = {fraction_text(value)}, reduction {percent_fixed(1 - value / s.baseline)} ({verdict})")
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
            lines.append(f"{b.name} in {bound_text(b)}")
    if s.multiple_of != 1:
        lines.append(f"only multiples of {s.multiple_of}")
    lines.append(
        f"for each {outer}, P is a polynomial in {inner} alone: its integer solutions come from exact "
        f"root isolation (integer bisection between the roots of its derivative)"
    )
    lines.append(f"{total_text(s)} combinations satisfy the band")
    return tuple(lines)
