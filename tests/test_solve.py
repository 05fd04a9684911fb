"""The bottleneck solver: exact intervals, integer widths and combinations, checked against hand algebra.

Every expected number here is derived in the test (the quadratic formula written out, or brute
force over plain Python ints with the hand-written polynomial), never copied from the program.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sympy

from cnncalc.analysis.evaluate import evaluate_spec
from cnncalc.errors import NoAnswerError, UsageError
from cnncalc.render.bottleneck import bottleneck_document, bottleneck_report, end_text, no_answer
from cnncalc.render.working import bottleneck_explanation
from cnncalc.solve.band import Band, parse_reduce
from cnncalc.solve.bottleneck import choose, solve_bottleneck
from cnncalc.spec import load_text
from cnncalc.spec.zoo import load_spec

CONFIGS = Path(__file__).parent.parent / "configs"
SEED = CONFIGS / "resnet_block_bottleneck.yaml"
TWO = CONFIGS / "bottleneck_two_widths.yaml"

# The seed block by hand: plain = two 3x3 convs 64->64 (each 64*64*9 weights + 64 bias);
# bottleneck = 1x1 64->k, 3x3 k->k, 1x1 k->64.
BASE = {False: 2 * 64 * 64 * 9, True: 2 * (64 * 64 * 9 + 64)}
SEED_P: dict[bool, Callable[[int], int]] = {
    False: lambda k: 64 * k + 9 * k * k + 64 * k,
    True: lambda k: (64 * k + k) + (9 * k * k + k) + (64 * k + 64),
}
TWO_P: dict[bool, Callable[[int, int], int]] = {
    False: lambda a, b: 64 * a + 9 * a * b + 64 * b,
    True: lambda a, b: (64 * a + a) + (9 * a * b + b) + (64 * b + 64),
}
k = sympy.Symbol("k")


def solve_spec(path: Path | str | None, reduce: str | Band, *, text: str | None = None, bindings: dict[str, Any] | None = None,
               explain: bool = False, **options: Any) -> Any:
    spec = load_text(text, "<test>") if text is not None else load_spec(str(path))
    evaluations = evaluate_spec(spec, blocks=tuple(spec.blocks), overrides=bindings or {}, explain=explain)
    metric = options.get("metric", "params")
    base, cand = choose(evaluations, metric, options.pop("baseline", None), options.pop("candidate", None))
    band = parse_reduce(reduce) if isinstance(reduce, str) else reduce
    result = solve_bottleneck(base, cand, band, **options)
    return result, base, cand


def by_bias(result: Any) -> dict[bool, Any]:
    return {s.bias: s for s in result.solutions}


def quadratic_root(a: Any, b: Any, c: Any) -> Any:
    """The larger root of a*k^2 + b*k + c, by the formula."""
    return (-b + sympy.sqrt(b * b - 4 * a * c)) / (2 * a)


def brute(p: Callable[..., int], base: int, lo: Fraction, hi: Fraction | None, ranges: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    import itertools

    lower = None if hi is None else (1 - hi) * base
    upper = (1 - lo) * base
    return [v for v in itertools.product(*ranges) if (lower is None or p(*v) >= lower) and p(*v) <= upper]


# ----------------------------------------------------------------------------- the seed problem


class TestSeed:
    """The acceptance numbers of the seed problem, in both bias modes."""

    def test_no_bias_interval_and_exact_ends(self) -> None:
        result, _, _ = solve_spec(SEED, "0.5-0.6")
        s = by_bias(result)[False]
        # 9k^2 + 128k = (1-0.6)*73728 and = (1-0.5)*73728.
        lo = quadratic_root(sympy.Integer(9), sympy.Integer(128), -sympy.Rational(2, 5) * 73728)
        hi = quadratic_root(sympy.Integer(9), sympy.Integer(128), -sympy.Rational(1, 2) * 73728)
        assert sympy.simplify(lo - (-sympy.Rational(64, 9) + 64 * sympy.sqrt(1645) / 45)) == 0
        assert sympy.simplify(hi - (-sympy.Rational(64, 9) + 64 * sympy.sqrt(82) / 9)) == 0
        piece = s.interval
        assert sympy.simplify(piece.lo.exact - lo) == 0
        assert sympy.simplify(piece.hi.exact - hi) == 0
        assert round(piece.lo.value, 4) == 50.5722
        assert round(piece.hi.value, 4) == 57.2827
        assert piece.lo.closed and piece.hi.closed
        assert end_text(piece.lo) == str(piece.lo.exact) and end_text(piece.hi) == str(piece.hi.exact)
        assert s.integers == list(range(51, 58))

    def test_with_bias_interval(self) -> None:
        result, _, _ = solve_spec(SEED, "0.5-0.6")
        s = by_bias(result)[True]
        # 9k^2 + 130k + 64 = (1-0.6)*73856 and = (1-0.5)*73856.
        lo = quadratic_root(sympy.Integer(9), sympy.Integer(130), 64 - sympy.Rational(2, 5) * 73856)
        hi = quadratic_root(sympy.Integer(9), sympy.Integer(130), 64 - sympy.Rational(1, 2) * 73856)
        assert sympy.simplify(s.interval.lo.exact - lo) == 0
        assert sympy.simplify(s.interval.hi.exact - hi) == 0
        assert round(s.interval.lo.value, 4) == 50.4626
        assert round(s.interval.hi.value, 4) == 57.1840
        assert s.integers == list(range(51, 58))

    @pytest.mark.parametrize("bias", [False, True])
    def test_polynomials_and_baselines(self, bias: bool) -> None:
        result, _, _ = solve_spec(SEED, "0.5-0.6")
        s = by_bias(result)[bias]
        assert s.baseline == BASE[bias]
        for width in (1, 7, 51, 300):
            assert s.count.subs(s.count.free_symbols.pop(), width) == SEED_P[bias](width)
        assert s.lower == Fraction(2, 5) * BASE[bias] and s.upper == Fraction(1, 2) * BASE[bias]

    @pytest.mark.parametrize("bias", [False, True])
    @pytest.mark.parametrize("band", ["0.5-0.6", "0.1-0.2", "0.3-0.9", "0-0.5", "0.9-0.99", "0.25-0.25"])
    def test_integers_match_brute_force(self, bias: bool, band: str) -> None:
        result, _, _ = solve_spec(SEED, band)
        b = parse_reduce(band)
        expected = [v[0] for v in brute(SEED_P[bias], BASE[bias], b.lo, b.hi, [range(1, 400)])]
        assert by_bias(result)[bias].integers == expected

    def test_at_least(self) -> None:
        result, _, _ = solve_spec(SEED, "0.5")
        for bias, s in by_bias(result).items():
            assert s.lower is None
            expected = [v[0] for v in brute(SEED_P[bias], BASE[bias], Fraction(1, 2), None, [range(1, 400)])]
            assert s.integers == expected == list(range(1, 58))
            assert s.interval.lo.value == 0 and not s.interval.lo.closed

    def test_band_percent_spellings_agree(self) -> None:
        answers = []
        for text in ("0.5-0.6", "50-60%", "50%-60%", "1/2-3/5"):
            result, _, _ = solve_spec(SEED, text)
            answers.append([(s.bias, end_text(s.interval.lo), end_text(s.interval.hi), s.integers) for s in result.solutions])
        assert all(a == answers[0] for a in answers)

    def test_bias_selection(self) -> None:
        result, _, _ = solve_spec(SEED, "0.5-0.6", biases=(True,))
        assert [s.bias for s in result.solutions] == [True]


class TestEmpty:
    """No integer width: an empty answer with a sentence saying why."""

    def test_band_beyond_reach(self) -> None:
        # Even k = 1 has 9 + 128 = 137 params > (1 - 0.999)*73728 = 73.7.
        result, _, _ = solve_spec(SEED, "0.999-0.9999")
        assert result.empty
        error = no_answer(result)
        assert isinstance(error, NoAnswerError) and error.exit_code == 1
        assert "no integer width k" in str(error) and "99.9%-99.99%" in str(error)

    def test_interval_without_integer(self) -> None:
        # P(51) = 29937 and P(52) = 30992 without bias: counts 30000..30500 lie strictly between them.
        band = Band(1 - Fraction(30500, 73728), 1 - Fraction(30000, 73728))
        result, _, _ = solve_spec(SEED, band, biases=(False,))
        s = result.solutions[0]
        assert s.pieces and s.integers == [] and s.total == 0
        assert 51 < s.interval.lo.value < s.interval.hi.value < 52
        assert "holds no admissible integer" in str(no_answer(result))

    def test_ninety_nine_percent_band_is_not_empty(self) -> None:
        # 0.99-0.999 is not empty: k = 1..4 fit: P(1) = 137 = 99.81% below 73728.
        result, _, _ = solve_spec(SEED, "0.99-0.999")
        for bias, s in by_bias(result).items():
            expected = [v[0] for v in brute(SEED_P[bias], BASE[bias], Fraction(99, 100), Fraction(999, 1000), [range(1, 100)])]
            assert s.integers == expected == [1, 2, 3, 4]


class TestOptions:
    """--multiple-of, --range and --set."""

    def test_multiple_of(self) -> None:
        result, _, _ = solve_spec(SEED, "0.5-0.6", multiple_of=8)
        for s in result.solutions:
            assert s.integers == [56]

    def test_multiple_of_empty(self) -> None:
        result, _, _ = solve_spec(SEED, "0.5-0.6", multiple_of=64)
        assert result.empty

    def test_range_clips_interval_and_integers(self) -> None:
        result, _, _ = solve_spec(SEED, "0.5-0.6", ranges={"k": (52, 54)}, biases=(False,))
        s = result.solutions[0]
        assert s.integers == [52, 53, 54]
        assert s.interval.lo.exact == 52 and s.interval.hi.exact == 54 and s.interval.lo.closed

    def test_range_for_every_symbol(self) -> None:
        result, _, _ = solve_spec(SEED, "0.5-0.6", ranges={None: (1, 53)}, biases=(False,))
        assert result.solutions[0].integers == [51, 52, 53]

    def test_range_for_unknown_symbol(self) -> None:
        with pytest.raises(UsageError, match="not a free symbol"):
            solve_spec(SEED, "0.5-0.6", ranges={"q": (1, 5)})

    def test_set_binds_one_of_two(self) -> None:
        result, _, _ = solve_spec(TWO, "0.5-0.6", bindings={"k1": 32})
        assert result.symbols == ("k2",)
        for bias, s in by_bias(result).items():
            expected = [v[0] for v in brute(lambda b, bias=bias: TWO_P[bias](32, b), BASE[bias], Fraction(1, 2), Fraction(3, 5), [range(1, 600)])]
            assert s.integers == expected and expected


class TestMacs:
    """--metric macs: the same search on multiply-accumulates (spatial size 16x16 matters)."""

    def test_seed_macs(self) -> None:
        result, _, _ = solve_spec(SEED, "0.5-0.6", metric="macs")
        (s,) = result.solutions
        base = 2 * (16 * 16 * 64) * (64 * 9)  # two 3x3 convs: output elements * Cin * 3 * 3
        assert s.baseline == base == 18874368

        def macs(w: int) -> int:
            return 16 * 16 * (64 * w + 9 * w * w + 64 * w)
        for width in (1, 13, 57):
            assert s.count.subs(s.count.free_symbols.pop(), width) == macs(width)
        expected = [v[0] for v in brute(macs, base, Fraction(1, 2), Fraction(3, 5), [range(1, 400)])]
        assert s.integers == expected == list(range(51, 58))
        # MACs are 256x the no-bias params here, so the interval is the no-bias one.
        no_bias = by_bias(solve_spec(SEED, "0.5-0.6")[0])[False]
        assert sympy.simplify(s.interval.lo.exact - no_bias.interval.lo.exact) == 0
        assert sympy.simplify(s.interval.hi.exact - no_bias.interval.hi.exact) == 0


# ----------------------------------------------------------------------------- several symbols


class TestTwoWidths:
    """Independent k1, k2: every feasible pair, against brute force."""

    @pytest.mark.parametrize("bias", [False, True])
    @pytest.mark.parametrize("band,step", [("0.5-0.6", 1), ("0.5-0.6", 8), ("0.3-0.35", 1), ("0.9", 1)])
    def test_pairs_match_brute_force(self, bias: bool, band: str, step: int) -> None:
        result, _, _ = solve_spec(TWO, band, multiple_of=step, limit=10**6)
        s = by_bias(result)[bias]
        b = parse_reduce(band)
        span = range(step, 800, step)
        expected = brute(TWO_P[bias], BASE[bias], b.lo, b.hi, [span, span])
        assert [tuple(p) for p in s.integers] == expected
        assert s.total == len(expected) and not s.truncated
        assert s.symbols == ("k1", "k2")

    def test_limit_truncates_but_counts_all(self) -> None:
        result, _, _ = solve_spec(TWO, "0.5-0.6", biases=(False,))
        s = result.solutions[0]
        assert len(s.integers) == 50 and s.truncated
        expected = brute(TWO_P[False], BASE[False], Fraction(1, 2), Fraction(3, 5), [range(1, 800), range(1, 800)])
        assert s.total == len(expected)
        assert [tuple(p) for p in s.integers] == expected[:50]

    def test_derived_bound(self) -> None:
        result, _, _ = solve_spec(TWO, "0.5-0.6", biases=(False,))
        s = result.solutions[0]
        # With k2 = 1: 64*k1 + 9*k1 + 64 <= 36864 gives k1 <= 504.
        assert s.derived == ("k1",) and s.bounds[0].hi == max(a for a in range(1, 1000) if 73 * a + 64 <= 36864)

    def test_explicit_ranges(self) -> None:
        result, _, _ = solve_spec(TWO, "0.5-0.6", ranges={"k1": (10, 40), "k2": (30, 90)}, limit=10**6, biases=(True,))
        expected = brute(TWO_P[True], BASE[True], Fraction(1, 2), Fraction(3, 5), [range(10, 41), range(30, 91)])
        assert [tuple(p) for p in result.solutions[0].integers] == expected

    def test_three_symbols(self) -> None:
        text = """
