"""Tests for cnncalc.derive.softmax: softmax + cross-entropy and its checks."""

from __future__ import annotations

from typing import Any

import sympy as sp

from cnncalc.derive import SOFTMAX, Derivation, check_formula, concrete_differences
from cnncalc.render.derive import step_expr

from .derive_shared import SIZES

# --- the symbolic results and their checks -----------------------------------


def test_softmax_ce_gradient_forms(sm: Derivation) -> None:
    t, k, c, y, yh = SOFTMAX.t, SOFTMAX.k, SOFTMAX.c, SOFTMAX.y, SOFTMAX.yhat
    assert sm.results["dist"] == yh[t] - y[t]
    assert sm.results["onehot"] == yh[t] - sp.KroneckerDelta(c, t)
    assert sp.simplify(sm.results["weights"] - (yh[t] * sp.Sum(y[k], (k, 1, SOFTMAX.n)) - y[t])) == 0
    assert sp.expand(sm.results["jacobian"] - yh[k] * (sp.KroneckerDelta(k, t) - yh[t])) == 0


def test_softmax_ce_direct_derivative_distribution_and_onehot(sm: Derivation) -> None:
    # after z_k = log(w_k) the differences are rational functions of w; cancel() decides them exactly
    for n in SIZES:
        for target in ("dist", "onehot"):
            diffs = concrete_differences("softmax-ce", target, sm.results[target], n)
            assert len(diffs) == n
            assert all(sp.cancel(d) == 0 for d in diffs), (target, n)
        # yhat - y with a one-hot y (y = e_n) is the same thing as yhat_t - delta_tc
        assert all(sp.cancel(d) == 0 for d in concrete_differences("softmax-ce", "onehot", sm.results["dist"], n))
    for d in concrete_differences("softmax-ce", "dist", sm.results["dist"], 3):
        assert sp.simplify(d) == 0


def test_softmax_ce_normalisation_matters(sm: Derivation) -> None:
    # yhat - y is only right when sum(y) = 1
    diffs = concrete_differences("softmax-ce", "weights", sm.results["dist"], 3)
    assert any(sp.simplify(d) != 0 for d in diffs)
    assert not check_formula("softmax-ce", "weights", sm.results["dist"]).ok
    assert check_formula("softmax-ce", "weights", sm.results["weights"]).ok


def test_softmax_ce_checks_pass_in_high_precision(sm: Derivation) -> None:
    assert sm.ok
    assert len(sm.checks) == 4
    for c in sm.checks:
        assert c.ok, c
        assert float(c.max_abs_error) < 1e-20, c


def test_softmax_ce_wrong_formula_is_caught() -> None:
    t, y, yh = SOFTMAX.t, SOFTMAX.y, SOFTMAX.yhat
    assert not check_formula("softmax-ce", "dist", y[t] - yh[t]).ok  # sign flipped
    quick: dict[str, Any] = {"sizes": (2, 4), "points_per_size": 1}
    assert not check_formula("softmax-ce", "onehot", yh[t] * (1 - yh[t]) - sp.KroneckerDelta(t, SOFTMAX.c), **quick).ok
    assert not check_formula("softmax-ce", "jacobian", yh[SOFTMAX.k] * sp.KroneckerDelta(SOFTMAX.k, t), **quick).ok


def test_softmax_ce_concrete_step_is_shown(sm: Derivation) -> None:
    step = next(s for s in sm.steps if s.title == "Direct derivative for n = 3")
    assert step_expr(step) == "dL/dz_1 = yhat_1*(y_1 + y_2 + y_3) - y_1 = yhat_1 - y_1"
