"""Tests for cnncalc.derive.bn: the batch-norm derivation and its checks."""

from __future__ import annotations

from typing import Any

import pytest
import sympy as sp

from cnncalc.derive import BN, CheckResult, Derivation, check_formula, concrete_differences
from cnncalc.render.derive import step_expr, step_latex, step_prose

from .derive_shared import SIZES, at, textbook_compact

# --- the symbolic results ----------------------------------------------------


def test_bn_printed_compact_form_equals_textbook(bn: Derivation) -> None:
    # the expression drawn in the output (the last part of the compact-form step), not just results[...]
    printed = next(s for s in bn.steps if s.title == "Compact form of dl/dx_i").parts[-1]
    textbook = textbook_compact()
    for m in SIZES:
        for i in range(1, m + 1):
            assert sp.simplify(at(printed - textbook, m=m, i=i)) == 0, (m, i)
    # and a deliberately wrong compact form does not simplify to 0
    wrong = textbook.xreplace({BN.m * BN.g[BN.i]: BN.g[BN.i]})
    assert wrong != textbook
    assert sp.simplify(at(printed - wrong, m=3, i=1)) != 0


def test_bn_printed_compact_form_is_what_the_output_shows(bn: Derivation) -> None:
    step = next(s for s in bn.steps if s.title == "Compact form of dl/dx_i")
    assert step.parts[-1].doit() == bn.results["dx_compact"] or sp.simplify(step.parts[-1] - bn.results["dx_compact"]) == 0
    assert step_expr(step).startswith("dl/dx_i = gamma*(m*g_i - sum_{j=1..m} g_j - xhat_i*sum_{j=1..m} (g_j*xhat_j))")
    assert r"\frac{\partial l}{\partial x_{i}}" in step_latex(step)


def test_bn_standard_form_equals_textbook_in_x(bn: Derivation) -> None:
    # write xhat_j = (x_j - mu)/sqrt(sigma^2 + eps) in the textbook form and compare with the standard form
    in_x = textbook_compact().replace(
        lambda a: isinstance(a, sp.Indexed) and a.base == BN.xhat,
        lambda a: (BN.x[a.indices[0]] - BN.mu) / sp.sqrt(BN.var + BN.eps),
    )
    for m in (2, 3, 4):
        assert sp.simplify(at(bn.results["dx"] - in_x, m=m, i=1)) == 0, m


def test_bn_direct_derivative_equals_printed_formula(bn: Derivation) -> None:
    # d/dx_i of sum_k g_k y_k(x_1..x_m), differentiated by sympy through the fully written-out graph;
    # the differences are polynomials after the exact change of variables, so expand() decides them
    for m in (2, 3, 4):
        diffs = concrete_differences("bn", "dx", bn.results["dx_compact"], m)
        assert len(diffs) == m
        assert all(sp.expand(d) == 0 for d in diffs), m
    for m in (5, 6):  # larger batches: the first and the last input
        for q in (1, m):
            (d,) = concrete_differences("bn", "dx", bn.results["dx_compact"], m, component=q)
            assert sp.expand(d) == 0, (m, q)
    for d in concrete_differences("bn", "dx", bn.results["dx"], 2):
        assert sp.simplify(d) == 0


@pytest.mark.parametrize("key", ["dgamma", "dbeta", "dxhat", "dvar", "dmu", "jacobian"])
def test_bn_other_gradients_equal_direct_derivative(bn: Derivation, key: str) -> None:
    for m in (2, 3, 4):
        assert all(sp.expand(d) == 0 for d in concrete_differences("bn", key, bn.results[key], m)), (key, m)


def test_bn_standard_intermediate_forms(bn: Derivation) -> None:
    m, j, g, x, mu = BN.m, BN.j, BN.g, BN.x, BN.mu
    s = sp.sqrt(BN.var + BN.eps)
    expected = {
        "dxhat": BN.gamma * g[BN.i],
        "dvar": -BN.gamma / 2 * (BN.var + BN.eps) ** sp.Rational(-3, 2) * sp.Sum(g[j] * (x[j] - mu), (j, 1, m)),
        "dmu": -BN.gamma / s * sp.Sum(g[j], (j, 1, m)),
        "dgamma": sp.Sum(g[j] * BN.xhat[j], (j, 1, m)),
        "dbeta": sp.Sum(g[j], (j, 1, m)),
        "dy_dx_diag": BN.gamma / (m * s) * (m - 1 - BN.xhat[BN.i] ** 2),
    }
    for key, value in expected.items():
        for size in (2, 5):
            assert sp.simplify(at(bn.results[key] - value, m=size, i=2)) == 0, key


