"""cnncalc.arith: exact numbers, sympy only for symbolic values, fractions imported only when needed."""

from __future__ import annotations

import fractions
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sympy
from hypothesis import event, given
from hypothesis import strategies as st

from cnncalc import arith
from cnncalc.arith import Fraction

from .symbolic_exprs import symbols, values

ROOT = Path(__file__).resolve().parent.parent
k = arith.symbol("k")


def test_the_fraction_shim_makes_real_fractions() -> None:
    half = Fraction(1, 2)
    assert type(half) is fractions.Fraction and half == fractions.Fraction(1, 2)
    assert isinstance(half, Fraction) and isinstance(fractions.Fraction(3, 4), Fraction)
    assert not isinstance(0.5, Fraction) and not isinstance(1, Fraction)


def test_importing_arith_does_not_import_fractions_or_sympy() -> None:
    code = "import sys, cnncalc.arith as a; a.add(1, 2); a.true_div(6, 3); print('fractions' in sys.modules, 'sympy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("a", "b", "expected", "kind"),
    [
        (6, 3, 2, int),
        (1, 3, fractions.Fraction(1, 3), fractions.Fraction),
        (fractions.Fraction(2, 3), fractions.Fraction(1, 3), 2, int),
        (1.0, 4, 0.25, float),
        (-7, 2, fractions.Fraction(-7, 2), fractions.Fraction),
    ],
)
def test_true_div_is_exact(a: Any, b: Any, expected: Any, kind: type) -> None:
    result = arith.true_div(a, b)
    assert result == expected and type(result) is kind


@pytest.mark.parametrize("op", [arith.true_div, arith.floor_div, arith.mod])
def test_division_by_zero_raises(op: Any) -> None:
    with pytest.raises(ZeroDivisionError):
        op(1, 0)
    with pytest.raises(ZeroDivisionError):
        op(fractions.Fraction(1, 2), 0)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(7, 2, 3), (-7, 2, -4), (fractions.Fraction(7, 2), 1, 3), (7.5, 2, 3)],
)
def test_floor_div_is_pythons(a: Any, b: Any, expected: int) -> None:
    result = arith.floor_div(a, b)
    assert result == expected and type(result) is int


def test_plain_number_helpers() -> None:
    assert arith.floor(fractions.Fraction(7, 2)) == 3 and arith.ceil(fractions.Fraction(7, 2)) == 4
    assert arith.floor(5) == 5 and arith.ceil(2.1) == 3
    assert arith.mod(-7, 3) == 2
    assert arith.minimum(3, 1, 2) == 1 and arith.maximum(3, 1, 2) == 3
    assert arith.product([2, 3, 4]) == 24 and arith.product([]) == 1
    assert arith.total([1, 2, 3]) == 6 and arith.total([]) == 0 and arith.total([True, 2]) == 3
    assert arith.total([1, fractions.Fraction(1, 2)]) == fractions.Fraction(3, 2)
    assert arith.is_positive(fractions.Fraction(1, 3)) is True and arith.is_positive(0) is False
    assert arith.divides(4, 12) is True and arith.divides(5, 12) is False and arith.divides(0, 3) is False
    assert arith.divides(2, 1.5) is False


def test_symbolic_values_go_through_sympy_and_come_back_as_numbers() -> None:
    assert arith.is_symbolic(k) and not arith.is_symbolic(3) and not arith.is_symbolic(sympy.Integer(3))
    assert k.is_positive and k.is_integer
    assert arith.symbol("k") is k
    two_k = arith.mul(2, k)
    assert arith.sub(two_k, arith.add(k, k)) == 0 and type(arith.sub(two_k, arith.add(k, k))) is int
    assert arith.true_div(arith.mul(k, 3), k) == 3
    assert arith.true_div(k, 2) == k / 2
    assert arith.floor_div(arith.mul(4, k), 2) == 2 * k
    assert arith.normalize(sympy.Rational(1, 3)) == fractions.Fraction(1, 3)
    assert type(arith.normalize(sympy.Float(0.5))) is float
    assert arith.mul(fractions.Fraction(1, 2), arith.mul(2, k)) == k
    assert arith.minimum(k, k + 1) == k and arith.maximum(k, k + 1) == k + 1


