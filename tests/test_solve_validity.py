"""The solver reports exactly the valid widths: a property test against brute force.

Random candidate blocks put a free width k where PyTorch checks something: channels (k, k - a,
k/2), kernel size, stride, padding and groups. For each, the widths the solver reports over
k = 1..R must be exactly the widths w for which the spec with k bound to w (`--set k=w`)
evaluates without error and whose count lies in the band: the numeric rule, width by width.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cnncalc.analysis.evaluate import evaluate_spec
from cnncalc.errors import CnncalcError
from cnncalc.solve.band import parse_reduce
from cnncalc.solve.bottleneck import choose, count_of, free_symbols, solve_bottleneck
from cnncalc.spec import load_text

R = 40  # the range searched, and brute-forced

CHANNELS = ["k", "k - 8", "k/2", "2*k", "k//2 + 1", "16", "24"]
KERNELS = ["1", "3", "k", "k - 2"]
STRIDES = ["1", "2", "k"]
PADDINGS = ["0", "1", "k - 3", "2*k - 10"]
GROUPS = ["1", "2", "k", "4"]
POOLS = ["", "MaxPool2d: {kernel_size: 2, stride: 2, ceil_mode: true}", "AvgPool2d: {kernel_size: k, padding: 1}"]
BANDS = ["0.1-0.9", "0.5-0.6", "0-0.99", "0.3", "0.9-0.999"]


def _conv(draw: Any) -> str:
    fields = {
        "out_channels": draw(st.sampled_from(CHANNELS)),
        "kernel_size": draw(st.sampled_from(KERNELS)),
        "stride": draw(st.sampled_from(STRIDES)),
        "padding": draw(st.sampled_from(PADDINGS)),
        "groups": draw(st.sampled_from(GROUPS)),
    }
    return "Conv2d: {" + ", ".join(f"{name}: {value}" for name, value in fields.items()) + "}"


@st.composite
def problems(draw: Any) -> tuple[str, str]:
    channels = draw(st.sampled_from([8, 12, 16]))
    size = draw(st.integers(6, 16))
    layers = [_conv(draw) for _ in range(draw(st.integers(1, 3)))]
    pool = draw(st.sampled_from(POOLS))
    if pool:
        layers.insert(draw(st.integers(0, len(layers))), pool)
    if draw(st.booleans()):
        layers.append(f"Conv2d: {{out_channels: {channels}, kernel_size: 1}}")
    residual = draw(st.booleans())
    text = (
        f"name: random\ninput: [{channels}, {size}, {size}]\nblocks:\n"
        f"  plain:\n    layers:\n      - Conv2d: {{out_channels: {channels}, kernel_size: 3, padding: 1}}\n"
        f"  cand:\n    residual: {'true' if residual else 'false'}\n    layers:\n"
        + "".join(f"      - {layer}\n" for layer in layers)
    )
    return text, draw(st.sampled_from(BANDS))


def _valid_in_band(text: str, band: str, metric: str, bias: bool) -> list[int]:
    """Brute force: the widths whose numeric evaluation succeeds and whose count is in the band."""
    spec = load_text(text, "<test>")
    (base,) = evaluate_spec(spec, blocks=("plain",))
    lower, upper = parse_reduce(band).bounds(count_of(base, metric, bias))
    found = []
    for width in range(1, R + 1):
        try:
            (cand,) = evaluate_spec(spec, blocks=("cand",), overrides={"k": width})
        except CnncalcError:
            continue
        count = Fraction(count_of(cand, metric, bias))
        if (lower is None or count >= lower) and count <= upper:
            found.append(width)
    return found


def _reported(text: str, band: str, metric: str) -> dict[bool, list[int]] | None:
    """The solver's widths per bias mode; None when the spec holds no valid width at all (exit 2)."""
    spec = load_text(text, "<test>")
    try:
        evaluations = evaluate_spec(spec)
    except CnncalcError:
        return None
    assume(bool(free_symbols(evaluations[1], metric)))  # else nothing to solve for
    base, cand = choose(evaluations, metric, "plain", "cand")
    result = solve_bottleneck(base, cand, parse_reduce(band), metric=metric, ranges={"k": (1, R)})
    return {s.bias: s.integers for s in result.solutions}


@pytest.mark.parametrize("metric", ["params", "macs"])
@given(problem=problems())
def test_reported_widths_are_exactly_the_valid_ones(metric: str, problem: tuple[str, str]) -> None:
    text, band = problem
    reported = _reported(text, band, metric)
    if reported is None:
        # refused at once: then no width in range may be valid either
        assert all(not _valid_in_band(text, "0-1", metric, bias) for bias in (False, True)), text
        return
    for bias, widths in reported.items():
        assert widths == _valid_in_band(text, band, metric, bias), (text, band, bias)


# A held-out family: kinds and argument forms the generator above never uses (transposed convs,
# norms, pools with symbolic windows, adaptive pools, upsampling, pixel shuffles, linear heads).
HELD_OUT = [
    "ConvTranspose2d: {out_channels: k, kernel_size: 2, stride: 2}",
    "ConvTranspose2d: {out_channels: 8, kernel_size: 3, stride: k, output_padding: 1}",
    "GroupNorm: {num_groups: k, num_channels: 16}",
    "BatchNorm2d: {num_features: k}",
    "MaxPool2d: {kernel_size: k, stride: 2, ceil_mode: true}",
    "AvgPool2d: {kernel_size: 3, stride: k, padding: 1, ceil_mode: true}",
    "AdaptiveAvgPool2d: {output_size: k}",
    "Upsample: {scale_factor: k}",
    "PixelShuffle: {upscale_factor: k}",
    "Conv2d: {out_channels: 3*k, kernel_size: 1, groups: k}",
    "Conv2d: {out_channels: 16, kernel_size: 3, dilation: k, padding: k}",
]


@st.composite
def held_out(draw: Any) -> tuple[str, str]:
    channels = 16
    size = draw(st.integers(4, 12))
    layers = draw(st.lists(st.sampled_from(HELD_OUT), min_size=1, max_size=3))
    if draw(st.booleans()):
        layers += ["Flatten: {}", "Linear: {out_features: 10}"]
    text = (
        f"name: held-out\ninput: [{channels}, {size}, {size}]\nblocks:\n"
        f"  plain:\n    layers:\n      - Conv2d: {{out_channels: {channels}, kernel_size: 3, padding: 1}}\n"
        f"  cand:\n    layers:\n" + "".join(f"      - {layer}\n" for layer in layers)
    )
    return text, draw(st.sampled_from(BANDS + ["0-0.999999"]))


@pytest.mark.parametrize("metric", ["params", "macs"])
@given(problem=held_out())
def test_held_out_specs_agree_with_brute_force(metric: str, problem: tuple[str, str]) -> None:
    test_reported_widths_are_exactly_the_valid_ones.hypothesis.inner_test(metric, problem)  # type: ignore[attr-defined]
