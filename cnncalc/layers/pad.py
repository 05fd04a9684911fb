"""Padding and cropping: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad (1-D to
3-D); to another node's size (`size: enc4.spatial`): CenterCrop (torchvision's center_crop: the
middle, a crop larger than the image padded with zeros) and PadTo (F.pad by the difference,
d // 2 before and d - d // 2 after, as U-Net code pads the upsampled tensor to the skip's size).

No parameters and no cheap ops. The receptive field is shifted by the left padding (a negative
padding crops).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc import arith
from cnncalc.arith import add, floor_div, sub
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    SAVES_INPUT,
    SHARES_INPUT,
    STRIDED,
    Ctx,
    Flow,
    LayerKind,
    Outcome,
    Param,
    Rule,
    Shape,
    check_int,
    describe,
    fmt,
    in_torch_nn,
    require_rank,
    shape_text,
    step,
    term,
    unmeasured_mixed,
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


def _center_crop(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 2:
        raise ShapeError("CenterCrop needs an image: a tensor of at least 2 dims [..., H, W]", expected="an input [..., H, W]", found=shape_text(ctx.x))
    crop = _crop_size(ctx["size"])
    height, width = ctx.x[-2:]
    steps: tuple[Step, ...] = ()
    if ctx.explain:
        notes = []
        for axis, size, target in (("H", height, crop[0]), ("W", width, crop[1])):
            if arith.is_positive(sub(target, size)):
                notes.append(f"{axis}: {term(size)} padded with zeros to {term(target)} (torchvision pads a crop larger than the image)")
            else:
                notes.append(f"{axis}: the middle {term(target)} of {term(size)}, from index {fmt(_crop_offset(size, target))}")
        steps = (step("output", numbers=shape_text((*ctx.x[:-2], *crop)), note="; ".join(notes)),)
    return Outcome((*ctx.x[:-2], *crop), steps=steps)


def _crop_size(size: Any) -> tuple[Any, Any]:
    """torchvision's output_size: an int, or a list of one or two ints (h, w)."""
    if isinstance(size, tuple):
        if len(size) == 1:
            size = size * 2
        if len(size) != 2:
            raise SpecError("Please provide only two dimensions (h, w) for size.", expected="size: an integer, [h] or [h, w]", found=describe(size))
        return check_int("size", size[0]), check_int("size", size[1])
    value = check_int("size", size)
    return value, value


def _crop_offset(size: Any, target: Any) -> Any:
    """torchvision's crop_top: int(round((size - target) / 2.0)), Python's round (half to even)."""
    if isinstance(size, int) and isinstance(target, int):
        return round((size - target) / 2.0)
    return floor_div(sub(size, target), 2)  # symbolic: exact where the difference is even


def _center_crop_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Shift:
    from cnncalc.layers.fields import Shift

    height, width = inputs[0][-2:]
    shifts = {}
    for dim, size, target in ((-2, height, output[-2]), (-1, width, output[-1])):
        larger = arith.is_positive(sub(target, size))
        shifts[dim] = floor_div(sub(target, size), 2) if larger else sub(0, _crop_offset(size, target))
    return Shift(shifts)


def _pad_to(ctx: Ctx) -> Outcome:
    arg = ctx["size"]
    rank = len(ctx.x)
    if isinstance(arg, tuple):
        targets = tuple(check_int("size", v) for v in arg)
    else:
        if rank < 3:
            raise ShapeError("PadTo with one size pads every spatial dim of [N, C, ...]", expected="an input of 3 or more dims, or a list of sizes", found=shape_text(ctx.x))
        targets = (check_int("size", arg),) * (rank - 2)
    if not targets or len(targets) > rank:
        raise ShapeError(
            "PadTo needs one size per padded dim (the last ones)",
            expected=f"1 to {rank} sizes for input {shape_text(ctx.x)}",
            found=describe(arg),
        )
    first = rank - len(targets)
    sizes = list(ctx.x)
    steps: list[Step] = []
    for axis, target in enumerate(targets, start=first):
        before, after = _split(sub(target, sizes[axis]))
        if ctx.explain:
            steps.append(step(f"dim {axis}: {term(sizes[axis])} + {term(before)} + {term(after)}", result=target, note="diff // 2 before, the rest after"))
        sizes[axis] = target
    return Outcome(tuple(sizes), steps=tuple(steps))


def _split(diff: Any) -> tuple[Any, Any]:
    """The U-Net code's split of a size difference: diff // 2 before, diff - diff // 2 after."""
    before = floor_div(diff, 2)
    return before, sub(diff, before)


def _pad_to_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Shift:
    from cnncalc.layers.fields import Shift

    x = inputs[0]
    arg = args["size"]
    count = len(arg) if isinstance(arg, tuple) else len(x) - 2
    return Shift({-(i + 1): _split(sub(output[-(i + 1)], x[-(i + 1)]))[0] for i in range(count)})


