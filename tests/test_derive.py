"""Tests for cnncalc.derive (``cnncalc derive bn|softmax-ce``)."""

from __future__ import annotations

import dataclasses
import io
import json
import tokenize
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
import sympy as sp

from cnncalc import derive as dmod
from cnncalc.render import derive as rmod
from cnncalc.derive import (
    BN,
    CHECK_TARGETS,
    SOFTMAX,
    TOPICS,
    CheckResult,
    Derivation,
    check_formula,
    check_gradient,
    concrete_differences,
    derive,
    numeric,
)
from cnncalc.render.derive import FORMATS, render, step_expr, step_latex, step_prose

SIZES = range(2, 7)


# --- shared derivations (each is computed once per test session) -----------


@pytest.fixture(scope="module")
def bn() -> Derivation:
    return derive("bn", check=True)


@pytest.fixture(scope="module")
def bn_explained() -> Derivation:
    return derive("bn", explain=True)


@pytest.fixture(scope="module")
def sm() -> Derivation:
    return derive("softmax-ce", check=True)


@pytest.fixture(scope="module")
def sm_explained() -> Derivation:
    return derive("softmax-ce", explain=True)


def _textbook_compact() -> sp.Expr:
    """dl/dx_i = gamma/(m sqrt(sigma^2+eps)) (m g_i - sum g - xhat_i sum g xhat), typed in from the textbook."""
    m, i, j, g, xh = BN.m, BN.i, BN.j, BN.g, BN.xhat
    s = sp.sqrt(BN.var + BN.eps)
    return BN.gamma / (m * s) * (m * g[i] - sp.Sum(g[j], (j, 1, m)) - xh[i] * sp.Sum(g[j] * xh[j], (j, 1, m)))


def _at(e: sp.Expr, **values: int) -> sp.Expr:
    """Set the size and free indices of a general formula and expand its sums."""
    sym = {**vars(BN), **vars(SOFTMAX)}
    return e.xreplace({sym[k]: sp.Integer(v) for k, v in values.items()}).doit()


# --- API basics ---------------------------------------------------------------


def test_topics_and_formats() -> None:
    assert TOPICS == ("bn", "softmax-ce")
    assert set(FORMATS) == {"text", "latex", "markdown", "json"}
    assert set(CHECK_TARGETS) == set(TOPICS)


def test_unknown_topic_format_and_target_raise() -> None:
    with pytest.raises(ValueError):
        derive("dropout")
    with pytest.raises(ValueError):
        render(Derivation("bn", "t", ()), "pdf")
    with pytest.raises(ValueError):
        check_formula("bn", "nope", BN.gamma)
    with pytest.raises(ValueError):
        check_formula("resnet", "dx", BN.gamma)


def test_results_are_frozen(bn: Derivation) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        bn.title = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        bn.steps[0].title = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        bn.checks[0].ok = False  # type: ignore[misc]


# --- batch norm: the symbolic results ---------------------------------------


def test_bn_printed_compact_form_equals_textbook(bn: Derivation) -> None:
    # the expression drawn in the output (the last part of the compact-form step), not just results[...]
    printed = next(s for s in bn.steps if s.title == "Compact form of dl/dx_i").parts[-1]
    textbook = _textbook_compact()
    for m in SIZES:
        for i in range(1, m + 1):
            assert sp.simplify(_at(printed - textbook, m=m, i=i)) == 0, (m, i)
    # and a deliberately wrong compact form does not simplify to 0
    wrong = textbook.xreplace({BN.m * BN.g[BN.i]: BN.g[BN.i]})
    assert wrong != textbook
    assert sp.simplify(_at(printed - wrong, m=3, i=1)) != 0


