"""Sympy helpers shared by the derivations: sums, zero tests, instantiation, self-checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import sympy as sp

from cnncalc.errors import NoAnswerError

__all__ = ["Binding", "expand_nodes", "in_range", "instantiator", "is_zero", "require", "split_sums"]

#: A graph node and its definition in terms of earlier nodes and the inputs.
Binding = tuple[sp.Symbol, sp.Expr]


def require(cond: bool, what: str) -> None:
    """Stop when a derivation disagrees with its own independent check.

    Such a derivation has no trustworthy answer (for example a sympy version
    that simplifies differently): :class:`NoAnswerError`, like a failed
    ``--check``.
    """
    if not cond:
        raise NoAnswerError(f"derivation self-check failed: {what}")


def in_range(e: sp.Basic, idx: sp.Symbol, upper: sp.Symbol) -> sp.Basic:
    """Resolve the Piecewise that a KroneckerDelta sum leaves behind.

    ``Sum(f(j)*KroneckerDelta(i, j), (j, 1, m))`` evaluates to
    ``Piecewise((f(i), i <= m), (0, True))``; the index ranges over 1..m by
    definition, so the condition is true.
    """
    return e.xreplace({sp.Le(idx, upper): sp.true, sp.Ge(upper, idx): sp.true})


def split_sums(e: sp.Basic) -> sp.Basic:
    """Expand each Sum's summand, split it term by term, pull out constants, evaluate."""

    def split(s: sp.Sum) -> sp.Expr:
        body = sp.expand(s.function)
        return sp.Add(*[sp.factor_terms(sp.Sum(t, *s.limits)).doit() for t in sp.Add.make_args(body)])

    return e.replace(lambda a: isinstance(a, sp.Sum), split)


def is_zero(e: sp.Expr, *, rational: bool = False) -> bool:
    """Exact zero test: expand (polynomial in the symbols), else cancel."""
    if not rational and sp.expand(e) == 0:
        return True
    return bool(sp.cancel(sp.together(e)) == 0)


def expand_nodes(e: sp.Expr, bindings: Sequence[Binding]) -> sp.Expr:
    """``e`` with every graph node replaced by its definition."""
    for sym, definition in reversed(bindings):  # later nodes may use earlier ones
        e = e.xreplace({sym: definition})
    return e


def instantiator(
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
