"""The layer kinds: PyTorch's constructor signature, shape rule, parameter rule and MAC rule.

Shapes here are whole tensor shapes as PyTorch sees them (a spec's batch dimension included),
so that PyTorch's rank rules (batched or unbatched input) and dimension arguments (`Flatten`,
`Softmax`, `Concat`) mean exactly what they mean in PyTorch. Every rule is a small pure
function of the evaluated arguments and the input shapes; errors are raised as ShapeError or
SpecError without a position, which the caller adds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import arith
from .arith import add, floor_div, mul, product, sub
from .errors import ShapeError, SpecError

Shape = tuple[Any, ...]


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Param:
    """One constructor argument: PyTorch's name, default and accepted type (`kind`)."""

    name: str
    default: Any = REQUIRED
    kind: str = "int"
    choices: tuple[str, ...] = ()
    inferred: bool = False  # filled from the incoming shape when omitted (in_channels, ...)


@dataclass(frozen=True)
class Outcome:
    """What one layer does to its input: output shape, parameters, buffers and MACs."""

    output: Shape
    params: Any = 0
    bias: Any = 0
    buffers: Any = 0
    macs: Any = 0
    steps: tuple[str, ...] = ()


Rule = Callable[["Ctx"], Outcome]


@dataclass(frozen=True)
class LayerKind:
    """A layer type: its PyTorch signature and rule; `inputs` > 1 marks a merge."""

    name: str
    params: tuple[Param, ...]
    rule: Rule
    spatial: int = 0
    inputs: int = 1
    category: str = "other"
    param_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "param_names", frozenset(p.name for p in self.params))


@dataclass
class Ctx:
    """The evaluated arguments and input shapes handed to a rule."""

    kind: LayerKind
    args: dict[str, Any]
    inputs: tuple[Shape, ...]
    explain: bool

    @property
    def x(self) -> Shape:
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


def per_axis(name: str, value: Any, axes: int, *, minimum: int | None = None) -> tuple[Any, ...]:
    """An int-or-tuple argument expanded to one value per spatial axis, like PyTorch's _ntuple."""
    if isinstance(value, tuple):
        if len(value) == 1 and axes > 1:
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


def _positive_known(value: Any) -> bool:
    return arith.is_positive(value) is not False


def _nonnegative_known(value: Any) -> bool:
    return not (isinstance(value, (int, float)) and value < 0)


def _fmt(value: Any) -> str:
    return arith.as_text(value)


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


