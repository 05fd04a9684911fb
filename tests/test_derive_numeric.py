"""Tests for cnncalc.derive.numeric: sympy expressions evaluated with mpmath."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from cnncalc.derive.numeric import evaluate, numeric, numeric_vector, to_mpf
from cnncalc.errors import UsageError

a, b, u = sp.symbols("a b u", real=True)


def test_numeric_evaluates_at_the_callers_precision() -> None:
    f = numeric(sp.sqrt(a) + sp.exp(b) * sp.log(a) - sp.Rational(1, 3), (a, b))
    with mpmath.workdps(60):
        value = f([2, Fraction(1, 2)])
        expected = mpmath.sqrt(2) + mpmath.exp(mpmath.mpf(1) / 2) * mpmath.log(2) - mpmath.mpf(1) / 3
        assert abs(value - expected) < mpmath.mpf("1e-58")


def test_bindings_are_recomputed_at_every_point() -> None:
    f = numeric(u**2 + b, (a,), {b: Fraction(1, 4)}, ((u, a + 1),))
    assert f([1]) == mpmath.mpf("4.25") and f([2]) == mpmath.mpf("9.25")
    grad = numeric_vector((2 * u, sp.Integer(1)), (a, b), {}, ((u, a + 1),))
    assert list(grad([1, 0])) == [4, 1]


def test_evaluate_and_to_mpf() -> None:
    assert evaluate((a * b, a**-2), {a: 2, b: "0.5"}) == [1, mpmath.mpf("0.25")]
    with mpmath.workdps(50):
        assert to_mpf(Fraction(1, 3)) == mpmath.mpf(1) / 3
        assert to_mpf(sp.Rational(2, 7)) == mpmath.mpf(2) / 7


def test_unsupported_expressions_and_clashing_symbols_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="cannot evaluate sin"):
        numeric(sp.sin(a), (a,))
    with pytest.raises(UsageError, match="both a variable"):
        numeric(a + b, (a,), {a: 1})
