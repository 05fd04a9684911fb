"""`cnncalc solve`: the seed problem, the five design questions of issue 15, exactness and safety.

Every answer is checked against brute force in the test: each integer point of a bounded range
is evaluated numerically (the spec evaluated with the symbols bound, the metric computed by the
same rules `cost` and `params` use, the constraint tested with plain Python ints and Fractions),
never against numbers solve printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sympy
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import arith
from cnncalc.analysis.cost import cost
from cnncalc.analysis.evaluate import evaluate_spec
from cnncalc.analysis.receptive import receptive_fields
from cnncalc.analysis.train import train_memory
from cnncalc.cli import _with_batch, main
from cnncalc.errors import ExprError
from cnncalc.solve import codegen
from cnncalc.solve.bottleneck import choose, solve_bottleneck
from cnncalc.solve.problem import build
from cnncalc.solve.search import SolveResult, solve
from cnncalc.spec import load_text
from cnncalc.spec.zoo import load_spec

from .symbolic_exprs import at, point, values

CONFIGS = Path(__file__).parent.parent / "configs"
SEED = str(CONFIGS / "resnet_block_bottleneck.yaml")
TWO = str(CONFIGS / "bottleneck_two_widths.yaml")

# A dilated context module (Yu & Koltun): three 3-layer-deep convs whose dilation doubles; kernel
# k and base dilation d free. No shipped config has a free dilation, so the test writes one.
CONTEXT = """
name: context
input: [3, 64, 64]
layers:
  - Conv2d: {out_channels: 16, kernel_size: k, padding: "d * (k - 1) // 2", dilation: d}
  - ReLU
  - Conv2d: {out_channels: 16, kernel_size: k, padding: "d * (k - 1)", dilation: 2 * d}
  - ReLU
  - Conv2d: {out_channels: 16, kernel_size: k, padding: "2 * d * (k - 1)", dilation: 4 * d}
"""
# ResNet's stem conv with its padding free: which padding keeps 224 -> 112?
STEM = """
name: stem
input: [3, 224, 224]
layers:
  - Conv2d: {out_channels: 64, kernel_size: 7, stride: 2, padding: p, bias: false}
