"""Pooling: MaxPool, AvgPool, AdaptiveMaxPool, AdaptiveAvgPool (1-D to 3-D), LPPool1d/2d.

No parameters, buffers or MACs. Cheap ops ("pool"): a sliding pool does output elements *
window (prod(kernel_size)) compares or adds; an adaptive pool the sum of its windows (= input
elements when the output size divides the input size). The receptive field is a sliding window
(a = s, b = -p, w = d*(k-1)); an adaptive pool's depends on the input size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc import arith, conditions
from cnncalc.arith import mul, product
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    ACTIVATION,
    AXES,
    SAVES_INPUT,
    Ctx,
    Flow,
    LayerKind,
    Outcome,
    Param,
    Rule,
    Shape,
    check_bool,
    check_int,
    check_number,
    count_term,
    describe,
    fmt_tuple,
    in_torch_nn,
    per_axis,
    positive_axes,
    shape_text,
    spatial_input,
    step,
    term,
    unmeasured_mixed,
)
from cnncalc.layers.windows import adaptive_windows, window_sizes, window_steps

if TYPE_CHECKING:
    from cnncalc.explain import Step
    from cnncalc.layers.fields import Window

FAMILY = "pool"


def _stride(ctx: Ctx, kernel: tuple[Any, ...]) -> tuple[Any, ...]:
    """The stride argument; None (or an empty tuple) means the kernel size, as in PyTorch."""
    stride_arg = ctx["stride"]
    return kernel if stride_arg is None or stride_arg == () else positive_axes("stride", stride_arg, ctx.kind.spatial)


def _pool(ctx: Ctx, is_max: bool) -> Outcome:
    n = ctx.kind.spatial
    _, sizes = spatial_input(ctx)
    kernel = positive_axes("kernel_size", ctx["kernel_size"], n)
    stride = _stride(ctx, kernel)
    pads = per_axis("padding", ctx["padding"], n, minimum=0)
    dilation = positive_axes("dilation", ctx["dilation"], n) if is_max else (1,) * n
    ceil_mode = check_bool("ceil_mode", ctx["ceil_mode"])
    for p, k in zip(pads, kernel):
        # PyTorch compares with half the kernel itself, not the dilated kernel.
        if conditions.at_least(k, mul(2, p), "padding <= kernel_size/2") is False:
            raise ShapeError(
                "pad should be at most half of kernel size",
                expected=f"padding <= kernel_size/2 = {k / 2:g}",
                found=f"padding={fmt_tuple(pads)}, kernel_size={fmt_tuple(kernel)}",
            )
    divisor = ctx.args.get("divisor_override")
    if not is_max and divisor is not None:
        # PyTorch accepts any non-zero divisor, negative ones included.
        check_int("divisor_override", divisor)
        if isinstance(divisor, int) and divisor == 0:
            raise SpecError("divisor_override must not be zero", expected="a non-zero integer or null", found="divisor_override=0")
    if not is_max and n == 3:
        # avg_pool3d (unlike the 1-D/2-D pools) checks the unpadded input against the kernel.
        for axis, size, k in zip(AXES[n], sizes, kernel):
            if conditions.at_least(size, k, f"input size {axis} >= kernel_size") is False:
                raise ShapeError(
                    f"AvgPool3d input is smaller than the kernel along {axis}",
                    expected=f"every input size >= kernel_size {fmt_tuple(kernel)} (padding does not count)",
                    found=f"input {shape_text(ctx.x)}",
                )
    return _windowed(ctx, sizes, kernel, stride, pads, dilation, ceil_mode)


def _windowed(ctx: Ctx, sizes: Shape, kernel: Shape, stride: Shape, pads: Shape, dilation: Shape, ceil_mode: bool) -> Outcome:
    outs = window_sizes(ctx, sizes, kernel, stride, pads, dilation, ceil_mode)
    steps = window_steps(sizes, kernel, stride, pads, dilation, ceil_mode, outs) if ctx.explain else ()
    return Outcome((*ctx.x[: len(ctx.x) - len(sizes)], *outs), steps=tuple(steps))


def _max_pool(ctx: Ctx) -> Outcome:
    return _pool(ctx, True)


def _avg_pool(ctx: Ctx) -> Outcome:
    return _pool(ctx, False)


def _lp_pool(ctx: Ctx) -> Outcome:
    """nn.LPPool1d/2d(norm_type, kernel_size, stride=None, ceil_mode=False): (sum over the window
    of x^p)^(1/p), computed by PyTorch as an avg_pool of x^p (padding 0, dilation 1) times prod(k).

    Shape: avg_pool's with padding 0 and dilation 1, stride None meaning kernel_size. The
    constructor checks only norm_type != 0; forward checks the rest. LPPool1d multiplies by
    kernel_size itself, so a tuple kernel fails there (a stride tuple does not). No parameters
    or buffers. Cheap ops, in the pool convention: output elements * prod(kernel_size), the
    window sums of x^p; the power of each input element and the few ops per output after the
    sums (sign, abs, relu, the scaling, the 1/p power) are not counted, as AvgPool's divide is
    not. Receptive field: an AvgPool's with the same kernel and stride, without padding.
    """
    n = ctx.kind.spatial
    norm_type = check_number("norm_type", ctx["norm_type"])
    if arith.is_number(norm_type) and norm_type == 0:
        raise SpecError("norm_type must be a non-zero value, but got 0", expected="norm_type != 0", found=f"norm_type={norm_type}")
    _, sizes = spatial_input(ctx)
    if n == 1 and isinstance(ctx["kernel_size"], tuple):
        raise SpecError(
            "LPPool1d's kernel_size must be an integer (lp_pool1d multiplies by it)",
            expected="an integer",
            found=describe(ctx["kernel_size"]),
        )
    kernel = positive_axes("kernel_size", ctx["kernel_size"], n, single=False)
    stride = _stride(ctx, kernel)
    return _windowed(ctx, sizes, kernel, stride, (0,) * n, (1,) * n, check_bool("ceil_mode", ctx["ceil_mode"]))


def _adaptive_pool(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    channel_axis, sizes = spatial_input(ctx)
    size_arg = ctx["output_size"]
    if isinstance(size_arg, tuple):
        if len(size_arg) != n:
            raise SpecError(
                "output_size needs one entry per spatial axis",
                expected=f"an integer or {n} entries",
                found=describe(size_arg),
            )
        targets = size_arg
    else:
        targets = (size_arg,) * n
    outs = []
    for target, size in zip(targets, sizes):
        if target is None:
            if n == 1:
                # The 1-D functions take a plain int tuple; only 2-D/3-D keep an axis with None.
                raise SpecError(
                    f"{ctx.kind.name} does not accept None in output_size",
                    expected="an integer",
                    found=describe(size_arg),
                )
            outs.append(size)
        else:
            check_int("output_size", target, minimum=0)
            outs.append(target)
    if any(conditions.at_least(s, 1, "input sizes >= 1") is False for s in sizes):
        raise ShapeError(
            "adaptive pooling needs a non-empty input",
            expected="every spatial size >= 1",
            found=f"input {shape_text(ctx.x)}",
        )
    return Outcome((*ctx.x[: channel_axis + 1], *outs))


# ----------------------------------------------------------------------------- cheap ops


def _window_ops(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> tuple[Any, Step]:
    """Max, Avg and LPPool: output elements * window. For LPPool this counts the window sums of
    x^p, as AvgPool's; the power of every input element and the few ops per output that follow
    (sign, abs, relu, the scaling and the 1/p power) are not counted, as AvgPool's divide is not."""
    elements = product(output)
    window = product(per_axis("kernel_size", args["kernel_size"], kind.spatial))
    ops = arith.mul(elements, window)
    return ops, step("pool ops", "output elements*window", (count_term(elements), "*" + term(window)), ops)