def _too_small(ctx: Ctx, axis_names: list[str], sizes: list[Any], formula: str) -> None:
    for axis, size in zip(axis_names, sizes):
        if isinstance(size, int) and size <= 0:
            raise ShapeError(
                f"output size {axis} = {size} is too small ({formula})",
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


def _conv(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    channel_axis, sizes = _spatial_input(ctx)
    cin = _infer_channels(ctx, "in_channels", ctx.x[channel_axis])
    cout = check_int("out_channels", ctx["out_channels"], minimum=1)
    kernel = per_axis("kernel_size", ctx["kernel_size"], n)
    if any(isinstance(k, int) and k <= 0 for k in kernel):
        raise SpecError("kernel size should be greater than zero", expected="kernel_size >= 1", found=_fmt_tuple(kernel))
    stride = per_axis("stride", ctx["stride"], n)
    if any(isinstance(s, int) and s <= 0 for s in stride):
        raise SpecError("stride must be positive", expected="stride >= 1", found=_fmt_tuple(stride))
    dilation = per_axis("dilation", ctx["dilation"], n)
    if any(isinstance(d, int) and d <= 0 for d in dilation):
        raise SpecError("dilation must be positive", expected="dilation >= 1", found=_fmt_tuple(dilation))
    groups = _groups(ctx, cin, cout)
    bias = check_bool("bias", ctx["bias"])
    padding_arg = ctx["padding"]
    steps: list[str] = []
    if isinstance(padding_arg, str):
        if padding_arg not in ("same", "valid"):
            raise SpecError("padding must be an integer, a tuple, 'same' or 'valid'", found=repr(padding_arg))
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
    _check_padding_mode(mode, pads, sizes, padding_arg)
    outs = []
    for axis, size, k, s, p, d in zip(_AXES[n], sizes, kernel, stride, pads, dilation):
        if padding_arg == "same":
            out = size
            if ctx.explain:
                steps.append(f"{axis}_out = {axis} = {_fmt(size)} (padding='same', stride 1)")
        else:
            out = add(floor_div(sub(sub(add(size, mul(2, p)), mul(d, sub(k, 1))), 1), s), 1)
            if ctx.explain:
                steps.append(
                    f"{axis}_out = floor(({axis} + 2p - d(k-1) - 1)/s) + 1 = "
                    f"floor(({_fmt(size)} + 2*{_fmt(p)} - {_fmt(d)}*({_fmt(k)}-1) - 1)/{_fmt(s)}) + 1 = {_fmt(out)}"
                )
        outs.append(out)
    _too_small(ctx, _AXES[n], outs, "floor((in + 2p - d(k-1) - 1)/s) + 1")
    output = (*ctx.x[:channel_axis], cout, *outs)
    per_filter = mul(floor_div(cin, groups) if arith.divides(groups, cin) else arith.true_div(cin, groups), product(kernel))
    weight = mul(cout, per_filter)
    bias_params = cout if bias else 0
    macs = mul(product(output), per_filter)
    if ctx.explain:
        k_text = "*".join(_fmt(k) for k in kernel)
        steps.append(
            f"params = C_out*(C_in/groups)*{'*'.join('k' + a.lower() for a in _AXES[n])}"
            + (" + C_out" if bias else "")
            + f" = {_fmt(cout)}*({_fmt(cin)}/{_fmt(groups)})*{k_text}"
            + (f" + {_fmt(cout)}" if bias else "")
            + f" = {_fmt(add(weight, bias_params))}"
        )
        steps.append(
            f"MACs = output elements * (C_in/groups)*{k_text} = {_fmt(product(output))}*{_fmt(per_filter)} = {_fmt(macs)}"
        )
    return Outcome(output, add(weight, bias_params), bias_params, 0, macs, tuple(steps))


def _fmt_tuple(values: tuple[Any, ...]) -> str:
    return "(" + ", ".join(_fmt(v) for v in values) + ")"


def _check_padding_mode(mode: Any, pads: tuple[Any, ...], sizes: Shape, padding_arg: Any) -> None:
    if mode not in ("zeros", "reflect", "replicate", "circular"):
        raise SpecError(
            "padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular'", found=repr(mode)
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
    channel_axis, sizes = _spatial_input(ctx)
    cin = _infer_channels(ctx, "in_channels", ctx.x[channel_axis])
    cout = check_int("out_channels", ctx["out_channels"], minimum=1)
    kernel = per_axis("kernel_size", ctx["kernel_size"], n)
    if any(isinstance(k, int) and k <= 0 for k in kernel):
        raise SpecError("kernel size should be greater than zero", expected="kernel_size >= 1", found=_fmt_tuple(kernel))
    stride = per_axis("stride", ctx["stride"], n)
    if any(isinstance(s, int) and s <= 0 for s in stride):
        raise SpecError("stride must be positive", expected="stride >= 1", found=_fmt_tuple(stride))
    dilation = per_axis("dilation", ctx["dilation"], n)
    if any(isinstance(d, int) and d <= 0 for d in dilation):
        raise SpecError("dilation must be positive", expected="dilation >= 1", found=_fmt_tuple(dilation))
    if isinstance(ctx["padding"], str):
        raise SpecError(
            f"{ctx.kind.name} does not support padding={ctx['padding']!r} (PyTorch fails when it runs)",
            expected="an integer or a tuple of integers",
            found=repr(ctx["padding"]),
        )
    pads = per_axis("padding", ctx["padding"], n, minimum=0)
    output_padding = per_axis("output_padding", ctx["output_padding"], n, minimum=0)
    groups = _groups(ctx, cin, cout)
    bias = check_bool("bias", ctx["bias"])
    if ctx["padding_mode"] != "zeros":
        raise SpecError(f"only padding_mode='zeros' is supported for {ctx.kind.name}", found=repr(ctx["padding_mode"]))
    for op, s, d in zip(output_padding, stride, dilation):
        if isinstance(op, int) and isinstance(s, int) and isinstance(d, int) and op >= s and op >= d:
            raise ShapeError(
                "output padding must be smaller than either stride or dilation",
                expected=f"output_padding < max(stride, dilation) = {max(s, d)}",
                found=f"output_padding={_fmt_tuple(output_padding)}",
            )
    steps: list[str] = []
    outs = []
    for axis, size, k, s, p, d, op in zip(_AXES[n], sizes, kernel, stride, pads, dilation, output_padding):
        out = add(add(add(sub(mul(sub(size, 1), s), mul(2, p)), mul(d, sub(k, 1))), op), 1)
        if ctx.explain:
            steps.append(
                f"{axis}_out = ({axis}-1)*s - 2p + d(k-1) + output_padding + 1 = "
                f"({_fmt(size)}-1)*{_fmt(s)} - 2*{_fmt(p)} + {_fmt(d)}*({_fmt(k)}-1) + {_fmt(op)} + 1 = {_fmt(out)}"
            )
        outs.append(out)
    _too_small(ctx, _AXES[n], outs, "(in-1)*s - 2p + d(k-1) + output_padding + 1")
    output = (*ctx.x[:channel_axis], cout, *outs)
    per_input = mul(arith.true_div(cout, groups), product(kernel))
    weight = mul(cin, per_input)
    bias_params = cout if bias else 0
    # Counted on the input positions: each input element is scattered through (C_out/g)*prod(k).
    macs = mul(product(ctx.x), per_input)
    if ctx.explain:
        k_text = "*".join(_fmt(k) for k in kernel)
        steps.append(
            f"params = C_in*(C_out/groups)*{k_text}"
            + (" + C_out" if bias else "")
            + f" = {_fmt(cin)}*({_fmt(cout)}/{_fmt(groups)})*{k_text}"
            + (f" + {_fmt(cout)}" if bias else "")
            + f" = {_fmt(add(weight, bias_params))}"
        )
        steps.append(f"MACs = input elements * (C_out/groups)*{k_text} = {_fmt(macs)}")
    return Outcome(output, add(weight, bias_params), bias_params, 0, macs, tuple(steps))


# ----------------------------------------------------------------------------- pooling


def pooled_size(size: Any, k: Any, s: Any, p: Any, d: Any, ceil_mode: bool) -> Any:
    """PyTorch's pooling_output_shape for one axis."""
    span = sub(sub(add(size, mul(2, p)), mul(d, sub(k, 1))), 1)
    out = add(floor_div(add(span, sub(s, 1)) if ceil_mode else span, s), 1)
    # ceil_mode: a last window that would start inside the right padding is dropped.
    if ceil_mode and isinstance(out, int) and isinstance(size, int):
        if (out - 1) * s >= size + p:
            out -= 1
    return out


def _pool(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    channel_axis, sizes = _spatial_input(ctx)
    kernel = per_axis("kernel_size", ctx["kernel_size"], n)
    if any(isinstance(k, int) and k <= 0 for k in kernel):
        raise SpecError("kernel size should be greater than zero", expected="kernel_size >= 1", found=_fmt_tuple(kernel))
    stride_arg = ctx["stride"]
    stride = kernel if stride_arg is None or stride_arg == () else per_axis("stride", stride_arg, n)
    if any(isinstance(s, int) and s <= 0 for s in stride):
        raise SpecError("stride should be greater than zero", expected="stride >= 1", found=_fmt_tuple(stride))
    pads = per_axis("padding", ctx["padding"], n, minimum=0)
    is_max = ctx.kind.name.startswith("Max")
    dilation = per_axis("dilation", ctx["dilation"], n) if is_max else (1,) * n
    if any(isinstance(d, int) and d <= 0 for d in dilation):
        raise SpecError("dilation should be greater than zero", expected="dilation >= 1", found=_fmt_tuple(dilation))
    ceil_mode = check_bool("ceil_mode", ctx["ceil_mode"])
    for p, k in zip(pads, kernel):
        # PyTorch compares with half the kernel itself, not the dilated kernel.
        if isinstance(p, int) and isinstance(k, int) and 2 * p > k:
            raise ShapeError(
                "pad should be at most half of kernel size",
                expected=f"padding <= kernel_size/2 = {k / 2:g}",
                found=f"padding={_fmt_tuple(pads)}, kernel_size={_fmt_tuple(kernel)}",
            )
    if not is_max and ctx.args.get("divisor_override") not in (None, 0):
        check_int("divisor_override", ctx["divisor_override"], minimum=1)
    elif not is_max and ctx.args.get("divisor_override") == 0:
        raise SpecError("divisor must be not zero", found="divisor_override=0")
    outs = []
    steps: list[str] = []
    for axis, size, k, s, p, d in zip(_AXES[n], sizes, kernel, stride, pads, dilation):
        out = pooled_size(size, k, s, p, d, ceil_mode)
        if ctx.explain:
            rounding = "ceil" if ceil_mode else "floor"
            steps.append(
                f"{axis}_out = {rounding}(({axis} + 2p - d(k-1) - 1)/s) + 1 = "
                f"{rounding}(({_fmt(size)} + 2*{_fmt(p)} - {_fmt(d)}*({_fmt(k)}-1) - 1)/{_fmt(s)}) + 1"
                + (" (minus one if the last window starts in the right padding)" if ceil_mode else "")
                + f" = {_fmt(out)}"
            )
        outs.append(out)
    _too_small(ctx, _AXES[n], outs, "(in + 2p - d(k-1) - 1)/s + 1")
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
            outs.append(size)
        else:
            check_int("output_size", target, minimum=0)
            outs.append(target)
    if any(isinstance(s, int) and s <= 0 for s in sizes):
        raise ShapeError("adaptive pooling needs a non-empty input", found=_shape_text(ctx.x))
    return Outcome((*ctx.x[: channel_axis + 1], *outs))


# ----------------------------------------------------------------------------- normalisation


def _batch_norm(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    ranks = (2, 3) if n == 1 else (n + 2,)
    _require_rank(ctx, ranks)
    channels = _infer_channels(ctx, "num_features", ctx.x[1])
    affine = check_bool("affine", ctx["affine"])
    track = check_bool("track_running_stats", ctx["track_running_stats"])
    check_number("eps", ctx["eps"])
    params = mul(2, channels) if affine else 0
    buffers = mul(2, channels) if track else 0
    return _norm_outcome(ctx, channels, params, channels if affine else 0, buffers)


def _instance_norm(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    _require_rank(ctx, (n + 1, n + 2))
    channels = ctx.x[len(ctx.x) - n - 1]
    given = ctx.args.get("num_features")
    affine = check_bool("affine", ctx["affine"])
    track = check_bool("track_running_stats", ctx["track_running_stats"])
    if given is None:
        features = channels
    else:
        features = check_int("num_features", given, minimum=1)
        if (affine or track) and arith.equal(features, channels) is False:
            raise ShapeError(
                f"num_features={_fmt(features)} does not match the incoming {_fmt(channels)} channels",
                expected=f"num_features={_fmt(channels)}",
                found=f"num_features={_fmt(features)}",
            )
    params = mul(2, features) if affine else 0
    buffers = mul(2, features) if track else 0
    return _norm_outcome(ctx, features, params, features if affine else 0, buffers)


def _group_norm(ctx: Ctx) -> Outcome:
    _require_rank(ctx, tuple(range(2, 9)))
    channels = _infer_channels(ctx, "num_channels", ctx.x[1])
    groups = check_int("num_groups", ctx["num_groups"], minimum=1)
    if arith.divides(groups, channels) is False:
        raise SpecError(
            "num_channels must be divisible by num_groups",
            expected=f"a multiple of num_groups={_fmt(groups)}",
            found=f"num_channels={_fmt(channels)}",
        )
    affine = check_bool("affine", ctx["affine"])
    params = mul(2, channels) if affine else 0
    return _norm_outcome(ctx, channels, params, channels if affine else 0, 0)


def _layer_norm(ctx: Ctx) -> Outcome:
    shape_arg = ctx["normalized_shape"]
    if shape_arg is None:
        normalized: tuple[Any, ...] = (ctx.x[-1],)
    elif isinstance(shape_arg, tuple):
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
    has_bias = check_bool("bias", ctx["bias"]) and affine
    size = product(normalized)
    params = add(size if affine else 0, size if has_bias else 0)
    return _norm_outcome(ctx, size, params, size if has_bias else 0, 0)


def _norm_outcome(ctx: Ctx, features: Any, params: Any, bias: Any, buffers: Any) -> Outcome:
    steps: tuple[str, ...] = ()
    if ctx.explain:
        steps = (
            f"params = {_fmt(params)} (weight and bias of {_fmt(features)} features)"
            if params
            else "params = 0 (no affine weights)",
            f"buffers = {_fmt(buffers)} (running mean and variance)" if buffers else "buffers = 0",
        )
    return Outcome(ctx.x, params, bias, buffers, 0, steps)


# ----------------------------------------------------------------------------- dense & reshape


def _linear(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 1:
        raise ShapeError("Linear needs an input with at least one dimension", found=_shape_text(ctx.x))
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
        steps = (
            f"output = {_shape_text(output)} (last dimension {_fmt(fin)} -> {_fmt(fout)})",
            f"params = in*out" + (" + out" if bias else "") + f" = {_fmt(fin)}*{_fmt(fout)}"
            + (f" + {_fmt(fout)}" if bias else "") + f" = {_fmt(add(weight, bias_params))}",
            f"MACs = output elements * in_features = {_fmt(product(output))}*{_fmt(fin)} = {_fmt(macs)}",
        )
    return Outcome(output, add(weight, bias_params), bias_params, 0, macs, steps)


def _dim(name: str, value: Any, rank: int) -> int:
    """A PyTorch dimension index (negative counts from the end) checked against the rank."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise SpecError(f"argument {name!r} must be an integer dimension", found=_describe(value))
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
        raise SpecError("unflattened_size must be a tuple of sizes", found=_describe(sizes))
    sizes = tuple(check_int("unflattened_size", s, minimum=-1) for s in sizes)
    known = product(s for s in sizes if s != -1)
    if sum(1 for s in sizes if s == -1) > 1:
        raise SpecError("only one size in unflattened_size may be -1", found=_fmt_tuple(sizes))
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
        channels = ctx.x[1] if len(ctx.x) >= 2 else ctx.x[0] if ctx.x else 1
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
    return Outcome(ctx.x)


def _upsample(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    n = rank - 2
    if n < 1 or n > 3:
        raise ShapeError("Upsample expects a 3-D, 4-D or 5-D (batched) input", found=_shape_text(ctx.x))
    mode = ctx["mode"]
    modes = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3, "area": None}
    if mode not in modes:
        raise SpecError("unknown Upsample mode", expected="one of " + ", ".join(modes), found=repr(mode))
    if modes[mode] is not None and modes[mode] != n:
        raise ShapeError(
            f"mode {mode!r} needs a {modes[mode] + 2}-D input",
            expected=f"{modes[mode] + 2}-D input",
            found=f"{rank}-D input {_shape_text(ctx.x)}",
        )
    if ctx["align_corners"] is not None and modes[mode] is None:
        raise SpecError(
            "align_corners can only be set with the interpolating modes: linear, bilinear, bicubic, trilinear",
            found=f"mode={mode!r}",
        )
    size, scale = ctx["size"], ctx["scale_factor"]
    if (size is None) == (scale is None):
        raise SpecError("Upsample needs exactly one of size and scale_factor", found=f"size={size!r}, scale_factor={scale!r}")
    spatial = ctx.x[2:]
    if size is not None:
        outs = per_axis("size", size, n, minimum=1)
        steps = f"output size = {_fmt_tuple(outs)} (given)"
    else:
        if isinstance(scale, tuple):
            if len(scale) != n:
                raise SpecError("scale_factor needs one value per spatial axis", expected=f"{n} values", found=_describe(scale))
            scales = scale
        else:
            scales = (scale,) * n
        for value in scales:
            check_number("scale_factor", value)
            if isinstance(value, (int, float)) and value <= 0:
                raise SpecError("scale_factor must be positive", found=f"scale_factor={value}")
        # PyTorch computes floor(float(size) * scale) in double precision.
        outs = tuple(
            arith.floor(float(s) * float(f)) if arith.is_number(s) and arith.is_number(f) else arith.floor(mul(s, f))
            for s, f in zip(spatial, scales)
        )
        steps = "output size = floor(in * scale_factor) = " + _fmt_tuple(outs)
    if any(isinstance(o, int) and o <= 0 for o in outs):
        raise ShapeError("Upsample output size must be positive", found=_fmt_tuple(outs))
    return Outcome((*ctx.x[:2], *outs), steps=(steps,) if ctx.explain else ())


def _pad(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    arg = ctx["padding"]
    if isinstance(arg, tuple):
        if len(arg) != 2 * n:
            raise SpecError("padding needs two values per padded axis", expected=f"an integer or {2 * n} integers", found=_describe(arg))
        pads = tuple(check_int("padding", v) for v in arg)
    else:
        pads = (check_int("padding", arg),) * (2 * n)
    if len(ctx.x) < n + 1:
        raise ShapeError(f"{ctx.kind.name} expects at least a {n + 1}-D input", found=_shape_text(ctx.x))
    mode = ctx.kind.name[: -len("Pad1d")]
    sizes = list(ctx.x[-n:])
    outs = []
    # PyTorch's pad tuple lists the last axis first: (left, right, top, bottom, front, back).
    for i in range(n):
        axis = len(sizes) - 1 - i
        before, after = pads[2 * i], pads[2 * i + 1]
        size = sizes[axis]
        if mode == "Reflection" and isinstance(size, int):
            for p in (before, after):
                if isinstance(p, int) and p >= size:
                    raise ShapeError(
                        "reflection padding must be smaller than the input size",
                        expected=f"padding < {size}",
                        found=f"padding {p}",
                    )
        outs.append((axis, add(add(size, before), after)))
    for axis, out in outs:
        sizes[axis] = out
    if any(isinstance(s, int) and s <= 0 for s in sizes):
        raise ShapeError("padding leaves an empty output", found=_shape_text(tuple(sizes)))
    return Outcome((*ctx.x[:-n], *sizes))


def _pixel_shuffle(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 3:
        raise ShapeError("PixelShuffle expects at least a 3-D input", found=_shape_text(ctx.x))
    r = check_int("upscale_factor", ctx["upscale_factor"], minimum=1)
    c, h, w = ctx.x[-3:]
    if arith.divides(mul(r, r), c) is False:
        raise ShapeError("channels must be divisible by upscale_factor squared", found=f"{_fmt(c)} channels, upscale_factor={_fmt(r)}")
    return Outcome((*ctx.x[:-3], floor_div(c, mul(r, r)), mul(h, r), mul(w, r)))


def _pixel_unshuffle(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 3:
        raise ShapeError("PixelUnshuffle expects at least a 3-D input", found=_shape_text(ctx.x))
    r = check_int("downscale_factor", ctx["downscale_factor"], minimum=1)
    c, h, w = ctx.x[-3:]
    if arith.divides(r, h) is False or arith.divides(r, w) is False:
        raise ShapeError("height and width must be divisible by downscale_factor", found=f"{_shape_text(ctx.x)}, downscale_factor={_fmt(r)}")
    return Outcome((*ctx.x[:-3], mul(c, mul(r, r)), floor_div(h, r), floor_div(w, r)))


def _channel_shuffle(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 3:
        raise ShapeError("ChannelShuffle expects at least a 3-D input", found=_shape_text(ctx.x))
    groups = check_int("groups", ctx["groups"], minimum=1)
    if arith.divides(groups, ctx.x[1]) is False:
        raise ShapeError("channels must be divisible by groups", found=f"{_fmt(ctx.x[1])} channels, groups={_fmt(groups)}")
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
    if transposed:
        tail = (
            Param("output_padding", 0, "ints"),
            Param("groups", 1),
            Param("bias", True, "bool"),
            Param("dilation", 1, "ints"),
            Param("padding_mode", "zeros", "str", ("zeros", "reflect", "replicate", "circular")),
        )
    else:
        tail = (
            Param("dilation", 1, "ints"),
            Param("groups", 1),
            Param("bias", True, "bool"),
            Param("padding_mode", "zeros", "str", ("zeros", "reflect", "replicate", "circular")),
        )
    return head + tail + _IGNORED


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
_BATCHNORM = (
    Param("num_features", None, inferred=True),
    Param("eps", 1e-5, "number"),
    Param("momentum", 0.1, "any"),
    Param("affine", True, "bool"),
    Param("track_running_stats", True, "bool"),
) + _IGNORED
_INSTANCENORM = (
    Param("num_features", None, inferred=True),
    Param("eps", 1e-5, "number"),
    Param("momentum", 0.1, "any"),
    Param("affine", False, "bool"),
    Param("track_running_stats", False, "bool"),
) + _IGNORED


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
        ]
    kinds += [
        LayerKind(
            "GroupNorm",
            (Param("num_groups"), Param("num_channels", None, inferred=True), Param("eps", 1e-5, "number"), Param("affine", True, "bool"))
            + _IGNORED,
            _group_norm,
            category="norm",
        ),
        LayerKind(
            "LayerNorm",
            (
                Param("normalized_shape", None, "size", inferred=True),
                Param("eps", 1e-5, "number"),
                Param("elementwise_affine", True, "bool"),
                Param("bias", True, "bool"),
            )
            + _IGNORED,
            _layer_norm,
            category="norm",
        ),
        LayerKind(
            "Linear",
            (Param("in_features", None, inferred=True), Param("out_features"), Param("bias", True, "bool")) + _IGNORED,
            _linear,
            category="linear",
        ),
        LayerKind("Flatten", (Param("start_dim", 1), Param("end_dim", -1)), _flatten),
        LayerKind("Unflatten", (Param("dim"), Param("unflattened_size", kind="size")), _unflatten),
        LayerKind("Identity", (), _same_shape),
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
    for name in ("ReLU", "ReLU6", "SiLU", "Hardswish", "Hardsigmoid", "Mish", "SELU", "CELU"):
        kinds.append(LayerKind(name, _INPLACE, _same_shape, category="act"))
    for name in ("Sigmoid", "Tanh", "Softplus", "Tanhshrink", "Softsign"):
        kinds.append(LayerKind(name, (), _same_shape, category="act"))
    kinds += [
        LayerKind("LeakyReLU", (Param("negative_slope", 0.01, "number"),) + _INPLACE, _same_shape, category="act"),
        LayerKind("ELU", (Param("alpha", 1.0, "number"),) + _INPLACE, _same_shape, category="act"),
        LayerKind(
            "Hardtanh",
            (Param("min_val", -1.0, "number"), Param("max_val", 1.0, "number")) + _INPLACE,
            _same_shape,
            category="act",
        ),
        LayerKind(
            "GELU",
            (Param("approximate", "none", "str", ("none", "tanh")),),
            _same_shape,
            category="act",
        ),
    ]
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
    if kind == "padding":
        if isinstance(value, str):
            if value not in ("same", "valid"):
                raise SpecError("invalid padding", expected="an integer, a tuple, 'same' or 'valid'", found=_describe(value))
            return value
        kind = "ints"
    if kind in ("ints", "size"):
        if isinstance(value, tuple):
            for v in value:
                if not (v is None and kind == "size") and not _is_int(v):
                    raise SpecError(f"argument {param.name!r} must hold integers", expected=_kind_text(param), found=_describe(value))
            return value
        return check_int(param.name, value)
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


def apply(kind: LayerKind, args: dict[str, Any], inputs: tuple[Shape, ...], *, explain: bool = False) -> Outcome:
    """Run a layer's rule on its checked, defaulted arguments and input shapes."""
    return kind.rule(Ctx(kind, args, inputs, explain))
