"""Batch normalisation: forward pass, backward pass and why the layer is differentiable.

Over a mini-batch of m values: dl/dxhat, dl/dsigma^2, dl/dmu, dl/dx_i,
dl/dgamma and dl/dbeta in terms of the upstream gradients g_i = dl/dy_i,
each by the reverse-mode chain rule with every local partial taken by
``sympy.diff``; then the compact form of dl/dx_i, the Jacobian dy_i/dx_k,
and a direct check against the fully written-out loss at m = 2 and 3.
"""

from __future__ import annotations

import sympy as sp

from cnncalc.derive.algebra import in_range, instantiator, is_zero, require, split_sums
from cnncalc.derive.checks import VERIFY_SIZES, concrete_differences
from cnncalc.derive.drafts import Draft, Layout, eq, finish
from cnncalc.derive.model import Fragment, PlannedCheck, Step, Topic
from cnncalc.derive.symbols import BETA, BN, GAMMA, LOSS_L, MU, VAR, Spelling, concrete, partial, plain, xhat

__all__ = ["TOPIC", "derive_bn"]

S = BN
m, i, j, k = S.m, S.i, S.j, S.k
x, xh, g = S.x, S.xhat, S.g
mu, var, eps, gamma, beta = S.mu, S.var, S.eps, S.gamma, S.beta
yi = sp.Indexed(S.y, i)
root = sp.sqrt(var + eps)
FORWARD, BACKWARD, COMPACT, DIFFERENTIABLE, VERIFY = (
    "Forward pass", "Backward pass", "Compact form", "Differentiability", "Verification")
LAYOUT = Layout(size=m, trailing=frozenset({eps, beta}))

# The forward graph: each node's definition in terms of its parents.
MU_DEF = sp.Sum(x[j], (j, 1, m)) / m
VAR_DEF = sp.Sum((x[j] - mu) ** 2, (j, 1, m)) / m


def xhat_def(a: sp.Expr) -> sp.Expr:
    """xhat_a in terms of x_a, mu and sigma^2."""
    return (x[a] - mu) / sp.sqrt(var + eps)


def y_def(a: sp.Expr) -> sp.Expr:
    """y_a in terms of xhat_a."""
    return gamma * xh[a] + beta


# Labels of the chain-rule factors.
L_XH_I, L_XH_J = partial(LOSS_L, xhat("i")), partial(LOSS_L, xhat("j"))
L_Y_I, L_Y_J = partial(LOSS_L, plain("y", "i")), partial(LOSS_L, plain("y", "j"))
L_VAR, L_MU = partial(LOSS_L, VAR), partial(LOSS_L, MU)
L_X_I, L_GAMMA, L_BETA = partial(LOSS_L, plain("x", "i")), partial(LOSS_L, GAMMA), partial(LOSS_L, BETA)
Y_XH = partial(plain("y", "i"), xhat("i"))
XH_VAR, XH_MU = partial(xhat("j"), VAR), partial(xhat("j"), MU)
VAR_MU = partial(VAR, MU)
XH_X, VAR_X, MU_X = partial(xhat("i"), plain("x", "i")), partial(VAR, plain("x", "i")), partial(MU, plain("x", "i"))
Y_GAMMA, Y_BETA = partial(plain("y", "j"), GAMMA), partial(plain("y", "j"), BETA)
DY, DYI = partial(plain("y", "i"), plain("x", "k")), partial(plain("y", "i"), plain("x", "i"))


def _forward() -> list[Draft]:
    return [
        Draft(FORWARD, "Mini-batch mean", (mu, MU_DEF),
              long=("Average the m values ", x[1], ", ..., ", sp.Indexed(x, m), " of the mini-batch.")),
        Draft(FORWARD, "Mini-batch variance", (var, VAR_DEF),
              long=("The biased (1/m) variance around the batch mean. It is a mean of squares, so ",
                    sp.Ge(var, 0, evaluate=False), ".")),
        Draft(FORWARD, "Normalize", (xh[i], xhat_def(i)),
              long=("Centre and scale each value. Because ", sp.Gt(eps, 0, evaluate=False),
                    ", the denominator is at least ", sp.sqrt(eps), ", so it is never 0.")),
        Draft(FORWARD, "Scale and shift", (yi, y_def(i)),
              long=("Apply the learned scale ", gamma, " and shift ", beta, ". The loss l depends on x only "
                    "through ", sp.Indexed(S.y, 1), ", ..., ", sp.Indexed(S.y, m), ", and the upstream gradients ",
                    eq(g[i], partial(LOSS_L, plain("y", "i"))), " are given.")),
    ]


