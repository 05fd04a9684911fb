"""Random symbolic values of the kinds layer rules make, for property tests of the printer
(tests/test_formula.py) and of the expanded-term bound (tests/test_arith.py).

Built with cnncalc's own arithmetic (`cnncalc.arith`), as the layer rules build sizes: sums,
differences and products of positive-integer symbols and small integers, quotients and floor /
ceiling quotients by positive values, min, max, remainders, small powers. Divisors are positive
wherever the symbols are, so every value is defined at every positive integer point.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from cnncalc import arith

NAMES = ("W", "H", "k1", "k2", "p", "s", "g", "n")


def symbols() -> st.SearchStrategy[Any]:
    return st.sampled_from(NAMES).map(arith.symbol)


def positive(depth: int) -> st.SearchStrategy[Any]:
    """A value positive at every positive integer point: a divisor."""
    leaf = st.one_of(symbols(), st.integers(1, 6))
    if depth <= 0:
        return leaf
    inner = positive(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(inner, inner).map(lambda t: arith.add(*t)),
        st.tuples(inner, inner).map(lambda t: arith.mul(*t)),
        st.tuples(inner, st.integers(1, 3)).map(lambda t: arith.add(arith.floor_div(t[0], t[1]), 1)),
    )


def values(depth: int = 3, *, powers: bool = True) -> st.SearchStrategy[Any]:
    """A value of a size's kind (it may be zero or negative: the printer does not care)."""
    leaf = st.one_of(symbols(), st.integers(-4, 9))
    if depth <= 0:
        return leaf
    inner = values(depth - 1, powers=powers)
    divisor = positive(1)
    options = [
        leaf,
        st.tuples(inner, inner).map(lambda t: arith.add(*t)),
        st.tuples(inner, inner).map(lambda t: arith.sub(*t)),
        st.tuples(inner, inner).map(lambda t: arith.mul(*t)),
        st.tuples(inner, divisor).map(lambda t: arith.true_div(*t)),
        st.tuples(inner, divisor).map(lambda t: arith.floor_div(*t)),
        st.tuples(inner, divisor).map(lambda t: arith.ceil(arith.true_div(*t))),
        st.tuples(inner, inner).map(lambda t: arith.maximum(*t)),
        st.tuples(inner, inner).map(lambda t: arith.minimum(*t)),
        st.tuples(inner, st.integers(2, 5)).map(lambda t: arith.mod(*t)),
    ]
    if powers:
        options.append(st.tuples(inner, st.integers(2, 3)).map(lambda t: arith.mul(t[0], t[0]) if t[1] == 2 else arith.product((t[0],) * 3)))
    return st.one_of(*options)


def point(value: Any) -> st.SearchStrategy[dict[str, int]]:
    """Positive integers for the symbols of `value`."""
    names = sorted(str(s) for s in getattr(value, "free_symbols", ()))
    return st.fixed_dictionaries({name: st.integers(1, 12) for name in names})


def at(value: Any, values: dict[str, int]) -> Any:
    """`value` with the point's integers put in, as an int or a Fraction."""
    if not arith.is_symbolic(value):
        return value
    import sympy

    result = value.xreplace({arith.symbol(name): sympy.Integer(v) for name, v in values.items()})
    if not result.is_Rational:
        result = result.doit()
    return arith.normalize(result)