def _adaptive_ops(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> tuple[Any, Step]:
    """Adaptive pools: the sum of their windows, prod(in + out - gcd(in, out)) per channel."""
    n = kind.spatial
    window = adaptive_windows(inputs[0][-n:], output[-n:])
    outer = product(output[:-n])
    total = arith.mul(outer, window)
    return total, step("pool ops", "sum of the adaptive windows", (count_term(outer), "*", count_term(window)), total)


# ----------------------------------------------------------------------------- receptive field


def _window_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Window:
    """Max/AvgPool: a sliding window; LPPool: the same without padding or dilation."""
    from cnncalc.layers.fields import sliding

    n = kind.spatial
    kernel = per_axis("kernel_size", args["kernel_size"], n)
    stride_arg = args.get("stride")
    stride = kernel if stride_arg is None or stride_arg == () else per_axis("stride", stride_arg, n)
    dilation = per_axis("dilation", args.get("dilation", 1), n)
    return sliding(kernel, stride, per_axis("padding", args.get("padding", 0), n), dilation)


def _adaptive_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Window:
    from cnncalc.layers.fields import Window, adaptive_map

    n = kind.spatial
    found = [adaptive_map(size, out) for size, out in zip(inputs[0][-n:], output[-n:])]
    exact = all(e for _, e in found)
    return Window(tuple(m for m, _ in found), exact=exact, sized=True, note="input-size dependent (adaptive pool)")


# ----------------------------------------------------------------------------- kinds

_MAXPOOL = (
    Param("kernel_size", kind="ints"),
    Param("stride", None, "ints"),
    Param("padding", 0, "ints"),
    Param("dilation", 1, "ints"),
    Param("return_indices", False, "bool"),
    Param("ceil_mode", False, "bool"),
)
_AVGPOOL1 = (
    Param("kernel_size", kind="ints"),
    Param("stride", None, "ints"),
    Param("padding", 0, "ints"),
    Param("ceil_mode", False, "bool"),
    Param("count_include_pad", True, "bool"),
)
_AVGPOOL = _AVGPOOL1 + (Param("divisor_override", None, "int"),)
_LPPOOL = (Param("norm_type", kind="number"), Param("kernel_size", kind="ints"), Param("stride", None, "ints"), Param("ceil_mode", False, "bool"))


def _sliding(name: str, params: tuple[Param, ...], rule: Rule, n: int) -> LayerKind:
    return LayerKind(
        name, params, rule, n, family=FAMILY, cheap=_window_ops, op_kind="pool", field=_window_field, unbatched=True,
        ops_doc="output elements * prod(kernel_size)",
    )


def _adaptive(name: str, params: tuple[Param, ...], n: int) -> LayerKind:
    return LayerKind(
        name, params, _adaptive_pool, n, family=FAMILY, cheap=_adaptive_ops, op_kind="pool", field=_adaptive_field, unbatched=True,
        ops_doc="the sum of the adaptive windows",
    )


def _max_pool_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input and the int64 indices of the maxima (one per output element)."""
    if args.get("return_indices"):
        raise SpecError("training memory is not modelled with return_indices", expected="return_indices: false", found="true")
    return (SAVES_INPUT, (product(output), 8)) if flow.grad else ()


def _avg_pool_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input."""
    return (SAVES_INPUT,) if flow.grad else ()


def _adaptive_avg_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing for an output of size 1 on every axis (PyTorch computes a mean, whose
    backward needs only the shape); otherwise the input."""
    n = len(output) - 2
    spatial = output[-n:]
    if not all(type(d) is int for d in spatial):
        raise SpecError(
            "training memory is not modelled with a symbolic output size",
            expected="a numeric output size", found="[" + ", ".join(str(d) for d in spatial) + "]",
        )
    return (SAVES_INPUT,) if flow.grad and any(d != 1 for d in spatial) else ()


def _lp_pool_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training (x.pow(p), avg pool, sign * relu(abs), * window size, pow(1/p)): the input, its
    power, and four output-sized tensors."""
    if not flow.grad:
        return ()
    return (SAVES_INPUT, (product(inputs[0]), ACTIVATION), (mul(4, product(output)), ACTIVATION))


_POOL_SAVES = {
    "MaxPool": (_max_pool_saves, "input + int64 indices (output elements * 8 B)"),
    "AdaptiveMaxPool": (_max_pool_saves, "input + int64 indices (output elements * 8 B)"),
    "AvgPool": (_avg_pool_saves, "input"),
    "AdaptiveAvgPool": (_adaptive_avg_saves, "nothing for an output of size 1 (a mean), else input"),
    "LPPool": (_lp_pool_saves, "input + input elements (its power) + 4 * output elements"),
}


def kinds() -> list[LayerKind]:
    """The pool family's kinds."""
    return [in_torch_nn(_with_saves(k)) for k in _kinds()]


def _with_saves(kind: LayerKind) -> LayerKind:
    rule, doc = _POOL_SAVES[kind.name[:-2]]
    # measured under autocast: the 2-D max, average and adaptive average pools
    measured = kind.spatial == 2 and not kind.name.startswith(("LPPool", "AdaptiveMax"))
    return kind._replace(saves=rule if measured else unmeasured_mixed(rule), saves_doc=doc)


def _kinds() -> list[LayerKind]:
    adaptive_max = (Param("output_size", kind="size"), Param("return_indices", False, "bool"))
    return (
        [_sliding(f"MaxPool{n}d", _MAXPOOL, _max_pool, n) for n in (1, 2, 3)]
        + [_sliding(f"AvgPool{n}d", _AVGPOOL1 if n == 1 else _AVGPOOL, _avg_pool, n) for n in (1, 2, 3)]
        + [_adaptive(f"AdaptiveMaxPool{n}d", adaptive_max, n) for n in (1, 2, 3)]
        + [_adaptive(f"AdaptiveAvgPool{n}d", (Param("output_size", kind="size"),), n) for n in (1, 2, 3)]
        + [_sliding(f"LPPool{n}d", _LPPOOL, _lp_pool, n) for n in (1, 2)]
    )
