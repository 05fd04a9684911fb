"""Reshapes and layout: Flatten, Unflatten, Permute, Narrow (torch.narrow, one slice of a channel
split such as ShuffleNet's x.chunk(2, dim=1)), Transpose, Reshape (alias View), Squeeze,
Unsqueeze, PixelShuffle, PixelUnshuffle, ChannelShuffle.

Dims are PyTorch's, counted on the whole tensor: a spec's batch dimension is dim 0 (`Permute:
{dims: [0, 2, 3, 1]}`, `Narrow: {dim: 1, ...}` for channels, `Reshape: {shape: [-1, 512]}`).

No parameters and no cheap ops (they move data). The receptive field follows the moved dims:
Flatten merges them, Permute and Transpose reorder them, Narrow shifts one, PixelShuffle has a fractional
stride 1/r and PixelUnshuffle a window of r.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc import arith, conditions
from cnncalc.arith import add, floor_div, mul, product, sub
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    SHARES_INPUT,
    STRIDED,
    Ctx,
    FieldRule,
    Flow,
    LayerKind,
    Outcome,
    Param,
    Rule,
    SavesRule,
    Shape,
    check_int,
    describe,
    dim_index,
    fmt,
    fmt_tuple,
    in_torch_nn,
    is_int,
    kept_order,
    not_contiguous,
    shape_text,
    step,
    term,
)

if TYPE_CHECKING:
    from cnncalc.layers.fields import Fold, Reorder, Shift, Window

FAMILY = "reshape"


def _flatten(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    start = dim_index("start_dim", ctx["start_dim"], rank)
    end = dim_index("end_dim", ctx["end_dim"], rank)
    if rank == 0:
        return Outcome((1,))
    if start > end:
        raise ShapeError(
            "flatten() has invalid args: start_dim cannot come after end_dim",
            expected="start_dim <= end_dim once negative dims are counted from the end",
            found=f"start_dim={ctx['start_dim']}, end_dim={ctx['end_dim']} on a {rank}-D input",
        )
    merged = product(ctx.x[start : end + 1])
    output = (*ctx.x[:start], merged, *ctx.x[end + 1 :])
    steps = (step("output", numbers=shape_text(output), note=f"dims {start}..{end} multiplied"),) if ctx.explain else ()
    return Outcome(output, steps=steps)


def _unflatten(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    dim = dim_index("dim", ctx["dim"], rank)
    sizes = ctx["unflattened_size"]
    if not isinstance(sizes, tuple) or not sizes:
        raise SpecError("unflattened_size must be a tuple of sizes", expected="a non-empty tuple of integers", found=describe(sizes))
    sizes = tuple(check_int("unflattened_size", s, minimum=-1) for s in sizes)
    known = product(s for s in sizes if s != -1)
    if sum(1 for s in sizes if s == -1) > 1:
        raise SpecError("only one size in unflattened_size may be -1", expected="at most one -1", found=fmt_tuple(sizes))
    if -1 in sizes:
        sizes = tuple(arith.true_div(ctx.x[dim], known) if s == -1 else s for s in sizes)
    if conditions.equal(product(sizes), ctx.x[dim], "unflattened_size multiplies to the dimension") is False or any(not is_int(s) for s in sizes):
        raise ShapeError(
            "unflattened_size must multiply to the size of the dimension",
            expected=f"a product of {fmt(ctx.x[dim])}",
            found=fmt_tuple(tuple(ctx["unflattened_size"])),
        )
    return Outcome((*ctx.x[:dim], *sizes, *ctx.x[dim + 1 :]))


def _permute(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    dims_arg = ctx["dims"]
    dims = dims_arg if isinstance(dims_arg, tuple) else (dims_arg,)
    if len(dims) != rank:
        raise ShapeError(
            "permute(): the number of dims does not match the input's dimensions",
            expected=f"{rank} dims for input {shape_text(ctx.x)}",
            found=f"dims={fmt_tuple(dims)}",
        )
    order = [dim_index("dims", d, rank) for d in dims]
    if len(set(order)) != len(order):
        raise SpecError("permute(): duplicate dims are not allowed", expected="a permutation of the dimensions", found=f"dims={fmt_tuple(dims)}")
    output = tuple(ctx.x[i] for i in order)
    steps = (step("output", numbers=shape_text(output), note=f"input dims reordered as {fmt_tuple(order)}"),) if ctx.explain else ()
    return Outcome(output, steps=steps)


def _narrow(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    if rank == 0:
        raise ShapeError("narrow() cannot be applied to a 0-dim tensor", found=shape_text(ctx.x))
    dim = dim_index("dim", ctx["dim"], rank)
    size = ctx.x[dim]
    start = check_int("start", ctx["start"])
    length = check_int("length", ctx["length"])
    if isinstance(length, int) and length < 0:
        raise SpecError("narrow(): length must be non-negative", expected="length >= 0", found=f"length={length}")
    if isinstance(start, int) and isinstance(size, int) and not -size <= start <= size:
        raise ShapeError(
            "narrow(): start out of range",
            expected=f"start in [{-size}, {size}] for dim {dim} of size {size}",
            found=f"start={start}",
        )
    if isinstance(start, int) and start < 0:
        start = add(size, start)  # PyTorch counts a negative start from the end
    end = add(start, length)
    if conditions.at_least(size, end, "start + length <= the dimension") is False:
        raise ShapeError(
            f"narrow(): start ({fmt(start)}) + length ({fmt(length)}) exceeds dimension size ({fmt(size)})",
            expected=f"start + length <= {fmt(size)}",
            found=f"start + length = {fmt(end)} on input {shape_text(ctx.x)}",
        )
    output = (*ctx.x[:dim], length, *ctx.x[dim + 1 :])
    note = f"dim {dim}: elements {fmt(start)} .. {term(end)} - 1 of {fmt(size)}"
    return Outcome(output, steps=(step("output", numbers=shape_text(output), note=note),) if ctx.explain else ())


def _transpose(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    first = dim_index("dim0", ctx["dim0"], rank)
    second = dim_index("dim1", ctx["dim1"], rank)
    order = list(range(rank))
    order[first], order[second] = second, first
    output = tuple(ctx.x[i] for i in order)
    steps = (step("output", numbers=shape_text(output), note=f"dims {first} and {second} swapped"),) if ctx.explain else ()
    return Outcome(output, steps=steps)


def _reshape(ctx: Ctx) -> Outcome:
    arg = ctx["shape"]
    sizes = tuple(check_int("shape", s, minimum=-1) for s in (arg if isinstance(arg, tuple) else (arg,)))
    if sum(1 for s in sizes if isinstance(s, int) and s == -1) > 1:
        raise SpecError("only one dimension can be inferred", expected="at most one -1 in shape", found=f"shape={fmt_tuple(sizes)}")
    elements = product(ctx.x)
    if -1 in sizes:
        known = product(s for s in sizes if not (isinstance(s, int) and s == -1))
        inferred = arith.true_div(elements, known) if arith.equal(known, 0) is not True else 0
        output = tuple(inferred if isinstance(s, int) and s == -1 else s for s in sizes)
    else:
        output = sizes
    if any(not is_int(s) for s in output) or conditions.equal(product(output), elements, "the new shape holds the input's elements") is False:
        raise ShapeError(
            f"shape {fmt_tuple(sizes)} is invalid for input of size {fmt(elements)}",
            expected=f"sizes that multiply to {fmt(elements)} (the input {shape_text(ctx.x)}, batch included)",
            found=f"shape={fmt_tuple(sizes)}",
        )
    steps = (step("output", numbers=shape_text(output), note="the same elements, batch dimension included"),) if ctx.explain else ()
    return Outcome(output, steps=steps)


def _squeeze(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    arg = ctx["dim"]
    if arg is None:
        dims = tuple(range(rank))
    else:
        dims = tuple(dim_index("dim", d, rank) if rank else 0 for d in (arg if isinstance(arg, tuple) else (arg,)))
    dropped = []
    for i in dims:
        if rank == 0:
            break
        one = arith.equal(ctx.x[i], 1)
        if one is None:
            raise ShapeError(
                f"cannot tell whether dim {i} has size 1 (squeeze removes it only then)",
                expected="a size that is 1 or not for every value of its symbols",
                found=f"size {fmt(ctx.x[i])} in input {shape_text(ctx.x)}",
                hint="bind the symbols with --set NAME=VALUE",
            )
        if one:
            dropped.append(i)
    return Outcome(tuple(size for i, size in enumerate(ctx.x) if i not in dropped))


def _unsqueeze(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    dim = dim_index("dim", ctx["dim"], rank + 1)
    return Outcome((*ctx.x[:dim], 1, *ctx.x[dim:]))


def _pixel_shuffle(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 3:
        raise ShapeError("PixelShuffle expects at least a 3-D input", expected="an input [..., C, H, W]", found=shape_text(ctx.x))
    r = check_int("upscale_factor", ctx["upscale_factor"], minimum=1)
    c, h, w = ctx.x[-3:]
    if conditions.divides(mul(r, r), c, "channels divisible by upscale_factor squared") is False:
        raise ShapeError(
            "channels must be divisible by upscale_factor squared",
            expected=f"channels a multiple of {fmt(mul(r, r))}",
            found=f"{fmt(c)} channels, upscale_factor={fmt(r)}",
        )
    return Outcome((*ctx.x[:-3], floor_div(c, mul(r, r)), mul(h, r), mul(w, r)))


def _pixel_unshuffle(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 3:
        raise ShapeError("PixelUnshuffle expects at least a 3-D input", expected="an input [..., C, H, W]", found=shape_text(ctx.x))
    r = check_int("downscale_factor", ctx["downscale_factor"], minimum=1)
    c, h, w = ctx.x[-3:]
    if conditions.divides(r, h, "H divisible by downscale_factor") is False or conditions.divides(r, w, "W divisible by downscale_factor") is False:
        raise ShapeError(
            "height and width must be divisible by downscale_factor",
            expected=f"H and W multiples of {fmt(r)}",
            found=f"input {shape_text(ctx.x)}, downscale_factor={fmt(r)}",
        )
    return Outcome((*ctx.x[:-3], mul(c, mul(r, r)), floor_div(h, r), floor_div(w, r)))


def _channel_shuffle(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 3:
        raise ShapeError("ChannelShuffle expects at least a 3-D input", expected="an input [N, C, ...] of rank >= 3", found=shape_text(ctx.x))
    groups = check_int("groups", ctx["groups"], minimum=1)
    if conditions.divides(groups, ctx.x[1], "channels divisible by groups") is False:
        raise ShapeError(
            "channels must be divisible by groups",
            expected=f"channels (dim 1) a multiple of groups={fmt(groups)}",
            found=f"{fmt(ctx.x[1])} channels in input {shape_text(ctx.x)}",
        )
    return Outcome(ctx.x)


# ----------------------------------------------------------------------------- receptive field

Args = Mapping[str, Any]


def _flatten_field(kind: LayerKind, args: Args, inputs: tuple[Shape, ...], output: Shape) -> Fold:
    from cnncalc.layers.fields import Fold

    rank = len(inputs[0])
    return Fold(args["start_dim"] % rank, args["end_dim"] % rank) if rank else Fold(0, -1)


def _permute_field(kind: LayerKind, args: Args, inputs: tuple[Shape, ...], output: Shape) -> Reorder:
    from cnncalc.layers.fields import Reorder

    rank = len(inputs[0])
    order = [d % rank for d in (args["dims"] if isinstance(args["dims"], tuple) else (args["dims"],))]
    return Reorder({src - rank: out - rank for out, src in enumerate(order)})


def _transpose_field(kind: LayerKind, args: Args, inputs: tuple[Shape, ...], output: Shape) -> Reorder:
    from cnncalc.layers.fields import Reorder

    rank = len(inputs[0])
    first, second = args["dim0"] % rank - rank, args["dim1"] % rank - rank
    moved = {d: d for d in range(-rank, 0)}
    moved[first], moved[second] = second, first
    return Reorder(moved)


def _narrow_field(kind: LayerKind, args: Args, inputs: tuple[Shape, ...], output: Shape) -> Shift:
    from cnncalc.layers.fields import Shift

    x = inputs[0]
    dim = args["dim"] - len(x) if args["dim"] >= 0 else args["dim"]
    begin = args["start"]
    if isinstance(begin, int) and begin < 0:
        begin = add(x[dim], begin)
    return Shift({dim: sub(0, begin)})


def _pixel_shuffle_field(kind: LayerKind, args: Args, inputs: tuple[Shape, ...], output: Shape) -> Window:
    from cnncalc.layers.fields import Window

    r = args["upscale_factor"]
    inv = arith.true_div(1, r)
    m = (inv, sub(inv, 1), sub(1, inv))
    return Window((m, m), exact=False, note=f"fractional stride (PixelShuffle): 1/{term(r)}", what="bound")


def _pixel_unshuffle_field(kind: LayerKind, args: Args, inputs: tuple[Shape, ...], output: Shape) -> Window:
    from cnncalc.layers.fields import Window

    r = args["downscale_factor"]
    return Window(((r, 0, sub(r, 1)),) * 2)


def _kind(name: str, params: tuple[Param, ...], rule: Rule, field: FieldRule | None = None, origin: str = "torch.nn") -> LayerKind:
    return LayerKind(name, params, rule, family=FAMILY, field=field, origin=origin)


def _view_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing; the output is a view of the (contiguous) input. An input that is not
    contiguous is refused: whether PyTorch's reshape views or copies it depends on the sizes."""
    if not flow.contiguous[0]:
        raise SpecError(not_contiguous("a reshape"), expected="a contiguous input", found="a permuted or sliced view")
    return (SHARES_INPUT,)


