"""The forward graphs at a concrete size, set up to check one gradient formula.

For batch norm (m values) and softmax + cross-entropy (n classes) this module
writes the forward pass out with numbered symbols (x_1, ..., x_m), picks the
variables a gradient target differentiates by, instantiates the general
formula at that size, draws random exact data for the numeric checks, and
knows the exact change of variables that removes roots and logarithms for
the symbolic ones.  :mod:`cnncalc.derive.checks` runs the checks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from types import MappingProxyType
from typing import NamedTuple

import sympy as sp

from cnncalc.derive.algebra import Binding, expand_nodes, instantiator
from cnncalc.derive.symbols import BN, SOFTMAX, concrete
from cnncalc.errors import UsageError

__all__ = ["GRAPHS", "TARGETS", "Case", "Graph"]

Data = dict[sp.Symbol, Fraction]


class Case(NamedTuple):
    """Scalar f(variables) and a gradient formula, at the point ``at``.

    ``bindings`` define graph nodes (mu, sigma^2, xhat_k, ...) used by ``f``
    and ``grad``, in terms of the variables and the data symbols.
    """

    f: sp.Expr
    variables: tuple[sp.Symbol, ...]
    at: tuple[sp.Expr, ...]
    grad: tuple[sp.Expr, ...]
    bindings: tuple[Binding, ...]

    def expanded(self, e: sp.Expr) -> sp.Expr:
        """``e`` with every node replaced by its definition."""
        return expand_nodes(e, self.bindings)


class Graph(NamedTuple):
    """One topic's concrete forward graph, as the checks use it."""

    targets: Mapping[str, str]  # gradient target -> what it is, for the check's name
    cases: Callable[[str, sp.Expr, int, int], list[Case]]  # (target, formula, size, one-hot class)
    data: Callable[[str, int, random.Random], tuple[Data, int]]  # random data and one-hot class
    exact: Callable[[str, int, sp.Expr], sp.Expr]  # the exact change of variables, applied
    class_targets: frozenset[str] = frozenset()  # targets whose cases depend on the one-hot class


def _frac(rng: random.Random, lo: int, hi: int, den: int = 100) -> Fraction:
    return Fraction(rng.randint(lo, hi), den)


# --- batch normalisation -------------------------------------------------------

_BN_TARGETS: Mapping[str, str] = MappingProxyType({
    "dxhat": "dl/dxhat_i",
    "dvar": "dl/dsigma^2",
    "dmu": "dl/dmu",
    "dx": "dl/dx_i",
    "dgamma": "dl/dgamma",
    "dbeta": "dl/dbeta",
    "jacobian": "dy_i/dx_k",
})


def _bn_var(X: Sequence[sp.Expr], mu: sp.Expr) -> sp.Expr:
    return sp.Add(*[(xk - mu) ** 2 for xk in X]) / len(X)


def _bn_cases(target: str, formula: sp.Expr, m: int, cls: int = 0) -> list[Case]:
    """The bn graph at a concrete m, set up for one gradient target (``cls`` is unused)."""
    S = BN
    X, G, XH = concrete("x", m, real=True), concrete("g", m, real=True), concrete("xhat", m, real=True)
    MU, VAR = sp.Symbol("mu_", real=True), sp.Symbol("var_", nonnegative=True)
    mean = sp.Add(*X) / m
    rows = range(1, m + 1)

    def graph(mu_def: sp.Expr | None, var_def: sp.Expr | None) -> tuple[Binding, ...]:
        nodes: list[Binding] = []
        if mu_def is not None:
            nodes.append((MU, mu_def))
        if var_def is not None:
            nodes.append((VAR, var_def))
        nodes += [(XH[k], (X[k] - MU) / sp.sqrt(VAR + S.eps)) for k in range(m)]
        return tuple(nodes)

    prepared = instantiator(formula, S.m, m, {S.x: X, S.g: G, S.xhat: XH}, {S.mu: MU, S.var: VAR})

    def inst(**idx: int) -> sp.Expr:
        return prepared({getattr(S, n): v for n, v in idx.items()})

    loss = sp.Add(*[gk * (S.gamma * h + S.beta) for gk, h in zip(G, XH)])  # sum_k g_k y_k
    full = graph(mean, _bn_var(X, MU))
    if target == "dxhat":  # xhat itself is the variable, taken where the batch puts it
        at = tuple(expand_nodes(h, full) for h in XH)
        return [Case(loss, XH, at, tuple(inst(i=r) for r in rows), ())]
    if target == "dvar":  # sigma^2 is the variable, x and mu fixed
        return [Case(loss, (VAR,), (_bn_var(X, mean),), (inst(),), graph(mean, None))]
    if target == "dmu":  # mu is the variable; sigma^2 is computed from it
        return [Case(loss, (MU,), (mean,), (inst(),), graph(None, _bn_var(X, MU)))]
    if target == "dx":
        return [Case(loss, X, X, tuple(inst(i=r) for r in rows), full)]
    if target in ("dgamma", "dbeta"):
        v = S.gamma if target == "dgamma" else S.beta
        return [Case(loss, (v,), (v,), (inst(),), full)]
    if target == "jacobian":  # row r: f = y_r
        return [Case(S.gamma * XH[r - 1] + S.beta, X, X, tuple(inst(i=r, k=col) for col in rows), full)
                for r in rows]
    raise UsageError(f"unknown bn check target {target!r}; expected one of {sorted(_BN_TARGETS)}")


