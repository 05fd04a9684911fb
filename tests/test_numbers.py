"""The one number formatter: every way a number is printed, as a table of value -> text."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sympy

from cnncalc.render import numbers

k = sympy.Symbol("k", positive=True, integer=True)


@pytest.mark.parametrize(
    ("function", "value", "text"),
    [
        (numbers.count_text, 0, "0"),
        (numbers.count_text, 999, "999"),
        (numbers.count_text, 117600, "117,600"),
        (numbers.count_text, -1234567, "-1,234,567"),
        (numbers.count_text, True, "true"),  # a flag, not a count: no separators
        (numbers.count_text, 9 * k**2 + 128 * k, "9*k**2 + 128*k"),
        (numbers.count_text, k * (k + 1), "k**2 + k"),  # symbolic counts expanded
        (numbers.value_text, 117600, "117600"),
        (numbers.value_text, Fraction(3, 2), "3/2"),
        (numbers.value_text, (k + 1) ** 2, "k**2 + 2*k + 1"),
        (numbers.bytes_text, 0, "0 B"),
        (numbers.bytes_text, 1023, "1,023 B"),
        (numbers.bytes_text, 1024, "1,024 B (1.00 KiB)"),
        (numbers.bytes_text, 3211264, "3,211,264 B (3.06 MiB)"),
        (numbers.bytes_text, 3 << 30, "3,221,225,472 B (3.00 GiB)"),
        (numbers.bytes_text, 4 * k, "4*k B"),
        (numbers.fraction_text, Fraction(2, 5), "2/5"),
        (numbers.fraction_text, Fraction(6, 2), "3"),
        (numbers.fraction_text, 7, "7"),
        (numbers.fraction_text, (9 * k**2 + 130 * k + 64) / 73856, "(9*k**2 + 130*k + 64)/73856"),
        (numbers.decimal_text, Fraction(1, 2), "0.5"),
        (numbers.decimal_text, Fraction(-1, 8), "-0.125"),
        (numbers.decimal_text, Fraction(3), "3"),
        (numbers.decimal_text, Fraction(1, 3), "0.3333"),
        (numbers.decimal_text, Fraction(1, 100000), "0.0000"),
        (numbers.rational_text, Fraction(147456, 5), "29491.2"),
        (numbers.rational_text, Fraction(1, 3), "1/3"),
        (numbers.rational_text, Fraction(-64), "-64"),
        (numbers.approx_text, Fraction(147456, 5), "29491.2"),
        (numbers.approx_text, Fraction(1, 3), "1/3 (~0.3333)"),
        (numbers.fixed_text, 50.57219, "50.5722"),
        (numbers.json_number, Fraction(36864), 36864),
        (numbers.json_number, Fraction(147456, 5), 29491.2),
        (numbers.percent, Fraction(1, 2), "50%"),
        (numbers.percent, Fraction(1, 3), "33.3333%"),
        (numbers.percent, Fraction(999, 1000), "99.9%"),
        (numbers.percent, Fraction(0), "0%"),
        (numbers.percent_fixed, Fraction(1, 3), "33.33%"),
        (numbers.percent_fixed, 0.5, "50.00%"),
        (numbers.ratio_text, None, "-"),
        (numbers.ratio_text, 0.25, "0.2500"),
        (numbers.ratio_text, k / 64, "k/64"),
        (numbers.reduction_text, None, "-"),
        (numbers.reduction_text, 0.25, "75.00%"),
        (numbers.reduction_text, k / 64, "1 - k/64"),
        (numbers.ratio_json, 0.25, 0.25),
        (numbers.ratio_json, None, None),
        (numbers.ratio_json, (k + 1) / 2, "(k + 1)/2"),
        (numbers.count_json, 5, 5),
        (numbers.count_json, 2 * k, "2*k"),
    ],
)
def test_number_text(function: Callable[[Any], Any], value: Any, text: Any) -> None:
    assert function(value) == text


def test_decimal_places() -> None:
    assert numbers.decimal_text(Fraction(1, 3), 6) == "0.333333"
    assert numbers.decimal_text(Fraction(123456789, 1000000), 6) == "123.456789"
    assert numbers.percent_fixed(Fraction(1, 3), 4) == "33.3333%"
    assert numbers.fixed_text(2.0, 1) == "2.0"


def test_no_heavy_import() -> None:
    """count_text is on the start-up path: the module itself imports neither fractions nor sympy."""
    import subprocess
    import sys

    code = "import sys, cnncalc.render.numbers as n; n.count_text(5); assert not {'fractions', 'sympy', 'decimal'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)


def test_numbers_past_a_float_are_exact() -> None:
    """10**400 bytes or a 10**400 ratio: exact text, where a float would overflow."""
    huge = 10**400
    gib, remainder = divmod(huge * 100, 1 << 30)  # hundredths of a GiB, rounded half to even
    gib += 2 * remainder > 1 << 30 or (2 * remainder == 1 << 30 and gib % 2)
    assert numbers.bytes_text(huge) == f"{huge:,} B ({gib // 100}.{gib % 100:02d} GiB)"
    assert numbers.decimal_text(Fraction(huge, 3)) == str(huge // 3) + ".3333"
    assert numbers.percent_fixed(Fraction(huge, 7)) == str(huge * 100 // 7) + "." + str(huge * 10000 // 7 % 100).rjust(2, "0") + "%"
    assert numbers.json_number(Fraction(huge, 3)) == f"{huge}/3"


def test_exact_rounding_agrees_with_float_formatting_where_floats_are_exact() -> None:
    """Dyadic fractions are exact floats: Python's own formatting is the oracle (half to even)."""
    for denominator in (8, 64, 1024):
        for numerator in range(-300, 301):
            value = Fraction(numerator, denominator)
            for places in (0, 1, 2):
                assert numbers.percent_fixed(value / 100, places) == f"{float(value):.{places}f}%"
    for count in range(1024, 1 << 20, 61):
        assert numbers.bytes_text(count).endswith(f" ({count / 1024:.2f} KiB)")
