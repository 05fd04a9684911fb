"""The `shape`, `params` and `zoo` commands: formats, exit codes and the seed problem's figures."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cnncalc.cli import main

from .conftest import CONFIGS, ROOT, SEED

ANSI = re.compile(r"\x1b\[")


def run(runner: CliRunner, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(main, list(args), input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


class TestSeedProblem:
    """DESIGN.md's seed block: 73,728 weights in `plain`, 9k^2+128k in `bottleneck`."""

    def test_params_json(self, runner: CliRunner) -> None:
        code, out, _ = run(runner, "params", SEED, "--format", "json")
        assert code == 0
        doc = json.loads(out)
        blocks = {b["name"]: b for b in doc["blocks"]}
        # 2 convs of 64*64*3*3 weights (+64 biases each)
        assert blocks["plain"]["params"] == 2 * (64 * 64 * 9 + 64) == 73856
        assert blocks["plain"]["params_no_bias"] == 2 * 64 * 64 * 9 == 73728
        # 64k + k + 9k^2 + k + 64k + 64 with bias; 64k + 9k^2 + 64k without
        assert blocks["bottleneck"]["params"] == "9*k**2 + 130*k + 64"
        assert blocks["bottleneck"]["params_no_bias"] == "9*k**2 + 128*k"
        assert {"name", "total", "trainable", "buffers", "blocks", "layers"} <= set(doc)
        for layer in doc["layers"]:
            assert {"path", "type", "params", "bias_params"} <= set(layer)

    def test_set_binds_the_symbol(self, runner: CliRunner) -> None:
        code, out, _ = run(runner, "params", SEED, "--format", "json", "--set", "k=54")
        assert code == 0
        blocks = {b["name"]: b for b in json.loads(out)["blocks"]}
        assert blocks["bottleneck"]["params"] == 9 * 54 * 54 + 130 * 54 + 64
        ratio = {c["name"]: c for c in json.loads(out)["comparison"]}["bottleneck"]["ratio_no_bias"]
        assert ratio == pytest.approx((9 * 54 * 54 + 128 * 54) / 73728)

    def test_shape_json_keys_and_symbolic_channels(self, runner: CliRunner) -> None:
        code, out, _ = run(runner, "shape", SEED, "-f", "json")
        assert code == 0
        doc = json.loads(out)
        assert doc["input"] == [64, 16, 16]
        assert doc["output"] == [64, 16, 16]
        first_bottleneck = next(layer for layer in doc["layers"] if layer["path"] == "blocks.bottleneck[0]")
        assert first_bottleneck == {"path": "blocks.bottleneck[0]", "module": "0", "type": "Conv2d", "input": [64, 16, 16], "output": ["k", 16, 16]}

    def test_block_option_selects_one(self, runner: CliRunner) -> None:
        code, out, _ = run(runner, "params", SEED, "-b", "plain", "-f", "json")
        assert code == 0
        doc = json.loads(out)
        assert doc["total"] == 73856 and [b["name"] for b in doc["blocks"]] == ["plain"]

    def test_unknown_block_is_bad_input(self, runner: CliRunner) -> None:
        code, _, err = run(runner, "params", SEED, "-b", "plian")
        assert code == 2
        assert "no block named 'plian'" in err and "did you mean 'plain'" in err


