"""Normalisations: BatchNorm, InstanceNorm (1-D to 3-D), GroupNorm, LayerNorm, LayerNorm2d.

A norm layer keeps its input's shape. Parameters: weight and bias of one value per feature
(`affine`); buffers: running mean and variance (`track_running_stats`). Cheap ops ("norm"):
BatchNorm in eval mode 2 per element with affine, 1 without (scale and shift with the running
statistics); batch statistics (track_running_stats=False), GroupNorm, InstanceNorm, LayerNorm,
LayerNorm2d 5 per element with affine, 4 without (fvcore's counts). The receptive field is
taken as pointwise (the statistics are not counted).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc import conditions
from cnncalc.arith import add, floor_div, mul, product
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    ACTIVATION,
    AXES,
    IGNORED,
    MODEL,
    SAVES_INPUT,
    STRIDED,
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
    fmt,
    in_torch_nn,
    infer_channels,
    kept_order,
    require_rank,
    shape_text,
    step,
)

if TYPE_CHECKING:
    from cnncalc.explain import Step

FAMILY = "norm"


def _features(ctx: Ctx, name: str, channels: Any, *, checked: bool) -> Any:
    """A norm layer's feature count: inferred when omitted; when given it must match the input's
    channels only if PyTorch sizes a tensor by it (`checked`: weights or running statistics)."""
    given = ctx.args.get(name)
    if given is None:
        return channels
    if checked:
        return infer_channels(ctx, name, channels)
    # Without weights or running statistics PyTorch never reads it (and only warns on a mismatch).
    check_int(name, given)
    return channels


def _one_value(ctx: Ctx, count: Any, what: str, formula: str) -> None:
    """PyTorch's _verify_batch_size/_verify_spatial_size: statistics need more than one value."""
    if conditions.unequal(count, 1, f"{formula} > 1") is False:
        raise ShapeError(
            f"{ctx.kind.name} needs more than 1 {what} to compute its statistics",
            expected=f"{formula} > 1",
            found=f"{formula} = 1 for input {shape_text(ctx.x)}",
            hint="use a batch of 2 or more, a larger feature map, or eval mode with running statistics",
        )


def _batch_norm(ctx: Ctx) -> Outcome:
    n = ctx.kind.spatial
    ranks = (2, 3) if n == 1 else (n + 2,)
    require_rank(ctx, ranks)
    affine = check_bool("affine", ctx["affine"])
    track = check_bool("track_running_stats", ctx["track_running_stats"])
    bias = check_bool("bias", ctx["bias"])
    eps = check_number("eps", ctx["eps"])
    channels = _features(ctx, "num_features", ctx.x[1], checked=affine or track)
    batch_stats = ctx.training or not track  # eval mode without running statistics uses the batch's
    if batch_stats:
        sizes = "*".join(["N", *AXES[n][: len(ctx.x) - 2]])
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
    require_rank(ctx, (n + 1, n + 2))
    affine = check_bool("affine", ctx["affine"])
    track = check_bool("track_running_stats", ctx["track_running_stats"])
    bias = check_bool("bias", ctx["bias"])
    check_number("eps", ctx["eps"])
    channels = _features(ctx, "num_features", ctx.x[len(ctx.x) - n - 1], checked=affine or track)
    if ctx.training or not track:
        _one_value(ctx, product(ctx.x[-n:]), "spatial element", "*".join(AXES[n]))
    return _norm_outcome(ctx, channels, affine, bias, track)


