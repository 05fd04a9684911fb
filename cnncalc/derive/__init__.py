"""Symbolic derivations for ``cnncalc derive``: gradients derived with sympy and checked.

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

    @property
    def max_abs_error(self) -> str | None:
        """The largest error over all checks ("nan" if any is NaN), or None without checks."""
        if not self.checks:
            return None
        return _merge("all", self.checks, 0).max_abs_error


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

    def _print_KroneckerDelta(self, e: sp.KroneckerDelta) -> prettyForm:
        if self._use_unicode:
            return super()._print_KroneckerDelta(e)
        return prettyForm(f"delta_{e.args[0]}{e.args[1]}")


class _Str(StrPrinter):
    printmethod = "_cnncalc_str"  # bypass Indexed._sympystr (x[j]): print x_j

    def _print_Indexed(self, e: sp.Indexed) -> str:
        return _indexed_name(e)

    def _print__Label(self, e: "_Label") -> str:
        return e._spell[e.name][0]

    def _print_KroneckerDelta(self, e: sp.KroneckerDelta) -> str:
        return f"delta_{e.args[0]}{e.args[1]}"

    def _print_Equality(self, e: sp.Eq) -> str:
        return f"{self._print(e.lhs)} = {self._print(e.rhs)}"

    def _print_MatrixBase(self, e: sp.MatrixBase) -> str:
        if e.cols == 1:
            return "(" + ", ".join(self._print(a) for a in e) + ")^T"
        return "[" + "; ".join(", ".join(self._print(a) for a in e.row(r)) for r in range(e.rows)) + "]"

    _print_ImmutableDenseMatrix = _print_MatrixBase
    _print_MutableDenseMatrix = _print_MatrixBase

    def _print_Sum(self, e: sp.Sum) -> str:
        body = self._print(e.function)
        if not (e.function.is_Atom or isinstance(e.function, sp.Indexed)):
            body = f"({body})"
        for var, lo, hi in reversed(e.limits):
            body = f"sum_{{{var}={self._print(lo)}..{self._print(hi)}}} {body}"
        return body


def _tex(e: sp.Basic) -> str:
    return LatexPrinter({"order": "none"}).doprint(e)


def _txt(e: sp.Basic) -> str:
    return _Str({"order": "none"}).doprint(e)


def _term_key(term: sp.Basic) -> tuple[int, int, int, int]:
    """Textbook order of a sum's terms: positive before negative, constants and
    the additive epsilon/beta last among the positive ones, then simpler first."""
    negative = term.could_extract_minus_sign()
    trailing = (not negative) and (term.is_number or bool(term.atoms(sp.Symbol) & {BN.eps, BN.beta}))
    return (int(negative), int(trailing), int(sp.count_ops(term)), len(str(term)))


def _display(e: sp.Basic) -> sp.Basic:
    """Rebuild ``e`` (unevaluated) with each sum's terms in textbook order."""
    if isinstance(e, sp.MatrixBase):
        return sp.ImmutableMatrix(e.rows, e.cols, [_display(a) for a in e])
    if not isinstance(e, sp.Basic) or e.is_Atom or isinstance(e, (sp.Indexed, sp.IndexedBase)):
        return e
    args = [_display(a) for a in e.args]
    if e.is_Add:
        if not e.is_commutative:  # a chain of labels, already written in order
            return sp.Add(*args, evaluate=False)
        return sp.Add(*sorted(args, key=_term_key), evaluate=False)
    if e.is_Mul:  # coefficient, size m or n, plain factors, (sums in brackets), then sigma-sums last
        sizes = (BN.m, SOFTMAX.n)

        def rank(a: sp.Basic) -> tuple[bool, bool, bool, bool]:
            is_sum = isinstance(a, sp.Sum)
            return (not a.is_number, a not in sizes, a.is_Add or is_sum, is_sum)

        c_part = sorted((a for a in args if a.is_commutative), key=rank)
        return sp.Mul(*c_part, *(a for a in args if not a.is_commutative), evaluate=False)
    if args == list(e.args):
        return e
    if e.is_Pow or e.is_Relational:
        return e.func(*args, evaluate=False)
    return e.func(*args)


