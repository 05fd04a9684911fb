"""Every layer kind's shape, parameter and MAC rule, against derivations written out by hand.

Each row's comment is the arithmetic from PyTorch's documented formula; the expected values
come from that arithmetic, never from cnncalc's output. The last table holds edge cases where
an earlier cnncalc disagreed with PyTorch; each was run through torch 2.14 by hand.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
import sympy

from cnncalc.analysis.evaluate import Evaluation, evaluate_inline, evaluate_spec
from cnncalc.errors import CnncalcError, ShapeError, SpecError
from cnncalc.layers import KINDS
from cnncalc.render.explain import step_text
from cnncalc.spec import load_text


def run(call: str, shape: tuple[Any, ...], *, training: bool = False) -> Evaluation:
    """One inline PyTorch call on a whole tensor shape (batch dimension included)."""
    return evaluate_inline([call], shape, training=training)


def kind_of(call: str) -> str:
    return call.split("(", 1)[0].removeprefix("nn.")


# ----------------------------------------------------------------------------- output shapes

SHAPES: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = [
    # conv: out = floor((in + 2p - d(k-1) - 1)/s) + 1
    # floor((224 + 2*3 - 1*(7-1) - 1)/2) + 1 = floor(223/2) + 1 = 112
    ("Conv2d(3, 64, 7, stride=2, padding=3)", (1, 3, 224, 224), (1, 64, 112, 112)),
    # floor((50 + 2*1 - 2*(5-1) - 1)/3) + 1 = floor(43/3) + 1 = 15
    ("Conv1d(4, 8, 5, stride=3, padding=1, dilation=2)", (2, 4, 50), (2, 8, 15)),
    # D: floor((8-2-1)/1)+1 = 6; H: floor((9-0-1)/2)+1 = 5; W: floor((10-1-1)/3)+1 = 3
    ("Conv3d(2, 4, (3, 1, 2), stride=(1, 2, 3))", (1, 2, 8, 9, 10), (1, 4, 6, 5, 3)),
    # unbatched [C, H, W]: floor((10-2-1)/1)+1 = 8
    ("Conv2d(3, 8, 3)", (3, 10, 10), (8, 8, 8)),
    # a 1-tuple stride is repeated: floor((8-2-1)/2)+1 = 3
    ("Conv2d(3, 4, 3, stride=(2,))", (1, 3, 8, 8), (1, 4, 3, 3)),
    # 'same', even kernel: total padding 1*(4-1) = 3 (1 left, 2 right): 9 + 3 - 3 = 9
    ("Conv2d(4, 4, 4, padding='same')", (1, 4, 9, 9), (1, 4, 9, 9)),
    # 'same', dilated: total padding 3*(3-1) = 6: size kept
    ("Conv2d(4, 4, 3, padding='same', dilation=3)", (1, 4, 9, 9), (1, 4, 9, 9)),
    # 'valid' = no padding: floor((9-2-1)/1)+1 = 7
    ("Conv2d(4, 4, 3, padding='valid')", (1, 4, 9, 9), (1, 4, 7, 7)),
    # reflect padding 2 < 3: floor((3 + 4 - 2 - 1)/1)+1 = 5
    ("Conv2d(2, 2, 3, padding=2, padding_mode='reflect')", (1, 2, 3, 3), (1, 2, 5, 5)),
    # circular padding 3 <= 3 (wraps once): floor((3 + 6 - 2 - 1)/1)+1 = 7
    ("Conv2d(2, 2, 3, padding=3, padding_mode='circular')", (1, 2, 3, 3), (1, 2, 7, 7)),
    # non-zero mode with padding=(2,): F.pad pads only W; H: 10-1+1 = 10, W: 8 + 4 - 1 = 11
    ("Conv2d(2, 3, (1, 2), padding=(2,), padding_mode='reflect')", (2, 10, 8), (3, 10, 11)),
    # transposed: out = (in-1)*s - 2p + d(k-1) + output_padding + 1
    # (14-1)*2 - 2*1 + 1*(4-1) + 0 + 1 = 26 - 2 + 3 + 1 = 28
    ("ConvTranspose2d(16, 8, 4, stride=2, padding=1)", (1, 16, 14, 14), (1, 8, 28, 28)),
    # (5-1)*3 - 2*1 + 2*(3-1) + 2 + 1 = 12 - 2 + 4 + 2 + 1 = 17 (output_padding 2 < stride 3)
    ("ConvTranspose1d(4, 2, 3, stride=3, padding=1, output_padding=2, dilation=2)", (1, 4, 5), (1, 2, 17)),
    # unbatched 3-D: (in-1)*2 + 1*(2-1) + 1 = 2*in: 3->6, 4->8, 5->10
    ("ConvTranspose3d(2, 2, 2, stride=2)", (2, 3, 4, 5), (2, 6, 8, 10)),
    # max pool: floor((112 + 2*1 - 1*(3-1) - 1)/2) + 1 = floor(111/2) + 1 = 56
    ("MaxPool2d(3, stride=2, padding=1)", (1, 64, 112, 112), (1, 64, 56, 56)),
    # ceil_mode: ceil((5-1-1)/2) + 1 = 3; last window starts at (3-1)*2 = 4 < 5 + 0: kept
    ("MaxPool2d(2, stride=2, ceil_mode=True)", (1, 1, 5, 5), (1, 1, 3, 3)),
    # ceil_mode drop: ceil((5 + 2 - 1 - 1)/2) + 1 = 4; window 4 would start at (4-1)*2 = 6 >= 5 + 1,
    # inside the right padding, so PyTorch drops it: 3
    ("MaxPool1d(2, stride=2, padding=1, ceil_mode=True)", (1, 1, 5), (1, 1, 3)),
    # stride defaults to kernel_size: floor((8 + 2 - 3*(3-1) - 1)/3) + 1 = floor(3/3) + 1 = 2
    ("MaxPool1d(3, padding=1, dilation=3)", (1, 3, 8), (1, 3, 2)),
    # floor((5-1-1)/2)+1 = 2, floor((6-1-1)/2)+1 = 3, floor((7-1-1)/2)+1 = 3
    ("MaxPool3d(2)", (1, 1, 5, 6, 7), (1, 1, 2, 3, 3)),
    # unbatched: floor((8-2-1)/3)+1 = 2
    ("MaxPool2d(3)", (3, 8, 8), (3, 2, 2)),
    # a 1-tuple kernel is repeated for pools: floor((8-2-1)/3)+1 = 2
    ("MaxPool2d(kernel_size=(3,))", (1, 3, 8, 8), (1, 3, 2, 2)),
    # LPPool: avg pool's shape without padding or dilation, stride defaulting to kernel_size
    # floor((10 - 1*(3-1) - 1)/2) + 1 = floor(7/2) + 1 = 4
    ("LPPool2d(2, 3, stride=2)", (1, 4, 10, 10), (1, 4, 4, 4)),
    # stride = kernel_size = 4: floor((10 - 3 - 1)/4) + 1 = 2
    ("LPPool1d(1.5, 4)", (2, 3, 10), (2, 3, 2)),
    # ceil((5 - 1 - 1)/2) + 1 = 3; the last window starts at (3-1)*2 = 4 < 5: kept
    ("LPPool2d(2, 2, ceil_mode=True)", (1, 5, 5), (1, 3, 3)),
    # ceil((6 + 2 - 2 - 1)/2) + 1 = ceil(5/2) + 1 = 4; start (4-1)*2 = 6 < 6 + 1: kept
    ("AvgPool2d(3, stride=2, padding=1, ceil_mode=True)", (1, 3, 6, 6), (1, 3, 4, 4)),
    # floor((10-3-1)/3) + 1 = 3
    ("AvgPool1d(4, stride=3)", (2, 5, 10), (2, 5, 3)),
    # D: ceil((5+2-1-1)/2)+1 = 4, start 6 >= 5+1 -> 3; H: ceil(6/2)+1 = 4, start 6 < 7 -> 4;
    # W: ceil(7/2)+1 = 5, start 8 >= 7+1 -> 4
    ("AvgPool3d(2, stride=2, padding=1, ceil_mode=True)", (1, 3, 5, 6, 7), (1, 3, 3, 4, 4)),
    # floor((8-2-1)/3)+1 = 2 (a negative divisor_override is allowed; it only scales values)
    ("AvgPool2d(3, divisor_override=-1)", (1, 3, 8, 8), (1, 3, 2, 2)),
    # adaptive: the output size is the target; None keeps the input's size
    ("AdaptiveAvgPool2d((5, 7))", (1, 2, 10, 9), (1, 2, 5, 7)),
    ("AdaptiveAvgPool2d((None, 3))", (1, 2, 10, 9), (1, 2, 10, 3)),
    ("AdaptiveMaxPool1d(4)", (3, 9), (3, 4)),
    ("AdaptiveAvgPool3d(1)", (1, 8, 4, 5, 6), (1, 8, 1, 1, 1)),
    ("AdaptiveMaxPool3d((2, None, 3))", (1, 1, 4, 5, 6), (1, 1, 2, 5, 3)),
    ("AdaptiveMaxPool2d(3, return_indices=True)", (1, 1, 8, 8), (1, 1, 3, 3)),
    # padding tuples list the last axis first: W 5+1+2 = 8, H 5+3+4 = 12
    ("ZeroPad2d((1, 2, 3, 4))", (1, 1, 5, 5), (1, 1, 12, 8)),
    # a 2-tuple pads only the last axis: 4+1+2 = 7
    ("ZeroPad2d((1, 2))", (1, 1, 4, 4), (1, 1, 4, 7)),
    # constant padding works on any rank: 4+1+1 = 6
    ("ZeroPad2d(1)", (4, 4), (6, 6)),
    # six values pad three axes: W 4+1+2 = 7, H 4+3+4 = 11, dim 1: 1+5+6 = 12
    ("ZeroPad2d((1, 2, 3, 4, 5, 6))", (1, 1, 4, 4), (1, 12, 11, 7)),
    ("ZeroPad3d(1)", (1, 2, 3, 4), (1, 4, 5, 6)),
    # 4 + 2 + 3 = 9
    ("ZeroPad1d((2, 3))", (1, 3, 4), (1, 3, 9)),
    # negative padding crops: 4 + 2 - 1 = 5
    ("ConstantPad1d((2, -1), 0.5)", (1, 3, 4), (1, 3, 5)),
    # crop all 4 on the left, then pad 5 on the right: 4 - 4 + 5 = 5
    ("ConstantPad2d((-4, 5, 0, 0), 2.0)", (1, 4, 4), (1, 4, 5)),
    ("ConstantPad3d(1, 0.0)", (2, 3, 4), (4, 5, 6)),
    # reflection: each pad < size; negative pads crop: 4 - 1 + 3 = 6
    ("ReflectionPad2d((-1, 3, 0, 0))", (1, 3, 4, 4), (1, 3, 4, 6)),
    ("ReflectionPad1d(2)", (3, 5), (3, 9)),
    # 1 < 3, 4, 5: each side + 2
    ("ReflectionPad3d(1)", (1, 2, 3, 4, 5), (1, 2, 5, 6, 7)),
    # six values on a 4-D input = 3-D padding of an unbatched input: 4+1+2, 4+1+1, 3+1+1
    ("ReflectionPad2d((1, 2, 1, 1, 1, 1))", (1, 3, 4, 4), (1, 5, 6, 7)),
    # replication has no size limit: 4 + 10 + 10 = 24
    ("ReplicationPad2d(10)", (3, 4, 4), (3, 24, 24)),
    # W 2+1 = 3, H 2+2 = 4, D 2+3 = 5
    ("ReplicationPad3d((1, 0, 2, 0, 3, 0))", (1, 1, 2, 2, 2), (1, 1, 5, 4, 3)),
    # circular: crop 4, wrap 2 (<= 4): 4 - 4 + 2 = 2
    ("CircularPad1d((-4, 2))", (1, 3, 4), (1, 3, 2)),
    ("CircularPad2d(1)", (2, 3, 4), (2, 5, 6)),
    ("CircularPad3d(1)", (1, 1, 2, 3, 4), (1, 1, 4, 5, 6)),
    # Linear maps the last dimension
    ("Linear(3, 4)", (2, 5, 3), (2, 5, 4)),
    ("Linear(8, 2)", (8,), (2,)),
    # Flatten(1, -1): 3*4*5 = 60
    ("Flatten()", (2, 3, 4, 5), (2, 60)),
    ("Flatten(0, -1)", (2, 3, 4), (24,)),
    # start_dim -2 is dim 1 of a 3-D input: 3*4 = 12
    ("Flatten(-2)", (2, 3, 4), (2, 12)),
    ("Flatten(2, 2)", (2, 3, 4), (2, 3, 4)),
    # -1 is inferred: 6/2 = 3
    ("Unflatten(1, (2, -1))", (4, 6), (4, 2, 3)),
    ("Unflatten(-1, (3, 2))", (4, 6), (4, 3, 2)),
    # C/r^2 = 18/9 = 2, H*r = 12, W*r = 15
    ("PixelShuffle(3)", (1, 18, 4, 5), (1, 2, 12, 15)),
    # C*r^2 = 32, H/r = 2, W/r = 3 (unbatched)
    ("PixelUnshuffle(2)", (8, 4, 6), (32, 2, 3)),
    ("ChannelShuffle(4)", (1, 8, 3, 3), (1, 8, 3, 3)),
    # upsample: floor(in * scale) in double precision
    ("Upsample(scale_factor=2)", (1, 3, 4, 5), (1, 3, 8, 10)),
    # 0.29 is 0.28999999999999998 in binary: 100 * 0.29 = 28.999999999999996 -> 28, not 29
    ("Upsample(scale_factor=0.29)", (1, 1, 100), (1, 1, 28)),
    # floor(7*1.5) = floor(10.5) = 10, floor(9*2.25) = floor(20.25) = 20
    ("Upsample(scale_factor=(1.5, 2.25), mode='bicubic', align_corners=True)", (2, 3, 7, 9), (2, 3, 10, 20)),
    ("Upsample(size=(5, 6, 7), mode='trilinear')", (1, 1, 10, 30, 70), (1, 1, 5, 6, 7)),
    ("Upsample(size=4)", (1, 3, 10), (1, 3, 4)),
    # area mode: floor(10*0.7) = 7, floor(100*0.7) = floor(70.0) = 70
    ("Upsample(scale_factor=0.7, mode='area')", (1, 3, 10, 100), (1, 3, 7, 70)),
    # GLU halves its dim (default -1): 4/2 = 2; dim 0: 4/2 = 2
    ("GLU()", (3, 4), (3, 2)),
    ("GLU(0)", (4, 5), (2, 5)),
    # Identity takes and ignores any arguments
    ("Identity(3, 4, x=5)", (2, 3), (2, 3)),
    ("Softmax(dim=-1)", (), ()),
    ("Softmax2d()", (3, 4, 5), (3, 4, 5)),
]


@pytest.mark.parametrize(("call", "shape", "output"), SHAPES, ids=[c for c, _, _ in SHAPES])
def test_output_shape(call: str, shape: tuple[int, ...], output: tuple[int, ...]) -> None:
    assert run("nn." + call, shape).output == output


SAME_SHAPE = [
    "ReLU()", "ReLU6(inplace=True)", "SiLU()", "Hardswish()", "Hardsigmoid()", "Mish()", "SELU()",
    "Sigmoid()", "Tanh()", "Tanhshrink()", "Softsign()", "LogSigmoid()", "CELU(0.5)",
    "Softplus(beta=2, threshold=10)", "Threshold(0.1, 20)", "Hardshrink(0.5)", "Softshrink(0)",
    "RReLU(0.1, 0.3)", "LeakyReLU(0.2)", "ELU(alpha=2.0)", "Hardtanh(-2.0, 2.0)", "GELU('tanh')",
    "Softmax(dim=1)", "LogSoftmax(dim=-1)", "Softmin(dim=0)", "Dropout(0.1)", "Dropout1d()",
    "Dropout2d()", "Dropout3d()", "AlphaDropout(0.2)", "FeatureAlphaDropout(0.2)", "Identity()",
    "BatchNorm1d(4)", "InstanceNorm1d(4)", "GroupNorm(2, 4)", "LayerNorm(5)", "PReLU(4)",
]


@pytest.mark.parametrize("call", SAME_SHAPE)
def test_same_shape_layers(call: str) -> None:
    # a batched [N, C, L] input (3-D suits the 1-D layers; the element-wise ones take any rank)
    result = run("nn." + call, (2, 4, 5))
    assert result.output == (2, 4, 5)
    assert result.macs == 0


# ----------------------------------------------------------------------------- parameters and buffers

PARAMS: list[tuple[str, tuple[int, ...], int, int, int]] = [
    # (call, input, params, bias params, buffers)
    # conv: Cout*(Cin/groups)*prod(k) + Cout*bias
    ("Conv2d(3, 64, 7, stride=2, padding=3, bias=False)", (1, 3, 224, 224), 64 * 3 * 49, 0, 0),  # 9408
    ("Conv2d(3, 64, 3)", (1, 3, 8, 8), 64 * 3 * 9 + 64, 64, 0),  # 1728 + 64 = 1792
    ("Conv2d(32, 64, 3, groups=4)", (1, 32, 8, 8), 64 * 8 * 9 + 64, 64, 0),  # 4608 + 64 = 4672
    ("Conv2d(16, 16, 3, groups=16, bias=False)", (1, 16, 8, 8), 16 * 1 * 9, 0, 0),  # depthwise: 144
    ("Conv1d(4, 8, 5, bias=False)", (1, 4, 9), 8 * 4 * 5, 0, 0),  # 160
    ("Conv3d(2, 4, (3, 1, 2))", (1, 2, 8, 9, 10), 4 * 2 * 6 + 4, 4, 0),  # 48 + 4 = 52
    # transposed: weight [Cin, Cout/groups, *k]: Cin*(Cout/groups)*prod(k) + Cout*bias
    ("ConvTranspose2d(16, 8, 4, stride=2, padding=1)", (1, 16, 14, 14), 16 * 8 * 16 + 8, 8, 0),  # 2056
    ("ConvTranspose2d(4, 6, 3, groups=2, bias=False)", (1, 4, 5, 5), 4 * 3 * 9, 0, 0),  # 108
    # BatchNorm: weight + bias = 2C; running mean + variance = 2C buffers (num_batches_tracked not counted)
    ("BatchNorm2d(64)", (2, 64, 4, 4), 128, 64, 128),
    ("BatchNorm2d(64, affine=False)", (2, 64, 4, 4), 0, 0, 128),
    ("BatchNorm2d(64, track_running_stats=False)", (2, 64, 4, 4), 128, 64, 0),
    ("BatchNorm2d(64, bias=False)", (2, 64, 4, 4), 64, 0, 128),  # keyword-only bias: weight alone
    ("BatchNorm1d(10)", (4, 10), 20, 10, 20),
    ("BatchNorm3d(3)", (2, 3, 2, 2, 2), 6, 3, 6),
    # InstanceNorm: no affine weights and no running statistics by default
    ("InstanceNorm2d(8)", (1, 8, 4, 4), 0, 0, 0),
    ("InstanceNorm2d(8, affine=True)", (1, 8, 4, 4), 16, 8, 0),
    ("InstanceNorm1d(8, affine=True, track_running_stats=True, bias=False)", (1, 8, 4), 8, 0, 16),
    ("InstanceNorm3d(2, track_running_stats=True)", (2, 2, 2, 2), 0, 0, 4),
    # GroupNorm: 2C affine, no buffers
    ("GroupNorm(4, 32)", (2, 32, 8, 8), 64, 32, 0),
    ("GroupNorm(4, 32, affine=False)", (2, 32, 8, 8), 0, 0, 0),
    ("GroupNorm(4, 32, bias=False)", (2, 32, 8, 8), 32, 0, 0),
    # LayerNorm: weight and bias of prod(normalized_shape) each
    ("LayerNorm(16)", (2, 5, 16), 32, 16, 0),
    ("LayerNorm((5, 16))", (2, 5, 16), 160, 80, 0),  # 2 * 5*16
    ("LayerNorm(16, elementwise_affine=False)", (2, 5, 16), 0, 0, 0),
    ("LayerNorm(16, bias=False)", (2, 5, 16), 16, 0, 0),
    # Linear: in*out + out*bias
    ("Linear(512, 1000)", (2, 512), 512 * 1000 + 1000, 1000, 0),  # 513000
    ("Linear(512, 1000, bias=False)", (2, 512), 512 * 1000, 0, 0),
    ("PReLU()", (1, 8, 4, 4), 1, 0, 0),
    ("PReLU(8)", (1, 8, 4, 4), 8, 0, 0),
    ("MaxPool2d(2)", (1, 8, 4, 4), 0, 0, 0),
    ("Upsample(scale_factor=2)", (1, 8, 4, 4), 0, 0, 0),
]


@pytest.mark.parametrize(("call", "shape", "params", "bias", "buffers"), PARAMS, ids=[p[0] for p in PARAMS])
def test_params_bias_and_buffers(call: str, shape: tuple[int, ...], params: int, bias: int, buffers: int) -> None:
    result = run("nn." + call, shape)
    assert (result.params, result.bias, result.buffers) == (params, bias, buffers)


# ----------------------------------------------------------------------------- MACs

MACS: list[tuple[str, tuple[int, ...], int]] = [
    # conv: output elements * (Cin/groups) * prod(k)
    # ResNet stem: 64*112*112 = 802816 outputs, 3*7*7 = 147 each: 118013952
    ("Conv2d(3, 64, 7, stride=2, padding=3, bias=False)", (1, 3, 224, 224), 802816 * 147),
    # 2*64*8*8 = 8192 outputs, (32/4)*3*3 = 72 each: 589824
    ("Conv2d(32, 64, 3, groups=4, padding=1)", (2, 32, 8, 8), 8192 * 72),
    # depthwise: 16*10*10 = 1600 outputs, 1*9 each: 14400
    ("Conv2d(16, 16, 3, padding=1, groups=16)", (1, 16, 10, 10), 1600 * 9),
    # transposed: input elements * (Cout/groups) * prod(k): 16*14*14 = 3136 inputs, 8*16 = 128 each: 401408
    ("ConvTranspose2d(16, 8, 4, stride=2, padding=1)", (1, 16, 14, 14), 3136 * 128),
    # 4*5 = 20 inputs, (6/2)*3 = 9 each: 180
    ("ConvTranspose1d(4, 6, 3, groups=2)", (1, 4, 5), 20 * 9),
    # linear: output elements * in_features: 2*1000 outputs, 512 each: 1024000
    ("Linear(512, 1000)", (2, 512), 2000 * 512),
    # 2*5*4 = 40 outputs, 3 each: 120
    ("Linear(3, 4)", (2, 5, 3), 40 * 3),
    ("BatchNorm2d(4)", (2, 4, 3, 3), 0),
    ("AvgPool2d(2)", (1, 4, 4, 4), 0),
]


@pytest.mark.parametrize(("call", "shape", "macs"), MACS, ids=[m[0] for m in MACS])
def test_macs(call: str, shape: tuple[int, ...], macs: int) -> None:
    assert run("nn." + call, shape).macs == macs


MAC_STEPS: list[tuple[str, tuple[int, ...], str]] = [
    # the formula over the positions, then the same with the numbers put in; the result with
    # thousands separators (the one number formatter of render/)
    ("Conv2d(3, 64, 7, stride=2, padding=3, bias=False)", (1, 3, 224, 224),
     "MACs = N*C_out*H_out*W_out*(C_in/groups)*kh*kw = 1*64*112*112*(3/1)*7*7 = 118,013,952"),
    # 2*64*8*8*8*3*3 = 589824
    ("Conv2d(32, 64, 3, groups=4, padding=1)", (2, 32, 8, 8),
     "MACs = N*C_out*H_out*W_out*(C_in/groups)*kh*kw = 2*64*8*8*(32/4)*3*3 = 589,824"),
    # unbatched: floor((50 - 4 - 1)/1) + 1 = 46; 8*46*3*5 = 5520
    ("Conv1d(3, 8, 5)", (3, 50), "MACs = C_out*L_out*(C_in/groups)*kl = 8*46*(3/1)*5 = 5,520"),
    # 6, 14, 14 out; 1*8*6*14*14*3*27 = 762048
    ("Conv3d(3, 8, 3)", (1, 3, 8, 16, 16),
     "MACs = N*C_out*D_out*H_out*W_out*(C_in/groups)*kd*kh*kw = 1*8*6*14*14*(3/1)*3*3*3 = 762,048"),
    # on the input positions: 1*16*14*14*8*4*4 = 401408
    ("ConvTranspose2d(16, 8, 4, stride=2, padding=1)", (1, 16, 14, 14),
     "MACs = N*C_in*H_in*W_in*(C_out/groups)*kh*kw = 1*16*14*14*(8/1)*4*4 = 401,408"),
    # 1*4*5*3*3 = 180
    ("ConvTranspose1d(4, 6, 3, groups=2)", (1, 4, 5), "MACs = N*C_in*L_in*(C_out/groups)*kl = 1*4*5*(6/2)*3 = 180"),
    # 2*1000*512 = 1024000
    ("Linear(512, 1000)", (2, 512), "MACs = N*out_features*in_features = 2*1000*512 = 1,024,000"),
    # 2*5*4*3 = 120
    ("Linear(3, 4)", (2, 5, 3), "MACs = N*d1*out_features*in_features = 2*5*4*3 = 120"),
]


@pytest.mark.parametrize(("call", "shape", "step"), MAC_STEPS, ids=[m[0] for m in MAC_STEPS])
def test_explain_writes_the_mac_formula_with_numbers(call: str, shape: tuple[int, ...], step: str) -> None:
    (row,) = evaluate_inline(["nn." + call], shape, explain=True).rows
    assert [step_text(s) for s in row.steps if s.lhs == "MACs"] == [step]


# ----------------------------------------------------------------------------- symbols

K = sympy.Symbol("k", positive=True, integer=True)  # cnncalc's free widths are positive integers
H = sympy.Symbol("h", positive=True, integer=True)


def test_symbolic_bottleneck_params_and_macs() -> None:
    # the seed problem's bottleneck F on [1, 64, 16, 16]: 1x1 to k, 3x3 k to k, 1x1 back to 64
    result = evaluate_inline(
        ["nn.Conv2d(64, k, 1)", "nn.ReLU()", "nn.Conv2d(k, k, 3, padding=1)", "nn.ReLU()", "nn.Conv2d(k, 64, 1)"],
        (1, 64, 16, 16),
    )
    # weights: 64k + 9k^2 + 64k; biases: k + k + 64
    assert sympy.expand(result.params - (9 * K**2 + 130 * K + 64)) == 0
    assert sympy.expand(result.params - result.bias - (9 * K**2 + 128 * K)) == 0
    # MACs: 256k outputs * 64, 256k outputs * 9k, 64*256 outputs * k
    assert sympy.expand(result.macs - (2304 * K**2 + 32768 * K)) == 0
    assert result.output == (1, 64, 16, 16)


def test_symbolic_channels_flow_through_shapes() -> None:
    result = evaluate_inline(["nn.Conv2d(3, 2*k, 3, stride=2)", "nn.BatchNorm2d()"], (1, 3, 32, 32))
    # floor((32 - 2 - 1)/2) + 1 = 15
    assert result.output == (1, 2 * K, 15, 15)
    conv, norm = result.rows
    assert sympy.expand(conv.params - (2 * K * 27 + 2 * K)) == 0
    assert sympy.expand(norm.params - 4 * K) == 0
    assert sympy.expand(norm.buffers - 4 * K) == 0


def test_symbolic_spatial_size() -> None:
    (row,) = evaluate_inline(["nn.Conv2d(3, 8, 3, stride=2, padding=1)"], (1, 3, H, H)).rows
    side = sympy.floor((H + 2 - 2 - 1) / sympy.Integer(2)) + 1
    assert row.output[:2] == (1, 8)
    assert sympy.simplify(row.output[2] - side) == 0
    assert sympy.expand(row.macs - 8 * side**2 * 27) == 0


# ----------------------------------------------------------------------------- merges (spec only)

def test_merge_layers() -> None:
    text = textwrap.dedent(
        """\
        name: merges
        input: [4, 8, 8]
        layers:
          - Conv2d: {out_channels: 6, kernel_size: 1, name: a}
          - Conv2d: {out_channels: 2, kernel_size: 1, from: input, name: b}
          - Concat: {from: [a, b], name: both}
          - AdaptiveAvgPool2d: {output_size: 1, name: squeeze}
          - Mul: {from: [both, squeeze]}
          - Add: {from: [both, both]}
        """
    )
    (evaluation,) = evaluate_spec(load_text(text, "merges.yaml"))
    outputs = [row.output for row in evaluation.rows]
    # Concat on dim 1: 6 + 2 = 8 channels; Mul broadcasts [1,8,1,1] over [1,8,8,8]; Add of equal shapes
    assert outputs[2:] == [(1, 8, 8, 8), (1, 8, 1, 1), (1, 8, 8, 8), (1, 8, 8, 8)]


def test_merge_shape_mismatch_is_an_error() -> None:
    text = """\
