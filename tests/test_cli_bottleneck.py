"""`cnncalc bottleneck` on the command line: JSON keys, formats, exit statuses 0/1/2 and messages."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc.cli import main

CONFIGS = Path(__file__).parent.parent / "configs"
SEED = str(CONFIGS / "resnet_block_bottleneck.yaml")
TWO = str(CONFIGS / "bottleneck_two_widths.yaml")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str, input: str | None = None) -> Any:
    return runner.invoke(main, ["bottleneck", *args], input=input, catch_exceptions=False)


def document(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = run(runner, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


class TestAcceptance:
    """The seed problem's documented runs."""

    def test_seed_json(self, runner: CliRunner) -> None:
        doc = document(runner, SEED, "--reduce", "0.5-0.6")
        assert doc["baseline"]["name"] == "plain" and doc["baseline"]["params"] == 2 * (64 * 64 * 9 + 64)
        assert doc["candidate"]["name"] == "bottleneck" and doc["candidate"]["params"] == "9*k**2 + 130*k + 64"
        assert doc["reduce"] == [0.5, 0.6]
        solutions = {s["bias"]: s for s in doc["solutions"]}
        assert [round(v, 4) for v in solutions[False]["interval"]] == [50.5722, 57.2827]
        assert [round(v, 4) for v in solutions[True]["interval"]] == [50.4626, 57.1840]
        assert solutions[False]["exact"] == ["-64/9 + 64*sqrt(1645)/45", "-64/9 + 64*sqrt(82)/9"]
        for s in doc["solutions"]:
            assert s["symbol"] == "k" and s["integers"] == list(range(51, 58))

    @pytest.mark.parametrize("spelling", ["50-60%", "50%-60%", "0.5-0.6", "1/2-3/5"])
    def test_reduce_spellings(self, runner: CliRunner, spelling: str) -> None:
        assert document(runner, SEED, "--reduce", spelling)["solutions"] == document(runner, SEED, "--reduce", "0.5-0.6")["solutions"]

    def test_single_value_means_at_least(self, runner: CliRunner) -> None:
        doc = document(runner, SEED, "--reduce", "50%")
        assert doc["reduce"] == [0.5, None]
        # 9k^2 + 128k <= 36864 up to k = 57 (hand: 9*57^2 + 128*57 = 36537, 9*58^2 + 128*58 = 37700).
        assert doc["solutions"][0]["integers"] == list(range(1, 58))

    def test_empty_answer_exits_1(self, runner: CliRunner) -> None:
        result = run(runner, SEED, "--reduce", "0.999-0.9999")
        assert result.exit_code == 1
        assert "no integer width k" in result.stderr and "99.9%-99.99%" in result.stderr
        assert "Traceback" not in result.output

    def test_ninety_nine_percent_has_small_widths(self, runner: CliRunner) -> None:
        # 9*1 + 128*1 = 137 params is 99.81% below 73728: k = 1..4 do fit 99%-99.9%.
        doc = document(runner, SEED, "--reduce", "0.99-0.999")
        assert [s["integers"] for s in doc["solutions"]] == [[1, 2, 3, 4], [1, 2, 3, 4]]

    def test_empty_json_still_prints_the_working(self, runner: CliRunner) -> None:
        result = run(runner, SEED, "--reduce", "0.999-0.9999", "--format", "json")
        assert result.exit_code == 1
        doc = json.loads(result.stdout)
        assert all(s["integers"] == [] and s["count"] == 0 for s in doc["solutions"])