# `cnncalc export`: the tensor methods as modules (torchvision's Permute among them), written
# into the exported file: the class name, its arguments (name: annotation) and the call.
_METHOD = '''class {name}(nn.Module):
    """x.{call} as a module."""

    def __init__(self, {signature}) -> None:
        super().__init__()
{assignments}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.{forward}
'''


# Reshape: a None in the shape is a size read from another tensor at run time (Ultralytics'
# attention: [-1, heads, d, H * W]), given to forward in order: `self.heads(out, x.shape[-2] * x.shape[-1])`.
_RESHAPE = '''class Reshape(nn.Module):
    """x.reshape(shape) as a module; each None in shape is a size given to forward."""

    def __init__(self, shape: tuple[int | None, ...]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor, *sizes: int) -> torch.Tensor:
        given = iter(sizes)
        return x.reshape([next(given) if d is None else d for d in self.shape])
'''


def _method(name: str, args: tuple[tuple[str, str], ...], call: str) -> str:
    """The helper class of a tensor method: `args` (name, annotation), `call` over the names."""
    return _METHOD.format(
        name=name,
        call=call,
        signature=", ".join(f"{arg}: {annotation}" for arg, annotation in args),
        assignments="\n".join(f"        self.{arg} = {arg}" for arg, _ in args),
        forward=call.replace("(", "(self.", 1).replace(", ", ", self."),
    )