_MAX_WIDTH = 100


def _pretty_chain(parts: Sequence[sp.Basic], use_unicode: bool, max_width: int = _MAX_WIDTH) -> str:
    """Draw ``parts[0] = parts[1] = ...``; one '= part' per row when too wide."""
    printer = _Pretty({"use_unicode": use_unicode, "wrap_line": False, "order": "none"})
    flag = pretty_use_unicode(use_unicode)
    try:
        forms = [printer._print(p) for p in parts]
        out = forms[0]
        for form in forms[1:]:
            out = prettyForm(*out.right(" = ", form))
        if out.width() <= max_width or len(forms) <= 2:
            return out.render(wrap_line=False)
        rows = [prettyForm(*forms[0].right(" = ", forms[1]))]
        pad = " " * forms[0].width()
        rows += [prettyForm(*prettyForm(pad).right(" = ", form)) for form in forms[2:]]
        return "\n".join(r.render(wrap_line=False) for r in rows)
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
    parts = tuple(_display(p) for p in parts)
    prose = tuple(f if isinstance(f, str) else _display(f) for f in prose)
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


def _instantiator(
    formula: sp.Expr,
    size_sym: sp.Symbol,
    size: int,
    bases: Mapping[sp.IndexedBase, Sequence[sp.Expr]],
    scalars: Mapping[sp.Symbol, sp.Expr],
) -> Callable[[Mapping[sp.Symbol, int]], sp.Expr]:
    """Prepare a general-size formula for concrete indices at a concrete size.

    The size is set and the Sums are evaluated once; the returned function
    takes values for the free indices ({i: 2, k: 3}) and replaces ``base[k]`` by
    ``bases[base][k-1]`` and each scalar node by its expression.
    """
    sized = formula.xreplace({size_sym: sp.Integer(size)}).doit()
    table: dict[sp.Basic, sp.Expr] = {base[q]: vals[q - 1] for base, vals in bases.items() for q in range(1, size + 1)}
    table.update(scalars)

    def at(indices: Mapping[sp.Symbol, int] = MappingProxyType({})) -> sp.Expr:
        e = sized.xreplace({sym: sp.Integer(v) for sym, v in indices.items()}) if indices else sized
        if e.has(sp.Sum, sp.Piecewise):
            e = e.doit()
        return e.xreplace(table)

    return at


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


Binding = tuple[sp.Symbol, sp.Expr]
_Compiled = Callable[[list], "mpmath.mpf"]


def _compile(e: sp.Basic, slots: Mapping[sp.Basic, int]) -> _Compiled:
    """Turn a sympy tree into nested closures over a value list (no code generation)."""
    if e in slots:
        k = slots[e]
        return lambda v: v[k]
    if e.is_Rational:
        p, q = int(e.p), int(e.q)
        return (lambda v: mpmath.mpf(p)) if q == 1 else (lambda v: mpmath.mpf(p) / q)
    if e.is_Add:
        terms = [_compile(a, slots) for a in e.args]
        return lambda v: mpmath.fsum([t(v) for t in terms])
    if e.is_Mul:
        first, *rest = [_compile(a, slots) for a in e.args]

        def mul(v: list) -> mpmath.mpf:
            r = first(v)
            for fn in rest:
                r = r * fn(v)
            return r

        return mul
    if e.is_Pow:
        base, ex = _compile(e.base, slots), e.exp
        if ex.is_Integer:
            n = int(ex)
            return lambda v: base(v) ** n
        if ex == sp.S.Half:
            return lambda v: mpmath.sqrt(base(v))
        power = _compile(ex, slots)
        return lambda v: mpmath.power(base(v), power(v))
    if isinstance(e, (sp.exp, sp.log)):
        arg, fn = _compile(e.args[0], slots), (mpmath.exp if isinstance(e, sp.exp) else mpmath.log)
        return lambda v: fn(arg(v))
    raise TypeError(f"cannot evaluate {type(e).__name__}: {_txt(e)}")