def test_bn_printed_compact_form_is_what_the_output_shows(bn: Derivation) -> None:
    step = next(s for s in bn.steps if s.title == "Compact form of dl/dx_i")
    assert step.parts[-1].doit() == bn.results["dx_compact"] or sp.simplify(step.parts[-1] - bn.results["dx_compact"]) == 0
    assert step_expr(step).startswith("dl/dx_i = gamma*(m*g_i - sum_{j=1..m} g_j - xhat_i*sum_{j=1..m} (g_j*xhat_j))")
    assert r"\frac{\partial l}{\partial x_{i}}" in step_latex(step)


def test_bn_standard_form_equals_textbook_in_x(bn: Derivation) -> None:
    # write xhat_j = (x_j - mu)/sqrt(sigma^2 + eps) in the textbook form and compare with the standard form
    in_x = _textbook_compact().replace(
        lambda a: isinstance(a, sp.Indexed) and a.base == BN.xhat,
        lambda a: (BN.x[a.indices[0]] - BN.mu) / sp.sqrt(BN.var + BN.eps),
    )
    for m in (2, 3, 4):
        assert sp.simplify(_at(bn.results["dx"] - in_x, m=m, i=1)) == 0, m


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
            assert sp.simplify(_at(bn.results[key] - value, m=size, i=2)) == 0, key


def test_bn_jacobian_off_diagonal(bn: Derivation) -> None:
    s = sp.sqrt(BN.var + BN.eps)
    off = _at(bn.results["jacobian"], m=4, i=1, k=3)
    assert sp.simplify(off - BN.gamma / (4 * s) * (-1 - BN.xhat[1] * BN.xhat[3])) == 0


def test_bn_differentiability_statement(bn: Derivation) -> None:
    step = next(s for s in bn.steps if s.section == "Differentiability")
    assert "epsilon > 0" in step_prose(step) and "chain rule" in step_prose(step)
    assert step_expr(step).startswith("dy_i/dx_i = ")


# --- batch norm: finite-difference checks ------------------------------------


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
    m, i, j, g, xh = BN.m, BN.i, BN.j, BN.g, BN.xhat
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
    subtle = _textbook_compact() + BN.gamma / (m * s) * xh[i] * sp.Sum(g[j] * xh[j], (j, 1, m)) * (1 - m / (m - 1))
    assert not check_formula("bn", "dx", subtle).ok


def test_bn_wrong_intermediate_gradients_are_caught(bn: Derivation) -> None:
    quick = {"sizes": (3,), "points_per_size": 1}
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


# --- softmax + cross-entropy ---------------------------------------------------


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
    quick = {"sizes": (2, 4), "points_per_size": 1}
    assert not check_formula("softmax-ce", "onehot", yh[t] * (1 - yh[t]) - sp.KroneckerDelta(t, SOFTMAX.c), **quick).ok
    assert not check_formula("softmax-ce", "jacobian", yh[SOFTMAX.k] * sp.KroneckerDelta(SOFTMAX.k, t), **quick).ok


def test_softmax_ce_concrete_step_is_shown(sm: Derivation) -> None:
    step = next(s for s in sm.steps if s.title == "Direct derivative for n = 3")
    assert step_expr(step) == "dL/dz_1 = yhat_1*(y_1 + y_2 + y_3) - y_1 = yhat_1 - y_1"


# --- the checker itself ------------------------------------------------------------


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


# --- rendering ---------------------------------------------------------------------


@pytest.mark.parametrize("which", ["bn", "sm"])
def test_json_structure(which: str, bn: Derivation, sm: Derivation) -> None:
    d = bn if which == "bn" else sm
    data = json.loads(render(d, "json"))
    assert set(data) == {"topic", "title", "steps", "checks", "ok"}
    assert data["topic"] == d.topic and data["ok"] is True
    assert data["steps"] and all(set(s) == {"title", "text", "latex", "expr"} for s in data["steps"])
    assert data["checks"] and all(set(c) == {"name", "max_abs_error", "ok"} for c in data["checks"])
    assert all(c["ok"] and float(c["max_abs_error"]) < 1e-20 for c in data["checks"])


