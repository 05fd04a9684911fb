"""Helpers of the derive tests: derivations computed once per session, the textbook formula."""

from __future__ import annotations

from functools import cache

import sympy as sp

from cnncalc.derive import BN, SOFTMAX, Derivation, derive

SIZES = range(2, 7)


@cache
def derivation(topic: str, *, check: bool = False, explain: bool = False) -> Derivation:
    """``derive(topic, ...)``, computed once per test session."""
    return derive(topic, check=check, explain=explain)


def textbook_compact() -> sp.Expr:
    """dl/dx_i = gamma/(m sqrt(sigma^2+eps)) (m g_i - sum g - xhat_i sum g xhat), typed in from the textbook."""
    m, i, j, g, xh = BN.m, BN.i, BN.j, BN.g, BN.xhat
    s = sp.sqrt(BN.var + BN.eps)
    return BN.gamma / (m * s) * (m * g[i] - sp.Sum(g[j], (j, 1, m)) - xh[i] * sp.Sum(g[j] * xh[j], (j, 1, m)))


def at(e: sp.Expr, **values: int) -> sp.Expr:
    """Set the size and free indices of a general formula and expand its sums."""
    sym = {**vars(BN), **vars(SOFTMAX)}
    return e.xreplace({sym[k]: sp.Integer(v) for k, v in values.items()}).doit()
