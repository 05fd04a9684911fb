"""Receptive field, effective stride and effective padding (cnncalc/receptive.py).

Checked three ways: hand derivations with Araujo et al.'s recurrences written out below, a brute
force that propagates the set of input positions influencing each output position through
random small conv/pool stacks (no formula involved), and merge cases built by hand.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest

from cnncalc.analysis.evaluate import Evaluation, evaluate_inline, evaluate_spec
from cnncalc.analysis.receptive import AxisField, field_cells, receptive_fields
from cnncalc.spec import Limits, load_text
from cnncalc.spec.zoo import load_spec

from .conftest import SEED


def _spec(text: str) -> Evaluation:
    (evaluation,) = evaluate_spec(load_text(text, "<test>", Limits()))
    return evaluation


def _last(evaluation: Evaluation) -> tuple[AxisField, ...]:
    axes = receptive_fields(evaluation)[-1].axes
    assert axes is not None
    return axes


# ----------------------------------------------------------------------------- hand cases


@pytest.mark.parametrize(
    ("layers", "size", "stride", "padding"),
    [
        # one 3x3 conv, padding 1: r = 3, P = 1
        (["Conv2d(4, 4, 3, padding=1)"], 3, 1, 1),
        # two 3x3 convs: r = 1 + 2 + 2 = 5, P = 1 + 1 = 2
        (["Conv2d(4, 4, 3, padding=1)", "ReLU()", "Conv2d(4, 4, 3, padding=1)"], 5, 1, 2),
        # ... then a 2x2 max pool, stride 2: r = 5 + (2-1)*1 = 6, j = 2, P = 2
        (["Conv2d(4, 4, 3, padding=1)", "Conv2d(4, 4, 3, padding=1)", "MaxPool2d(2, 2)"], 6, 2, 2),
        # ... and a 3x3 conv after the pool sees through stride 2: r = 6 + 2*2 = 10, P = 2 + 1*2 = 4
        (["Conv2d(4, 4, 3, padding=1)", "Conv2d(4, 4, 3, padding=1)", "MaxPool2d(2, 2)", "Conv2d(4, 4, 3, padding=1)"], 10, 2, 4),
        # dilation 2: k_eff = 2*(3-1)+1 = 5
        (["Conv2d(4, 4, 3, padding=2, dilation=2)"], 5, 1, 2),
        # stride 2 then dilation 2: r = 3 + (5-1)*2 = 11, j = 2, P = 1 + 2*2 = 5
        (["Conv2d(4, 4, 3, stride=2, padding=1)", "Conv2d(4, 4, 3, padding=2, dilation=2)"], 11, 2, 5),
        # padding='same' with an even kernel: PyTorch pads d(k-1)//2 = 1 on the left
        (["Conv2d(4, 4, 4, padding='same')"], 4, 1, 1),
        # ZeroPad2d(2) then an unpadded 3x3: P = 2, r = 3
        (["ZeroPad2d(2)", "Conv2d(4, 4, 3)"], 3, 1, 2),
    ],
)
def test_hand_cases(layers: list[str], size: int, stride: int, padding: int) -> None:
    (h, w) = _last(evaluate_inline(layers, (1, 4, 32, 32)))
    for axis in (h, w):
        assert (axis.size, axis.stride, axis.padding) == (size, stride, padding)
        assert axis.exact


def test_seed_plain_block_sees_five_by_five() -> None:
    (evaluation,) = evaluate_spec(load_spec(SEED, Limits(), None), blocks=("plain",))
    fields = receptive_fields(evaluation)
    assert [field_cells(f) for f in fields] == [("3x3", "1x1", "1x1")] * 2 + [("5x5", "1x1", "2x2")] * 2


def test_resnet18_final_feature_map() -> None:
    """Araujo's recurrence by hand (j = jump, P = effective padding), torchvision's resnet18:
    stem 7x7/2 p3: r 7, j 2, P 3; max pool 3/2 p1: r 11, j 4, P 5;
    layer1 four 3x3 at j 4: r 11 + 4*2*4 = 43, P 5 + 4*4 = 21;
    layer2 3x3/2: r 51, j 8, P 25; three more: r 51 + 3*16 = 99, P 25 + 3*8 = 49;
    layer3 3x3/2: r 115, j 16, P 57; three more: r 211, P 105;
    layer4 3x3/2: r 243, j 32, P 121; three more: r 243 + 3*64 = 435, P 121 + 3*32 = 217.
    (Measured with torch too: the gradient of one layer4 output at a 1024x1024 input is non-zero
    on 435x435 input positions.) The 1x1/2 shortcuts lie inside the main path's field: no warning."""
    evaluation = load_and_evaluate("resnet18")
    fields = receptive_fields(evaluation)
    before_pool = next(i for i, r in enumerate(evaluation.rows) if r.type == "AdaptiveAvgPool2d") - 1
    assert field_cells(fields[before_pool]) == ("435x435", "32x32", "217x217")
    assert not any(f.warnings for f in fields)
    # the global pool unions its 7 positions: r = 435 + 6*32 = 627, input-size dependent
    pooled = fields[before_pool + 1]
    assert pooled.axes is not None and pooled.axes[0].size == 627 and pooled.axes[0].input_dependent


