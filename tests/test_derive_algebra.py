"""Tests for cnncalc.derive.algebra: the sympy helpers of the derivations."""

from __future__ import annotations

import pytest
import sympy as sp

from cnncalc.derive.algebra import expand_nodes, in_range, instantiator, is_zero, require, split_sums
from cnncalc.derive.symbols import BN, concrete
from cnncalc.errors import EXIT_NO_ANSWER, NoAnswerError

m, i, j, x, g, mu = BN.m, BN.i, BN.j, BN.x, BN.g, BN.mu


def test_require_stops_a_derivation_that_fails_its_self_check() -> None:
    require(True, "fine")
    with pytest.raises(NoAnswerError, match="derivation self-check failed: sum_j") as caught:
        require(False, "sum_j (x_j - mu) = 0")
    assert caught.value.exit_code == EXIT_NO_ANSWER


def test_in_range_resolves_the_kronecker_piecewise() -> None:
    picked = sp.Sum(x[j] * sp.KroneckerDelta(i, j), (j, 1, m)).doit()
    assert picked.has(sp.Piecewise)
    assert in_range(picked, i, m) == x[i]


def test_split_sums_pulls_out_constants_term_by_term() -> None:
    split = split_sums(sp.Sum(2 * x[j] + mu, (j, 1, m)))
    assert split == 2 * sp.Sum(x[j], (j, 1, m)) + m * mu


def test_is_zero() -> None:
    a, b = sp.symbols("a b", positive=True)
    assert is_zero((a + b) ** 2 - a**2 - 2 * a * b - b**2)
    assert is_zero(1 / (a + b) - 1 / (b + a), rational=True)
    assert is_zero(a / (a * b) - 1 / b)  # not a polynomial: cancelled
    assert not is_zero(a - b)


def test_expand_nodes_replaces_later_nodes_first() -> None:
    u, v, w = sp.symbols("u v w")
    bindings = ((u, w + 1), (v, 2 * u))  # v uses u
    assert expand_nodes(v + u, bindings) == 3 * w + 3


def test_instantiator_sets_the_size_and_indices() -> None:
    X, G = concrete("x", 3, real=True), concrete("g", 3, real=True)
    mu_ = sp.Symbol("mu_")
    at = instantiator(g[i] * (x[i] - mu) + sp.Sum(g[j], (j, 1, m)), m, 3, {x: X, g: G}, {mu: mu_})
    assert at({i: 2}) == G[1] * (X[1] - mu_) + G[0] + G[1] + G[2]
    assert instantiator(sp.Sum(x[j], (j, 1, m)) / m, m, 2, {x: X}, {})({}) == (X[0] + X[1]) / 2