def _program(
    exprs: Sequence[sp.Expr],
    variables: Sequence[sp.Symbol],
    values: Mapping[sp.Symbol, Number],
    bindings: Sequence[Binding],
) -> Callable[[Sequence[mpmath.mpf]], list[mpmath.mpf]]:
    """Compile ``exprs`` into point -> values; bindings are evaluated first, in order."""
    fixed_syms, raw = tuple(values), tuple(values.values())
    order = (*variables, *fixed_syms, *(sym for sym, _ in bindings))
    if len(set(order)) != len(order):
        raise ValueError("a symbol is both a variable, a fixed value or a node")
    slots: dict[sp.Basic, int] = {s: k for k, s in enumerate((*variables, *fixed_syms))}
    steps: list[_Compiled] = []
    for sym, definition in bindings:
        steps.append(_compile(definition, slots))
        slots[sym] = len(slots)
    outs = [_compile(e, slots) for e in exprs]
    converted: dict[int, list[mpmath.mpf]] = {}

    def run(point: Sequence[mpmath.mpf]) -> list[mpmath.mpf]:
        prec = mpmath.mp.prec
        if prec not in converted:
            converted[prec] = [_to_mpf(x) for x in raw]
        vals = [_to_mpf(x) for x in point] + converted[prec]
        for step in steps:
            vals.append(step(vals))
        return [out(vals) for out in outs]

    return run


def numeric(
    expr: sp.Expr,
    variables: Sequence[sp.Symbol],
    values: Mapping[sp.Symbol, Number] | None = None,
    bindings: Sequence[Binding] = (),
) -> ScalarFn:
    """Compile ``expr`` into ``f(point)`` for :func:`check_gradient`.

    ``variables`` take the point's coordinates, ``values`` fix the other
    symbols, and ``bindings`` ``(node, definition)`` are evaluated in order
    first, so graph nodes are recomputed at every perturbed point.  The
    sympy tree is turned into plain closures evaluated with mpmath at the
    caller's precision.
    """
    run = _program((expr,), tuple(variables), dict(values or {}), tuple(bindings))
    return lambda point: run(point)[0]


