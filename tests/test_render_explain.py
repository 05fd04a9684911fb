"""Explanation steps as text (cnncalc.explain.Step -> cnncalc.render.explain.step_text)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy

from cnncalc.explain import Step
from cnncalc.render.explain import step_text, steps_text

K = sympy.Symbol("k", positive=True, integer=True)


@pytest.mark.parametrize(
    ("step", "text"),
    [
        # every part, the result with thousands separators
        (Step("params", "C_out*(C_in/groups)*kh*kw", "64*(3/1)*7*7", 9408), "params = C_out*(C_in/groups)*kh*kw = 64*(3/1)*7*7 = 9,408"),
        # a tuple of numbers: strings as they are, counts formatted like results
        (Step("activation", "output elements * 4 B (float32)", (16384, "*4"), 65536, " B"),
         "activation = output elements * 4 B (float32) = 16,384*4 = 65,536 B"),
        # empty parts are left out; a note follows in parentheses
        (Step("params", result=128, note="weight and bias of 64 features"), "params = 128 (weight and bias of 64 features)"),
        (Step("H_out", "H", "", 32, note="padding='same', stride 1"), "H_out = H = 32 (padding='same', stride 1)"),
        (Step("output", numbers="[1, 10]", note="last dimension 2048 -> 10"), "output = [1, 10] (last dimension 2048 -> 10)"),
        # a sentence alone
        (Step("y = F(x) + shortcut(x)"), "y = F(x) + shortcut(x)"),
        # a zero result is shown; None is no result
        (Step("buffers", result=0), "buffers = 0"),
        # symbolic and fractional results as their expression
        (Step("MACs", "", "", 2304 * K**2 + 32768 * K), "MACs = 2304*k**2 + 32768*k"),
        (Step("r", "", "9 + 3/2*1", Fraction(21, 2)), "r = 9 + 3/2*1 = 21/2"),
        # further clauses of the same line
        (Step("RF H: k_eff", "d*(k-1)+1", "1*(3-1)+1", 3, then=(Step("r", "", "1 + 2*1", 1299), Step("P", result=-1))),
         "RF H: k_eff = d*(k-1)+1 = 1*(3-1)+1 = 3; r = 1 + 2*1 = 1,299; P = -1"),
    ],
)
def test_step_text(step: Step, text: str) -> None:
    assert step_text(step) == text


def test_steps_text_is_one_line_each() -> None:
    assert steps_text((Step("a", result=1000), Step("b"))) == ("a = 1,000", "b")
