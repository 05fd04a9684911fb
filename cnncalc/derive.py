"""Symbolic derivations for ``cnncalc derive`` (issue 7).

Two topics are derived with sympy, by differentiating through the
computational graph rather than by typing in known answers:

* ``bn``: batch normalisation over a mini-batch of ``m`` values, forward
  pass and backward pass (dl/dxhat, dl/dsigma^2, dl/dmu, dl/dx_i,
  dl/dgamma, dl/dbeta in terms of the upstream gradients g_i = dl/dy_i),
  the compact form of dl/dx_i, and why the layer is differentiable.
* ``softmax-ce``: softmax followed by cross-entropy, dL/dz_t for a one-hot
  target and for any target distribution.

Every derived gradient can be checked (``check=True``) against central
finite differences at 60 significant digits (mpmath) for m = 2..6.

This is the only module of the package that imports sympy; the CLI imports
it lazily, for the ``derive`` command only.  The module is pure: it prints
nothing and touches no files.  No string is ever parsed into an expression
here; every expression is built from sympy symbols.
"""

from __future__ import annotations

import json
import random
import textwrap
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from types import MappingProxyType
from typing import Callable, Iterable, Mapping, Sequence, Union

import mpmath
import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import pretty_use_unicode
from sympy.printing.pretty.stringpict import prettyForm
from sympy.printing.str import StrPrinter

__all__ = [
    "TOPICS",
    "FORMATS",
    "CHECK_TARGETS",
    "CHECK_SIZES",
    "Step",
    "CheckResult",
    "Derivation",
    "BN",
    "SOFTMAX",
    "derive",
    "render",
    "numeric",
    "check_gradient",
    "check_formula",
    "concrete_differences",
]

TOPICS: tuple[str, ...] = ("bn", "softmax-ce")
FORMATS: tuple[str, ...] = ("text", "latex", "markdown", "json")

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
_DERIVE_VERIFY_SIZES: tuple[int, ...] = (2, 3)

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

Fragment = Union[str, sp.Basic]


@dataclass(frozen=True)
class Step:
    """One step of a derivation: a titled equation chain with optional prose.

    ``expr_text`` and ``expr_latex`` are one-line renderings of the chain
    ``parts[0] = parts[1] = ...``; ``text`` is the prose in plain text
    (empty in the compact output when the step needs no words).
    """

    section: str
    title: str
    text: str
    expr_text: str
    expr_latex: str
    parts: tuple[sp.Basic, ...] = field(default=(), repr=False, compare=False)
    prose: tuple[Fragment, ...] = field(default=(), repr=False, compare=False)

    def pretty(self, use_unicode: bool = False) -> str:
        """The equation chain drawn by sympy's 2-D pretty printer."""
        return _pretty_chain(self.parts, use_unicode) if self.parts else ""


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a finite-difference check of one derived gradient."""

    name: str
    max_abs_error: str
    points: int
    ok: bool
    tolerance: str = f"{CHECK_TOLERANCE:.0e}"

    @property
    def error(self) -> float:
        """``max_abs_error`` as a float (0.0 if it underflows)."""
        return float(self.max_abs_error)


@dataclass(frozen=True)
class Derivation:
    """A complete derivation: steps, optional checks, and the key results.

    ``results`` maps result names (``"dx_compact"``, ``"dvar"``, ...) to the
    sympy expressions that were printed, for programmatic use and tests.
    """

    topic: str
    title: str
    steps: tuple[Step, ...]
    checks: tuple[CheckResult, ...] = ()
    explain: bool = False
    seed: int = 0
    results: Mapping[str, sp.Expr] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False, hash=False
    )

    @property
    def ok(self) -> bool:
        """True when every check passed (vacuously true without checks)."""
        return all(c.ok for c in self.checks)


# ---------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------


class _Label(sp.Symbol):
    """A display-only symbol such as dl/dx_i with ASCII/Unicode/LaTeX spellings.

    Labels are non-commutative so that products keep the written order
    (dl/dxhat_j * dxhat_j/dsigma^2).  They never enter the calculus.
    """

    _spell: dict[str, tuple[str, str, str]] = {}

    def __new__(cls, ascii_: str, uni: str, tex: str) -> "_Label":
        obj = super().__new__(cls, ascii_, commutative=False)
        cls._spell[ascii_] = (ascii_, uni, tex)
        return obj

    def _latex(self, printer: object) -> str:
        return self._spell[self.name][2]

    def _sympystr(self, printer: object) -> str:
        return self._spell[self.name][0]

    def _pretty(self, printer: PrettyPrinter) -> prettyForm:
        a, u, _ = self._spell[self.name]
        return prettyForm(u if printer._use_unicode else a)


def _indexed_name(e: sp.Indexed) -> str:
    return f"{e.base.label}_{''.join(str(ix) for ix in e.indices)}"


class _Pretty(PrettyPrinter):
    def _print_Indexed(self, e: sp.Indexed) -> prettyForm:
        return self._print(sp.Symbol(_indexed_name(e)))


class _Str(StrPrinter):
    def _print_Indexed(self, e: sp.Indexed) -> str:
        return _indexed_name(e)


class _Latex(LatexPrinter):
    pass


def _tex(e: sp.Basic) -> str:
    return _Latex().doprint(e)


def _txt(e: sp.Basic) -> str:
    return _Str().doprint(e)


def _pretty_chain(parts: Sequence[sp.Basic], use_unicode: bool) -> str:
    printer = _Pretty({"use_unicode": use_unicode, "wrap_line": False})
    flag = pretty_use_unicode(use_unicode)
    try:
        out = printer._print(parts[0])
        for p in parts[1:]:
            out = prettyForm(*out.right(" = ", printer._print(p)))
        return out.render(wrap_line=False)
    finally:
        pretty_use_unicode(flag)


def _prose_text(prose: Sequence[Fragment]) -> str:
    return "".join(f if isinstance(f, str) else _txt(f) for f in prose)


def _prose_math(prose: Sequence[Fragment], escape: Callable[[str], str]) -> str:
    return "".join(escape(f) if isinstance(f, str) else f"${_tex(f)}$" for f in prose)


_TEX_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
}


def _tex_escape(s: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in s)


def _md_escape(s: str) -> str:
    return s.replace("*", r"\*").replace("_", r"\_")


def _step(section: str, title: str, parts: Sequence[sp.Basic], prose: Sequence[Fragment] = ()) -> Step:
    parts = tuple(parts)
    return Step(
        section=section,
        title=title,
        text=_prose_text(prose),
        expr_text=" = ".join(_txt(p) for p in parts),
        expr_latex=" = ".join(_tex(p) for p in parts),
        parts=parts,
        prose=tuple(prose),
    )


@dataclass(frozen=True)
class _Draft:
    """A step before the explain/compact choice is made."""

    section: str
    title: str
    parts: tuple[sp.Basic, ...]
    key: bool = True
    key_parts: tuple[sp.Basic, ...] | None = None  # chain shown in compact mode
    short: tuple[Fragment, ...] = ()  # prose in compact mode
    long: tuple[Fragment, ...] = ()  # prose in explain mode

    def finish(self, explain: bool) -> Step:
        if explain:
            return _step(self.section, self.title, self.parts, self.long or self.short)
        parts = self.key_parts if self.key_parts is not None else (self.parts[:1] + self.parts[-1:] if len(self.parts) > 2 else self.parts)
        return _step(self.section, self.title, parts, self.short)


def _finish(drafts: Iterable[_Draft], explain: bool) -> tuple[Step, ...]:
    return tuple(d.finish(explain) for d in drafts if explain or d.key)


# ---------------------------------------------------------------------------
# Sympy helpers
# ---------------------------------------------------------------------------


def _require(cond: bool, what: str) -> None:
    if not cond:
        raise RuntimeError(f"derivation self-check failed: {what}")


def _in_range(e: sp.Basic, idx: sp.Symbol, upper: sp.Symbol) -> sp.Basic:
    """Resolve the Piecewise that a KroneckerDelta sum leaves behind.

    ``Sum(f(j)*KroneckerDelta(i, j), (j, 1, m))`` evaluates to
    ``Piecewise((f(i), i <= m), (0, True))``; the index ranges over 1..m by
    definition, so the condition is true.
    """
    return e.xreplace({sp.Le(idx, upper): sp.true, sp.Ge(upper, idx): sp.true})


def _split_sums(e: sp.Basic) -> sp.Basic:
    """Expand each Sum's summand, split it term by term, pull out constants, evaluate."""

    def split(s: sp.Sum) -> sp.Expr:
        body = sp.expand(s.function)
        return sp.Add(*[sp.factor_terms(sp.Sum(t, *s.limits)).doit() for t in sp.Add.make_args(body)])

    return e.replace(lambda a: isinstance(a, sp.Sum), split)