def test_equal_and_divides_decide_what_they_can() -> None:
    assert arith.equal(2 * k, k + k) is True
    assert arith.equal(k, k + 1) is False
    assert arith.equal(k, arith.symbol("j")) is None
    assert arith.equal(1, 1.0) is True
    assert arith.divides(2, 4 * k) is True


@pytest.mark.parametrize(
    ("value", "text", "json"),
    [
        (True, "true", True),
        (12, "12", 12),
        (fractions.Fraction(3, 4), "3/4", "3/4"),
        (0.5, "0.5", 0.5),
        (None, "None", None),
    ],
)
def test_as_text_and_json(value: Any, text: str, json: Any) -> None:
    assert arith.as_text(value) == text and arith.as_json(value) == json


def test_symbolic_text_is_expanded() -> None:
    assert arith.as_text(arith.mul(2, arith.add(k, 1))) == "2*k + 2"
    assert arith.as_json(k) == "k"


def test_expanded_terms_bounds_without_expanding() -> None:
    a, b, c, d = (arith.symbol(n) for n in "abcd")
    assert arith.expanded_terms(7) == 0
    assert arith.expanded_terms(a + b) == 2
    assert arith.expanded_terms((a + b + c + d) ** 40) > arith.MAX_EXPANDED_TERMS
    assert arith.expanded_terms(sympy.floor(a / 2) * b) <= arith.MAX_EXPANDED_TERMS


def test_negative_powers_are_not_degrees() -> None:
    """A grouped conv's MAC count is one monomial: 1/g and 1/s are factors, not degrees (the
    old estimate counted them and refused it as "1716 terms")."""
    names = [arith.symbol(n) for n in ("B", "C", "D", "W", "H", "k1", "k2", "g")]
    batch, cin, cout, w, h, k1, k2, g = names
    assert arith.expanded_terms(batch * cout * w * h * cin * k1 * k2 / g) == 1
    s1, s2, p1, p2 = (arith.symbol(n) for n in ("s1", "s2", "p1", "p2"))
    rows = sympy.floor((w + 2 * p1 - k1) / s1) + 1
    cols = sympy.floor((h + 2 * p2 - k2) / s2) + 1
    assert arith.expanded_terms(batch * cout * rows * cols * cin * k1 * k2 / g) == 4


def _real_terms(value: Any) -> int:
    return len(sympy.Add.make_args(sympy.expand(value)))


_POWERS = st.one_of(
    st.tuples(values(2), st.integers(-3, 5)).map(lambda t: sympy.Pow(t[0], t[1])),
    st.tuples(values(2), st.sampled_from([sympy.Rational(1, 2), sympy.Rational(5, 2), sympy.Rational(-3, 2)])).map(lambda t: sympy.Pow(t[0], t[1])),
    st.tuples(values(1), symbols(), st.integers(-1, 3)).map(lambda t: sympy.Pow(t[0], t[1] + t[2])),
)


@given(st.one_of(values(3), _POWERS, st.tuples(_POWERS, values(2)).map(lambda t: arith.mul(*t))))
def test_expanded_terms_is_never_below_sympys_count(value: Any) -> None:
    """The bound holds on random size-like expressions: sums, products, quotients, floor and
    ceiling quotients, min, max, remainders and powers (negative, fractional, symbolic)."""
    bound = arith.expanded_terms(value)
    if not arith.is_symbolic(value):
        assert bound == 0
        return
    real = _real_terms(value)
    event(f"slack: {'none' if bound == real else 'some'}")
    assert bound >= real, (value, bound, real)


def test_nesting_counts_levels_up_to_the_limit() -> None:
    value: Any = k
    for _ in range(10):
        value = sympy.floor(value / 2)
    assert arith.nesting(3, 5) == 0
    assert arith.nesting(value, 100) > 10
    assert arith.nesting(value, 5) == 6
