"""`cnncalc cost`: MACs against fvcore and hand arithmetic, cheap ops, memory, the command itself.

fvcore counts one multiply-accumulate as one "flop", so its `conv` and `linear` entries in
tests/data/torchvision_public.json (and torchvision_zoo.json) are MAC counts without bias:
exactly cnncalc's MACs. Its `batch_norm`, `layer_norm` and `adaptive_avg_pool2d` entries use
the cheap-op conventions cnncalc adopts for those kinds.
"""

from __future__ import annotations

import csv
import io
import json
from functools import cache
from typing import Any

import pytest
import sympy
from click.testing import CliRunner

from cnncalc.analysis.cost import cost, sequential_peak
from cnncalc.analysis.evaluate import Evaluation, evaluate_inline, evaluate_spec
from cnncalc.cli import main
from cnncalc.spec import Limits, load_text
from cnncalc.spec.zoo import load_spec

from .conftest import CONFIGS, ROOT, SEED

PUBLIC: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "torchvision_public.json").read_text())
ZOO: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "torchvision_zoo.json").read_text())
PUBLIC_MODELS = sorted(k for k in PUBLIC if k != "_about")
ZOO_MODELS = sorted(k for k in ZOO if k != "_about" and (CONFIGS / f"{k}.yaml").exists())


@cache
def model(name: str) -> Evaluation:
    (evaluation,) = evaluate_spec(load_spec(str(CONFIGS / f"{name}.yaml")))
    return evaluation


def _spec(text: str) -> Evaluation:
    (evaluation,) = evaluate_spec(load_text(text, "<test>", Limits()))
    return evaluation


def _seed(block: str) -> Evaluation:
    (evaluation,) = evaluate_spec(load_spec(SEED), blocks=(block,))
    return evaluation


# ----------------------------------------------------------------------------- MACs


def test_public_zoo_is_all_configured() -> None:
    assert PUBLIC_MODELS and all((CONFIGS / f"{m}.yaml").exists() for m in PUBLIC_MODELS)


@pytest.mark.parametrize("name", PUBLIC_MODELS)
def test_conv_and_linear_macs_equal_fvcore(name: str) -> None:
    c = cost(model(name))
    fvcore = PUBLIC[name]["fvcore_by_operator"]
    assert c.conv_macs == fvcore["conv"]
    assert c.linear_macs == fvcore.get("linear", 0)
    assert c.macs == c.conv_macs + c.linear_macs


def test_resnet50_figures() -> None:
    c = cost(model("resnet50"))
    assert (c.conv_macs, c.linear_macs) == (4_087_136_256, 2_048_000)
    assert c.flops == 2 * (4_087_136_256 + 2_048_000)


@pytest.mark.parametrize("name", ZOO_MODELS)
def test_zoo_macs_and_norm_ops_equal_fvcore(name: str) -> None:
    """Every zoo model: conv and linear MACs, and fvcore's norm counts (BatchNorm in eval mode:
    2 per element with affine; LayerNorm: 5 per element with affine)."""
    c = cost(model(name))
    fvcore = ZOO[name]["fvcore_by_operator"]
    assert (c.conv_macs, c.linear_macs) == (fvcore["conv"], fvcore.get("linear", 0))
    assert dict(c.ops)["norm"] == fvcore.get("batch_norm", 0) + fvcore.get("layer_norm", 0)
    if "adaptive_avg_pool2d" in fvcore:  # fvcore reads every input element once
        adaptive = sum(rc.ops for r, rc in zip(model(name).rows, c.rows) if r.type == "AdaptiveAvgPool2d")
        assert adaptive == fvcore["adaptive_avg_pool2d"]


def test_seed_plain_block() -> None:
    # two 3x3 convs 64->64 on 16x16: 2 * (16*16 positions * 64 outputs * 64*3*3 weights each)
    c = cost(_seed("plain"))
    assert c.macs == 2 * 16 * 16 * 64 * 64 * 9 == 18_874_368
    assert c.flops == 37_748_736


def test_seed_bottleneck_macs_are_a_polynomial_in_k() -> None:
    k = sympy.Symbol("k", positive=True, integer=True)
    c = cost(_seed("bottleneck"))
    # 1x1 64->k, 3x3 k->k, 1x1 k->64 at 16x16 positions
    assert sympy.expand(c.macs - 16 * 16 * (64 * k + 9 * k**2 + 64 * k)) == 0


def test_transposed_conv_is_counted_on_the_input_positions() -> None:
    # 16 channels at 8x8 scattered through 8 outputs * 3*3 taps each: 8*8*16*8*9
    evaluation = evaluate_inline(["ConvTranspose2d(16, 8, 3, stride=2)"], (1, 16, 8, 8))
    assert cost(evaluation).conv_macs == 8 * 8 * 16 * 8 * 9 == 73_728


