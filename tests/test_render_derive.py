"""Tests for cnncalc.render.derive: a derivation as text, LaTeX, markdown and JSON."""

from __future__ import annotations

import dataclasses
import json
import textwrap

import pytest
import sympy as sp

from cnncalc.derive import BN, SOFTMAX, CheckResult, Derivation, Step, check_formula
from cnncalc.derive.symbols import partial, plain
from cnncalc.errors import UsageError
from cnncalc.render.derive import FORMATS, render, step_expr, step_latex, step_pretty, step_prose

# --- rendering real derivations ----------------------------------------------


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
    assert bn.max_abs_error is not None
    assert float(bn.max_abs_error) == max(float(c.max_abs_error) for c in bn.checks) < 1e-20
    assert Derivation("bn", "t", ()).max_abs_error is None


# --- every format, exactly, on a small hand-made derivation ----------------------

_x, _y = sp.symbols("x y")
_DEMO = Derivation(
    "demo", "Demo: f_i",
    (
        Step("Part A", "First", parts=(partial(plain("f", "i"), plain("x", "i")), 2 * _x),
             prose=("Because ", sp.Gt(_x, 0, evaluate=False), ", 50% & more_*")),
        Step("Part B", "Second", parts=(_y, 2 * _x, sp.Integer(4))),
        Step("Part B", "Prose only", prose=("words",)),
    ),
    checks=(CheckResult("df/dx", "1.5e-40", 3, True, "1e-20"),),
    seed=4, notation="x: input.", size_symbol="n",
)


def test_text_exactly() -> None:
    assert render(_DEMO, "text") == textwrap.dedent("""\
        Demo: f_i
        =========
        x: input.

        Part A
        ------
        1. First
          Because x > 0, 50% & more_*
            df_i/dx_i = 2*x

        Part B
        ------
        2. Second
            y = 2*x = 4
        3. Prose only
          words

        Checks
        ------
          central finite differences, 60 significant digits, h = 1e-15, seed 4, n =
          2..6, 3 random points per size
          df/dx  max |error| =  1.5e-40  (3 points)  ok
          largest error 1.5e-40 (tolerance 1e-20): all checks passed
        """)
    assert "    ∂fᵢ/∂xᵢ = 2⋅x\n" in render(_DEMO, "text", use_unicode=True)


def test_latex_exactly() -> None:
    assert render(_DEMO, "latex") == textwrap.dedent("""\
        % cnncalc derive demo
        \\subsection*{Demo: f\\_i}

        \\subsubsection*{Part A}

        \\paragraph{1. First.} Because $x > 0$, 50\\% \\& more\\_*
        \\begin{equation*}
        \\frac{\\partial f_{i}}{\\partial x_{i}} = 2 x
        \\end{equation*}

        \\subsubsection*{Part B}

        \\paragraph{2. Second.}
        \\begin{equation*}
        \\begin{aligned}
        y &= 2 x \\\\
        &= 4
        \\end{aligned}
        \\end{equation*}

        \\paragraph{3. Prose only.} words

        \\subsubsection*{Checks}
        central finite differences, 60 significant digits, h = 1e-15, seed 4, n = 2..6, 3 random points per size.

        \\begin{tabular}{lrrl}
        gradient & max abs error & points & ok \\\\ \\hline
        \\texttt{df/dx} & 1.5e-40 & 3 & yes \\\\
        \\end{tabular}
        """)


def test_markdown_exactly() -> None:
    assert render(_DEMO, "markdown") == textwrap.dedent("""\
        ## Demo: f\\_i

        ### Part A

        **1. First.** Because $x > 0$, 50% & more\\_\\*

        $$
        \\frac{\\partial f_{i}}{\\partial x_{i}} = 2 x
        $$

        ### Part B

        **2. Second.**

        $$
        \\begin{aligned}
        y &= 2 x \\\\
        &= 4
        \\end{aligned}
        $$

        **3. Prose only.** words

        ### Checks

        _central finite differences, 60 significant digits, h = 1e-15, seed 4, n = 2..6, 3 random points per size_

        | gradient | max abs error | points | ok |
        |---|---|---|---|
        | `df/dx` | 1.5e-40 | 3 | yes |

        Largest error: 1.5e-40 (all checks passed).
        """)


