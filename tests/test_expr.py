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
        ("os.system", "unknown attribute 'system' of node 'os'"),
        ("().__class__", "attribute access is only allowed on a node name"),
        ("x.__class__", "unknown attribute '__class__'"),
        ("a[0]", "subscripts are only allowed on a node's shape"),
        ("lambda: 1", "lambdas are not allowed"),
        ("[x for x in y]", "comprehensions are not allowed"),
        ("f'{k}'", "f-strings are not allowed"),
        ("open('f')", "call of 'open' is not allowed"),
        ("__class__", "name '__class__' is not allowed"),
        ("max(a=1)", "takes no keyword arguments"),
        ("floor(1, 2)", "takes exactly one argument"),
        ("1 << 3", "operator not allowed"),
        ("~1", "only unary + and - and not are allowed"),
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


# -- node shape references (contract 1 of issue 14): `enc3.shape[-2:]`, read from env["@enc3"]

NODES = {"@enc3": (64, 28, 30), "@seq": (8, 100), "@vol": (4, 6, 28, 30), "@input": (3, 224, 224)}


@pytest.mark.parametrize(
    ("text", "expected", "refs"),
    [
        ("enc3.shape", (64, 28, 30), {"enc3"}),
        ("enc3.shape[0]", 64, {"enc3"}),
        ("enc3.shape[-1]", 30, {"enc3"}),
        ("enc3.shape[-2:]", (28, 30), {"enc3"}),
        ("enc3.shape[1:2]", (28,), {"enc3"}),
        ("enc3.shape[:-1]", (64, 28), {"enc3"}),
        ("enc3.shape[:]", (64, 28, 30), {"enc3"}),
        ("enc3.channels", 64, {"enc3"}),
        ("enc3.spatial", (28, 30), {"enc3"}),
        ("enc3.height", 28, {"enc3"}),
        ("enc3.width", 30, {"enc3"}),
        ("vol.height", 28, {"vol"}),  # [C, D, H, W]: height is shape[-2]
        ("vol.spatial", (6, 28, 30), {"vol"}),
        ("seq.length", 100, {"seq"}),
        ("input.channels", 3, {"input"}),
        ("(enc3.height - 2) // 2 + seq.channels", 21, {"enc3", "seq"}),
        ("max(enc3.width, input.width) * 2", 448, {"enc3", "input"}),
        ("[enc3.height, enc3.width]", (28, 30), {"enc3"}),
        ("k + 1", 3, set()),
    ],
)
def test_node_shape_references(text: str, expected: Any, refs: set[str]) -> None:
    parsed = expr.parse(text)
    assert expr.evaluate(parsed, {**NODES, "k": 2}) == expected
    assert expr.node_refs(parsed) == refs
    assert "enc3" not in expr.names(parsed)  # a node name is never a symbol (nor bindable with --set)


def test_node_names_and_plain_names_are_separate() -> None:
    parsed = expr.parse("enc3.channels + enc3")
    assert expr.names(parsed) == {"enc3"}  # the plain name only
    assert expr.node_refs(parsed) == {"enc3"}
    assert expr.evaluate(parsed, {**NODES, "enc3": 1}) == 65


def test_symbolic_node_shapes() -> None:
    h = arith.symbol("h")
    assert expr.evaluate(expr.parse("x.height // 2"), {"@x": (3, h, h)}) == arith.floor_div(h, 2)


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("enc3.params", "enc3.params is not available here (solve's metrics)", 10),
        ("1 + enc3.macs", "enc3.macs is not available here (solve's metrics)", 14),
        ("enc3.shap", "unknown attribute 'shap' of node 'enc3'", 10),
        ("a.b.c", "attribute access is only allowed on a node name", 10),
        ("max(1, 2).shape", "attribute access is only allowed on a node name", 10),
        ("enc3.shape[k]", "a shape index must be an integer constant", 21),
        ("enc3.shape[1 + 1]", "a shape index must be an integer constant", 21),
        ("enc3.shape[::2]", "a shape slice takes integer constants only", 21),
        ("enc3.shape[0:k]", "a shape slice takes integer constants only", 21),
        ("enc3.channels[0]", "subscripts are only allowed on a node's shape", 10),
        ("2 * a[0]", "subscripts are only allowed on a node's shape", 14),
        ("enc3.shape[0][0]", "subscripts are only allowed on a node's shape", 10),
        ("__x.shape", "attribute access is only allowed on a node name", 10),
    ],
)
def test_node_reference_forms_refused_with_their_column(text: str, message: str, column: int) -> None:
    from cnncalc.errors import Position

    with pytest.raises(ExprError, match=re.escape(message)) as info:
        expr.parse(text, Position("t.yaml", 3, 10))
    assert info.value.position == Position("t.yaml", 3, column)


