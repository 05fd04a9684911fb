"""The functional ops and the size-matching layers beyond the recorded PyTorch cases
(tests/data/sizes_cases_torch.jsonl, checked by test_reference_cases): Mean, ReduceSum, Amax, Amin,
Transpose, Reshape (View), Squeeze, Unsqueeze, CenterCrop, PadTo, Interpolate. Their cheap ops,
explanations, receptive fields, symbolic sizes and use with node references in a spec."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from cnncalc.analysis.cost import cost
from cnncalc.analysis.evaluate import Evaluation, evaluate_inline, evaluate_spec
from cnncalc.analysis.receptive import receptive_fields
from cnncalc.errors import CnncalcError, ShapeError, SpecError
from cnncalc.layers import KINDS, lookup
from cnncalc.render.explain import step_text
from cnncalc.spec import Limits, load_text

DATA = Path(__file__).parent / "data"
NEW = ("Mean", "ReduceSum", "Amax", "Amin", "Transpose", "Reshape", "Squeeze", "Unsqueeze", "CenterCrop", "PadTo", "Interpolate")


def run(call: str, shape: tuple[Any, ...], *, explain: bool = False) -> Evaluation:
    return evaluate_inline([call], shape, explain=explain)


def spec(text: str, **overrides: object) -> Evaluation:
    (evaluation,) = evaluate_spec(load_text(textwrap.dedent(text), "t.yaml", Limits()), overrides=overrides)
    return evaluation


def test_the_reference_file_covers_every_new_kind() -> None:
    cases = [json.loads(line) for line in (DATA / "sizes_cases_torch.jsonl").read_text().splitlines()]
    assert len(cases) == 418  # torch 2.14.1, torchvision 0.29.1
    assert sum(c["error"] for c in cases) == 31
    assert {c["layer"] for c in cases} == set(NEW)
    assert {c["layer"] for c in cases if not c["error"]} == set(NEW)


def test_no_parameters_buffers_or_macs() -> None:
    for call in ("Mean((2, 3))", "ReduceSum(1)", "Amax(-1)", "Amin()", "Transpose(1, 2)", "Reshape((1, -1))", "Squeeze()", "Unsqueeze(0)",
                 "CenterCrop(3)", "PadTo((9, 9))", "Interpolate(size=(8, 8), mode='bilinear')"):  # fmt: skip
        result = run(call, (1, 4, 6, 7))
        assert (result.params, result.bias, result.buffers, result.macs) == (0, 0, 0, 0), call


def test_view_is_an_alias_of_reshape() -> None:
    assert lookup("View") is KINDS["Reshape"]
    assert run("View((-1, 42))", (1, 4, 6, 7)).output == (4, 42)


def test_sum_stays_the_alias_of_add() -> None:
    assert lookup("Sum") is KINDS["Add"]


@pytest.mark.parametrize(
    ("call", "shape", "ops", "kind"),
    [
        # a reduction is a global pool: one op per input element (fvcore counts aten::mean as 0, and
        # adaptive_avg_pool2d, the same reduction, as the input elements)
        ("Mean((2, 3))", (1, 8, 16, 12), 1536, "pool"),
        ("Mean((2, 3), keepdim=True)", (2, 8, 16, 12), 3072, "pool"),
        ("ReduceSum(1)", (1, 8, 16, 12), 1536, "pool"),
        ("Amax()", (1, 8, 16, 12), 1536, "pool"),
        # interpolation as Upsample's: output elements * taps (fvcore: bilinear 4, nearest 1)
        ("Interpolate(size=(32, 24), mode='bilinear')", (1, 8, 16, 12), 24576, "upsample"),
        ("Interpolate(scale_factor=2)", (1, 8, 16, 12), 6144, "upsample"),
        ("Interpolate(size=(8, 6), mode='bilinear', antialias=True)", (1, 8, 16, 12), 1536, "upsample"),
    ],
)
def test_cheap_ops(call: str, shape: tuple[int, ...], ops: int, kind: str) -> None:
    result = cost(run(call, shape))
    assert dict(result.ops)[kind] == ops
    assert result.ops_total == ops


@pytest.mark.parametrize("call", ["Transpose(1, 2)", "Reshape((-1,))", "Squeeze()", "Unsqueeze(1)", "CenterCrop(3)", "PadTo((9, 9))"])
def test_moving_data_costs_nothing(call: str) -> None:
    assert cost(run(call, (1, 4, 6, 7))).ops_total == 0


def test_explanations() -> None:
    rows = run("CenterCrop((7, 4))", (1, 2, 5, 6), explain=True).rows
    text = "\n".join(step_text(s) for s in rows[0].steps)
    assert "H: 5 padded with zeros to 7 (torchvision pads a crop larger than the image)" in text
    assert "W: the middle 4 of 6, from index 1" in text
    rows = run("PadTo((8, 8))", (1, 2, 7, 4), explain=True).rows
    text = "\n".join(step_text(s) for s in rows[0].steps)
    assert "dim 2: 7 + 0 + 1 = 8" in text and "dim 3: 4 + 2 + 2 = 8" in text
    rows = run("Mean((2, 3), keepdim=True)", (1, 2, 7, 4), explain=True).rows
    assert "dims 2, 3 reduced and kept as 1" in "\n".join(step_text(s) for s in rows[0].steps)


def test_center_crop_offsets_follow_pythons_round() -> None:
    # torchvision: crop_top = int(round((H - h) / 2.0)); round(2.5) == 2, round(1.5) == 2
    for size, crop, top in ((10, 5, 2), (8, 5, 2), (9, 5, 2), (7, 4, 2)):
        ((h, _),) = [tuple(f.axes or ()) for f in receptive_fields(run(f"CenterCrop(({crop}, {crop}))", (1, 1, size, size)))]
        assert h.padding == -top, (size, crop)


def test_receptive_fields() -> None:
    # PadTo shifts by the left padding, d // 2 (d = 9 - 6 = 3: 1 before)
    (field,) = receptive_fields(run("PadTo((9, 9))", (1, 1, 6, 6)))
    assert [a.padding for a in field.axes or ()] == [1, 1]
    # a reduction that keeps its dims sees the whole of them
    fields = receptive_fields(evaluate_inline(["Conv2d(3, 4, 3)", "Mean((2, 3), keepdim=True)"], (1, 3, 10, 12)))
    assert [a.size for a in fields[-1].axes or ()] == [10, 12]
    # without keepdim: a global pool and Flatten, as torchvision writes it
    mean = receptive_fields(evaluate_inline(["Conv2d(3, 4, 3, stride=2)", "Mean((2, 3))", "Linear(4, 2)"], (1, 3, 11, 13)))
    pool = receptive_fields(evaluate_inline(["Conv2d(3, 4, 3, stride=2)", "AdaptiveAvgPool2d(1)", "Flatten()", "Linear(4, 2)"], (1, 3, 11, 13)))
    assert mean[-1].axes == pool[-1].axes and [a.size for a in mean[-1].axes or ()] == [11, 13]
    # a reduction over channels leaves the spatial fields where they were
    fields = receptive_fields(evaluate_inline(["Conv2d(3, 4, 3)", "Amax(1, keepdim=True)", "Conv2d(1, 1, 3)"], (1, 3, 10, 12)))
    assert [a.size for a in fields[-1].axes or ()] == [5, 5]
    fields = receptive_fields(evaluate_inline(["Conv2d(3, 4, 3)", "Amax(1)"], (1, 3, 10, 12)))
    assert [a.size for a in fields[-1].axes or ()] == [3, 3]
    # Transpose moves the dims as Permute does (fields are per input axis: they stay)
    fields = receptive_fields(evaluate_inline(["Conv2d(3, 4, (3, 5))", "Transpose(2, 3)", "Conv2d(4, 4, (1, 3))"], (1, 3, 10, 12)))
    permuted = receptive_fields(evaluate_inline(["Conv2d(3, 4, (3, 5))", "Permute((0, 1, 3, 2))", "Conv2d(4, 4, (1, 3))"], (1, 3, 10, 12)))
    assert [a.size for a in fields[-1].axes or ()] == [a.size for a in permuted[-1].axes or ()] == [5, 5]


@pytest.mark.parametrize(
    ("call", "shape", "error", "words"),
    [
        ("Mean((2, 2))", (1, 3, 4, 5), SpecError, "dim 2 appears multiple times"),
        ("Mean(4)", (1, 3, 4, 5), ShapeError, "dimension out of range"),
        ("Reshape((-1, -1))", (1, 3, 4, 5), SpecError, "only one dimension can be inferred"),
        ("Reshape((7, -1))", (1, 3, 4, 5), ShapeError, "is invalid for input of size 60"),
        ("CenterCrop((1, 2, 3))", (1, 3, 4, 5), SpecError, "only two dimensions"),
        ("CenterCrop(3)", (6,), ShapeError, "at least 2 dims"),
        ("PadTo(6)", (3, 4), ShapeError, "every spatial dim"),
        ("PadTo((1, 1, 6, 7, 8))", (1, 3, 4, 5), ShapeError, "one size per padded dim"),
        ("Interpolate(size=(3, 4), antialias=True)", (1, 3, 4, 5), SpecError, "Anti-alias option"),
        ("Interpolate(scale_factor=0)", (1, 3, 4, 5), SpecError, "scale_factor must be positive"),
        ("Upsample(scale_factor=0)", (1, 3, 4, 5), SpecError, "exactly one of size and scale_factor"),
    ],
)
def test_errors_say_what_was_expected_and_found(call: str, shape: tuple[int, ...], error: type[CnncalcError], words: str) -> None:
    with pytest.raises(error, match=words) as caught:
        run(call, shape)
    assert caught.value.expected


def test_squeeze_of_an_undecided_size_is_refused() -> None:
    with pytest.raises(ShapeError, match="cannot tell whether dim 2 has size 1"):
        spec("name: t\ninput: [3, H]\nlayers:\n  - Squeeze: {dim: 2}\n")
    assert spec("name: t\ninput: [3, H]\nlayers:\n  - Squeeze: {dim: 2}\n", H=1).output == (1, 3)


SKIP = """
name: t
input: [1, H, W]
layers:
  - Conv2d: {out_channels: 4, kernel_size: 3, name: skip}
  - MaxPool2d: {kernel_size: 2}
  - Conv2d: {out_channels: 8, kernel_size: 3}
  - ConvTranspose2d: {out_channels: 4, kernel_size: 2, stride: 2, name: up}
  - CenterCrop: {size: up.spatial, from: skip, name: crop}
  - Concat: {from: [crop, up]}
  - PadTo: {size: input.spatial}
  - Mean: {dim: [2, 3], keepdim: true}
"""


@pytest.mark.parametrize(("h", "w"), [(32, 32), (35, 41)])
def test_crop_and_pad_to_another_nodes_size(h: int, w: int) -> None:
    evaluation = spec(SKIP, H=h, W=w)
    up = ((h - 2) // 2 - 2) * 2, ((w - 2) // 2 - 2) * 2
    assert [row.output[1:] for row in evaluation.rows[-4:]] == [(4, *up), (8, *up), (8, h, w), (8, 1, 1)]


def test_symbolic_crop_and_pad() -> None:
    evaluation = spec(SKIP)
    assert [str(d) for d in evaluation.rows[-2].output[2:]] == ["H", "W"]
    assert cost(evaluation).ops_total != 0