"""


def points(result: SolveResult) -> set[tuple[int, ...]]:
    """Every feasible point of a bounded result, from its runs."""
    found = set()
    for row in result.rows:
        for run in row.runs:
            assert run.last is not None
            found.update((*row.outer, v) for v in range(run.first, run.last + 1, run.step))
    assert len(found) == result.total
    return found


def run_cli(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(main, ["solve", *args], catch_exceptions=False)


def document(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = run_cli(runner, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def optimum(values: dict[tuple[int, ...], Any], sense: str) -> tuple[Any, set[tuple[int, ...]]]:
    best = (max if sense == "max" else min)(values.values())
    return best, {p for p, v in values.items() if v == best}


# ----------------------------------------------------------------------------- the seed problem


class TestSeed:
    """The seed through solve: k = 51..57, the same exact ends as `bottleneck`, with and without bias."""

    @pytest.mark.parametrize("metric,bias", [("params", True), ("params_no_bias", False)])
    def test_same_ends_as_bottleneck(self, metric: str, bias: bool) -> None:
        spec = load_spec(SEED)
        where = f"0.4*plain.{metric} <= bottleneck.{metric} <= 0.5*plain.{metric}"
        result = solve(build(spec, [where]).question)
        assert result.method == "roots"
        assert points(result) == {(k,) for k in range(51, 58)}
        evaluations = evaluate_spec(spec, blocks=tuple(spec.blocks))
        base, cand = choose(evaluations, "params", None, None)
        from cnncalc.solve.band import Band

        reference = next(s for s in solve_bottleneck(base, cand, Band(Fraction(1, 2), Fraction(3, 5))).solutions if s.bias is bias)
        (piece,) = result.pieces
        (expected,) = reference.pieces
        assert sympy.simplify(piece.lo.exact - expected.lo.exact) == 0
        assert sympy.simplify(piece.hi.exact - expected.hi.exact) == 0
        assert piece.lo.closed and piece.hi.closed

    def test_brute_force(self) -> None:
        spec = load_spec(SEED)
        for metric in ("params", "params_no_bias"):
            result = solve(build(spec, [f"0.4*plain.{metric} <= bottleneck.{metric} <= 0.5*plain.{metric}"]).question)
            plain = getattr(evaluate_spec(spec, blocks=("plain",))[0], metric)
            expected = set()
            for k in range(1, 200):
                (e,) = evaluate_spec(spec, blocks=("bottleneck",), overrides={"k": k})
                if Fraction(2, 5) * plain <= getattr(e, metric) <= Fraction(1, 2) * plain:
                    expected.add((k,))
            assert points(result) == expected == {(k,) for k in range(51, 58)}

    def test_cli_both_biases(self, runner: CliRunner) -> None:
        bottleneck = json.loads(runner.invoke(main, ["bottleneck", SEED, "--reduce", "50-60%", "-f", "json"]).stdout)
        for metric, bias in (("params", True), ("params_no_bias", False)):
            doc = document(runner, SEED, "--where", f"0.4*plain.{metric} <= bottleneck.{metric} <= 0.5*plain.{metric}")
            assert doc["runs"] == [[51, 57]] and doc["count"] == 7
            reference = next(s for s in bottleneck["solutions"] if s["bias"] is bias)
            assert doc["intervals"][0]["exact"] == reference["exact"]

    def test_table(self, runner: CliRunner) -> None:
        result = run_cli(runner, SEED, "--where", "0.4*plain.params <= bottleneck.params <= 0.5*plain.params", "--explain")
        assert result.exit_code == 0, result.output
        assert "| integer k              | 51..57" in result.stdout
        assert "bottleneck.params = 9*k**2 + 130*k + 64" in result.stdout
        assert "boundary roots" in result.stdout


# ----------------------------------------------------------------------------- the five design questions


class TestDesignQuestions:
    def test_widths_under_budgets_maximized(self) -> None:
        """Which widths k1, k2 keep the block under 1.5M MACs and 6K params, as wide as possible?"""
        spec = load_spec(TWO)
        setup = build(spec, ["bottleneck.macs <= 1.5M", "bottleneck.params <= 6K"], maximize="k1 + k2", ranges={None: (1, 80)})
        result = solve(setup.question)
        values = {}
        for k1 in range(1, 81):
            for k2 in range(1, 81):
                (e,) = evaluate_spec(spec, blocks=("bottleneck",), overrides={"k1": k1, "k2": k2})
                if e.macs <= 1_500_000 and e.params <= 6_000:
                    values[(k1, k2)] = k1 + k2
        assert points(result) == set(values)
        best, ties = optimum(values, "max")
        assert result.optimum is not None and result.optimum.value == best and set(result.optimum.points) == ties
        # Without --range, the ranges are derived from the budgets (both grow with every width): same set.
        derived = solve(build(spec, ["bottleneck.macs <= 1.5M", "bottleneck.params <= 6K"], maximize="k1 + k2").question)
        assert {d.how for d in derived.derived} == {"constraint"}
        assert points(derived) == set(values)

    def test_input_resolutions_under_flops(self) -> None:
        """At which input resolutions (multiples of 32) does resnet18 stay under 2 GFLOPs?"""
        spec = load_spec("resnet18")
        setup = build(spec, ["flops <= 2G"], input_shape=(3, "R", "R"), ranges={"R": (32, 1024)}, steps={"R": 32}, maximize="R")
        result = solve(setup.question)
        expected = set()
        for r in range(32, 1025, 32):
            (e,) = evaluate_spec(spec, input_shape=(3, r, r))
            if 2 * cost(e).macs <= 2_000_000_000:
                expected.add((r,))
        assert points(result) == expected == {(r,) for r in range(32, 161, 32)}
        assert result.optimum is not None and result.optimum.points == ((160,),)

    def test_input_height_and_width(self) -> None:
        """Both sizes free: every (H, W) multiple of 32 under the budget, the Pareto front of flops and -H*W."""
        spec = load_spec("resnet18")
        setup = build(spec, ["flops <= 2G"], input_shape=(3, "H", "W"), ranges={None: (32, 512)}, steps={None: 32}, pareto="flops, -H*W", limit=10_000)
        result = solve(setup.question)
        values = {}
        for h in range(32, 513, 32):
            for w in range(32, 513, 32):
                (e,) = evaluate_spec(spec, input_shape=(3, h, w))
                if 2 * e.macs <= 2_000_000_000:
                    values[(h, w)] = (2 * e.macs, -h * w)
        assert points(result) == set(values)
        front = {p for p, v in values.items() if not any(o[0] <= v[0] and o[1] <= v[1] and o != v for o in values.values())}
        assert result.optimum is not None and set(result.optimum.points) == front and result.optimum.count == len(front)

    def test_dilation_for_receptive_field(self) -> None:
        """Which dilation (and kernel) gives a receptive field of at least 200 px with the fewest params?"""
        spec = load_text(CONTEXT, "<context>")
        setup = build(spec, ["rf_h >= 200"], minimize="params", ranges={"k": (1, 7), "d": (1, 40)})
        result = solve(setup.question)
        values = {}
        for d in range(1, 41):
            for k in range(1, 8):
                try:
                    (e,) = evaluate_spec(spec, overrides={"k": k, "d": d})
                except Exception:  # an invalid network (the validity conditions say where)
                    continue
                if receptive_fields(e)[-1].axes[-2].size >= 200:
                    values[(d, k)] = e.params
        assert points(result) == set(values)
        best, ties = optimum(values, "min")
        assert result.optimum is not None and result.optimum.value == best and set(result.optimum.points) == ties
        assert min(d for d, _ in ties) == 29 and {k for _, k in ties} == {2}

    def test_largest_batch_in_24_gib(self) -> None:
        """The largest batch that trains resnet18 in 24 GiB with Adam: fp32, everything in bf16,
        and mixed precision (bf16 activations under autocast, fp32 master weights)."""
        spec = _with_batch(load_spec("resnet18"), "B")
        for dtype, mixed in (("float32", False), ("bfloat16", False), ("bfloat16", True)):
            result = solve(build(spec, ["train_memory <= 24GiB"], maximize="B", optimizer="adam", dtype=dtype, mixed=mixed).question)
            assert result.method == "roots" and result.optimum is not None
            (best,) = result.optimum.points
            assert points(result) == {(b,) for b in range(1, best[0] + 1)}

            def total(b: int, dtype: str = dtype, mixed: bool = mixed) -> int:
                (e,) = evaluate_spec(_with_batch(spec, str(b)))
                value: int = train_memory(e, optimizer="adam", dtype=dtype, mixed=mixed).total
                return value

            assert total(best[0]) <= 24 * 2**30 < total(best[0] + 1)
            window = solve(
                build(spec, ["train_memory <= 24GiB"], optimizer="adam", dtype=dtype, mixed=mixed, ranges={"B": (best[0] - 40, best[0] + 40)}).question
            )
            assert points(window) == {(b,) for b in range(best[0] - 40, best[0] + 41) if total(b) <= 24 * 2**30}

    def test_train_memory_says_it_is_a_lower_bound(self, runner: CliRunner) -> None:
        """A batch found to fit by train_memory is said to be an upper bound on what fits."""
        args = ("resnet18", "--batch", "B", "--where", "train_memory <= 24GiB", "--optimizer", "adam", "--dtype", "bfloat16", "--mixed", "--maximize", "B")
        result = run_cli(runner, *args)
        assert result.exit_code == 0
        assert "maximum of B" in result.output
        assert "train_memory is a lower bound" in result.output
        assert "lower bound" not in run_cli(runner, "resnet18", "--batch", "B", "--where", "macs <= 1G*B", "--range", "B=1..4").output

    def test_padding_keeps_224_to_112(self) -> None:
        """Which padding keeps 224 -> 112 with a 7x7 stride-2 conv? p = 3, and no other."""
        spec = load_text(STEM, "<stem>")
        result = solve(build(spec, ["out_h == 112", "out_w == 112"]).question)
        assert points(result) == {(3,)}
        expected = {(p,) for p in range(1, 200) if evaluate_spec(spec, overrides={"p": p})[0].output[-1] == 112}
        assert expected == {(3,)}


# ----------------------------------------------------------------------------- exactness


class TestExact:
    @settings(max_examples=60, deadline=None)
    @given(
        st.lists(st.integers(-50, 50), min_size=1, max_size=4),
        st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
        st.integers(-2000, 2000),
        st.sampled_from(["and", "or"]),
        st.integers(1, 60),
    )
    def test_one_symbol_roots_equal_brute_force(self, coeffs: list[int], op: str, bound: int, joiner: str, other: int) -> None:
        """A polynomial constraint in one symbol, solved from exact roots, equals a scan of the range."""
        k = arith.symbol("k")
        poly = sum(c * k**i for i, c in enumerate(coeffs))
        text = f"k {op} {bound}"  # stands in for the parsed comparison; the values are what matter
        relation = ("and" if joiner == "and" else "or", (("cmp", op, poly, bound, text), ("cmp", "<=", k, other, "k <= ...")))
        from cnncalc.solve.search import Question, comparisons_of

        question = Question((relation,), tuple(comparisons_of(relation)), (), {"k": (1, 300)}, {})
        result = solve(question)
        compare: dict[str, Callable[[int, int], bool]] = {
            "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
            "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
        }

        def holds(v: int) -> bool:
            first = compare[op](sum(c * v**i for i, c in enumerate(coeffs)), bound)
            return (first and v <= other) if joiner == "and" else (first or v <= other)

        assert points(result) == {(v,) for v in range(1, 301) if holds(v)}

    def test_floor_metrics_exact(self) -> None:
        """Output sizes with floor, several symbols: the compiled evaluation equals the evaluator."""
        spec = load_text(
            "name: t\ninput: [3, 64, 64]\nlayers:\n  - Conv2d: {out_channels: 8, kernel_size: k, stride: s, padding: 1}\n", "<t>"
        )
        result = solve(build(spec, ["out_h >= 10", "out_h % 3 != 0 or macs <= 200K"], ranges={"k": (1, 9), "s": (1, 6)}).question)
        expected = set()
        for k in range(1, 10):
            for s in range(1, 7):
                try:
                    (e,) = evaluate_spec(spec, overrides={"k": k, "s": s})
                except Exception:
                    continue
                h = e.output[-1]
                if h >= 10 and (h % 3 != 0 or e.macs <= 200_000):
                    expected.add((k, s))
        assert points(result) == expected

    def test_symbolic_denominator_and_set(self) -> None:
        """A ratio with the symbol in the denominator (compared on numerator x denominator), and a
        --set name read by value."""
        spec = load_spec(SEED)
        result = solve(build(spec, ["bottleneck.params / k <= cap"], overrides={"cap": 700}, ranges={"k": (1, 500)}).question)
        expected = {(k,) for k in range(1, 501) if Fraction(9 * k * k + 130 * k + 64, k) <= 700}
        assert points(result) == expected and result.method == "evaluation"
        result = solve(build(spec, ["bottleneck.params / k <= 700", "k % 4 == 1"], ranges={"k": (1, 100)}).question)
        assert points(result) == {(k,) for k in range(1, 101) if Fraction(9 * k * k + 130 * k + 64, k) <= 700 and k % 4 == 1}

    def test_pareto_front(self) -> None:
        spec = load_spec(TWO)
        result = solve(build(spec, ["bottleneck.params <= 20K"], pareto="bottleneck.params, -(k1 + 2*k2)", ranges={None: (1, 40)}, limit=10_000).question)
        values = {}
        for k1 in range(1, 41):
            for k2 in range(1, 41):
                (e,) = evaluate_spec(spec, blocks=("bottleneck",), overrides={"k1": k1, "k2": k2})
                if e.params <= 20_000:
                    values[(k1, k2)] = (e.params, -(k1 + 2 * k2))
        front = {p for p, v in values.items() if not any(o[0] <= v[0] and o[1] <= v[1] and o != v for o in values.values())}
        assert result.optimum is not None and set(result.optimum.points) == front and result.optimum.count == len(front)


class TestCompiled:
    """The generated code against sympy, value by value, on the values layer rules make."""

    @settings(max_examples=40, deadline=None)
    @given(st.data())
    def test_value_equals_substitution(self, data: st.DataObject) -> None:
        value = data.draw(values(3))
        where = data.draw(point(value))
        symbols = sorted(getattr(value, "free_symbols", ()), key=lambda s: s.name)
        compiled = codegen.value_function(symbols, [value])
        (found,) = compiled(*(where[s.name] for s in symbols))
        assert found == at(value, where)

    @settings(max_examples=40, deadline=None)
    @given(st.data(), st.sampled_from(["lt", "le", "gt", "ge", "eq", "ne", "int"]))
    def test_checks_equal_substitution(self, data: st.DataObject, kind: str) -> None:
        """A check `value OP 0` (or "value is an integer") decided on the numerator over a common
        denominator agrees with the exact value."""
        value = data.draw(values(2))
        where = data.draw(point(value))
        symbols = sorted(getattr(value, "free_symbols", ()), key=lambda s: s.name)
        if not symbols:
            return
        search = codegen.search_function(symbols, [(kind, value)])
        out: list[Any] = []
        search([range(where[s.name], where[s.name] + 1) for s in symbols], out)
        exact = Fraction(at(value, where))
        expected = {"lt": exact < 0, "le": exact <= 0, "gt": exact > 0, "ge": exact >= 0, "eq": exact == 0, "ne": exact != 0,
                    "int": exact.denominator == 1}[kind]
        assert bool(out) is expected


# ----------------------------------------------------------------------------- safety of the generated code


class TestGeneratedCode:
    HOSTILE = """
