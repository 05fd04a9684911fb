"""cnncalc.formula: symbolic values printed as a student writes them, never with another value.

The round trip is the contract: a printed formula, read back by cnncalc's own spec expression
parser (cnncalc.spec.expr) with integers bound to its symbols, gives the value the expression
has at that point. The textbook forms themselves are checked on the cases the issue names.
"""

from __future__ import annotations

from typing import Any

import pytest
import sympy
from hypothesis import event, given
from hypothesis import strategies as st

from cnncalc import arith
from cnncalc.layers.windows import window_size
from cnncalc.spec import expr

from .symbolic_exprs import at, point, values


def sym(name: str) -> Any:
    return arith.symbol(name)


W, H, k, k1, p1, s1, s, p, d, n, N = (sym(x) for x in ("W", "H", "k", "k1", "p1", "s1", "s", "p", "d", "n", "N"))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # the seed's question: one denominator under the floor, terms in the textbook order
        (window_size(W, k1, s1, p1, 1), "floor((W + 2*p1 - k1)/s1) + 1"),
        (window_size(W, k, s, p, d), "floor((W + d + 2*p - d*k - 1)/s) + 1"),
        # a 3x3 stride-2 conv with padding 1 gives ceil(W/2), exactly; twice gives ceil(W/4)
        (window_size(W, 3, 2, 1, 1), "ceil(W/2)"),
        (window_size(window_size(W, 3, 2, 1, 1), 3, 2, 1, 1), "ceil(W/4)"),
        (window_size(W, 2, 2, 0, 1), "floor(W/2)"),
        (window_size(W, 3, 3, 0, 1), "floor(W/3)"),
        (window_size(W, 2, 3, 0, 1), "floor((W + 1)/3)"),
        (arith.floor_div(arith.floor_div(W, 2), 3), "floor(W/6)"),
        (arith.ceil(arith.true_div(arith.ceil(arith.true_div(W, 2)), 3)), "ceil(W/6)"),
        # polynomials stay expanded (the JSON contract), a constant where sympy puts it
        (arith.add(arith.mul(9, arith.mul(k, k)), arith.mul(128, k)), "9*k**2 + 128*k"),
        (arith.sub(64, k), "64 - k"),
        (arith.sub(k, 64), "k - 64"),
        (arith.add(arith.sub(W, k), 1), "W - k + 1"),
        (arith.mul(arith.floor_div(W, s), 3), "3*floor(W/s)"),
        (arith.maximum(W, arith.mul(2, k)), "max(W, 2*k)"),
        (arith.mul(2, arith.mod(W, 3)), "2*(W % 3)"),
    ],
)
def test_textbook_forms(value: Any, text: str) -> None:
    assert arith.as_text(value) == text


def test_a_floor_over_a_symbolic_stride_is_left_as_it_is() -> None:
    """floor((W + 1)/s) is not ceil(W/s): the rewrite needs a numeric divisor."""
    value = arith.floor_div(arith.add(W, 1), s)
    assert arith.as_text(value) == "floor((W + 1)/s)"


def test_a_piecewise_prints_its_pieces_in_the_same_form() -> None:
    value = sympy.Piecewise((window_size(N, 3, 2, 1, 1), s > 2), (N, True))
    assert arith.as_text(value) == "Piecewise((ceil(N/2), s > 2), (N, True))"


def _read_back(text: str, values: dict[str, int]) -> Any:
    return expr.evaluate(expr.parse(text), values)


@given(st.data())
def test_the_printed_form_has_the_value(data: Any) -> None:
    """Printed, parsed back with the spec parser and bound to integers: the value's own value."""
    value = data.draw(values(3))
    text = arith.as_text(value)
    if not arith.is_symbolic(value):
        return
    event("rewritten" if "ceil" in text and "ceil" not in str(value) else "as sympy's terms")
    for _ in range(4):
        values_at = data.draw(point(value))
        assert _read_back(text, values_at) == at(value, values_at), (value, text, values_at)


@given(st.data())
def test_rounded_quotients_everywhere(data: Any) -> None:
    """floor((A + c)/b) and ceil((A + c)/b) for every small c and b, A a symbolic integer:
    whatever form the printer chooses (floor, ceil, a shifted constant) has the value."""
    b = data.draw(st.integers(1, 7))
    c = data.draw(st.integers(-15, 15))
    a = data.draw(values(1, powers=False))
    for rounding in (arith.floor, arith.ceil):
        value = rounding(arith.true_div(arith.add(a, c), b))
        text = arith.as_text(value)
        for size in range(1, 15):
            values_at = {str(x): size for x in getattr(value, "free_symbols", ())}
            assert _read_back(text, values_at) == at(value, values_at), (value, text, size)