def _bn_data(target: str, size: int, rng: random.Random) -> tuple[Data, int]:
    """Random exact data for one check point (every target uses the same kind)."""
    vals: Data = {xk: _frac(rng, -300, 300) for xk in concrete("x", size, real=True)}
    vals.update({gk: _frac(rng, -200, 200) for gk in concrete("g", size, real=True)})
    vals[BN.gamma] = _frac(rng, 50, 250) * rng.choice((-1, 1))
    vals[BN.beta] = _frac(rng, -100, 100)
    vals[BN.eps] = _frac(rng, 1, 50)
    return vals, 0


def _bn_exact(target: str, size: int, diff: sp.Expr) -> sp.Expr:
    """epsilon = s^2 - sigma^2(x) with s > 0, so that sqrt(sigma^2 + epsilon) = s."""
    X = concrete("x", size, real=True)
    return diff.xreplace({BN.eps: sp.Symbol("s", positive=True) ** 2 - _bn_var(X, sp.Add(*X) / size)})


# --- softmax + cross-entropy ----------------------------------------------------

_SM_TARGETS: Mapping[str, str] = MappingProxyType({
    "jacobian": "dyhat_k/dz_t",
    "weights": "dL/dz_t (any weights y)",
    "dist": "dL/dz_t (y sums to 1)",
    "onehot": "dL/dz_t (one-hot y)",
})


def _sm_cases(target: str, formula: sp.Expr, n: int, onehot_class: int = 1) -> list[Case]:
    """The softmax/cross-entropy graph at a concrete n, set up for one target."""
    S = SOFTMAX
    Z, Y, YH = concrete("z", n, real=True), concrete("y", n, real=True), concrete("yhat", n, positive=True)
    DEN = sp.Symbol("den_", positive=True)
    nodes = ((DEN, sp.Add(*[sp.exp(zk) for zk in Z])),) + tuple((YH[k], sp.exp(Z[k]) / DEN) for k in range(n))
    rows = range(1, n + 1)
    targets: Sequence[sp.Expr] = Y
    if target == "onehot":
        targets = tuple(sp.Integer(int(k == onehot_class)) for k in rows)
    loss = -sp.Add(*[yk * sp.log(h) for yk, h in zip(targets, YH)])

    prepared = instantiator(formula, S.n, n, {S.z: Z, S.y: targets, S.yhat: YH}, {})

    def inst(**idx: int) -> sp.Expr:
        return prepared({getattr(S, k): v for k, v in idx.items()})

    if target == "jacobian":  # row r: f = yhat_r
        return [Case(YH[r - 1], Z, Z, tuple(inst(k=r, t=col) for col in rows), nodes) for r in rows]
    if target in ("weights", "dist"):
        return [Case(loss, Z, Z, tuple(inst(t=r) for r in rows), nodes)]
    if target == "onehot":
        return [Case(loss, Z, Z, tuple(inst(t=r, c=onehot_class) for r in rows), nodes)]
    raise UsageError(f"unknown softmax-ce check target {target!r}; expected one of {sorted(_SM_TARGETS)}")


def _sm_data(target: str, size: int, rng: random.Random) -> tuple[Data, int]:
    """Random logits and target weights (a distribution for ``dist``), and a one-hot class."""
    vals: Data = {zk: _frac(rng, -300, 300) for zk in concrete("z", size, real=True)}
    w = [Fraction(rng.randint(1, 100)) for _ in range(size)]
    if target == "dist":
        w = [wk / sum(w) for wk in w]  # a target distribution
    elif target == "weights":
        w = [wk / 37 for wk in w]  # weights that do not sum to 1
    vals.update(dict(zip(concrete("y", size, real=True), w)))
    return vals, rng.randint(1, size)


def _sm_exact(target: str, size: int, diff: sp.Expr) -> sp.Expr:
    """z_k = log(w_k) with w_k > 0; for ``dist`` also y_n = 1 - (y_1 + ... + y_{n-1})."""
    Y = concrete("y", size, real=True)
    change: dict[sp.Basic, sp.Expr] = {
        zk: sp.log(sp.Symbol(f"w_{k}", positive=True)) for k, zk in enumerate(concrete("z", size, real=True), 1)
    }
    if target == "dist":
        change[Y[-1]] = 1 - sp.Add(*Y[:-1])
    return diff.subs(change)


GRAPHS: Mapping[str, Graph] = MappingProxyType({
    "bn": Graph(_BN_TARGETS, _bn_cases, _bn_data, _bn_exact),
    "softmax-ce": Graph(_SM_TARGETS, _sm_cases, _sm_data, _sm_exact, class_targets=frozenset({"onehot"})),
})

#: Gradient targets that the checks understand, per topic.
TARGETS: Mapping[str, tuple[str, ...]] = MappingProxyType({topic: tuple(g.targets) for topic, g in GRAPHS.items()})