def _at_normalized() -> tuple[sp.Expr, Draft]:
    """dl/dxhat_i: xhat_i feeds only y_i."""
    dy_dxh = sp.diff(y_def(i), xh[i])
    dxhat = g[i] * dy_dxh
    require(dxhat == gamma * g[i], "dl/dxhat_i = gamma g_i")
    return dxhat, Draft(
        BACKWARD, "Gradient at the normalized value",
        (L_XH_I, L_Y_I * Y_XH, g[i] * sp.UnevaluatedExpr(dy_dxh), dxhat),
        long=("Reverse-mode chain rule: the gradient at a node is the sum, over the nodes it feeds, of "
              "(gradient at that node) times (local partial derivative). ", xh[i], " feeds only ", yi,
              ", and differentiating the definition of ", yi, " gives ", eq(Y_XH, dy_dxh), "."),
    )


def _at_variance(dxhat: sp.Expr) -> tuple[sp.Expr, Draft]:
    """dl/dsigma^2: sigma^2 feeds every xhat_j."""
    dxh_dvar = sp.diff(xhat_def(j), var)
    dvar_raw = sp.Sum(dxhat.xreplace({i: j}) * dxh_dvar, (j, 1, m))
    dvar = sp.factor_terms(dvar_raw)
    return dvar, Draft(
        BACKWARD, "Gradient at the variance",
        (L_VAR, sp.Sum(L_XH_J * XH_VAR, (j, 1, m)), dvar_raw, dvar),
        long=(var, " feeds every ", xh[j], ", so the chain rule sums over j. Differentiating ",
              eq(xh[j], xhat_def(j)), " with respect to ", var, " gives ", eq(XH_VAR, dxh_dvar),
              ". Then the factors that do not depend on j come out of the sum."),
    )


def _at_mean(dxhat: sp.Expr, dvar: sp.Expr) -> tuple[sp.Expr, list[Draft]]:
    """dl/dmu: mu feeds every xhat_j and sigma^2, but the path through sigma^2 vanishes."""
    dxh_dmu = sp.diff(xhat_def(j), mu)
    dvar_dmu = sp.factor_terms(sp.diff(VAR_DEF, mu))
    through_xhat = sp.factor_terms(sp.Sum(dxhat.xreplace({i: j}) * dxh_dmu, (j, 1, m)))
    centred = sp.Sum(x[j] - mu, (j, 1, m))
    centred_split = split_sums(centred)
    vanishing = split_sums(dvar_dmu).xreplace({mu: MU_DEF})
    require(vanishing == 0 and centred_split.xreplace({mu: MU_DEF}) == 0, "sum_j (x_j - mu) = 0")
    dmu_full = through_xhat + L_VAR * dvar_dmu
    dmu = through_xhat + dvar * vanishing
    return dmu, [
        Draft(
            BACKWARD, "Gradient at the mean",
            (L_MU, sp.Add(sp.Sum(L_XH_J * XH_MU, (j, 1, m)), L_VAR * VAR_MU, evaluate=False), dmu_full, dmu),
            long=(mu, " feeds every ", xh[j], " and also ", var, ", because the variance is written with ", mu,
                  ". The local partials are ", eq(XH_MU, dxh_dmu), " and ", eq(VAR_MU, dvar_dmu),
                  ". The second path contributes nothing: ", eq(centred, centred_split),
                  ", and this is 0 because ", mu, " is the batch mean (next step)."),
        ),
        Draft(
            BACKWARD, "Why the variance path drops out", (centred, centred_split, sp.Integer(0)), key=False,
            long=("Substitute ", eq(mu, MU_DEF), " into the right-hand side. The two sums cancel, so ",
                  L_VAR * VAR_MU, " = 0 and only the direct path through the ", xh[j], " is left."),
        ),
    ]


def _at_input(dxhat: sp.Expr, dvar: sp.Expr, dmu: sp.Expr) -> tuple[sp.Expr, Draft]:
    """dl/dx_i in the standard form: three paths, through xhat_i, sigma^2 and mu."""
    dxh_dxi = sp.diff(xhat_def(i), x[i])
    dvar_dxi = sp.factor_terms(in_range(sp.diff(VAR_DEF, x[i]).doit(), i, m))
    dmu_dxi = in_range(sp.diff(MU_DEF, x[i]).doit(), i, m)
    require(not any(e.has(sp.Piecewise) for e in (dvar_dxi, dmu_dxi)), "KroneckerDelta sums resolved")
    dx_labels = sp.Add(L_XH_I * XH_X, L_VAR * VAR_X, L_MU * MU_X, evaluate=False)
    dx_paper = sp.Add(L_XH_I * dxh_dxi, L_VAR * dvar_dxi, L_MU * dmu_dxi, evaluate=False)
    dx = dxhat * dxh_dxi + dvar * dvar_dxi + dmu * dmu_dxi
    return dx, Draft(
        BACKWARD, "Gradient at the input (standard form)", (L_X_I, dx_labels, dx_paper, dx),
        key_parts=(L_X_I, dx_paper, dx),
        long=(x[i], " reaches the loss along three paths: through ", xh[i], ", through ", var,
              " and through ", mu, ". Differentiating the node definitions with respect to ", x[i],
              " (the sums over j collapse to their j = i term) gives ", eq(XH_X, dxh_dxi), ", ",
              eq(VAR_X, dvar_dxi), " (with ", mu, " held fixed, because its effect is the path through ", mu,
              ") and ", eq(MU_X, dmu_dxi), ". Then substitute the three gradients found above."),
    )