def load_and_evaluate(name: str) -> Evaluation:
    (evaluation,) = evaluate_spec(load_spec(name, Limits(), None))
    return evaluation


def test_transposed_conv_has_a_fractional_stride() -> None:
    # ConvTranspose1d(k=4, s=2, p=1): output o gathers inputs i in [(o+1-3)/2, (o+1)/2]:
    # j = 1/2, r = 1 + 3/2 = 5/2 (at most 2 input positions), u = -2/2 = -1 so P = 1
    evaluation = evaluate_inline(["ConvTranspose1d(1, 1, 4, stride=2, padding=1)"], (1, 1, 8))
    field = receptive_fields(evaluation)[-1]
    assert field.axes == (AxisField(Fraction(5, 2), Fraction(1, 2), -1, False, False),)
    assert field_cells(field) == ("<=2", "1/2", "1")
    assert any("fractional stride" in note for note in field.notes)


def test_adaptive_pool_is_input_size_dependent() -> None:
    # 3-tap conv (r 3, P 1) then AdaptiveAvgPool1d(2) on 8 positions: windows of 4 = pool k 4 s 4
    evaluation = evaluate_inline(["Conv1d(1, 1, 3, padding=1)", "AdaptiveAvgPool1d(2)"], (1, 1, 8))
    field = receptive_fields(evaluation)[-1]
    assert field.axes == (AxisField(6, 4, -1, True, True),)
    assert any("input-size dependent" in note for note in field.notes)
    # 8 -> 3 does not divide: the windows vary, the field is a bound
    uneven = receptive_fields(evaluate_inline(["AdaptiveAvgPool1d(3)"], (1, 1, 8)))[-1]
    assert not uneven.exact


def test_flatten_then_linear_sees_every_position() -> None:
    # 3x3 conv on 6x6 (r 3, P 1, 6 positions), Flatten, Linear: union of the 6 positions = 3 + 5 = 8
    evaluation = evaluate_inline(["Conv2d(2, 2, 3, padding=1)", "Flatten()", "Linear(72, 10)"], (1, 2, 6, 6))
    fields = receptive_fields(evaluation)
    assert field_cells(fields[1]) == ("3x3", "1x1", "1x1")  # flattening alone mixes nothing
    assert field_cells(fields[2]) == ("8x8", "6x6", "1x1")


# ----------------------------------------------------------------------------- merges


def test_residual_union_is_the_main_path() -> None:
    text = """
name: residual
input: [4, 8, 8]
blocks:
  basic:
    residual: true
    layers:
      - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
      - ReLU
      - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
layers:
  - basic
"""
    fields = receptive_fields(_spec(text))
    assert field_cells(fields[-1]) == ("5x5", "1x1", "2x2")
    assert not fields[-1].warnings


def test_branches_off_centre_warn_and_take_the_union() -> None:
    # branch b: pad one on the left/top, 2x2 conv: positions o-1..o (centre o - 1/2); branch a: o
    text = """
name: off-centre
input: [4, 8, 8]
layers:
  - Identity: {name: a}
  - ZeroPad2d: {padding: [1, 0, 1, 0], from: input}
  - Conv2d: {out_channels: 4, kernel_size: 2, name: b}
  - Add: {from: [a, b]}
"""
    field = receptive_fields(_spec(text))[-1]
    assert field_cells(field) == ("2x2", "1x1", "1x1")
    assert len(field.warnings) == 2 and all("centre" in w for w in field.warnings)


def test_branches_with_different_strides_warn() -> None:
    # on 4 positions: a 1x1 pool with stride 2 gives 2 positions (j 2), a 3-tap conv gives 2 (j 1)
    text = """
name: strides
input: [4, 4, 4]
layers:
  - MaxPool2d: {kernel_size: 1, stride: 2, name: a}
  - Conv2d: {out_channels: 4, kernel_size: 3, from: input, name: b}
  - Add: {from: [a, b]}
"""
    field = receptive_fields(_spec(text))[-1]
    assert any("stride" in w for w in field.warnings)
    assert field.axes is not None and field.axes[0].size == 3 and not field.exact  # the largest


