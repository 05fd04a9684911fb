"""Tests for cnncalc.derive.model: the records of a derivation."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from cnncalc.derive.model import CheckResult, Derivation, PlannedCheck, Step, Topic, worst_check


def _result(error: str, ok: bool = True) -> CheckResult:
    return CheckResult(name="g", max_abs_error=error, points=1, ok=ok, tolerance="1e-20")


def test_worst_check_takes_the_largest_error_and_all_oks() -> None:
    merged = worst_check("all", [_result("1.0e-40"), _result("3.0e-30"), _result("0.0")], points=9)
    assert merged == CheckResult("all", "3.0e-30", 9, True, "1e-20")
    assert not worst_check("all", [_result("1.0e-40"), _result("2.0", ok=False)], points=2).ok


def test_worst_check_counts_nan_as_the_largest_error() -> None:
    merged = worst_check("all", [_result("5.0"), _result("nan", ok=False), _result("7.0")], points=3)
    assert merged.max_abs_error == "nan" and not merged.ok


def test_check_result_error_is_a_float() -> None:
    assert _result("1.5e-40").error == 1.5e-40
    assert _result("1e-400").error == 0.0  # below a float's range


def test_derivation_ok_and_largest_error() -> None:
    bare = Derivation("bn", "t", ())
    assert bare.ok and bare.max_abs_error is None
    assert bare.notation == "" and bare.size_symbol == "m" and dict(bare.results) == {}
    checked = dataclasses.replace(bare, checks=(_result("1.0e-40"), _result("2.0e-25")))
    assert checked.ok and checked.max_abs_error == "2.0e-25"
    failed = dataclasses.replace(bare, checks=(_result("1.0e-40"), _result("0.5", ok=False)))
    assert not failed.ok and failed.max_abs_error == "0.5"


def test_records_are_frozen_and_compare_by_value() -> None:
    x = sp.Symbol("x")
    step = Step("s", "t", parts=(x, 2 * x), prose=("a ", x))
    assert step == Step("s", "t", parts=(x, 2 * x), prose=("a ", x))
    assert step != Step("s", "t", parts=(x,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.parts = ()  # type: ignore[misc]
    assert Step("s", "t").parts == () and Step("s", "t").prose == ()


def test_topic_and_planned_check_are_named_tuples() -> None:
    plan = PlannedCheck("dx_compact", "dx", "dl/dx_i (compact form)")
    assert plan.result == "dx_compact" and plan.target == "dx"
    topic = Topic("demo", "Demo", "x: input.", "n", lambda explain: ((), {}), (plan,))
    assert topic.derive(False) == ((), {}) and topic.checks == (plan,)