def _numeric_vector(
    exprs: Sequence[sp.Expr], variables: Sequence[sp.Symbol], values: Mapping[sp.Symbol, Number], bindings: Sequence[Binding]
) -> VectorFn:
    return _program(tuple(exprs), tuple(variables), dict(values), tuple(bindings))


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
                if not mpmath.isnan(worst) and (mpmath.isnan(err) or err > worst):
                    worst = err  # a NaN, once seen, is kept
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

    prepared = _instantiator(formula, S.m, m, {S.x: X, S.g: G, S.xhat: XH}, {S.mu: MU, S.var: VAR})

    def inst(**idx: int) -> sp.Expr:
        return prepared({getattr(S, n): v for n, v in idx.items()})

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

    prepared = _instantiator(formula, S.n, n, {S.z: Z, S.y: targets, S.yhat: YH}, {})

    def inst(**idx: int) -> sp.Expr:
        return prepared({getattr(S, k): v for k, v in idx.items()})

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
            key = cls if (topic, target) == ("softmax-ce", "onehot") else 0  # only one-hot depends on the class
            if key not in built:
                built[key] = _bn_cases(target, formula, size) if topic == "bn" else _sm_cases(target, formula, size, cls)
            for case in built[key]:
                fixed = {s: v for s, v in vals.items() if s not in case.variables}
                with mpmath.workdps(CHECK_DPS):
                    at = _program(case.at, (), vals, ())(())
                results.append(check_gradient(
                    numeric(case.f, case.variables, fixed, case.bindings),
                    _numeric_vector(case.grad, case.variables, fixed, case.bindings),
                    [at], name=label,
                ))
    return _merge(label, results, points=len(sizes) * points_per_size)


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
        for q, (v, gformula) in enumerate(zip(case.variables, case.grad), 1):
            if component is not None and q != component:
                continue
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

    def eq(lhs: sp.Basic, rhs: sp.Basic) -> sp.Eq:
        return sp.Eq(lhs, rhs, evaluate=False)

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
               long=("Average the m values ", x[1], ", ..., ", sp.Indexed(x, m), " of the mini-batch.")),
        _Draft(F, "Mini-batch variance", (var, var_def),
               long=("The biased (1/m) variance around the batch mean. It is a mean of squares, so ",
                     sp.Ge(var, 0, evaluate=False), ".")),
        _Draft(F, "Normalize", (xh[i], xhat_def(i)),
               long=("Centre and scale each value. Because ", sp.Gt(eps, 0, evaluate=False),
                     ", the denominator is at least ", sp.sqrt(eps), ", so it is never 0.")),
        _Draft(F, "Scale and shift", (yi, y_def(i)),
               long=("Apply the learned scale ", gamma, " and shift ", beta, ". The loss l depends on x only "
                     "through ", sp.Indexed(S.y, 1), ", ..., ", sp.Indexed(S.y, m), ", and the upstream gradients ",
                     eq(g[i], _d(_LOSS_L, _plain_q("y", "i"))), " are given.")),
    ]

    # --- backward pass: reverse-mode chain rule, every local partial by sympy.diff
    L_XH_I, L_XH_J = _d(_LOSS_L, _xhat_q("i")), _d(_LOSS_L, _xhat_q("j"))
    L_Y_I, L_Y_J = _d(_LOSS_L, _plain_q("y", "i")), _d(_LOSS_L, _plain_q("y", "j"))
    L_VAR, L_MU = _d(_LOSS_L, _VAR), _d(_LOSS_L, _MU)
    L_X_I, L_GAMMA, L_BETA = _d(_LOSS_L, _plain_q("x", "i")), _d(_LOSS_L, _GAMMA), _d(_LOSS_L, _BETA)
    Y_XH = _d(_plain_q("y", "i"), _xhat_q("i"))
    XH_VAR, XH_MU = _d(_xhat_q("j"), _VAR), _d(_xhat_q("j"), _MU)
    VAR_MU = _d(_VAR, _MU)
    XH_X, VAR_X, MU_X = (_d(_xhat_q("i"), _plain_q("x", "i")), _d(_VAR, _plain_q("x", "i")),
                         _d(_MU, _plain_q("x", "i")))

    dy_dxh = sp.diff(y_def(i), xh[i])
    dxhat = g[i] * dy_dxh
    _require(dxhat == gamma * g[i], "dl/dxhat_i = gamma g_i")
    drafts.append(_Draft(
        B, "Gradient at the normalized value",
        (L_XH_I, L_Y_I * Y_XH, g[i] * sp.UnevaluatedExpr(dy_dxh), dxhat),
        long=("Reverse-mode chain rule: the gradient at a node is the sum, over the nodes it feeds, of "
              "(gradient at that node) times (local partial derivative). ", xh[i], " feeds only ", yi,
              ", and differentiating the definition of ", yi, " gives ", eq(Y_XH, dy_dxh), "."),
    ))

    dxh_dvar = sp.diff(xhat_def(j), var)
    dvar_raw = sp.Sum(dxhat.xreplace({i: j}) * dxh_dvar, (j, 1, m))
    dvar = sp.factor_terms(dvar_raw)
    drafts.append(_Draft(
        B, "Gradient at the variance",
        (L_VAR, sp.Sum(L_XH_J * XH_VAR, (j, 1, m)), dvar_raw, dvar),
        long=(var, " feeds every ", xh[j], ", so the chain rule sums over j. Differentiating ",
              eq(xh[j], xhat_def(j)), " with respect to ", var, " gives ", eq(XH_VAR, dxh_dvar),
              ". Then the factors that do not depend on j come out of the sum."),
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
        (L_MU, sp.Add(sp.Sum(L_XH_J * XH_MU, (j, 1, m)), L_VAR * VAR_MU, evaluate=False), dmu_full, dmu),
        long=(mu, " feeds every ", xh[j], " and also ", var, ", because the variance is written with ", mu,
              ". The local partials are ", eq(XH_MU, dxh_dmu), " and ", eq(VAR_MU, dvar_dmu),
              ". The second path contributes nothing: ", eq(centred, centred_split),
              ", and this is 0 because ", mu, " is the batch mean (next step)."),
    ))
    drafts.append(_Draft(
        B, "Why the variance path drops out", (centred, centred_split, sp.Integer(0)), key=False,
        long=("Substitute ", eq(mu, mu_def), " into the right-hand side. The two sums cancel, so ",
              L_VAR * VAR_MU, " = 0 and only the direct path through the ", xh[j], " is left."),
    ))

    dxh_dxi = sp.diff(xhat_def(i), x[i])
    dvar_dxi = sp.factor_terms(_in_range(sp.diff(var_def, x[i]).doit(), i, m))
    dmu_dxi = _in_range(sp.diff(mu_def, x[i]).doit(), i, m)
    _require(not any(e.has(sp.Piecewise) for e in (dvar_dxi, dmu_dxi)), "KroneckerDelta sums resolved")
    dx_labels = sp.Add(L_XH_I * XH_X, L_VAR * VAR_X, L_MU * MU_X, evaluate=False)
    dx_paper = sp.Add(L_XH_I * dxh_dxi, L_VAR * dvar_dxi, L_MU * dmu_dxi, evaluate=False)
    dx = dxhat * dxh_dxi + dvar * dvar_dxi + dmu * dmu_dxi
    drafts.append(_Draft(
        B, "Gradient at the input (standard form)", (L_X_I, dx_labels, dx_paper, dx),
        key_parts=(L_X_I, dx_paper, dx),
        long=(x[i], " reaches the loss along three paths: through ", xh[i], ", through ", var,
              " and through ", mu, ". Differentiating the node definitions with respect to ", x[i],
              " (the sums over j collapse to their j = i term) gives ", eq(XH_X, dxh_dxi), ", ",
              eq(VAR_X, dvar_dxi), " (with ", mu, " held fixed, because its effect is the path through ", mu,
              ") and ", eq(MU_X, dmu_dxi), ". Then substitute the three gradients found above."),
    ))

    dgamma = sp.Sum(g[j] * sp.diff(y_def(j), gamma), (j, 1, m))
    dbeta = sp.Sum(g[j] * sp.diff(y_def(j), beta), (j, 1, m))
    Y_GAMMA, Y_BETA = _d(_plain_q("y", "j"), _GAMMA), _d(_plain_q("y", "j"), _BETA)
    drafts.append(_Draft(
        B, "Gradient at the scale", (L_GAMMA, sp.Sum(L_Y_J * Y_GAMMA, (j, 1, m)), dgamma),
        long=(gamma, " feeds every ", sp.Indexed(S.y, j), ", with ", eq(Y_GAMMA, sp.diff(y_def(j), gamma)), "."),
    ))
    drafts.append(_Draft(
        B, "Gradient at the shift", (L_BETA, sp.Sum(L_Y_J * Y_BETA, (j, 1, m)), dbeta),
        long=(beta, " feeds every ", sp.Indexed(S.y, j), ", with ", eq(Y_BETA, sp.diff(y_def(j), beta)), "."),
    ))

    # --- compact form: write x_j - mu = sqrt(sigma^2 + eps) * xhat_j
    in_xhat = dx.replace(lambda a: isinstance(a, sp.Indexed) and a.base == x, lambda a: mu + s * xh[a.indices[0]])
    in_xhat = _split_sums(in_xhat)
    dx_compact = sp.factor_terms(sp.together(in_xhat))
    textbook = gamma / (m * s) * (m * g[i] - sp.Sum(g[j], (j, 1, m)) - xh[i] * sp.Sum(g[j] * xh[j], (j, 1, m)))
    _require(_is_zero(_split_sums(dx_compact - textbook)), "compact form equals the textbook form")
    drafts.append(_Draft(
        C, "Compact form of dl/dx_i", (L_X_I, in_xhat, dx_compact),
        long=("Run the 'Normalize' step backwards: ", eq(x[j] - mu, s * xh[j]),
              ". Substitute this into every term, then put everything over ", m * s,
              ". This is the form implementations use: one pass over the batch computes ",
              sp.Sum(g[j], (j, 1, m)), " and ", sp.Sum(g[j] * xh[j], (j, 1, m)), ", and then each ", L_X_I,
              " costs O(1)."),
    ))

    # --- differentiability and the Jacobian: upstream g = e_i (l = y_i) picks row i
    jac = dx_compact.xreplace({i: k}).replace(lambda a: isinstance(a, sp.Indexed) and a.base == g,
                                              lambda a: sp.KroneckerDelta(a.indices[0], i))
    jac = sp.factor_terms(_in_range(jac.doit(), i, m))
    jac_diag = sp.factor_terms(jac.xreplace({k: i}))
    _require(not jac.has(sp.Piecewise), "Jacobian resolved")
    DY, DYI = _d(_plain_q("y", "i"), _plain_q("x", "k")), _d(_plain_q("y", "i"), _plain_q("x", "i"))
    why: tuple[Fragment, ...] = (
        "Every y_i is a composition of differentiable elementary functions: sums and products (", mu, " and ",
        var, " are polynomials in x), the map t -> t^(-1/2), and an affine map. The map t -> t^(-1/2) is "
        "differentiable for every t > 0, and here ", sp.Ge(var + eps, eps, evaluate=False), " > 0, because ",
        var, " is a mean of squares and ", sp.Gt(eps, 0, evaluate=False),
        ". By the chain rule, y is therefore differentiable (in fact infinitely often) in x, ", gamma, " and ",
        beta, " for every mini-batch, even one whose values are all equal. Without ", eps,
        " that batch would give 0/0.")
    drafts.append(_Draft(
        D, "Why batch norm is differentiable", (DYI, jac_diag),
        short=why,
        long=why + (" To get the Jacobian, put g = e_i (that is, l = y_i) into the compact form: ",
                    eq(DY, jac), ". Its diagonal entries are:"),
    ))
    drafts.append(_Draft(
        D, "Full Jacobian", (DY, jac), key=False,
        long=("Even off the diagonal (k != i), ", sp.Indexed(x, k), " still moves ", yi, " through ", mu,
              " and ", var, ". So the Jacobian is dense, not diagonal."),
    ))

    # --- verification: differentiate the fully expanded loss at concrete m
    for size in _DERIVE_VERIFY_SIZES:
        for target, formula in (("dx", dx), ("dx", dx_compact), ("dgamma", dgamma), ("dbeta", dbeta),
                                ("jacobian", jac)):
            _require(all(_is_zero(d) for d in concrete_differences("bn", target, formula, size)),
                     f"direct derivative at m = {size} ({target})")
    x1 = _d(_LOSS_L, _plain_q("x", "1"), suffix=(" (m = 3)", " (m = 3)", r"\Big|_{m=3}"))
    shown = _instantiator(dx_compact, m, 3, {g: _syms("g", 3, real=True), xh: _syms("xhat", 3, real=True)}, {})({i: 1})
    sizes = " and ".join(str(q) for q in _DERIVE_VERIFY_SIZES)
    drafts.append(_Draft(
        V, "Direct check at concrete m", (x1, shown),
        short=(f"For m = {sizes}, sympy also differentiated sum_k g_k y_k(x_1, ..., x_m) directly. Subtracting "
               "the formulas above (dl/dx_i in both forms, dl/dgamma, dl/dbeta, dy_i/dx_k) leaves exactly 0.",),
        long=(f"As a check that does not rely on the graph bookkeeping, write y_1, ..., y_m out as explicit "
              f"functions of x_1, ..., x_m for m = {sizes}. Differentiating sum_k g_k y_k is the chain rule "
              "dl/dx_i = sum_k (dl/dy_k)(dy_k/dx_i) with symbolic upstream g_k. Subtract the general formulas "
              "evaluated at that m. Every difference expands to exactly 0 once epsilon is written as "
              "s^2 - sigma^2(x), a substitution that removes the square root exactly. For m = 3 and i = 1, "
              "the compact form reads:",),
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

    def eq(lhs: sp.Basic, rhs: sp.Basic) -> sp.Eq:
        return sp.Eq(lhs, rhs, evaluate=False)

    sum_y = sp.Sum(y[k], (k, 1, n))
    loss_def = -sp.Sum(y[j] * sp.log(yh[j]), (j, 1, n))
    drafts: list[_Draft] = [
        _Draft(F, "Softmax", (yh[k], softmax_def(k)),
               long=("Softmax turns the logits ", z[1], ", ..., ", sp.Indexed(z, n), " into probabilities: every ",
                     sp.Gt(yh[k], 0, evaluate=False), " and they sum to 1.")),
        _Draft(F, "Cross-entropy", (Lsym, loss_def),
               long=("Here y is the target. It can be one-hot, y = e_c, in which case ", eq(Lsym, -sp.log(yh[c])),
                     ". It can also be any distribution (", sp.Ge(y[k], 0, evaluate=False), " and ",
                     eq(sum_y, 1), "), for example a label-smoothed target.")),
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
        short=("sympy differentiates L(z_1, z_2, z_3) directly. Because y_1 + y_2 + y_3 = 1, this reduces "
               "to the last form, and the same happens for z_2 and z_3.",),
        long=("Write L(z_1, z_2, z_3) = -(y_1 log yhat_1 + y_2 log yhat_2 + y_3 log yhat_3), with every yhat_k "
              "spelled out in terms of z, and let sympy differentiate it with respect to z_1. Next, replace "
              "exp(z_k) by yhat_k (exp(z_1) + exp(z_2) + exp(z_3)) and cancel. This gives "
              "yhat_1 (y_1 + y_2 + y_3) - y_1. A target distribution has y_1 + y_2 + y_3 = 1, which leaves "
              "yhat_1 - y_1. The same holds for z_2 and z_3 (sympy: the difference cancels to 0).",),
    ))
    drafts.append(_Draft(
        Cc, "One-hot target for n = 3", (sp.Matrix([_d(_LOSS_CE, _plain_q("z", q)) for q in "123"]), onehot),
        short=("For the target y = e_2 = (0, 1, 0), the gradient is yhat - y.",),
        long=("With y = (0, 1, 0) the loss is L = -log yhat_2. Sympy's derivative, rewritten in terms of yhat, "
              "is yhat - e_2, component by component.",),
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
        long=("Apply the quotient rule (sympy differentiates the sum in the denominator term by term; only "
              "j = t survives). Then rewrite ", eq(softmax_def(k), yh[k]), "."),
    ))

    dL_dyh = _in_range(sp.diff(loss_def, yh[k]).doit(), k, n)
    drafts.append(_Draft(
        G, "Gradient at the probabilities", (_d(_LOSS_CE, _YHAT_K), dL_dyh), key=False,
        long=("Only the k-th term of the sum contains ", yh[k], ".")
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
        short=("For any target weights y (they need not sum to 1):",),
        long=(z[t], " affects L through every ", yh[k], ", so the chain rule sums over k. In each term the ", yh[k],
              " cancels. The Kronecker delta keeps only k = t, and the rest is ", yh[t],
              " times the total target mass ", sum_y, "."),
    ))
    dist = weights.xreplace({sp.Sum(y[k], (k, 1, n)): sp.Integer(1)})
    _require(dist == yh[t] - y[t], "target distribution: yhat_t - y_t")
    drafts.append(_Draft(
        G, "Target distribution (the y_k sum to 1)", (D_Z, dist),
        long=("Any target distribution has ", eq(sum_y, 1), " (one-hot, label-smoothed or soft labels), so the "
              "total mass drops out."),
    ))
    onehot_general = _in_range(weights.replace(lambda a: isinstance(a, sp.Indexed) and a.base == y,
                                               lambda a: sp.KroneckerDelta(a.indices[0], c)).doit(), c, n)
    _require(onehot_general == yh[t] - sp.KroneckerDelta(c, t), "one-hot: yhat_t - delta_tc")
    drafts.append(_Draft(
        G, "One-hot target (y = e_c)", (D_Z, onehot_general),
        long=("Substitute ", eq(y[k], sp.KroneckerDelta(k, c)), " into the weights form; again ", eq(sum_y, 1),
              ". The gradient is yhat - e_c: ", yh[t] - 1, " for the true class t = c, and ", yh[t],
              " for every other class."),
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
    sizes = " and ".join(str(q) for q in _DERIVE_VERIFY_SIZES)
    drafts.append(_Draft(
        V, "Direct check in general n", (D_Z, direct),
        short=("Differentiating the composite L(z) in one go (sympy, general n) gives the same result. So does "
               f"the fully written-out loss for n = {sizes}.",),
        long=("Now skip the graph: let sympy differentiate the composite ", eq(Lsym, L_comp),
              " with respect to ", z[t], " for general n. The result is the weights form again. The fully "
              f"written-out loss for n = {sizes} also agrees, component by component (the difference cancels "
              "to 0).",),
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


def _sections(steps: Sequence[Step]) -> list[tuple[str, list[tuple[int, Step]]]]:
    """Group consecutive steps by section, numbering the steps 1, 2, ... throughout."""
    out: list[tuple[str, list[tuple[int, Step]]]] = []
    for number, st in enumerate(steps, 1):
        if not out or out[-1][0] != st.section:
            out.append((st.section, []))
        out[-1][1].append((number, st))
    return out


def _render_text(d: Derivation, use_unicode: bool) -> str:
    lines = [d.title, "=" * len(d.title)]
    if d.topic == "bn":
        lines.append("g_i = dl/dy_i is the upstream gradient; i, j, k run over 1..m.")
    else:
        lines.append("z: logits, yhat = softmax(z), y: target; t, j, k run over 1..n.")
    for section, steps in _sections(d.steps):
        lines += ["", section, "-" * len(section)]
        for number, st in steps:
            lines.append(f"{number}. {st.title}")
            if st.text:
                lines += textwrap.wrap(st.text, 78, initial_indent="  ", subsequent_indent="  ")
            if st.parts:
                lines += [("    " + row).rstrip() for row in st.pretty(use_unicode).splitlines()]
    if d.checks:
        lines += ["", "Checks", "------"]
        lines += textwrap.wrap(_check_note(d), 78, initial_indent="  ", subsequent_indent="  ")
        width = max(len(c.name) for c in d.checks)
        for c in d.checks:
            status = "ok" if c.ok else "FAIL"
            lines.append(f"  {c.name:<{width}}  max |error| = {c.max_abs_error:>8}  ({c.points} points)  {status}")
        verdict = "all checks passed" if d.ok else "SOME CHECKS FAILED"
        lines.append(f"  largest error {d.max_abs_error} (tolerance {d.checks[0].tolerance}): {verdict}")
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
        for number, st in steps:
            prose = _prose_math(st.prose, _md_escape) if st.text else ""
            out += [f"**{number}. {_md_escape(st.title)}.** {prose}".rstrip(), ""]
            if st.parts:
                out += ["$$", _aligned(st.parts), "$$", ""]
    if d.checks:
        out += ["### Checks", "", f"_{_check_note(d)}_", "", "| gradient | max abs error | points | ok |",
                "|---|---|---|---|"]
        out += [f"| `{c.name}` | {c.max_abs_error} | {c.points} | {'yes' if c.ok else '**NO**'} |" for c in d.checks]
        out += ["", f"Largest error: {d.max_abs_error} ({'all checks passed' if d.ok else 'SOME CHECKS FAILED'}).", ""]
    return "\n".join(out)


def _render_latex(d: Derivation) -> str:
    out = [f"% cnncalc derive {d.topic}", f"\\subsection*{{{_tex_escape(d.title)}}}", ""]
    for section, steps in _sections(d.steps):
        out += [f"\\subsubsection*{{{_tex_escape(section)}}}", ""]
        for number, st in steps:
            prose = _prose_math(st.prose, _tex_escape) if st.text else ""
            out.append(f"\\paragraph{{{number}. {_tex_escape(st.title)}.}} {prose}".rstrip())
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
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


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