def test_json_exactly() -> None:
    assert json.loads(render(_DEMO, "json")) == {
        "topic": "demo",
        "title": "Demo: f_i",
        "steps": [
            {"title": "First", "text": "Because x > 0, 50% & more_*",
             "latex": r"\frac{\partial f_{i}}{\partial x_{i}} = 2 x", "expr": "df_i/dx_i = 2*x"},
            {"title": "Second", "text": "", "latex": "y = 2 x = 4", "expr": "y = 2*x = 4"},
            {"title": "Prose only", "text": "words", "latex": "", "expr": ""},
        ],
        "checks": [{"name": "df/dx", "max_abs_error": "1.5e-40", "ok": True}],
        "ok": True,
    }
    assert render(_DEMO, "json").endswith("}\n")


def test_failed_check_in_every_format() -> None:
    failed = dataclasses.replace(_DEMO, checks=(CheckResult("df/dx", "0.5", 3, False, "1e-20"),))
    assert "(3 points)  FAIL" in render(failed, "text") and "SOME CHECKS FAILED" in render(failed, "text")
    assert "| **NO** |" in render(failed, "markdown") and "(SOME CHECKS FAILED)" in render(failed, "markdown")
    assert "& 0.5 & 3 & NO \\\\" in render(failed, "latex")
    assert json.loads(render(failed, "json"))["ok"] is False


def test_no_checks_no_checks_section() -> None:
    bare = dataclasses.replace(_DEMO, checks=())
    for fmt in FORMATS:
        assert "Checks" not in render(bare, fmt) and "checks passed" not in render(bare, fmt)
    assert json.loads(render(bare, "json"))["checks"] == []


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown format 'pdf'"):
        render(_DEMO, "pdf")


# --- one step -------------------------------------------------------------------------


def test_step_printers_spell_indices_deltas_sums_and_matrices() -> None:
    j, m = BN.j, BN.m
    step = Step("s", "t", parts=(
        sp.Sum(BN.g[j] * BN.xhat[j], (j, 1, m)),
        sp.KroneckerDelta(BN.i, BN.k),
        sp.Matrix([BN.x[1], BN.x[2]]),
        sp.Eq(BN.mu, 0, evaluate=False),
    ))
    assert step_expr(step) == "sum_{j=1..m} (g_j*xhat_j) = delta_ik = (x_1, x_2)^T = mu = 0"
    assert step_latex(step) == (r"\sum_{j=1}^{m} {g}_{j} {\hat{x}}_{j} = \delta_{i k} = "
                                r"\left[\begin{matrix}{x}_{1}\\{x}_{2}\end{matrix}\right] = \mu = 0")
    assert "delta_ik" in step_pretty(step) and "δ" in step_pretty(step, use_unicode=True)
    assert step_pretty(Step("s", "prose only", prose=("words",))) == ""
    assert step_prose(Step("s", "t", prose=("a ", BN.x[BN.i], " b"))) == "a x_i b"


def test_pretty_chain_breaks_a_wide_chain_into_aligned_rows() -> None:
    label = partial(plain("f", "i"), plain("x", "i"))
    wide = sp.Add(*sp.symbols("a0:40"))
    lines = step_pretty(Step("s", "t", parts=(label, wide, sp.Integer(0)))).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("df_i/dx_i = a0 + a1")
    assert lines[1] == " " * len("df_i/dx_i") + " = 0"
    narrow = step_pretty(Step("s", "t", parts=(label, _x, sp.Integer(0))))
    assert narrow == "df_i/dx_i = x = 0"
