"""Rendering of `cnncalc shape`: the document and the table built from evaluations (no CLI)."""

from __future__ import annotations

from cnncalc.analysis.evaluate import Evaluation, evaluate_inline, evaluate_spec
from cnncalc.render.cells import Shapes, layer_cells, shape_json, title_text
from cnncalc.render.shape import shape_document, shape_documents, shape_report
from cnncalc.spec import load_text

CALLS = ["Conv2d(3, 8, 3, padding=1)", "BatchNorm2d(8)", "ReLU()"]

TWO_BLOCKS = """
name: two
input: [4, 8, 8]
blocks:
  a: [{Conv2d: {out_channels: 8, kernel_size: 3}}]
  b: [{Conv2d: {out_channels: k, kernel_size: 1}}, {ReLU: {}}]
"""


def inline(batch: int = 1, explain: bool = False) -> Evaluation:
    return evaluate_inline(CALLS, (batch, 3, 8, 8), explain=explain)


def test_shape_table() -> None:
    report = shape_report([inline(2)], explain=False)
    (table,) = report.tables
    assert table.title == "inline: input [2, 3, 8, 8]"
    assert table.columns == ("layer", "module", "type", "input", "output") and table.csv_only == ("layer",)
    assert table.rows[0] == ("layer[0]", "0", "Conv2d", "[2, 3, 8, 8]", "[2, 8, 8, 8]")
    assert [r[2] for r in table.rows] == ["Conv2d", "BatchNorm2d", "ReLU"]
    assert table.notes == ("output [2, 8, 8, 8]",) and not any(table.numeric)
    assert report.explanation == ()


def test_shape_explanation_has_one_heading_per_layer() -> None:
    report = shape_report([inline(explain=True)], explain=True)
    heads = [head for head, _ in report.explanation]
    assert heads[0] == "0 Conv2d: [1, 3, 8, 8] -> [1, 8, 8, 8]" and len(heads) == 3
    assert report.explanation[0][1]  # the conv has worked steps


def test_shape_document() -> None:
    document = shape_document([inline()])
    assert document["name"] == "inline" and document["input"] == [1, 3, 8, 8] and document["output"] == [1, 8, 8, 8]
    assert [layer["type"] for layer in document["layers"]] == ["Conv2d", "BatchNorm2d", "ReLU"]
    assert "blocks" not in document and "steps" not in document["layers"][0]
    assert "steps" in shape_document([inline(explain=True)])["layers"][0]


def test_standalone_blocks_and_symbolic_sizes() -> None:
    spec = load_text(TWO_BLOCKS, "<test>")
    evaluations = evaluate_spec(spec, blocks=tuple(spec.blocks))
    document = shape_document(evaluations)
    assert [b["name"] for b in document["blocks"]] == ["a", "b"]
    assert document["blocks"][1]["output"] == ["k", 8, 8]  # a symbolic size is text (each block on the spec input)
    assert len(document["layers"]) == 3
    assert shape_documents([evaluations]) == document
    assert set(shape_documents([evaluations, [inline()]])) == {"specs"}
    report = shape_report(evaluations, explain=False)
    assert [t.title for t in report.tables] == ["a: input [4, 8, 8]", "b: input [4, 8, 8]"]


def test_cells() -> None:
    e = inline(4)
    assert shape_json((1, 2)) == [1, 2]
    assert title_text(e) == "inline: input [4, 3, 8, 8]"
    assert layer_cells(e.rows[0]) == ("layer[0]", "0")  # the path, the module name (indented by depth)
    shapes = Shapes(e)
    assert shapes[e.rows[0].output] == [4, 8, 8, 8]
    assert shapes[e.rows[0].output] is shapes[e.rows[1].output]  # converted once, shared