def _at_scale_and_shift() -> tuple[sp.Expr, sp.Expr, list[Draft]]:
    """dl/dgamma and dl/dbeta: both feed every y_j."""
    dgamma = sp.Sum(g[j] * sp.diff(y_def(j), gamma), (j, 1, m))
    dbeta = sp.Sum(g[j] * sp.diff(y_def(j), beta), (j, 1, m))
    return dgamma, dbeta, [
        Draft(BACKWARD, "Gradient at the scale", (L_GAMMA, sp.Sum(L_Y_J * Y_GAMMA, (j, 1, m)), dgamma),
              long=(gamma, " feeds every ", sp.Indexed(S.y, j), ", with ", eq(Y_GAMMA, sp.diff(y_def(j), gamma)), ".")),
        Draft(BACKWARD, "Gradient at the shift", (L_BETA, sp.Sum(L_Y_J * Y_BETA, (j, 1, m)), dbeta),
              long=(beta, " feeds every ", sp.Indexed(S.y, j), ", with ", eq(Y_BETA, sp.diff(y_def(j), beta)), ".")),
    ]


def _compact(dx: sp.Expr) -> tuple[sp.Expr, Draft]:
    """dl/dx_i in terms of xhat: write x_j - mu = sqrt(sigma^2 + eps) * xhat_j."""
    in_xhat = dx.replace(lambda a: isinstance(a, sp.Indexed) and a.base == x, lambda a: mu + root * xh[a.indices[0]])
    in_xhat = split_sums(in_xhat)
    dx_compact = sp.factor_terms(sp.together(in_xhat))
    textbook = gamma / (m * root) * (m * g[i] - sp.Sum(g[j], (j, 1, m)) - xh[i] * sp.Sum(g[j] * xh[j], (j, 1, m)))
    require(is_zero(split_sums(dx_compact - textbook)), "compact form equals the textbook form")
    return dx_compact, Draft(
        COMPACT, "Compact form of dl/dx_i", (L_X_I, in_xhat, dx_compact),
        long=("Run the 'Normalize' step backwards: ", eq(x[j] - mu, root * xh[j]),
              ". Substitute this into every term, then put everything over ", m * root,
              ". This is the form implementations use: one pass over the batch computes ",
              sp.Sum(g[j], (j, 1, m)), " and ", sp.Sum(g[j] * xh[j], (j, 1, m)), ", and then each ", L_X_I,
              " costs O(1)."),
    )


def _differentiability(dx_compact: sp.Expr) -> tuple[sp.Expr, sp.Expr, list[Draft]]:
    """The Jacobian dy_i/dx_k (upstream g = e_i, that is l = y_i, picks row i) and why it exists."""
    jac = dx_compact.xreplace({i: k}).replace(lambda a: isinstance(a, sp.Indexed) and a.base == g,
                                              lambda a: sp.KroneckerDelta(a.indices[0], i))
    jac = sp.factor_terms(in_range(jac.doit(), i, m))
    jac_diag = sp.factor_terms(jac.xreplace({k: i}))
    require(not jac.has(sp.Piecewise), "Jacobian resolved")
    why: tuple[Fragment, ...] = (
        "Every y_i is a composition of differentiable elementary functions: sums and products (", mu, " and ",
        var, " are polynomials in x), the map t -> t^(-1/2), and an affine map. The map t -> t^(-1/2) is "
        "differentiable for every t > 0, and here ", sp.Ge(var + eps, eps, evaluate=False), " > 0, because ",
        var, " is a mean of squares and ", sp.Gt(eps, 0, evaluate=False),
        ". By the chain rule, y is therefore differentiable (in fact infinitely often) in x, ", gamma, " and ",
        beta, " for every mini-batch, even one whose values are all equal. Without ", eps,
        " that batch would give 0/0.")
    return jac, jac_diag, [
        Draft(
            DIFFERENTIABLE, "Why batch norm is differentiable", (DYI, jac_diag),
            short=why,
            long=why + (" To get the Jacobian, put g = e_i (that is, l = y_i) into the compact form: ",
                        eq(DY, jac), ". Its diagonal entries are:"),
        ),
        Draft(
            DIFFERENTIABLE, "Full Jacobian", (DY, jac), key=False,
            long=("Even off the diagonal (k != i), ", sp.Indexed(x, k), " still moves ", yi, " through ", mu,
                  " and ", var, ". So the Jacobian is dense, not diagonal."),
        ),
    ]


