"""Cells and JSON values shared by the per-layer reports (shape, params, cost): shapes, table
titles, layer paths and the headings of worked steps."""

from __future__ import annotations

from typing import Any

from cnncalc import arith
from cnncalc.analysis.evaluate import Evaluation, Row, shape_text
from cnncalc.layers import Shape
from cnncalc.render.explain import steps_text
from cnncalc.render.report import Working


def shape_json(shape: Shape) -> list[Any]:
    """A shape for JSON: ints, symbolic sizes as strings."""
    return [arith.as_json(d) for d in shape]


class Shapes(dict[Shape, list[Any]]):
    """Shapes of one evaluation as shown in JSON, memoised: the rows of repeated blocks share
    their shape tuples, so a 100,000-row document converts a few dozen shapes. The lists are
    shared between rows: documents are written, never modified."""

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__()
        self.drop = 0 if evaluation.batch_in_shapes else 1

    def __missing__(self, shape: Shape) -> list[Any]:
        shown = self[shape] = shape_json(shape[self.drop:])
        return shown


class ShapeTexts(dict[Shape, str]):
    """Shapes of one evaluation as table cells, memoised as `Shapes` is for JSON."""

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__()
        self.drop = 0 if evaluation.batch_in_shapes else 1

    def __missing__(self, shape: Shape) -> str:
        shown = self[shape] = shape_text(shape[self.drop:])
        return shown


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


def explanation(evaluations: list[Evaluation]) -> Working:
    """Every row's worked steps under its heading (`shape --explain`, `params --explain`)."""
    return tuple((step_head(e, r), steps_text(r.steps)) for e in evaluations for r in e.rows)
