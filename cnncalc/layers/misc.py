"""Layers that keep the shape: Identity, the Dropouts, torchvision's StochasticDepth (identity
at inference) and timm's LayerScale / LayerScale2d (one learnable scale per channel); and
Ultralytics' DFL (distribution focal loss integral of a YOLO detection head).

Cheap ops: LayerScale one multiply per element ("scale"); DFL its softmax, one per input element
("activation"); the others none at inference. The receptive field is pointwise.

DFL(c1=16) (ultralytics.nn.modules.block.DFL) takes the box distributions [N, 4*c1, A] (A
anchors) to [N, 4, A]: a softmax over each box side's c1 bins, then a 1x1 Conv2d(c1, 1,
bias=False) whose weight is fixed to 0..c1-1 (the expected bin). Its c1 weights are parameters
created with requires_grad=False: counted in the parameters, not trained (`frozen`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc import conditions
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
    check_int,
    check_number,
    check_probability,
    fmt,
    in_torch_nn,
    infer_channels,
    require_rank,
    same_shape,
    shape_text,
    step,
    term,
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


# `cnncalc export`: torchvision's StochasticDepth and timm's LayerScale as modules, written into the file.
_STOCHASTIC_DEPTH = '''class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: drops the input (per row or for the whole batch)
    with probability p in training, the identity at inference."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        shape = [1] * x.dim()
        if self.mode == "row":
            shape[0] = x.shape[0]
        keep = torch.empty(shape, dtype=x.dtype, device=x.device)
        keep = keep.bernoulli_(1.0 - self.p)
        if self.p < 1.0:
            keep.div_(1.0 - self.p)
        return x * keep
'''
_LAYER_SCALE = '''class {name}(nn.Module):
    """timm's {name}: one learnable scale per channel."""

    def __init__(
        self, dim: int, init_values: float = 1e-5, inplace: bool = False
    ) -> None:
        super().__init__()
        self.inplace = inplace
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gamma = self.gamma{shape}
        return x.mul_(gamma) if self.inplace else x * gamma
'''# `cnncalc export`: Ultralytics' DFL as a module, written into the file.
_DFL = '''class DFL(nn.Module):
    """Ultralytics' DFL: a softmax over each side's c1 bins, then their expected value
    (a 1x1 conv with the fixed weights 0..c1-1, not trained)."""

    def __init__(self, c1: int = 16) -> None:
        super().__init__()
        self.c1 = c1
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        with torch.no_grad():
            weight = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)
            self.conv.weight.copy_(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, a = x.shape
        x = x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)
        return self.conv(x).view(b, 4, a)
'''


def _dfl(ctx: Ctx) -> Outcome:
    bins = check_int("c1", ctx["c1"], minimum=1)
    if len(ctx.x) != 3:
        raise ShapeError("DFL expects a 3-D input [N, 4*c1, anchors]", expected="a 3-D input", found=shape_text(ctx.x))
    _, channels, anchors = ctx.x
    if conditions.equal(channels, mul(4, bins), "DFL: input channels = 4*c1") is False:
        raise ShapeError(
            f"DFL(c1={fmt(bins)}) needs 4*c1 = {fmt(mul(4, bins))} input channels",
            expected=f"an input [N, {fmt(mul(4, bins))}, anchors]",
            found=f"input {shape_text(ctx.x)}",
        )
    output = (ctx.x[0], 4, anchors)
    macs = mul(product(output), bins)
    steps: tuple[Step, ...] = ()
    if ctx.explain:
        steps = (
            step("output", numbers=shape_text(output), note="softmax over each side's c1 bins, then their expected value (a 1x1 conv c1 -> 1)"),
            step("params", "c1", "", bins, note="the conv's weight 0..c1-1, requires_grad=False: not trained"),
            step("MACs", "output elements*c1", f"{term(product(output))}*{term(bins)}", macs),
        )
    return Outcome(output, bins, 0, 0, macs, steps)


def _dfl_ops(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> tuple[Any, Step]:
    """The softmax: one op per input element."""
    elements = product(inputs[0])
    return elements, step("activation ops", "input elements (softmax)", "", elements)


def _dfl_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the softmax's output (a new tensor of the input's size, contiguous), saved by
    the softmax and by the frozen conv (for its input's gradient) alike: one storage. Nothing
    when the input needs no gradient (the conv's weight is frozen)."""
    return ((product(inputs[0]), ACTIVATION),) if flow.grad else ()


def kinds() -> list[LayerKind]:
    """The misc family's kinds."""
    dropout = (Param("p", 0.5, "number"),) + INPLACE
    result = [in_torch_nn(LayerKind("Identity", (), same_shape, family=FAMILY, ignores_args=True, saves=_identity_saves, saves_doc="nothing (its input)"))]
    result += [
        in_torch_nn(LayerKind(name, dropout, _dropout, family=FAMILY, saves=rule if name in ("Dropout", "Dropout2d") else unmeasured_mixed(rule), saves_doc=doc))
        for name, rule, doc in (
            ("Dropout", _dropout_saves(True), _MASK), ("Dropout1d", _dropout_saves(False), _CHANNEL_MASK), ("Dropout2d", _dropout_saves(False), _CHANNEL_MASK),
            ("Dropout3d", _dropout_saves(False), _CHANNEL_MASK), ("AlphaDropout", _dropout_saves(True), _MASK),
            ("FeatureAlphaDropout", _dropout_saves(False), _CHANNEL_MASK),
        )
    ]
    result.append(
        LayerKind("StochasticDepth", (Param("p", kind="number"), Param("mode", kind="str", choices=("batch", "row"))), _stochastic_depth, family=FAMILY, origin="torchvision.ops.StochasticDepth",
                  torch=_STOCHASTIC_DEPTH, saves=_stochastic_depth_saves, saves_doc="noise: N elements (mode row) or 1 (mode batch); p = 0: nothing")
    )
    scale = (Param("dim", None, inferred=True), Param("init_values", 1e-5, "number")) + INPLACE
    for name, two_d in (("LayerScale", False), ("LayerScale2d", True)):
        result.append(
            LayerKind(
                name, scale, _layer_scale(two_d), family=FAMILY, cheap=_scale_ops, op_kind="scale", params_doc="dim",
                ops_doc="output elements", origin=f"timm.layers.{name}",
                torch=_LAYER_SCALE.format(name=name, shape=".view(1, -1, 1, 1)" if two_d else ""), saves=_layer_scale_saves if two_d else unmeasured_mixed(_layer_scale_saves),
                saves_doc="input (in place: a copy of the input)",
            )
        )
    result.append(
        LayerKind(
            "DFL", (Param("c1", 16),), _dfl, family=FAMILY, cheap=_dfl_ops, op_kind="activation", mac_kind="conv", frozen=True,
            params_doc="c1 (requires_grad=False: not trained)", macs_doc="output elements * c1", ops_doc="input elements (softmax)",
            origin="ultralytics.nn.modules.block.DFL", torch=_DFL,
            saves=unmeasured_mixed(_dfl_saves, "DFL"), saves_doc="the softmax's output (input elements; nothing when the input needs no gradient)",
        )
    )
    return result
