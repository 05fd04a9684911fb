"""The seed homework's own question, asked as a spec and inline, answered symbolically.

"A batch (B, W, H, C) goes through Conv2D(kernel (k1, k2), stride (s1, s2), padding (p1, p2)):
what shape comes out?" The textbook answer is W' = floor((W + 2*p1 - k1)/s1) + 1, H' likewise.
The printed formulas are checked as text (the form the issue asks for) and as values: at integer
points, bound with --set (CLI) or overrides (API), against PyTorch's rule written out here,
floor((W + 2p - (k - 1) - 1)/s) + 1, and against cnncalc's numeric evaluation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cnncalc import arith
from cnncalc.analysis.evaluate import evaluate_inline, evaluate_spec
from cnncalc.cli import main
from cnncalc.errors import CnncalcError
from cnncalc.spec import expr, load_text

SPEC = """\
name: seed-question
input: [C, W, H]
batch: B
layers:
  - Conv2d: {out_channels: D, kernel_size: [k1, k2], stride: [s1, s2], padding: [p1, p2]}
"""
CALL = "Conv2d(C, D, kernel_size=(k1, k2), stride=(s1, s2), padding=(p1, p2))"
W_OUT = "floor((W + 2*p1 - k1)/s1) + 1"
H_OUT = "floor((H + 2*p2 - k2)/s2) + 1"


def torch_size(size: int, k: int, s: int, p: int) -> int:
    """PyTorch's Conv2d output size along one axis (dilation 1), written out independently."""
    return (size + 2 * p - (k - 1) - 1) // s + 1


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def spec_file(tmp_path: Path) -> str:
    path = tmp_path / "seed_question.yaml"
    path.write_text(SPEC)
    return str(path)


class TestTheAnswer:
    """The formulas as printed: channels-first as PyTorch lays the tensor out, and channels-last
    as the homework writes it."""

    def test_spec(self, runner: CliRunner, spec_file: str) -> None:
        code, out, err = run(runner, "shape", spec_file, "-f", "json")
        assert code == 0, err
        assert json.loads(out)["output"] == ["D", W_OUT, H_OUT]

    def test_spec_table_names_the_batch(self, runner: CliRunner, spec_file: str) -> None:
        code, out, err = run(runner, "shape", spec_file, "--channels-last")
        assert code == 0, err
        assert "seed-question: input [W, H, C], batch B" in out
        assert f"output [{W_OUT}, {H_OUT}, D]" in out

    def test_inline(self, runner: CliRunner) -> None:
        code, out, err = run(runner, "shape", "--input", "B,C,W,H", CALL, "-f", "json")
        assert code == 0, err
        assert json.loads(out)["output"] == ["B", "D", W_OUT, H_OUT]

    def test_inline_channels_last_as_the_homework_writes_it(self, runner: CliRunner) -> None:
        code, out, err = run(runner, "shape", "--input", "B,C,W,H", CALL, "--channels-last", "-f", "json")
        assert code == 0, err
        document = json.loads(out)
        assert document["input"] == ["B", "W", "H", "C"]
        assert document["output"] == ["B", W_OUT, H_OUT, "D"]

    @pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
    def test_every_format_prints_the_formula(self, runner: CliRunner, spec_file: str, fmt: str) -> None:
        code, out, err = run(runner, "shape", spec_file, "-f", fmt)
        assert code == 0 and W_OUT in out and H_OUT in out, err

    def test_params_and_cost_answer_too(self, runner: CliRunner, spec_file: str) -> None:
        """params: PyTorch's D*C*k1*k2 + D; cost: the MAC count B*D*W'*H'*C*k1*k2, expanded."""
        code, out, err = run(runner, "params", spec_file, "-f", "json")
        assert code == 0, err
        assert json.loads(out)["total"] == "C*D*k1*k2 + D"
        code, out, err = run(runner, "cost", spec_file, "-f", "json")
        assert code == 0, err
        assert json.loads(out)["batch"] == "B"


class TestOnlyWhatIsPrinted:
    """`shape` and `params` are never refused for a MAC count they do not print."""

    GROUPED = SPEC.replace("padding: [p1, p2]}", "padding: [p1, p2], groups: g}")

    def test_a_grouped_conv_is_one_monomial(self, runner: CliRunner, tmp_path: Path) -> None:
        """Its MAC count (B*D*W'*H'*C*k1*k2/g) was refused as "1716 terms": 1/g is no degree."""
        path = tmp_path / "grouped.yaml"
        path.write_text(self.GROUPED)
        for command in ("shape", "params", "cost"):
            code, _, err = run(runner, command, str(path))
            assert code == 0, (command, err)

    def test_a_large_mac_count_refuses_cost_only(self, runner: CliRunner, tmp_path: Path) -> None:
        """Sizes of 10 terms each: C*H*W has 1,000 terms, the MACs of a conv to 2 output-channel
        terms 2,000 (over the limit of 1,000), its params 20."""
        names = [" + ".join(f"{axis}{i}" for i in range(10)) for axis in "chw"]
        path = tmp_path / "wide.yaml"
        path.write_text(f"input: [{names[0]}, {names[1]}, {names[2]}]\nlayers:\n  - Conv2d: {{out_channels: o1 + o2, kernel_size: 1}}\n")
        for command in ("shape", "params"):
            code, _, err = run(runner, command, str(path))
            assert code == 0, (command, err)
        code, _, err = run(runner, "cost", str(path))
        assert code == 2
        assert "layers[0] (Conv2d): the symbolic MAC count is too large" in err and "2000 terms" in err
        code, _, err = run(runner, "params", str(path), "-f", "json")  # its document holds the MACs
        assert code == 2 and "MAC count is too large" in err


