"""Rendering of `cnncalc shape`: the JSON document and the table of input and output shapes."""

from __future__ import annotations

from typing import Any

from cnncalc.analysis.evaluate import Evaluation, shape_text
from cnncalc.analysis.fold import fold_all
from cnncalc.render.cells import (
    LAYER_COLUMNS,
    Shapes,
    ShapeTexts,
    condition_notes,
    conditions_json,
    explanation,
    inputs_text,
    layer_cells,
    shape_json,
    title_text,
)
from cnncalc.render.explain import steps_text
from cnncalc.render.report import Report, Table


def shape_document(evaluations: list[Evaluation], depth: int | None = None) -> dict[str, Any]:
    """The `shape` JSON document (DESIGN.md keys, plus `blocks` for standalone blocks);
    `depth`: block calls below it folded (`analysis.fold`)."""
    evaluations = fold_all(evaluations, depth)
    first, last = evaluations[0], evaluations[-1]
    document: dict[str, Any] = {
        "name": evaluations[0].spec_name,
        "input": shape_json(first.shown(first.input)),
        "output": shape_json(last.shown(last.output)),
        "layers": [item for e in evaluations for item in _shape_rows(e)],
        "conditions": conditions_json(evaluations),
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


def shape_documents(evaluation_sets: list[list[Evaluation]], depth: int | None = None) -> dict[str, Any]:
    """One spec's `shape` document, or {"specs": [...]} for several (as `params` does)."""
    if len(evaluation_sets) == 1:
        return shape_document(evaluation_sets[0], depth)
    return {"specs": [shape_document(s, depth) for s in evaluation_sets]}


def _shape_rows(e: Evaluation) -> list[dict[str, Any]]:
    shapes = Shapes(e)
    items = []
    for row in e.rows:
        item: dict[str, Any] = {"path": row.path, "module": row.module, "type": row.type, "input": shapes[row.inputs[0]], "output": shapes[row.output]}
        if len(row.inputs) > 1:
            item["inputs"] = [shapes[s] for s in row.inputs]
        if row.steps:
            item["steps"] = list(steps_text(row.steps))
        items.append(item)
    return items


def shape_report(evaluations: list[Evaluation], *, explain: bool, depth: int | None = None) -> Report:
    """The `shape` tables: one row per layer (per block call below `depth`), input and output
    shapes; the working (--explain) is every layer's."""
    tables = []
    for e in fold_all(evaluations, depth):
        texts = ShapeTexts(e)
        rows = tuple((*layer_cells(r), r.type, inputs_text(texts, r), texts[r.output]) for r in e.rows)
        notes = (f"output {shape_text(e.shown(e.output))}", *condition_notes(e.conditions))
        tables.append(Table(title_text(e), (*LAYER_COLUMNS, "type", "input", "output"), rows, (False,) * 5, notes, csv_only=("layer",), spec=e.spec_name))
    return Report(tuple(tables), explanation(evaluations) if explain else ())
