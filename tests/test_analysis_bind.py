"""cnncalc.analysis.bind: arguments bound in an environment (no parsing: the reader parsed them)."""

from __future__ import annotations

import pytest

from cnncalc import arith
from cnncalc.analysis import bind
from cnncalc.errors import ExprError, Position, SpecError
from cnncalc.spec import Arg, expr

HERE = Position("t.yaml", 4, 7)


def test_literals_and_words_are_returned_as_written() -> None:
    for raw in (3, 1.5, True, None, "same"):
        assert bind.value(Arg(raw, HERE), {}, "p") == raw


def test_expressions_are_evaluated_with_their_names_bound() -> None:
    assert bind.value(Arg(expr.parse("c // 4"), HERE), {"c": 64}, "p") == 16
    assert bind.value(Arg(expr.parse("c * 2"), HERE), {}, "p") == 2 * arith.symbol("c")  # unbound: a free symbol


def test_tuples_are_bound_element_by_element() -> None:
    arg = Arg((Arg(1, HERE), Arg(expr.parse("k"), HERE)), HERE)
    assert bind.value(arg, {"k": 3}, "p") == (1, 3)


def test_evaluation_errors_are_placed_at_the_argument() -> None:
    with pytest.raises(ExprError, match="division by zero") as caught:
        bind.value(Arg(expr.parse("1 // g"), HERE), {"g": 0}, "layers[2] (Conv2d)")
    assert caught.value.position == HERE and caught.value.path == "layers[2] (Conv2d)"


def test_count_needs_a_plain_integer() -> None:
    assert bind.count(3, "repeat", Arg(3, HERE), "p", 0) == 3
    with pytest.raises(SpecError, match="repeat must be a number") as caught:
        bind.count(arith.symbol("n"), "repeat", Arg(expr.parse("n"), HERE), "p", 0)
    assert caught.value.hint is not None and "--set" in caught.value.hint
    with pytest.raises(SpecError, match="batch must be a number"):
        bind.count(True, "batch", Arg(True, HERE), "p", 1)
    with pytest.raises(SpecError, match="batch must be at least 1"):
        bind.count(0, "batch", Arg(0, HERE), "batch", 1)
