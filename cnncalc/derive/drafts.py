"""From drafts to steps: the explain/compact choice and the textbook order of terms.

A derivation writes every step as a :class:`Draft` with both its long and
its short form; :func:`finish` keeps what the chosen mode shows and puts each
sum's terms and each product's factors in the order a textbook writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import sympy as sp

from cnncalc.derive.model import Fragment, Step

__all__ = ["Draft", "Layout", "display", "eq", "finish"]


def eq(lhs: sp.Basic, rhs: sp.Basic) -> sp.Eq:
    """The equation lhs = rhs, as written (not evaluated)."""
    return sp.Eq(lhs, rhs, evaluate=False)


class Layout(NamedTuple):
    """What a derivation's textbook order needs to know about its symbols."""

    size: sp.Symbol  # the size (m, n): written right after a product's numeric coefficient
    trailing: frozenset[sp.Symbol] = frozenset()  # additive constants (epsilon, beta): last of the positive terms


def _term_key(term: sp.Basic, layout: Layout) -> tuple[int, int, int, int]:
    """Textbook order of a sum's terms: positive before negative, constants and
    the additive constants last among the positive ones, then simpler first."""
    negative = term.could_extract_minus_sign()
    trailing = (not negative) and (term.is_number or bool(term.atoms(sp.Symbol) & layout.trailing))
    return (int(negative), int(trailing), int(sp.count_ops(term)), len(str(term)))


def _factor_rank(a: sp.Basic, layout: Layout) -> tuple[bool, bool, bool, bool]:
    """Coefficient, size m or n, plain factors, (sums in brackets), then sigma-sums last."""
    is_sum = isinstance(a, sp.Sum)
    return (not a.is_number, a != layout.size, a.is_Add or is_sum, is_sum)


def display(e: sp.Basic, layout: Layout) -> sp.Basic:
    """Rebuild ``e`` (unevaluated) with each sum's terms in textbook order."""
    if isinstance(e, sp.MatrixBase):
        return sp.ImmutableMatrix(e.rows, e.cols, [display(a, layout) for a in e])
    if not isinstance(e, sp.Basic) or e.is_Atom or isinstance(e, (sp.Indexed, sp.IndexedBase)):
        return e
    args = [display(a, layout) for a in e.args]
    if e.is_Add:
        if not e.is_commutative:  # a chain of labels, already written in order
            return sp.Add(*args, evaluate=False)
        return sp.Add(*sorted(args, key=lambda a: _term_key(a, layout)), evaluate=False)
    if e.is_Mul:
        c_part = sorted((a for a in args if a.is_commutative), key=lambda a: _factor_rank(a, layout))
        return sp.Mul(*c_part, *(a for a in args if not a.is_commutative), evaluate=False)
    if args == list(e.args):
        return e
    if e.is_Pow or e.is_Relational:
        return e.func(*args, evaluate=False)
    return e.func(*args)


def _step(section: str, title: str, parts: Sequence[sp.Basic], prose: Sequence[Fragment], layout: Layout) -> Step:
    return Step(
        section=section,
        title=title,
        parts=tuple(display(p, layout) for p in parts),
        prose=tuple(f if isinstance(f, str) else display(f, layout) for f in prose),
    )


@dataclass(frozen=True)
class Draft:
    """A step before the explain/compact choice is made.

    ``key`` steps are shown in both modes, the others only with ``explain``.
    The compact mode shows ``key_parts`` (default: the first and the last part
    of the chain) and the ``short`` prose; explain mode shows every part and
    the ``long`` prose (default: the short one).
    """

    section: str
    title: str
    parts: tuple[sp.Basic, ...]
    key: bool = True
    key_parts: tuple[sp.Basic, ...] | None = None
    short: tuple[Fragment, ...] = ()
    long: tuple[Fragment, ...] = ()

    def finish(self, explain: bool, layout: Layout) -> Step:
        """The step as the chosen mode shows it."""
        if explain:
            return _step(self.section, self.title, self.parts, self.long or self.short, layout)
        parts = self.key_parts
        if parts is None:
            parts = self.parts[:1] + self.parts[-1:] if len(self.parts) > 2 else self.parts
        return _step(self.section, self.title, parts, self.short, layout)


def finish(drafts: Iterable[Draft], explain: bool, layout: Layout) -> tuple[Step, ...]:
    """The steps the chosen mode shows, in order."""
    return tuple(d.finish(explain, layout) for d in drafts if explain or d.key)
