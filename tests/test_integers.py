"""Exact integer solving: runs of integers where lower <= P(n) <= upper, against brute force."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.solve.integers import ascending, horner, integer_runs, listing, root_cells, stepped
from cnncalc.solve.results import Row, Run


@settings(max_examples=200, deadline=None)
@given(
    coeffs=st.lists(st.integers(-60, 60), min_size=1, max_size=5),
    lower=st.integers(-300, 300),
    width=st.integers(0, 400),
    a=st.integers(1, 30),
    span=st.integers(0, 60),
)
def test_integer_runs_match_brute_force(coeffs: list[int], lower: int, width: int, a: int, span: int) -> None:
    """Any polynomial, monotone or not: the runs are exactly the feasible integers."""
    b = a + span
    frac = [Fraction(c, 3) for c in coeffs]  # rational coefficients too
    lo, hi = Fraction(lower, 2), Fraction(lower + width, 2)
    runs = integer_runs(frac, lo, hi, a, b)
    got = [n for first, last in runs for n in range(first, (last if last is not None else b) + 1)]

    def value(n: int) -> Fraction:
        return sum((c * n**i for i, c in enumerate(frac)), Fraction(0))

    assert got == [n for n in range(a, b + 1) if lo <= value(n) <= hi]
    assert all(last is not None for _, last in runs)


@settings(max_examples=100, deadline=None)
@given(coeffs=st.lists(st.integers(-40, 40), min_size=1, max_size=4), upper=st.integers(-200, 2000))
def test_integer_runs_unbounded(coeffs: list[int], upper: int) -> None:
    """No upper limit: runs agree with brute force well past every root; only a last run may be open."""
    frac = [Fraction(c) for c in coeffs]
    runs = integer_runs(frac, None, Fraction(upper), 1, None)
    window = 3 + 2 * (sum(abs(c) for c in coeffs) + abs(upper))  # past every root of P - upper (Cauchy)

    def ok(n: int) -> bool:
        return bool(sum(c * n**i for i, c in enumerate(coeffs)) <= upper)

    got = {n for first, last in runs for n in range(first, (last if last is not None else window) + 1)}
    assert got == {n for n in range(1, window + 1) if ok(n)}
    assert all(last is not None for _, last in runs[:-1])
    assert bool(runs and runs[-1][1] is None) == ok(window + 1)


def test_cauchy_window_is_finite() -> None:
    # An unbounded answer (the count never exceeds the bound) is reported as open-ended, not looped over.
    assert integer_runs([Fraction(5)], None, Fraction(10), 1, None) == [(1, None)]
    assert integer_runs([Fraction(50)], None, Fraction(10), 1, None) == []


def test_root_cells_hold_every_root() -> None:
    # (n - 3)(n - 7) = n^2 - 10n + 21: roots 3 and 7, each in a reported cell [c, c+1].
    cells = root_cells([21, -10, 1], 0, 20)
    assert any(c <= 3 <= c + 1 for c in cells) and any(c <= 7 <= c + 1 for c in cells)
    # 2n^2 - 3 has the irrational root sqrt(3/2) = 1.22...: the cell [1, 2].
    assert 1 in root_cells([-3, 0, 2], 0, 5)
    assert root_cells([5], 0, 10) == set()  # a nonzero constant has no root
    assert root_cells([1, 1], 0, 10) == set()  # n + 1 has its root at -1, outside


def test_horner_and_ascending() -> None:
    assert horner([1, 2, 3], 2) == 1 + 2 * 2 + 3 * 4
    assert horner([Fraction(1, 2), Fraction(1, 3)], 3) == Fraction(3, 2)
    # 64*a + 9*a*b + 64*b with b fixed at 2: (64 + 18)*a + 128.
    terms = [((1, 0), Fraction(64)), ((1, 1), Fraction(9)), ((0, 1), Fraction(64))]
    assert ascending(terms, 0, (2,)) == [Fraction(128), Fraction(82)]


def test_stepped_keeps_multiples() -> None:
    assert stepped([(5, 30), (33, 39)], 8) == [Run(8, 24, 8)]
    assert stepped([(1, None)], 4) == [Run(4, None, 4)]
    assert stepped([(3, 9)], 1) == [Run(3, 9)]


def test_listing_counts_all_and_lists_the_first() -> None:
    rows = (Row((1,), (Run(1, 3), Run(5, 5))), Row((2,), (Run(10, 19),)))
    listed, total, truncated = listing(rows, 5)
    assert listed == ((1, 1), (1, 2), (1, 3), (1, 5), (2, 10)) and total == 14 and truncated
    listed, total, truncated = listing((Row((), (Run(7, None),)),), 1000)
    assert total is None and truncated and len(listed) == 50  # an unbounded run lists a handful