def test_unknown_attribute_suggests() -> None:
    with pytest.raises(ExprError) as info:
        expr.parse("enc3.chanels")
    assert info.value.hint is not None and "'channels'" in info.value.hint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope.shape", "no node named 'nope'"),
        ("enc3.shape[3]", "index 3 is out of range for enc3's shape [64, 28, 30]"),
        ("enc3.shape[-4]", "index -4 is out of range"),
        ("seq.height", "seq.height needs a node of shape [C, H, W] or [C, D, H, W]"),
        ("enc3.length", "enc3.length needs a node of shape [C, L]"),
        ("enc3.spatial + 1", "cannot do arithmetic on"),
    ],
)
def test_node_reference_evaluation_errors(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=re.escape(message)):
        expr.evaluate(expr.parse(text), NODES)


# -- conditionals, comparisons, and/or/not, booleans (contract 4)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("1 if a > 0 else 2", {"a": 3}, 1),
        ("1 if a > 0 else 2", {"a": 0}, 2),
        ("a if a >= b else b", {"a": 3, "b": 5}, 5),
        ("3 if 1 < a < 5 else 4", {"a": 2}, 3),  # chained like Python
        ("3 if 1 < a < 5 else 4", {"a": 7}, 4),
        ("a == 2 and b != 3", {"a": 2, "b": 4}, True),
        ("a == 2 or b", {"a": 1, "b": 0}, 0),  # Python's or: the deciding operand
        ("0 or 5", {}, 5),
        ("2 and 0", {}, 0),
        ("not a", {"a": 0}, True),
        ("not (a <= 1)", {"a": 1}, False),
        ("true and not false", {}, True),
        ("True if false else False", {}, False),
        ("(a > 2) * 3", {"a": 5}, 3),
        ("x if hs else y", {"hs": True, "x": 1, "y": 2}, 1),  # YAML true arrives as Python's True
        ("1.5 >= 3/2", {}, True),
        ("(1, 2) == (1, 2)", {}, True),
        ("(1, 2) != (1, 2, 3)", {}, True),
        ("'relu' == 'relu'", {}, True),
        ("1 if 0 else 2 if 0 else 3", {}, 3),
    ],
)
def test_conditionals(text: str, env: dict[str, Any], expected: Any) -> None:
    result = value(text, **env)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 if k >= 1 else 2", 1),  # k is a positive integer: decided
        ("1 if k > 0 else 2", 1),
        ("1 if k != 0 else 2", 1),
        ("1 if 2*k >= k + 1 else 2", 1),
        ("1 if k == k else 2", 1),
        ("1 if k else 2", 1),  # a positive integer is true
        ("1 if k < 1 else 2", 2),
        ("1 if k > 0 or k > 5 else 2", 1),  # or stops at the first true operand
        ("1 if k < 1 and k > 5 else 2", 2),  # and stops at the first false one
    ],
)
def test_conditions_on_symbols_decided_for_every_value(text: str, expected: int) -> None:
    assert value(text) == expected


@pytest.mark.parametrize(
    ("text", "condition", "column", "symbols"),
    [
        ("1 if k > 1 else 2", "k > 1", 15, "k"),
        ("64 if k >= w else 32", "k >= w", 16, "k, w"),
        ("1 if k - 1 else 2", "k - 1", 15, "k"),
        ("(k > 2) * 3", "k > 2", 11, "k"),
        ("not k == 3", "k == 3", 14, "k"),
    ],
)
def test_undecided_condition_is_located_with_a_set_hint(text: str, condition: str, column: int, symbols: str) -> None:
    from cnncalc.errors import Position

    where = Position("t.yaml", 4, 10)
    with pytest.raises(ExprError) as info:
        expr.evaluate(expr.parse(text, where), {}, position=where, free=arith.symbol)
    error = info.value
    assert f"the condition {condition!r} is undecided" in error.message
    assert symbols in error.message
    assert error.position == Position("t.yaml", 4, column)
    assert error.hint is not None and "--set k=VALUE" in error.hint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 if (1, 2) else 2", "a condition must be true, false or a number"),
        ("(1, 2) < (3, 4)", "shapes and lists can only be compared with == and !="),
        ("'a' < 'b'", "cannot order"),
        ("1 in (1, 2)", "comparison not allowed"),
        ("a is b", "comparison not allowed"),
        ("~a", "only unary + and - and not are allowed"),
    ],
)
def test_conditionals_refused(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=re.escape(message)):
        value(text, a=1, b=2)


