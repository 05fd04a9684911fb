"""The pool family's LPPool1d/2d beyond the recorded PyTorch cases (tests/data/lppool_cases_torch.jsonl,
checked by test_reference_cases): its explanation, cheap ops, receptive field and errors, by hand."""

from __future__ import annotations

from typing import Any

import pytest

from cnncalc.analysis.cost import cost
from cnncalc.analysis.evaluate import Evaluation, evaluate_inline, evaluate_spec
from cnncalc.analysis.receptive import receptive_fields
from cnncalc.errors import CnncalcError, ShapeError, SpecError
from cnncalc.layers import KINDS
from cnncalc.render.explain import step_text
from cnncalc.spec import Limits, load_text


def run(call: str, shape: tuple[Any, ...], *, explain: bool = False) -> Evaluation:
    return evaluate_inline([call], shape, explain=explain)


def test_no_parameters_buffers_or_macs() -> None:
    result = run("nn.LPPool2d(2, 3, stride=2)", (2, 8, 11, 11))
    # floor((11 - 2 - 1)/2) + 1 = 5
    assert result.output == (2, 8, 5, 5)
    assert (result.params, result.bias, result.buffers, result.macs) == (0, 0, 0, 0)


def test_explanation_is_the_pool_formula_without_padding() -> None:
    (row,) = run("nn.LPPool1d(3, 4, stride=3, ceil_mode=True)", (1, 2, 10), explain=True).rows
    # ceil((10 - 1*(4-1) - 1)/3) + 1 = ceil(6/3) + 1 = 3; the last window starts at 6 < 10
    assert [step_text(s) for s in row.steps] == [
        "L_out = ceil((L + 2p - d(k-1) - 1)/s) + 1 = ceil((10 + 2*0 - 1*(4-1) - 1)/3) + 1"
        " (minus one if the last window starts in the right padding) = 3"
    ]


@pytest.mark.parametrize(
    ("call", "shape", "ops"),
    [
        # the pool convention: output elements * prod(kernel_size): 1*4*4*4 outputs, 3*3 window
        ("LPPool2d(2, 3, stride=2)", (1, 4, 9, 9), 4 * 4 * 4 * 9),
        # stride = kernel = 4: 2*3*2 outputs, window 4
        ("LPPool1d(1.5, 4)", (2, 3, 10), 2 * 3 * 2 * 4),
        # a (2, 3) window, stride 1: 1*1*9*8 outputs
        ("LPPool2d(1, (2, 3), stride=1)", (1, 1, 10, 10), 9 * 8 * 6),
    ],
)
def test_cheap_ops_are_output_elements_times_window(call: str, shape: tuple[int, ...], ops: int) -> None:
    (row,) = cost(run(call, shape)).rows
    assert (row.ops, row.op_kind, row.macs) == (ops, "pool", 0)


def test_cheap_ops_explained() -> None:
    (row,) = cost(run("LPPool2d(2, 3, stride=2)", (1, 4, 9, 9)), explain=True).rows
    assert step_text(row.steps[0]) == "pool ops = output elements*window = 64*9 = 576"


@pytest.mark.parametrize(
    ("lppool", "avgpool"),
    [
        ("LPPool2d(2, 3, stride=2)", "AvgPool2d(3, stride=2)"),
        ("LPPool2d(2, (2, 3))", "AvgPool2d((2, 3))"),
        ("LPPool2d(2, 2, stride=3, ceil_mode=True)", "AvgPool2d(2, stride=3, ceil_mode=True)"),
    ],
)
def test_receptive_field_is_an_avg_pools_without_padding(lppool: str, avgpool: str) -> None:
    layers = ["Conv2d(3, 4, 3, padding=1)"]
    lp = receptive_fields(evaluate_inline([*layers, lppool], (1, 3, 20, 20)))[-1]
    avg = receptive_fields(evaluate_inline([*layers, avgpool], (1, 3, 20, 20)))[-1]
    assert lp.axes == avg.axes and lp.exact


def test_receptive_field_by_hand() -> None:
    # 3x3 window, stride 2 after nothing: r = 3, j = 2, P = 0
    (h, w) = receptive_fields(run("LPPool2d(2, 3, stride=2)", (1, 1, 9, 9)))[-1].axes or ()
    assert (h.size, h.stride, h.padding) == (3, 2, 0) == (w.size, w.stride, w.padding)


def test_in_a_spec() -> None:
    text = "name: t\ninput: [4, 16, 16]\nlayers:\n  - LPPool2d: {norm_type: 2, kernel_size: 2}\n  - Flatten\n"
    (evaluation,) = evaluate_spec(load_text(text, "t.yaml", Limits()))
    assert evaluation.output == (1, 4 * 8 * 8)


@pytest.mark.parametrize(
    ("call", "shape", "error", "words"),
    [
        # the constructor's only check
        ("LPPool2d(0, 2)", (1, 1, 4, 4), SpecError, "norm_type must be a non-zero value"),
        ("LPPool2d(0.0, 2)", (1, 1, 4, 4), SpecError, "norm_type must be a non-zero value"),
        # lp_pool1d multiplies by kernel_size itself: a tuple fails, even (3,)
        ("LPPool1d(2, (3,))", (1, 2, 10), SpecError, "kernel_size must be an integer"),
        # LPPool2d unpacks kernel_size into two
        ("LPPool2d(2, (3,))", (1, 2, 10, 10), SpecError, "one value per spatial axis"),
        # (H, W) is not an unbatched LPPool2d input
        ("LPPool2d(2, 2)", (10, 10), ShapeError, "3-D or 4-D"),
        ("LPPool2d(2, 0)", (1, 1, 4, 4), SpecError, "greater than zero"),
        ("LPPool1d(2, 3, stride=-1)", (1, 1, 9), SpecError, "greater than zero"),
        ("LPPool1d(2, 5)", (1, 1, 3), ShapeError, "too small"),
    ],
)
def test_errors(call: str, shape: tuple[int, ...], error: type[CnncalcError], words: str) -> None:
    with pytest.raises(error, match=words):
        run(call, shape)


def test_declared_in_the_pool_family() -> None:
    for name in ("LPPool1d", "LPPool2d"):
        kind = KINDS[name]
        assert (kind.family, kind.op_kind, kind.spatial) == ("pool", "pool", int(name[-2]))
        assert "prod(kernel_size)" in kind.ops_doc
