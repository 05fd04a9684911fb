"""Tests for cnncalc.derive.checks: the finite-difference checker itself."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from cnncalc.derive import BN, SOFTMAX, check_formula, check_gradient, numeric

# --- the checker -------------------------------------------------------------


def test_check_gradient_accepts_right_and_rejects_wrong_gradient() -> None:
    a, b = sp.symbols("a b", real=True)
    f = numeric(a**2 * b + sp.exp(a) * sp.log(b), (a, b))
    right = numeric(2 * a * b + sp.exp(a) * sp.log(b), (a, b)), numeric(a**2 + sp.exp(a) / b, (a, b))
    wrong = numeric(2 * a * b, (a, b)), right[1]
    points = [(Fraction(1, 3), Fraction(7, 5)), (Fraction(-2), Fraction(1, 2))]
    good = check_gradient(f, lambda p: [g(p) for g in right], points, name="good")
    bad = check_gradient(f, lambda p: [g(p) for g in wrong], points, name="bad")
    assert good.ok and float(good.max_abs_error) < 1e-20 and good.points == 2
    assert not bad.ok and float(bad.max_abs_error) > 0.1
    # a gradient that is off by 1e-18 is still caught at 60 digits
    nudged = check_gradient(f, lambda p: [right[0](p) + mpmath.mpf("1e-18"), right[1](p)], points)
    assert not nudged.ok


def test_check_gradient_rejects_nan_and_length_mismatch() -> None:
    f = lambda p: p[0] ** 2  # noqa: E731
    assert not check_gradient(f, lambda p: [mpmath.nan], [(1,)]).ok
    with pytest.raises(ValueError):
        check_gradient(f, lambda p: [1, 2], [(1,)])


def test_checks_are_deterministic_per_seed() -> None:
    right = SOFTMAX.yhat[SOFTMAX.t] - SOFTMAX.y[SOFTMAX.t]
    assert check_formula("softmax-ce", "dist", right, seed=7) == check_formula("softmax-ce", "dist", right, seed=7)
    assert check_formula("softmax-ce", "dist", right, seed=8).ok
    # a wrong formula's error grows with the random data, so it shows which points a seed picks
    wrong = sp.Sum(BN.g[BN.j] * BN.x[BN.j], (BN.j, 1, BN.m))
    a, b, c = (check_formula("bn", "dgamma", wrong, seed=s, sizes=(3,), points_per_size=1) for s in (7, 7, 8))
    assert a == b
    assert a.max_abs_error != c.max_abs_error
