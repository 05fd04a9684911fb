"""The layer kinds: PyTorch's constructor signature, shape rule, parameter rule and MAC rule,
cheap-op rule and receptive-field mapping, one module per family; here, the registry.

Shapes here are whole tensor shapes as PyTorch sees them (a spec's batch dimension included),
so that PyTorch's rank rules (batched or unbatched input) and dimension arguments (`Flatten`,
`Softmax`, `Concat`) mean exactly what they mean in PyTorch. Every rule is a small pure
function of the evaluated arguments and the input shapes; errors are raised as ShapeError or
SpecError without a position, which the caller adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnncalc import conditions
from cnncalc.errors import ShapeError, with_shapes
from cnncalc.layers import activation, conv, linear, merge, misc, norm, pad, pool, reduce, reshape, upsample
from cnncalc.layers.base import (
    AXES,
    OP_KINDS,
    REQUIRED,
    Ctx,
    LayerKind,
    Outcome,
    Param,
    Shape,
    check_arg_type,
    per_axis,
    shape_text,
)

__all__ = [
    "ALIASES",
    "AXES",
    "FAMILIES",
    "KINDS",
    "OP_KINDS",
    "REQUIRED",
    "LayerKind",
    "Outcome",
    "Param",
    "Shape",
    "apply",
    "check_arg_type",
    "lookup",
    "per_axis",
]

FAMILIES = (conv, pool, norm, linear, activation, reduce, reshape, pad, upsample, merge, misc)
KINDS: Mapping[str, LayerKind] = {kind.name: kind for family in FAMILIES for kind in family.kinds()}
ALIASES = {"Cat": "Concat", "Concatenate": "Concat", "Sum": "Add", "Multiply": "Mul", "View": "Reshape"}


def lookup(name: str) -> LayerKind | None:
    """The layer kind called `name` (PyTorch's class name), or None."""
    return KINDS.get(ALIASES.get(name, name))


def apply(
    kind: LayerKind, args: dict[str, Any], inputs: tuple[Shape, ...], *, explain: bool = False, training: bool = False
) -> Outcome:
    """Run a layer's rule on its checked, defaulted arguments and input shapes.

    `training` is PyTorch's module mode (a fresh module trains; cnncalc defaults to eval, the
    inference shapes). An output with an empty dimension is an error here even where PyTorch
    returns a 0-size tensor: no design wants one.
    """
    try:
        outcome = kind.rule(Ctx(kind, args, inputs, explain, training))
    except Exception:
        conditions.discard()
        raise
    for axis, size in enumerate(outcome.output):
        if type(size) is int and size > 0:
            continue
        if conditions.at_least(size, 1, f"output dimension {axis} >= 1") is False:
            conditions.discard()
            raise with_shapes(ShapeError(
                f"{kind.name} output dimension {axis} = {size} is too small (the output would be empty)",
                expected="every output dimension >= 1",
                found=f"output {shape_text(outcome.output)} from input " + " and ".join(shape_text(s) for s in inputs),
            ), outcome.output)
    if conditions.pending():
        outcome = outcome._replace(conditions=conditions.take())
    return outcome