def _group_norm(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 2:
        raise ShapeError(
            "GroupNorm expects at least a 2-D input [N, C, ...]",
            expected="an input of rank >= 2 (batch first)",
            found=f"{len(ctx.x)}-D input {shape_text(ctx.x)}",
        )
    groups = check_int("num_groups", ctx["num_groups"], minimum=1)
    affine = check_bool("affine", ctx["affine"])
    bias = check_bool("bias", ctx["bias"])
    check_number("eps", ctx["eps"])
    given = ctx.args.get("num_channels")
    if given is not None:
        check_int("num_channels", given, minimum=0)
        if conditions.divides(groups, given, "num_channels divisible by num_groups") is False:
            raise SpecError(
                "num_channels must be divisible by num_groups",
                expected=f"a multiple of num_groups={fmt(groups)}",
                found=f"num_channels={fmt(given)}",
            )
    # Only the affine weight ties num_channels to the input; the grouping always needs C % G == 0.
    channels = _features(ctx, "num_channels", ctx.x[1], checked=affine)
    if conditions.divides(groups, ctx.x[1], "channels divisible by num_groups") is False:
        raise ShapeError(
            "the input's channels must be divisible by num_groups",
            expected=f"channels a multiple of num_groups={fmt(groups)}",
            found=f"{fmt(ctx.x[1])} channels in input {shape_text(ctx.x)}",
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
    if tail is None or any(conditions.equal(a, b, "normalized_shape = the trailing dimensions") is False for a, b in zip(tail, normalized)):
        raise ShapeError(
            "normalized_shape must equal the trailing dimensions of the input",
            expected=f"input ending in {shape_text(normalized)}",
            found=f"input {shape_text(ctx.x)}",
        )
    affine = check_bool("elementwise_affine", ctx["elementwise_affine"])
    bias = check_bool("bias", ctx["bias"])
    return _norm_outcome(ctx, product(normalized), affine, bias, False)


def _layer_norm_2d(ctx: Ctx) -> Outcome:
    # torchvision's LayerNorm2d: permute to channels-last, nn.LayerNorm, permute back.
    if len(ctx.x) != 4:
        raise ShapeError(
            "LayerNorm2d expects a 4-D input (it permutes N, C, H, W to N, H, W, C)",
            expected="4-D input [N, C, H, W]",
            found=f"{len(ctx.x)}-D input {shape_text(ctx.x)}",
        )
    n, c, h, w = ctx.x
    args = dict(ctx.args)
    given = args["normalized_shape"]
    if given is None:
        args["normalized_shape"] = c
    elif not isinstance(given, tuple) or len(given) == 1:
        single = given[0] if isinstance(given, tuple) else given
        if conditions.equal(check_int("normalized_shape", single, minimum=1), c, "normalized_shape = the channels") is False:
            raise ShapeError(
                f"LayerNorm2d normalizes over the {fmt(c)} channels, not {fmt(single)}",
                expected=f"normalized_shape={fmt(c)} (or omit it: it is inferred)",
                found=f"normalized_shape={fmt(single)} for input {shape_text(ctx.x)}",
            )
    return _layer_norm(Ctx(ctx.kind, args, ((n, h, w, c),), ctx.explain, ctx.training))._replace(output=ctx.x)


def _norm_outcome(ctx: Ctx, features: Any, affine: bool, bias: bool, track: bool) -> Outcome:
    """A norm layer keeps its input's shape; weight and bias (`affine`) and running mean and
    variance (`track`) hold one value per feature."""
    bias_params = features if affine and bias else 0
    params = add(features if affine else 0, bias_params)
    buffers = mul(2, features) if track else 0
    steps: tuple[Step, ...] = ()
    if ctx.explain:
        steps = (
            step("params", result=params, note=f"{'weight and bias' if bias_params else 'weight'} of {fmt(features)} features")
            if params
            else step("params", result=0, note="no affine weights"),
            step("buffers", result=buffers, note="running mean and variance") if buffers else step("buffers", result=0),
        )
    return Outcome(ctx.x, params, bias_params, buffers, 0, steps)


# ----------------------------------------------------------------------------- cheap ops


def _statistics_ops(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> tuple[Any, Step]:
    """Statistics computed on the input: 5 ops per element with affine, 4 without."""
    elements = product(output)
    affine = args.get("affine", args.get("elementwise_affine", True))
    per = 5 if affine else 4
    ops = mul(elements, per)
    return ops, step("norm ops", f"elements*{per} (statistics{' and affine' if affine else ''})", (count_term(elements), f"*{per}"), ops)


def _batch_norm_ops(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> tuple[Any, Step]:
    """Eval mode with running statistics: a scale and a shift per element (1 op without affine)."""
    if not args.get("track_running_stats", True):
        return _statistics_ops(kind, args, inputs, output)
    elements = product(output)
    per = 2 if args.get("affine", True) else 1
    ops = mul(elements, per)
    return ops, step("norm ops", f"elements*{per} (eval: scale and shift)", (count_term(elements), f"*{per}"), ops)


# ----------------------------------------------------------------------------- kinds


def _running_norm_params(default: bool) -> tuple[Param, ...]:
    """BatchNorm's (`default` True) and InstanceNorm's (False) signature: they differ only in
    the defaults of affine and track_running_stats."""
    return (
        Param("num_features", None, inferred=True),
        Param("eps", 1e-5, "number"),
        Param("momentum", 0.1, "any"),
        Param("affine", default, "bool"),
        Param("track_running_stats", default, "bool"),
    ) + IGNORED + (Param("bias", True, "bool", keyword=True),)


_LAYERNORM = (
    Param("normalized_shape", None, "size", inferred=True),
    Param("eps", 1e-5, "number"),
    Param("elementwise_affine", True, "bool"),
    Param("bias", True, "bool"),
) + IGNORED
_AFFINE = "C weight + C bias with affine (bias=False: weight only)"
_RUNNING = _AFFINE + "; buffers: 2*C (running mean and variance) with track_running_stats"
_STATISTICS = "elements * 5 (4 without affine): the statistics"


def _norm(
    name: str, params: tuple[Param, ...], rule: Rule, n: int = 0, *, doc: str, batch: bool = False, origin: str = "torch.nn", unbatched: bool = False
) -> LayerKind:
    return LayerKind(
        name, params, rule, n, family=FAMILY, unbatched=unbatched, cheap=_batch_norm_ops if batch else _statistics_ops, op_kind="norm", params_doc=doc,
        ops_doc="elements * 2 (1 without affine): scale and shift with the running statistics; with batch statistics " + _STATISTICS
        if batch
        else _STATISTICS,
        origin=origin,
    )


def _batch_norm_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training (batch statistics): the input, and four per-channel tensors in the parameters'
    dtype: the running mean and variance (buffers, not parameters, so the hooks see them) and the
    saved mean and inverse standard deviation (two without track_running_stats). Nothing when
    neither the input nor a parameter needs a gradient."""
    affine, track = args.get("affine", True), args.get("track_running_stats", True)
    if not track and flow.mixed:
        raise SpecError(
            "without track_running_stats its statistics under autocast were not measured",
            expected="track_running_stats: true", found="false",
        )
    if not (flow.grad or affine):
        return ()
    return (SAVES_INPUT, (mul(4 if track else 2, inputs[0][1]), MODEL))


def _instance_norm_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: PyTorch runs batch norm on the input viewed as [1, N*C, ...]: the input, the
    saved mean and inverse standard deviation (N*C each), with affine the weight repeated N
    times, with track_running_stats the running mean and variance repeated N times."""
    if flow.mixed:
        raise SpecError("its saved tensors under autocast were not measured", expected="no --mixed", found="--mixed")
    affine, track = args.get("affine", False), args.get("track_running_stats", False)
    if not (flow.grad or affine):
        return ()
    return (SAVES_INPUT, (mul(2 + int(affine) + 2 * int(track), mul(inputs[0][0], inputs[0][1])), ACTIVATION))


def _group_norm_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input, and the mean and inverse standard deviation per sample and group
    (2*N*num_groups, in the parameters' dtype)."""
    affine = args.get("affine", True)
    if not affine and flow.mixed:
        raise SpecError("without affine its statistics under autocast were not measured", expected="affine: true", found="false")
    if not (flow.grad or affine):
        return ()
    return (SAVES_INPUT, (mul(2, mul(inputs[0][0], args["num_groups"])), MODEL if affine else ACTIVATION))


def _layer_norm_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input, and the mean and inverse standard deviation over the normalized
    dims (2 * the product of the other dims, in the parameters' dtype)."""
    affine = args.get("elementwise_affine", True)
    if not affine and flow.mixed:
        raise SpecError("without elementwise_affine its statistics under autocast were not measured", expected="elementwise_affine: true", found="false")
    if not (flow.grad or affine):
        return ()
    shape = args.get("normalized_shape")
    normalized = len(shape) if isinstance(shape, tuple) else 1
    return (SAVES_INPUT, (mul(2, product(inputs[0][:-normalized])), MODEL if affine else ACTIVATION))


def _layer_norm_2d_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training (torchvision's LayerNorm2d: permute, layer norm over C, permute back): the input,
    and the mean and inverse standard deviation per position (2*N*H*W); the output is the
    permuted back result, not contiguous unless H and W are 1."""
    affine = args.get("elementwise_affine", True)
    if not affine and flow.mixed:
        raise SpecError("without elementwise_affine its statistics under autocast were not measured", expected="elementwise_affine: true", found="false")
    x = inputs[0]
    stats = (mul(2, mul(x[0], product(x[2:]))), MODEL if affine else ACTIVATION)
    layout = () if kept_order((x[0], *x[2:], x[1]), (0, 3, 1, 2)) else (STRIDED,)  # [N, H, W, C] permuted back
    return ((SAVES_INPUT, stats) if flow.grad or affine else ()) + layout


_NORM_SAVES = {
    "BatchNorm": (_batch_norm_saves, "input + 4*C (running mean and variance, saved mean and invstd; 2*C without track_running_stats), parameters' dtype"),
    "InstanceNorm": (_instance_norm_saves, "input + 2*N*C (saved mean and invstd) + N*C with affine + 2*N*C with track_running_stats"),
    "GroupNorm": (_group_norm_saves, "input + 2*N*num_groups (saved mean and invstd), parameters' dtype"),
    "LayerNorm2d": (_layer_norm_2d_saves, "input + 2*N*H*W (saved mean and invstd), parameters' dtype; output not contiguous unless H = W = 1"),
    "LayerNorm": (_layer_norm_saves, "input + 2 * the elements outside normalized_shape (saved mean and invstd), parameters' dtype"),
}


def _with_saves(kind: LayerKind) -> LayerKind:
    rule, doc = _NORM_SAVES[kind.name if kind.name.startswith("LayerNorm") else kind.name.rstrip("123d")]
    return kind._replace(saves=rule, saves_doc=doc)


# `cnncalc export`: torchvision's convnext.LayerNorm2d, written into the exported file.
_LAYER_NORM_2D = '''class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an (N, C, H, W) tensor (torchvision's)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)
'''


def kinds() -> list[LayerKind]:
    """The norm family's kinds."""
    return [_with_saves(k) for k in _kinds()]


def _kinds() -> list[LayerKind]:
    result = [_norm(f"BatchNorm{n}d", _running_norm_params(True), _batch_norm, n, doc=_RUNNING, batch=True) for n in (1, 2, 3)]
    result += [_norm(f"InstanceNorm{n}d", _running_norm_params(False), _instance_norm, n, doc=_RUNNING, unbatched=True) for n in (1, 2, 3)]
    group = (
        (Param("num_groups"), Param("num_channels", None, inferred=True), Param("eps", 1e-5, "number"), Param("affine", True, "bool"))
        + IGNORED
        + (Param("bias", True, "bool", keyword=True),)
    )
    result = [in_torch_nn(k) for k in result]
    return result + [
        in_torch_nn(_norm("GroupNorm", group, _group_norm, doc=_AFFINE)),
        in_torch_nn(_norm("LayerNorm", _LAYERNORM, _layer_norm, doc="S weight + S bias with elementwise_affine, S = prod(normalized_shape) (bias=False: weight only)")),
        _norm(
            "LayerNorm2d", _LAYERNORM, _layer_norm_2d, doc="C weight + C bias with elementwise_affine (bias=False: weight only)",
            origin="torchvision.models.convnext.LayerNorm2d",
        )._replace(torch=_LAYER_NORM_2D),
    ]
