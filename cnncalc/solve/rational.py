"""Exact rationals between sympy and `fractions`: the solver computes with Fractions and Python
ints, and hands sympy a Rational only where it needs a surd or a root."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy


def as_fraction(value: Any) -> Fraction:
    """A sympy rational as a Fraction (ValueError for anything else)."""
    if not value.is_Rational:
        raise ValueError("not an exact rational")
    return Fraction(int(value.p), int(value.q))


def as_rational(value: Fraction) -> Any:
    """A Fraction as a sympy Rational."""
    return sympy.Rational(value.numerator, value.denominator)