class TestFormats:
    """Every format of every command renders, and tables never carry ANSI codes when piped."""

    @pytest.mark.parametrize("command", ["shape", "params"])
    @pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
    def test_each_format(self, runner: CliRunner, command: str, fmt: str) -> None:
        code, out, err = run(runner, command, SEED, "--format", fmt)
        assert code == 0, err
        assert not ANSI.search(out)
        if fmt == "json":
            json.loads(out)
        elif fmt == "csv":
            rows = list(csv.reader(io.StringIO(out)))
            assert rows[0][:3] == ["layer", "module", "type"] and len(rows) == 1 + 10
            assert rows[-1][:2] == ["blocks.bottleneck[5]", "5"]
        elif fmt == "markdown":
            assert "| module | type |" in out and "|---|---|" in out and "blocks.bottleneck[2]" not in out
        else:  # the module names, not the paths (which JSON and CSV give)
            assert "| module " in out and "blocks.bottleneck[2]" not in out

    def test_csv_numbers_have_no_separators(self, runner: CliRunner) -> None:
        _, out, _ = run(runner, "params", SEED, "-b", "plain", "-f", "csv")
        rows = list(csv.reader(io.StringIO(out)))
        assert rows[1] == ["blocks.plain[0]", "0", "Conv2d", "[64, 16, 16]", str(64 * 64 * 9 + 64), "64"]

    def test_explain_shows_formulas(self, runner: CliRunner) -> None:
        _, out, _ = run(runner, "shape", SEED, "-b", "plain", "--explain")
        assert "floor((16 + 2*1 - 1*(3-1) - 1)/1) + 1 = 16" in out
        assert "64*(64/1)*3*3 + 64 = 36,928" in out

    def test_piped_process_has_no_ansi(self) -> None:
        out = subprocess.run(
            [sys.executable, "-m", "cnncalc", "params", SEED], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout
        assert "73,856" in out and not ANSI.search(out)


class TestInline:
    """PyTorch constructor calls on the command line."""

    def test_readme_example(self, runner: CliRunner) -> None:
        code, out, _ = run(
            runner, "shape", "--input", "3,224,224", "-f", "json",
            "Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)", "MaxPool2d(3, 2, 1)",
        )
        assert code == 0
        doc = json.loads(out)
        # floor((224 + 6 - 6 - 1)/2) + 1 = 112; floor((112 + 2 - 2 - 1)/2) + 1 = 56
        assert [layer["output"] for layer in doc["layers"]] == [[64, 112, 112], [64, 56, 56]]

    @pytest.mark.parametrize("shape", ["3x224x224", "3,224,224", "[3, 224, 224]"])
    def test_input_spellings(self, runner: CliRunner, shape: str) -> None:
        code, out, _ = run(runner, "shape", "-i", shape, "nn.Conv2d(3, 8, 3)", "-f", "json")
        assert code == 0 and json.loads(out)["output"] == [8, 222, 222]

    def test_batched_input_is_kept(self, runner: CliRunner) -> None:
        code, out, _ = run(runner, "shape", "-i", "2x3x8x8", "Conv2d(3, 4, 3)", "Flatten()", "-f", "json")
        assert code == 0 and json.loads(out)["output"] == [2, 4 * 6 * 6]

    def test_params_inline(self, runner: CliRunner) -> None:
        code, out, _ = run(runner, "params", "-i", "3,32,32", "Conv2d(3, 16, 3, bias=False)", "-f", "json")
        assert code == 0 and json.loads(out)["total"] == 16 * 3 * 9

    def test_in_channels_mismatch(self, runner: CliRunner) -> None:
        code, _, err = run(runner, "shape", "-i", "3,32,32", "Conv2d(4, 16, 3)")
        assert code == 2
        assert "in_channels=4 does not match the incoming 3 channels" in err

    @pytest.mark.parametrize("bad", ["--input", "-i"])
    @pytest.mark.parametrize("shape", ["3,a+b,4", "3,__class__,4", "3,2.5,4", "3,,a b", "3,W(),4"])
    def test_bad_shape_option(self, runner: CliRunner, bad: str, shape: str) -> None:
        code, _, err = run(runner, "shape", bad, shape, "ReLU()")
        assert code == 2 and "expected sizes like 3,224,224, 3x224x224 or B,C,H,W" in err

    def test_a_size_must_be_positive(self, runner: CliRunner) -> None:
        code, _, err = run(runner, "shape", "-i", "3,0,4", "ReLU()")
        assert code == 2 and "sizes must be positive" in err

    @pytest.mark.parametrize(("shape", "output"), [("B,3,8,8", ["B", 4, 6, 6]), ("Bx3x8x8", ["Bx3x8x8"]), ("2X3X8X8", [2, 4, 6, 6])])
    def test_names_and_the_x_separator(self, runner: CliRunner, shape: str, output: list[object]) -> None:
        """x separates numbers only: Bx3x8x8 is one name (a 1-D input ReLU keeps)."""
        layer = "ReLU()" if output == ["Bx3x8x8"] else "Conv2d(3, 4, 3)"
        code, out, err = run(runner, "shape", "-i", shape, layer, "-f", "json")
        assert code == 0, err
        assert json.loads(out)["output"] == output


class TestErrors:
    """Bad input: exit 2 and one message naming the place; no answer: exit 1."""

    def test_missing_file(self, runner: CliRunner) -> None:
        code, _, err = run(runner, "shape", "nope/missing.yaml")
        assert code == 2 and err.startswith("Error: nope/missing.yaml:1:1: no such file")

    def test_no_arguments(self, runner: CliRunner) -> None:
        code, _, err = run(runner, "params")
        assert code == 2 and "give a SPEC file" in err

    def test_stdin(self, runner: CliRunner) -> None:
        text = "input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 3}\n"
        code, out, _ = run(runner, "shape", "-", "-f", "json", input=text)
        assert code == 0 and json.loads(out)["output"] == [4, 6, 6]

    def test_error_names_file_line_column_and_path(self, runner: CliRunner) -> None:
        text = "input: [3, 8, 8]\nlayers:\n  - ReLU\n  - Conv2d: {out_channels: 4, kernel_size: 9}\n"
        code, _, err = run(runner, "shape", "-", input=text)
        assert code == 2
        assert err.startswith("Error: <stdin>:4:5: layers[1] (Conv2d): output size H = 0 is too small")

    def test_bad_set(self, runner: CliRunner) -> None:
        code, _, err = run(runner, "params", SEED, "--set", "k")
        assert code == 2 and "expected NAME=VALUE" in err


class TestZoo:
    """Shipped specs are listed and usable by name from any directory."""

    def test_zoo_lists_seed(self, runner: CliRunner) -> None:
        code, out, _ = run(runner, "zoo", "-f", "json")
        assert code == 0
        names = {e["name"] for e in json.loads(out)}
        assert "resnet_block_bottleneck" in names

    def test_name_as_spec(self, runner: CliRunner, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
        code, out, _ = run(runner, "params", "resnet_block_bottleneck", "-b", "plain", "-f", "json")
        assert code == 0 and json.loads(out)["total"] == 73856


def test_zoo_name_in_a_fresh_process_elsewhere(tmp_path: object) -> None:
    """`cnncalc params resnet50` from any directory (the installed package, or this checkout)."""
    import os

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-m", "cnncalc", "params", "resnet50", "-f", "json"],
        capture_output=True, text=True, cwd=str(tmp_path), env=env, check=True,
    )
    assert json.loads(done.stdout)["total"] == 25557032  # torchvision's resnet50


def test_several_specs_compared(runner: CliRunner, tmp_path: object) -> None:
    import pathlib

    small = pathlib.Path(str(tmp_path)) / "small.yaml"
    small.write_text("name: small\ninput: [64, 16, 16]\nlayers:\n  - Conv2d: {out_channels: 64, kernel_size: 1, bias: false}\n")
    big = pathlib.Path(str(tmp_path)) / "big.yaml"
    big.write_text("name: big\ninput: [64, 16, 16]\nlayers:\n  - Conv2d: {out_channels: 64, kernel_size: 3, bias: false}\n")
    code, out, _ = run(runner, "params", str(big), str(small), "-f", "json")
    assert code == 0
    doc = json.loads(out)
    assert [s["total"] for s in doc["specs"]] == [64 * 64 * 9, 64 * 64]
    assert doc["comparison"][1]["ratio"] == pytest.approx(1 / 9)
    assert doc["comparison"][1]["reduction"] == pytest.approx(8 / 9)
    code, out, _ = run(runner, "params", str(big), str(small))
    assert "88.89%" in out


def test_configs_exist() -> None:
    assert (CONFIGS / "resnet_block_bottleneck.yaml").exists()


class TestDerive:
    """`cnncalc derive` through the command line (the derivations themselves: test_derive.py)."""

    @pytest.mark.parametrize("topic", ["bn", "softmax-ce"])
    def test_check_passes_and_reports_the_error(self, runner: CliRunner, topic: str) -> None:
        code, out, _ = run(runner, "derive", topic, "--check", "-f", "json")
        assert code == 0
        doc = json.loads(out)
        assert doc["ok"] is True and doc["checks"]
        assert all(float(c["max_abs_error"]) < 1e-20 for c in doc["checks"])

    @pytest.mark.parametrize(("fmt", "marker"), [("latex", "\\frac"), ("markdown", "$$"), ("text", "dl/dx_i")])
    def test_formats(self, runner: CliRunner, fmt: str, marker: str) -> None:
        code, out, _ = run(runner, "derive", "bn", "-f", fmt)
        assert code == 0 and marker in out

    def test_unknown_topic(self, runner: CliRunner) -> None:
        code, _, err = run(runner, "derive", "relu")
        assert code == 2 and "Invalid value" in err


def test_several_specs_shape_json_is_one_document(runner: CliRunner) -> None:
    code, out, _ = run(runner, "shape", str(CONFIGS / "lenet5.yaml"), SEED, "-f", "json")
    assert code == 0
    doc = json.loads(out)
    assert [s["name"] for s in doc["specs"]] == ["lenet5", "resnet-block-bottleneck"]
    assert doc["specs"][1]["output"] == [64, 16, 16]