_DIMS = "tuple[int, ...]"


def _always_view_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing; the output is a view of the input (Squeeze, Unsqueeze)."""
    return (SHARES_INPUT,)


def _permute_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing; the output is a view of the input, not contiguous unless the dims
    larger than 1 keep their order."""
    x = inputs[0]
    if "dims" in args:
        dims = args["dims"] if isinstance(args["dims"], tuple) else (args["dims"],)
        order = [d % len(x) for d in dims]
    else:
        order = list(range(len(x)))
        a, b = args["dim0"] % len(x), args["dim1"] % len(x)
        order[a], order[b] = order[b], order[a]
    return (SHARES_INPUT,) if kept_order(x, order) else (SHARES_INPUT, STRIDED)


def _narrow_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing; the output is a view of the input, not contiguous unless every dim
    before `dim` is 1 or the whole dim is kept."""
    x = inputs[0]
    dim = args["dim"] % len(x)
    whole = all(d == 1 for d in x[:dim]) or output[dim] == x[dim]
    return (SHARES_INPUT,) if whole else (SHARES_INPUT, STRIDED)


def _copy_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing; the output is a new tensor (the elements moved)."""
    return ()


_VIEW = "nothing (a view of its input; an input that is not contiguous is refused)"
_PERMUTED = "nothing (a view of its input, not contiguous)"
_SAVES: dict[str, tuple[SavesRule, str]] = {
    "Flatten": (_view_saves, _VIEW),
    "Unflatten": (_view_saves, _VIEW),
    "Reshape": (_view_saves, _VIEW),
    "Squeeze": (_always_view_saves, "nothing (a view of its input)"),
    "Unsqueeze": (_always_view_saves, "nothing (a view of its input)"),
    "Permute": (_permute_saves, _PERMUTED),
    "Transpose": (_permute_saves, _PERMUTED),
    "Narrow": (_narrow_saves, _PERMUTED),
    "PixelShuffle": (_copy_saves, "nothing (a new tensor)"),
    "PixelUnshuffle": (_copy_saves, "nothing (a new tensor)"),
    "ChannelShuffle": (_copy_saves, "nothing (a new tensor)"),
}


