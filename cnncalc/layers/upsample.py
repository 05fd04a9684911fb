"""Upsample and Interpolate (F.interpolate, which nn.Upsample calls; it adds `antialias` and takes a
scale_factor of 0 as given): nearest, linear, bilinear, bicubic, trilinear and area interpolation
to a size (`size: enc3.spatial`, another node's) or by a scale factor.

No parameters. Cheap ops ("upsample"): output elements * taps (nearest 1, linear 2, bilinear
4, trilinear 8, bicubic 16); 'area' as an adaptive average pool, the sum of its windows. The
receptive field has a fractional stride (in/out) and is a bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc import arith
from cnncalc.arith import mul, product
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    SAVES_INPUT,
    Ctx,
    Flow,
    LayerKind,
    Outcome,
    Param,
    Shape,
    check_bool,
    check_number,
    count_term,
    describe,
    fmt_tuple,
    in_torch_nn,
    per_axis,
    shape_text,
    step,
)
from cnncalc.layers.windows import adaptive_windows

if TYPE_CHECKING:
    from cnncalc.explain import Step
    from cnncalc.layers.fields import Window

FAMILY = "upsample"
# The spatial axes each interpolating mode works on (None: any).
_MODES = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3, "area": None}
_TAPS = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 4, "trilinear": 8, "bicubic": 16}


def _upsample(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    n = rank - 2
    mode = ctx["mode"]
    if mode not in _MODES:
        raise SpecError(f"unknown {ctx.kind.name} mode", expected="one of " + ", ".join(_MODES), found=repr(mode))
    if n < 1 or n > 3:
        raise ShapeError(
            f"{ctx.kind.name} expects a batched input with 1 to 3 spatial axes",
            expected="a 3-D, 4-D or 5-D input [N, C, ...]",
            found=f"{rank}-D input {shape_text(ctx.x)}",
        )
    axes = _MODES[mode]
    if axes is not None and axes != n:
        raise ShapeError(
            f"mode {mode!r} needs a {axes + 2}-D input",
            expected=f"{axes + 2}-D input",
            found=f"{rank}-D input {shape_text(ctx.x)}",
        )
    align = ctx["align_corners"]
    if align is not None and axes is None:
        raise SpecError(
            "align_corners can only be set with the interpolating modes: linear, bilinear, bicubic, trilinear",
            expected="align_corners=None (omit it)",
            found=f"align_corners={align!r} with mode={mode!r}",
        )
    if align is not None and not isinstance(align, bool):
        raise SpecError("align_corners must be true, false or null", expected="a boolean", found=describe(align))
    size, scale = ctx["size"], ctx["scale_factor"]
    functional = ctx.kind.name == "Interpolate"
    if not isinstance(scale, tuple) and not scale and not (functional and scale is not None):
        scale = None  # nn.Upsample stores `float(scale_factor) if scale_factor else None`
    if functional and ctx["antialias"] is not False:
        check_bool("antialias", ctx["antialias"])
        if mode not in ("bilinear", "bicubic") or rank != 4:
            raise SpecError(
                "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D tensor as input",
                expected="antialias=True only with mode bilinear or bicubic on [N, C, H, W]",
                found=f"mode={mode!r} on a {rank}-D input",
            )
    if (size is None) == (scale is None):
        raise SpecError(
            f"{ctx.kind.name} needs exactly one of size and scale_factor",
            expected="size=... or scale_factor=...",
            found=f"size={size!r}, scale_factor={scale!r}",
        )
    recompute = ctx["recompute_scale_factor"]
    if size is not None and recompute:
        raise SpecError(
            "recompute_scale_factor is not meaningful with an explicit size",
            expected="recompute_scale_factor only together with scale_factor",
            found=f"size={size!r}, recompute_scale_factor={recompute!r}",
        )
    for axis, extent in enumerate(ctx.x[1:], start=1):
        if isinstance(extent, int) and extent <= 0:
            raise ShapeError(
                f"{ctx.kind.name} needs a non-empty input",
                expected="channels and every spatial size >= 1",
                found=f"size {extent} in dimension {axis} of input {shape_text(ctx.x)}",
            )
    if size is not None:
        if isinstance(size, tuple) and len(size) != n:
            # Unlike the conv/pool arguments, a 1-tuple is not repeated.
            raise SpecError(
                "size needs one value per spatial axis",
                expected=f"an integer or {n} integers for input {shape_text(ctx.x)}",
                found=describe(size),
            )
        outs = per_axis("size", size, n, minimum=0)
    else:
        outs = _scaled(ctx, scale, n)
    steps: tuple[Step, ...] = ()
    if ctx.explain:
        formula, note = ("", "given") if size is not None else ("floor(in * scale_factor)", "")
        steps = (step("output size", formula, fmt_tuple(outs), note=note),)
    return Outcome((*ctx.x[:2], *outs), steps=steps)


def _scaled(ctx: Ctx, scale: Any, n: int) -> tuple[Any, ...]:
    if isinstance(scale, tuple):
        if len(scale) != n:
            raise SpecError(
                "scale_factor needs one value per spatial axis",
                expected=f"a number or {n} numbers for input {shape_text(ctx.x)}",
                found=describe(scale),
            )
        scales = scale
    else:
        scales = (scale,) * n
    for value in scales:
        if not isinstance(value, bool):
            check_number("scale_factor", value)
        if arith.is_number(value) and value <= 0:
            raise SpecError("scale_factor must be positive", expected="scale_factor > 0", found=f"scale_factor={value}")
    # PyTorch stores float(scale_factor) and computes floor(size * scale) in double precision.
    return tuple(
        arith.floor(float(s) * float(f)) if arith.is_number(s) and arith.is_number(f) else arith.floor(mul(s, f))
        for s, f in zip(ctx.x[2:], scales)
    )


def _upsample_ops(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> tuple[Any, Step]:
    """Output elements * taps; 'area' the sum of its windows (as an adaptive average pool's)."""
    mode = args.get("mode", "nearest")
    if mode == "area":
        n = len(output) - 2
        total = mul(product(output[:-n]), adaptive_windows(inputs[0][-n:], output[-n:]))
        return total, step("upsample ops", "sum of the area windows", "", total)
    elements = product(output)
    taps = _TAPS.get(mode, 1)
    ops = mul(elements, taps)
    return ops, step("upsample ops", f"output elements*taps ({mode})", (count_term(elements), f"*{taps}"), ops)


def _upsample_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Window:
    from fractions import Fraction

    from cnncalc.layers.fields import Window, uneven_map

    x = inputs[0]
    n = len(x) - 2
    mode = args.get("mode", "nearest")
    align = bool(args.get("align_corners"))
    maps = []
    for size, out in zip(x[-n:], output[-n:]):
        if mode in ("nearest", "nearest-exact"):
            maps.append((arith.true_div(size, out), -1, 1))
        elif mode == "area":
            maps.append(uneven_map(size, out))
        else:
            taps = 2 if mode == "bicubic" else 1  # the source point's neighbours on each side
            if align:
                a = arith.true_div(arith.sub(size, 1), arith.sub(out, 1)) if arith.equal(out, 1) is False else 0
                maps.append((a, -taps, 2 * taps))
            else:
                a = arith.true_div(size, out)
                maps.append((a, arith.sub(arith.true_div(a, 2), Fraction(1, 2) + taps), 2 * taps))
    sized = args.get("size") is not None or align
    return Window(tuple(maps), exact=False, sized=sized, note=f"fractional stride (Upsample, {mode})", what="bound")


# `cnncalc export`: F.interpolate as a module, written into the exported file; the size may be
# given at run time (`self.resize(x, input.shape[2:])`), so the module works at every input size.
_INTERPOLATE = '''class Interpolate(nn.Module):
    """F.interpolate as a module; the size is fixed here or given to forward."""

    def __init__(
        self, size: int | tuple[int, ...] | None = None, **options: object
    ) -> None:
        super().__init__()
        self.size = size
        self.options = options

    def forward(
        self, x: torch.Tensor, size: int | tuple[int, ...] | None = None
    ) -> torch.Tensor:
        size = self.size if size is None else size
        if size is not None and not isinstance(size, int):
            size = [int(s) for s in size]
        return F.interpolate(x, size=size, **self.options)
'''


def _upsample_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing for the interpolating modes (the gradient needs only the sizes); mode
    'area' is an adaptive average pool: the input, or nothing for an output of size 1. Under
    autocast only 'bilinear' and 'nearest' were measured; antialias was not."""
    mode = args.get("mode", "nearest")
    if args.get("antialias"):
        raise SpecError("training memory is not modelled with antialias", expected="antialias: false", found="true")
    if flow.mixed and mode not in ("bilinear", "nearest"):
        raise SpecError(
            f"its saved tensors under autocast were not measured for mode {mode!r}", expected="mode 'bilinear' or 'nearest' with --mixed", found=repr(mode),
        )
    if mode == "area" and flow.grad and any(d != 1 for d in output[2:]):
        return (SAVES_INPUT,)
    return ()


_SAVES_DOC = "nothing (mode area: input, unless the output is 1 per axis)"


def kinds() -> list[LayerKind]:
    """The upsample family's kinds."""
    params = (
        Param("size", None, "size"),
        Param("scale_factor", None, "any"),
        Param("mode", "nearest", "str", tuple(_MODES)),
        Param("align_corners", None, "any"),
        Param("recompute_scale_factor", None, "any"),
    )
    ops_doc = "output elements * taps (nearest 1, linear 2, bilinear 4, trilinear 8, bicubic 16); area: the sum of its windows"
    return [
        in_torch_nn(
            LayerKind(
                "Upsample", params, _upsample, family=FAMILY, cheap=_upsample_ops, op_kind="upsample", field=_upsample_field, ops_doc=ops_doc,
                saves=_upsample_saves, saves_doc=_SAVES_DOC,
            )
        ),
        LayerKind(
            "Interpolate", (*params, Param("antialias", False, "bool")), _upsample, family=FAMILY, cheap=_upsample_ops, op_kind="upsample",
            field=_upsample_field, ops_doc=ops_doc + " (antialias counted alike)",
            origin="F.interpolate(x, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)", torch=_INTERPOLATE,
            saves=_upsample_saves, saves_doc=_SAVES_DOC,
        ),
    ]
