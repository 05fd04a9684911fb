"""Convolutions: Conv1d/2d/3d and ConvTranspose1d/2d/3d.

params  = C_out*(C_in/groups)*prod(k) (+ C_out bias); transposed: C_in*(C_out/groups)*prod(k) (+ C_out).
MACs    = output elements * (C_in/groups) * prod(k); a transposed conv is counted on its input
          positions: input elements * (C_out/groups) * prod(k) (each input element is scattered
          through its weights). Both go to the "conv" MAC total; convs have no cheap ops.
Field   = a sliding window (a = s, b = -p, w = d*(k-1)); transposed: a fractional stride 1/s, a bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc import arith, conditions
from cnncalc.arith import add, floor_div, mul, product, sub
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    AUTOCAST,
    AXES,
    IGNORED,
    SAVES_INPUT,
    WEIGHT_CAST,
    Ctx,
    Flow,
    LayerKind,
    Outcome,
    Param,
    Shape,
    check_bool,
    check_int,
    fmt,
    fmt_tuple,
    in_torch_nn,
    infer_channels,
    per_axis,
    positive_axes,
    shape_text,
    spatial_input,
    step,
    term,
    too_small,
)
from cnncalc.layers.windows import window_size, window_text

if TYPE_CHECKING:
    from cnncalc.explain import Step
    from cnncalc.layers.fields import Window

FAMILY = "conv"
_MODES = ("zeros", "reflect", "replicate", "circular")


def _groups(ctx: Ctx, in_channels: Any, out_channels: Any) -> Any:
    groups = check_int("groups", ctx["groups"])
    if conditions.at_least(groups, 1, "groups >= 1") is False:
        raise SpecError("groups must be a positive integer", expected="groups >= 1", found=f"groups={groups}")
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if conditions.divides(groups, value, f"{name} divisible by groups") is False:
            raise SpecError(
                f"{name} must be divisible by groups",
                expected=f"{name} a multiple of groups={fmt(groups)}",
                found=f"{name}={fmt(value)}",
            )
    return groups


def _conv_args(ctx: Ctx) -> tuple[int, Shape, Any, Any, tuple[Any, ...], tuple[Any, ...], tuple[Any, ...], Any, bool]:
    """The checked arguments a convolution and a transposed one share: (channel axis, spatial
    sizes, C_in, C_out, kernel, stride, dilation, groups, bias)."""
    n = ctx.kind.spatial
    channel_axis, sizes = spatial_input(ctx)
    cin = infer_channels(ctx, "in_channels", ctx.x[channel_axis])
    cout = check_int("out_channels", ctx["out_channels"], minimum=1)
    kernel = positive_axes("kernel_size", ctx["kernel_size"], n, single=False)
    stride = positive_axes("stride", ctx["stride"], n)
    dilation = positive_axes("dilation", ctx["dilation"], n)
    groups = _groups(ctx, cin, cout)
    return channel_axis, sizes, cin, cout, kernel, stride, dilation, groups, check_bool("bias", ctx["bias"])


def _conv_steps(
    ctx: Ctx, transposed: bool, output: Shape, cin: Any, cout: Any, groups: Any, kernel: tuple[Any, ...], bias: bool, params: Any, macs: Any
) -> list[Step]:
    """The params and MACs formulas with numbers. MACs count the output positions of a
    convolution and the input positions of a transposed one (each input scatters through its weights)."""
    n = ctx.kind.spatial
    positions = ctx.x if transposed else output
    outer, inner = ("C_in", "C_out") if transposed else ("C_out", "C_in")
    outer_size, inner_size = (cin, cout) if transposed else (cout, cin)
    k_names = "*".join("k" + a.lower() for a in AXES[n])
    per_weight = f"({term(inner_size)}/{term(groups)})*" + "*".join(term(k) for k in kernel)
    names = ["N"] * (len(positions) - n - 1) + [outer] + [a + ("_in" if transposed else "_out") for a in AXES[n]]
    return [
        step(
            "params",
            f"{outer}*({inner}/groups)*{k_names}" + (" + C_out" if bias else ""),
            f"{term(outer_size)}*{per_weight}" + (f" + {term(cout)}" if bias else ""),
            params,
        ),
        step("MACs", f"{'*'.join(names)}*({inner}/groups)*{k_names}", f"{'*'.join(term(v) for v in positions)}*{per_weight}", macs),
    ]


def _conv(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    channel_axis, sizes, cin, cout, kernel, stride, dilation, groups, bias = _conv_args(ctx)
    padding_arg = ctx["padding"]
    steps: list[Step] = []
    if isinstance(padding_arg, str):
        if padding_arg not in ("same", "valid"):
            raise SpecError("invalid padding", expected="an integer, a tuple, 'same' or 'valid'", found=repr(padding_arg))
        if padding_arg == "same" and any(s != 1 for s in stride):
            raise SpecError(
                "padding='same' is not supported for strided convolutions (as in PyTorch)",
                expected="stride=1 with padding='same'",
                found=f"stride={fmt_tuple(stride)}",
                hint="compute the padding explicitly, e.g. padding=(kernel_size-1)//2 for odd kernels",
            )
        pads: tuple[Any, ...] = (0,) * n
        if padding_arg == "same":
            # PyTorch pads d*(k-1) in total, the extra one (odd totals) on the right: size is kept.
            pads = tuple(floor_div(mul(d, sub(k, 1)), 2) for d, k in zip(dilation, kernel))
    else:
        pads = per_axis("padding", padding_arg, n, minimum=0)
    mode = ctx["padding_mode"]
    if mode != "zeros" and isinstance(padding_arg, tuple) and len(padding_arg) == 1 and n > 1:
        # Non-zero modes hand the tuple to F.pad as given: (p,) pads only the last axis, and
        # F.pad takes two pad values only for a 2-D or 3-D tensor.
        if len(ctx.x) != 3:
            raise ShapeError(
                f"padding_mode={mode!r} with a one-value padding tuple pads only the last axis, "
                "which PyTorch supports only for a 3-D (unbatched 2-D) input",
                expected=f"padding as an integer or {n} values",
                found=f"padding={fmt_tuple(padding_arg)} for input {shape_text(ctx.x)}",
            )
        pads = (0,) * (n - 1) + pads[-1:]
    widest = pads
    if padding_arg == "same":
        # The right side gets the larger half of d*(k-1): it bounds reflect/circular padding.
        widest = tuple(sub(mul(d, sub(k, 1)), p) for d, k, p in zip(dilation, kernel, pads))
    _check_padding_mode(mode, widest, sizes)
    outs = []
    for axis, size, k, s, p, d in zip(AXES[n], sizes, kernel, stride, pads, dilation):
        if padding_arg == "same":
            out = size
            if ctx.explain:
                steps.append(step(f"{axis}_out", axis, "", size, note="padding='same', stride 1"))
        else:
            out = window_size(size, k, s, p, d)
            if ctx.explain:
                steps.append(step(f"{axis}_out", f"floor(({axis} + 2p - d(k-1) - 1)/s) + 1", window_text(size, k, s, p, d), out))
        outs.append(out)
    too_small(
        ctx, outs, "floor((in + 2p - d(k-1) - 1)/s) + 1",
        lambda i: window_text(sizes[i], kernel[i], stride[i], pads[i], dilation[i]),
    )
    output = (*ctx.x[:channel_axis], cout, *outs)
    per_filter = mul(arith.true_div(cin, groups), product(kernel))
    bias_params = cout if bias else 0
    params = add(mul(cout, per_filter), bias_params)
    macs = mul(product(output), per_filter)
    if ctx.explain:
        steps += _conv_steps(ctx, False, output, cin, cout, groups, kernel, bias, params, macs)
    return Outcome(output, params, bias_params, 0, macs, tuple(steps))


def _check_padding_mode(mode: Any, pads: tuple[Any, ...], sizes: Shape) -> None:
    if mode not in _MODES:
        raise SpecError(
            "invalid padding_mode",
            expected="'zeros', 'reflect', 'replicate' or 'circular'",
            found=repr(mode),
        )
    for p, size in zip(pads, sizes):
        if not (isinstance(p, int) and isinstance(size, int)):
            continue
        if mode == "reflect" and p >= size:
            raise ShapeError(
                "reflect padding must be smaller than the input size",
                expected=f"padding < {size}",
                found=f"padding {p} on an axis of size {size}",
            )
        if mode == "circular" and p > size:
            raise ShapeError(
                "circular padding may wrap around at most once",
                expected=f"padding <= {size}",
                found=f"padding {p} on an axis of size {size}",
            )


def _conv_transpose(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    channel_axis, sizes, cin, cout, kernel, stride, dilation, groups, bias = _conv_args(ctx)
    if isinstance(ctx["padding"], str):
        raise SpecError(
            f"{ctx.kind.name} does not support padding={ctx['padding']!r} (PyTorch fails when it runs)",
            expected="an integer or a tuple of integers",
            found=repr(ctx["padding"]),
        )
    pads = per_axis("padding", ctx["padding"], n, minimum=0)
    output_padding = per_axis("output_padding", ctx["output_padding"], n, minimum=0)
    if ctx["padding_mode"] != "zeros":
        raise SpecError(
            f"only padding_mode='zeros' is supported for {ctx.kind.name}",
            expected="padding_mode='zeros'",
            found=f"padding_mode={ctx['padding_mode']!r}",
        )
    for op, s, d in zip(output_padding, stride, dilation):
        if conditions.at_least(arith.maximum(s, d), add(op, 1), "output_padding < max(stride, dilation)") is False:
            raise ShapeError(
                "output padding must be smaller than either stride or dilation",
                expected=f"output_padding < max(stride, dilation) = {fmt(arith.maximum(s, d))}",
                found=f"output_padding={fmt_tuple(output_padding)}",
            )

    def worked(i: int) -> str:
        return (
            f"({term(sizes[i])}-1)*{term(stride[i])} - 2*{term(pads[i])} + "
            f"{term(dilation[i])}*({term(kernel[i])}-1) + {term(output_padding[i])} + 1"
        )

    steps: list[Step] = []
    outs = []
    for i, (axis, size, k, s, p, d, op) in enumerate(zip(AXES[n], sizes, kernel, stride, pads, dilation, output_padding)):
        out = add(add(add(sub(mul(sub(size, 1), s), mul(2, p)), mul(d, sub(k, 1))), op), 1)
        if ctx.explain:
            steps.append(step(f"{axis}_out", f"({axis}-1)*s - 2p + d(k-1) + output_padding + 1", worked(i), out))
        outs.append(out)
    too_small(ctx, outs, "(in-1)*s - 2p + d(k-1) + output_padding + 1", worked)
    output = (*ctx.x[:channel_axis], cout, *outs)
    per_input = mul(arith.true_div(cout, groups), product(kernel))
    bias_params = cout if bias else 0
    params = add(mul(cin, per_input), bias_params)
    macs = mul(product(ctx.x), per_input)  # each input element is scattered through (C_out/g)*prod(k)
    if ctx.explain:
        steps += _conv_steps(ctx, True, output, cin, cout, groups, kernel, bias, params, macs)
    return Outcome(output, params, bias_params, 0, macs, tuple(steps))


# ----------------------------------------------------------------------------- receptive field


def _conv_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Window:
    from cnncalc.layers.fields import sliding

    n = kind.spatial
    kernel = per_axis("kernel_size", args["kernel_size"], n)
    stride = per_axis("stride", args["stride"], n)
    dilation = per_axis("dilation", args["dilation"], n)
    padding = args["padding"]
    if padding == "same":
        pads = tuple(floor_div(mul(d, sub(k, 1)), 2) for k, d in zip(kernel, dilation))
    elif padding == "valid":
        pads = (0,) * n
    else:
        pads = per_axis("padding", padding, n)
    return sliding(kernel, stride, pads, dilation)


def _transposed_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Window:
    from cnncalc.layers.fields import Window

    n = kind.spatial
    kernel = per_axis("kernel_size", args["kernel_size"], n)
    stride = per_axis("stride", args["stride"], n)
    dilation = per_axis("dilation", args["dilation"], n)
    pads = per_axis("padding", args["padding"], n)
    maps = []
    for k, s, p, d in zip(kernel, stride, pads, dilation):
        span = mul(d, sub(k, 1))
        # output o gathers inputs i with i*s - p + t*d = o: i in [(o + p - span)/s, (o + p)/s]
        maps.append((arith.true_div(1, s), arith.true_div(sub(p, span), s), arith.true_div(span, s)))
    note = "fractional stride (transposed conv): " + "x".join("1/" + term(s) for s in stride)
    return Window(tuple(maps), exact=False, note=note, what="transposed")


# ----------------------------------------------------------------------------- kinds


def _conv_params(transposed: bool) -> tuple[Param, ...]:
    head = (
        Param("in_channels", None, inferred=True),
        Param("out_channels"),
        Param("kernel_size", kind="ints"),
        Param("stride", 1, "ints"),
        Param("padding", 0, "padding"),
    )
    dilation, groups, bias = Param("dilation", 1, "ints"), Param("groups", 1), Param("bias", True, "bool")
    mode = Param("padding_mode", "zeros", "str", _MODES)
    if transposed:
        return head + (Param("output_padding", 0, "ints"), groups, bias, dilation, mode) + IGNORED
    return head + (dilation, groups, bias, mode) + IGNORED


def _conv_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input (for the weight's gradient; the weight is a parameter), even when the
    input needs no gradient; under autocast a 16-bit input and a 16-bit copy of the weight.
    Measured with padding_mode 'zeros' (the other modes pad the input first)."""
    if args.get("padding_mode", "zeros") != "zeros":
        raise SpecError(
            "training memory is modelled for padding_mode 'zeros' only",
            expected="padding_mode: zeros", found=f"padding_mode: {args.get('padding_mode')}",
        )
    return (SAVES_INPUT, AUTOCAST, WEIGHT_CAST)