def _is_zero(e: sp.Expr, *, rational: bool = False) -> bool:
    """Exact zero test: expand (polynomial in the symbols), else cancel."""
    if not rational and sp.expand(e) == 0:
        return True
    return sp.cancel(sp.together(e)) == 0


def _instantiate(
    formula: sp.Expr,
    size_sym: sp.Symbol,
    size: int,
    indices: Mapping[sp.Symbol, int],
    bases: Mapping[sp.IndexedBase, Sequence[sp.Expr]],
    scalars: Mapping[sp.Symbol, sp.Expr],
) -> sp.Expr:
    """Turn a general-size formula into one over concrete symbols.

    Sets the size and free indices, evaluates the Sums, and replaces
    ``base[k]`` by ``bases[base][k-1]`` and each scalar node by its expression.
    """
    e = formula.xreplace({size_sym: sp.Integer(size), **{k: sp.Integer(v) for k, v in indices.items()}})
    e = e.doit()
    e = e.replace(
        lambda a: isinstance(a, sp.Indexed) and a.base in bases,
        lambda a: bases[a.base][int(a.indices[0]) - 1],
    )
    return e.xreplace(dict(scalars))


# ---------------------------------------------------------------------------
# Symbols
# ---------------------------------------------------------------------------


def _pos_int(name: str) -> sp.Symbol:
    return sp.Symbol(name, integer=True, positive=True)


@dataclass(frozen=True)
class _BNSymbols:
    """Symbols of the batch-norm derivation (general mini-batch size m)."""

    m: sp.Symbol = _pos_int("m")
    i: sp.Symbol = _pos_int("i")
    j: sp.Symbol = _pos_int("j")
    k: sp.Symbol = _pos_int("k")
    x: sp.IndexedBase = sp.IndexedBase("x", real=True)
    xhat: sp.IndexedBase = sp.IndexedBase("xhat", real=True)
    y: sp.IndexedBase = sp.IndexedBase("y", real=True)
    g: sp.IndexedBase = sp.IndexedBase("g", real=True)
    mu: sp.Symbol = sp.Symbol("mu", real=True)
    var: sp.Symbol = sp.Symbol("sigma^2", nonnegative=True)
    eps: sp.Symbol = sp.Symbol("epsilon", positive=True)
    gamma: sp.Symbol = sp.Symbol("gamma", real=True)
    beta: sp.Symbol = sp.Symbol("beta", real=True)


@dataclass(frozen=True)
class _SoftmaxSymbols:
    """Symbols of the softmax/cross-entropy derivation (n classes)."""

    n: sp.Symbol = _pos_int("n")
    t: sp.Symbol = _pos_int("t")
    j: sp.Symbol = _pos_int("j")
    k: sp.Symbol = _pos_int("k")
    c: sp.Symbol = _pos_int("c")
    z: sp.IndexedBase = sp.IndexedBase("z", real=True)
    y: sp.IndexedBase = sp.IndexedBase("y", real=True)
    yhat: sp.IndexedBase = sp.IndexedBase("yhat", positive=True)


BN = _BNSymbols()
SOFTMAX = _SoftmaxSymbols()

_SUB = {"i": "ᵢ", "j": "ⱼ", "k": "ₖ", "t": "ₜ", "1": "₁", "2": "₂", "3": "₃", "c": "c"}


def _q(ascii_: str, uni: str, tex: str) -> tuple[str, str, str]:
    return (ascii_, uni, tex)


def _xhat_q(ix: str) -> tuple[str, str, str]:
    return _q(f"xhat_{ix}", f"x\u0302{_SUB[ix]}", rf"\hat{{x}}_{{{ix}}}")


def _plain_q(base: str, ix: str) -> tuple[str, str, str]:
    return _q(f"{base}_{ix}", f"{base}{_SUB[ix]}", f"{base}_{{{ix}}}")


_LOSS_L = _q("l", "l", "l")
_LOSS_CE = _q("L", "L", "L")
_MU = _q("mu", "μ", r"\mu")
_VAR = _q("sigma^2", "σ²", r"\sigma^{2}")
_GAMMA = _q("gamma", "γ", r"\gamma")
_BETA = _q("beta", "β", r"\beta")
_YHAT_K = _q("yhat_k", "y\u0302ₖ", r"\hat{y}_{k}")


def _d(num: tuple[str, str, str], den: tuple[str, str, str], *, suffix: tuple[str, str, str] | None = None) -> _Label:
    a, u, t = num
    b, v, s = den
    sa, su, st = suffix if suffix else ("", "", "")
    return _Label(f"d{a}/d{b}{sa}", f"∂{u}/∂{v}{su}", rf"\frac{{\partial {t}}}{{\partial {s}}}{st}")


# ---------------------------------------------------------------------------
# Numerics: evaluation, finite differences
# ---------------------------------------------------------------------------

Number = Union[int, Fraction, str, "mpmath.mpf"]
ScalarFn = Callable[[Sequence["mpmath.mpf"]], "mpmath.mpf"]
VectorFn = Callable[[Sequence["mpmath.mpf"]], Sequence["mpmath.mpf"]]


def _to_mpf(v: Number | sp.Rational) -> mpmath.mpf:
    if isinstance(v, Fraction):
        return mpmath.mpf(v.numerator) / v.denominator
    if isinstance(v, sp.Rational):
        return mpmath.mpf(int(v.p)) / int(v.q)
    return mpmath.mpf(v)


def _mp_eval(e: sp.Basic, env: Mapping[sp.Basic, mpmath.mpf], memo: dict[sp.Basic, mpmath.mpf]) -> mpmath.mpf:
    """Evaluate a sympy tree with mpmath at the current precision (no codegen)."""
    if e in env:
        return env[e]
    if e in memo:
        return memo[e]
    if isinstance(e, sp.Rational):
        r = _to_mpf(e)
    elif isinstance(e, sp.Add):
        r = mpmath.fsum(_mp_eval(a, env, memo) for a in e.args)
    elif isinstance(e, sp.Mul):
        r = mpmath.mpf(1)
        for a in e.args:
            r *= _mp_eval(a, env, memo)
    elif isinstance(e, sp.Pow):
        b = _mp_eval(e.base, env, memo)
        ex = e.exp
        if isinstance(ex, sp.Integer):
            r = b ** int(ex)
        elif ex == sp.S.Half:
            r = mpmath.sqrt(b)
        else:
            r = mpmath.power(b, _mp_eval(ex, env, memo))
    elif isinstance(e, sp.exp):
        r = mpmath.exp(_mp_eval(e.args[0], env, memo))
    elif isinstance(e, sp.log):
        r = mpmath.log(_mp_eval(e.args[0], env, memo))
    else:
        raise TypeError(f"cannot evaluate {type(e).__name__}: {_txt(e)}")
    memo[e] = r
    return r


