"""Explanations as data: the core returns steps, `cnncalc.render` turns them into text.

A step is one line of working, `lhs = formula = numbers = result`, with the parts that are
empty left out and an optional note in parentheses after it; further clauses of the same line
(`then`) follow after "; ". The result is a value (an int, a Fraction or a sympy expression),
never text: numbers are formatted in one place, by the renderer (`cnncalc.render.explain`), so
every command prints them alike.

`numbers` is the rule with this layer's numbers put in. As a string it is shown as it is (the
layer rules write their operands as `arith.as_text` does, so `1*64*112*112`); as a tuple its
strings are shown as they are and its other items are counts, formatted by the renderer like
every result (`(16384, "*4")` prints `16,384*4`).
"""

# No `from __future__ import annotations` here: typing.NamedTuple compiles every string
# annotation (a ForwardRef each), which would double what defining Step costs at start-up.
from typing import NamedTuple


class Step(NamedTuple):
    """One line of a worked explanation."""

    lhs: str  # what is computed: "H_out", "params", "MACs"; alone, a sentence
    formula: str = ""  # the rule in symbols: "C_out*(C_in/groups)*kh*kw + C_out"
    numbers: str | tuple[object, ...] = ""  # the rule with this layer's numbers put in
    result: object = None  # the value, formatted by the renderer; None: no result part
    unit: str = ""  # printed after the result: " B"
    note: str = ""  # printed after the line, in parentheses
    then: tuple["Step", ...] = ()  # further clauses of the same line, after "; "
