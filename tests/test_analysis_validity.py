"""Validity conditions: stated exactly (value by value against the numeric rule), simply, and
refused at once when they can never hold."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.analysis.evaluate import Evaluation, evaluate_spec
from cnncalc.cli import main
from cnncalc.errors import CnncalcError, ShapeError, SpecError
from cnncalc.spec import load_text

from .test_solve_validity import held_out, problems

R = 40


def _spec(layers: str, input_shape: str = "[64, 16, 16]", residual: str = "false") -> str:
    return f"name: t\ninput: {input_shape}\nblocks:\n  cand:\n    residual: {residual}\n    layers:\n" + "".join(
        f"      - {line}\n" for line in layers.strip().splitlines()
    )


def _candidate(text: str) -> Evaluation:
    (found,) = evaluate_spec(load_text(text, "<test>"), blocks=("cand",))
    return found


def _numeric_ok(text: str, values: dict[str, int]) -> bool:
    try:
        evaluate_spec(load_text(text, "<test>"), blocks=("cand",), overrides=values)
    except CnncalcError:
        return False
    return True


def _conditions_hold(e: Evaluation, values: dict[str, int]) -> bool:
    symbols = {s.name: s for stated in e.conditions for c in stated.conditions for s in c.symbols}
    env = {symbols[n]: v for n, v in values.items() if n in symbols}
    return all(c.holds_at(env) for stated in e.conditions for c in stated.conditions)


# The cases of the issue, each with the statement cnncalc must make.
CASES = [
    ("Conv2d: {out_channels: k - 64, kernel_size: 1}", "[64, 16, 16]", "false", ["k >= 65"]),
    ("Conv2d: {out_channels: 64, kernel_size: 3, padding: 1, groups: k}", "[64, 16, 16]", "false", ["k divides 64"]),
    ("Conv2d: {out_channels: k/2, kernel_size: 1}", "[64, 16, 16]", "false", ["k >= 2", "k is a multiple of 2"]),
    ("Conv2d: {out_channels: k, kernel_size: 3, groups: 8, padding: 1}", "[64, 16, 16]", "false", ["k is a multiple of 8"]),
    ("Conv2d: {in_channels: k, out_channels: 4, kernel_size: 1}", "[3, 8, 8]", "false", ["k = 3"]),
    ("Conv2d: {out_channels: 8, kernel_size: k}", "[3, 16, 16]", "false", ["k <= 16"]),
    ("Conv2d: {out_channels: k, kernel_size: 3, padding: 1}", "[64, 16, 16]", "true", ["k = 64"]),
    ("Conv2d: {out_channels: k, kernel_size: 1, name: a}\nConv2d: {out_channels: 3, kernel_size: 1, from: input, name: b}\nAdd: {from: [a, b]}",
     "[3, 8, 8]", "false", ["k in {1, 3}"]),
    ("MaxPool2d: {kernel_size: 2, padding: p}", "[3, 8, 8]", "false", ["p <= 1"]),
    ("Conv2d: {out_channels: 8, kernel_size: 3, stride: s, padding: p}", "[3, 8, 8]", "false", []),
    ("GroupNorm: {num_groups: g, num_channels: 12}", "[12, 4, 4]", "false", ["g divides 12"]),
    ("PixelShuffle: {upscale_factor: r}", "[16, 4, 4]", "false", ["16/r**2 is an integer", "16 - r**2 >= 0"]),
]


@pytest.mark.parametrize(("layers", "shape", "residual", "stated"), CASES)
def test_statements_and_their_exactness(layers: str, shape: str, residual: str, stated: list[str]) -> None:
    text = _spec(layers, shape, residual)
    e = _candidate(text)
    assert [s.text for s in e.conditions] == stated
    names = sorted({s.name for stated_ in e.conditions for c in stated_.conditions for s in c.symbols} | {"k"})
    for v in range(1, R + 1):
        values = dict.fromkeys(names, v)
        assert _numeric_ok(text, values) == _conditions_hold(e, values), (layers, v)


@given(problem=st.one_of(problems(), held_out()))
def test_conditions_are_exact_value_by_value(problem: tuple[str, str]) -> None:
    """For random symbolic blocks: the numeric evaluation at k = v succeeds exactly when the
    stated conditions hold at v (or the block is refused and no v works)."""
    text, _ = problem
    try:
        e = _candidate(text)
    except CnncalcError:
        assert not any(_numeric_ok(text, {"k": v}) for v in range(1, R + 1)), text
        return
    for v in range(1, R + 1):
        assert _numeric_ok(text, {"k": v}) == _conditions_hold(e, {"k": v}), (text, v)


@pytest.mark.parametrize(
    ("layers", "error", "words"),
    [
        ("Conv2d: {out_channels: 64, kernel_size: 3, padding: -p}", SpecError, "must be at least 0"),
        ("Conv2d: {out_channels: 64, kernel_size: 3, stride: -s}", SpecError, "stride should be greater than zero"),
        ('Conv2d: {out_channels: "k*(-1)**0.5", kernel_size: 3}', SpecError, "must be an integer"),
        ("Conv2d: {out_channels: k - 64, kernel_size: 1}\nConv2d: {out_channels: 10 - k, kernel_size: 1}", ShapeError,
         "it needs k >= 65 and k <= 9 together"),
        ("Conv2d: {out_channels: 2*k + 1, kernel_size: 1, groups: 2}", SpecError, "must be divisible by groups"),
    ],
)
def test_never_valid_is_a_located_error(layers: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=r"never|must|should") as info:
        _candidate(_spec(layers))
    message = str(info.value)
    assert words in message and "<test>:" in message and "blocks.cand.layers[" in message


def _run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), input=input)


def test_conditions_in_table_markdown_and_json() -> None:
    text = _spec("Conv2d: {out_channels: k - 64, kernel_size: 1}")
    for command in ("shape", "params", "cost"):
        table = _run(command, "-", input=text)
        assert table.exit_code == 0 and "valid only if k >= 65: out_channels >= 1" in table.output
        markdown = _run(command, "-", "--format", "markdown", input=text)
        assert markdown.exit_code == 0 and "valid only if k >= 65" in markdown.output
        document = _run(command, "-", "--format", "json", input=text)
        import json

        conditions = json.loads(document.output)["conditions"]
        assert conditions == [
            {"condition": "k >= 65", "requires": [{"reason": "out_channels >= 1", "layer": "blocks.cand.layers[0] (Conv2d)"}]}
        ]


def test_numeric_specs_have_no_conditions() -> None:
    import json

    document = json.loads(_run("params", "-", "--format", "json", input=_spec("Conv2d: {out_channels: 8, kernel_size: 1}")).output)
    assert document["conditions"] == []
