"""The layer kinds: PyTorch's constructor signature, shape rule, parameter rule and MAC rule.

Shapes here are whole tensor shapes as PyTorch sees them (a spec's batch dimension included),
so that PyTorch's rank rules (batched or unbatched input) and dimension arguments (`Flatten`,
`Softmax`, `Concat`) mean exactly what they mean in PyTorch. Every rule is a small pure
function of the evaluated arguments and the input shapes; errors are raised as ShapeError or
SpecError without a position, which the caller adds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cnncalc import arith
from cnncalc.arith import add, floor_div, mul, product, sub
from cnncalc.errors import ShapeError, SpecError
from cnncalc.records import record

Shape = tuple[Any, ...]


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()


@record
class Param:
    """One constructor argument: PyTorch's name, default and accepted type (`kind`)."""

    name: str
    default: Any = REQUIRED
    kind: str = "int"
    choices: tuple[str, ...] = ()
    inferred: bool = False  # filled from the incoming shape when omitted (in_channels, ...)
    keyword: bool = False  # keyword-only in PyTorch's signature (after `*`)


@record
class Outcome:
    """What one layer does to its input: output shape, parameters, buffers and MACs."""

    output: Shape
    params: Any = 0
    bias: Any = 0
    buffers: Any = 0
    macs: Any = 0
    steps: tuple[str, ...] = ()


Rule = Callable[["Ctx"], Outcome]


@record
class LayerKind:
    """A layer type: its PyTorch signature and rule; `inputs` > 1 marks a merge."""

    name: str
    params: tuple[Param, ...]
    rule: Rule
    spatial: int = 0
    inputs: int = 1
    category: str = "other"
    ignores_args: bool = False  # nn.Identity(*args, **kwargs): any arguments, all ignored

    @property
    def param_names(self) -> frozenset[str]:
        """The names of the constructor arguments."""
        return frozenset(p.name for p in self.params)


class Ctx:
    """The evaluated arguments and input shapes handed to a rule."""

    __slots__ = ("kind", "args", "inputs", "explain", "training")

    def __init__(
        self, kind: LayerKind, args: dict[str, Any], inputs: tuple[Shape, ...], explain: bool, training: bool = False
    ) -> None:
        self.kind = kind
        self.args = args
        self.inputs = inputs
        self.explain = explain
        self.training = training  # PyTorch's module.training: batch statistics in the norm layers

    @property
    def x(self) -> Shape:
        """The (first) input's shape."""
        return self.inputs[0]

    def __getitem__(self, name: str) -> Any:
        return self.args[name]


# ----------------------------------------------------------------------------- validation


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"bool {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, tuple):
        return f"tuple {value!r}"
    if value is None:
        return "null"
    return f"{type(value).__name__} {arith.as_text(value)}"


def _is_int(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or arith.is_symbolic(value)


def check_int(name: str, value: Any, *, minimum: int | None = None) -> Any:
    """An integer argument (or a symbolic one), optionally bounded below."""
    if not _is_int(value):
        raise SpecError(f"argument {name!r} must be an integer", expected="an integer", found=_describe(value))
    if minimum is not None and isinstance(value, int) and value < minimum:
        raise SpecError(
            f"argument {name!r} must be at least {minimum}",
            expected=f"an integer >= {minimum}",
            found=str(value),
        )
    return value


def per_axis(name: str, value: Any, axes: int, *, minimum: int | None = None, single: bool = True) -> tuple[Any, ...]:
    """An int-or-tuple argument expanded to one value per spatial axis, like PyTorch's _ntuple.

    PyTorch's kernels also expand a 1-tuple (`stride=(2,)`); `single=False` refuses one where
    PyTorch does (a conv's kernel_size sizes the weight tensor itself).
    """
    if isinstance(value, tuple):
        if len(value) == 1 and axes > 1 and single:
            value = value * axes
        if len(value) != axes:
            raise SpecError(
                f"argument {name!r} needs one value per spatial axis",
                expected=f"an integer or {axes} integers",
                found=_describe(value),
            )
        return tuple(check_int(name, v, minimum=minimum) for v in value)
    return (check_int(name, value, minimum=minimum),) * axes


def check_bool(name: str, value: Any) -> bool:
    """A boolean argument."""
    if not isinstance(value, bool):
        raise SpecError(f"argument {name!r} must be true or false", expected="a boolean", found=_describe(value))
    return value


def check_number(name: str, value: Any) -> Any:
    """A real-number argument (eps, momentum, p, negative_slope, ...)."""
    if isinstance(value, bool) or not (arith.is_number(value) or arith.is_symbolic(value)):
        raise SpecError(f"argument {name!r} must be a number", expected="a number", found=_describe(value))
    return value


_fmt = arith.as_text


def _fmt_tuple(values: tuple[Any, ...]) -> str:
    return "(" + ", ".join(_fmt(v) for v in values) + ")"


def _shape_text(shape: Shape) -> str:
    return "[" + ", ".join(_fmt(d) for d in shape) + "]"


# ----------------------------------------------------------------------------- rank helpers


def _require_rank(ctx: Ctx, ranks: tuple[int, ...], what: str = "") -> None:
    rank = len(ctx.x)
    if rank not in ranks:
        wanted = " or ".join(f"{r}-D" for r in ranks)
        raise ShapeError(
            f"{ctx.kind.name} expects a {wanted} input{what}",
            expected=wanted + " (" + ("batched or unbatched" if len(ranks) > 1 else "batched") + ")",
            found=f"{rank}-D input {_shape_text(ctx.x)}",
        )


def _spatial_input(ctx: Ctx) -> tuple[int, Shape]:
    """For conv/pool layers: the channel axis index and the spatial sizes; checks the rank."""
    n = ctx.kind.spatial
    _require_rank(ctx, (n + 1, n + 2))
    return len(ctx.x) - n - 1, ctx.x[-n:]


def _infer_channels(ctx: Ctx, name: str, channels: Any) -> Any:
    """An inferred channel argument: the incoming size unless given, in which case it must match."""
    given = ctx.args.get(name)
    if given is None:
        return channels
    check_int(name, given, minimum=1)
    if arith.equal(given, channels) is False:
        raise ShapeError(
            f"{name}={_fmt(given)} does not match the incoming {_fmt(channels)} channels",
            expected=f"{name}={_fmt(channels)} (or omit it: it is inferred)",
            found=f"{name}={_fmt(given)} for input {_shape_text(ctx.x)}",
        )
    return given


def _too_small(ctx: Ctx, sizes: list[Any], formula: str, worked: Callable[[int], str]) -> None:
    """Refuse an empty output axis, showing `formula` and `worked(axis index)` (its numbers put in)."""
    for index, (axis, size) in enumerate(zip(_AXES[len(sizes)], sizes)):
        if isinstance(size, int) and size <= 0:
            raise ShapeError(
                f"output size {axis} = {size} is too small: {axis}_out = {formula} = {worked(index)} = {size}",
                expected="every output size >= 1",
                found=f"input {_shape_text(ctx.x)} gives {axis} = {size}",
                hint="use a smaller kernel, stride or dilation, more padding, or a larger input",
            )


_AXES = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}


def _groups(ctx: Ctx, in_channels: Any, out_channels: Any) -> Any:
    groups = check_int("groups", ctx["groups"])
    if isinstance(groups, int) and groups <= 0:
        raise SpecError("groups must be a positive integer", expected="groups >= 1", found=f"groups={groups}")
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if arith.divides(groups, value) is False:
            raise SpecError(
                f"{name} must be divisible by groups",
                expected=f"{name} a multiple of groups={_fmt(groups)}",
                found=f"{name}={_fmt(value)}",
            )
    return groups


