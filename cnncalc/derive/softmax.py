"""Softmax followed by cross-entropy: dL/dz_t for any target weights, a distribution, one-hot.

First the fully written-out loss for n = 3 is differentiated directly; then
the general-n gradient goes through the graph z -> yhat -> L (softmax
Jacobian, chain rule), and is checked against sympy's derivative of the
composite L(z) and of the written-out loss at n = 2 and 3.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from cnncalc.derive.algebra import in_range, is_zero, require, split_sums
from cnncalc.derive.checks import VERIFY_SIZES, concrete_differences
from cnncalc.derive.drafts import Draft, Layout, eq, finish
from cnncalc.derive.model import PlannedCheck, Step, Topic
from cnncalc.derive.symbols import LOSS_CE, SOFTMAX, YHAT_K, concrete, partial, plain

__all__ = ["TOPIC", "derive_softmax"]

S = SOFTMAX
n, t, j, k, c = S.n, S.t, S.j, S.k, S.c
z, y, yh = S.z, S.y, S.yhat
FORWARD, CONCRETE, GENERAL, VERIFY = "Forward pass", "Concrete case n = 3", "General n", "Verification"
LAYOUT = Layout(size=n)
L = sp.Symbol("L")

# The forward graph.
DENOM = sp.Sum(sp.exp(z[j]), (j, 1, n))
SUM_Y = sp.Sum(y[k], (k, 1, n))
LOSS_DEF = -sp.Sum(y[j] * sp.log(yh[j]), (j, 1, n))


def softmax_def(a: sp.Expr) -> sp.Expr:
    """yhat_a in terms of the logits."""
    return sp.exp(z[a]) / DENOM


# Labels of the chain-rule factors.
D_Z1 = partial(LOSS_CE, plain("z", "1"))
D_YH = partial(YHAT_K, plain("z", "t"))
D_Z = partial(LOSS_CE, plain("z", "t"))
L_YH = partial(LOSS_CE, YHAT_K)


def to_yhat(e: sp.Expr, denom: sp.Expr, yhat_of: Mapping[sp.Expr, sp.Expr] | None = None) -> sp.Expr:
    """Rewrite e^(z_a) / (Σ_j e^(z_j)) as yhat_a, exactly (the normaliser cancels).

    Every e^(c z_a) becomes (yhat_a S)^c and ``denom`` becomes S; after
    cancelling, S must be gone.  ``yhat_of`` maps z_a to yhat_a (default:
    the Indexed z[a] -> yhat[a]).
    """
    normaliser = sp.Dummy("S", positive=True)

    def target(arg: sp.Expr) -> sp.Expr | None:
        if yhat_of is not None:
            return yhat_of.get(arg)
        return yh[arg.indices[0]] if isinstance(arg, sp.Indexed) and arg.base == z else None

    def swap(a: sp.exp) -> sp.Expr:
        coeff, rest = a.args[0].as_coeff_Mul()
        return (target(rest) * normaliser) ** coeff

    out = e.xreplace({denom: normaliser}).replace(
        lambda a: isinstance(a, sp.exp) and target(a.args[0].as_coeff_Mul()[1]) is not None, swap
    )
    out = sp.factor_terms(sp.cancel(sp.expand(out)))
    require(not out.has(normaliser), "softmax rewrite cancels the normaliser")
    return out


def _forward() -> list[Draft]:
    return [
        Draft(FORWARD, "Softmax", (yh[k], softmax_def(k)),
              long=("Softmax turns the logits ", z[1], ", ..., ", sp.Indexed(z, n), " into probabilities: every ",
                    sp.Gt(yh[k], 0, evaluate=False), " and they sum to 1.")),
        Draft(FORWARD, "Cross-entropy", (L, LOSS_DEF),
              long=("Here y is the target. It can be one-hot, y = e_c, in which case ", eq(L, -sp.log(yh[c])),
                    ". It can also be any distribution (", sp.Ge(y[k], 0, evaluate=False), " and ",
                    eq(SUM_Y, 1), "), for example a label-smoothed target.")),
    ]


def _concrete_case() -> list[Draft]:
    """n = 3: differentiate the fully written-out loss directly."""
    Z3, Y3 = concrete("z", 3, real=True), concrete("y", 3, real=True)
    den3 = sp.Add(*[sp.exp(q) for q in Z3])
    yhat3 = tuple(sp.exp(q) / den3 for q in Z3)
    loss3 = -sp.Add(*[a * sp.log(b) for a, b in zip(Y3, yhat3)])
    d_raw = sp.diff(loss3, Z3[0])
    yh_syms = tuple(sp.Symbol(f"yhat_{q}", positive=True) for q in (1, 2, 3))
    as_yhat = dict(zip(Z3, yh_syms))
    d_yhat = sp.collect(sp.expand(to_yhat(d_raw, den3, as_yhat)), yh_syms[0])
    require(d_yhat == yh_syms[0] * sp.Add(*Y3) - Y3[0], "n = 3: dL/dz_1 = yhat_1 (y_1 + y_2 + y_3) - y_1")
    d_dist = sp.expand(d_yhat.xreplace({Y3[2]: 1 - Y3[0] - Y3[1]}))
    require(d_dist == yh_syms[0] - Y3[0], "n = 3: y_1 + y_2 + y_3 = 1 gives yhat_1 - y_1")
    dist_diffs = concrete_differences("softmax-ce", "dist", yh[t] - y[t], 3)
    require(all(is_zero(d, rational=True) for d in dist_diffs), "n = 3: dL/dz_t = yhat_t - y_t for every t")
    onehot = sp.Matrix([to_yhat(sp.diff(loss3.xreplace(dict(zip(Y3, (0, 1, 0)))), zq), den3, as_yhat) for zq in Z3])
    require(onehot == sp.Matrix([yh_syms[0], yh_syms[1] - 1, yh_syms[2]]), "n = 3 one-hot")
    return [
        Draft(
            CONCRETE, "Direct derivative for n = 3", (D_Z1, d_raw, d_yhat, d_dist),
            key_parts=(D_Z1, d_yhat, d_dist),
            short=("sympy differentiates L(z_1, z_2, z_3) directly. Because y_1 + y_2 + y_3 = 1, this reduces "
                   "to the last form, and the same happens for z_2 and z_3.",),
            long=("Write L(z_1, z_2, z_3) = -(y_1 log yhat_1 + y_2 log yhat_2 + y_3 log yhat_3), with every yhat_k "
                  "spelled out in terms of z, and let sympy differentiate it with respect to z_1. Next, replace "
                  "exp(z_k) by yhat_k (exp(z_1) + exp(z_2) + exp(z_3)) and cancel. This gives "
                  "yhat_1 (y_1 + y_2 + y_3) - y_1. A target distribution has y_1 + y_2 + y_3 = 1, which leaves "
                  "yhat_1 - y_1. The same holds for z_2 and z_3 (sympy: the difference cancels to 0).",),
        ),
        Draft(
            CONCRETE, "One-hot target for n = 3",
            (sp.Matrix([partial(LOSS_CE, plain("z", q)) for q in "123"]), onehot),
            short=("For the target y = e_2 = (0, 1, 0), the gradient is yhat - y.",),
            long=("With y = (0, 1, 0) the loss is L = -log yhat_2. Sympy's derivative, rewritten in terms of yhat, "
                  "is yhat - e_2, component by component.",),
        ),
    ]


def _jacobian() -> tuple[sp.Expr, Draft]:
    """dyhat_k/dz_t by the quotient rule, rewritten in terms of yhat."""
    J = sp.diff(softmax_def(k), z[t]).doit()
    J = in_range(J, t, n)
    jac = to_yhat(J, DENOM)
    require(is_zero(sp.expand(jac - yh[k] * (sp.KroneckerDelta(k, t) - yh[t]))), "softmax Jacobian")
    return jac, Draft(
        GENERAL, "Softmax Jacobian", (D_YH, J, jac),
        long=("Apply the quotient rule (sympy differentiates the sum in the denominator term by term; only "
              "j = t survives). Then rewrite ", eq(softmax_def(k), yh[k]), "."),
    )


def _chain_rule(jac: sp.Expr) -> tuple[sp.Expr, sp.Expr, list[Draft]]:
    """dL/dyhat_k, then dL/dz_t = sum_k dL/dyhat_k dyhat_k/dz_t for any target weights y."""
    dL_dyh = in_range(sp.diff(LOSS_DEF, yh[k]).doit(), k, n)
    summand = dL_dyh * jac
    chain_sum = sp.Sum(sp.expand(summand), (k, 1, n))
    weights = in_range(split_sums(chain_sum), t, n)
    weights = sp.factor_terms(weights)
    require(is_zero(weights - (yh[t] * sp.Sum(y[k], (k, 1, n)) - y[t])), "general weights form")
    return dL_dyh, weights, [
        Draft(
            GENERAL, "Gradient at the probabilities", (L_YH, dL_dyh), key=False,
            long=("Only the k-th term of the sum contains ", yh[k], ".")
        ),
        Draft(
            GENERAL, "Chain rule for the logits",
            (D_Z, sp.Sum(L_YH * D_YH, (k, 1, n)), sp.Sum(summand, (k, 1, n)), weights),
            short=("For any target weights y (they need not sum to 1):",),
            long=(z[t], " affects L through every ", yh[k], ", so the chain rule sums over k. In each term the ", yh[k],
                  " cancels. The Kronecker delta keeps only k = t, and the rest is ", yh[t],
                  " times the total target mass ", SUM_Y, "."),
        ),
    ]


def _special_targets(weights: sp.Expr) -> tuple[sp.Expr, sp.Expr, list[Draft]]:
    """The weights form for a target distribution (sum 1) and for a one-hot target."""
    dist = weights.xreplace({sp.Sum(y[k], (k, 1, n)): sp.Integer(1)})
    require(dist == yh[t] - y[t], "target distribution: yhat_t - y_t")
    onehot = _onehot(weights)
    require(onehot == yh[t] - sp.KroneckerDelta(c, t), "one-hot: yhat_t - delta_tc")
    return dist, onehot, [
        Draft(
            GENERAL, "Target distribution (the y_k sum to 1)", (D_Z, dist),
            long=("Any target distribution has ", eq(SUM_Y, 1), " (one-hot, label-smoothed or soft labels), so the "
                  "total mass drops out."),
        ),
        Draft(
            GENERAL, "One-hot target (y = e_c)", (D_Z, onehot),
            long=("Substitute ", eq(y[k], sp.KroneckerDelta(k, c)), " into the weights form; again ", eq(SUM_Y, 1),
                  ". The gradient is yhat - e_c: ", yh[t] - 1, " for the true class t = c, and ", yh[t],
                  " for every other class."),
        ),
    ]


def _onehot(weights: sp.Expr) -> sp.Expr:
    """The weights form with y_k = delta_kc."""
    as_delta = weights.replace(lambda a: isinstance(a, sp.Indexed) and a.base == y,
                               lambda a: sp.KroneckerDelta(a.indices[0], c))
    return in_range(as_delta.doit(), c, n)


def _verification(weights: sp.Expr, checked: tuple[tuple[str, sp.Expr], ...]) -> Draft:
    """Direct differentiation of the composite L(z) in general n, and of the written-out loss."""
    L_comp = -sp.Sum(y[k] * sp.log(softmax_def(k)), (k, 1, n))
    direct = in_range(sp.diff(L_comp, z[t]).doit(), t, n)
    direct = to_yhat(direct, DENOM)
    require(is_zero(split_sums(sp.expand(direct - weights))), "general-n direct derivative")
    for size in VERIFY_SIZES:
        for target, formula in checked:
            require(all(is_zero(d, rational=True) for d in concrete_differences("softmax-ce", target, formula, size)),
                    f"direct derivative at n = {size} ({target})")
    sizes = " and ".join(str(q) for q in VERIFY_SIZES)
    return Draft(
        VERIFY, "Direct check in general n", (D_Z, direct),
        short=("Differentiating the composite L(z) in one go (sympy, general n) gives the same result. So does "
               f"the fully written-out loss for n = {sizes}.",),
        long=("Now skip the graph: let sympy differentiate the composite ", eq(L, L_comp),
              " with respect to ", z[t], " for general n. The result is the weights form again. The fully "
              f"written-out loss for n = {sizes} also agrees, component by component (the difference cancels "
              "to 0).",),
    )


def derive_softmax(explain: bool) -> tuple[tuple[Step, ...], dict[str, sp.Expr]]:
    """The softmax/cross-entropy steps (all with ``explain``, else the key ones) and the results by name."""
    drafts = _forward() + _concrete_case()
    jac, step = _jacobian()
    drafts.append(step)
    dL_dyh, weights, steps = _chain_rule(jac)
    drafts += steps
    dist, onehot, steps = _special_targets(weights)
    drafts += steps
    checked = (("weights", weights), ("dist", dist), ("onehot", onehot), ("jacobian", jac))
    drafts.append(_verification(weights, checked))
    results = {"softmax": softmax_def(k), "loss": LOSS_DEF, "jacobian": jac, "dL_dyhat": dL_dyh,
               "weights": weights, "dist": dist, "onehot": onehot}
    return finish(drafts, explain, LAYOUT), results


TOPIC = Topic(
    name="softmax-ce",
    title="Softmax and cross-entropy: dL/dz_t = yhat_t - y_t",
    notation="z: logits, yhat = softmax(z), y: target; t, j, k run over 1..n.",
    size_symbol="n",
    derive=derive_softmax,
    checks=(
        PlannedCheck("jacobian", "jacobian", "dyhat_k/dz_t (softmax Jacobian)"),
        PlannedCheck("weights", "weights", "dL/dz_t = yhat_t*sum(y) - y_t (any weights y)"),
        PlannedCheck("dist", "dist", "dL/dz_t = yhat_t - y_t (y sums to 1)"),
        PlannedCheck("onehot", "onehot", "dL/dz_t = yhat_t - delta_tc (one-hot y)"),
    ),
)
