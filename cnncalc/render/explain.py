"""Explanation steps as text: the one place a `cnncalc.explain.Step` becomes a line.

`lhs = formula = numbers = result unit (note)`, the empty parts left out, then the step's
further clauses after "; ". Results, and the counts in a tuple of numbers, are printed by the
one number formatter (thousands separators for integers, symbolic values as their expression).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnncalc.explain import Step


def step_text(step: Step) -> str:
    """One step as a line of text."""
    from cnncalc.render.numbers import count_text  # the one number formatter

    parts = [step.lhs]
    if step.formula:
        parts.append(step.formula)
    numbers = step.numbers
    if isinstance(numbers, tuple):
        numbers = "".join(n if isinstance(n, str) else count_text(n) for n in numbers)
    if numbers:
        parts.append(numbers)
    if step.result is not None:
        parts.append(count_text(step.result) + step.unit)
    text = " = ".join(parts)
    if step.note:
        text += f" ({step.note})"
    for clause in step.then:
        text += "; " + step_text(clause)
    return text


def steps_text(steps: tuple[Step, ...]) -> tuple[str, ...]:
    """Several steps, one line each."""
    return tuple(step_text(s) for s in steps)
