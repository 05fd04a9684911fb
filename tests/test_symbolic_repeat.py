"""`repeat: n` with n free: n identical copies of a shape-keeping layer or block, as formulas in n.

Every count (params, bias, buffers, MACs, cheap ops, activations, the sequential peak, layer
counts per block) and the receptive field at the output, with n = 1..6 put in, equals what the
numeric evaluation gives with the spec's `repeat` bound to that n (`--set n=N`, as overrides):
the numeric expansion builds n real copies, row by row. Copies that change the shape are refused,
with the reason.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc import arith
from cnncalc.analysis.cost import cost
from cnncalc.analysis.evaluate import Evaluation, evaluate_spec
from cnncalc.analysis.receptive import receptive_fields
from cnncalc.cli import main
from cnncalc.spec import load_text

N = arith.symbol("n")

STACKED = """\
name: stacked-3x3
input: [16, H, W]
layers:
  - Conv2d: {out_channels: 16, kernel_size: 3, padding: 1}
    repeat: n
  - ReLU
"""

STAGES = """\
name: stages
input: [8, 12, 12]
blocks:
  basic:
    args: {out: 8}
    residual: true
    layers:
      - Conv2d: {out_channels: out, kernel_size: 3, padding: 1, bias: false}
      - BatchNorm2d
      - ReLU
      - Conv2d: {out_channels: out, kernel_size: 3, padding: 1, bias: false}
      - BatchNorm2d
    after: [ReLU]
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3, stride: 2, padding: 1}
  - basic: {repeat: n}
  - basic: {repeat: n - 1}
  - MaxPool2d: {kernel_size: 3, stride: 1, padding: 1}
    repeat: 2*n
  - ZeroPad2d: {padding: [1, 0, 0, 1]}