Binding = tuple[sp.Symbol, sp.Expr]


def _env(
    fixed: Mapping[sp.Symbol, Number],
    variables: Sequence[sp.Symbol],
    point: Sequence[mpmath.mpf],
    bindings: Sequence[Binding],
) -> dict[sp.Basic, mpmath.mpf]:
    env: dict[sp.Basic, mpmath.mpf] = {s: _to_mpf(v) for s, v in fixed.items()}
    env.update(zip(variables, point))
    for sym, definition in bindings:  # graph nodes, parents first
        env[sym] = _mp_eval(definition, env, {})
    return env


def numeric(
    expr: sp.Expr,
    variables: Sequence[sp.Symbol],
    values: Mapping[sp.Symbol, Number] | None = None,
    bindings: Sequence[Binding] = (),
) -> ScalarFn:
    """Compile ``expr`` into ``f(point)`` for :func:`check_gradient`.

    ``variables`` take the point's coordinates, ``values`` fix the other
    symbols, and ``bindings`` ``(node, definition)`` are evaluated in order
    first (so graph nodes are recomputed at every perturbed point).
    Evaluation walks the sympy tree with mpmath at the caller's precision.
    """
    fixed, variables, bindings = dict(values or {}), tuple(variables), tuple(bindings)

    def f(point: Sequence[mpmath.mpf]) -> mpmath.mpf:
        return _mp_eval(expr, _env(fixed, variables, point, bindings), {})

    return f


def _numeric_vector(
    exprs: Sequence[sp.Expr], variables: Sequence[sp.Symbol], values: Mapping[sp.Symbol, Number], bindings: Sequence[Binding]
) -> VectorFn:
    fixed, variables, bindings = dict(values), tuple(variables), tuple(bindings)

    def grad(point: Sequence[mpmath.mpf]) -> list[mpmath.mpf]:
        env = _env(fixed, variables, point, bindings)
        memo: dict[sp.Basic, mpmath.mpf] = {}
        return [_mp_eval(e, env, memo) for e in exprs]

    return grad


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
            p = [_to_mpf(v) for v in raw]
            gp = list(grad(p))
            if len(gp) != len(p):
                raise ValueError(f"{name}: gradient has {len(gp)} components for {len(p)} variables")
            for k in range(len(p)):
                up, down = list(p), list(p)
                up[k] += step
                down[k] -= step
                err = abs((f(up) - f(down)) / (2 * step) - gp[k])
                if not err <= worst:  # also lets NaN through
                    worst = err
        ok = bool(worst < tol)
        text = mpmath.nstr(worst, 2) if worst else "0.0"
    return CheckResult(name=name, max_abs_error=text, points=len(points), ok=ok, tolerance=f"{tol:.0e}")


def _merge(name: str, results: Sequence[CheckResult], points: int) -> CheckResult:
    def size(r: CheckResult) -> mpmath.mpf:
        e = mpmath.mpf(r.max_abs_error)
        return mpmath.inf if mpmath.isnan(e) else e

    worst = max(results, key=size)
    return CheckResult(name=name, max_abs_error=worst.max_abs_error, points=points,
                       ok=all(r.ok for r in results), tolerance=worst.tolerance)


# --- concrete instances of the graphs --------------------------------------


@dataclass(frozen=True)
class _Case:
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
        return _expand_nodes(e, self.bindings)


def _expand_nodes(e: sp.Expr, bindings: Sequence[Binding]) -> sp.Expr:
    for sym, definition in reversed(bindings):  # later nodes may use earlier ones
        e = e.xreplace({sym: definition})
    return e


def _syms(stem: str, size: int, **assumptions: bool) -> tuple[sp.Symbol, ...]:
    return tuple(sp.Symbol(f"{stem}_{k}", **assumptions) for k in range(1, size + 1))


def _bn_var(X: Sequence[sp.Expr], mu: sp.Expr) -> sp.Expr:
    return sp.Add(*[(xk - mu) ** 2 for xk in X]) / len(X)


_BN_TARGETS: dict[str, str] = {
    "dxhat": "dl/dxhat_i",
    "dvar": "dl/dsigma^2",
    "dmu": "dl/dmu",
    "dx": "dl/dx_i",
    "dgamma": "dl/dgamma",
    "dbeta": "dl/dbeta",
    "jacobian": "dy_i/dx_k",
}
_SM_TARGETS: dict[str, str] = {
    "jacobian": "dyhat_k/dz_t",
    "weights": "dL/dz_t (any weights y)",
    "dist": "dL/dz_t (y sums to 1)",
    "onehot": "dL/dz_t (one-hot y)",
}
#: Gradient targets that ``check_formula`` understands, per topic.
CHECK_TARGETS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"bn": tuple(_BN_TARGETS), "softmax-ce": tuple(_SM_TARGETS)}
)


def _bn_cases(target: str, formula: sp.Expr, m: int) -> list[_Case]:
    """The bn graph at a concrete m, set up for one gradient target."""
    S = BN
    X, G, XH = _syms("x", m, real=True), _syms("g", m, real=True), _syms("xhat", m, real=True)
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

    def inst(**idx: int) -> sp.Expr:
        return _instantiate(formula, S.m, m, {getattr(S, n): v for n, v in idx.items()},
                            {S.x: X, S.g: G, S.xhat: XH}, {S.mu: MU, S.var: VAR})

    loss = sp.Add(*[gk * (S.gamma * h + S.beta) for gk, h in zip(G, XH)])  # sum_k g_k y_k
    full = graph(mean, _bn_var(X, MU))
    if target == "dxhat":  # xhat itself is the variable, taken where the batch puts it
        at = tuple(_expand_nodes(h, full) for h in XH)
        return [_Case(loss, XH, at, tuple(inst(i=r) for r in rows), ())]
    if target == "dvar":  # sigma^2 is the variable, x and mu fixed
        return [_Case(loss, (VAR,), (_bn_var(X, mean),), (inst(),), graph(mean, None))]
    if target == "dmu":  # mu is the variable; sigma^2 is computed from it
        return [_Case(loss, (MU,), (mean,), (inst(),), graph(None, _bn_var(X, MU)))]
    if target == "dx":
        return [_Case(loss, X, X, tuple(inst(i=r) for r in rows), full)]
    if target in ("dgamma", "dbeta"):
        v = S.gamma if target == "dgamma" else S.beta
        return [_Case(loss, (v,), (v,), (inst(),), full)]
    if target == "jacobian":  # row r: f = y_r
        return [_Case(S.gamma * XH[r - 1] + S.beta, X, X, tuple(inst(i=r, k=col) for col in rows), full)
                for r in rows]
    raise ValueError(f"unknown bn check target {target!r}; expected one of {sorted(_BN_TARGETS)}")


