"""The symbols of the derivations, and display-only labels such as dl/dx_i.

:data:`BN` and :data:`SOFTMAX` hold the general-size symbols (size, indices,
indexed bases, scalars) in which every formula is written; :func:`concrete`
makes the numbered symbols x_1, ..., x_m of a concrete size.  A
:class:`PartialLabel` names a partial derivative in a chain; it carries its
ASCII, Unicode and LaTeX spellings and never enters the calculus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import sympy as sp

__all__ = [
    "BETA",
    "BN",
    "GAMMA",
    "LOSS_CE",
    "LOSS_L",
    "MU",
    "SOFTMAX",
    "VAR",
    "YHAT_K",
    "BNSymbols",
    "PartialLabel",
    "SoftmaxSymbols",
    "Spelling",
    "concrete",
    "partial",
    "plain",
    "xhat",
]


def _pos_int(name: str) -> sp.Symbol:
    return sp.Symbol(name, integer=True, positive=True)


@dataclass(frozen=True)
class BNSymbols:
    """Symbols of the batch-norm derivation (general mini-batch size m)."""

    m: sp.Symbol
    i: sp.Symbol
    j: sp.Symbol
    k: sp.Symbol
    x: sp.IndexedBase
    xhat: sp.IndexedBase
    y: sp.IndexedBase
    g: sp.IndexedBase
    mu: sp.Symbol
    var: sp.Symbol
    eps: sp.Symbol
    gamma: sp.Symbol
    beta: sp.Symbol


@dataclass(frozen=True)
class SoftmaxSymbols:
    """Symbols of the softmax/cross-entropy derivation (n classes)."""

    n: sp.Symbol
    t: sp.Symbol
    j: sp.Symbol
    k: sp.Symbol
    c: sp.Symbol
    z: sp.IndexedBase
    y: sp.IndexedBase
    yhat: sp.IndexedBase


BN = BNSymbols(
    m=_pos_int("m"),
    i=_pos_int("i"),
    j=_pos_int("j"),
    k=_pos_int("k"),
    x=sp.IndexedBase("x", real=True),
    xhat=sp.IndexedBase("xhat", real=True),
    y=sp.IndexedBase("y", real=True),
    g=sp.IndexedBase("g", real=True),
    mu=sp.Symbol("mu", real=True),
    var=sp.Symbol("sigma^2", nonnegative=True),
    eps=sp.Symbol("epsilon", positive=True),
    gamma=sp.Symbol("gamma", real=True),
    beta=sp.Symbol("beta", real=True),
)
SOFTMAX = SoftmaxSymbols(
    n=_pos_int("n"),
    t=_pos_int("t"),
    j=_pos_int("j"),
    k=_pos_int("k"),
    c=_pos_int("c"),
    z=sp.IndexedBase("z", real=True),
    y=sp.IndexedBase("y", real=True),
    yhat=sp.IndexedBase("yhat", positive=True),
)


def concrete(stem: str, size: int, **assumptions: bool) -> tuple[sp.Symbol, ...]:
    """The numbered symbols ``stem_1, ..., stem_size`` of a concrete size."""
    return tuple(sp.Symbol(f"{stem}_{k}", **assumptions) for k in range(1, size + 1))


# --- display-only labels -----------------------------------------------------


class Spelling(NamedTuple):
    """How a quantity is written in plain text, Unicode and LaTeX."""

    ascii: str
    unicode: str
    latex: str


# Labels are sympy symbols, which sympy caches by name: the spellings are kept by name too.
_SPELLINGS: dict[str, Spelling] = {}


class PartialLabel(sp.Symbol):  # type: ignore[misc]  # sympy is untyped
    """A display-only symbol such as dl/dx_i, named by its ASCII spelling.

    Labels are non-commutative so that products keep the written order
    (dl/dxhat_j * dxhat_j/dsigma^2).  They never enter the calculus.
    """

    def __new__(cls, spelling: Spelling) -> PartialLabel:
        label: PartialLabel = super().__new__(cls, spelling.ascii, commutative=False)
        _SPELLINGS[spelling.ascii] = spelling
        return label

    @property
    def spelling(self) -> Spelling:
        """The label's ASCII, Unicode and LaTeX spellings."""
        return _SPELLINGS[self.name]


_SUB = {"i": "ᵢ", "j": "ⱼ", "k": "ₖ", "t": "ₜ", "1": "₁", "2": "₂", "3": "₃", "c": "c"}


def xhat(ix: str) -> Spelling:
    """xhat with the subscript ``ix``."""
    return Spelling(f"xhat_{ix}", f"x\u0302{_SUB[ix]}", rf"\hat{{x}}_{{{ix}}}")


def plain(base: str, ix: str) -> Spelling:
    """A one-letter ``base`` with the subscript ``ix``."""
    return Spelling(f"{base}_{ix}", f"{base}{_SUB[ix]}", f"{base}_{{{ix}}}")


LOSS_L = Spelling("l", "l", "l")
LOSS_CE = Spelling("L", "L", "L")
MU = Spelling("mu", "μ", r"\mu")
VAR = Spelling("sigma^2", "σ²", r"\sigma^{2}")
GAMMA = Spelling("gamma", "γ", r"\gamma")
BETA = Spelling("beta", "β", r"\beta")
YHAT_K = Spelling("yhat_k", "y\u0302ₖ", r"\hat{y}_{k}")


def partial(num: Spelling, den: Spelling, *, suffix: Spelling | None = None) -> PartialLabel:
    """The label d(num)/d(den), with an optional ``suffix`` such as " (m = 3)"."""
    sa, su, st = suffix if suffix else ("", "", "")
    return PartialLabel(Spelling(
        f"d{num.ascii}/d{den.ascii}{sa}",
        f"∂{num.unicode}/∂{den.unicode}{su}",
        rf"\frac{{\partial {num.latex}}}{{\partial {den.latex}}}{st}",
    ))
