"""Rendering of `cnncalc solve`: the tables (the feasible set as runs, the optimum marked), the
JSON document, the worked explanation (`--explain`) and the no-answer sentence.

The solver returns numbers (`cnncalc.solve.search.SolveResult`); every word is written here.
Imported only by the `solve` command (it uses sympy through `solve`).
"""

from __future__ import annotations

from typing import Any

from cnncalc import arith
from cnncalc.errors import NoAnswerError
from cnncalc.explain import Step
from cnncalc.render.bottleneck import bound_text, end_text, piece_text, run_text
from cnncalc.render.cells import condition_notes, conditions_json
from cnncalc.render.explain import steps_text
from cnncalc.render.numbers import count_text, fraction_text
from cnncalc.render.report import Report, Table, Working
from cnncalc.solve.problem import Setup
from cnncalc.solve.results import Piece, Row, Run
from cnncalc.solve.search import Optimum, SolveResult

METHODS = {
    "roots": "one symbol, every compared value a polynomial in it: interval ends are exact real roots, "
    "integers found by exact integer root isolation",
    "evaluation": "every point of the searched grid tested in exact integer arithmetic (compiled from the expressions)",
}
HOW = {
    "given": "--range",
    "conditions": "the validity conditions",
    "constraint": "a constraint that grows with every symbol",
    "roots": "unbounded: solved exactly",
}


def value_text(value: Any) -> str:
    """An exact value for people: ints with separators, Fractions as p/q, expressions as written."""
    if isinstance(value, arith.Fraction):
        return fraction_text(value)
    return count_text(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, arith.Fraction):
        return fraction_text(value)
    return value if type(value) is int else arith.as_json(value)


def _point(names: tuple[str, ...], point: tuple[int, ...]) -> str:
    return ", ".join(f"{n}={v}" for n, v in zip(names, point))


def _searched(r: SolveResult) -> str:
    how = {d.name: d.how for d in r.derived}
    parts = []
    for b, step in zip(r.bounds, r.steps):
        text = f"{b.name} in {bound_text(b)}" + (f" step {step}" if step != 1 else "")
        if b.name in how and how[b.name] != "given":
            text += f" (from {HOW[how[b.name]]})"
        parts.append(text)
    return "; ".join(parts)


def _runs_text(runs: tuple[Run, ...]) -> str:
    return ", ".join(run_text(run) for run in runs) or "none"


def _pieces_text(pieces: tuple[Piece, ...], *, exact: bool | None) -> str:
    return " U ".join(piece_text(p, exact) for p in pieces) or "empty"


def _total_text(r: SolveResult) -> str:
    return "unbounded" if r.total is None else f"{r.total:,}"


def _optimum_label(o: Optimum) -> str:
    return {"max": "maximum of ", "min": "minimum of "}.get(o.sense, "Pareto front of ") + ", ".join(o.texts)


# ----------------------------------------------------------------------------- JSON