def _sm_cases(target: str, formula: sp.Expr, n: int, onehot_class: int = 1) -> list[_Case]:
    """The softmax/cross-entropy graph at a concrete n, set up for one target."""
    S = SOFTMAX
    Z, Y, YH = _syms("z", n, real=True), _syms("y", n, real=True), _syms("yhat", n, positive=True)
    DEN = sp.Symbol("den_", positive=True)
    nodes = ((DEN, sp.Add(*[sp.exp(zk) for zk in Z])),) + tuple((YH[k], sp.exp(Z[k]) / DEN) for k in range(n))
    rows = range(1, n + 1)
    targets: Sequence[sp.Expr] = Y
    if target == "onehot":
        targets = tuple(sp.Integer(int(k == onehot_class)) for k in rows)
    loss = -sp.Add(*[yk * sp.log(h) for yk, h in zip(targets, YH)])

    def inst(**idx: int) -> sp.Expr:
        return _instantiate(formula, S.n, n, {getattr(S, k): v for k, v in idx.items()},
                            {S.z: Z, S.y: targets, S.yhat: YH}, {})

    if target == "jacobian":  # row r: f = yhat_r
        return [_Case(YH[r - 1], Z, Z, tuple(inst(k=r, t=col) for col in rows), nodes) for r in rows]
    if target in ("weights", "dist"):
        return [_Case(loss, Z, Z, tuple(inst(t=r) for r in rows), nodes)]
    if target == "onehot":
        return [_Case(loss, Z, Z, tuple(inst(t=r, c=onehot_class) for r in rows), nodes)]
    raise ValueError(f"unknown softmax-ce check target {target!r}; expected one of {sorted(_SM_TARGETS)}")


def _frac(rng: random.Random, lo: int, hi: int, den: int = 100) -> Fraction:
    return Fraction(rng.randint(lo, hi), den)


