"""The options of `cnncalc bottleneck` read exactly: the reduction band and the width ranges."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from cnncalc.errors import UsageError
from cnncalc.render.bottleneck import band_text, bound_text
from cnncalc.solve.band import Band, Bound, parse_range, parse_reduce


@pytest.mark.parametrize(
    "text,lo,hi",
    [
        ("0.5-0.6", Fraction(1, 2), Fraction(3, 5)),
        ("50-60%", Fraction(1, 2), Fraction(3, 5)),
        ("50%-60%", Fraction(1, 2), Fraction(3, 5)),
        (" 0.5 - 0.6 ", Fraction(1, 2), Fraction(3, 5)),
        ("1/2-3/5", Fraction(1, 2), Fraction(3, 5)),
        ("0.5..0.6", Fraction(1, 2), Fraction(3, 5)),
        ("33.3%-50%", Fraction(333, 1000), Fraction(1, 2)),
        ("0.5", Fraction(1, 2), None),
        ("50%", Fraction(1, 2), None),
        (".5", Fraction(1, 2), None),
        ("0", Fraction(0), None),
        ("0-1", Fraction(0), Fraction(1)),
        ("100%", Fraction(1), None),
        ("0/7", Fraction(0), None),
        ("0." + "3" * 99, Fraction(int("3" * 99), 10**99), None),  # 100 digits: read exactly
    ],
)
def test_parse_reduce(text: str, lo: Fraction, hi: Fraction | None) -> None:
    band = parse_reduce(text)
    assert (band.lo, band.hi) == (lo, hi)


@pytest.mark.parametrize(
    "text,message",
    [
        ("abc", "cannot read"),
        ("", "cannot read"),
        ("0.6-0.5", "smaller reduction comes first"),
        ("50-60", "between 0 and 1"),
        ("1.5", "between 0 and 1"),
        ("50%-0.6", "mixed units"),
        ("-0.5", "cannot read"),
        ("0.5-0.6-0.7", "cannot read"),
        ("nan", "cannot read"),
        ("1e3", "cannot read"),
        ("1/0", "division by zero"),
        ("0/0", "division by zero"),
        ("0.5-3/0", "division by zero"),
        ("0." + "1" * 101, "too many digits"),
        ("1/" + "1" * 101, "too many digits"),
        ("0." + "1" * 10_000, "too long"),
        ("0.5-0." + "0" * 500, "too long"),
    ],
)
def test_parse_reduce_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_reduce(text)


@pytest.mark.parametrize(
    "text,expected",
    [("k=1..256", ("k", 1, 256)), ("k = 8..", ("k", 8, None)), ("1..64", (None, 1, 64)), ("k1=3..3", ("k1", 3, 3))],
)
def test_parse_range(text: str, expected: tuple[Any, ...]) -> None:
    assert parse_range(text) == expected


@pytest.mark.parametrize("text", ["k=0..5", "k=5..1", "k", "k=a..b", "k=1-5", "=1..2", "k=-1..4"])
def test_parse_range_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_range(text)


def test_sympy_not_needed_to_parse_options() -> None:
    import subprocess
    import sys

    code = "import sys, cnncalc.solve.band, cnncalc.cli; assert 'sympy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


# ----------------------------------------------------------------------------- Band and Bound


def test_band_bounds_on_the_count() -> None:
    """A reduction lo..hi keeps the count between (1-hi)*B and (1-lo)*B, exactly."""
    assert Band(Fraction(1, 2), Fraction(3, 5)).bounds(73728) == (Fraction(147456, 5), Fraction(36864))
    assert Band(Fraction(1, 2), None).bounds(73728) == (None, Fraction(36864))
    assert Band(Fraction(0), Fraction(1)).bounds(10) == (Fraction(0), Fraction(10))


def test_decimal_band_is_exact() -> None:
    """0.6 is 3/5, never the float 0.59999...: the upper bound on a count of 10 is exactly 4."""
    band = parse_reduce("0.6-0.6")
    assert band.bounds(10) == (Fraction(4), Fraction(4))
    assert parse_reduce("0.1").lo * 10 == 1


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("0.5-0.6", "50%-60%"),
        ("50%", "at least 50%"),
        ("0.25-0.25", "exactly 25%"),
        ("1/3-1/2", "33.3333%-50%"),
        ("99.9%-99.99%", "99.9%-99.99%"),
    ],
)
def test_band_reads_back(text: str, shown: str) -> None:
    assert band_text(parse_reduce(text)) == shown


def test_bound_reads_back() -> None:
    assert bound_text(Bound("k", 1, 256)) == "1..256"
    assert bound_text(Bound("k", 8, None)) == "8.."
    assert Bound("k", 1, None).explicit is False


@pytest.mark.parametrize("text", ["k=1..256", "k=8..", "1..64"])
def test_range_round_trips(text: str) -> None:
    name, lo, hi = parse_range(text)
    assert bound_text(Bound(name or "k", lo, hi)) == text.split("=")[-1]


def test_long_range_is_refused() -> None:
    with pytest.raises(UsageError, match="cannot read the range"):
        parse_range("k=1.." + "9" * 300)
