"""The whitelist expression parser: what it computes, and what it refuses."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import pytest

from cnncalc import arith
from cnncalc.errors import ExprError, LimitError
from cnncalc.spec import expr


def value(text: str, **env: Any) -> Any:
    return expr.evaluate(expr.parse(text), env, free=arith.symbol)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("64", {}, 64),
        ("2*k", {"k": 27}, 54),
        ("width//4", {"width": 66}, 16),  # floor(66/4)
        ("width/4", {"width": 64}, 16),  # exact division stays an int
        ("width/4", {"width": 66}, Fraction(33, 2)),
        ("-7//2", {}, -4),  # Python's floor division
        ("7 % 3", {}, 1),
        ("2**10", {}, 1024),
        ("max(8, c//16)", {"c": 64}, 8),
        ("min(3, 4, 2)", {}, 2),
        ("ceil(7/2)", {}, 4),
        ("floor(7/2)", {}, 3),
        ("int(2.9)", {}, 2),
        ("(1 + 2) * 3", {}, 9),
        ("(1, 2)", {}, (1, 2)),
        ("1.5 * 2", {}, 3.0),
        # torchvision's _make_divisible(v, 8): max(8, int(v + 4) // 8 * 8), bumped when below 0.9 v
        ("make_divisible(32 * 0.75, 8)", {}, 24),
        ("make_divisible(int(96 / 4), 8)", {}, 24),
        ("make_divisible(10, 8)", {}, 16),  # int(14)//8*8 = 8 < 9, so 16
    ],
)
def test_values(text: str, env: dict[str, Any], expected: Any) -> None:
    assert value(text, **env) == expected


def test_free_names_become_positive_integer_symbols() -> None:
    import sympy

    k = sympy.Symbol("k", positive=True, integer=True)
    assert sympy.expand(value("9*k**2 + 128*k") - (9 * k**2 + 128 * k)) == 0
    assert value("k").is_positive and value("k").is_integer


def test_unbound_without_free_lookup() -> None:
    with pytest.raises(ExprError, match="unbound name 'k'"):
        expr.evaluate(expr.parse("k + 1"), {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('x')", "not allowed"),
        ("os.system", "attribute access are not allowed"),
        ("a[0]", "subscripts are not allowed"),
        ("lambda: 1", "lambdas are not allowed"),
        ("[x for x in y]", "comprehensions are not allowed"),
        ("f'{k}'", "f-strings are not allowed"),
        ("open('f')", "call of 'open' is not allowed"),
        ("__class__", "name '__class__' is not allowed"),
        ("1 if k else 2", "conditional expressions are not allowed"),
        ("k < 2", "comparisons are not allowed"),
        ("max(a=1)", "takes no keyword arguments"),
        ("floor(1, 2)", "takes exactly one argument"),
        ("1 << 3", "operator not allowed"),
        ("~1", "only unary + and - are allowed"),
        ("b'x'", "constant b'x' is not allowed"),
        ("(k := 3)", "assignment expressions are not allowed"),
        ("1 +", "invalid expression"),
    ],
)
def test_refused(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=re.escape(message)):
        value(text)


@pytest.mark.parametrize("text", ["9**9**9", "2**100000", "10**5000 * 10**5000"])
def test_huge_numbers_are_refused_before_computing(text: str) -> None:
    with pytest.raises(LimitError):
        value(text)


def test_long_and_deep_expressions_are_limited() -> None:
    with pytest.raises(LimitError):
        expr.parse("1+" * 5000 + "1")
    with pytest.raises(LimitError):
        expr.parse("max(1, " * 100 + "1" + ")" * 100)


def test_division_by_zero() -> None:
    with pytest.raises(ExprError, match="division by zero"):
        value("1 // 0")