def test_squeeze_excitation_gate_is_not_counted() -> None:
    text = """
name: se
input: [8, 8, 8]
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3, padding: 1, name: x}
  - AdaptiveAvgPool2d: {output_size: 1}
  - Conv2d: {out_channels: 8, kernel_size: 1}
  - Sigmoid
  - Mul: {from: x}
"""
    field = receptive_fields(_spec(text))[-1]
    assert field_cells(field) == ("3x3", "1x1", "1x1")
    assert any("broadcast" in n for n in field.notes)


def test_non_spatial_input_has_no_field() -> None:
    field = receptive_fields(evaluate_inline(["Linear(8, 4)"], (1, 8)))[-1]
    assert field.axes is None and field_cells(field) == ("-", "-", "-")


# ----------------------------------------------------------------------------- brute force


def _out_len(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's output length (conv: ceil_mode False), with the ceil-mode last-window rule."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _propagate(sets: list[frozenset[int]], layer: tuple[Any, ...]) -> list[frozenset[int]]:
    """Input positions influencing each output position, from the layer's index arithmetic only."""
    kind = layer[0]
    n = len(sets)
    if kind == "adaptive":
        out = layer[1]
        return [
            frozenset().union(*(sets[i] for i in range((o * n) // out, -(-((o + 1) * n) // out))))
            for o in range(out)
        ]
    if kind == "transposed":
        _, k, s, p, d = layer
        length = (n - 1) * s - 2 * p + d * (k - 1) + 1
        result: list[set[int]] = [set() for _ in range(length)]
        for i in range(n):
            for t in range(k):
                o = i * s - p + t * d
                if 0 <= o < length:
                    result[o] |= sets[i]
        return [frozenset(r) for r in result]
    _, k, s, p, d, ceil_mode = layer
    out = _out_len(n, k, s, p, d, ceil_mode)
    return [
        frozenset().union(*(sets[o * s - p + t * d] for t in range(k) if 0 <= o * s - p + t * d < n))
        for o in range(out)
    ]


def _call(layer: tuple[Any, ...], dims: int) -> str:
    kind = layer[0]
    if kind == "adaptive":
        return f"AdaptiveAvgPool{dims}d({layer[1]})"
    if kind == "transposed":
        _, k, s, p, d = layer
        return f"ConvTranspose{dims}d(1, 1, {k}, stride={s}, padding={p}, dilation={d})"
    _, k, s, p, d, ceil_mode = layer
    if kind == "conv":
        return f"Conv{dims}d(1, 1, {k}, stride={s}, padding={p}, dilation={d})"
    if kind == "max":
        return f"MaxPool{dims}d({k}, stride={s}, padding={p}, dilation={d}, ceil_mode={ceil_mode})"
    return f"AvgPool{dims}d({k}, stride={s}, padding={p}, ceil_mode={ceil_mode})"


def _random_layer(rng: random.Random, transposed: bool) -> tuple[Any, ...]:
    roll = rng.random()
    if transposed and roll < 0.25:
        return ("transposed", rng.randint(1, 4), rng.randint(1, 3), rng.randint(0, 1), rng.randint(1, 2))
    if roll < 0.1:
        return ("adaptive", rng.randint(2, 5))
    kind = rng.choice(["conv", "conv", "max", "avg"])
    k = rng.randint(1, 4)
    s = rng.randint(1, 3)
    d = rng.randint(1, 3) if kind != "avg" else 1
    p = rng.randint(0, k // 2) if kind != "conv" else rng.randint(0, 3)
    return (kind, k, s, p, d, kind != "conv" and rng.random() < 0.3)


def _random_stack(rng: random.Random, size: int, transposed: bool) -> list[tuple[Any, ...]] | None:
    """A stack of 1-4 layers whose every output is non-empty on `size` input positions."""
    layers = []
    n = size
    for _ in range(rng.randint(1, 4)):
        layer = _random_layer(rng, transposed)
        if layer[0] == "adaptive":
            n = layer[1]
        elif layer[0] == "transposed":
            _, k, s, p, d = layer
            n = (n - 1) * s - 2 * p + d * (k - 1) + 1
        else:
            n = _out_len(n, *layer[1:])
        if n < 1:
            return None
        layers.append(layer)
    return layers


def test_brute_force_1d_stacks() -> None:
    """Conv, max/avg pool (dilation, ceil_mode) and adaptive pools: every output position whose
    field lies inside the input sees exactly positions u + j*o .. u + j*o + r - 1 at the ends;
    every position's influence lies inside that interval; an exact field is attained."""
    rng = random.Random(20250611)
    checked = 0
    while checked < 300:
        size = rng.randint(12, 60)
        stack = _random_stack(rng, size, transposed=False)
        if stack is None:
            continue
        sets = [frozenset({i}) for i in range(size)]
        for layer in stack:
            sets = _propagate(sets, layer)
        (axis,) = _last(evaluate_inline([_call(layer, 1) for layer in stack], (1, 1, size)))
        interior = 0
        for o, seen in enumerate(sets):
            lo = axis.start + axis.stride * o
            hi = lo + axis.size - 1
            if seen:
                assert lo <= min(seen) and max(seen) <= hi, (stack, o)
            if axis.exact and lo >= 0 and hi <= size - 1:
                assert (min(seen), max(seen)) == (lo, hi), (stack, o)
                interior += 1
        checked += 1 if interior or not axis.exact else 0


def test_brute_force_with_transposed_convs() -> None:
    """With fractional strides the field is a bound: every influence set lies inside the
    continuous interval, and no output sees more than the reported size."""
    rng = random.Random(7)
    checked = 0
    while checked < 200:
        size = rng.randint(6, 30)
        stack = _random_stack(rng, size, transposed=True)
        if stack is None or not any(layer[0] == "transposed" for layer in stack):
            continue
        sets = [frozenset({i}) for i in range(size)]
        for layer in stack:
            sets = _propagate(sets, layer)
        field = receptive_fields(evaluate_inline([_call(layer, 1) for layer in stack], (1, 1, size)))[-1]
        assert field.axes is not None and not field.exact
        (axis,) = field.axes
        for o, seen in enumerate(sets):
            if seen:
                lo = axis.start + axis.stride * o
                assert lo <= min(seen) and max(seen) <= lo + axis.size - 1, (stack, o)
                assert max(seen) - min(seen) + 1 <= axis.shown_size, (stack, o)
        checked += 1


def test_single_transposed_conv_reaches_its_bound() -> None:
    """For one transposed conv without dilation the bound is attained by some output position."""
    for k in range(1, 7):
        for s in range(1, 4):
            sets = _propagate([frozenset({i}) for i in range(20)], ("transposed", k, s, 0, 1))
            (axis,) = _last(evaluate_inline([f"ConvTranspose1d(1, 1, {k}, stride={s})"], (1, 1, 20)))
            assert max(max(x) - min(x) + 1 for x in sets if x) == axis.shown_size, (k, s)


def test_brute_force_2d_stacks() -> None:
    """Per-axis kernels, strides, paddings and dilations on a 2-D map, positions as (y, x)."""
    rng = random.Random(99)
    for _ in range(25):
        h, w = rng.randint(10, 24), rng.randint(10, 24)
        stack = []
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(["conv", "max"])
            k = (rng.randint(1, 3), rng.randint(1, 3))
            s = (rng.randint(1, 2), rng.randint(1, 2))
            p = tuple(rng.randint(0, kk // 2) for kk in k)
            d = (rng.randint(1, 2), rng.randint(1, 2))
            stack.append((kind, k, s, p, d))
        sets = {(y, x): frozenset({(y, x)}) for y in range(h) for x in range(w)}
        size = (h, w)
        try:
            for _kind, k, s, p, d in stack:
                out = tuple(_out_len(size[a], k[a], s[a], p[a], d[a], False) for a in (0, 1))
                if min(out) < 1:
                    raise ValueError
                sets = {
                    (oy, ox): frozenset().union(
                        *(
                            sets[(oy * s[0] - p[0] + ty * d[0], ox * s[1] - p[1] + tx * d[1])]
                            for ty in range(k[0])
                            for tx in range(k[1])
                            if 0 <= oy * s[0] - p[0] + ty * d[0] < size[0] and 0 <= ox * s[1] - p[1] + tx * d[1] < size[1]
                        )
                    )
                    for oy in range(out[0])
                    for ox in range(out[1])
                }
                size = out
        except ValueError:
            continue
        calls = [
            f"Conv2d(1, 1, {k}, stride={s}, padding={p}, dilation={d})" if kind == "conv"
            else f"MaxPool2d({k}, stride={s}, padding={p}, dilation={d})"
            for kind, k, s, p, d in stack
        ]
        axes = _last(evaluate_inline(calls, (1, 1, h, w)))
        for (oy, ox), seen in sets.items():
            for axis, o, values, limit in ((axes[0], oy, {y for y, _ in seen}, h), (axes[1], ox, {x for _, x in seen}, w)):
                lo = axis.start + axis.stride * o
                hi = lo + axis.size - 1
                assert lo <= min(values) and max(values) <= hi
                if lo >= 0 and hi < limit:
                    assert (min(values), max(values)) == (lo, hi), (stack, oy, ox)