def _verification(checked: tuple[tuple[str, sp.Expr], ...], dx_compact: sp.Expr) -> Draft:
    """Differentiate the fully expanded loss at concrete m and subtract the general formulas."""
    for size in VERIFY_SIZES:
        for target, formula in checked:
            require(all(is_zero(d) for d in concrete_differences("bn", target, formula, size)),
                    f"direct derivative at m = {size} ({target})")
    x1 = partial(LOSS_L, plain("x", "1"), suffix=Spelling(" (m = 3)", " (m = 3)", r"\Big|_{m=3}"))
    shown = instantiator(dx_compact, m, 3, {g: concrete("g", 3, real=True), xh: concrete("xhat", 3, real=True)}, {})({i: 1})
    sizes = " and ".join(str(q) for q in VERIFY_SIZES)
    return Draft(
        VERIFY, "Direct check at concrete m", (x1, shown),
        short=(f"For m = {sizes}, sympy also differentiated sum_k g_k y_k(x_1, ..., x_m) directly. Subtracting "
               "the formulas above (dl/dx_i in both forms, dl/dgamma, dl/dbeta, dy_i/dx_k) leaves exactly 0.",),
        long=(f"As a check that does not rely on the graph bookkeeping, write y_1, ..., y_m out as explicit "
              f"functions of x_1, ..., x_m for m = {sizes}. Differentiating sum_k g_k y_k is the chain rule "
              "dl/dx_i = sum_k (dl/dy_k)(dy_k/dx_i) with symbolic upstream g_k. Subtract the general formulas "
              "evaluated at that m. Every difference expands to exactly 0 once epsilon is written as "
              "s^2 - sigma^2(x), a substitution that removes the square root exactly. For m = 3 and i = 1, "
              "the compact form reads:",),
    )


def derive_bn(explain: bool) -> tuple[tuple[Step, ...], dict[str, sp.Expr]]:
    """The batch-norm steps (all of them with ``explain``, else the key ones) and the results by name."""
    drafts = _forward()
    dxhat, step = _at_normalized()
    drafts.append(step)
    dvar, step = _at_variance(dxhat)
    drafts.append(step)
    dmu, steps = _at_mean(dxhat, dvar)
    drafts += steps
    dx, step = _at_input(dxhat, dvar, dmu)
    drafts.append(step)
    dgamma, dbeta, steps = _at_scale_and_shift()
    drafts += steps
    dx_compact, step = _compact(dx)
    drafts.append(step)
    jac, jac_diag, steps = _differentiability(dx_compact)
    drafts += steps
    checked = (("dx", dx), ("dx", dx_compact), ("dgamma", dgamma), ("dbeta", dbeta), ("jacobian", jac))
    drafts.append(_verification(checked, dx_compact))
    results = {
        "mu": MU_DEF, "var": VAR_DEF, "xhat": xhat_def(i), "y": y_def(i),
        "dxhat": dxhat, "dvar": dvar, "dmu": dmu, "dx": dx, "dx_compact": dx_compact,
        "dgamma": dgamma, "dbeta": dbeta, "jacobian": jac, "dy_dx_diag": jac_diag,
    }
    return finish(drafts, explain, LAYOUT), results


TOPIC = Topic(
    name="bn",
    title="Batch normalization: forward and backward pass over a mini-batch of m values",
    notation="g_i = dl/dy_i is the upstream gradient; i, j, k run over 1..m.",
    size_symbol="m",
    derive=derive_bn,
    checks=(
        PlannedCheck("dxhat", "dxhat", "dl/dxhat_i"),
        PlannedCheck("dvar", "dvar", "dl/dsigma^2"),
        PlannedCheck("dmu", "dmu", "dl/dmu"),
        PlannedCheck("dx", "dx", "dl/dx_i (standard form)"),
        PlannedCheck("dx_compact", "dx", "dl/dx_i (compact form)"),
        PlannedCheck("dgamma", "dgamma", "dl/dgamma"),
        PlannedCheck("dbeta", "dbeta", "dl/dbeta"),
        PlannedCheck("jacobian", "jacobian", "dy_i/dx_k (Jacobian)"),
    ),
)