name: three
input: [32, 8, 8]
blocks:
  plain:
    - Conv2d: {out_channels: 32, kernel_size: 3, padding: 1}
  three:
    - Conv2d: {out_channels: a, kernel_size: 1, bias: false}
    - Conv2d: {out_channels: b, kernel_size: 3, padding: 1, bias: false}
    - Conv2d: {out_channels: c, kernel_size: 1, bias: false}
    - Conv2d: {out_channels: 32, kernel_size: 1, bias: false}
"""
        result, _, _ = solve_spec(None, "0.2-0.5", text=text, ranges={None: (1, 24)}, limit=10**6, biases=(False,))
        p = lambda a, b, c: 32 * a + 9 * a * b + b * c + 32 * c  # noqa: E731
        expected = brute(p, 32 * 32 * 9, Fraction(1, 5), Fraction(1, 2), [range(1, 25)] * 3)
        assert [tuple(v) for v in result.solutions[0].integers] == expected and expected

    def test_huge_given_range_is_searched_only_where_the_count_can_fit(self) -> None:
        # The count grows with every width: k1 beyond the band is never visited, so a range of
        # ten million answers as the derived range does.
        wide, _, _ = solve_spec(TWO, "0.5-0.6", ranges={"k1": (1, 10**7)})
        derived, _, _ = solve_spec(TWO, "0.5-0.6")
        for a, b in zip(wide.solutions, derived.solutions):
            assert a.total == b.total and a.listed == b.listed and a.total


# ----------------------------------------------------------------------------- choosing blocks and errors


THREE_BLOCKS = """
name: three-blocks
input: [16, 8, 8]
blocks:
  plain: [{Conv2d: {out_channels: 16, kernel_size: 3, padding: 1}}]
  wide: [{Conv2d: {out_channels: 32, kernel_size: 3, padding: 1}}, {Conv2d: {out_channels: 16, kernel_size: 1}}]
  slim: [{Conv2d: {out_channels: k, kernel_size: 1}}, {Conv2d: {out_channels: 16, kernel_size: 3, padding: 1}}]
