"""Rendering of `cnncalc params`: the JSON document and the tables per layer, per block and
compared (several specs or blocks, against the first)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from cnncalc import arith
from cnncalc.analysis.evaluate import Evaluation
from cnncalc.analysis.fold import fold_all
from cnncalc.render.cells import (
    LAYER_COLUMNS,
    Shapes,
    ShapeTexts,
    condition_notes,
    conditions_json,
    explanation,
    layer_cells,
    shape_json,
    title_text,
)
from cnncalc.render.explain import steps_text
from cnncalc.render.numbers import count_json, count_text, ratio_json, ratio_of, ratio_text, reduction_text
from cnncalc.render.report import Report, Table


def params_document(evaluation_sets: list[list[Evaluation]], depth: int | None = None) -> dict[str, Any]:
    """The `params` JSON: one spec's document, or {"specs": [...], "comparison": [...]};
    `depth`: block calls below it folded into one layer each (`analysis.fold`)."""
    documents = [_params_one(fold_all(evals, depth)) for evals in evaluation_sets]
    if len(documents) == 1:
        document = documents[0]
        if len(evaluation_sets[0]) > 1:
            document["comparison"] = _comparison_json([_block(e) for e in evaluation_sets[0]])
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
        "trainable": arith.as_json(arith.sub(total, arith.total(e.frozen for e in evaluations))),
        "buffers": arith.as_json(buffers),
        "total_no_bias": arith.as_json(arith.sub(total, bias)),
        "bias_params": arith.as_json(bias),
        "macs": arith.as_json(macs),
        "flops": arith.as_json(arith.mul(2, macs)),
        "batch": arith.as_json(batch),
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
                "layers": arith.as_json(g.layers),
            }
            for e in evaluations
            for g in e.groups
        ],
        "layers": [item for e in evaluations for item in _params_rows(e)],
        "conditions": conditions_json(evaluations),
    }


def _params_rows(e: Evaluation) -> list[dict[str, Any]]:
    shapes = Shapes(e)
    items = []
    for r in e.rows:
        item: dict[str, Any] = {
            "path": r.path,
            "module": r.module,
            "type": r.type,
            "output": shapes[r.output],
            "params": count_json(r.params),
            "bias_params": count_json(r.bias),
            "buffers": count_json(r.buffers),
            "macs": count_json(r.macs),
        }
        if r.steps:
            item["steps"] = list(steps_text(r.steps))
        items.append(item)
    return items


# ----------------------------------------------------------------------------- comparison


_Item: TypeAlias = tuple[str, Any, Any, Any]
"""One side of a comparison: (name, params, bias, MACs) of a block or of a whole spec. A plain tuple:
`params` runs define no record classes they rarely need (a NamedTuple costs ~0.1 ms to define)."""


def _block(e: Evaluation) -> _Item:
    return e.name, e.params, e.bias, e.macs


def _merged(evaluations: list[Evaluation]) -> _Item:
    return (
        evaluations[0].spec_name,
        arith.total(e.params for e in evaluations),
        arith.total(e.bias for e in evaluations),
        arith.total(e.macs for e in evaluations),
    )


def _comparison_json(items: Sequence[_Item]) -> list[dict[str, Any]]:
    """Each item (a block or a whole spec: name, params, bias, MACs) against the first."""
    _, base_params, base_bias, base_macs = items[0]
    result = []
    for name, params, bias, macs in items:
        no_bias = arith.sub(params, bias)
        ratio = ratio_of(params, base_params)
        ratio_no_bias = ratio_of(no_bias, arith.sub(base_params, base_bias))
        result.append(
            {
                "name": name,
                "params": arith.as_json(params),
                "params_no_bias": arith.as_json(no_bias),
                "ratio": ratio_json(ratio),
                "reduction": ratio_json(None if ratio is None else arith.sub(1, ratio)),
                "ratio_no_bias": ratio_json(ratio_no_bias),
                "reduction_no_bias": ratio_json(None if ratio_no_bias is None else arith.sub(1, ratio_no_bias)),
                "macs": arith.as_json(macs),
                "macs_ratio": ratio_json(ratio_of(macs, base_macs)),
            }
        )
    return result


def _comparison_table(items: Sequence[_Item], macs: bool = False) -> Table:
    """The comparison as a table; `macs`: with each item's MACs and their ratio (several --input)."""
    rows = []
    for c in _comparison_json(items):
        symbolic = isinstance(c["ratio"], str)  # exact ratios are in the document already as one fraction
        row: tuple[str, ...] = (
            c["name"],
            count_text(c["params"]),
            count_text(c["params_no_bias"]),
            c["ratio"] if symbolic else ratio_text(c["ratio"]),
            c["reduction"] if symbolic else reduction_text(c["ratio"]),
            c["reduction_no_bias"] if isinstance(c["ratio_no_bias"], str) else reduction_text(c["ratio_no_bias"]),
        )
        if macs:
            row += (count_text(c["macs"]), c["macs_ratio"] if isinstance(c["macs_ratio"], str) else ratio_text(c["macs_ratio"]))
        rows.append(row)
    columns = ("name", "params", "no bias", "ratio", "reduction", "reduction (no bias)") + (("MACs", "MACs ratio") if macs else ())
    return Table("comparison (against the first)", columns, tuple(rows), (False,) + (True,) * (len(columns) - 1), kind="comparison")


