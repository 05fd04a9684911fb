"""Rendering of `cnncalc params`: tables per layer and block, the totals, and comparisons."""

from __future__ import annotations

from cnncalc.analysis.evaluate import Evaluation, evaluate_inline, evaluate_spec
from cnncalc.render.params import params_document, params_report
from cnncalc.spec import load_text

BLOCKS = """
name: blocks
input: [4, 8, 8]
blocks:
  a: [{Conv2d: {out_channels: 8, kernel_size: 3}}]
  b: [{Conv2d: {out_channels: 2, kernel_size: 1}}]
"""

SYMBOLIC = """
name: symbolic
input: [4, 8, 8]
blocks:
  a: [{Conv2d: {out_channels: 8, kernel_size: 3}}]
  b: [{Conv2d: {out_channels: k, kernel_size: 1}}]
"""


def inline(*calls: str) -> Evaluation:
    return evaluate_inline(list(calls), (1, 3, 8, 8))


def blocks(text: str) -> list[Evaluation]:
    spec = load_text(text, "<test>")
    return evaluate_spec(spec, blocks=tuple(spec.blocks))


def test_layer_table_and_totals() -> None:
    report = params_report([[inline("Conv2d(3, 100, 3)", "BatchNorm2d(100)")]], explain=False)
    (table,) = report.tables
    assert table.columns == ("layer", "module", "type", "output", "params", "bias", "buffers")
    assert table.drawn().columns == ("module", "type", "output", "params", "bias", "buffers")  # the path: CSV only
    assert table.numeric == (False, False, False, False, True, True, True)
    assert table.rows[0][4:] == ("2,800", "100", "0")  # 100*3*9 + 100 with separators
    assert table.rows[1][4:] == ("200", "100", "200")  # running mean and variance
    assert table.notes == ("params 3,000 (trainable), without bias 2,800, bias 200; buffers 200 (running statistics, not params)",)


def test_no_buffers_column_without_buffers() -> None:
    (table,) = params_report([[inline("Conv2d(3, 8, 3)", "ReLU()")]], explain=False).tables
    assert table.columns == ("layer", "module", "type", "output", "params", "bias")


def test_comparison_of_blocks() -> None:
    report = params_report([blocks(BLOCKS)], explain=False)
    assert [t.kind for t in report.tables] == ["layers", "layers", "comparison"]
    comparison = report.tables[-1]
    # a: 4*8*9 + 8 = 296 (288 without bias); b: 4*2 + 2 = 10 (8 without bias).
    assert comparison.rows[0] == ("a", "296", "288", "1.0000", "0.00%", "0.00%")
    assert comparison.rows[1] == ("b", "10", "8", f"{10 / 296:.4f}", f"{(1 - 10 / 296) * 100:.2f}%", f"{(1 - 8 / 288) * 100:.2f}%")


def test_symbolic_comparison_is_one_fraction() -> None:
    comparison = params_report([blocks(SYMBOLIC)], explain=False).tables[-1]
    # b: 4k + k = 5k against 296; without bias 4k against 288.
    assert comparison.rows[1] == ("b", "5*k", "4*k", "5*k/296", "(296 - 5*k)/296", "(72 - k)/72")
    document = params_document([blocks(SYMBOLIC)])
    assert document["comparison"][1]["ratio"] == "5*k/296"


def test_specs_compared_as_wholes() -> None:
    one = [inline("Conv2d(3, 8, 3)")]
    two = [inline("Conv2d(3, 4, 3)")]
    document = params_document([one, two])
    assert set(document) == {"specs", "comparison"}
    assert [c["ratio"] for c in document["comparison"]] == [1.0, 0.5]
    assert document["comparison"][1]["reduction"] == 0.5
    table = params_report([one, two], explain=False).tables[-1]
    assert table.rows[1][3:] == ("0.5000", "50.00%", "50.00%")


def test_params_document() -> None:
    document = params_document([[inline("Conv2d(3, 8, 3)", "BatchNorm2d(8)")]])
    assert (document["total"], document["total_no_bias"], document["bias_params"], document["buffers"]) == (240, 224, 16, 16)
    assert document["flops"] == 2 * document["macs"] and document["output"] == [1, 8, 6, 6]
    assert [layer["params"] for layer in document["layers"]] == [224, 16]
    assert "comparison" not in document


def test_zero_baseline_has_no_ratio() -> None:
    document = params_document([[inline("ReLU()")], [inline("Conv2d(3, 4, 1)")]])
    assert document["comparison"][1]["ratio"] is None
    table = params_report([[inline("ReLU()")], [inline("Conv2d(3, 4, 1)")]], explain=False).tables[-1]
    assert table.rows[1][3:] == ("-", "-", "-")