name: hostile
input: [3, 32, 32]
layers:
  - Conv2d: {out_channels: open, kernel_size: 3, padding: 1}
  - Conv2d: {out_channels: s0 * exec, kernel_size: 1}
"""

    def test_names_never_reach_the_source(self) -> None:
        """Symbols named like Python builtins or like the generated identifiers (`s0`) are
        renamed by position; the source holds only identifiers the generator made."""
        spec = load_text(self.HOSTILE, "<hostile>")
        setup = build(spec, ["params <= 5K", "macs >= 100K"], ranges={None: (1, 12)})
        symbols = sorted({s for c in setup.question.comparisons for s in getattr(c.lhs, "free_symbols", ())}, key=lambda s: s.name)
        assert [s.name for s in symbols] == ["exec", "open", "s0"]
        from cnncalc.solve.search import checks_of, conjuncts

        checks = [c for r in setup.question.relations for c in conjuncts(checks_of(r))]
        source, constants = codegen.search_source(symbols, checks)
        assert "open" not in source and "exec" not in source
        assert set(constants) <= {f"c{i}" for i in range(10)}
        result = solve(setup.question)
        expected = set()
        for e_, o, s in ((a, b, c) for a in range(1, 13) for b in range(1, 13) for c in range(1, 13)):
            (e,) = evaluate_spec(spec, overrides={"exec": e_, "open": o, "s0": s})
            if e.params <= 5000 and e.macs >= 100_000:
                expected.add((e_, o, s))
        assert points(result) == expected

    @pytest.mark.parametrize("source", ["def _search(_ranges, _out):\n    os\n", "def _value(s0):\n    return ('x',)\n", "def _value(s0):\n    return __import__\n"])
    def test_foreign_identifiers_refused(self, source: str) -> None:
        with pytest.raises(AssertionError, match="generated code"):
            codegen._check_identifiers(source)

    @pytest.mark.parametrize(
        "where,message,column",
        [
            ("__import__('os').params <= 1", "not subscripts or nested attributes", 1),
            ("plain.params <= 1); import os", "invalid expression", None),
            ("exec('1') <= 2", "call of 'exec' is not allowed", 1),
            ("plain.__class__ <= 1", "unknown metric", 7),
            ("plain.params[0] <= 1", "subscripts", 1),
        ],
    )
    def test_hostile_constraints_refused(self, where: str, message: str, column: int | None) -> None:
        spec = load_spec(SEED)
        with pytest.raises(ExprError, match=message) as info:
            build(spec, [where])
        if column is not None:
            assert str(info.value).startswith(f"--where:1:{column}:")


# ----------------------------------------------------------------------------- the command line


class TestCommandLine:
    def test_exit_1_when_nothing_fits(self, runner: CliRunner) -> None:
        result = run_cli(runner, SEED, "--where", "0.55*plain.params <= bottleneck.params <= 0.56*plain.params")
        assert result.exit_code == 1
        assert "no integer k" in result.stderr and "which holds no admissible integer" in result.stderr

    @pytest.mark.parametrize(
        "args,message",
        [
            (["--where", "bottleneck.parms <= 1"], "--where:1:12: unknown metric 'parms' of block 'bottleneck'"),
            (["--where", "botleneck.params <= 1"], "--where:1:1: no block named 'botleneck'"),
            (["--where", "k <= 3", "--where", "bottleneck.params <= kk"], "--where:2:22: unknown name 'kk'"),
            (["--where", "params <= 5M"], "the spec has no network"),
            (["--where", "bottleneck.macs % 7 == 0"], "cannot tell how far to search k"),
            (["--where", "k <= 3", "--maximize", "k", "--minimize", "k"], "give one objective"),
            (["--where", "k <= 3", "--pareto", "k"], "--pareto takes two objectives"),
            (["--where", "k <= 3", "--range", "q=1..3"], "not a free symbol"),
            (["--where", "k <= 3", "--multiple-of", "x"], "cannot read --multiple-of"),
            (["--where", "k + 1"], "a constraint must be a comparison"),
        ],
    )
    def test_bad_input_exit_2(self, runner: CliRunner, args: list[str], message: str) -> None:
        result = run_cli(runner, SEED, *args)
        assert result.exit_code == 2, result.output
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr

    def test_did_you_mean(self, runner: CliRunner) -> None:
        result = run_cli(runner, SEED, "--where", "bottleneck.param <= 1")
        assert "did you mean 'params'" in result.stderr

    def test_block_and_markdown(self, runner: CliRunner) -> None:
        result = run_cli(runner, SEED, "--block", "bottleneck", "--where", "params_no_bias <= 36928", "--maximize", "k", "-f", "markdown")
        assert result.exit_code == 0, result.output
        assert "| maximum of k | 57 at k=57 |" in result.stdout

    def test_json_keys(self, runner: CliRunner) -> None:
        doc = document(runner, TWO, "--where", "bottleneck.params <= 20K", "--range", "1..40", "--maximize", "k1*k2", "--limit", "3")
        assert set(doc) >= {"name", "where", "constraints", "metrics", "symbols", "range", "range_from", "multiple_of", "method", "count", "points", "rows", "optimum"}
        assert doc["method"] == "evaluation" and doc["points_searched"] == 1600 and len(doc["points"]) == 3 and doc["truncated"]
        assert doc["optimum"]["sense"] == "max" and doc["optimum"]["points"]

    def test_unbounded_answer(self, runner: CliRunner) -> None:
        doc = document(runner, SEED, "--where", "bottleneck.params >= plain.params")
        first = next(k for k in range(1, 1000) if 9 * k * k + 130 * k + 64 >= 73856)  # the hand-written count
        assert doc["count"] is None and doc["runs"] == [[first, None]]

    def test_metric_names_stay_refused_in_specs(self, runner: CliRunner) -> None:
        text = "name: t\ninput: [4]\nlayers:\n  - Linear: {out_features: plain.params}\n"
        result = runner.invoke(main, ["params", "-"], input=text)
        assert result.exit_code == 2 and "not available here (solve's metrics)" in result.stderr
