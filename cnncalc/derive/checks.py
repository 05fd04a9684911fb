"""The checks: derived gradients against the forward graph, numerically and symbolically.

:func:`check_formula` compares a general-size gradient formula with central
finite differences at 60 significant digits (mpmath), at random exact points
for sizes 2..6; :func:`concrete_differences` subtracts it from sympy's own
derivative of the fully written-out graph at one size, which must leave 0.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import mpmath
import sympy as sp

from cnncalc.derive.graphs import GRAPHS, TARGETS, Case, Graph
from cnncalc.derive.model import CheckResult, worst_check
from cnncalc.derive.numeric import Number, ScalarFn, VectorFn, evaluate, numeric, numeric_vector, to_mpf
from cnncalc.errors import UsageError

__all__ = [
    "CHECK_DPS",
    "CHECK_SIZES",
    "CHECK_STEP",
    "CHECK_TARGETS",
    "CHECK_TOLERANCE",
    "POINTS_PER_SIZE",
    "VERIFY_SIZES",
    "check_formula",
    "check_gradient",
    "concrete_differences",
]

#: Mini-batch sizes (bn) / class counts (softmax-ce) used by the checks.
CHECK_SIZES: tuple[int, ...] = (2, 3, 4, 5, 6)
#: Random points per size used by the finite-difference checks.
POINTS_PER_SIZE = 3
#: Working precision (significant decimal digits) of the checks.
CHECK_DPS = 60
#: Central-difference step; the truncation error is about h**2 = 1e-30.
CHECK_STEP = "1e-15"
#: A check passes when the largest absolute error is below this.
CHECK_TOLERANCE = 1e-20
#: Sizes for which ``derive`` itself differentiates the fully expanded loss.
VERIFY_SIZES: tuple[int, ...] = (2, 3)
#: Gradient targets that :func:`check_formula` understands, per topic.
CHECK_TARGETS: Mapping[str, tuple[str, ...]] = TARGETS


def check_gradient(
    f: ScalarFn,
    grad: VectorFn,
    points: Sequence[Sequence[Number]],
    *,
    name: str = "gradient",
    h: str = CHECK_STEP,
    dps: int = CHECK_DPS,
    tol: float = CHECK_TOLERANCE,
) -> CheckResult:
    """Compare ``grad`` with central differences of ``f`` at each point.

    Works at ``dps`` significant digits: (f(p + h e_k) - f(p - h e_k)) / 2h
    against ``grad(p)[k]`` for every coordinate k; the result carries the
    largest absolute error and ``ok = error < tol``.
    """
    with mpmath.workdps(dps):
        step = mpmath.mpf(h)
        worst = mpmath.mpf(0)
        for raw in points:
            p = [to_mpf(v) for v in raw]
            gp = list(grad(p))
            if len(gp) != len(p):
                raise UsageError(f"{name}: gradient has {len(gp)} components for {len(p)} variables")
            for k in range(len(p)):
                up, down = list(p), list(p)
                up[k] += step
                down[k] -= step
                err = abs((f(up) - f(down)) / (2 * step) - gp[k])
                if not mpmath.isnan(worst) and (mpmath.isnan(err) or err > worst):
                    worst = err  # a NaN, once seen, is kept
        ok = bool(worst < tol)
        text = str(mpmath.nstr(worst, 2)) if worst else "0.0"
    return CheckResult(name=name, max_abs_error=text, points=len(points), ok=ok, tolerance=f"{tol:.0e}")


def _graph(topic: str) -> Graph:
    if topic not in GRAPHS:
        raise UsageError(f"unknown topic {topic!r}; expected one of {tuple(GRAPHS)}")
    return GRAPHS[topic]


def check_formula(
    topic: str,
    target: str,
    formula: sp.Expr,
    *,
    seed: int = 0,
    name: str | None = None,
    sizes: Sequence[int] = CHECK_SIZES,
    points_per_size: int = POINTS_PER_SIZE,
) -> CheckResult:
    """Finite-difference check of a general-size gradient formula.

    ``formula`` is written in the symbols of :data:`~cnncalc.derive.symbols.BN`
    or :data:`~cnncalc.derive.symbols.SOFTMAX` (free index ``i`` for per-input
    gradients; ``i``, ``k`` for the bn Jacobian dy_i/dx_k; ``t`` for softmax-ce
    and ``k``, ``t`` for its Jacobian dyhat_k/dz_t; ``c`` is the one-hot
    class).  For each size and random point (fixed ``seed``) the formula is
    instantiated and compared with central differences of the forward graph,
    via :func:`check_gradient`.  ``derive(check=True)`` runs exactly this.
    """
    graph = _graph(topic)
    if target not in graph.targets:
        raise UsageError(f"unknown {topic} check target {target!r}; expected one of {sorted(graph.targets)}")
    label = name or graph.targets[target]
    results: list[CheckResult] = []
    for size in sizes:
        rng = random.Random(seed * 1_000_003 + size)
        built: dict[int, list[Case]] = {}
        for _ in range(points_per_size):
            vals, cls = graph.data(target, size, rng)
            key = cls if target in graph.class_targets else 0  # only one-hot depends on the class
            if key not in built:
                built[key] = graph.cases(target, formula, size, cls)
            for case in built[key]:
                fixed = {s: v for s, v in vals.items() if s not in case.variables}
                with mpmath.workdps(CHECK_DPS):
                    at = evaluate(case.at, vals)
                results.append(check_gradient(
                    numeric(case.f, case.variables, fixed, case.bindings),
                    numeric_vector(case.grad, case.variables, fixed, case.bindings),
                    [at], name=label,
                ))
    return worst_check(label, results, points=len(sizes) * points_per_size)


def concrete_differences(
    topic: str, target: str, formula: sp.Expr, size: int, *, component: int | None = None
) -> tuple[sp.Expr, ...]:
    """Direct sympy derivative minus ``formula``, per component, at a concrete size.

    The direct derivative differentiates the fully expanded forward graph
    (e.g. sum_k g_k y_k(x_1..x_m) with every node written out).  To keep
    simplification fast, the square root is removed by an exact change of
    variables: for bn, epsilon = s^2 - sigma^2(x) with s > 0 (so
    sqrt(sigma^2 + epsilon) = s); for softmax-ce, z_k = log(w_k) with w_k > 0,
    and for the ``dist`` target y_n = 1 - (y_1 + ... + y_{n-1}).  Every entry
    is identically 0 iff the formula is right (at this size).  ``component``
    (1-based) restricts the result to one variable, e.g. x_1 only.
    """
    graph = _graph(topic)
    cases = graph.cases(target, formula, size, size)  # one-hot: the last class
    out: list[sp.Expr] = []
    for case in cases:
        f = case.expanded(case.f)
        at = {v: case.expanded(a) for v, a in zip(case.variables, case.at)}
        for q, (v, gformula) in enumerate(zip(case.variables, case.grad), 1):
            if component is not None and q != component:
                continue
            diff = sp.diff(f, v).xreplace(at) - case.expanded(gformula).xreplace(at)
            out.append(graph.exact(target, size, diff))
    return tuple(out)
