"""Tests for cnncalc.derive.drafts: the explain/compact choice and the textbook order of terms."""

from __future__ import annotations

import sympy as sp

from cnncalc.derive.drafts import Draft, Layout, display, eq, finish
from cnncalc.derive.model import Step

a, b, c, d, m, eps = sp.symbols("a b c d m epsilon", positive=True)
LAYOUT = Layout(size=m, trailing=frozenset({eps}))


def test_compact_shows_the_first_and_last_part_and_the_short_prose() -> None:
    draft = Draft("S", "T", (a, b, c), short=("short",), long=("long",))
    assert draft.finish(False, LAYOUT) == Step("S", "T", parts=(a, c), prose=("short",))
    assert draft.finish(True, LAYOUT) == Step("S", "T", parts=(a, b, c), prose=("long",))
    assert Draft("S", "T", (a, b)).finish(False, LAYOUT).parts == (a, b)


def test_key_parts_and_the_long_prose_default() -> None:
    draft = Draft("S", "T", (a, b, c, d), key_parts=(a, b, d), short=("short",))
    assert draft.finish(False, LAYOUT).parts == (a, b, d)
    assert draft.finish(True, LAYOUT).prose == ("short",)  # no long prose: the short one


def test_finish_drops_the_other_steps_in_compact_mode() -> None:
    drafts = [Draft("S", "key", (a, b)), Draft("S", "detail", (a, c), key=False)]
    assert [s.title for s in finish(drafts, False, LAYOUT)] == ["key"]
    assert [s.title for s in finish(drafts, True, LAYOUT)] == ["key", "detail"]


def test_display_orders_terms_as_a_textbook() -> None:
    # positive before negative; the additive constant and numbers last among the positive; simpler first
    shown = display(eps + 3 - a * b + a + sp.sqrt(c), LAYOUT)
    assert shown.args == (a, sp.sqrt(c), 3, eps, -a * b)
    assert shown.doit() == eps + 3 - a * b + a + sp.sqrt(c)  # the same expression


def test_display_orders_factors_as_a_textbook() -> None:
    # the coefficient, the size, plain factors, brackets, sums last
    j = sp.Symbol("j", integer=True)
    total = sp.Sum(sp.Indexed("g", j), (j, 1, m))
    shown = display(total * (a + b) * c * m * 2, LAYOUT)
    assert shown.args == (2, m, c, a + b, total)


def test_display_leaves_atoms_and_keeps_relations_unevaluated() -> None:
    assert display(a, LAYOUT) is a
    relation = display(sp.Ge(b + a, 0, evaluate=False), LAYOUT)
    assert isinstance(relation, sp.GreaterThan)
    assert display(sp.Matrix([b + a]), LAYOUT).shape == (1, 1)
    assert eq(a, b + c).lhs == a and eq(a, a).rhs == a  # not evaluated to True