def solve_document(setup: Setup, r: SolveResult, explanation: Working = ()) -> dict[str, Any]:
    one = len(r.symbols) == 1
    document: dict[str, Any] = {
        "name": setup.spec_name,
        "network": setup.network,
        "where": list(setup.wheres),
        "constraints": [{"constraint": c.text, "op": c.op, "lhs": _json_value(c.lhs), "rhs": _json_value(c.rhs)} for c in r.comparisons],
        "metrics": {name: _json_value(value) for name, value in setup.metrics},
        "symbols": list(r.symbols),
        "range": {b.name: [b.lo, b.hi] for b in r.bounds},
        "range_from": {d.name: d.how for d in r.derived},
        "multiple_of": {b.name: step for b, step in zip(r.bounds, r.steps)},
        "method": r.method,
        "points_searched": r.points_searched,
        "count": r.total,
        "points": [list(p) for p in r.listed],
        "truncated": r.truncated,
        "conditions": conditions_json(stated=setup.stated),
    }
    if r.method == "roots":
        document["intervals"] = [
            {"interval": [p.lo.value, p.hi.value], "exact": [end_text(p.lo), end_text(p.hi)], "closed": [p.lo.closed, p.hi.closed]} for p in r.pieces
        ]
        document["roots"] = [{"constraint": text, "roots": [str(x) for x in found]} for text, found in r.roots]
    if one:
        document["runs"] = [_run_json(run) for row in r.rows for run in row.runs]
    else:
        document["rows"] = [
            {**dict(zip(r.symbols[:-1], row.outer)), r.symbols[-1]: [_run_json(run) for run in row.runs]} for row in r.rows[: setup.question.limit]
        ]
        document["row_count"] = r.row_count
    if r.optimum is not None:
        o = r.optimum
        item: dict[str, Any] = {"sense": o.sense, "objective": list(o.texts), "count": o.count}
        if o.sense == "pareto":
            item["front"] = [{"point": dict(zip(r.symbols, p)), "values": [_json_value(v) for v in vs]} for p, vs in zip(o.points, o.values)]
        else:
            item["value"] = _json_value(o.value)
            item["points"] = [dict(zip(r.symbols, p)) for p in o.points]
        document["optimum"] = item
    if explanation:
        document["explanation"] = [{"step": head, "lines": list(lines)} for head, lines in explanation]
    return document


def _run_json(run: Run) -> list[int | None]:
    return [run.first, run.last] if run.step == 1 else [run.first, run.last, run.step]


# ----------------------------------------------------------------------------- tables


def solve_report(setup: Setup, r: SolveResult, explanation: Working = ()) -> Report:
    one = len(r.symbols) == 1
    rows: list[tuple[str, str]] = [("constraint", c) for c in setup.wheres]
    rows += [(name, value_text(value)) for name, value in setup.metrics]
    rows.append(("searched", _searched(r)))
    if r.method == "roots":
        rows.append(("real solutions (exact)", _pieces_text(r.pieces, exact=True)))
        rows.append(("real solutions", _pieces_text(r.pieces, exact=False)))
    optimal = set(r.optimum.points) if r.optimum is not None else set()
    if one:
        rows.append((f"integer {r.symbols[0]}", _runs_text(tuple(run for row in r.rows for run in row.runs))))
    rows.append(("count", _total_text(r)))
    if r.optimum is not None:
        o = r.optimum
        if o.sense == "pareto":
            rows.append((_optimum_label(o), f"{o.count} point{'s' if o.count != 1 else ''} (table below)"))
        elif o.count:
            at = "; ".join(_point(r.symbols, p) for p in o.points) + (f" ... ({o.count} in all)" if o.count > len(o.points) else "")
            rows.append((_optimum_label(o), f"{value_text(o.value)} at {at}"))
    notes = [f"{', '.join(r.symbols)}: positive integer{'s' if not one else ''}; {METHODS[r.method]}"
             + (f" ({r.points_searched:,} points)" if r.points_searched is not None else "") + "."]
    if any(name.split(".")[-1] == "train_memory" for name, _ in setup.metrics):
        from cnncalc.analysis.train import NOT_MODELLED

        notes.append(f"train_memory is a lower bound ({NOT_MODELLED}): a value found to fit may not fit in practice.")
    notes.extend(condition_notes(setup.stated))
    title = f"{setup.spec_name}: solve for {', '.join(r.symbols)}"
    tables = [Table(title, ("", "answer"), tuple(rows), (False, False), tuple(notes), kind="solve")]
    if not one:
        label = "on the front" if r.optimum is not None and r.optimum.sense == "pareto" else "optimum"
        tables.append(_rows_table(r, optimal, setup.question.limit, label))
    if r.optimum is not None and r.optimum.sense == "pareto":
        tables.append(_pareto_table(r, r.optimum))
    return Report(tuple(tables), explanation)