def test_grouped_conv_and_linear_by_hand() -> None:
    # depthwise 3x3 on 32x10x10 (groups 32): 10*10*32*(32/32)*9; Linear 3200 -> 10: 3200*10
    evaluation = evaluate_inline(["Conv2d(32, 32, 3, padding=1, groups=32)", "Flatten()", "Linear(3200, 10)"], (1, 32, 10, 10))
    c = cost(evaluation)
    assert (c.conv_macs, c.linear_macs) == (10 * 10 * 32 * 9, 3200 * 10)


def test_batch_scales_macs_and_memory_not_params() -> None:
    text = "name: b\ninput: [64, 16, 16]\nbatch: {batch}\nlayers:\n  - Conv2d: {{out_channels: 64, kernel_size: 3, padding: 1}}\n  - ReLU\n"
    one, four = cost(_spec(text.format(batch=1))), cost(_spec(text.format(batch=4)))
    assert four.macs == 4 * one.macs == 4 * 16 * 16 * 64 * 64 * 9
    assert four.activation_elements == 4 * one.activation_elements == 4 * 2 * 64 * 16 * 16
    assert four.peak_elements == 4 * one.peak_elements
    assert four.params == one.params == 64 * 64 * 9 + 64


# ----------------------------------------------------------------------------- cheap ops


@pytest.mark.parametrize(
    ("layer", "shape", "ops", "kind"),
    [
        # 3x3/2 max pool on 64x112x112 -> 64x56x56, 9 compares per output
        ("MaxPool2d(3, 2, 1)", (1, 64, 112, 112), 64 * 56 * 56 * 9, "pool"),
        ("AvgPool2d(2)", (1, 8, 10, 10), 8 * 5 * 5 * 4, "pool"),
        # adaptive 10 -> 3: windows 0-3, 3-7, 6-10 (lengths 4, 4, 4) per axis
        ("AdaptiveAvgPool2d(3)", (1, 2, 10, 10), 2 * 12 * 12, "pool"),
        ("ReLU()", (2, 8, 4, 4), 2 * 8 * 4 * 4, "activation"),
        ("BatchNorm2d(8)", (1, 8, 4, 4), 8 * 4 * 4 * 2, "norm"),
        ("BatchNorm2d(8, affine=False)", (1, 8, 4, 4), 8 * 4 * 4, "norm"),
        ("GroupNorm(2, 8)", (1, 8, 4, 4), 8 * 4 * 4 * 5, "norm"),
        ("Upsample(scale_factor=2, mode='bilinear')", (1, 3, 4, 4), 3 * 8 * 8 * 4, "upsample"),
        ("Upsample(scale_factor=2)", (1, 3, 4, 4), 3 * 8 * 8, "upsample"),
        ("Dropout()", (1, 8), 0, None),
        ("ZeroPad2d(1)", (1, 3, 4, 4), 0, None),
    ],
)
def test_cheap_ops_by_hand(layer: str, shape: tuple[int, ...], ops: int, kind: str | None) -> None:
    rc = cost(evaluate_inline([layer], shape)).rows[0]
    assert (rc.ops, rc.op_kind, rc.macs) == (ops, kind, 0)


def test_residual_add_is_one_op_per_element() -> None:
    text = """
name: r
input: [4, 8, 8]
blocks:
  b:
    residual: true
    layers: [{Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}}]
layers: [b]
"""
    c = cost(_spec(text))
    assert dict(c.ops)["add/mul"] == 4 * 8 * 8


# ----------------------------------------------------------------------------- memory


def test_memory_of_the_seed_plain_block_by_hand() -> None:
    """Four outputs of 64*16*16 = 16,384 elements; the sequential peak is the input and the first
    conv's output together (2 * 16,384), after which one tensor is read while one is written."""
    c = cost(_seed("plain"))
    assert [r.elements for r in c.rows] == [16_384] * 4
    assert c.activation_elements == 65_536
    assert (c.input_elements, c.peak_elements, c.peak_row) == (16_384, 32_768, 0)
    assert c.params == 2 * (64 * 64 * 9 + 64)


def test_residual_keeps_the_input_alive() -> None:
    """conv, relu, conv, add(x), relu on T = 4*8*8 elements: x lives until the add, so the
    relu step holds x, conv1's output and its own (3T); the final relu holds add + out (2T)."""
    text = """
name: r
input: [4, 8, 8]
blocks:
  b:
    residual: true
    layers:
      - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
      - ReLU
      - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
    after: [ReLU]
layers: [b]
"""
    evaluation = _spec(text)
    t = 4 * 8 * 8
    peak, at = sequential_peak(evaluation, [t] * len(evaluation.rows), t)
    assert (peak, at) == (3 * t, 1)


