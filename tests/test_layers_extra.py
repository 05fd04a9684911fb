"""The layer kinds added for mobile/modern networks, and `residual: auto`, against hand derivations.

Narrow (torch.narrow), Permute (torchvision.ops.misc.Permute), LayerNorm2d (torchvision's
ConvNeXt), LayerScale / LayerScale2d (timm), StochasticDepth (torchvision.ops). Expected values
are worked out in the comments from PyTorch's documented behaviour, never printed by cnncalc.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from cnncalc import arith
from cnncalc.analysis.evaluate import Evaluation, evaluate_inline, evaluate_spec
from cnncalc.errors import CnncalcError, ShapeError, SpecError
from cnncalc.spec import load_text

X = (1, 6, 4, 5)  # N, C, H, W


def one(call: str, shape: tuple[Any, ...] = X) -> Any:
    """The single row of an inline PyTorch-style call on a batched shape."""
    (row,) = evaluate_inline([call], shape).rows
    return row


def evaluate(text: str) -> Evaluation:
    (evaluation,) = evaluate_spec(load_text(textwrap.dedent(text), "t.yaml"))
    return evaluation


# ----------------------------------------------------------------------------- Narrow


@pytest.mark.parametrize(
    ("call", "output"),
    [
        ("Narrow(1, 0, 3)", (1, 3, 4, 5)),  # channels 0..2
        ("Narrow(1, 3, 3)", (1, 3, 4, 5)),  # channels 3..5: the second half of x.chunk(2, dim=1)
        ("Narrow(1, -2, 2)", (1, 2, 4, 5)),  # a negative start counts from the end: 4..5
        ("Narrow(1, -6, 6)", (1, 6, 4, 5)),  # start -size is the first element
        ("Narrow(-3, 1, 2)", (1, 2, 4, 5)),  # dim -3 of a 4-D tensor is dim 1
        ("Narrow(3, 1, 4)", (1, 6, 4, 4)),  # width 5, elements 1..4
        ("Narrow(dim=2, start=0, length=1)", (1, 6, 1, 5)),
    ],
)
def test_narrow_shapes(call: str, output: tuple[int, ...]) -> None:
    row = one(call)
    assert row.output == output
    assert (row.params, row.buffers, row.macs) == (0, 0, 0)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        ("Narrow(1, 4, 3)", ShapeError, "exceeds dimension size (6)"),  # 4 + 3 > 6
        ("Narrow(1, 5, 2)", ShapeError, "exceeds"),
        ("Narrow(1, -7, 1)", ShapeError, "start out of range"),  # start must be in [-6, 6]
        ("Narrow(1, 7, 0)", ShapeError, "start out of range"),
        ("Narrow(1, 0, -1)", SpecError, "non-negative"),
        ("Narrow(1, 6, 0)", ShapeError, "would be empty"),  # PyTorch allows it; cnncalc rejects empty outputs
        ("Narrow(4, 0, 1)", ShapeError, "dimension out of range"),  # dims of a 4-D tensor: -4..3
    ],
)
def test_narrow_errors(call: str, error: type[CnncalcError], words: str) -> None:
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        one(call)


def test_narrow_symbolic_halves() -> None:
    c = arith.symbol("c")
    row = one("Narrow(1, c//2, c//2)", (1, c, 8, 8))
    assert arith.as_text(row.output[1]) == arith.as_text(arith.floor_div(c, 2))
    assert row.output[2:] == (8, 8)


# ----------------------------------------------------------------------------- Permute


@pytest.mark.parametrize(
    ("call", "output"),
    [
        ("Permute([0, 2, 3, 1])", (1, 4, 5, 6)),  # NCHW -> NHWC, as in ConvNeXt's block
        ("Permute([0, 3, 1, 2])", (1, 5, 6, 4)),  # NHWC -> NCHW applied to N=1, C=6, H=4, W=5 read as NHWC
        ("Permute([0, -1, 1, 2])", (1, 5, 6, 4)),  # negative dims count from the end
        ("Permute(dims=[0, 1, 2, 3])", (1, 6, 4, 5)),
    ],
)
def test_permute_shapes(call: str, output: tuple[int, ...]) -> None:
    row = one(call)
    assert row.output == output
    assert row.params == 0


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        ("Permute([0, 2, 3])", ShapeError, "number of dims"),
        ("Permute([0, 2, 2, 1])", SpecError, "duplicate dims"),
        ("Permute([0, 2, 3, 4])", ShapeError, "dimension out of range"),
    ],
)
def test_permute_errors(call: str, error: type[CnncalcError], words: str) -> None:
    with pytest.raises(error, match=words):
        one(call)


# ----------------------------------------------------------------------------- LayerNorm2d


@pytest.mark.parametrize(
    ("call", "params", "bias"),
    [
        ("LayerNorm2d(6)", 12, 6),  # weight and bias over the 6 channels
        ("LayerNorm2d(eps=1e-6)", 12, 6),  # normalized_shape inferred from C
        ("LayerNorm2d(6, elementwise_affine=False)", 0, 0),
        ("LayerNorm2d(6, bias=False)", 6, 0),
    ],
)
def test_layer_norm_2d_params(call: str, params: int, bias: int) -> None:
    row = one(call)
    assert row.output == X  # normalizes over C at every position; the shape is kept
    assert (row.params, row.bias, row.buffers) == (params, bias, 0)


@pytest.mark.parametrize(
    ("call", "shape", "words"),
    [
        ("LayerNorm2d(5)", X, "normalizes over the 6 channels"),
        ("LayerNorm2d(4)", X, "normalizes over the 6 channels"),  # not H: torchvision permutes C last
        ("LayerNorm2d(6)", (6, 4, 5), "4-D input"),
    ],
)
def test_layer_norm_2d_errors(call: str, shape: tuple[int, ...], words: str) -> None:
    with pytest.raises(ShapeError, match=words):
        one(call, shape)


# ----------------------------------------------------------------------------- LayerScale


@pytest.mark.parametrize(
    ("call", "shape", "params"),
    [
        ("LayerScale2d(init_values=1e-6)", (1, 96, 56, 56), 96),  # ConvNeXt-T stage 1: gamma (96, 1, 1)
        ("LayerScale2d(96)", (1, 96, 56, 56), 96),
        ("LayerScale()", (1, 197, 768), 768),  # ViT-B tokens: gamma over the last dim
        ("LayerScale(768, 1e-5)", (1, 197, 768), 768),
    ],
)
def test_layer_scale_params(call: str, shape: tuple[int, ...], params: int) -> None:
    row = one(call, shape)
    assert row.output == shape
    assert (row.params, row.bias, row.buffers, row.macs) == (params, 0, 0, 0)


@pytest.mark.parametrize(
    ("call", "shape", "words"),
    [
        ("LayerScale2d(95)", (1, 96, 56, 56), "does not match the incoming 96"),
        ("LayerScale(96)", (1, 96, 56, 56), "does not match the incoming 56"),  # last dim is W
        ("LayerScale2d()", (1, 197, 768), "4-D"),
    ],
)
def test_layer_scale_errors(call: str, shape: tuple[int, ...], words: str) -> None:
    with pytest.raises(ShapeError, match=words):
        one(call, shape)


# ----------------------------------------------------------------------------- StochasticDepth


@pytest.mark.parametrize("call", ["StochasticDepth(0.1, 'row')", "StochasticDepth(p=0.0, mode='batch')", "StochasticDepth(1, 'row')"])
def test_stochastic_depth_is_identity(call: str) -> None:
    row = one(call)
    assert row.output == X
    assert (row.params, row.buffers, row.macs) == (0, 0, 0)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        ("StochasticDepth(1.5, 'row')", "between 0 and 1"),
        ("StochasticDepth(-0.1, 'row')", "between 0 and 1"),
        ("StochasticDepth(0.1, 'col')", "mode"),
        ("StochasticDepth(0.1)", "missing argument 'mode'"),  # torchvision has no defaults
    ],
)
def test_stochastic_depth_errors(call: str, words: str) -> None:
    with pytest.raises(SpecError, match=words):
        one(call)


# ----------------------------------------------------------------------------- in networks


def test_convnext_block_by_hand() -> None:
    """One CNBlock of ConvNeXt-T stage 1 (C = 96 on 56 x 56)."""
    e = evaluate(
        """
        input: [96, 56, 56]
        blocks:
          cnblock:
            residual: true
            layers:
              - Conv2d: {out_channels: in_channels, kernel_size: 7, padding: 3, groups: in_channels}
              - Permute: {dims: [0, 2, 3, 1]}
              - LayerNorm: {eps: 1e-6}
              - Linear: {out_features: 4*in_channels}
              - GELU
              - Linear: {out_features: in_channels}
              - Permute: {dims: [0, 3, 1, 2]}
              - LayerScale2d: {init_values: 1e-6}
              - StochasticDepth: {p: 0.1, mode: row}
        layers:
          - cnblock
        """
    )
    dw = 96 * 1 * 7 * 7 + 96  # 4,800: depthwise 7x7 with bias
    norm = 2 * 96  # LayerNorm weight + bias
    fc1 = 96 * 384 + 384  # 37,248
    fc2 = 384 * 96 + 96  # 36,960
    gamma = 96
    assert e.params == dw + norm + fc1 + fc2 + gamma == 79_296
    shapes = {r.type: e.shown(r.output) for r in e.rows}
    assert shapes["LayerNorm"] == (56, 56, 96)  # channels-last between the two Permutes
    assert shapes["Linear"] == (56, 56, 96) and e.shown(e.output) == (96, 56, 56)
    # MACs: depthwise 56*56*96*49, then two Linears over 56*56 positions
    assert e.macs == 56 * 56 * 96 * 49 + 56 * 56 * 96 * 384 * 2


def test_shufflenet_unit_by_hand() -> None:
    """A stride-1 ShuffleNetV2 unit on 116 x 28 x 28: split, convolve one half, concat, shuffle."""
    e = evaluate(
        """
        input: [116, 28, 28]
        layers:
          - Narrow: {dim: 1, start: 0, length: 58, name: x1}
          - Narrow: {dim: 1, start: 58, length: 58, from: input}
          - Conv2d: {out_channels: 58, kernel_size: 1, bias: false}
          - BatchNorm2d
          - ReLU
          - Conv2d: {out_channels: 58, kernel_size: 3, padding: 1, groups: 58, bias: false}
          - BatchNorm2d
          - Conv2d: {out_channels: 58, kernel_size: 1, bias: false}
          - BatchNorm2d
          - ReLU: {name: x2}
          - Concat: {from: [x1, x2]}
          - ChannelShuffle: {groups: 2}
        """
    )
    assert e.params == (58 * 58) + (58 * 9) + (58 * 58) + 3 * (2 * 58) == 7_598
    assert e.buffers == 3 * (2 * 58)
    narrow = [e.shown(r.output) for r in e.rows if r.type == "Narrow"]
    assert narrow == [(58, 28, 28), (58, 28, 28)]
    assert e.shown(e.output) == (116, 28, 28)


# ----------------------------------------------------------------------------- residual: auto

AUTO = """
input: [16, 8, 8]
blocks:
  ir:
    args: {out: null, stride: 1}
    residual: auto
    layers:
      - Conv2d: {out_channels: out, kernel_size: 3, stride: stride, padding: 1, bias: false}
      - BatchNorm2d
layers:
  - ir: {out: 16}             # same shape: x + F(x)
  - ir: {out: 24}             # width changes: F(x) alone
  - ir: {out: 24, stride: 2}  # size changes: F(x) alone
  - ir: {out: 24}             # same shape again
"""


def test_residual_auto_adds_only_where_shapes_agree() -> None:
    e = evaluate(AUTO)
    adds = [r.path for r in e.rows if r.type == "Add"]
    assert adds == ["layers[0].add", "layers[3].add"]
    assert e.params == (16 * 16 * 9 + 32) + (24 * 16 * 9 + 48) + 2 * (24 * 24 * 9 + 48)
    assert e.shown(e.output) == (24, 4, 4)


@pytest.mark.parametrize(
    ("residual", "extra", "words"),
    [
        ("auto", "    shortcut: [Identity]\n", "never uses one"),
        ("maybe", "", "must be true, false or auto"),
    ],
)
def test_residual_auto_errors(residual: str, extra: str, words: str) -> None:
    text = textwrap.dedent(AUTO).replace("residual: auto\n", f"residual: {residual}\n{extra}")
    with pytest.raises(SpecError, match=words):
        load_text(text, "t.yaml")