# ----------------------------------------------------------------------------- tables


def _layers_table(e: Evaluation) -> Table:
    has_buffers = any(r.buffers for r in e.rows)
    columns: tuple[str, ...] = (*LAYER_COLUMNS, "type", "output", "params", "bias")
    if has_buffers:
        columns += ("buffers",)
    rows = []
    texts = ShapeTexts(e)
    tails: dict[Any, tuple[str, ...]] = {}  # repeated layers repeat their cells
    for r in e.rows:
        key = (r.output, type(r.params), r.params, type(r.bias), r.bias, type(r.buffers), r.buffers)
        tail = tails.get(key)
        if tail is None:
            counts = (r.params, r.bias, r.buffers) if has_buffers else (r.params, r.bias)
            tail = tails[key] = (texts[r.output], *map(count_text, counts))
        rows.append((*layer_cells(r), r.type, *tail))
    frozen = e.frozen
    trained = "(trainable)" if not frozen else f"({count_text(arith.sub(e.params, frozen))} trainable, {count_text(frozen)} frozen: requires_grad=False)"
    notes = (
        f"params {count_text(e.params)} {trained}, without bias {count_text(e.params_no_bias)}, "
        f"bias {count_text(e.bias)}; buffers {count_text(e.buffers)} (running statistics, not params)",
        *condition_notes(e.conditions),
    )
    return Table(title_text(e), columns, tuple(rows), (False,) * 4 + (True,) * (len(columns) - 4), notes, csv_only=("layer",), spec=e.spec_name)


def _blocks_table(e: Evaluation) -> Table:
    return Table(
        f"{e.name}: blocks",
        ("block", "layers", "params", "no bias", "buffers"),
        tuple(
            (g.name, arith.as_text(g.layers), count_text(g.params), count_text(g.params_no_bias), count_text(g.buffers))
            for g in e.groups
        ),
        (False, True, True, True, True),
        kind="blocks",
    )


def params_report(evaluation_sets: list[list[Evaluation]], *, explain: bool, macs: bool = False, depth: int | None = None) -> Report:
    """The `params` tables: per layer (per block call below `depth`), per block, totals, and a
    comparison when several (with MACs when `macs`: the same network at several inputs); the
    working (--explain) is every layer's."""
    tables: list[Table] = []
    for evaluations in evaluation_sets:
        for e in fold_all(evaluations, depth):
            tables.append(_layers_table(e))
            if e.groups and not e.standalone:
                tables.append(_blocks_table(e))
    items = [_merged(s) for s in evaluation_sets] if len(evaluation_sets) > 1 else [_block(e) for e in evaluation_sets[0]]
    if len(items) > 1:
        tables.append(_comparison_table(items, macs))
    return Report(tuple(tables), explanation([e for s in evaluation_sets for e in s]) if explain else ())