# ----------------------------------------------------------------------------- convolution


def _positive_axes(name: str, value: Any, axes: int, *, single: bool = True) -> tuple[Any, ...]:
    """`per_axis`, refusing a known value below 1 in PyTorch's words."""
    values = per_axis(name, value, axes, single=single)
    if any(isinstance(v, int) and v <= 0 for v in values):
        raise SpecError(f"{name.replace('_', ' ')} should be greater than zero", expected=f"{name} >= 1", found=_fmt_tuple(values))
    return values


def _window_size(size: Any, k: Any, s: Any, p: Any, d: Any, ceil_mode: bool = False) -> Any:
    """A sliding window's output size on one axis (PyTorch's conv formula, pooling_output_shape)."""
    span = sub(sub(add(size, mul(2, p)), mul(d, sub(k, 1))), 1)
    out = add(floor_div(add(span, sub(s, 1)) if ceil_mode else span, s), 1)
    # ceil_mode: a last window that would start inside the right padding is dropped.
    if ceil_mode and isinstance(out, int) and isinstance(size, int):
        if (out - 1) * s >= size + p:
            out -= 1
    return out


def _window_text(size: Any, k: Any, s: Any, p: Any, d: Any, rounding: str = "floor") -> str:
    """The sliding-window output size formula with one axis's numbers put in."""
    return f"{rounding}(({_fmt(size)} + 2*{_fmt(p)} - {_fmt(d)}*({_fmt(k)}-1) - 1)/{_fmt(s)}) + 1"


def _conv_args(ctx: Ctx) -> tuple[int, Shape, Any, Any, tuple[Any, ...], tuple[Any, ...], tuple[Any, ...], Any, bool]:
    """The checked arguments a convolution and a transposed one share: (channel axis, spatial
    sizes, C_in, C_out, kernel, stride, dilation, groups, bias)."""
    n = ctx.kind.spatial
    channel_axis, sizes = _spatial_input(ctx)
    cin = _infer_channels(ctx, "in_channels", ctx.x[channel_axis])
    cout = check_int("out_channels", ctx["out_channels"], minimum=1)
    kernel = _positive_axes("kernel_size", ctx["kernel_size"], n, single=False)
    stride = _positive_axes("stride", ctx["stride"], n)
    dilation = _positive_axes("dilation", ctx["dilation"], n)
    groups = _groups(ctx, cin, cout)
    return channel_axis, sizes, cin, cout, kernel, stride, dilation, groups, check_bool("bias", ctx["bias"])


def _conv_steps(
    ctx: Ctx, output: Shape, cin: Any, cout: Any, groups: Any, kernel: tuple[Any, ...], bias: bool, params: Any, macs: Any
) -> list[str]:
    """The params and MACs formulas with numbers. MACs count the output positions of a
    convolution and the input positions of a transposed one (each input scatters through its weights)."""
    n = ctx.kind.spatial
    transposed = ctx.kind.rule is _conv_transpose
    positions = ctx.x if transposed else output
    outer, inner = ("C_in", "C_out") if transposed else ("C_out", "C_in")
    outer_size, inner_size = (cin, cout) if transposed else (cout, cin)
    k_names = "*".join("k" + a.lower() for a in _AXES[n])
    per_weight = f"({_fmt(inner_size)}/{_fmt(groups)})*" + "*".join(_fmt(k) for k in kernel)
    names = ["N"] * (len(positions) - n - 1) + [outer] + [a + ("_in" if transposed else "_out") for a in _AXES[n]]
    return [
        f"params = {outer}*({inner}/groups)*{k_names}" + (" + C_out" if bias else "")
        + f" = {_fmt(outer_size)}*{per_weight}" + (f" + {_fmt(cout)}" if bias else "") + f" = {_fmt(params)}",
        f"MACs = {'*'.join(names)}*({inner}/groups)*{k_names} = {'*'.join(_fmt(v) for v in positions)}*{per_weight} = {_fmt(macs)}",
    ]