def _data(topic: str, target: str, size: int, rng: random.Random) -> tuple[dict[sp.Symbol, Fraction], int]:
    """Random exact data for one check point (and the one-hot class)."""
    if topic == "bn":
        vals: dict[sp.Symbol, Fraction] = {xk: _frac(rng, -300, 300) for xk in _syms("x", size, real=True)}
        vals.update({gk: _frac(rng, -200, 200) for gk in _syms("g", size, real=True)})
        vals[BN.gamma] = _frac(rng, 50, 250) * rng.choice((-1, 1))
        vals[BN.beta] = _frac(rng, -100, 100)
        vals[BN.eps] = _frac(rng, 1, 50)
        return vals, 0
    vals = {zk: _frac(rng, -300, 300) for zk in _syms("z", size, real=True)}
    w = [Fraction(rng.randint(1, 100)) for _ in range(size)]
    if target == "dist":
        w = [wk / sum(w) for wk in w]  # a target distribution
    elif target == "weights":
        w = [wk / 37 for wk in w]  # weights that do not sum to 1
    vals.update(dict(zip(_syms("y", size, real=True), w)))
    return vals, rng.randint(1, size)


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

    ``formula`` is written in the symbols of :data:`BN` or :data:`SOFTMAX`
    (free index ``i`` for per-input gradients; ``i``, ``k`` for the bn
    Jacobian dy_i/dx_k; ``t`` for softmax-ce and ``k``, ``t`` for its
    Jacobian dyhat_k/dz_t; ``c`` is the one-hot class).  For each size and
    random point (fixed ``seed``) the formula is instantiated and compared
    with central differences of the forward graph, via :func:`check_gradient`.
    ``derive(check=True)`` runs exactly this.
    """
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}; expected one of {TOPICS}")
    names = _BN_TARGETS if topic == "bn" else _SM_TARGETS
    if target not in names:
        raise ValueError(f"unknown {topic} check target {target!r}; expected one of {sorted(names)}")
    label = name or names[target]
    results: list[CheckResult] = []
    for size in sizes:
        rng = random.Random(seed * 1_000_003 + size)
        built: dict[int, list[_Case]] = {}
        for _ in range(points_per_size):
            vals, cls = _data(topic, target, size, rng)
            if cls not in built:
                built[cls] = _bn_cases(target, formula, size) if topic == "bn" else _sm_cases(target, formula, size, cls)
            for case in built[cls]:
                fixed = {s: v for s, v in vals.items() if s not in case.variables}
                with mpmath.workdps(CHECK_DPS):
                    env = _env(vals, (), (), ())
                    at = [_mp_eval(case.expanded(a), env, {}) for a in case.at]
                results.append(check_gradient(
                    numeric(case.f, case.variables, fixed, case.bindings),
                    _numeric_vector(case.grad, case.variables, fixed, case.bindings),
                    [at], name=label,
                ))
    return _merge(label, results, points=len(sizes) * points_per_size)


def concrete_differences(topic: str, target: str, formula: sp.Expr, size: int) -> tuple[sp.Expr, ...]:
    """Direct sympy derivative minus ``formula``, per component, at a concrete size.

    The direct derivative differentiates the fully expanded forward graph
    (e.g. sum_k g_k y_k(x_1..x_m) with every node written out).  To keep
    simplification fast, the square root is removed by an exact change of
    variables: for bn, epsilon = s^2 - sigma^2(x) with s > 0 (so
    sqrt(sigma^2 + epsilon) = s); for softmax-ce, z_k = log(w_k) with w_k > 0,
    and for the ``dist`` target y_n = 1 - (y_1 + ... + y_{n-1}).  Every entry
    is identically 0 iff the formula is right (at this size).
    """
    if topic == "bn":
        cases = _bn_cases(target, formula, size)
        X = _syms("x", size, real=True)
        change: dict[sp.Basic, sp.Expr] = {BN.eps: sp.Symbol("s", positive=True) ** 2 - _bn_var(X, sp.Add(*X) / size)}
    elif topic == "softmax-ce":
        cases = _sm_cases(target, formula, size, onehot_class=size)
        Y = _syms("y", size, real=True)
        change = {zk: sp.log(sp.Symbol(f"w_{k}", positive=True)) for k, zk in enumerate(_syms("z", size, real=True), 1)}
        if target == "dist":
            change[Y[-1]] = 1 - sp.Add(*Y[:-1])
    else:
        raise ValueError(f"unknown topic {topic!r}; expected one of {TOPICS}")
    out: list[sp.Expr] = []
    for case in cases:
        f = case.expanded(case.f)
        at = {v: case.expanded(a) for v, a in zip(case.variables, case.at)}
        for v, gformula in zip(case.variables, case.grad):
            diff = sp.diff(f, v).xreplace(at) - case.expanded(gformula).xreplace(at)
            out.append(diff.subs(change) if topic == "softmax-ce" else diff.xreplace(change))
    return tuple(out)


# ---------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------

_BN_TITLE = "Batch normalization: forward and backward pass over a mini-batch of m values"


def _derive_bn(explain: bool) -> tuple[tuple[Step, ...], dict[str, sp.Expr]]:
    S = BN
    m, i, j, k = S.m, S.i, S.j, S.k
    x, xh, g = S.x, S.xhat, S.g
    mu, var, eps, gamma, beta = S.mu, S.var, S.eps, S.gamma, S.beta
    s = sp.sqrt(var + eps)
    F, B, C, D, V = "Forward pass", "Backward pass", "Compact form", "Differentiability", "Verification"

    # Forward graph: each node's definition in terms of its parents.
    mu_def = sp.Sum(x[j], (j, 1, m)) / m
    var_def = sp.Sum((x[j] - mu) ** 2, (j, 1, m)) / m

    def xhat_def(a: sp.Expr) -> sp.Expr:
        return (x[a] - mu) / sp.sqrt(var + eps)

    def y_def(a: sp.Expr) -> sp.Expr:
        return gamma * xh[a] + beta

    yi = sp.Indexed(S.y, i)
    drafts: list[_Draft] = [
        _Draft(F, "Mini-batch mean", (mu, mu_def),
               long=("Average the m inputs of the mini-batch.",)),
        _Draft(F, "Mini-batch variance", (var, var_def),
               long=("The (biased, 1/m) variance around the batch mean; a mean of squares, so ",
                     sp.Ge(var, 0, evaluate=False), ".")),
        _Draft(F, "Normalize", (xh[i], xhat_def(i)),
               long=("Centre and scale each input; ", eps, " > 0 keeps the denominator away from 0.",)),
        _Draft(F, "Scale and shift", (yi, y_def(i)),
               long=("Learned scale ", gamma, " and shift ", beta,
                     ". The loss l depends on x only through y_1..y_m; the upstream gradients ",
                     g[i], " = dl/dy_i are given.")),
    ]

    # --- backward pass: reverse-mode chain rule, local partials by sympy.diff
    L_XH_I = _d(_LOSS_L, _xhat_q("i"))
    L_XH_J = _d(_LOSS_L, _xhat_q("j"))
    L_Y_I = _d(_LOSS_L, _plain_q("y", "i"))
    L_VAR = _d(_LOSS_L, _VAR)
    L_MU = _d(_LOSS_L, _MU)
    L_X_I = _d(_LOSS_L, _plain_q("x", "i"))
    L_GAMMA = _d(_LOSS_L, _GAMMA)
    L_BETA = _d(_LOSS_L, _BETA)

    dy_dxh = sp.diff(y_def(i), xh[i])
    dxhat = g[i] * dy_dxh
    _require(dxhat == gamma * g[i], "dl/dxhat_i = gamma g_i")
    drafts.append(_Draft(
        B, "Gradient at the normalized value",
        (L_XH_I, L_Y_I * _d(_plain_q("y", "i"), _xhat_q("i")), g[i] * sp.UnevaluatedExpr(dy_dxh), dxhat),
        long=("Reverse-mode chain rule: the gradient at a node is the sum, over the nodes it feeds, of "
              "(gradient there) x (local partial). x̂_i feeds only y_i, and sympy gives ",
              sp.Eq(sp.Symbol("dy_i/dxhat_i"), dy_dxh, evaluate=False), "."),
    ))

    dxh_dvar = sp.diff(xhat_def(j), var)
    dvar_raw = sp.Sum(dxhat.xreplace({i: j}) * dxh_dvar, (j, 1, m))
    dvar = sp.factor_terms(dvar_raw)
    drafts.append(_Draft(
        B, "Gradient at the variance",
        (L_VAR, sp.Sum(L_XH_J * _d(_xhat_q("j"), _VAR), (j, 1, m)), dvar_raw, dvar),
        long=("sigma^2 feeds every x̂_j, so sum over j; sympy differentiates x̂_j = (x_j - mu)(sigma^2 + epsilon)^(-1/2): ",
              sp.Eq(sp.Symbol("dxhat_j/dsigma^2"), dxh_dvar, evaluate=False),
              ". Constant factors come out of the sum."),
    ))

    dxh_dmu = sp.diff(xhat_def(j), mu)
    dvar_dmu = sp.factor_terms(sp.diff(var_def, mu))
    through_xhat = sp.factor_terms(sp.Sum(dxhat.xreplace({i: j}) * dxh_dmu, (j, 1, m)))
    centred = sp.Sum(x[j] - mu, (j, 1, m))
    centred_split = _split_sums(centred)
    vanishing = _split_sums(dvar_dmu).xreplace({mu: mu_def})
    _require(vanishing == 0 and centred_split.xreplace({mu: mu_def}) == 0, "sum_j (x_j - mu) = 0")
    dmu_full = through_xhat + L_VAR * dvar_dmu
    dmu = through_xhat + dvar * vanishing
    drafts.append(_Draft(
        B, "Gradient at the mean",
        (L_MU,
         sp.Sum(L_XH_J * _d(_xhat_q("j"), _MU), (j, 1, m)) + L_VAR * _d(_VAR, _MU),
         dmu_full, dmu),
        long=("mu feeds every x̂_j and also sigma^2 (σ² = (1/m) Σ (x_j - mu)^2 is written with mu). Sympy gives ",
              sp.Eq(sp.Symbol("dxhat_j/dmu"), dxh_dmu, evaluate=False), " and ",
              sp.Eq(sp.Symbol("dsigma^2/dmu"), dvar_dmu, evaluate=False),
              ". The second path contributes nothing because ",
              sp.Eq(centred, centred_split, evaluate=False),
              " = 0 when mu is the batch mean."),
    ))
    drafts.append(_Draft(
        B, "Why the variance path drops out", (centred, centred_split, sp.Integer(0)), key=False,
        long=("Substituting mu = (1/m) Σ x_j into Σ x_j - m mu gives 0, so dl/dsigma^2 * dsigma^2/dmu = 0.",),
    ))

    dxh_dxi = sp.diff(xhat_def(i), x[i])
    dvar_dxi = _in_range(sp.diff(var_def, x[i]).doit(), i, m)
    dmu_dxi = _in_range(sp.diff(mu_def, x[i]).doit(), i, m)
    _require(not any(e.has(sp.Piecewise) for e in (dvar_dxi, dmu_dxi)), "KroneckerDelta sums resolved")
    dx_labels = (L_XH_I * _d(_xhat_q("i"), _plain_q("x", "i")) + L_VAR * _d(_VAR, _plain_q("x", "i"))
                 + L_MU * _d(_MU, _plain_q("x", "i")))
    dx_paper = L_XH_I * dxh_dxi + L_VAR * dvar_dxi + L_MU * dmu_dxi
    dx = dxhat * dxh_dxi + dvar * dvar_dxi + dmu * dmu_dxi
    drafts.append(_Draft(
        B, "Gradient at the input (standard form)", (L_X_I, dx_labels, dx_paper, dx),
        key_parts=(L_X_I, dx_paper, dx),
        long=("x_i reaches the loss along three paths: directly through x̂_i, through sigma^2 and through mu. "
              "Sympy differentiates the node definitions with respect to x_i (a KroneckerDelta sum over j): ",
              sp.Eq(sp.Symbol("dxhat_i/dx_i"), dxh_dxi, evaluate=False), ", ",
              sp.Eq(sp.Symbol("dsigma^2/dx_i"), dvar_dxi, evaluate=False), " (mu held fixed: its effect is the mu path), ",
              sp.Eq(sp.Symbol("dmu/dx_i"), dmu_dxi, evaluate=False), "."),
    ))

    dgamma = sp.Sum(g[j] * sp.diff(y_def(j), gamma), (j, 1, m))
    dbeta = sp.Sum(g[j] * sp.diff(y_def(j), beta), (j, 1, m))
    drafts.append(_Draft(
        B, "Gradient at the scale",
        (L_GAMMA, sp.Sum(_d(_LOSS_L, _plain_q("y", "j")) * _d(_plain_q("y", "j"), _GAMMA), (j, 1, m)), dgamma),
        long=("gamma feeds every y_j with dy_j/dgamma = x̂_j.",),
    ))
    drafts.append(_Draft(
        B, "Gradient at the shift",
        (L_BETA, sp.Sum(_d(_LOSS_L, _plain_q("y", "j")) * _d(_plain_q("y", "j"), _BETA), (j, 1, m)), dbeta),
        long=("beta feeds every y_j with dy_j/dbeta = 1.",),
    ))

    # --- compact form: write x_j - mu = sqrt(sigma^2 + eps) * xhat_j
    in_xhat = dx.replace(lambda a: isinstance(a, sp.Indexed) and a.base == x, lambda a: mu + s * xh[a.indices[0]])
    in_xhat = _split_sums(in_xhat)
    dx_compact = sp.factor_terms(sp.together(in_xhat))
    textbook = gamma / (m * s) * (m * g[i] - sp.Sum(g[j], (j, 1, m)) - xh[i] * sp.Sum(g[j] * xh[j], (j, 1, m)))
    _require(_is_zero(_split_sums(dx_compact - textbook)), "compact form equals the textbook form")
    drafts.append(_Draft(
        C, "Compact form of dl/dx_i", (L_X_I, in_xhat, dx_compact),
        long=("Use step 'Normalize' backwards, x_j - mu = sqrt(sigma^2 + epsilon) x̂_j, in every term and put "
              "everything over m sqrt(sigma^2 + epsilon). This is the form used in implementations: one pass "
              "computes Σ g_j and Σ g_j x̂_j, then each dl/dx_i is O(1)."),
    ))

    # --- differentiability and the Jacobian (upstream gradient g = e_i picks row i)
    dx_k = dx_compact.xreplace({i: k})
    jac = _in_range(dx_k.replace(lambda a: isinstance(a, sp.Indexed) and a.base == g,
                                 lambda a: sp.KroneckerDelta(a.indices[0], i)).doit(), i, m)
    jac = sp.factor_terms(jac)
    jac_diag = sp.factor_terms(jac.xreplace({k: i}))
    _require(not jac.has(sp.Piecewise), "Jacobian resolved")
    DY = _d(_plain_q("y", "i"), _plain_q("x", "k"))
    DYI = _d(_plain_q("y", "i"), _plain_q("x", "i"))
    why = ("y_i is a composition of differentiable elementary functions: sums and products (mu, sigma^2 are "
           "polynomials in x), t -> t^(-1/2), and an affine map. The only point where t^(-1/2) fails is t = 0, "
           "and sigma^2 + epsilon >= epsilon > 0 because sigma^2 is a mean of squares and epsilon > 0. So by the "
           "chain rule y is differentiable (indeed C-infinity) in x, gamma, beta for every mini-batch, "
           "including one whose values are all equal.")
    drafts.append(_Draft(
        D, "Why batch norm is differentiable", (DYI, jac_diag),
        short=(why,),
        long=(why, " Taking g = e_i (l = y_i) in the compact form gives the Jacobian ",
              sp.Eq(DY, jac, evaluate=False), "; on the diagonal:"),
    ))
    drafts.append(_Draft(
        D, "Full Jacobian", (DY, jac), key=False,
        long=("Off the diagonal (k != i) every x_k still moves y_i through mu and sigma^2.",),
    ))

    # --- verification: differentiate the fully expanded loss at concrete m
    for size in _DERIVE_VERIFY_SIZES:
        for target, formula in (("dx", dx), ("dx", dx_compact), ("dgamma", dgamma), ("dbeta", dbeta)):
            _require(all(_is_zero(d) for d in concrete_differences("bn", target, formula, size)),
                     f"direct derivative at m = {size} ({target})")
    x1 = _d(_LOSS_L, _plain_q("x", "1"), suffix=(" (m = 3)", " (m = 3)", r"\Big|_{m=3}"))
    shown = _instantiate(dx_compact, m, 3, {i: 1}, {g: _syms("g", 3, real=True), xh: tuple(sp.Symbol(f"xhat_{q}", real=True) for q in (1, 2, 3))}, {})
    sizes = ", ".join(str(q) for q in _DERIVE_VERIFY_SIZES)
    drafts.append(_Draft(
        V, "Direct check at concrete m", (x1, shown),
        short=(f"sympy differentiated sum_k g_k y_k(x_1..x_m) directly for m = {sizes}; minus the formulas above "
               "(standard and compact dl/dx_i, dl/dgamma, dl/dbeta) it is exactly 0.",),
        long=(f"Independent of the graph bookkeeping: build y_1..y_m as explicit functions of x_1..x_m for m = {sizes}, "
              "differentiate sum_k g_k y_k (this is the chain rule dl/dx_i = Σ_k dl/dy_k dy_k/dx_i with symbolic "
              "upstream g_k), and subtract the general formulas instantiated at that m. Every difference expands "
              "to 0 (after writing epsilon = s^2 - sigma^2(x), which removes the square root exactly). At m = 3, "
              "i = 1 the compact form reads:",),
    ))

    results = {
        "mu": mu_def, "var": var_def, "xhat": xhat_def(i), "y": y_def(i),
        "dxhat": dxhat, "dvar": dvar, "dmu": dmu, "dx": dx, "dx_compact": dx_compact,
        "dgamma": dgamma, "dbeta": dbeta, "jacobian": jac, "dy_dx_diag": jac_diag,
    }
    return _finish(drafts, explain), results


_BN_CHECKS: tuple[tuple[str, str, str], ...] = (
    ("dxhat", "dxhat", "dl/dxhat_i"),
    ("dvar", "dvar", "dl/dsigma^2"),
    ("dmu", "dmu", "dl/dmu"),
    ("dx", "dx", "dl/dx_i (standard form)"),
    ("dx_compact", "dx", "dl/dx_i (compact form)"),
    ("dgamma", "dgamma", "dl/dgamma"),
    ("dbeta", "dbeta", "dl/dbeta"),
    ("jacobian", "jacobian", "dy_i/dx_k (Jacobian)"),
)


# ---------------------------------------------------------------------------
# Softmax + cross-entropy
# ---------------------------------------------------------------------------

_SM_TITLE = "Softmax and cross-entropy: dL/dz_t = yhat_t - y_t"


def _to_yhat(e: sp.Expr, denom: sp.Expr, yhat_of: Mapping[sp.Expr, sp.Expr] | None = None) -> sp.Expr:
    """Rewrite e^(z_a) / (Σ_j e^(z_j)) as yhat_a, exactly (the normaliser cancels).

    Every e^(c z_a) becomes (yhat_a S)^c and ``denom`` becomes S; after
    cancelling, S must be gone.  ``yhat_of`` maps z_a to yhat_a (default:
    the Indexed z[a] -> yhat[a]).
    """
    S = SOFTMAX
    Ssym = sp.Dummy("S", positive=True)

    def target(arg: sp.Expr) -> sp.Expr | None:
        if yhat_of is not None:
            return yhat_of.get(arg)
        return S.yhat[arg.indices[0]] if isinstance(arg, sp.Indexed) and arg.base == S.z else None

    def swap(a: sp.exp) -> sp.Expr:
        coeff, rest = a.args[0].as_coeff_Mul()
        return (target(rest) * Ssym) ** coeff

    out = e.xreplace({denom: Ssym}).replace(
        lambda a: isinstance(a, sp.exp) and target(a.args[0].as_coeff_Mul()[1]) is not None, swap
    )
    out = sp.factor_terms(sp.cancel(sp.expand(out)))
    _require(not out.has(Ssym), "softmax rewrite cancels the normaliser")
    return out


def _derive_softmax(explain: bool) -> tuple[tuple[Step, ...], dict[str, sp.Expr]]:
    S = SOFTMAX
    n, t, j, k, c = S.n, S.t, S.j, S.k, S.c
    z, y, yh = S.z, S.y, S.yhat
    F, Cc, G, V = "Forward pass", "Concrete case n = 3", "General n", "Verification"
    Lsym = sp.Symbol("L")

    denom = sp.Sum(sp.exp(z[j]), (j, 1, n))

    def softmax_def(a: sp.Expr) -> sp.Expr:
        return sp.exp(z[a]) / denom

    loss_def = -sp.Sum(y[j] * sp.log(yh[j]), (j, 1, n))
    drafts: list[_Draft] = [
        _Draft(F, "Softmax", (yh[k], softmax_def(k)),
               long=("Turn the logits z_1..z_n into probabilities: every yhat_k > 0 and they sum to 1.",)),
        _Draft(F, "Cross-entropy", (Lsym, loss_def),
               long=("y is the target: one-hot y = e_c (then L = -log yhat_c), or any distribution "
                     "(y_k >= 0, Σ y_k = 1, e.g. label smoothing).",)),
    ]

    # --- concrete n = 3: differentiate the fully written-out loss directly
    Z3, Y3 = _syms("z", 3, real=True), _syms("y", 3, real=True)
    den3 = sp.Add(*[sp.exp(q) for q in Z3])
    yhat3 = tuple(sp.exp(q) / den3 for q in Z3)
    loss3 = -sp.Add(*[a * sp.log(b) for a, b in zip(Y3, yhat3)])
    d_raw = sp.diff(loss3, Z3[0])
    yh_syms = tuple(sp.Symbol(f"yhat_{q}", positive=True) for q in (1, 2, 3))
    as_yhat = dict(zip(Z3, yh_syms))
    d_yhat = sp.collect(sp.expand(_to_yhat(d_raw, den3, as_yhat)), yh_syms[0])
    _require(d_yhat == yh_syms[0] * sp.Add(*Y3) - Y3[0], "n = 3: dL/dz_1 = yhat_1 (y_1 + y_2 + y_3) - y_1")
    d_dist = sp.expand(d_yhat.xreplace({Y3[2]: 1 - Y3[0] - Y3[1]}))
    _require(d_dist == yh_syms[0] - Y3[0], "n = 3: y_1 + y_2 + y_3 = 1 gives yhat_1 - y_1")
    dist_diffs = concrete_differences("softmax-ce", "dist", yh[t] - y[t], 3)
    _require(all(_is_zero(d, rational=True) for d in dist_diffs), "n = 3: dL/dz_t = yhat_t - y_t for every t")
    onehot = sp.Matrix([_to_yhat(sp.diff(loss3.xreplace(dict(zip(Y3, (0, 1, 0)))), zq), den3, as_yhat) for zq in Z3])
    _require(onehot == sp.Matrix([yh_syms[0], yh_syms[1] - 1, yh_syms[2]]), "n = 3 one-hot")
    D_Z1 = _d(_LOSS_CE, _plain_q("z", "1"))
    drafts.append(_Draft(
        Cc, "Direct derivative for n = 3", (D_Z1, d_raw, d_yhat, d_dist),
        key_parts=(D_Z1, d_yhat, d_dist),
        short=("sympy differentiates L(z_1, z_2, z_3) directly; y_1 + y_2 + y_3 = 1 gives the last form, "
               "and likewise for z_2, z_3.",),
        long=("Write L(z_1, z_2, z_3) = -(y_1 log yhat_1 + y_2 log yhat_2 + y_3 log yhat_3) with every yhat_k "
              "spelled out in z, and let sympy differentiate it with respect to z_1. Replacing e^(z_k) by "
              "yhat_k (e^(z_1) + e^(z_2) + e^(z_3)) and cancelling gives yhat_1 (y_1 + y_2 + y_3) - y_1; a target "
              "distribution has y_1 + y_2 + y_3 = 1. The same holds for z_2 and z_3 (sympy: the difference "
              "cancels to 0).",),
    ))
    drafts.append(_Draft(
        Cc, "One-hot target for n = 3", (sp.Matrix([_d(_LOSS_CE, _plain_q("z", q)) for q in "123"]), onehot),
        short=("Target y = e_2 = (0, 1, 0): the gradient is yhat - y.",),
        long=("With y = (0, 1, 0) the loss is L = -log yhat_2; sympy's derivative, rewritten in yhat, is "
              "yhat - e_2 componentwise.",),
    ))

    # --- general n through the graph: z -> yhat -> L
    J = sp.diff(softmax_def(k), z[t]).doit()
    J = _in_range(J, t, n)
    jac = _to_yhat(J, denom)
    jac_expected = yh[k] * (sp.KroneckerDelta(k, t) - yh[t])
    _require(_is_zero(sp.expand(jac - jac_expected)), "softmax Jacobian")
    D_YH = _d(_YHAT_K, _plain_q("z", "t"))
    drafts.append(_Draft(
        G, "Softmax Jacobian", (D_YH, J, jac),
        long=("Quotient rule (sympy, through the KroneckerDelta sum in the denominator), then e^(z_k)/Σ_j e^(z_j) "
              "= yhat_k.",),
    ))

    dL_dyh = _in_range(sp.diff(loss_def, yh[k]).doit(), k, n)
    drafts.append(_Draft(
        G, "Gradient at the probabilities", (_d(_LOSS_CE, _YHAT_K), dL_dyh), key=False,
        long=("Only the k-th term of the sum contains yhat_k.",),
    ))
    summand = dL_dyh * jac
    chain_sum = sp.Sum(sp.expand(summand), (k, 1, n))
    weights = _in_range(_split_sums(chain_sum), t, n)
    weights = sp.factor_terms(weights)
    _require(_is_zero(weights - (yh[t] * sp.Sum(y[k], (k, 1, n)) - y[t])), "general weights form")
    D_Z = _d(_LOSS_CE, _plain_q("z", "t"))
    drafts.append(_Draft(
        G, "Chain rule for the logits",
        (D_Z, sp.Sum(_d(_LOSS_CE, _YHAT_K) * D_YH, (k, 1, n)), sp.Sum(summand, (k, 1, n)), weights),
        short=("For any target weights y (not necessarily summing to 1):",),
        long=("z_t affects L through every yhat_j. The yhat_j cancels, the KroneckerDelta picks j = t, and the "
              "other part is yhat_t times the total target mass Σ_j y_j.",),
    ))
    dist = weights.xreplace({sp.Sum(y[k], (k, 1, n)): sp.Integer(1)})
    _require(dist == yh[t] - y[t], "target distribution: yhat_t - y_t")
    drafts.append(_Draft(
        G, "Target distribution (Σ y = 1)", (D_Z, dist),
        long=("Any target distribution has Σ_j y_j = 1 (one-hot, label smoothing, soft labels).",),
    ))
    onehot_general = _in_range(weights.replace(lambda a: isinstance(a, sp.Indexed) and a.base == y,
                                               lambda a: sp.KroneckerDelta(a.indices[0], c)).doit(), c, n)
    _require(onehot_general == yh[t] - sp.KroneckerDelta(c, t), "one-hot: yhat_t - delta_tc")
    drafts.append(_Draft(
        G, "One-hot target (y = e_c)", (D_Z, onehot_general),
        long=("Substitute y_j = delta_jc: Σ_j y_j = 1 again, so the gradient is yhat - e_c: yhat_t - 1 for the "
              "true class and yhat_t elsewhere.",),
    ))

    # --- verification: direct differentiation of the composite in general n
    L_comp = -sp.Sum(y[k] * sp.log(softmax_def(k)), (k, 1, n))
    direct = _in_range(sp.diff(L_comp, z[t]).doit(), t, n)
    direct = _to_yhat(direct, denom)
    _require(_is_zero(_split_sums(sp.expand(direct - weights))), "general-n direct derivative")
    for size in _DERIVE_VERIFY_SIZES:
        for target, formula in (("weights", weights), ("dist", dist), ("onehot", onehot_general), ("jacobian", jac)):
            _require(all(_is_zero(d, rational=True) for d in concrete_differences("softmax-ce", target, formula, size)),
                     f"direct derivative at n = {size} ({target})")
    sizes = ", ".join(str(q) for q in _DERIVE_VERIFY_SIZES)
    drafts.append(_Draft(
        V, "Direct check in general n", (D_Z, direct),
        short=(f"Differentiating L(z) = -Σ_k y_k log softmax_k(z) in one go (sympy, general n) gives the same; so does "
               f"the fully written-out loss for n = {sizes}.",),
        long=("Skip the graph: let sympy differentiate the composite -Σ_k y_k log(e^(z_k)/Σ_j e^(z_j)) with respect "
              f"to z_t for general n. The result is the weights form again. The fully written-out loss for n = {sizes} "
              "also agrees, component by component (the difference cancels to 0).",),
    ))

    results = {"softmax": softmax_def(k), "loss": loss_def, "jacobian": jac, "dL_dyhat": dL_dyh,
               "weights": weights, "dist": dist, "onehot": onehot_general}
    return _finish(drafts, explain), results


_SM_CHECKS: tuple[tuple[str, str, str], ...] = (
    ("jacobian", "jacobian", "dyhat_k/dz_t (softmax Jacobian)"),
    ("weights", "weights", "dL/dz_t = yhat_t*sum(y) - y_t (any weights y)"),
    ("dist", "dist", "dL/dz_t = yhat_t - y_t (y sums to 1)"),
    ("onehot", "onehot", "dL/dz_t = yhat_t - delta_tc (one-hot y)"),
)


# ---------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------


def derive(topic: str, *, check: bool = False, seed: int = 0, explain: bool = False) -> Derivation:
    """Derive ``topic`` ("bn" or "softmax-ce") with sympy.

    ``explain`` keeps every intermediate step and the prose; otherwise only
    the key results.  ``check`` adds finite-difference checks of each derived
    gradient at random points (``seed``), sizes 2..6, 60 digits.
    """
    if topic == "bn":
        steps, results = _derive_bn(explain)
        title, plan = _BN_TITLE, _BN_CHECKS
    elif topic == "softmax-ce":
        steps, results = _derive_softmax(explain)
        title, plan = _SM_TITLE, _SM_CHECKS
    else:
        raise ValueError(f"unknown topic {topic!r}; expected one of {TOPICS}")
    checks: tuple[CheckResult, ...] = ()
    if check:
        checks = tuple(check_formula(topic, target, results[key], seed=seed, name=label) for key, target, label in plan)
    return Derivation(topic=topic, title=title, steps=steps, checks=checks, explain=explain, seed=seed,
                      results=MappingProxyType(results))


def _check_note(d: Derivation) -> str:
    size = "m" if d.topic == "bn" else "n"
    return (f"central finite differences, {CHECK_DPS} significant digits, h = {CHECK_STEP}, seed {d.seed}, "
            f"{size} = {CHECK_SIZES[0]}..{CHECK_SIZES[-1]}, {POINTS_PER_SIZE} random points per size")


def _sections(steps: Sequence[Step]) -> list[tuple[str, list[Step]]]:
    out: list[tuple[str, list[Step]]] = []
    for st in steps:
        if not out or out[-1][0] != st.section:
            out.append((st.section, []))
        out[-1][1].append(st)
    return out


def _render_text(d: Derivation, use_unicode: bool) -> str:
    lines = [d.title, "=" * len(d.title)]
    if d.topic == "bn":
        lines.append("g_i = dl/dy_i is the upstream gradient; i, j, k run over 1..m.")
    else:
        lines.append("z: logits, yhat = softmax(z), y: target; t, j, k run over 1..n.")
    for section, steps in _sections(d.steps):
        lines += ["", section, "-" * len(section)]
        for st in steps:
            lines.append(f"* {st.title}")
            if st.text:
                lines += textwrap.wrap(st.text, 78, initial_indent="  ", subsequent_indent="  ")
            if st.parts:
                lines += ["    " + row if row.strip() else "" for row in st.pretty(use_unicode).splitlines()]
    if d.checks:
        lines += ["", "Checks", "------"]
        lines += textwrap.wrap(_check_note(d), 78, initial_indent="  ", subsequent_indent="  ")
        width = max(len(c.name) for c in d.checks)
        for c in d.checks:
            status = "ok" if c.ok else "FAIL"
            lines.append(f"  {c.name:<{width}}  max |error| = {c.max_abs_error:>8}  ({c.points} points)  {status}")
        lines.append(f"  {'all checks passed' if d.ok else 'SOME CHECKS FAILED'}")
    return "\n".join(lines) + "\n"


def _aligned(parts: Sequence[sp.Basic]) -> str:
    tex = [_tex(p) for p in parts]
    if len(tex) <= 2:
        return " = ".join(tex)
    rows = [f"{tex[0]} &= {tex[1]}"] + [f"&= {t}" for t in tex[2:]]
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def _render_markdown(d: Derivation) -> str:
    out = [f"## {_md_escape(d.title)}", ""]
    for section, steps in _sections(d.steps):
        out += [f"### {section}", ""]
        for st in steps:
            prose = _prose_math(st.prose, _md_escape) if st.text else ""
            out += [f"**{_md_escape(st.title)}.** {prose}".rstrip(), ""]
            if st.parts:
                out += ["$$", _aligned(st.parts), "$$", ""]
    if d.checks:
        out += ["### Checks", "", f"_{_check_note(d)}_", "", "| gradient | max abs error | points | ok |",
                "|---|---|---|---|"]
        out += [f"| `{c.name}` | {c.max_abs_error} | {c.points} | {'yes' if c.ok else '**NO**'} |" for c in d.checks]
        out.append("")
    return "\n".join(out)


def _render_latex(d: Derivation) -> str:
    out = [f"% cnncalc derive {d.topic}", f"\\subsection*{{{_tex_escape(d.title)}}}", ""]
    for section, steps in _sections(d.steps):
        out += [f"\\subsubsection*{{{_tex_escape(section)}}}", ""]
        for st in steps:
            prose = _prose_math(st.prose, _tex_escape) if st.text else ""
            out.append(f"\\paragraph{{{_tex_escape(st.title)}.}} {prose}".rstrip())
            if st.parts:
                out += ["\\begin{equation*}", _aligned(st.parts), "\\end{equation*}"]
            out.append("")
    if d.checks:
        out += [f"\\subsubsection*{{Checks}}", _tex_escape(_check_note(d)) + ".", "",
                "\\begin{tabular}{lrrl}", "gradient & max abs error & points & ok \\\\ \\hline"]
        out += [f"\\texttt{{{_tex_escape(c.name)}}} & {c.max_abs_error} & {c.points} & {'yes' if c.ok else 'NO'} \\\\"
                for c in d.checks]
        out += ["\\end{tabular}", ""]
    return "\n".join(out)


def _render_json(d: Derivation) -> str:
    payload = {
        "topic": d.topic,
        "title": d.title,
        "steps": [{"title": s.title, "text": s.text, "latex": s.expr_latex, "expr": s.expr_text} for s in d.steps],
        "checks": [{"name": c.name, "max_abs_error": c.max_abs_error, "ok": c.ok} for c in d.checks],
        "ok": d.ok,
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def render(d: Derivation, fmt: str, *, use_unicode: bool = False) -> str:
    """Render a derivation as "text" (sympy pretty), "latex", "markdown" ($$ blocks) or "json"."""
    if fmt == "text":
        return _render_text(d, use_unicode)
    if fmt == "latex":
        return _render_latex(d)
    if fmt == "markdown":
        return _render_markdown(d)
    if fmt == "json":
        return _render_json(d)
    raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