def test_true_and_false_are_not_names() -> None:
    assert expr.names(expr.parse("k if true else false")) == {"k"}


# -- units on number literals (contract 5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5K", 5_000),
        ("5M", 5_000_000),
        ("5G", 5_000_000_000),
        ("5KiB", 5 * 1024),
        ("5MiB", 5 * 1024**2),
        ("5GiB", 5 * 1024**3),
        ("1.5M", 1_500_000),
        (".5K", 500),
        ("1_000K", 1_000_000),
        ("2*3G + 1", 6_000_000_001),
        ("max(1K, 1KiB)", 1024),
        ("(1K, 2K)", (1000, 2000)),
        ("M + 1M", 1_000_007),  # M alone is a name
        ("'5K'", "5K"),  # inside a string: left alone
        ("x5K", 9),  # part of a name: a name
    ],
)
def test_units(text: str, expected: Any) -> None:
    result = value(text, M=7, x5K=9)
    assert result == expected and type(result) is type(expected)


def test_units_are_exact_integers() -> None:
    assert type(value("1.5M")) is int
    assert value("1.1K") == 1100  # not 1100.0000000000002


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("1.0005K", "1.0005K is not a whole number", 10),
        ("2 + 0.5KiB*3 + 1.0000001M", "1.0000001M is not a whole number", 25),
        ("5k", "invalid decimal literal", 10),  # units are case-sensitive
        ("5Kb", "invalid decimal literal", 10),
        ("1.5K + a[0]", "subscripts are only allowed", 17),  # columns of the text as written
        ("(1K + 2MiB) * a.params", "a.params is not available here", 24),
        ("'1K' + 1K + a[0]", "subscripts are only allowed", 22),
    ],
)
def test_unit_errors_keep_exact_columns(text: str, message: str, column: int) -> None:
    from cnncalc.errors import Position

    with pytest.raises(ExprError, match=re.escape(message)) as info:
        expr.parse(text, Position("t.yaml", 2, 10))
    assert info.value.position == Position("t.yaml", 2, column)


# -- property tests: units and conditionals agree with Python's own arithmetic

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=99),
    st.sampled_from(sorted(expr.UNITS)),
)
def test_unit_literals_agree_with_python(whole: int, hundredths: int, unit: str) -> None:
    text = f"{whole}.{hundredths:02d}{unit}"
    exact = Fraction(whole * 100 + hundredths, 100) * expr.UNITS[unit]
    if exact.denominator == 1:
        assert value(text) == int(exact)
    else:
        with pytest.raises(ExprError, match="not a whole number"):
            value(text)


_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


@given(
    st.lists(st.integers(min_value=-5, max_value=5), min_size=2, max_size=4),
    st.lists(st.sampled_from(sorted(_OPS)), min_size=3, max_size=3),
    st.sampled_from(["and", "or"]),
    st.booleans(),
    st.integers(min_value=-100, max_value=100),
    st.integers(min_value=-100, max_value=100),
)
def test_conditionals_agree_with_python(
    numbers: list[int], ops: list[str], joiner: str, negate: bool, yes: int, no: int
) -> None:
    chain = str(numbers[0]) + "".join(f" {op} {n}" for op, n in zip(ops, numbers[1:]))
    chained = all(_OPS[op](a, b) for op, a, b in zip(ops, numbers, numbers[1:]))
    other = numbers[-1]
    combined = (chained and other) if joiner == "and" else (chained or other)
    condition = f"({chain}) {joiner} {other}"
    if negate:
        condition, combined = f"not ({condition})", not combined
    assert value(f"{condition}") == combined
    assert value(f"{yes} if {condition} else {no}") == (yes if combined else no)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ширина * 2K", 6000),  # a non-ASCII name before the literal
        ("_unit0_ + 1K", 1001),  # a name like cnncalc's placeholders stays the user's
        ("_unit + 2K * 3", 6002),
        ("'a\\'5K'", "a'5K"),  # an escaped quote inside a string: still a string
    ],
)
def test_units_beside_unusual_names_and_strings(text: str, expected: Any) -> None:
    env = {"ширина": 3, "_unit0_": 1, "_unit": 2}
    assert expr.evaluate(expr.parse(text), env) == expected