def _with_saves(kind: LayerKind) -> LayerKind:
    """Its training rule; the same under autocast (moving elements never changes their dtype)."""
    rule, doc = _SAVES[kind.name]
    return kind._replace(saves=rule, saves_doc=doc)


def kinds() -> list[LayerKind]:
    """The reshape family's kinds."""
    return [_with_saves(k) for k in _kinds()]


def _kinds() -> list[LayerKind]:
    return [
        in_torch_nn(_kind("Flatten", (Param("start_dim", 1), Param("end_dim", -1)), _flatten, _flatten_field)),
        in_torch_nn(_kind("Unflatten", (Param("dim"), Param("unflattened_size", kind="size")), _unflatten)),
        _kind("Permute", (Param("dims", kind="ints"),), _permute, _permute_field, "torchvision.ops.misc.Permute")._replace(
            torch=_method("Permute", (("dims", _DIMS),), "permute(dims)")
        ),
        _kind("Narrow", (Param("dim"), Param("start"), Param("length")), _narrow, _narrow_field, "torch.narrow(x, dim, start, length)")._replace(
            torch=_method("Narrow", (("dim", "int"), ("start", "int"), ("length", "int")), "narrow(dim, start, length)")
        ),
        _kind("Transpose", (Param("dim0"), Param("dim1")), _transpose, _transpose_field, "x.transpose(dim0, dim1) (torch.transpose)")._replace(
            torch=_method("Transpose", (("dim0", "int"), ("dim1", "int")), "transpose(dim0, dim1)")
        ),
        _kind("Reshape", (Param("shape", kind="ints"),), _reshape, None, "x.reshape(shape), x.view(shape) (batch dimension included)")._replace(
            torch=_RESHAPE
        ),
        _kind("Squeeze", (Param("dim", None, "ints"),), _squeeze, None, "x.squeeze(dim) (torch.squeeze)")._replace(torch=_SQUEEZE),
        _kind("Unsqueeze", (Param("dim"),), _unsqueeze, None, "x.unsqueeze(dim) (torch.unsqueeze)")._replace(
            torch=_method("Unsqueeze", (("dim", "int"),), "unsqueeze(dim)")
        ),
        in_torch_nn(_kind("PixelShuffle", (Param("upscale_factor"),), _pixel_shuffle, _pixel_shuffle_field)),
        in_torch_nn(_kind("PixelUnshuffle", (Param("downscale_factor"),), _pixel_unshuffle, _pixel_unshuffle_field)),
        in_torch_nn(_kind("ChannelShuffle", (Param("groups"),), _channel_shuffle)),
    ]


_SQUEEZE = '''class Squeeze(nn.Module):
    """x.squeeze(dim) as a module (every size-1 dim when dim is None)."""

    def __init__(self, dim: int | tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze() if self.dim is None else x.squeeze(self.dim)
'''
