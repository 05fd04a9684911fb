"""Tests for cnncalc.render.derive: a derivation as text, LaTeX, markdown and JSON."""

from __future__ import annotations

import dataclasses
import json

import pytest

from cnncalc.derive import SOFTMAX, Derivation, check_formula
from cnncalc.render.derive import render

from .derive_shared import derivation


@pytest.fixture(scope="module")
def bn() -> Derivation:
    return derivation("bn", check=True)


@pytest.fixture(scope="module")
def bn_explained() -> Derivation:
    return derivation("bn", explain=True)


@pytest.fixture(scope="module")
def sm() -> Derivation:
    return derivation("softmax-ce", check=True)


@pytest.fixture(scope="module")
def sm_explained() -> Derivation:
    return derivation("softmax-ce", explain=True)


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