def _pad_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Shift:
    from cnncalc.layers.fields import Shift

    arg = args["padding"]
    pads = tuple(arg) if isinstance(arg, tuple) else (arg,) * (2 * kind.spatial)
    return Shift({-(i + 1): pads[2 * i] for i in range(len(pads) // 2)})


def _rule(mode: str) -> Rule:
    def rule(ctx: Ctx) -> Outcome:
        return _pad(ctx, mode)

    return rule


# `cnncalc export`: the size-matching layers as modules, written into the exported file; the size
# may be given at run time (`self.crop(skip, up.shape[2:])`), so the module works at every input size.
_CENTER_CROP = '''class CenterCrop(nn.Module):
    """The middle (h, w) of the last two dims, as torchvision's CenterCrop (a crop
    larger than the image is padded with zeros); the size fixed or given to forward."""

    def __init__(self, size: int | tuple[int, int] | None = None) -> None:
        super().__init__()
        self.size = size

    def forward(
        self, x: torch.Tensor, size: int | tuple[int, int] | None = None
    ) -> torch.Tensor:
        size = self.size if size is None else size
        h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        height, width = x.shape[-2], x.shape[-1]
        if h > height or w > width:
            dh, dw = max(h - height, 0), max(w - width, 0)
            x = F.pad(x, [dw // 2, (dw + 1) // 2, dh // 2, (dh + 1) // 2])
            height, width = x.shape[-2], x.shape[-1]
        top = int(round((height - h) / 2.0))
        left = int(round((width - w) / 2.0))
        return x[..., top : top + h, left : left + w]
'''
_PAD_TO = '''class PadTo(nn.Module):
    """Pads (or crops) the last len(size) dims to `size`, d // 2 before and d - d // 2
    after (U-Net code); one int pads every dim after N, C. Fixed or given to forward."""

    def __init__(
        self, size: int | tuple[int, ...] | None = None, value: float = 0.0
    ) -> None:
        super().__init__()
        self.size = size
        self.value = value

    def forward(
        self, x: torch.Tensor, size: int | tuple[int, ...] | None = None
    ) -> torch.Tensor:
        size = self.size if size is None else size
        if isinstance(size, int):
            size = (size,) * (x.dim() - 2)
        pads: list[int] = []
        for i in range(1, len(size) + 1):
            d = int(size[-i]) - x.shape[-i]
            pads += [d // 2, d - d // 2]
        return F.pad(x, pads, value=self.value)
'''
def _new_tensor_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing (a constant or circular pad's gradient is a slice); a new tensor."""
    return ()


def _edge_pad_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input (reflection and replication pads)."""
    return (SAVES_INPUT,) if flow.grad else ()


def _center_crop_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing; the crop is a view of the input (not contiguous unless nothing is cut).
    A crop larger than the image (torchvision pads it) was not measured."""
    sizes = list(zip(inputs[0][-2:], output[-2:]))
    if any(arith.is_positive(sub(target, size)) for size, target in sizes):
        raise SpecError("training memory is not modelled for a crop larger than the image (torchvision pads it)", expected="a crop within the image")
    if all(arith.equal(size, target) for size, target in sizes):
        return (SHARES_INPUT,)
    return (SHARES_INPUT, STRIDED)


def _with_saves(kind: LayerKind) -> LayerKind:
    if kind.name == "CenterCrop":  # a view: the same under autocast
        return kind._replace(saves=_center_crop_saves, saves_doc="nothing (a view of its input, not contiguous)")
    if kind.name.startswith(("Reflection", "Replication")):
        return kind._replace(saves=unmeasured_mixed(_edge_pad_saves), saves_doc="input")
    return kind._replace(saves=unmeasured_mixed(_new_tensor_saves), saves_doc="nothing (a new tensor)")


def kinds() -> list[LayerKind]:
    """The pad family's kinds."""
    return [_with_saves(k) for k in _kinds()]


def _kinds() -> list[LayerKind]:
    padding = (Param("padding", kind="ints"),)
    result = []
    for mode in ("Zero", "Constant", "Reflection", "Replication", "Circular"):
        params = padding + (Param("value", kind="number"),) if mode == "Constant" else padding
        rule = _rule(mode)
        result += [in_torch_nn(LayerKind(f"{mode}Pad{n}d", params, rule, n, family=FAMILY, field=_pad_field)) for n in (1, 2, 3)]
    result.append(
        LayerKind(
            "CenterCrop", (Param("size", kind="size"),), _center_crop, family=FAMILY, field=_center_crop_field, origin="torchvision.transforms.CenterCrop(size)",
            torch=_CENTER_CROP,
        )
    )
    result.append(
        LayerKind(
            "PadTo", (Param("size", kind="size"), Param("value", 0, "number")), _pad_to, family=FAMILY, field=_pad_to_field,
            origin="F.pad(x, [d // 2, d - d // 2, ...], value=value), d = size - x's size (U-Net code)", torch=_PAD_TO,
        )
    )
    return result