class TestOptions:
    """--bias, --metric, --multiple-of, --range, --set, --limit, --baseline/--candidate."""

    @pytest.mark.parametrize("bias,expected", [("on", [True]), ("off", [False]), ("both", [False, True])])
    def test_bias(self, runner: CliRunner, bias: str, expected: list[bool]) -> None:
        doc = document(runner, SEED, "-r", "0.5-0.6", "--bias", bias)
        assert [s["bias"] for s in doc["solutions"]] == expected

    def test_macs(self, runner: CliRunner) -> None:
        doc = document(runner, SEED, "-r", "0.5-0.6", "--metric", "macs")
        assert doc["metric"] == "macs"
        assert doc["baseline"]["macs"] == 2 * 16 * 16 * 64 * 64 * 9
        assert doc["candidate"]["macs"] == "2304*k**2 + 32768*k"  # 16*16*(64k + 9k^2 + 64k)
        assert len(doc["solutions"]) == 1 and doc["solutions"][0]["integers"] == list(range(51, 58))

    def test_bias_with_macs_is_usage_error(self, runner: CliRunner) -> None:
        result = run(runner, SEED, "-r", "0.5-0.6", "--metric", "macs", "--bias", "on")
        assert result.exit_code == 2 and "--bias applies to --metric params only" in result.stderr

    def test_multiple_of(self, runner: CliRunner) -> None:
        doc = document(runner, SEED, "-r", "0.5-0.6", "--multiple-of", "8")
        assert [s["integers"] for s in doc["solutions"]] == [[56], [56]]

    def test_range(self, runner: CliRunner) -> None:
        doc = document(runner, SEED, "-r", "0.5-0.6", "--range", "k=1..53")
        assert doc["solutions"][0]["integers"] == [51, 52, 53]
        assert doc["solutions"][0]["exact"][1] == "53"

    def test_two_widths_pairs(self, runner: CliRunner) -> None:
        doc = document(runner, TWO, "-r", "0.5-0.6", "--multiple-of", "8", "--limit", "1000", "--bias", "off")
        (s,) = doc["solutions"]
        span = range(8, 800, 8)
        expected = [
            [a, b] for a in span for b in span
            if Fraction(2, 5) * 73728 <= 64 * a + 9 * a * b + 64 * b <= Fraction(1, 2) * 73728
        ]
        assert s["integers"] == expected and s["count"] == len(expected) == 45
        assert s["symbols"] == ["k1", "k2"] and s["interval"] is None

    def test_limit(self, runner: CliRunner) -> None:
        doc = document(runner, TWO, "-r", "0.5-0.6", "--limit", "3")
        for s in doc["solutions"]:
            assert len(s["integers"]) == 3 and s["truncated"] and s["count"] > 3

    def test_set_leaves_one_symbol(self, runner: CliRunner) -> None:
        doc = document(runner, TWO, "-r", "0.5-0.6", "--set", "k1=32", "--bias", "off")
        (s,) = doc["solutions"]
        expected = [b for b in range(1, 500) if Fraction(2, 5) * 73728 <= 64 * 32 + 9 * 32 * b + 64 * b <= 36864]
        assert s["symbol"] == "k2" and s["integers"] == expected

    def test_named_blocks(self, runner: CliRunner) -> None:
        doc = document(runner, SEED, "-r", "0.5-0.6", "--baseline", "plain", "--candidate", "bottleneck")
        assert doc["solutions"][0]["integers"] == list(range(51, 58))

    def test_stdin(self, runner: CliRunner) -> None:
        result = run(runner, "-", "-r", "0.5-0.6", "-f", "json", input=Path(SEED).read_text())
        assert result.exit_code == 0 and json.loads(result.stdout)["solutions"][0]["integers"] == list(range(51, 58))


