"""Layers that keep the shape: Identity, the Dropouts, torchvision's StochasticDepth (identity
at inference) and timm's LayerScale / LayerScale2d (one learnable scale per channel).

Cheap ops: LayerScale one multiply per element ("scale"); the others none at inference.
The receptive field is pointwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc.arith import mul, product
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    ACTIVATION,
    INPLACE,
    LAYOUT,
    PARAM_DTYPE,
    SAVES_INPUT,
    SHARES_INPUT,
    Ctx,
    Flow,
    LayerKind,
    Outcome,
    Param,
    Rule,
    SavesRule,
    Shape,
    check_number,
    check_probability,
    infer_channels,
    require_rank,
    same_shape,
    shape_text,
    step,
    unmeasured_mixed,
)

if TYPE_CHECKING:
    from cnncalc.explain import Step

FAMILY = "misc"


def _dropout(ctx: Ctx) -> Outcome:
    check_probability("dropout", ctx["p"])
    name, rank = ctx.kind.name, len(ctx.x)
    if name == "Dropout1d":
        require_rank(ctx, (2, 3))
    elif ctx.training and name in ("Dropout2d", "Dropout3d", "FeatureAlphaDropout"):
        # Channel-wise dropout needs a channel axis; Dropout3d adds a batch axis to any non-5-D input.
        least = 1 if name == "Dropout3d" and rank != 5 else 2
        if rank < least:
            raise ShapeError(
                f"{name} needs at least a {least}-D input in training mode (it drops whole channels)",
                expected=f"an input of rank >= {least}",
                found=f"{rank}-D input {shape_text(ctx.x)}",
            )
    return Outcome(ctx.x)


def _stochastic_depth(ctx: Ctx) -> Outcome:
    check_probability("drop", ctx["p"])
    if ctx["mode"] not in ("batch", "row"):
        raise SpecError("mode has to be either 'batch' or 'row'", found=repr(ctx["mode"]))
    steps = (step("identity at inference: output = input, no parameters"),) if ctx.explain else ()
    return Outcome(ctx.x, steps=steps)


def _layer_scale(two_d: bool) -> Rule:
    def rule(ctx: Ctx) -> Outcome:
        # timm's LayerScale multiplies the last dim by gamma (dim,); LayerScale2d dim 1 by gamma.view(1, -1, 1, 1).
        check_number("init_values", ctx["init_values"])
        if two_d:
            require_rank(ctx, (4,))
            channels = ctx.x[1]
        else:
            if len(ctx.x) < 1:
                raise ShapeError("LayerScale needs an input with at least one dimension", found=shape_text(ctx.x))
            channels = ctx.x[-1]
        features = infer_channels(ctx, "dim", channels)
        steps = (step("params", "dim", "", features, note="one learnable scale per channel"),) if ctx.explain else ()
        return Outcome(ctx.x, features, 0, 0, 0, steps)

    return rule


def _scale_ops(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> tuple[Any, Step]:
    """One multiply per element."""
    elements = product(output)
    return elements, step("scale ops", "output elements", "", elements)


def _identity_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing; the output is the input tensor itself."""
    return (SHARES_INPUT,)


def _known_p(args: Mapping[str, Any], what: str) -> Any:
    p = args.get("p", 0.5)
    if not (isinstance(p, (int, float)) and 0 <= p < 1):
        raise SpecError(f"training memory is modelled for {what} with a numeric 0 <= p < 1 only", expected="0 <= p < 1", found=f"p={p}")
    return p


def _dropout_saves(elementwise: bool) -> SavesRule:
    """Training: the scaled mask PyTorch multiplies the input by, in the activation dtype, when
    the input needs a gradient: one element per input element (`elementwise`: Dropout,
    AlphaDropout) or one per sample and channel (Dropout1d/2d/3d, FeatureAlphaDropout); nothing
    for p = 0."""

    def saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
        if _known_p(args, "dropout") == 0:
            return ()
        x = inputs[0]
        mask = (product(x) if elementwise else mul(x[0], x[1]), ACTIVATION)
        return ((mask,) if flow.grad else ()) + ((SHARES_INPUT,) if args.get("inplace") else ()) + (LAYOUT,)

    return saves


def _stochastic_depth_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the scaled noise the input is multiplied by, one element per sample (row) or
    one in all (batch), when the input needs a gradient; p = 0: the input itself."""
    if _known_p(args, "StochasticDepth") == 0:
        return (SHARES_INPUT,)
    noise = inputs[0][0] if args.get("mode") == "row" else 1
    return (((noise, ACTIVATION),) if flow.grad else ()) + (LAYOUT,)


def _layer_scale_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input (for gamma's gradient); in place, a copy of the input as it was.
    Under autocast the product with the float32 gamma is float32 (in place: the input's dtype)."""
    if args.get("inplace"):
        return ((product(inputs[0]), ACTIVATION), SHARES_INPUT, LAYOUT)
    return (SAVES_INPUT, LAYOUT, PARAM_DTYPE)


_MASK = "mask: input elements (activation dtype); p = 0: nothing"
_CHANNEL_MASK = "mask: N*C elements (activation dtype); p = 0: nothing"


def kinds() -> list[LayerKind]:
    """The misc family's kinds."""
    dropout = (Param("p", 0.5, "number"),) + INPLACE
    result = [LayerKind("Identity", (), same_shape, family=FAMILY, ignores_args=True, saves=_identity_saves, saves_doc="nothing (its input)")]
    result += [
        LayerKind(name, dropout, _dropout, family=FAMILY, saves=rule if name in ("Dropout", "Dropout2d") else unmeasured_mixed(rule), saves_doc=doc)
        for name, rule, doc in (
            ("Dropout", _dropout_saves(True), _MASK), ("Dropout1d", _dropout_saves(False), _CHANNEL_MASK), ("Dropout2d", _dropout_saves(False), _CHANNEL_MASK),
            ("Dropout3d", _dropout_saves(False), _CHANNEL_MASK), ("AlphaDropout", _dropout_saves(True), _MASK),
            ("FeatureAlphaDropout", _dropout_saves(False), _CHANNEL_MASK),
        )
    ]
    result.append(
        LayerKind("StochasticDepth", (Param("p", kind="number"), Param("mode", kind="str", choices=("batch", "row"))), _stochastic_depth, family=FAMILY, origin="torchvision.ops.StochasticDepth",
                  saves=_stochastic_depth_saves, saves_doc="noise: N elements (mode row) or 1 (mode batch); p = 0: nothing")
    )
    scale = (Param("dim", None, inferred=True), Param("init_values", 1e-5, "number")) + INPLACE
    for name, two_d in (("LayerScale", False), ("LayerScale2d", True)):
        result.append(
            LayerKind(
                name, scale, _layer_scale(two_d), family=FAMILY, cheap=_scale_ops, op_kind="scale", params_doc="dim",
                ops_doc="output elements", origin=f"timm.layers.{name}", saves=_layer_scale_saves if two_d else unmeasured_mixed(_layer_scale_saves),
                saves_doc="input (in place: a copy of the input)",
            )
        )
    return result