name: bad-add
input: [4, 8, 8]
layers:
  - Conv2d: {out_channels: 6, kernel_size: 1, name: a}
  - Add: {from: [a, input]}
"""
    with pytest.raises(ShapeError, match="cannot be broadcast"):
        evaluate_spec(load_text(text, "bad.yaml"))


# ----------------------------------------------------------------------------- errors

ERRORS: list[tuple[str, tuple[int, ...], type[CnncalcError], str]] = [
    ("Conv2d(3, 64, 3)", (1, 4, 8, 8), ShapeError, "does not match the incoming 4 channels"),
    ("Conv2d(4, 6, 3, groups=4)", (1, 4, 8, 8), SpecError, "out_channels must be divisible by groups"),
    ("Conv2d(4, 4, 3, stride=2, padding='same')", (1, 4, 8, 8), SpecError, "not supported for strided"),
    # floor((3 - 4 - 1)/1) + 1 = -1
    ("Conv2d(4, 4, 5)", (1, 4, 3, 3), ShapeError, "too small"),
    ("Conv2d(3, 4, kernel_size=(3,))", (1, 3, 8, 8), SpecError, "one value per spatial axis"),
    ("Conv2d(3, 4, 3)", (3, 8), ShapeError, "3-D or 4-D"),
    ("Conv2d(2, 2, 3, padding=3, padding_mode='reflect')", (1, 2, 3, 3), ShapeError, "reflect padding must be smaller"),
    # 'same' with k=4: 1 left, 2 right; the right 2 is not < 2
    ("Conv2d(4, 6, (1, 4), padding='same', padding_mode='reflect')", (1, 4, 3, 2), ShapeError, "reflect padding"),
    ("Conv2d(2, 2, 3, padding=4, padding_mode='circular')", (1, 2, 3, 3), ShapeError, "wrap around"),
    ("Conv3d(6, 3, 1, padding=(1,), padding_mode='circular')", (1, 6, 4, 4, 4), ShapeError, "one-value padding"),
    # output_padding 2 is not < max(stride 2, dilation 1)
    ("ConvTranspose2d(4, 4, 3, stride=2, output_padding=2)", (1, 4, 5, 5), ShapeError, "output padding must be smaller"),
    ("ConvTranspose2d(4, 4, 3, padding='same')", (1, 4, 5, 5), SpecError, "does not support padding='same'"),
    ("MaxPool2d(3, padding=2)", (1, 1, 8, 8), ShapeError, "at most half of kernel size"),
    ("AvgPool3d(3, padding=1)", (1, 1, 2, 2, 2), ShapeError, "smaller than the kernel"),
    ("AvgPool2d(3, divisor_override=0)", (1, 1, 8, 8), SpecError, "must not be zero"),
    ("AdaptiveAvgPool1d((None,))", (1, 3, 8), SpecError, "does not accept None"),
    ("AdaptiveAvgPool2d(0)", (1, 2, 5, 5), ShapeError, "too small"),
    ("BatchNorm2d(4)", (4, 2, 2), ShapeError, "4-D"),
    ("BatchNorm2d(3)", (2, 4, 2, 2), ShapeError, "does not match the incoming 4 channels"),
    ("BatchNorm1d(3, track_running_stats=False)", (1, 3), ShapeError, "more than 1 value per channel"),
    ("BatchNorm2d(4, eps=-1)", (2, 4, 2, 2), SpecError, "eps must be positive"),
    ("InstanceNorm2d(4)", (1, 4, 1, 1), ShapeError, "more than 1 spatial element"),
    ("InstanceNorm2d(3, affine=True)", (1, 4, 2, 2), ShapeError, "does not match"),
    ("GroupNorm(4, 6)", (2, 6, 2, 2), SpecError, "num_channels must be divisible by num_groups"),
    ("GroupNorm(3, 6, affine=False)", (2, 4, 2, 2), ShapeError, "divisible by num_groups"),
    # N*(C/G)*H*W = 1*(4/4)*1*1 = 1
    ("GroupNorm(4, 4)", (1, 4, 1, 1), ShapeError, "more than 1 value per group"),
    ("LayerNorm(())", (2, 4), SpecError, "at least one size"),
    ("LayerNorm(5)", (2, 4), ShapeError, "trailing dimensions"),
    ("Linear(4, 2)", (2, 3), ShapeError, "does not match the incoming last dimension 3"),
    ("Linear(3, 0)", (2, 3), ShapeError, "too small"),
    ("Flatten(2, 1)", (2, 3, 4), ShapeError, "start_dim cannot come after end_dim"),
    ("Flatten(3)", (2, 3, 4), ShapeError, "dimension out of range"),
    ("Unflatten(1, (4, -1))", (4, 6), ShapeError, "multiply to the size"),
    ("Dropout(p=1.5)", (2, 3), SpecError, "between 0 and 1"),
    ("Dropout1d()", (1, 3, 4, 4), ShapeError, "2-D or 3-D"),
    ("Hardtanh(1.0, -1.0)", (2, 3), SpecError, "max_val must be greater than min_val"),
    ("PReLU(3)", (3,), ShapeError, "num_parameters must be 1 or the number of channels"),
    ("CELU(0.0)", (2, 3), SpecError, "cannot be 0"),
    ("Softshrink(-0.5)", (2, 3), SpecError, "must not be negative"),
    ("RReLU(0.5, 0.1)", (2, 3), SpecError, "lower bound"),
    ("Softmax(dim=2)", (2, 3), ShapeError, "dimension out of range"),
    ("Softmax2d()", (4, 5), ShapeError, "3-D or 4-D"),
    ("GLU()", (3, 5), ShapeError, "must be even"),
    ("PixelShuffle(2)", (1, 6, 2, 2), ShapeError, "divisible by upscale_factor squared"),
    ("PixelUnshuffle(2)", (1, 2, 3, 4), ShapeError, "divisible by downscale_factor"),
    ("ChannelShuffle(3)", (1, 8, 2, 2), ShapeError, "divisible by groups"),
    ("Upsample(size=4, recompute_scale_factor=True)", (1, 3, 8, 8), SpecError, "not meaningful with an explicit size"),
    ("Upsample(scale_factor=2, mode='bilinear')", (1, 3, 4), ShapeError, "needs a 4-D input"),
    ("Upsample(scale_factor=2, align_corners=False)", (1, 3, 4, 4), SpecError, "align_corners"),
    ("Upsample(size=(2,))", (1, 3, 4, 4), SpecError, "one value per spatial axis"),
    # floor(10*0.05) = floor(0.5) = 0
    ("Upsample(scale_factor=0.05, mode='area')", (1, 3, 10, 100), ShapeError, "too small"),
    ("Upsample()", (1, 3, 4, 4), SpecError, "exactly one of size and scale_factor"),
    ("ZeroPad2d((1, 2, 3))", (1, 1, 4, 4), SpecError, "two values"),
    # 4 - 2 - 2 = 0
    ("ZeroPad2d(-2)", (1, 1, 4, 4), ShapeError, "too small"),
    ("ConstantPad2d((-5, 2, 0, 0), 0.0)", (1, 4, 4), ShapeError, "crops more than the whole dimension"),
    ("ReflectionPad2d(1)", (2, 3, 4, 4, 4), ShapeError, "needs a 3-D or 4-D input"),
    ("ReflectionPad1d((-4, 5))", (1, 3, 4), ShapeError, "reflection padding must be smaller"),
    ("CircularPad1d(5)", (1, 3, 4), ShapeError, "wrap around"),
    ("CircularPad2d(1)", (3, 4), ShapeError, "3-D or 4-D"),
    ("ReplicationPad2d(-2)", (1, 3, 4, 4), ShapeError, "too small"),
]


@pytest.mark.parametrize(("call", "shape", "error", "fragment"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(call: str, shape: tuple[int, ...], error: type[CnncalcError], fragment: str) -> None:
    with pytest.raises(error) as caught:
        run("nn." + call, shape)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(("call", "shape", "error", "fragment"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_say_what_was_expected_and_found(call: str, shape: tuple[int, ...], error: type[CnncalcError], fragment: str) -> None:
    with pytest.raises(error) as caught:
        run("nn." + call, shape)
    assert caught.value.expected and caught.value.found


# ----------------------------------------------------------------------------- checked against PyTorch

# Edge cases where cnncalc once disagreed with PyTorch; each expectation was confirmed by running
# the module in torch 2.14 (eval mode unless training=True). None means PyTorch raises.
PYTORCH_EDGES: list[tuple[str, tuple[int, ...], bool, tuple[int, ...] | None]] = [
    # BatchNorm uses batch statistics in training mode, or in eval mode without running stats:
    # then N*H*W must exceed 1. With running stats in eval mode one value is fine.
    ("BatchNorm1d(3)", (1, 3), False, (1, 3)),
    ("BatchNorm1d(3)", (1, 3), True, None),
    ("BatchNorm1d(3, track_running_stats=False)", (1, 3, 1), False, None),
    ("BatchNorm1d(3)", (2, 3), True, (2, 3)),
    # without weights or running stats num_features is never read
    ("BatchNorm2d(3, affine=False, track_running_stats=False)", (2, 4, 5, 5), False, (2, 4, 5, 5)),
    ("BatchNorm2d(3, affine=False)", (2, 4, 5, 5), False, None),
    # eps=0 is fine on running stats, not on batch stats
    ("BatchNorm2d(4, eps=0)", (2, 4, 2, 2), False, (2, 4, 2, 2)),
    ("BatchNorm2d(4, eps=0)", (2, 4, 2, 2), True, None),
    ("InstanceNorm2d(4, track_running_stats=True)", (1, 4, 1, 1), False, (1, 4, 1, 1)),
    ("InstanceNorm2d(4, track_running_stats=True)", (1, 4, 1, 1), True, None),
    ("InstanceNorm1d(4)", (4, 1), False, None),
    ("GroupNorm(2, 4, affine=False)", (2, 6, 5), False, (2, 6, 5)),
    ("GroupNorm(1, 1)", (1, 1), False, None),
    ("GroupNorm(1, 1)", (2, 1, 1, 1), False, (2, 1, 1, 1)),
    ("LayerNorm(())", (2, 4), False, None),
    # avg_pool3d alone checks the unpadded input against the kernel
    ("AvgPool3d(3, padding=1)", (1, 1, 3, 3, 2), False, None),
    ("AvgPool2d(3, padding=1)", (1, 1, 2, 2), False, (1, 1, 1, 1)),
    ("MaxPool3d(3, padding=1)", (1, 1, 2, 2, 2), False, (1, 1, 1, 1, 1)),
    ("AdaptiveMaxPool1d((None,))", (1, 3, 8), False, None),
    ("ConvTranspose2d(3, 4, kernel_size=(3,))", (1, 3, 8, 8), False, None),
    ("Conv2d(4, 6, (1, 4), padding='same', padding_mode='circular')", (1, 4, 3, 1), False, None),
    ("Conv2d(4, 6, (1, 3), padding='same', padding_mode='reflect')", (1, 4, 3, 2), False, (1, 6, 3, 2)),
    ("ConstantPad2d((-5, 2, 0, 0), 2.0)", (1, 4, 4), False, None),
    ("ReflectionPad1d(1)", (2, 2, 3, 4), False, None),
    ("ReplicationPad1d((1, 2, 3, 4))", (1, 3, 4, 4), False, (1, 3, 11, 7)),
    ("CircularPad1d((-5, 3))", (1, 3, 4), False, None),
    ("CircularPad2d((1, 1, 1, 1, 1, 1))", (1, 2, 3, 4), False, (1, 4, 5, 6)),
    ("Dropout1d()", (4,), False, None),
    ("Dropout2d()", (4,), False, (4,)),
    ("Dropout2d()", (4,), True, None),
    ("Dropout3d()", (4,), True, (4,)),
    ("Hardtanh(1, 1)", (3, 4), False, None),
    ("PReLU(3)", (2, 3), False, (2, 3)),
    ("Upsample(scale_factor=0, size=3)", (1, 3, 4, 4), False, (1, 3, 3, 3)),  # a falsy scale is None
    ("Upsample(size=4, recompute_scale_factor=1)", (1, 3, 10, 100), False, None),
    ("Upsample(scale_factor=2, mode='bilinear', align_corners=1)", (1, 3, 10, 10), False, None),
    ("Upsample(scale_factor=2)", (1, 0, 10, 10), False, None),
    ("Upsample(size=0, mode='area')", (1, 3, 4, 4), False, None),  # PyTorch: an empty tensor
    ("Flatten(1, 2)", (1, 0, 4), False, None),  # PyTorch: an empty tensor
    ("Linear(0, 3)", (1, 0), False, (1, 3)),
]


@pytest.mark.parametrize(
    ("call", "shape", "training", "output"), PYTORCH_EDGES, ids=[f"{c}-{s}-{'train' if t else 'eval'}" for c, s, t, _ in PYTORCH_EDGES]
)
def test_agrees_with_pytorch_on_edges(call: str, shape: tuple[int, ...], training: bool, output: tuple[int, ...] | None) -> None:
    if output is None:
        with pytest.raises(CnncalcError):
            run("nn." + call, shape, training=training)
    else:
        assert run("nn." + call, shape, training=training).output == output


def test_keyword_only_bias_is_not_positional() -> None:
    # BatchNorm1d(num_features, eps, momentum, affine, track_running_stats, device, dtype, *, bias)
    with pytest.raises(SpecError, match="at most 7 positional arguments"):
        run("nn.BatchNorm1d(4, 0.1, 0.1, True, True, None, None, False)", (2, 4))
    assert run("nn.BatchNorm1d(4, 0.1, 0.1, True, True, None, None, bias=False)", (2, 4)).params == 4


def test_specs_evaluate_in_eval_mode() -> None:
    # batch 1 into BatchNorm1d: fine in eval mode (running statistics), as for inference shapes
    (evaluation,) = evaluate_spec(load_text("name: t\ninput: [3]\nlayers:\n  - BatchNorm1d\n", "t.yaml"))
    assert evaluation.rows[0].output == (1, 3)
    assert evaluation.params == 6


# ----------------------------------------------------------------------------- coverage

# Kinds tested in test_layers_extra.py (mobile/modern helpers) rather than here.
EXTRA_COVERED = {"Narrow", "Permute", "LayerNorm2d", "StochasticDepth", "LayerScale", "LayerScale2d"}
# Kinds tested in test_layers_sizes.py (functional ops, crop and pad to a size).
EXTRA_COVERED |= {"Mean", "ReduceSum", "Amax", "Amin", "Transpose", "Reshape", "Squeeze", "Unsqueeze", "CenterCrop", "PadTo", "Interpolate"}
# Kinds tested in test_ultralytics.py against cases recorded from torch and ultralytics (MatMul, DFL).
EXTRA_COVERED |= {"MatMul", "DFL"}
MERGES = {"Add", "Mul", "Concat"}


def test_every_layer_kind_has_a_row() -> None:
    calls = [c for c, _, _ in SHAPES] + SAME_SHAPE + [p[0] for p in PARAMS] + [m[0] for m in MACS]
    calls += [e[0] for e in ERRORS] + [e[0] for e in PYTORCH_EDGES]
    covered = {kind_of(c) for c in calls} | EXTRA_COVERED | MERGES
    assert set(KINDS) - covered == set()
