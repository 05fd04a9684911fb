"""Odd input meets a clear message, never an internal error: found by running every command
over empty, null, huge, negative and malformed values (issue 13, deliverables 5 and 6).

Each test asserts the exit status and cnncalc's own wording; counts are checked against
arithmetic done here, independently of cnncalc's formatter.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.cli import main

from .conftest import ROOT, SEED

MARKER = "SECRET-MARKER-7f3a"


def run(runner: CliRunner, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(main, list(args), input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def gib(count: int) -> str:
    """count / 2**30 to two places, rounded half to even: Decimal, not cnncalc's formatter."""
    with localcontext() as ctx:
        ctx.prec = len(str(count)) + 10
        return str((Decimal(count) / Decimal(1 << 30)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


HUGE = 10**400


class TestHugeCounts:
    """Counts beyond a float's range (out_channels: 10**400) print exactly, in every format."""

    SPEC = "input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 10**400, kernel_size: 1}\n"

    @pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
    def test_cost(self, runner: CliRunner, tmp_path: Path, fmt: str) -> None:
        code, out, err = run(runner, "cost", write(tmp_path, self.SPEC), "-f", fmt)
        assert code == 0, err
        elements = HUGE * 8 * 8
        if fmt == "json":
            doc = json.loads(out)
            assert doc["macs"] == elements * 3  # one MAC per output element and input channel
            assert doc["networks"][0]["memory"]["activation_bytes"] == elements * 4
        elif fmt == "table":
            assert f"{elements * 4:,} B ({gib(elements * 4)} GiB)" in out

    @pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
    def test_comparison_of_blocks(self, runner: CliRunner, tmp_path: Path, fmt: str) -> None:
        spec = "input: [3, 8, 8]\nblocks:\n  big:\n    - Conv2d: {out_channels: 10**400, kernel_size: 1}\n  small:\n    - Conv2d: {out_channels: 4, kernel_size: 1}\n"
        for order in (("big", "small"), ("small", "big")):
            code, out, err = run(runner, "params", write(tmp_path, spec), "-b", order[0], "-b", order[1], "-f", fmt)
            assert code == 0, err
            if fmt == "json":
                ratio = {c["name"]: c["ratio"] for c in json.loads(out)["comparison"]}
                big, small = 4 * HUGE, 16  # 3*w + w (bias) each
                if order[0] == "small":
                    assert ratio["big"] == big // small  # exact, past a float's range
                else:
                    assert ratio["small"] == pytest.approx(small / big) or ratio["small"] == 0.0

    def test_comparison_of_specs(self, runner: CliRunner, tmp_path: Path) -> None:
        small = write(tmp_path, "input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 3, kernel_size: 1}\n", "small.yaml")
        code, out, err = run(runner, "params", small, write(tmp_path, self.SPEC), "-f", "json")
        assert code == 0, err
        comparison = json.loads(out)["comparison"]
        # 4*10**400 against 12: past a float's range, so the exact fraction, as text
        assert comparison[1]["ratio"] == f"{HUGE}/3"
        assert comparison[1]["reduction"] == f"{3 - HUGE}/3"


class TestEmptyAndMissing:
    def test_blocks_without_any_block_or_layers(self, runner: CliRunner, tmp_path: Path) -> None:
        path = write(tmp_path, "input: [3, 8, 8]\nblocks: {}\n")
        for command in ("shape", "params", "cost"):
            for fmt in ("json", "table"):
                code, out, err = run(runner, command, path, "-f", fmt)
                assert code == 2 and out == ""
                assert err == f"Error: {path}:2:9: blocks: the spec has no 'layers' and no block: nothing to evaluate (expected a block under 'blocks:' or a 'layers:' list, found an empty mapping).\n"

    @pytest.mark.parametrize("option", ["--baseline", "--candidate"])
    def test_an_unknown_block_for_bottleneck(self, runner: CliRunner, option: str) -> None:
        code, _, err = run(runner, "bottleneck", SEED, "--reduce", "0.5", option, "plian")
        assert code == 2
        assert f"Error: {option}: no block named 'plian' in the spec" in err
        assert "did you mean 'plain'?" in err


class TestReduce:
    @pytest.mark.parametrize("band", ["1/0", "0/0", "0.5-1/0"])
    def test_division_by_zero(self, runner: CliRunner, band: str) -> None:
        code, _, err = run(runner, "bottleneck", SEED, "--reduce", band)
        assert code == 2
        assert "division by zero in the reduction band (expected p/q with q > 0" in err

    def test_too_many_digits(self, runner: CliRunner) -> None:
        code, _, err = run(runner, "bottleneck", SEED, "--reduce", "0." + "1" * 10_000)
        assert code == 2
        assert "the reduction band is too long (expected at most 100 digits a number" in err
        code, _, err = run(runner, "bottleneck", SEED, "--reduce", "0." + "1" * 150)
        assert code == 2
        assert "has too many digits (expected at most 100 digits" in err and "found 151 digits" in err

    def test_a_hundred_digits_are_exact(self, runner: CliRunner) -> None:
        """0.1 repeated to 99 digits: the band end is that exact fraction, its widths those of
        the seed (no bias: 9k^2 + 128k <= (1 - lo) * 73728) checked by brute force here."""
        from fractions import Fraction

        lo = Fraction("0." + "1" * 99)
        code, out, err = run(runner, "bottleneck", SEED, "--reduce", "0." + "1" * 99, "--bias", "off", "-f", "json")
        assert code == 0, err
        widths = [k for k in range(1, 200) if 9 * k * k + 128 * k <= (1 - lo) * 73728]
        assert json.loads(out)["solutions"][0]["integers"] == widths


class TestUnusedSet:
    """--set of a name the spec never reads: a warning with a did-you-mean, exit status 0."""

    @pytest.mark.parametrize("command", ["shape", "params", "cost"])
    def test_a_misspelt_symbol(self, runner: CliRunner, command: str) -> None:
        code, _, err = run(runner, command, SEED, "--set", "K=54", "-f", "json")
        assert code == 0
        assert err == "Warning: --set K: the spec never uses the name 'K', so it changes nothing. Hint: did you mean 'k'? (names are case-sensitive)\n"

    def test_bottleneck(self, runner: CliRunner) -> None:
        code, _, err = run(runner, "bottleneck", SEED, "--reduce", "0.5-0.6", "--set", "width=3", "-f", "json")
        assert code == 0
        assert err == "Warning: --set width: the spec never uses the name 'width', so it changes nothing.\n"

    def test_inline_calls(self, runner: CliRunner) -> None:
        code, _, err = run(runner, "shape", "--input", "3,8,8", "Conv2d(3, k, 3)", "--set", "kk=3")
        assert code == 0
        assert err == "Warning: --set kk: the layer calls never use the name 'kk', so it changes nothing. Hint: did you mean 'k'?\n"

    def test_several_specs(self, runner: CliRunner) -> None:
        code, _, err = run(runner, "params", SEED, "resnet18", "--set", "k=3", "--set", "q=1")
        assert code == 0
        assert err == "Warning: --set q: no spec given uses the name 'q', so it changes nothing.\n"

    def test_names_the_spec_reads_give_no_warning(self, runner: CliRunner, tmp_path: Path) -> None:
        spec = write(
            tmp_path,
            "input: [3, s, s]\nbatch: b\nvars: {w: 8}\nblocks:\n  t:\n    args: {c: 4}\n    layers:\n      - Conv2d: {out_channels: c, kernel_size: 1}\n"
            "layers:\n  - Conv2d: {out_channels: w, kernel_size: k}\n  - ReLU: {repeat: n}\n  - t\n",
        )
        bindings = [arg for name in ("s", "b", "w", "c", "k", "n") for arg in ("--set", f"{name}=3")]
        code, _, err = run(runner, "shape", spec, *bindings)
        assert code == 0 and err == ""
        code, _, err = run(runner, "shape", spec, *bindings, "--set", "a=2", "--set", "k=a+1")  # a is read by k's value
        assert code == 0 and err == ""


NO_ECHO = (
    "input: [3, 8, 8]\ndescription: {m}\nlayers:\n\t- ReLU\n",
    "input: [3, 8, 8\ndescription: {m}\nlayers: [ReLU]\n",
    "input: [3, 8, 8]\ndescription: {m}\nlayers:\n  - ReLU: a: b\n",
    "input: [3, 8, 8]\ndescription: {m}\nlayers:\n  - \"ReLU\\q\"\n",
    "input: [3, 8, 8]\ndescription: {m}\nlayers:\n  - *nowhere\n",
    "input: [3, 8, 8]\nlayers:\n  - ReLU\n  - 'Tanh\n# {m}\n",
    "input: [3, 8, 8]\ndescription: {m}\nlayers:\n  - Conv2d: {{out_channels: 4, kernel_size: 3, bias: !!bool maybe}}\n",
    "input: [3, 8, 8]\ndescription: {m}\nlayers:\n  - Conv2d: {{out_channels: 4, kernel_size: 30}}\n",
    "input: [3, 8, 8]\ndescription: {m}\nlayers:\n  - Conv2d: {{out_channels: 4, kernel_size: '3 +'}}\n",
    "input: |\n  3, 8, 8\n  {m}\nlayers: [ReLU]\n",
    "input: >\n  3, 8, 8\n  {m}\nlayers: [ReLU]\n",
    "input: '3, 8, 8\n  {m}'\nlayers: [ReLU]\n",
    "not-a-spec:-just-notes\n{m} and more notes\n",  # a whole file of text: one plain scalar
    "input: [3, 8, 8]\nlayers:\n  - GELU: {{approximate: " + "x" * 60 + "{m}}}\n",
    "input: [3, 8, 8]\nlayers:\n  - " + "x" * 60 + "{m}\n",
    "input: [3, 8, 8]\nlayers:\n  - ReLU: {{from: " + "x" * 60 + "{m}}}\n",
)


class TestNoEcho:
    """An error about a file quotes the offending token at most, clipped to 60 characters."""

    @pytest.mark.parametrize("text", NO_ECHO)
    def test_other_lines_stay_out_of_the_message(self, runner: CliRunner, tmp_path: Path, text: str) -> None:
        body = f"# {MARKER}\n" + text.format(m=MARKER) + f"# {MARKER}\n"
        code, out, err = run(runner, "params", write(tmp_path, body))
        assert code == 2 and out == ""
        assert err.startswith("Error: ") and MARKER not in err, err

    def test_every_bad_spec_of_the_corpus(self, runner: CliRunner, tmp_path: Path) -> None:
        """The corpus of tests/data/bad with a marker line at the top and at the bottom."""
        checked = 0
        for path in sorted((ROOT / "tests" / "data" / "bad").glob("*.yaml")):
            try:
                text = path.read_text()
            except (UnicodeDecodeError, IsADirectoryError):
                continue
            _, _, err = run(runner, "params", write(tmp_path, f"# {MARKER}\n{text}\n# {MARKER}\n"))
            assert MARKER not in err, (path.name, err)
            checked += 1
        assert checked >= 40

    @pytest.mark.parametrize("text", NO_ECHO[:6])
    def test_the_pure_python_parser_too(self, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
        """Without libyaml PyYAML's own parser reports syntax errors: its words, clipped, no snippet."""
        import yaml  # type: ignore[import-untyped, unused-ignore]

        from cnncalc.spec import nodes

        monkeypatch.setattr(nodes, "FastSafeLoader", yaml.SafeLoader)
        body = f"# {MARKER}\n" + text.format(m=MARKER) + f"# {MARKER}\n"
        code, _, err = run(runner, "params", write(tmp_path, body))
        assert code == 2 and err.startswith("Error: ") and "invalid YAML" in err
        assert MARKER not in err and "^" not in err, err
