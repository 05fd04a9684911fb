"""Explanations as data: the core returns steps, `cnncalc.render` turns them into text.

A step is one line of working, `lhs = formula = numbers = result`, with the parts that are
empty left out and an optional note in parentheses after it. The result is a value (an int,
a Fraction or a sympy expression), never text: numbers are formatted in one place, by the
renderer, so every command prints them alike.
"""

from __future__ import annotations

from typing import NamedTuple


class Step(NamedTuple):
    """One line of a worked explanation."""

    lhs: str  # what is computed: "H_out", "params", "MACs"; alone, a sentence
    formula: str = ""  # the rule in symbols: "C_out*(C_in/groups)*kh*kw + C_out"
    numbers: str = ""  # the rule with this layer's numbers put in
    result: object = None  # the value, formatted by the renderer; None: no result part
    unit: str = ""  # printed after the result: " B"
    note: str = ""  # printed after the line, in parentheses