"""


class TestChoose:
    """Baseline and candidate: automatic when unambiguous, by name otherwise."""

    def test_ambiguous_baseline(self) -> None:
        with pytest.raises(UsageError, match="which block is the baseline") as info:
            solve_spec(None, "0.5-0.6", text=THREE_BLOCKS)
        assert "plain, wide" in str(info.value) and "--baseline" in str(info.value)

    def test_named_baseline(self) -> None:
        result, base, cand = solve_spec(None, "0.5-0.6", text=THREE_BLOCKS, baseline="wide")
        assert (base.name, cand.name) == ("wide", "slim")
        # slim: 16k + k + 9*16k + 16 params; wide: 16*32*9 + 32 + 32*16 + 16.
        p = lambda w: 16 * w + w + 9 * 16 * w + 16  # noqa: E731
        expected = [v[0] for v in brute(p, 16 * 32 * 9 + 32 + 32 * 16 + 16, Fraction(1, 2), Fraction(3, 5), [range(1, 200)])]
        assert by_bias(result)[True].integers == expected

    def test_candidate_without_symbols(self) -> None:
        with pytest.raises(UsageError, match="no free width symbol"):
            solve_spec(None, "0.5-0.6", text=THREE_BLOCKS, baseline="plain", candidate="wide")

    def test_baseline_with_symbols(self) -> None:
        with pytest.raises(UsageError, match="has free symbols"):
            solve_spec(None, "0.5-0.6", text=THREE_BLOCKS, baseline="slim", candidate="slim")


class TestNotPolynomial:
    """A count that is not a polynomial: exact evaluation (bisection where it never decreases)."""

    def test_floor_is_solved_exactly(self) -> None:
        text = SEED.read_text().replace("{out_channels: k, kernel_size: 1}", "{out_channels: k//4, kernel_size: 1}")
        result, _, _ = solve_spec(None, "0.5-0.6", text=text, biases=(False,))
        p = lambda w: 64 * (w // 4) + 9 * (w // 4) * w + 64 * w  # noqa: E731
        expected = [v[0] for v in brute(p, BASE[False], Fraction(1, 2), Fraction(3, 5), [range(1, 1000)])]
        s = result.solutions[0]
        assert s.method == "evaluation" and s.integers == expected and expected

    def test_decreasing_count_needs_a_range(self) -> None:
        text = SEED.read_text().replace("{out_channels: k, kernel_size: 1}", "{out_channels: 64, kernel_size: 1, stride: k}")
        with pytest.raises(UsageError, match=r"--range k=A\.\.B"):
            solve_spec(None, "0.5-0.6", text=text, metric="macs")
        result, base, _ = solve_spec(None, "0.95-0.999", text=text, metric="macs", ranges={"k": (1, 40)})
        spec = load_text(text, "<test>")
        # the numeric rule, width by width: the candidate evaluated with k bound
        macs = {v: evaluate_spec(spec, blocks=("bottleneck",), overrides={"k": v})[0].macs for v in range(1, 41)}
        expected = [v for v, m in macs.items() if Fraction(base.macs) / 1000 <= m <= Fraction(base.macs) / 20]
        assert result.solutions[0].method == "evaluation" and result.solutions[0].integers == expected and expected

    def test_max_is_solved_exactly(self) -> None:
        text = SEED.read_text().replace("{out_channels: k, kernel_size: 1}", '{out_channels: "max(k, 16)", kernel_size: 1}')
        result, _, _ = solve_spec(None, "0.3-0.6", text=text, biases=(False,))
        s = result.solutions[0]
        p = lambda w: 64 * max(w, 16) + 9 * max(w, 16) * w + 64 * w  # noqa: E731
        expected = [v[0] for v in brute(p, BASE[False], Fraction(3, 10), Fraction(3, 5), [range(1, 300)])]
        assert s.method == "evaluation" and s.integers == expected and expected

    def test_floor_with_two_symbols(self) -> None:
        text = TWO.read_text().replace("{out_channels: k1, kernel_size: 1}", "{out_channels: k1//2, kernel_size: 1}")
        with pytest.raises(UsageError, match="give k1 a finite range"):
            solve_spec(None, "0.5-0.6", text=text)
        result, _, _ = solve_spec(None, "0.5-0.6", text=text, biases=(False,), ranges={"k1": (1, 60), "k2": (1, 120)}, limit=10**6)
        # k1 = 1 makes out_channels 0: not a valid width
        p = lambda a, b: 64 * (a // 2) + 9 * (a // 2) * b + 64 * b  # noqa: E731
        expected = [list(v) for v in brute(p, BASE[False], Fraction(1, 2), Fraction(3, 5), [range(2, 61), range(1, 121)])]
        assert result.solutions[0].method == "evaluation" and result.solutions[0].integers == expected and expected


# ----------------------------------------------------------------------------- rendering


class TestRendering:
    """The JSON document's contract keys, the table and the worked solution."""

    def test_document_keys(self) -> None:
        result, _, _ = solve_spec(SEED, "0.5-0.6")
        doc = bottleneck_document(result)
        assert doc["baseline"] == {"name": "plain", "params": 73856, "params_no_bias": 73728}
        assert doc["candidate"]["name"] == "bottleneck" and doc["candidate"]["params"] == "9*k**2 + 130*k + 64"
        assert doc["reduce"] == [0.5, 0.6]
        for item in doc["solutions"]:
            assert {"bias", "symbol", "interval", "exact", "integers"} <= set(item)
            assert item["symbol"] == "k" and item["integers"] == list(range(51, 58))
        exact = doc["solutions"][0]["exact"]
        assert exact == ["-64/9 + 64*sqrt(1645)/45", "-64/9 + 64*sqrt(82)/9"]

    def test_table_side_by_side(self) -> None:
        result, _, _ = solve_spec(SEED, "0.5-0.6")
        table = bottleneck_report(result).tables[0]
        assert table.columns == ("", "without bias", "with bias")
        rows = {r[0]: r[1:] for r in table.rows}
        assert rows["interval"] == ("[50.5722, 57.2827]", "[50.4626, 57.1840]")
        assert rows["integer k"] == ("51..57", "51..57")

    def test_explanation_reads_like_a_worked_answer(self) -> None:
        result, base, cand = solve_spec(SEED, "0.5-0.6", explain=True)
        text = "\n".join(head + "\n" + "\n".join(lines) for head, lines in bottleneck_explanation(result, base, cand))
        for expected in (
            "params = C_out*(C_in/groups)*kh*kw + C_out = 64*(64/1)*3*3 + 64 = 36,928",
            "with bias: 36928 + 36928 = 73856",
            "without bias: 36864 + 36864 = 73728",
            "= 9*k**2 + 128*k",
            "29491.2 <= 9*k**2 + 128*k <= 36864",
            "a = 9, b = 128, c = -29491.2",
            "k = -64/9 + 64*sqrt(1645)/45 ~ 50.5722",
            "(not positive: rejected)",
            "k = 51..57 (7 widths)",
            f"check k = 50: P = {SEED_P[False](50)}",
            f"check k = 58: P = {SEED_P[False](58)}",
        ):
            assert expected in text, expected
        assert text.count("outside the band") == 4

    def test_two_symbol_tables(self) -> None:
        result, _, _ = solve_spec(TWO, "0.5-0.6", multiple_of=8)
        report = bottleneck_report(result)
        assert len(report.tables) == 3
        first = report.tables[1].rows[0]
        expected = [b for a, b in brute(TWO_P[False], BASE[False], Fraction(1, 2), Fraction(3, 5), [[8], range(8, 800, 8)])]
        assert first[0] == "8" and first[1] == f"{expected[0]}..{expected[-1]} step 8"