"""


def _at(value: Any, n: int, extra: dict[str, int]) -> Any:
    if not arith.is_symbolic(value):
        return value
    import sympy

    point = {N: n} | {arith.symbol(name): v for name, v in extra.items()}
    return arith.normalize(value.xreplace({s: sympy.Integer(v) for s, v in point.items()}))


def _summary(e: Evaluation) -> dict[str, Any]:
    """Everything `params` and `cost` report in total, and the field at the output."""
    c = cost(e)
    field = receptive_fields(e)[-1]
    assert field.axes is not None
    return {
        "output": e.output,
        "params": e.params, "bias": e.bias, "buffers": e.buffers, "macs": e.macs,
        "ops": c.ops_total, "activations": c.activation_elements, "peak": c.peak_elements,
        "groups": [(g.params, g.buffers, g.macs, g.layers) for g in e.groups],
        "field": [(a.size, a.stride, a.padding) for a in field.axes],
    }  # fmt: skip


def _grouped(summary: dict[str, Any], numeric: dict[str, Any], n: int, extra: dict[str, int]) -> None:
    """The symbolic summary at n equals the numeric one; numeric groups (one per copy of a
    repeated block) are summed per block call to compare with the symbolic group of all copies."""
    for key in ("output", "params", "bias", "buffers", "macs", "ops", "activations", "peak", "field"):
        value = summary[key]
        at = tuple(_at(v, n, extra) for v in value) if key == "output" else value
        if key == "field":
            at = [tuple(_at(v, n, extra) for v in axis) for axis in value]
        elif key != "output":
            at = _at(value, n, extra)
        assert at == numeric[key], (key, n, at, numeric[key])


@pytest.mark.parametrize("n", range(1, 7))
def test_stacked_convs_as_formulas_in_n(n: int) -> None:
    spec = load_text(STACKED, "stacked.yaml")
    (symbolic,) = evaluate_spec(spec)
    (numeric,) = evaluate_spec(spec, overrides={"n": n, "H": 9, "W": 7})
    _grouped(_summary(symbolic), _summary(numeric), n, {"H": 9, "W": 7})


def test_stacked_convs_formulas() -> None:
    """n 3x3 convs of 16 channels: params n*(16*16*9 + 16), the field 2n + 1 (stride 1)."""
    (e,) = evaluate_spec(load_text(STACKED, "stacked.yaml"))
    assert arith.as_text(e.params) == "2320*n"
    field = receptive_fields(e)[-1]
    assert field.axes is not None
    assert [arith.as_text(a.size) for a in field.axes] == ["2*n + 1", "2*n + 1"]
    assert [arith.as_text(a.padding) for a in field.axes] == ["n", "n"]
    assert e.rows[0].path == "layers[0].0:n" and e.rows[0].copies == N


@pytest.mark.parametrize("n", range(1, 7))
def test_repeated_residual_blocks_and_pools(n: int) -> None:
    """Blocks repeated n and n - 1 times (zero copies at n = 1), a pool 2n times, then an
    asymmetric pad: every total and the field at the output, against n real copies."""
    spec = load_text(STAGES, "stages.yaml")
    (symbolic,) = evaluate_spec(spec)
    (numeric,) = evaluate_spec(spec, overrides={"n": n})
    summary, expected = _summary(symbolic), _summary(numeric)
    _grouped({k: v for k, v in summary.items() if k != "groups"}, expected, n, {})
    layers = sum(_at(g[3], n, {}) for g in summary["groups"])
    assert layers == sum(g[3] for g in expected["groups"])
    first, second = summary["groups"]  # one group for all copies of each block call
    assert _at(first[0], n, {}) == sum(g[0] for g in expected["groups"][:n])
    assert _at(second[0], n, {}) == sum(g[0] for g in expected["groups"][n:])


class TestRefusals:
    """Exit 2 with the reason, at the repeat count."""

    def _run(self, runner: CliRunner, text: str, *args: str) -> tuple[int, str, str]:
        result = runner.invoke(main, ["params", "-", *args], input=text)
        return result.exit_code, result.stdout, result.stderr

    def test_copies_that_change_the_shape(self, runner: CliRunner) -> None:
        text = "input: [3, 32, 32]\nlayers:\n  - Conv2d: {out_channels: 8, kernel_size: 3}\n    repeat: n\n"
        code, out, err = self._run(runner, text)
        assert code == 2 and out == ""
        assert err.startswith("Error: <stdin>:4:13: layers[0] (Conv2d): repeat: n needs a layer or block that keeps its input's shape")
        assert "found [3, 32, 32] -> [8, 30, 30]" in err and "bind n with --set n=VALUE" in err
        code, out, _ = self._run(runner, text, "--set", "n=2", "-f", "json")  # bound, it is an ordinary repeat
        assert code == 0 and json.loads(out)["total"] == (8 * 3 * 9 + 8) + (8 * 8 * 9 + 8)

    @pytest.mark.parametrize("count", ["n/2", "3 - n", "n - 2"])
    def test_counts_that_are_not_whole_numbers_everywhere(self, runner: CliRunner, count: str) -> None:
        text = f"input: [3, 8, 8]\nlayers:\n  - ReLU: {{repeat: {count}}}\n"
        code, _, err = self._run(runner, text)
        assert code == 2 and "repeat must be a whole number >= 0 for every value of its symbols" in err, err

    def test_a_merge_layer(self, runner: CliRunner) -> None:
        text = "input: [3, 8, 8]\nlayers:\n  - ReLU: {name: a}\n  - Add: {from: [a, a], repeat: n}\n"
        code, _, err = self._run(runner, text)
        assert code == 2 and "cannot stack a merge layer" in err, err

    def test_shape_prints_one_row_for_the_copies(self, runner: CliRunner) -> None:
        result = runner.invoke(main, ["shape", "-", "-f", "json"], input=STACKED)
        assert result.exit_code == 0, result.stderr
        assert [layer["path"] for layer in json.loads(result.stdout)["layers"]] == ["layers[0].0:n", "layers[1]"]
