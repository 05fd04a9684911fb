"""Tests for cnncalc.derive.symbols: the symbols of the derivations and the derivative labels."""

from __future__ import annotations

import sympy as sp

from cnncalc.derive.symbols import BN, LOSS_L, SOFTMAX, VAR, PartialLabel, Spelling, concrete, partial, plain, xhat


def test_partial_spells_the_label_three_ways() -> None:
    label = partial(LOSS_L, xhat("i"))
    assert isinstance(label, PartialLabel)
    assert label.spelling == Spelling("dl/dxhat_i", "∂l/∂x\u0302ᵢ", r"\frac{\partial l}{\partial \hat{x}_{i}}")
    assert label.name == "dl/dxhat_i" and str(label) == "dl/dxhat_i"
    suffixed = partial(LOSS_L, plain("x", "1"), suffix=Spelling(" (m = 3)", " (m = 3)", r"\Big|_{m=3}"))
    assert suffixed.spelling.latex == r"\frac{\partial l}{\partial x_{1}}\Big|_{m=3}"
    assert partial(VAR, plain("x", "i")).spelling.unicode == "∂σ²/∂xᵢ"


def test_labels_keep_the_written_order_and_are_cached_by_name() -> None:
    a, b = partial(LOSS_L, xhat("j")), partial(xhat("j"), VAR)
    assert not a.is_commutative
    assert (a * b).args == (a, b) and a * b != b * a
    assert partial(LOSS_L, xhat("j")) is a


def test_symbol_sets() -> None:
    assert BN.m != SOFTMAX.n and BN.j == SOFTMAX.j  # same index name and assumptions: the same symbol
    assert BN.m.is_integer and BN.m.is_positive and BN.eps.is_positive and BN.var.is_nonnegative
    assert isinstance(BN.x, sp.IndexedBase) and SOFTMAX.yhat[1].is_positive
    assert {"m", "i", "x", "eps"} <= set(vars(BN)) and {"n", "t", "yhat"} <= set(vars(SOFTMAX))


def test_concrete_symbols() -> None:
    xs = concrete("x", 3, real=True)
    assert [str(s) for s in xs] == ["x_1", "x_2", "x_3"] and all(s.is_real for s in xs)
    assert xs == concrete("x", 3, real=True) and concrete("x", 0) == ()