def _conv(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    channel_axis, sizes, cin, cout, kernel, stride, dilation, groups, bias = _conv_args(ctx)
    padding_arg = ctx["padding"]
    steps: list[str] = []
    if isinstance(padding_arg, str):
        if padding_arg not in ("same", "valid"):
            raise SpecError("invalid padding", expected="an integer, a tuple, 'same' or 'valid'", found=repr(padding_arg))
        if padding_arg == "same" and any(s != 1 for s in stride):
            raise SpecError(
                "padding='same' is not supported for strided convolutions (as in PyTorch)",
                expected="stride=1 with padding='same'",
                found=f"stride={_fmt_tuple(stride)}",
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
                found=f"padding={_fmt_tuple(padding_arg)} for input {_shape_text(ctx.x)}",
            )
        pads = (0,) * (n - 1) + pads[-1:]
    widest = pads
    if padding_arg == "same":
        # The right side gets the larger half of d*(k-1): it bounds reflect/circular padding.
        widest = tuple(sub(mul(d, sub(k, 1)), p) for d, k, p in zip(dilation, kernel, pads))
    _check_padding_mode(mode, widest, sizes)
    outs = []
    for axis, size, k, s, p, d in zip(_AXES[n], sizes, kernel, stride, pads, dilation):
        if padding_arg == "same":
            out = size
            if ctx.explain:
                steps.append(f"{axis}_out = {axis} = {_fmt(size)} (padding='same', stride 1)")
        else:
            out = _window_size(size, k, s, p, d)
            if ctx.explain:
                steps.append(f"{axis}_out = floor(({axis} + 2p - d(k-1) - 1)/s) + 1 = {_window_text(size, k, s, p, d)} = {_fmt(out)}")
        outs.append(out)
    _too_small(
        ctx, outs, "floor((in + 2p - d(k-1) - 1)/s) + 1",
        lambda i: _window_text(sizes[i], kernel[i], stride[i], pads[i], dilation[i]),
    )
    output = (*ctx.x[:channel_axis], cout, *outs)
    per_filter = mul(arith.true_div(cin, groups), product(kernel))
    bias_params = cout if bias else 0
    params = add(mul(cout, per_filter), bias_params)
    macs = mul(product(output), per_filter)
    if ctx.explain:
        steps += _conv_steps(ctx, output, cin, cout, groups, kernel, bias, params, macs)
    return Outcome(output, params, bias_params, 0, macs, tuple(steps))


def _check_padding_mode(mode: Any, pads: tuple[Any, ...], sizes: Shape) -> None:
    if mode not in ("zeros", "reflect", "replicate", "circular"):
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
        if isinstance(op, int) and isinstance(s, int) and isinstance(d, int) and op >= s and op >= d:
            raise ShapeError(
                "output padding must be smaller than either stride or dilation",
                expected=f"output_padding < max(stride, dilation) = {max(s, d)}",
                found=f"output_padding={_fmt_tuple(output_padding)}",
            )

    def worked(i: int) -> str:
        return (
            f"({_fmt(sizes[i])}-1)*{_fmt(stride[i])} - 2*{_fmt(pads[i])} + "
            f"{_fmt(dilation[i])}*({_fmt(kernel[i])}-1) + {_fmt(output_padding[i])} + 1"
        )

    steps: list[str] = []
    outs = []
    for i, (axis, size, k, s, p, d, op) in enumerate(zip(_AXES[n], sizes, kernel, stride, pads, dilation, output_padding)):
        out = add(add(add(sub(mul(sub(size, 1), s), mul(2, p)), mul(d, sub(k, 1))), op), 1)
        if ctx.explain:
            steps.append(f"{axis}_out = ({axis}-1)*s - 2p + d(k-1) + output_padding + 1 = {worked(i)} = {_fmt(out)}")
        outs.append(out)
    _too_small(ctx, outs, "(in-1)*s - 2p + d(k-1) + output_padding + 1", worked)
    output = (*ctx.x[:channel_axis], cout, *outs)
    per_input = mul(arith.true_div(cout, groups), product(kernel))
    bias_params = cout if bias else 0
    params = add(mul(cin, per_input), bias_params)
    macs = mul(product(ctx.x), per_input)  # each input element is scattered through (C_out/g)*prod(k)
    if ctx.explain:
        steps += _conv_steps(ctx, output, cin, cout, groups, kernel, bias, params, macs)
    return Outcome(output, params, bias_params, 0, macs, tuple(steps))


# ----------------------------------------------------------------------------- pooling


def _pool(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    channel_axis, sizes = _spatial_input(ctx)
    kernel = _positive_axes("kernel_size", ctx["kernel_size"], n)
    stride_arg = ctx["stride"]
    stride = kernel if stride_arg is None or stride_arg == () else _positive_axes("stride", stride_arg, n)
    pads = per_axis("padding", ctx["padding"], n, minimum=0)
    is_max = ctx.kind.name.startswith("Max")
    dilation = _positive_axes("dilation", ctx["dilation"], n) if is_max else (1,) * n
    ceil_mode = check_bool("ceil_mode", ctx["ceil_mode"])
    for p, k in zip(pads, kernel):
        # PyTorch compares with half the kernel itself, not the dilated kernel.
        if isinstance(p, int) and isinstance(k, int) and 2 * p > k:
            raise ShapeError(
                "pad should be at most half of kernel size",
                expected=f"padding <= kernel_size/2 = {k / 2:g}",
                found=f"padding={_fmt_tuple(pads)}, kernel_size={_fmt_tuple(kernel)}",
            )
    divisor = ctx.args.get("divisor_override")
    if not is_max and divisor is not None:
        # PyTorch accepts any non-zero divisor, negative ones included.
        check_int("divisor_override", divisor)
        if isinstance(divisor, int) and divisor == 0:
            raise SpecError("divisor_override must not be zero", expected="a non-zero integer or null", found="divisor_override=0")
    if ctx.kind.name == "AvgPool3d":
        # avg_pool3d (unlike the 1-D/2-D pools) checks the unpadded input against the kernel.
        for axis, size, k in zip(_AXES[n], sizes, kernel):
            if isinstance(size, int) and isinstance(k, int) and size < k:
                raise ShapeError(
                    f"AvgPool3d input is smaller than the kernel along {axis}",
                    expected=f"every input size >= kernel_size {_fmt_tuple(kernel)} (padding does not count)",
                    found=f"input {_shape_text(ctx.x)}",
                )
    rounding = "ceil" if ceil_mode else "floor"
    outs = []
    steps: list[str] = []
    for axis, size, k, s, p, d in zip(_AXES[n], sizes, kernel, stride, pads, dilation):
        out = _window_size(size, k, s, p, d, ceil_mode)
        if ctx.explain:
            steps.append(
                f"{axis}_out = {rounding}(({axis} + 2p - d(k-1) - 1)/s) + 1 = {_window_text(size, k, s, p, d, rounding)}"
                + (" (minus one if the last window starts in the right padding)" if ceil_mode else "")
                + f" = {_fmt(out)}"
            )
        outs.append(out)
    _too_small(
        ctx, outs, f"{rounding}((in + 2p - d(k-1) - 1)/s) + 1",
        lambda i: _window_text(sizes[i], kernel[i], stride[i], pads[i], dilation[i], rounding),
    )
    return Outcome((*ctx.x[: channel_axis + 1], *outs), steps=tuple(steps))


def _adaptive_pool(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    channel_axis, sizes = _spatial_input(ctx)
    size_arg = ctx["output_size"]
    if isinstance(size_arg, tuple):
        if len(size_arg) != n:
            raise SpecError(
                "output_size needs one entry per spatial axis",
                expected=f"an integer or {n} entries",
                found=_describe(size_arg),
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
                    found=_describe(size_arg),
                )
            outs.append(size)
        else:
            check_int("output_size", target, minimum=0)
            outs.append(target)
    if any(isinstance(s, int) and s <= 0 for s in sizes):
        raise ShapeError(
            "adaptive pooling needs a non-empty input",
            expected="every spatial size >= 1",
            found=f"input {_shape_text(ctx.x)}",
        )
    return Outcome((*ctx.x[: channel_axis + 1], *outs))


# ----------------------------------------------------------------------------- normalisation


def _features(ctx: Ctx, name: str, channels: Any, *, checked: bool) -> Any:
    """A norm layer's feature count: inferred when omitted; when given it must match the input's
    channels only if PyTorch sizes a tensor by it (`checked`: weights or running statistics)."""
    given = ctx.args.get(name)
    if given is None:
        return channels
    if checked:
        return _infer_channels(ctx, name, channels)
    # Without weights or running statistics PyTorch never reads it (and only warns on a mismatch).
    check_int(name, given)
    return channels


def _one_value(ctx: Ctx, count: Any, what: str, formula: str) -> None:
    """PyTorch's _verify_batch_size/_verify_spatial_size: statistics need more than one value."""
    if isinstance(count, int) and count == 1:
        raise ShapeError(
            f"{ctx.kind.name} needs more than 1 {what} to compute its statistics",
            expected=f"{formula} > 1",
            found=f"{formula} = 1 for input {_shape_text(ctx.x)}",
            hint="use a batch of 2 or more, a larger feature map, or eval mode with running statistics",
        )


def _batch_norm(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    ranks = (2, 3) if n == 1 else (n + 2,)
    _require_rank(ctx, ranks)
    affine = check_bool("affine", ctx["affine"])
    track = check_bool("track_running_stats", ctx["track_running_stats"])
    bias = check_bool("bias", ctx["bias"])
    eps = check_number("eps", ctx["eps"])
    channels = _features(ctx, "num_features", ctx.x[1], checked=affine or track)
    batch_stats = ctx.training or not track  # eval mode without running statistics uses the batch's
    if batch_stats:
        sizes = "*".join(["N", *_AXES[n][: len(ctx.x) - 2]])
        _one_value(ctx, product((ctx.x[0], *ctx.x[2:])), "value per channel", sizes)
    if isinstance(eps, (int, float)) and (eps < 0 or (batch_stats and eps == 0)):
        raise SpecError(
            "BatchNorm's eps must be positive" + (" when it uses batch statistics" if batch_stats else " or zero"),
            expected="eps > 0" if batch_stats else "eps >= 0",
            found=f"eps={eps}",
        )
    return _norm_outcome(ctx, channels, affine, bias, track)


def _instance_norm(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    _require_rank(ctx, (n + 1, n + 2))
    affine = check_bool("affine", ctx["affine"])
    track = check_bool("track_running_stats", ctx["track_running_stats"])
    bias = check_bool("bias", ctx["bias"])
    check_number("eps", ctx["eps"])
    channels = _features(ctx, "num_features", ctx.x[len(ctx.x) - n - 1], checked=affine or track)
    if ctx.training or not track:
        _one_value(ctx, product(ctx.x[-n:]), "spatial element", "*".join(_AXES[n]))
    return _norm_outcome(ctx, channels, affine, bias, track)


def _group_norm(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 2:
        raise ShapeError(
            "GroupNorm expects at least a 2-D input [N, C, ...]",
            expected="an input of rank >= 2 (batch first)",
            found=f"{len(ctx.x)}-D input {_shape_text(ctx.x)}",
        )
    groups = check_int("num_groups", ctx["num_groups"], minimum=1)
    affine = check_bool("affine", ctx["affine"])
    bias = check_bool("bias", ctx["bias"])
    check_number("eps", ctx["eps"])
    given = ctx.args.get("num_channels")
    if given is not None:
        check_int("num_channels", given, minimum=0)
        if arith.divides(groups, given) is False:
            raise SpecError(
                "num_channels must be divisible by num_groups",
                expected=f"a multiple of num_groups={_fmt(groups)}",
                found=f"num_channels={_fmt(given)}",
            )
    # Only the affine weight ties num_channels to the input; the grouping always needs C % G == 0.
    channels = _features(ctx, "num_channels", ctx.x[1], checked=affine)
    if arith.divides(groups, ctx.x[1]) is False:
        raise ShapeError(
            "the input's channels must be divisible by num_groups",
            expected=f"channels a multiple of num_groups={_fmt(groups)}",
            found=f"{_fmt(ctx.x[1])} channels in input {_shape_text(ctx.x)}",
        )
    per_group = floor_div(mul(ctx.x[0], ctx.x[1]), groups)
    _one_value(ctx, product((per_group, *ctx.x[2:])), "value per group", "N*(C/num_groups)*(spatial sizes)")
    return _norm_outcome(ctx, channels, affine, bias, False)


def _layer_norm(ctx: Ctx) -> Outcome:
    shape_arg = ctx["normalized_shape"]
    if shape_arg is None:
        normalized: tuple[Any, ...] = (ctx.x[-1],)
    elif isinstance(shape_arg, tuple):
        if not shape_arg:
            raise SpecError(
                "normalized_shape must hold at least one size",
                expected="an integer or a non-empty tuple of integers",
                found="()",
            )
        normalized = tuple(check_int("normalized_shape", v, minimum=1) for v in shape_arg)
    else:
        normalized = (check_int("normalized_shape", shape_arg, minimum=1),)
    tail = ctx.x[len(ctx.x) - len(normalized):] if len(normalized) <= len(ctx.x) else None
    if tail is None or any(arith.equal(a, b) is False for a, b in zip(tail, normalized)):
        raise ShapeError(
            "normalized_shape must equal the trailing dimensions of the input",
            expected=f"input ending in {_shape_text(normalized)}",
            found=f"input {_shape_text(ctx.x)}",
        )
    affine = check_bool("elementwise_affine", ctx["elementwise_affine"])
    bias = check_bool("bias", ctx["bias"])
    return _norm_outcome(ctx, product(normalized), affine, bias, False)


def _norm_outcome(ctx: Ctx, features: Any, affine: bool, bias: bool, track: bool) -> Outcome:
    """A norm layer keeps its input's shape; weight and bias (`affine`) and running mean and
    variance (`track`) hold one value per feature."""
    bias_params = features if affine and bias else 0
    params = add(features if affine else 0, bias_params)
    buffers = mul(2, features) if track else 0
    steps: tuple[str, ...] = ()
    if ctx.explain:
        steps = (
            f"params = {_fmt(params)} ({'weight and bias' if bias_params else 'weight'} of {_fmt(features)} features)"
            if params
            else "params = 0 (no affine weights)",
            f"buffers = {_fmt(buffers)} (running mean and variance)" if buffers else "buffers = 0",
        )
    return Outcome(ctx.x, params, bias_params, buffers, 0, steps)


# ----------------------------------------------------------------------------- dense & reshape


def _linear(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 1:
        raise ShapeError(
            "Linear needs an input with at least one dimension",
            expected="an input [..., in_features]",
            found=f"a 0-D input {_shape_text(ctx.x)}",
        )
    fin = ctx.x[-1]
    given = ctx.args.get("in_features")
    if given is not None:
        check_int("in_features", given, minimum=0)
        if arith.equal(given, fin) is False:
            raise ShapeError(
                f"in_features={_fmt(given)} does not match the incoming last dimension {_fmt(fin)}",
                expected=f"in_features={_fmt(fin)} (or omit it: it is inferred)",
                found=f"input {_shape_text(ctx.x)}",
                hint="add a Flatten before Linear if the input is still a feature map",
            )
    fin = given if given is not None else fin
    fout = check_int("out_features", ctx["out_features"], minimum=0)
    bias = check_bool("bias", ctx["bias"])
    weight = mul(fin, fout)
    bias_params = fout if bias else 0
    output = (*ctx.x[:-1], fout)
    macs = mul(product(output), fin)
    steps: tuple[str, ...] = ()
    if ctx.explain:
        positions = ctx.x[:-1]  # N, then any further leading dims by their index
        names = "".join(f"{'N' if i == 0 else f'd{i}'}*" for i in range(len(positions)))
        steps = (
            f"output = {_shape_text(output)} (last dimension {_fmt(fin)} -> {_fmt(fout)})",
            "params = in*out" + (" + out" if bias else "") + f" = {_fmt(fin)}*{_fmt(fout)}"
            + (f" + {_fmt(fout)}" if bias else "") + f" = {_fmt(add(weight, bias_params))}",
            f"MACs = {names}out_features*in_features = "
            + "".join(f"{_fmt(v)}*" for v in positions) + f"{_fmt(fout)}*{_fmt(fin)} = {_fmt(macs)}",
        )
    return Outcome(output, add(weight, bias_params), bias_params, 0, macs, steps)


def _dim(name: str, value: Any, rank: int) -> int:
    """A PyTorch dimension index (negative counts from the end) checked against the rank."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise SpecError(f"argument {name!r} must be an integer dimension", expected="an integer", found=_describe(value))
    low, high = (-rank, rank - 1) if rank else (-1, 0)
    if not low <= value <= high:
        raise ShapeError(
            f"dimension out of range for {name}",
            expected=f"{name} in [{low}, {high}]",
            found=f"{name}={value}",
        )
    return value % rank if rank else 0


def _flatten(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    start = _dim("start_dim", ctx["start_dim"], rank)
    end = _dim("end_dim", ctx["end_dim"], rank)
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
    steps = (f"output = {_shape_text(output)} (dims {start}..{end} multiplied)",) if ctx.explain else ()
    return Outcome(output, steps=steps)


def _unflatten(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    dim = _dim("dim", ctx["dim"], rank)
    sizes = ctx["unflattened_size"]
    if not isinstance(sizes, tuple) or not sizes:
        raise SpecError("unflattened_size must be a tuple of sizes", expected="a non-empty tuple of integers", found=_describe(sizes))
    sizes = tuple(check_int("unflattened_size", s, minimum=-1) for s in sizes)
    known = product(s for s in sizes if s != -1)
    if sum(1 for s in sizes if s == -1) > 1:
        raise SpecError("only one size in unflattened_size may be -1", expected="at most one -1", found=_fmt_tuple(sizes))
    if -1 in sizes:
        sizes = tuple(arith.true_div(ctx.x[dim], known) if s == -1 else s for s in sizes)
    if arith.equal(product(sizes), ctx.x[dim]) is False or any(not _is_int(s) for s in sizes):
        raise ShapeError(
            "unflattened_size must multiply to the size of the dimension",
            expected=f"a product of {_fmt(ctx.x[dim])}",
            found=_fmt_tuple(tuple(ctx["unflattened_size"])),
        )
    return Outcome((*ctx.x[:dim], *sizes, *ctx.x[dim + 1 :]))


def _same_shape(ctx: Ctx) -> Outcome:
    return Outcome(ctx.x)


def _softmax(ctx: Ctx) -> Outcome:
    if ctx["dim"] is not None:
        _dim("dim", ctx["dim"], len(ctx.x))
    return Outcome(ctx.x)


def _prelu(ctx: Ctx) -> Outcome:
    count = check_int("num_parameters", ctx["num_parameters"], minimum=1)
    check_number("init", ctx["init"])
    if count != 1:
        # PyTorch's channel axis is dim 1; an input of rank 0 or 1 counts as one channel.
        channels = ctx.x[1] if len(ctx.x) >= 2 else 1
        if arith.equal(count, channels) is False:
            raise ShapeError(
                "PReLU's num_parameters must be 1 or the number of channels",
                expected=f"num_parameters in (1, {_fmt(channels)})",
                found=f"num_parameters={_fmt(count)}",
            )
    return Outcome(ctx.x, count, 0, 0, 0, (f"params = num_parameters = {_fmt(count)}",) if ctx.explain else ())


def _dropout(ctx: Ctx) -> Outcome:
    p = check_number("p", ctx["p"])
    if isinstance(p, (int, float)) and not 0 <= p <= 1:
        raise SpecError("dropout probability has to be between 0 and 1", expected="0 <= p <= 1", found=f"p={p}")
    name, rank = ctx.kind.name, len(ctx.x)
    if name == "Dropout1d":
        _require_rank(ctx, (2, 3))
    elif ctx.training and name in ("Dropout2d", "Dropout3d", "FeatureAlphaDropout"):
        # Channel-wise dropout needs a channel axis; Dropout3d adds a batch axis to any non-5-D input.
        least = 1 if name == "Dropout3d" and rank != 5 else 2
        if rank < least:
            raise ShapeError(
                f"{name} needs at least a {least}-D input in training mode (it drops whole channels)",
                expected=f"an input of rank >= {least}",
                found=f"{rank}-D input {_shape_text(ctx.x)}",
            )
    return Outcome(ctx.x)


def _celu(ctx: Ctx) -> Outcome:
    alpha = check_number("alpha", ctx["alpha"])
    if arith.is_number(alpha) and alpha == 0:
        raise SpecError("CELU's alpha cannot be 0 (it divides by alpha)", expected="alpha != 0", found="alpha=0")
    return Outcome(ctx.x)


def _softshrink(ctx: Ctx) -> Outcome:
    lambd = check_number("lambd", ctx["lambd"])
    if arith.is_number(lambd) and lambd < 0:
        raise SpecError("Softshrink's lambd must not be negative", expected="lambd >= 0", found=f"lambd={_fmt(lambd)}")
    return Outcome(ctx.x)


def _rrelu(ctx: Ctx) -> Outcome:
    lower = check_number("lower", ctx["lower"])
    upper = check_number("upper", ctx["upper"])
    if arith.is_number(lower) and arith.is_number(upper) and lower > upper:
        raise SpecError(
            "RReLU's lower bound must not exceed its upper bound",
            expected="lower <= upper",
            found=f"lower={_fmt(lower)}, upper={_fmt(upper)}",
        )
    return Outcome(ctx.x)


def _softmax2d(ctx: Ctx) -> Outcome:
    _require_rank(ctx, (3, 4))
    return Outcome(ctx.x)


def _glu(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    if rank == 0:
        raise ShapeError("GLU cannot halve a 0-D input", expected="an input of rank >= 1", found="a scalar input []")
    dim = _dim("dim", ctx["dim"], rank)
    size = ctx.x[dim]
    if arith.divides(2, size) is False:
        raise ShapeError(
            f"GLU halves dimension {dim}, which must be even",
            expected=f"an even size in dimension {dim}",
            found=f"size {_fmt(size)} in input {_shape_text(ctx.x)}",
        )
    output = (*ctx.x[:dim], floor_div(size, 2), *ctx.x[dim + 1 :])
    return Outcome(output, steps=(f"dim {dim}: {_fmt(size)}/2 = {_fmt(output[dim])} (GLU halves it)",) if ctx.explain else ())


def _hardtanh(ctx: Ctx) -> Outcome:
    low = check_number("min_val", ctx["min_val"])
    high = check_number("max_val", ctx["max_val"])
    if arith.is_number(low) and arith.is_number(high) and not high > low:
        raise SpecError(
            "Hardtanh's max_val must be greater than min_val",
            expected="min_val < max_val",
            found=f"min_val={_fmt(low)}, max_val={_fmt(high)}",
        )
    return Outcome(ctx.x)


def _upsample(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    n = rank - 2
    mode = ctx["mode"]
    modes = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3, "area": None}
    if mode not in modes:
        raise SpecError("unknown Upsample mode", expected="one of " + ", ".join(modes), found=repr(mode))
    if n < 1 or n > 3:
        raise ShapeError(
            "Upsample expects a batched input with 1 to 3 spatial axes",
            expected="a 3-D, 4-D or 5-D input [N, C, ...]",
            found=f"{rank}-D input {_shape_text(ctx.x)}",
        )
    if modes[mode] is not None and modes[mode] != n:
        raise ShapeError(
            f"mode {mode!r} needs a {modes[mode] + 2}-D input",
            expected=f"{modes[mode] + 2}-D input",
            found=f"{rank}-D input {_shape_text(ctx.x)}",
        )
    align = ctx["align_corners"]
    if align is not None and modes[mode] is None:
        raise SpecError(
            "align_corners can only be set with the interpolating modes: linear, bilinear, bicubic, trilinear",
            expected="align_corners=None (omit it)",
            found=f"align_corners={align!r} with mode={mode!r}",
        )
    if align is not None and not isinstance(align, bool):
        raise SpecError("align_corners must be true, false or null", expected="a boolean", found=_describe(align))
    size, scale = ctx["size"], ctx["scale_factor"]
    if not isinstance(scale, tuple) and not scale:
        scale = None  # nn.Upsample stores `float(scale_factor) if scale_factor else None`
    if (size is None) == (scale is None):
        raise SpecError(
            "Upsample needs exactly one of size and scale_factor",
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
                "Upsample needs a non-empty input",
                expected="channels and every spatial size >= 1",
                found=f"size {extent} in dimension {axis} of input {_shape_text(ctx.x)}",
            )
    spatial = ctx.x[2:]
    if size is not None:
        if isinstance(size, tuple) and len(size) != n:
            # Unlike the conv/pool arguments, a 1-tuple is not repeated.
            raise SpecError(
                "size needs one value per spatial axis",
                expected=f"an integer or {n} integers for input {_shape_text(ctx.x)}",
                found=_describe(size),
            )
        outs = per_axis("size", size, n, minimum=0)
        steps = f"output size = {_fmt_tuple(outs)} (given)"
    else:
        if isinstance(scale, tuple):
            if len(scale) != n:
                raise SpecError(
                    "scale_factor needs one value per spatial axis",
                    expected=f"a number or {n} numbers for input {_shape_text(ctx.x)}",
                    found=_describe(scale),
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
        outs = tuple(
            arith.floor(float(s) * float(f)) if arith.is_number(s) and arith.is_number(f) else arith.floor(mul(s, f))
            for s, f in zip(spatial, scales)
        )
        steps = "output size = floor(in * scale_factor) = " + _fmt_tuple(outs)
    return Outcome((*ctx.x[:2], *outs), steps=(steps,) if ctx.explain else ())


def _pad(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    mode = ctx.kind.name[: -len("Pad1d")]  # Zero, Constant, Reflection, Replication or Circular
    arg = ctx["padding"]
    # PyTorch keeps a tuple as given (any even length pads that many trailing axes, last axis
    # first: left, right, top, bottom, front, back); an integer pads the layer's own n axes.
    pads = tuple(check_int("padding", v) for v in arg) if isinstance(arg, tuple) else (check_int("padding", arg),) * (2 * n)
    rank = len(ctx.x)
    if mode == "Circular":
        _require_rank(ctx, (n + 1, n + 2))
    if len(pads) % 2:
        raise SpecError(
            "padding needs two values (before, after) per padded axis",
            expected="an integer or an even number of integers",
            found=_describe(arg),
        )
    axes = len(pads) // 2
    if mode in ("Zero", "Constant"):
        if axes > rank:
            raise ShapeError(
                "padding has more values than twice the input's dimensions",
                expected=f"at most {2 * rank} values for a {rank}-D input",
                found=f"{len(pads)} values for input {_shape_text(ctx.x)}",
            )
    elif axes not in (1, 2, 3) or rank not in (axes + 1, axes + 2):
        wanted = f"a {axes + 1}-D or {axes + 2}-D input" if axes else "1, 2 or 3 padded axes"
        raise ShapeError(
            f"{mode.lower()} padding of {axes} ax{'is' if axes == 1 else 'es'} needs {wanted}",
            expected=wanted + f" for {len(pads)} padding values",
            found=f"{rank}-D input {_shape_text(ctx.x)}",
        )
    sizes = list(ctx.x)
    steps: list[str] = []
    for i in range(axes):
        axis = rank - 1 - i
        before, after = pads[2 * i], pads[2 * i + 1]
        size = sizes[axis]
        if isinstance(size, int) and isinstance(before, int) and isinstance(after, int):
            if mode == "Reflection" and (before >= size or after >= size):
                raise ShapeError(
                    "reflection padding must be smaller than the input size",
                    expected=f"padding < {size} on dimension {axis}",
                    found=f"padding ({before}, {after}) on dimension {axis} of input {_shape_text(ctx.x)}",
                )
            if mode == "Circular" and (before > size or after > size):
                raise ShapeError(
                    "circular padding may wrap around at most once",
                    expected=f"padding <= {size} on dimension {axis}",
                    found=f"padding ({before}, {after}) on dimension {axis} of input {_shape_text(ctx.x)}",
                )
            if mode in ("Zero", "Constant", "Circular") and (size + min(before, 0) < 0 or size + min(before, 0) + min(after, 0) < 0):
                # Negative padding crops first, one side then the other; it cannot crop past the edge.
                raise ShapeError(
                    "negative padding crops more than the whole dimension",
                    expected=f"the crop on dimension {axis} at most its size {size}",
                    found=f"padding ({before}, {after}) on dimension {axis} of input {_shape_text(ctx.x)}",
                )
        sizes[axis] = add(add(size, before), after)
        if ctx.explain:
            steps.append(f"dim {axis}: {_fmt(size)} + {_fmt(before)} + {_fmt(after)} = {_fmt(sizes[axis])}")
    return Outcome(tuple(sizes), steps=tuple(steps))


def _pixel_shuffle(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 3:
        raise ShapeError("PixelShuffle expects at least a 3-D input", expected="an input [..., C, H, W]", found=_shape_text(ctx.x))
    r = check_int("upscale_factor", ctx["upscale_factor"], minimum=1)
    c, h, w = ctx.x[-3:]
    if arith.divides(mul(r, r), c) is False:
        raise ShapeError(
            "channels must be divisible by upscale_factor squared",
            expected=f"channels a multiple of {_fmt(mul(r, r))}",
            found=f"{_fmt(c)} channels, upscale_factor={_fmt(r)}",
        )
    return Outcome((*ctx.x[:-3], floor_div(c, mul(r, r)), mul(h, r), mul(w, r)))


def _pixel_unshuffle(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 3:
        raise ShapeError("PixelUnshuffle expects at least a 3-D input", expected="an input [..., C, H, W]", found=_shape_text(ctx.x))
    r = check_int("downscale_factor", ctx["downscale_factor"], minimum=1)
    c, h, w = ctx.x[-3:]
    if arith.divides(r, h) is False or arith.divides(r, w) is False:
        raise ShapeError(
            "height and width must be divisible by downscale_factor",
            expected=f"H and W multiples of {_fmt(r)}",
            found=f"input {_shape_text(ctx.x)}, downscale_factor={_fmt(r)}",
        )
    return Outcome((*ctx.x[:-3], mul(c, mul(r, r)), floor_div(h, r), floor_div(w, r)))


def _channel_shuffle(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 3:
        raise ShapeError("ChannelShuffle expects at least a 3-D input", expected="an input [N, C, ...] of rank >= 3", found=_shape_text(ctx.x))
    groups = check_int("groups", ctx["groups"], minimum=1)
    if arith.divides(groups, ctx.x[1]) is False:
        raise ShapeError(
            "channels must be divisible by groups",
            expected=f"channels (dim 1) a multiple of groups={_fmt(groups)}",
            found=f"{_fmt(ctx.x[1])} channels in input {_shape_text(ctx.x)}",
        )
    return Outcome(ctx.x)


# ----------------------------------------------------------------------------- merges


def _broadcast(ctx: Ctx) -> Outcome:
    shapes = ctx.inputs
    rank = max(len(s) for s in shapes)
    result = []
    for i in range(rank):
        sizes = [s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0]
        non_one = [d for d in sizes if not (isinstance(d, int) and d == 1)]
        size: Any = 1
        for d in non_one:
            if size == 1:
                size = d
            elif arith.equal(size, d) is False:
                raise ShapeError(
                    f"{ctx.kind.name}: the shapes cannot be broadcast together",
                    expected="equal sizes or 1 in every dimension",
                    found=" and ".join(_shape_text(s) for s in shapes),
                )
        result.append(size)
    return Outcome(tuple(result))


def _concat(ctx: Ctx) -> Outcome:
    shapes = ctx.inputs
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise ShapeError(
            "Concat needs inputs of the same rank",
            expected="inputs with the same number of dimensions",
            found=" and ".join(_shape_text(s) for s in shapes),
        )
    dim = _dim("dim", ctx["dim"], rank)
    for other in shapes[1:]:
        for i in range(rank):
            if i != dim and arith.equal(shapes[0][i], other[i]) is False:
                raise ShapeError(
                    f"Concat along dim {dim}: the other dimensions must match",
                    expected=f"shapes equal except in dim {dim}",
                    found=" and ".join(_shape_text(s) for s in shapes),
                )
    joined = arith.total(s[dim] for s in shapes)
    return Outcome((*shapes[0][:dim], joined, *shapes[0][dim + 1 :]))


# ----------------------------------------------------------------------------- slicing, layout & residual helpers
# Kinds for modern/mobile networks: torch.narrow (one slice of a channel split, e.g. ShuffleNet's
# x.chunk(2, dim=1)), torchvision's Permute, LayerNorm2d and StochasticDepth, and timm's LayerScale.


def _narrow(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    if rank == 0:
        raise ShapeError("narrow() cannot be applied to a 0-dim tensor", found=_shape_text(ctx.x))
    dim = _dim("dim", ctx["dim"], rank)
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
    if arith.is_positive(add(sub(size, end), 1)) is False:  # end > size (decidably)
        raise ShapeError(
            f"narrow(): start ({_fmt(start)}) + length ({_fmt(length)}) exceeds dimension size ({_fmt(size)})",
            expected=f"start + length <= {_fmt(size)}",
            found=f"start + length = {_fmt(end)} on input {_shape_text(ctx.x)}",
        )
    output = (*ctx.x[:dim], length, *ctx.x[dim + 1 :])
    steps = (f"output = {_shape_text(output)} (dim {dim}: elements {_fmt(start)} .. {_fmt(end)} - 1 of {_fmt(size)})",) if ctx.explain else ()
    return Outcome(output, steps=steps)


def _permute(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    dims_arg = ctx["dims"]
    dims = dims_arg if isinstance(dims_arg, tuple) else (dims_arg,)
    if len(dims) != rank:
        raise ShapeError(
            "permute(): the number of dims does not match the input's dimensions",
            expected=f"{rank} dims for input {_shape_text(ctx.x)}",
            found=f"dims={_fmt_tuple(dims)}",
        )
    order = [_dim("dims", d, rank) for d in dims]
    if len(set(order)) != len(order):
        raise SpecError("permute(): duplicate dims are not allowed", expected="a permutation of the dimensions", found=f"dims={_fmt_tuple(dims)}")
    output = tuple(ctx.x[i] for i in order)
    steps = (f"output = {_shape_text(output)} (input dims reordered as {_fmt_tuple(tuple(order))})",) if ctx.explain else ()
    return Outcome(output, steps=steps)


def _layer_norm_2d(ctx: Ctx) -> Outcome:
    # torchvision's LayerNorm2d: permute to channels-last, nn.LayerNorm, permute back.
    if len(ctx.x) != 4:
        raise ShapeError(
            "LayerNorm2d expects a 4-D input (it permutes N, C, H, W to N, H, W, C)",
            expected="4-D input [N, C, H, W]",
            found=f"{len(ctx.x)}-D input {_shape_text(ctx.x)}",
        )
    n, c, h, w = ctx.x
    args = dict(ctx.args)
    given = args["normalized_shape"]
    if given is None:
        args["normalized_shape"] = c
    elif not isinstance(given, tuple) or len(given) == 1:
        single = given[0] if isinstance(given, tuple) else given
        if arith.equal(check_int("normalized_shape", single, minimum=1), c) is False:
            raise ShapeError(
                f"LayerNorm2d normalizes over the {_fmt(c)} channels, not {_fmt(single)}",
                expected=f"normalized_shape={_fmt(c)} (or omit it: it is inferred)",
                found=f"normalized_shape={_fmt(single)} for input {_shape_text(ctx.x)}",
            )
    return _layer_norm(Ctx(ctx.kind, args, ((n, h, w, c),), ctx.explain, ctx.training))._replace(output=ctx.x)


def _layer_scale(ctx: Ctx) -> Outcome:
    # timm's LayerScale multiplies the last dim by gamma (dim,); LayerScale2d dim 1 by gamma.view(1, -1, 1, 1).
    check_number("init_values", ctx["init_values"])
    if ctx.kind.name == "LayerScale2d":
        _require_rank(ctx, (4,))
        channels = ctx.x[1]
    else:
        if len(ctx.x) < 1:
            raise ShapeError("LayerScale needs an input with at least one dimension", found=_shape_text(ctx.x))
        channels = ctx.x[-1]
    features = _infer_channels(ctx, "dim", channels)
    steps = (f"params = dim = {_fmt(features)} (one learnable scale per channel)",) if ctx.explain else ()
    return Outcome(ctx.x, features, 0, 0, 0, steps)


def _stochastic_depth(ctx: Ctx) -> Outcome:
    p = check_number("p", ctx["p"])
    if isinstance(p, (int, float)) and not 0 <= p <= 1:
        raise SpecError("drop probability has to be between 0 and 1", expected="0 <= p <= 1", found=f"p={p}")
    if ctx["mode"] not in ("batch", "row"):
        raise SpecError("mode has to be either 'batch' or 'row'", found=repr(ctx["mode"]))
    steps = ("identity at inference: output = input, no parameters",) if ctx.explain else ()
    return Outcome(ctx.x, steps=steps)


# ----------------------------------------------------------------------------- the registry

_IGNORED = (Param("device", None, "any"), Param("dtype", None, "any"))
_INPLACE = (Param("inplace", False, "bool"),)


def _conv_params(transposed: bool) -> tuple[Param, ...]:
    head = (
        Param("in_channels", None, inferred=True),
        Param("out_channels"),
        Param("kernel_size", kind="ints"),
        Param("stride", 1, "ints"),
        Param("padding", 0, "padding"),
    )
    dilation, groups, bias = Param("dilation", 1, "ints"), Param("groups", 1), Param("bias", True, "bool")
    mode = Param("padding_mode", "zeros", "str", ("zeros", "reflect", "replicate", "circular"))
    if transposed:
        return head + (Param("output_padding", 0, "ints"), groups, bias, dilation, mode) + _IGNORED
    return head + (dilation, groups, bias, mode) + _IGNORED


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
_LAYERNORM = (
    Param("normalized_shape", None, "size", inferred=True),
    Param("eps", 1e-5, "number"),
    Param("elementwise_affine", True, "bool"),
    Param("bias", True, "bool"),
) + _IGNORED


def _running_norm_params(default: bool) -> tuple[Param, ...]:
    """BatchNorm's (`default` True) and InstanceNorm's (False) signature: they differ only in
    the defaults of affine and track_running_stats."""
    return (
        Param("num_features", None, inferred=True),
        Param("eps", 1e-5, "number"),
        Param("momentum", 0.1, "any"),
        Param("affine", default, "bool"),
        Param("track_running_stats", default, "bool"),
    ) + _IGNORED + (Param("bias", True, "bool", keyword=True),)


_BATCHNORM, _INSTANCENORM = _running_norm_params(True), _running_norm_params(False)


def _kinds() -> dict[str, LayerKind]:
    kinds: list[LayerKind] = []
    for n in (1, 2, 3):
        kinds += [
            LayerKind(f"Conv{n}d", _conv_params(False), _conv, n, category="conv"),
            LayerKind(f"ConvTranspose{n}d", _conv_params(True), _conv_transpose, n, category="conv"),
            LayerKind(f"MaxPool{n}d", _MAXPOOL, _pool, n, category="pool"),
            LayerKind(f"AvgPool{n}d", _AVGPOOL1 if n == 1 else _AVGPOOL, _pool, n, category="pool"),
            LayerKind(f"AdaptiveAvgPool{n}d", (Param("output_size", kind="size"),), _adaptive_pool, n, category="pool"),
            LayerKind(
                f"AdaptiveMaxPool{n}d",
                (Param("output_size", kind="size"), Param("return_indices", False, "bool")),
                _adaptive_pool,
                n,
                category="pool",
            ),
            LayerKind(f"BatchNorm{n}d", _BATCHNORM, _batch_norm, n, category="norm"),
            LayerKind(f"InstanceNorm{n}d", _INSTANCENORM, _instance_norm, n, category="norm"),
            LayerKind(f"ZeroPad{n}d", (Param("padding", kind="ints"),), _pad, n),
            LayerKind(f"ConstantPad{n}d", (Param("padding", kind="ints"), Param("value", kind="number")), _pad, n),
            LayerKind(f"ReflectionPad{n}d", (Param("padding", kind="ints"),), _pad, n),
            LayerKind(f"ReplicationPad{n}d", (Param("padding", kind="ints"),), _pad, n),
            LayerKind(f"CircularPad{n}d", (Param("padding", kind="ints"),), _pad, n),
        ]
    kinds += [
        LayerKind(
            "GroupNorm",
            (Param("num_groups"), Param("num_channels", None, inferred=True), Param("eps", 1e-5, "number"), Param("affine", True, "bool"))
            + _IGNORED
            + (Param("bias", True, "bool", keyword=True),),
            _group_norm,
            category="norm",
        ),
        LayerKind("LayerNorm", _LAYERNORM, _layer_norm, category="norm"),
        LayerKind(
            "Linear",
            (Param("in_features", None, inferred=True), Param("out_features"), Param("bias", True, "bool")) + _IGNORED,
            _linear,
            category="linear",
        ),
        LayerKind("Flatten", (Param("start_dim", 1), Param("end_dim", -1)), _flatten),
        LayerKind("Unflatten", (Param("dim"), Param("unflattened_size", kind="size")), _unflatten),
        LayerKind("Identity", (), _same_shape, ignores_args=True),
        LayerKind("PReLU", (Param("num_parameters", 1), Param("init", 0.25, "number")) + _IGNORED, _prelu, category="act"),
        LayerKind("Softmax", (Param("dim", None, "any"),), _softmax, category="act"),
        LayerKind("LogSoftmax", (Param("dim", None, "any"),), _softmax, category="act"),
        LayerKind("PixelShuffle", (Param("upscale_factor"),), _pixel_shuffle),
        LayerKind("PixelUnshuffle", (Param("downscale_factor"),), _pixel_unshuffle),
        LayerKind("ChannelShuffle", (Param("groups"),), _channel_shuffle),
        LayerKind(
            "Upsample",
            (
                Param("size", None, "size"),
                Param("scale_factor", None, "any"),
                Param("mode", "nearest", "str", ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")),
                Param("align_corners", None, "any"),
                Param("recompute_scale_factor", None, "any"),
            ),
            _upsample,
            category="upsample",
        ),
        LayerKind("Add", (), _broadcast, inputs=2, category="merge"),
        LayerKind("Mul", (), _broadcast, inputs=2, category="merge"),
        LayerKind("Concat", (Param("dim", 1),), _concat, inputs=2, category="merge"),
    ]
    for name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"):
        kinds.append(LayerKind(name, (Param("p", 0.5, "number"),) + _INPLACE, _dropout))
    for name in ("ReLU", "ReLU6", "SiLU", "Hardswish", "Hardsigmoid", "Mish", "SELU"):
        kinds.append(LayerKind(name, _INPLACE, _same_shape, category="act"))
    for name in ("Sigmoid", "Tanh", "Tanhshrink", "Softsign", "LogSigmoid"):
        kinds.append(LayerKind(name, (), _same_shape, category="act"))
    kinds += [
        LayerKind("CELU", (Param("alpha", 1.0, "number"),) + _INPLACE, _celu, category="act"),
        LayerKind("Softplus", (Param("beta", 1.0, "number"), Param("threshold", 20.0, "number")), _same_shape, category="act"),
        LayerKind("Threshold", (Param("threshold", kind="number"), Param("value", kind="number")) + _INPLACE, _same_shape, category="act"),
        LayerKind("Hardshrink", (Param("lambd", 0.5, "number"),), _same_shape, category="act"),
        LayerKind("Softshrink", (Param("lambd", 0.5, "number"),), _softshrink, category="act"),
        LayerKind("RReLU", (Param("lower", 1 / 8, "number"), Param("upper", 1 / 3, "number")) + _INPLACE, _rrelu, category="act"),
        LayerKind("Softmin", (Param("dim", None, "any"),), _softmax, category="act"),
        LayerKind("Softmax2d", (), _softmax2d, category="act"),
        LayerKind("GLU", (Param("dim", -1),), _glu, category="act"),
    ]
    kinds += [
        LayerKind("LeakyReLU", (Param("negative_slope", 0.01, "number"),) + _INPLACE, _same_shape, category="act"),
        LayerKind("ELU", (Param("alpha", 1.0, "number"),) + _INPLACE, _same_shape, category="act"),
        LayerKind(
            "Hardtanh",
            (Param("min_val", -1.0, "number"), Param("max_val", 1.0, "number")) + _INPLACE,
            _hardtanh,
            category="act",
        ),
        LayerKind(
            "GELU",
            (Param("approximate", "none", "str", ("none", "tanh")),),
            _same_shape,
            category="act",
        ),
    ]
    # slicing, layout & residual helpers (see the section above the registry)
    kinds += [
        LayerKind("Narrow", (Param("dim"), Param("start"), Param("length")), _narrow),
        LayerKind("Permute", (Param("dims", kind="ints"),), _permute),
        LayerKind("LayerNorm2d", _LAYERNORM, _layer_norm_2d, category="norm"),
        LayerKind("StochasticDepth", (Param("p", kind="number"), Param("mode", kind="str", choices=("batch", "row"))), _stochastic_depth),
    ]
    for name in ("LayerScale", "LayerScale2d"):
        kinds.append(
            LayerKind(name, (Param("dim", None, inferred=True), Param("init_values", 1e-5, "number")) + _INPLACE, _layer_scale)
        )
    return {k.name: k for k in kinds}


KINDS: Mapping[str, LayerKind] = _kinds()
ALIASES = {"Cat": "Concat", "Concatenate": "Concat", "Sum": "Add", "Multiply": "Mul"}


def lookup(name: str) -> LayerKind | None:
    """The layer kind called `name` (PyTorch's class name), or None."""
    return KINDS.get(ALIASES.get(name, name))


def check_arg_type(param: Param, value: Any) -> Any:
    """Check a value against a parameter's declared kind; returns it (tuples stay tuples)."""
    kind = param.kind
    if kind == "any":
        return value
    if value is None:
        if param.default is None or param.inferred:
            return value
        raise SpecError(f"argument {param.name!r} must not be null", expected=_kind_text(param), found="null")
    if kind == "bool":
        return check_bool(param.name, value)
    if kind == "number":
        return check_number(param.name, value)
    if kind == "str":
        if not isinstance(value, str) or (param.choices and value not in param.choices):
            raise SpecError(f"invalid value for {param.name!r}", expected=_kind_text(param), found=_describe(value))
        return value
    if kind == "padding" and isinstance(value, str):
        if value not in ("same", "valid"):
            raise SpecError("invalid padding", expected=_kind_text(param), found=_describe(value))
        return value
    if isinstance(value, tuple) and kind in ("ints", "size", "padding"):
        for v in value:
            if not (v is None and kind == "size") and not _is_int(v):
                raise SpecError(f"argument {param.name!r} must hold integers", expected=_kind_text(param), found=_describe(value))
        return value
    return check_int(param.name, value)


def _kind_text(param: Param) -> str:
    return {
        "int": "an integer",
        "ints": "an integer or a tuple of integers",
        "size": "an integer or a tuple of integers",
        "bool": "true or false",
        "number": "a number",
        "padding": "an integer, a tuple, 'same' or 'valid'",
        "str": "one of " + ", ".join(repr(c) for c in param.choices) if param.choices else "a string",
    }.get(param.kind, "a value")


def apply(
    kind: LayerKind, args: dict[str, Any], inputs: tuple[Shape, ...], *, explain: bool = False, training: bool = False
) -> Outcome:
    """Run a layer's rule on its checked, defaulted arguments and input shapes.

    `training` is PyTorch's module mode (a fresh module trains; cnncalc defaults to eval, the
    inference shapes). An output with an empty dimension is an error here even where PyTorch
    returns a 0-size tensor: no design wants one.
    """
    outcome = kind.rule(Ctx(kind, args, inputs, explain, training))
    for axis, size in enumerate(outcome.output):
        if isinstance(size, int) and size <= 0:
            raise ShapeError(
                f"{kind.name} output dimension {axis} = {size} is too small (the output would be empty)",
                expected="every output dimension >= 1",
                found=f"output {_shape_text(outcome.output)} from input " + " and ".join(_shape_text(s) for s in inputs),
            )
    return outcome
