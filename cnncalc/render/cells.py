"""Cells and JSON values shared by the per-layer reports (shape, params, cost): shapes, table
titles, layer paths and the headings of worked steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cnncalc import arith
from cnncalc.analysis.evaluate import Evaluation, Row, shape_text
from cnncalc.layers import Shape
from cnncalc.render.explain import steps_text
from cnncalc.render.report import Working

if TYPE_CHECKING:
    from cnncalc.analysis.validity import Stated


def shape_json(shape: Shape) -> list[Any]:
    """A shape for JSON: ints, symbolic sizes as strings."""
    return [arith.as_json(d) for d in shape]


class Shapes(dict[Shape, list[Any]]):
    """Shapes of one evaluation as shown in JSON, memoised: the rows of repeated blocks share
    their shape tuples, so a 100,000-row document converts a few dozen shapes. The lists are
    shared between rows: documents are written, never modified."""

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__()
        self.shown = evaluation.shown

    def __missing__(self, shape: Shape) -> list[Any]:
        shown = self[shape] = shape_json(self.shown(shape))
        return shown


def conditions_json(evaluations: Sequence[Evaluation] = (), stated: Sequence[Stated] = ()) -> list[dict[str, Any]]:
    """What must hold of the free symbols (`"conditions"` in every document): each statement,
    and what PyTorch requires that makes it, where."""
    return [
        {"condition": s.text, "requires": [{"reason": c.reason, "layer": c.path} for c in s.conditions]}
        for s in (*stated, *(s for e in evaluations for s in e.conditions))
    ]


def condition_notes(stated: Sequence[Stated]) -> tuple[str, ...]:
    """A table note per condition on the free symbols: "valid only if k >= 65: out_channels >= 1 (layers[0] (Conv2d))"."""
    return tuple(f"valid only if {s.text}: " + "; ".join(f"{c.reason} ({c.path})" for c in s.conditions) for s in stated)


class ShapeTexts(dict[Shape, str]):
    """Shapes of one evaluation as table cells, memoised as `Shapes` is for JSON."""

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__()
        self.shown = evaluation.shown

    def __missing__(self, shape: Shape) -> str:
        shown = self[shape] = shape_text(self.shown(shape))
        return shown


def inputs_text(texts: dict[Shape, str], row: Row) -> str:
    """A row's input shapes as one cell: every input of a merge (Concat, Add, a residual add),
    in order, `[64, 56, 56], [64, 56, 56]`."""
    if len(row.inputs) == 1:
        return texts[row.inputs[0]]
    return ", ".join(texts[s] for s in row.inputs)


def title_text(e: Evaluation) -> str:
    """A table's title: the evaluation's name, input and batch size."""
    batch = f", batch {e.batch}" if e.batch != 1 and not e.batch_in_shapes else ""
    return f"{e.name}: input {shape_text(e.shown(e.input))}{batch}"


LAYER_COLUMNS = ("layer", "module")  # a per-layer table's first columns; "layer", the path, is for CSV only (Table.csv_only), as before module names


def layer_cells(row: Row) -> tuple[str, str]:
    """A row's first cells (LAYER_COLUMNS): its path, its module name indented by its depth."""
    return row.path, "  " * row.depth + row.module


def step_head(e: Evaluation, row: Row) -> str:
    """The heading of a row's worked steps: module name, type, input and output shapes."""
    return f"{row.module} {row.type}: {', '.join(shape_text(e.shown(s)) for s in row.inputs)} -> {shape_text(e.shown(row.output))}"


def explanation(evaluations: list[Evaluation]) -> Working:
    """Every row's worked steps under its heading (`shape --explain`, `params --explain`)."""
    return tuple((step_head(e, r), steps_text(r.steps)) for e in evaluations for r in e.rows)