def kinds() -> list[LayerKind]:
    """The conv family's kinds."""
    conv, transposed = _conv_params(False), _conv_params(True)
    return [in_torch_nn(k._replace(saves=_conv_saves, saves_doc=_CONV_SAVES)) for k in _kinds(conv, transposed)]


_CONV_SAVES = "input (autocast: its 16-bit cast, and a 16-bit copy of the weight)"


def _kinds(conv: tuple[Param, ...], transposed: tuple[Param, ...]) -> list[LayerKind]:
    return [
        LayerKind(
            f"Conv{n}d", conv, _conv, n, family=FAMILY, field=_conv_field, mac_kind="conv", unbatched=True,
            params_doc="C_out*(C_in/groups)*prod(kernel_size) weight + C_out bias",
            macs_doc="output elements * (C_in/groups) * prod(kernel_size)",
        )
        for n in (1, 2, 3)
    ] + [
        LayerKind(
            f"ConvTranspose{n}d", transposed, _conv_transpose, n, family=FAMILY, field=_transposed_field, mac_kind="conv", unbatched=True,
            params_doc="C_in*(C_out/groups)*prod(kernel_size) weight + C_out bias",
            macs_doc="input elements * (C_out/groups) * prod(kernel_size)",
        )
        for n in (1, 2, 3)
    ]
