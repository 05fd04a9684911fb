"""Rendering: evaluations -> JSON documents and neutral tables (drawn by `output.py`).

The core never formats; this module never computes. Tables are plain data so that the same
report can be drawn as a rich table, Markdown or CSV.
"""

from __future__ import annotations

from typing import Any

from cnncalc import arith
from cnncalc.analysis.evaluate import Evaluation, Row, shape_text
from cnncalc.layers import Shape
from cnncalc.records import record
from cnncalc.render.explain import steps_text


@record
class Table:
    """A titled table of text cells; `numeric` marks right-aligned columns."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    notes: tuple[str, ...] = ()
    kind: str = "layers"  # "layers" tables are the per-layer ones that CSV concatenates


@record
class Report:
    """What a command prints for people: tables, then an optional worked explanation."""

    tables: tuple[Table, ...]
    explanation: tuple[tuple[str, tuple[str, ...]], ...] = ()


def shape_json(shape: Shape) -> list[Any]:
    """A shape for JSON: ints, symbolic sizes as strings."""
    return [arith.as_json(d) for d in shape]


class _Shapes(dict):  # type: ignore[type-arg]
    """Shapes of one evaluation as shown in JSON, memoised: the rows of repeated blocks share
    their shape tuples, so a 100,000-row document converts a few dozen shapes. The lists are
    shared between rows: documents are written, never modified."""

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__()
        self.drop = 0 if evaluation.batch_in_shapes else 1

    def __missing__(self, shape: Shape) -> list[Any]:
        shown = self[shape] = shape_json(shape[self.drop:])
        return shown


def _count_json(value: Any) -> Any:
    return value if type(value) is int else arith.as_json(value)


def count_text(value: Any) -> str:
    """An integer with thousands separators; symbolic counts as their expanded polynomial."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return arith.as_text(value)


def _ratio(value: Any, base: Any) -> Any:
    if arith.equal(base, 0) is True:
        return None
    if arith.is_number(value) and arith.is_number(base):
        return float(value) / float(base)
    return arith.true_div(value, base)


def _percent(ratio: Any) -> str:
    if ratio is None:
        return "-"
    if isinstance(ratio, float):
        return f"{(1 - ratio) * 100:.2f}%"
    return arith.as_text(arith.sub(1, ratio))


def _ratio_text(ratio: Any) -> str:
    if ratio is None:
        return "-"
    if isinstance(ratio, float):
        return f"{ratio:.4f}"
    return _fraction_text(ratio)


def _fraction_text(value: Any) -> str:
    """A symbolic ratio as one fraction, (9*k**2 + 130*k + 64)/73856, rather than expanded terms."""
    if not arith.is_symbolic(value):
        return arith.as_text(value)
    import sympy

    return str(sympy.together(sympy.expand(value)))


def _ratio_json(value: Any) -> Any:
    return _fraction_text(value) if arith.is_symbolic(value) else arith.as_json(value)


# ----------------------------------------------------------------------------- shape


def shape_document(evaluations: list[Evaluation]) -> dict[str, Any]:
    """The `shape` JSON document (DESIGN.md keys, plus `blocks` for standalone blocks)."""
    first, last = evaluations[0], evaluations[-1]
    document: dict[str, Any] = {
        "name": evaluations[0].spec_name,
        "input": shape_json(first.shown(first.input)),
        "output": shape_json(last.shown(last.output)),
        "layers": [item for e in evaluations for item in _shape_rows(e)],
    }
    if len(evaluations) > 1 or evaluations[0].standalone:
        document["blocks"] = [
            {
                "name": e.name,
                "input": shape_json(e.shown(e.input)),
                "output": shape_json(e.shown(e.output)),
                "layers": _shape_rows(e),
            }
            for e in evaluations
        ]
    return document


def shape_documents(evaluation_sets: list[list[Evaluation]]) -> dict[str, Any]:
    """One spec's `shape` document, or {"specs": [...]} for several (as `params` does)."""
    if len(evaluation_sets) == 1:
        return shape_document(evaluation_sets[0])
    return {"specs": [shape_document(s) for s in evaluation_sets]}


def _shape_rows(e: Evaluation) -> list[dict[str, Any]]:
    shapes = _Shapes(e)
    items = []
    for row in e.rows:
        item: dict[str, Any] = {"path": row.path, "type": row.type, "input": shapes[row.inputs[0]], "output": shapes[row.output]}
        if len(row.inputs) > 1:
            item["inputs"] = [shapes[s] for s in row.inputs]
        if row.steps:
            item["steps"] = list(steps_text(row.steps))
        items.append(item)
    return items