def test_bn_jacobian_off_diagonal(bn: Derivation) -> None:
    s = sp.sqrt(BN.var + BN.eps)
    off = at(bn.results["jacobian"], m=4, i=1, k=3)
    assert sp.simplify(off - BN.gamma / (4 * s) * (-1 - BN.xhat[1] * BN.xhat[3])) == 0


def test_bn_differentiability_statement(bn: Derivation) -> None:
    step = next(s for s in bn.steps if s.section == "Differentiability")
    assert "epsilon > 0" in step_prose(step) and "chain rule" in step_prose(step)
    assert step_expr(step).startswith("dy_i/dx_i = ")


# --- finite-difference checks ------------------------------------------------


def test_bn_checks_pass_in_high_precision(bn: Derivation) -> None:
    assert bn.ok
    assert len(bn.checks) == 8
    for c in bn.checks:
        assert isinstance(c, CheckResult)
        assert c.ok, c
        assert float(c.max_abs_error) < 1e-20, c
        assert c.points == 15
    names = {c.name for c in bn.checks}
    assert {"dl/dxhat_i", "dl/dsigma^2", "dl/dmu", "dl/dgamma", "dl/dbeta"} <= names


def test_bn_wrong_formula_without_xhat_term_is_caught() -> None:
    m, i, j, g = BN.m, BN.i, BN.j, BN.g
    s = sp.sqrt(BN.var + BN.eps)
    wrong = BN.gamma / (m * s) * (m * g[i] - sp.Sum(g[j], (j, 1, m)))
    result = check_formula("bn", "dx", wrong)
    assert not result.ok
    assert float(result.max_abs_error) > 1e-6
    assert any(sp.simplify(d) != 0 for d in concrete_differences("bn", "dx", wrong, 3))


def test_bn_wrong_formula_with_misplaced_1_over_m_is_caught() -> None:
    m, i, j, g, xh = BN.m, BN.i, BN.j, BN.g, BN.xhat
    s = sp.sqrt(BN.var + BN.eps)
    # 1/m moved from the front onto the sum only
    wrong = BN.gamma / s * (g[i] - sp.Sum(g[j], (j, 1, m)) / m - xh[i] * sp.Sum(g[j] * xh[j], (j, 1, m)))
    assert not check_formula("bn", "dx", wrong).ok
    # unbiased 1/(m-1) variance normaliser in the xhat term: a subtler mistake
    subtle = textbook_compact() + BN.gamma / (m * s) * xh[i] * sp.Sum(g[j] * xh[j], (j, 1, m)) * (1 - m / (m - 1))
    assert not check_formula("bn", "dx", subtle).ok


def test_bn_wrong_intermediate_gradients_are_caught(bn: Derivation) -> None:
    quick: dict[str, Any] = {"sizes": (3,), "points_per_size": 1}
    assert not check_formula("bn", "dvar", -bn.results["dvar"], **quick).ok
    # dropping the 1/2 in dl/dsigma^2
    assert not check_formula("bn", "dvar", 2 * bn.results["dvar"], **quick).ok
    # dl/dmu with the vanishing variance path replaced by a wrong sign on the direct path
    assert not check_formula("bn", "dmu", -bn.results["dmu"], **quick).ok
    # dl/dgamma with sum g_j x_j instead of sum g_j xhat_j
    assert not check_formula("bn", "dgamma", sp.Sum(BN.g[BN.j] * BN.x[BN.j], (BN.j, 1, BN.m)), **quick).ok
    # the Jacobian without its off-diagonal part
    diag_only = sp.KroneckerDelta(BN.i, BN.k) * bn.results["dy_dx_diag"]
    assert not check_formula("bn", "jacobian", diag_only, **quick).ok
    # and the right ones pass through the same entry point (another seed)
    assert check_formula("bn", "dvar", bn.results["dvar"], seed=3, **quick).ok
    assert check_formula("bn", "jacobian", bn.results["jacobian"], seed=3, **quick).ok