class TestErrors:
    """Bad input: exit status 2 with a message naming the problem."""

    @pytest.mark.parametrize(
        "reduce,message",
        [("abc", "cannot read the reduction band"), ("0.6-0.5", "smaller reduction comes first"), ("50-60", "between 0 and 1")],
    )
    def test_bad_reduce(self, runner: CliRunner, reduce: str, message: str) -> None:
        result = run(runner, SEED, "--reduce", reduce)
        assert result.exit_code == 2 and message in result.stderr and "--reduce" in result.stderr

    def test_missing_reduce(self, runner: CliRunner) -> None:
        result = run(runner, SEED)
        assert result.exit_code == 2 and "--reduce" in result.stderr

    @pytest.mark.parametrize("text", ["k=0..5", "k=9..3", "k:1-5"])
    def test_bad_range(self, runner: CliRunner, text: str) -> None:
        result = run(runner, SEED, "-r", "0.5-0.6", "--range", text)
        assert result.exit_code == 2 and "--range" in result.stderr

    def test_range_unknown_symbol(self, runner: CliRunner) -> None:
        result = run(runner, SEED, "-r", "0.5-0.6", "--range", "kk=1..9")
        assert result.exit_code == 2 and "not a free symbol" in result.stderr and "did you mean 'k'" in result.stderr

    def test_range_twice(self, runner: CliRunner) -> None:
        result = run(runner, SEED, "-r", "0.5-0.6", "--range", "k=1..9", "--range", "k=2..9")
        assert result.exit_code == 2 and "--range given twice" in result.stderr

    def test_unknown_block(self, runner: CliRunner) -> None:
        result = run(runner, SEED, "-r", "0.5-0.6", "--baseline", "plian", "--candidate", "bottleneck")
        assert result.exit_code == 2 and "no block named 'plian'" in result.stderr and "did you mean 'plain'" in result.stderr

    def test_same_block_twice(self, runner: CliRunner) -> None:
        result = run(runner, SEED, "-r", "0.5-0.6", "--baseline", "plain", "--candidate", "plain")
        assert result.exit_code == 2 and "different blocks" in result.stderr

    def test_missing_file(self, runner: CliRunner) -> None:
        result = run(runner, "nope.yaml", "-r", "0.5-0.6")
        assert result.exit_code == 2 and "nope.yaml" in result.stderr and "no such file" in result.stderr

    def test_spec_without_blocks(self, runner: CliRunner) -> None:
        spec = "name: m\ninput: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 3}\n"
        result = run(runner, "-", "-r", "0.5-0.6", input=spec)
        assert result.exit_code == 2 and "no blocks" in result.stderr

    def test_ambiguous_blocks(self, runner: CliRunner) -> None:
        spec = Path(SEED).read_text() + "  other:\n    - Conv2d: {out_channels: 8, kernel_size: 1}\n"
        result = run(runner, "-", "-r", "0.5-0.6", input=spec)
        assert result.exit_code == 2 and "which block is the baseline" in result.stderr and "--baseline" in result.stderr

    def test_not_polynomial(self, runner: CliRunner) -> None:
        spec = Path(SEED).read_text().replace("{out_channels: k, kernel_size: 1}", "{out_channels: k//4, kernel_size: 1}")
        result = run(runner, "-", "-r", "0.5-0.6", input=spec)
        assert result.exit_code == 0 and "evaluated exactly" in result.output and "Traceback" not in result.output


class TestFormats:
    """Tables, Markdown, CSV and the worked solution."""

    def test_table(self, runner: CliRunner) -> None:
        result = run(runner, SEED, "-r", "0.5-0.6")
        assert result.exit_code == 0
        for text in ("without bias", "with bias", "[50.5722, 57.2827]", "[50.4626, 57.1840]", "51..57", "-64/9 + 64*sqrt(1645)/45"):
            assert text in result.stdout
        assert "\x1b[" not in result.stdout

    def test_markdown(self, runner: CliRunner) -> None:
        result = run(runner, SEED, "-r", "0.5-0.6", "-f", "markdown")
        assert result.exit_code == 0 and "| integer k | 51..57 | 51..57 |" in result.stdout

    def test_csv(self, runner: CliRunner) -> None:
        result = run(runner, SEED, "-r", "0.5-0.6", "-f", "csv")
        assert result.exit_code == 0 and result.stdout.splitlines()[0] == ",without bias,with bias"

    def test_explain(self, runner: CliRunner) -> None:
        result = run(runner, SEED, "-r", "0.5-0.6", "--explain")
        assert result.exit_code == 0
        for text in ("Working", "with bias: 36928 + 36928 = 73856", "9*k**2 + 128*k", "k = 51..57 (7 widths)", "check k = 58"):
            assert text in result.stdout

    def test_explain_json(self, runner: CliRunner) -> None:
        doc = document(runner, SEED, "-r", "0.5-0.6", "--explain")
        steps = [e["step"] for e in doc["explanation"]]
        assert steps[0] == "Baseline block 'plain': parameters per layer" and "Without bias: the roots" in steps

    def test_two_widths_table(self, runner: CliRunner) -> None:
        result = run(runner, TWO, "-r", "0.5-0.6", "--multiple-of", "8")
        assert result.exit_code == 0
        assert "45 combinations in total" in result.stdout and "k1 in 1..504 (derived)" in result.stdout

    def test_help(self, runner: CliRunner) -> None:
        result = runner.invoke(main, ["bottleneck", "--help"])
        assert result.exit_code == 0
        for option in ("--reduce", "--baseline", "--candidate", "--bias", "--metric", "--range", "--multiple-of", "--limit", "--explain"):
            assert option in result.output
