"""Tests for cnncalc.derive.graphs: the forward graphs at a concrete size."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from cnncalc.derive import BN, CHECK_TARGETS, SOFTMAX, concrete_differences
from cnncalc.derive.graphs import GRAPHS, TARGETS
from cnncalc.derive.symbols import concrete
from cnncalc.errors import UsageError


def test_targets_per_topic() -> None:
    assert TARGETS is CHECK_TARGETS
    assert TARGETS["bn"] == ("dxhat", "dvar", "dmu", "dx", "dgamma", "dbeta", "jacobian")
    assert TARGETS["softmax-ce"] == ("jacobian", "weights", "dist", "onehot")
    assert GRAPHS["softmax-ce"].class_targets == {"onehot"} and not GRAPHS["bn"].class_targets


def test_bn_cases_pick_the_variables_of_each_target() -> None:
    cases = GRAPHS["bn"].cases
    X = concrete("x", 3, real=True)
    (dx,) = cases("dx", BN.gamma * BN.g[BN.i], 3, 0)
    assert dx.variables == X and len(dx.grad) == 3 and len(dx.bindings) == 2 + 3  # mu, sigma^2, xhat_1..3
    (dvar,) = cases("dvar", BN.gamma, 3, 0)
    assert [str(v) for v in dvar.variables] == ["var_"]
    assert len(cases("jacobian", BN.gamma, 3, 0)) == 3  # one case per row
    with pytest.raises(UsageError, match="unknown bn check target 'nope'"):
        cases("nope", BN.gamma, 3, 0)


def test_softmax_cases_use_the_one_hot_class() -> None:
    cases = GRAPHS["softmax-ce"].cases
    (case,) = cases("onehot", SOFTMAX.yhat[SOFTMAX.t], 3, 2)
    Z = concrete("z", 3, real=True)
    assert case.variables == Z
    assert case.f.has(sp.log) and not case.f.has(*concrete("y", 3, real=True))  # y = e_2 written in
    with pytest.raises(UsageError, match="unknown softmax-ce check target"):
        concrete_differences("softmax-ce", "nope", SOFTMAX.yhat[SOFTMAX.t], 2)


def test_random_data_is_exact_and_deterministic() -> None:
    bn_data, cls = GRAPHS["bn"].data("dx", 3, random.Random(5))
    assert bn_data == GRAPHS["bn"].data("dx", 3, random.Random(5))[0] and cls == 0
    assert bn_data[BN.eps] > 0 and bn_data[BN.gamma] != 0
    sm = GRAPHS["softmax-ce"]
    Y = concrete("y", 4, real=True)
    dist, cls = sm.data("dist", 4, random.Random(1))
    assert sum(dist[y] for y in Y) == 1 and 1 <= cls <= 4
    weights, _ = sm.data("weights", 4, random.Random(1))
    assert sum(weights[y] for y in Y) != 1


def test_exact_change_of_variables_removes_the_root() -> None:
    X = concrete("x", 2, real=True)
    s = sp.Symbol("s", positive=True)
    root = sp.sqrt(sum((xk - sum(X) / 2) ** 2 for xk in X) / 2 + BN.eps)
    assert sp.simplify(GRAPHS["bn"].exact("dx", 2, root)) == s
