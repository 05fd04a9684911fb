"""Padding: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad (1-D to 3-D).

No parameters and no cheap ops. The receptive field is shifted by the left padding (a negative
padding crops).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc.arith import add
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    Ctx,
    LayerKind,
    Outcome,
    Param,
    Rule,
    Shape,
    check_int,
    describe,
    require_rank,
    shape_text,
    step,
    term,
)

if TYPE_CHECKING:
    from cnncalc.explain import Step
    from cnncalc.layers.fields import Shift

FAMILY = "pad"


def _pad(ctx: Ctx, mode: str) -> Outcome:
    n = ctx.kind.spatial
    arg = ctx["padding"]
    # PyTorch keeps a tuple as given (any even length pads that many trailing axes, last axis
    # first: left, right, top, bottom, front, back); an integer pads the layer's own n axes.
    pads = tuple(check_int("padding", v) for v in arg) if isinstance(arg, tuple) else (check_int("padding", arg),) * (2 * n)
    rank = len(ctx.x)
    if mode == "Circular":
        require_rank(ctx, (n + 1, n + 2))
    if len(pads) % 2:
        raise SpecError(
            "padding needs two values (before, after) per padded axis",
            expected="an integer or an even number of integers",
            found=describe(arg),
        )
    axes = len(pads) // 2
    if mode in ("Zero", "Constant"):
        if axes > rank:
            raise ShapeError(
                "padding has more values than twice the input's dimensions",
                expected=f"at most {2 * rank} values for a {rank}-D input",
                found=f"{len(pads)} values for input {shape_text(ctx.x)}",
            )
    elif axes not in (1, 2, 3) or rank not in (axes + 1, axes + 2):
        wanted = f"a {axes + 1}-D or {axes + 2}-D input" if axes else "1, 2 or 3 padded axes"
        raise ShapeError(
            f"{mode.lower()} padding of {axes} ax{'is' if axes == 1 else 'es'} needs {wanted}",
            expected=wanted + f" for {len(pads)} padding values",
            found=f"{rank}-D input {shape_text(ctx.x)}",
        )
    sizes = list(ctx.x)
    steps: list[Step] = []
    for i in range(axes):
        axis = rank - 1 - i
        before, after = pads[2 * i], pads[2 * i + 1]
        size = sizes[axis]
        if isinstance(size, int) and isinstance(before, int) and isinstance(after, int):
            _check_sizes(ctx, mode, axis, size, before, after)
        sizes[axis] = add(add(size, before), after)
        if ctx.explain:
            steps.append(step(f"dim {axis}: {term(size)} + {term(before)} + {term(after)}", result=sizes[axis]))
    return Outcome(tuple(sizes), steps=tuple(steps))


def _check_sizes(ctx: Ctx, mode: str, axis: int, size: int, before: int, after: int) -> None:
    if mode == "Reflection" and (before >= size or after >= size):
        raise ShapeError(
            "reflection padding must be smaller than the input size",
            expected=f"padding < {size} on dimension {axis}",
            found=f"padding ({before}, {after}) on dimension {axis} of input {shape_text(ctx.x)}",
        )
    if mode == "Circular" and (before > size or after > size):
        raise ShapeError(
            "circular padding may wrap around at most once",
            expected=f"padding <= {size} on dimension {axis}",
            found=f"padding ({before}, {after}) on dimension {axis} of input {shape_text(ctx.x)}",
        )
    if mode in ("Zero", "Constant", "Circular") and (size + min(before, 0) < 0 or size + min(before, 0) + min(after, 0) < 0):
        # Negative padding crops first, one side then the other; it cannot crop past the edge.
        raise ShapeError(
            "negative padding crops more than the whole dimension",
            expected=f"the crop on dimension {axis} at most its size {size}",
            found=f"padding ({before}, {after}) on dimension {axis} of input {shape_text(ctx.x)}",
        )


def _pad_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Shift:
    from cnncalc.layers.fields import Shift

    arg = args["padding"]
    pads = tuple(arg) if isinstance(arg, tuple) else (arg,) * (2 * kind.spatial)
    return Shift({-(i + 1): pads[2 * i] for i in range(len(pads) // 2)})


def _rule(mode: str) -> Rule:
    def rule(ctx: Ctx) -> Outcome:
        return _pad(ctx, mode)

    return rule


def kinds() -> list[LayerKind]:
    """The pad family's kinds."""
    padding = (Param("padding", kind="ints"),)
    result = []
    for mode in ("Zero", "Constant", "Reflection", "Replication", "Circular"):
        params = padding + (Param("value", kind="number"),) if mode == "Constant" else padding
        rule = _rule(mode)
        result += [LayerKind(f"{mode}Pad{n}d", params, rule, n, family=FAMILY, field=_pad_field) for n in (1, 2, 3)]
    return result