def test_json_reports_a_failed_check(sm: Derivation) -> None:
    bad = check_formula("softmax-ce", "dist", SOFTMAX.y[SOFTMAX.t] - SOFTMAX.yhat[SOFTMAX.t], sizes=(2,),
                        points_per_size=1)
    d = dataclasses.replace(sm, checks=(bad,))
    data = json.loads(render(d, "json"))
    assert data["ok"] is False and data["checks"][0]["ok"] is False
    assert "FAIL" in render(d, "text")


def test_latex_and_markdown(bn: Derivation, sm_explained: Derivation) -> None:
    for d in (bn, sm_explained):
        latex = render(d, "latex")
        assert r"\frac" in latex and r"\begin{equation*}" in latex
        assert latex.count(r"\begin{equation*}") == latex.count(r"\end{equation*}") == sum(bool(s.parts) for s in d.steps)
        md = render(d, "markdown")
        assert "$$" in md and md.count("$$") % 2 == 0
        assert md.count("$$") == 2 * sum(bool(s.parts) for s in d.steps)
        assert md.startswith("## ")
    assert r"\begin{tabular}" in render(bn, "latex") and "| gradient |" in render(bn, "markdown")


@pytest.mark.parametrize("explain", [False, True])
def test_latex_braces_balance(explain: bool, bn: Derivation, bn_explained: Derivation, sm: Derivation,
                              sm_explained: Derivation) -> None:
    for d in ((bn_explained, sm_explained) if explain else (bn, sm)):
        for text in (render(d, "latex"), render(d, "markdown")):
            bare = text.replace(r"\{", "").replace(r"\}", "")
            depth = 0
            for ch in bare:
                depth += {"{": 1, "}": -1}.get(ch, 0)
                assert depth >= 0
            assert depth == 0


def test_text_is_ascii_by_default_and_unicode_on_request(bn_explained: Derivation, sm: Derivation) -> None:
    for d in (bn_explained, sm):
        assert render(d, "text").isascii()
    uni = render(bn_explained, "text", use_unicode=True)
    assert "∂l/∂xᵢ" in uni and "σ²" in uni


def test_text_shows_key_results(bn: Derivation) -> None:
    text = render(bn, "text")
    for needle in ("dl/dxhat_i = gamma*g_i", "dl/dsigma^2 =", "dl/dmu =", "dl/dx_i =", "dl/dgamma =",
                   "dl/dbeta =", "dy_i/dx_i =", "max |error|", "all checks passed"):
        assert needle in text, needle
    assert f"largest error {bn.max_abs_error} " in text
    assert float(bn.max_abs_error) == max(float(c.max_abs_error) for c in bn.checks) < 1e-20
    assert Derivation("bn", "t", ()).max_abs_error is None


def test_explain_adds_steps_and_prose(bn: Derivation, bn_explained: Derivation, sm: Derivation,
                                      sm_explained: Derivation) -> None:
    for compact, full in ((bn, bn_explained), (sm, sm_explained)):
        assert len(full.steps) > len(compact.steps)
        assert {s.title for s in compact.steps} <= {s.title for s in full.steps}
        assert all(step_prose(s) for s in full.steps)
        assert sum(bool(step_prose(s)) for s in compact.steps) < len(compact.steps)
        assert len(render(full, "text")) > len(render(compact, "text"))
    assert any("chain rule" in step_prose(s) for s in bn_explained.steps)


# --- hygiene -----------------------------------------------------------------------


def test_module_never_parses_strings_into_expressions() -> None:
    sources = sorted(Path(dmod.__file__).parent.glob("*.py")) + [Path(rmod.__file__)]
    for path in sources:
        source = path.read_text(encoding="utf-8")
        names = {tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.NAME}
        assert not names & {"eval", "exec", "sympify", "parse_expr", "lambdify", "S_"}, path
        assert "sympify" not in source, path