def _formula_at(text: str, point: dict[str, int]) -> Any:
    """A printed formula read back with the spec parser, its symbols bound."""
    return expr.evaluate(expr.parse(text), point)


AXIS = st.fixed_dictionaries({"size": st.integers(1, 30), "k": st.integers(1, 6), "s": st.integers(1, 4), "p": st.integers(0, 3)})


class TestAgainstBruteForce:
    """The symbolic answer equals PyTorch's rule at integer points, where the layer is valid;
    where cnncalc refuses the point (an empty output), the formula gives a size below 1."""

    def _check(self, output: tuple[Any, ...], widths: dict[str, int], heights: dict[str, int], numeric: Any) -> None:
        point = {
            "W": widths["size"], "k1": widths["k"], "s1": widths["s"], "p1": widths["p"],
            "H": heights["size"], "k2": heights["k"], "s2": heights["s"], "p2": heights["p"],
        }  # fmt: skip
        w_text, h_text = arith.as_text(output[-2]), arith.as_text(output[-1])
        assert (w_text, h_text) == (W_OUT, H_OUT)
        expected = (torch_size(**widths), torch_size(**heights))
        assert (_formula_at(w_text, point), _formula_at(h_text, point)) == expected
        try:
            found = numeric({**point, "B": 2, "C": 3, "D": 5})
        except CnncalcError as error:
            assert "too small" in str(error) and min(expected) <= 0, (point, error)
            return
        assert found[-2:] == expected

    @given(AXIS, AXIS)
    def test_spec(self, widths: dict[str, int], heights: dict[str, int]) -> None:
        spec = load_text(SPEC, "seed_question.yaml")
        (symbolic,) = evaluate_spec(spec, counts=frozenset())

        def numeric(values: dict[str, int]) -> Any:
            return evaluate_spec(spec, overrides=values, counts=frozenset())[0].output

        self._check(symbolic.output, widths, heights, numeric)

    @given(AXIS, AXIS)
    def test_inline(self, widths: dict[str, int], heights: dict[str, int]) -> None:
        symbolic = evaluate_inline([CALL], ("B", "C", "W", "H"), counts=frozenset())

        def numeric(values: dict[str, int]) -> Any:
            return evaluate_inline([CALL], ("B", "C", "W", "H"), overrides=values, counts=frozenset()).output

        self._check(symbolic.output, widths, heights, numeric)

    @pytest.mark.parametrize("values", [(32, 3, 2, 1, 17, 5, 3, 2), (7, 7, 1, 0, 9, 2, 2, 0), (224, 7, 2, 3, 224, 7, 2, 3)])
    @pytest.mark.parametrize("inline", [False, True])
    def test_with_set_on_the_command_line(self, runner: CliRunner, spec_file: str, values: tuple[int, ...], inline: bool) -> None:
        w, k1, s1, p1, h, k2, s2, p2 = values
        bound = {"W": w, "k1": k1, "s1": s1, "p1": p1, "H": h, "k2": k2, "s2": s2, "p2": p2, "B": 2, "C": 3, "D": 8}
        sets = [arg for name, value in bound.items() for arg in ("--set", f"{name}={value}")]
        source = ["--input", "B,C,W,H", CALL] if inline else [spec_file]
        code, out, err = run(runner, "shape", *source, *sets, "-f", "json")
        assert code == 0, err
        expected = [8, torch_size(w, k1, s1, p1), torch_size(h, k2, s2, p2)]
        assert json.loads(out)["output"] == ([2] if inline else []) + expected


class TestChannelsLast:
    """--channels-last moves the channel axis behind the spatial ones, wherever shapes print."""

    def test_params_of_a_spec(self, runner: CliRunner) -> None:
        code, out, err = run(runner, "params", "lenet5", "--channels-last", "-f", "json")
        assert code == 0, err
        first = json.loads(out)["layers"][0]  # Conv2d(1, 6, 5) on 1x32x32: 6 maps of 28x28
        assert first["output"] == [torch_size(32, 5, 1, 0), torch_size(32, 5, 1, 0), 6]

    def test_cost_inline_keeps_a_flattened_tensor(self, runner: CliRunner) -> None:
        code, out, err = run(runner, "cost", "-i", "2,3,32,32", "Conv2d(3, 8, 3)", "Flatten()", "--channels-last", "-f", "json")
        assert code == 0, err
        layers = json.loads(out)["layers"]
        assert [layer["output"] for layer in layers] == [[2, 30, 30, 8], [2, 8 * 30 * 30]]

    def test_an_unbatched_inline_input(self, runner: CliRunner) -> None:
        """3,32,32 is (C, H, W) to a Conv2d, as PyTorch reads a 3-D input."""
        code, out, err = run(runner, "shape", "-i", "3,32,32", "Conv2d(3, 8, 3)", "--channels-last", "-f", "json")
        assert code == 0, err
        assert json.loads(out)["input"] == [32, 32, 3] and json.loads(out)["output"] == [30, 30, 8]