def shape_report(evaluations: list[Evaluation], *, explain: bool) -> Report:
    """The `shape` tables: one row per layer, input and output shapes."""
    tables = []
    for e in evaluations:
        rows = tuple(
            (layer_cell(r), r.type, shape_text(e.shown(r.input)), shape_text(e.shown(r.output))) for r in e.rows
        )
        notes = (f"output {shape_text(e.shown(e.output))}",)
        tables.append(Table(title_text(e), ("layer", "type", "input", "output"), rows, (False, False, False, False), notes))
    return Report(tuple(tables), _explanation(evaluations) if explain else ())


def title_text(e: Evaluation) -> str:
    """A table's title: the evaluation's name, input and batch size."""
    batch = f", batch {e.batch}" if e.batch != 1 and not e.batch_in_shapes else ""
    return f"{e.name}: input {shape_text(e.shown(e.input))}{batch}"


def layer_cell(row: Row) -> str:
    """A row's path, indented by its depth."""
    return "  " * row.depth + row.path


def step_head(e: Evaluation, row: Row) -> str:
    """The heading of a row's worked steps: path, type, input and output shapes."""
    return f"{row.path} {row.type}: {shape_text(e.shown(row.input))} -> {shape_text(e.shown(row.output))}"


def _explanation(evaluations: list[Evaluation]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((step_head(e, r), steps_text(r.steps)) for e in evaluations for r in e.rows)


# ----------------------------------------------------------------------------- params


def params_document(evaluation_sets: list[list[Evaluation]]) -> dict[str, Any]:
    """The `params` JSON: one spec's document, or {"specs": [...], "comparison": [...]}."""
    documents = [_params_one(evals) for evals in evaluation_sets]
    if len(documents) == 1:
        document = documents[0]
        if len(evaluation_sets[0]) > 1:
            document["comparison"] = _comparison_json(evaluation_sets[0])
        return document
    return {"specs": documents, "comparison": _comparison_json([_merged(e) for e in evaluation_sets])}


def _params_one(evaluations: list[Evaluation]) -> dict[str, Any]:
    total = arith.total(e.params for e in evaluations)
    bias = arith.total(e.bias for e in evaluations)
    buffers = arith.total(e.buffers for e in evaluations)
    macs = arith.total(e.macs for e in evaluations)
    batch = evaluations[0].batch
    return {
        "name": evaluations[0].spec_name,
        "total": arith.as_json(total),
        "trainable": arith.as_json(total),
        "buffers": arith.as_json(buffers),
        "total_no_bias": arith.as_json(arith.sub(total, bias)),
        "bias_params": arith.as_json(bias),
        "macs": arith.as_json(macs),
        "flops": arith.as_json(arith.mul(2, macs)),
        "batch": batch,
        "output": shape_json(evaluations[-1].shown(evaluations[-1].output)),
        "blocks": [
            {
                "name": g.name,
                "template": g.template,
                "params": arith.as_json(g.params),
                "params_no_bias": arith.as_json(g.params_no_bias),
                "bias_params": arith.as_json(g.bias),
                "buffers": arith.as_json(g.buffers),
                "macs": arith.as_json(g.macs),
                "layers": g.layers,
            }
            for e in evaluations
            for g in e.groups
        ],
        "layers": [item for e in evaluations for item in _params_rows(e)],
    }


def _params_rows(e: Evaluation) -> list[dict[str, Any]]:
    shapes = _Shapes(e)
    items = []
    for r in e.rows:
        item: dict[str, Any] = {
            "path": r.path,
            "type": r.type,
            "output": shapes[r.output],
            "params": _count_json(r.params),
            "bias_params": _count_json(r.bias),
            "buffers": _count_json(r.buffers),
            "macs": _count_json(r.macs),
        }
        if r.steps:
            item["steps"] = list(steps_text(r.steps))
        items.append(item)
    return items


@record
class _Item:
    name: str
    params: Any
    bias: Any


def _merged(evaluations: list[Evaluation]) -> _Item:
    return _Item(
        evaluations[0].spec_name,
        arith.total(e.params for e in evaluations),
        arith.total(e.bias for e in evaluations),
    )


def _comparison_json(items: list[Any]) -> list[dict[str, Any]]:
    """Each item (an Evaluation or a merged spec: name, params, bias) against the first."""
    base = items[0]
    result = []
    for item in items:
        no_bias = arith.sub(item.params, item.bias)
        ratio = _ratio(item.params, base.params)
        ratio_no_bias = _ratio(no_bias, arith.sub(base.params, base.bias))
        result.append(
            {
                "name": item.name,
                "params": arith.as_json(item.params),
                "params_no_bias": arith.as_json(no_bias),
                "ratio": _ratio_json(ratio),
                "reduction": _ratio_json(None if ratio is None else arith.sub(1, ratio)),
                "ratio_no_bias": _ratio_json(ratio_no_bias),
                "reduction_no_bias": _ratio_json(None if ratio_no_bias is None else arith.sub(1, ratio_no_bias)),
            }
        )
    return result


def params_report(evaluation_sets: list[list[Evaluation]], *, explain: bool) -> Report:
    """The `params` tables: per layer, per block, totals, and a comparison when several."""
    tables: list[Table] = []
    for evaluations in evaluation_sets:
        for e in evaluations:
            has_buffers = any(r.buffers for r in e.rows)
            columns = ("layer", "type", "output", "params", "bias")
            if has_buffers:
                columns += ("buffers",)
            rows = []
            for r in e.rows:
                cells = (layer_cell(r), r.type, shape_text(e.shown(r.output)), count_text(r.params), count_text(r.bias))
                rows.append(cells + ((count_text(r.buffers),) if has_buffers else ()))
            notes = (
                f"params {count_text(e.params)} (trainable), without bias {count_text(e.params_no_bias)}, "
                f"bias {count_text(e.bias)}; buffers {count_text(e.buffers)} (running statistics, not params)",
            )
            tables.append(Table(title_text(e), columns, tuple(rows), (False, False, False) + (True,) * (len(columns) - 3), notes))
            groups = () if e.standalone else e.groups
            if groups:
                tables.append(
                    Table(
                        f"{e.name}: blocks",
                        ("block", "layers", "params", "no bias", "buffers"),
                        tuple(
                            (g.name, str(g.layers), count_text(g.params), count_text(g.params_no_bias), count_text(g.buffers))
                            for g in groups
                        ),
                        (False, True, True, True, True),
                        kind="blocks",
                    )
                )
    things: list[Any] = (
        [_merged(s) for s in evaluation_sets] if len(evaluation_sets) > 1 else list(evaluation_sets[0])
    )
    if len(things) > 1:
        comparison = _comparison_json(things)
        tables.append(
            Table(
                "comparison (against the first)",
                ("name", "params", "no bias", "ratio", "reduction", "reduction (no bias)"),
                tuple(
                    (
                        c["name"],
                        count_text(c["params"]),
                        count_text(c["params_no_bias"]),
                        c["ratio"] if isinstance(c["ratio"], str) else _ratio_text(c["ratio"]),
                        _percent(c["ratio"]) if not isinstance(c["ratio"], str) else c["reduction"],
                        _percent(c["ratio_no_bias"]) if not isinstance(c["ratio_no_bias"], str) else c["reduction_no_bias"],
                    )
                    for c in comparison
                ),
                (False, True, True, True, True, True),
                kind="comparison",
            )
        )
    return Report(tuple(tables), _explanation([e for s in evaluation_sets for e in s]) if explain else ())


def csv_rows(report: Report) -> list[list[str]]:
    """CSV: every per-layer table of a report in one sheet, numbers without separators."""
    tables = [t for t in report.tables if t.kind == "layers"] or list(report.tables[:1])
    columns: list[str] = []
    numeric: dict[str, bool] = {}
    for table in tables:
        for column, is_number in zip(table.columns, table.numeric):
            if column not in columns:
                columns.append(column)
                numeric[column] = is_number
    rows = [columns]
    for table in tables:
        for row in table.rows:
            cells = dict(zip(table.columns, row))
            rows.append(
                [
                    cells.get(c, "").strip().replace(",", "") if numeric[c] else cells.get(c, "").strip()
                    for c in columns
                ]
            )
    return rows


# ----------------------------------------------------------------------------- zoo


def zoo_document(entries: list[Any]) -> list[dict[str, Any]]:
    """`cnncalc zoo --format json`: one object per shipped spec."""
    return [
        {
            "name": e.name,
            "title": e.title,
            "input": shape_json(e.input),
            "output": shape_json(e.output),
            "params": arith.as_json(e.params),
            "buffers": arith.as_json(e.buffers),
            "macs": arith.as_json(e.macs),
            "standalone_blocks": e.blocks,
        }
        for e in entries
    ]


def zoo_report(entries: list[Any]) -> Report:
    """`cnncalc zoo` as a table; blocks-only specs show their block count instead of totals."""
    rows = tuple(
        (
            e.name,
            shape_text(e.input),
            shape_text(e.output),
            count_text(e.params) if e.params is not None else f"({e.blocks} blocks)",
            count_text(e.macs) if e.macs is not None else "-",
        )
        for e in entries
    )
    return Report(
        (
            Table(
                "shipped specs (use the name as SPEC: cnncalc params resnet50)",
                ("name", "input", "output", "params", "MACs"),
                rows,
                (False, False, False, True, True),
            ),
        )
    )