def _rows_table(r: SolveResult, optimal: set[tuple[int, ...]], limit: int, label: str) -> Table:
    def marked(row: Row) -> str:
        best = [p[-1] for p in optimal if p[:-1] == row.outer]
        return (f"<- {label} at " + ", ".join(f"{r.symbols[-1]}={v}" for v in sorted(best))) if best else ""

    shown = list(r.rows[:limit])
    shown += [row for row in r.rows[limit:] if marked(row)][:limit]  # the optimum's rows, always
    rows = tuple(
        (*(str(v) for v in row.outer), _runs_text(row.runs), str(sum(run.size or 0 for run in row.runs)), marked(row)) for row in shown
    )
    notes = [f"{_total_text(r)} feasible points in {r.row_count:,} rows"]
    if len(shown) < r.row_count:
        notes.append(f"showing the first {min(limit, r.row_count)} rows and the marked ones (raise --limit for more)")
    return Table(
        f"feasible {', '.join(r.symbols)}",
        (*r.symbols[:-1], r.symbols[-1], "count", ""),
        rows,
        (*(True for _ in r.symbols[:-1]), False, True, False),
        tuple(notes) if rows else ("nothing feasible",),
        kind="solve",
    )


def _pareto_table(r: SolveResult, o: Optimum) -> Table:
    rows = tuple((*(str(v) for v in p), *(value_text(v) for v in vs)) for p, vs in zip(o.points, o.values))
    notes = [f"{o.count} points on the front (both objectives minimized; write -EXPR to maximize one)"]
    if o.count > len(o.points):
        notes.append(f"showing the first {len(o.points)} (raise --limit for more)")
    return Table(f"Pareto front of {', '.join(o.texts)}", (*r.symbols, *o.texts), rows, (True,) * (len(r.symbols) + len(o.texts)), tuple(notes), kind="solve")


# ----------------------------------------------------------------------------- explanation


def solve_explanation(setup: Setup, r: SolveResult) -> Working:
    """The worked solution: the metrics as formulas, each comparison as `difference OP 0`, the
    conditions, the ranges and how they were found, the method, the roots."""
    metrics = tuple(Step(name, result=value) for name, value in setup.metrics)
    comparisons = tuple(
        Step(c.text, note=f"holds when {arith.as_text(c.difference)} {c.op} 0") for c in r.comparisons
    )
    parts: list[tuple[str, tuple[str, ...]]] = [
        ("metrics (built once, symbolically)", steps_text(metrics)),
        ("constraints", steps_text(comparisons)),
    ]
    if setup.stated:
        parts.append(("validity conditions (kept among the tests)", tuple(f"{s.text}" for s in setup.stated)))
    ranges = []
    for b, step in zip(r.bounds, r.steps):
        how = next((d.how for d in r.derived if d.name == b.name), "")
        ranges.append(f"{b.name}: {bound_text(b)}" + (f" step {step}" if step != 1 else "") + (f" ({HOW[how]})" if how else " (from 1, no upper bound)"))
    parts.append(("searched", tuple(ranges)))
    method = [METHODS[r.method] + "."]
    for text, found in r.roots:
        method.append(f"{text}: boundary roots " + (", ".join(f"{x} (~{float(x.evalf(12)):.4f})" for x in found) or "none"))
    if r.points_searched is not None:
        method.append(f"{r.points_searched:,} grid points tested; {_total_text(r)} feasible.")
    parts.append(("how the set was found", tuple(method)))
    return tuple(parts)


# ----------------------------------------------------------------------------- no answer


def no_answer(setup: Setup, r: SolveResult) -> NoAnswerError:
    """One sentence: nothing is feasible, where it was searched, and what the reals allow."""
    names = ", ".join(r.symbols)
    where = "; ".join(setup.wheres)
    real = ""
    if r.method == "roots":
        real = (f"; over the reals the constraints hold for {names} in {_pieces_text(r.pieces, exact=None)}, which holds no admissible integer"
                if r.pieces else f"; no real {names} > 0 meets them")
    ranges = ", ".join(f"{b.name} in {bound_text(b)}" + (f" step {step}" if step != 1 else "") for b, step in zip(r.bounds, r.steps))
    return NoAnswerError(
        f"no integer {names} meets {where} (searching {ranges}){real}",
        hint="loosen a constraint, widen --range or drop --multiple-of",
    )


__all__ = ["no_answer", "piece_text", "solve_document", "solve_explanation", "solve_report"]