# ----------------------------------------------------------------------------- the command


@pytest.fixture
def run(runner: CliRunner) -> Any:
    def invoke(*args: str) -> Any:
        return runner.invoke(main, ["cost", *args])

    return invoke


def test_json_seed_block(run: Any) -> None:
    result = run(SEED, "--block", "plain", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["macs"] == 18_874_368 and document["flops"] == 37_748_736
    assert "FLOPs = 2 x MACs" in document["convention"] and "bias additions are not MACs" in document["convention"]
    network = document["networks"][0]
    assert network["memory"]["activation_bytes"] == 65_536 * 4
    assert network["memory"]["peak_bytes"] == 32_768 * 4
    assert network["receptive_field"]["size"] == [5, 5]
    assert [layer["macs"] for layer in document["layers"]] == [9_437_184, 0, 9_437_184, 0]


def test_symbolic_json(run: Any) -> None:
    result = run(SEED, "--block", "bottleneck", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["macs"] == "2304*k**2 + 32768*k"


def test_dtype_sets_the_bytes(run: Any) -> None:
    for dtype, size in (("float32", 4), ("float16", 2), ("bfloat16", 2), ("int8", 1)):
        result = run(SEED, "--block", "plain", "--format", "json", "--dtype", dtype)
        memory = json.loads(result.stdout)["networks"][0]["memory"]
        assert memory["activation_bytes"] == 65_536 * size
        assert memory["param_bytes"] == 73_856 * size


def test_unknown_dtype_is_a_usage_error(run: Any) -> None:
    result = run(SEED, "--dtype", "float8")
    assert result.exit_code == 2
    assert "float8" in result.stderr


def test_table_header_states_the_convention(run: Any) -> None:
    result = run(SEED, "--block", "plain")
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0]
    assert "1 MAC = one multiply-accumulate" in first and "FLOPs = 2 x MACs" in first
    assert "FLOPs" not in result.stdout.splitlines()[2]  # no FLOPs column without --flops
    with_flops = run(SEED, "--block", "plain", "--flops")
    assert "FLOPs" in with_flops.stdout.splitlines()[2] and "18,874,368" in with_flops.stdout


def test_markdown_and_csv(run: Any) -> None:
    markdown = run(SEED, "--block", "plain", "--format", "markdown")
    assert markdown.exit_code == 0 and markdown.stdout.startswith("### plain") and "multiply-accumulate" in markdown.stdout
    result = run(SEED, "--block", "plain", "--format", "csv", "--flops")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    header = rows[0]
    assert header[:6] == ["layer", "module", "type", "output", "MACs", "FLOPs"]
    assert [r[header.index("MACs")] for r in rows[1:]] == ["9437184", "0", "9437184", "0"]
    assert [r[header.index("RF")] for r in rows[1:]] == ["3x3", "3x3", "5x5", "5x5"]


def test_explain_writes_the_mac_formula(run: Any) -> None:
    result = run(SEED, "--block", "plain", "--explain")
    assert result.exit_code == 0
    assert "MACs = N*C_out*H_out*W_out*(C_in/groups)*kh*kw = 1*64*16*16*(64/1)*3*3 = 9,437,184" in result.stdout
    assert "r = r_in + (k_eff-1)*j_in = 3 + 2*1 = 5" in result.stdout


def test_blocks_table_for_a_model(run: Any) -> None:
    result = run("resnet18", "--format", "json")
    document = json.loads(result.stdout)
    assert sum(b["macs"] for b in document["blocks"]) + document["layers"][0]["macs"] + document["layers"][-1]["macs"] == document["macs"]
    assert document["networks"][0]["warnings"] == []
    table = run("resnet18")
    assert "blocks (RF at the block's output)" in table.stdout


def test_inline_layers(run: Any) -> None:
    result = run("--input", "3,224,224", "Conv2d(3, 64, 7, stride=2, padding=3, bias=False)", "--format", "json")
    assert result.exit_code == 0, result.output
    # 112*112 positions * 64 outputs * 3*7*7 weights
    assert json.loads(result.stdout)["macs"] == 112 * 112 * 64 * 3 * 49


def test_bad_spec_exit_code(run: Any, tmp_path: Any) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ninput: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 4}\n")
    result = run(str(path))
    assert result.exit_code == 2
    assert "kernel_size" in result.stderr
