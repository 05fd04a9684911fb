"""Activations: ReLU and its relatives, the softmaxes, PReLU (its one parameter per channel or
one in all) and GLU (which halves a dimension).

Cheap ops ("activation"): one per output element, whatever the function. The receptive field
is pointwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc import arith, conditions
from cnncalc.arith import floor_div, product
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    ACTIVATION,
    AUTOCAST,
    IGNORED,
    INPLACE,
    LAYOUT,
    SAVES_INPUT,
    SAVES_OUTPUT,
    SHARES_INPUT,
    WEIGHT_CAST,
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
    dim_index,
    fmt,
    in_torch_nn,
    require_rank,
    same_shape,
    shape_text,
    step,
    term,
    unmeasured_mixed,
)

if TYPE_CHECKING:
    from cnncalc.explain import Step

FAMILY = "activation"


def _softmax(ctx: Ctx) -> Outcome:
    if ctx["dim"] is not None:
        dim_index("dim", ctx["dim"], len(ctx.x))
    return Outcome(ctx.x)


def _prelu(ctx: Ctx) -> Outcome:
    count = check_int("num_parameters", ctx["num_parameters"], minimum=1)
    check_number("init", ctx["init"])
    if count != 1:
        # PyTorch's channel axis is dim 1; an input of rank 0 or 1 counts as one channel.
        channels = ctx.x[1] if len(ctx.x) >= 2 else 1
        if conditions.equal(count, channels, "PReLU num_parameters = the channels") is False:
            raise ShapeError(
                "PReLU's num_parameters must be 1 or the number of channels",
                expected=f"num_parameters in (1, {fmt(channels)})",
                found=f"num_parameters={fmt(count)}",
            )
    return Outcome(ctx.x, count, 0, 0, 0, (step("params", "num_parameters", "", count),) if ctx.explain else ())


def _celu(ctx: Ctx) -> Outcome:
    alpha = check_number("alpha", ctx["alpha"])
    if arith.is_number(alpha) and alpha == 0:
        raise SpecError("CELU's alpha cannot be 0 (it divides by alpha)", expected="alpha != 0", found="alpha=0")
    return Outcome(ctx.x)


def _softshrink(ctx: Ctx) -> Outcome:
    lambd = check_number("lambd", ctx["lambd"])
    if arith.is_number(lambd) and lambd < 0:
        raise SpecError("Softshrink's lambd must not be negative", expected="lambd >= 0", found=f"lambd={fmt(lambd)}")
    return Outcome(ctx.x)


def _rrelu(ctx: Ctx) -> Outcome:
    lower = check_number("lower", ctx["lower"])
    upper = check_number("upper", ctx["upper"])
    if arith.is_number(lower) and arith.is_number(upper) and lower > upper:
        raise SpecError(
            "RReLU's lower bound must not exceed its upper bound",
            expected="lower <= upper",
            found=f"lower={fmt(lower)}, upper={fmt(upper)}",
        )
    return Outcome(ctx.x)


def _softmax2d(ctx: Ctx) -> Outcome:
    require_rank(ctx, (3, 4))
    return Outcome(ctx.x)


def _glu(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    if rank == 0:
        raise ShapeError("GLU cannot halve a 0-D input", expected="an input of rank >= 1", found="a scalar input []")
    dim = dim_index("dim", ctx["dim"], rank)
    size = ctx.x[dim]
    if conditions.divides(2, size, f"GLU: dimension {dim} even") is False:
        raise ShapeError(
            f"GLU halves dimension {dim}, which must be even",
            expected=f"an even size in dimension {dim}",
            found=f"size {fmt(size)} in input {shape_text(ctx.x)}",
        )
    output = (*ctx.x[:dim], floor_div(size, 2), *ctx.x[dim + 1 :])
    return Outcome(output, steps=(step(f"dim {dim}: {term(size)}/2", result=output[dim], note="GLU halves it"),) if ctx.explain else ())


def _hardtanh(ctx: Ctx) -> Outcome:
    low = check_number("min_val", ctx["min_val"])
    high = check_number("max_val", ctx["max_val"])
    if arith.is_number(low) and arith.is_number(high) and not high > low:
        raise SpecError(
            "Hardtanh's max_val must be greater than min_val",
            expected="min_val < max_val",
            found=f"min_val={fmt(low)}, max_val={fmt(high)}",
        )
    return Outcome(ctx.x)


def _activation_ops(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> tuple[Any, Step]:
    """One op per output element."""
    elements = product(output)
    return elements, step("activation ops", "output elements", "", elements)


def _act(name: str, params: tuple[Param, ...] = (), rule: Rule = same_shape, params_doc: str = "0") -> LayerKind:
    return LayerKind(
        name, params, rule, family=FAMILY, cheap=_activation_ops, op_kind="activation", params_doc=params_doc,
        ops_doc="output elements",
    )


def _saves_output(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the output (in place: the input's storage, which it becomes)."""
    return ((SAVES_OUTPUT,) if flow.grad else ()) + ((SHARES_INPUT,) if args.get("inplace") else ()) + (LAYOUT,)


def _saves_input(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input; in place, a copy of the input as it was (a new tensor) while the
    output stays in the input's storage."""
    if args.get("inplace"):
        return (((product(inputs[0]), ACTIVATION),) if flow.grad else ()) + (SHARES_INPUT, LAYOUT)
    return ((SAVES_INPUT,) if flow.grad else ()) + (LAYOUT,)


def _saves_input_or_result(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input; in place, the result (in the input's storage)."""
    if args.get("inplace"):
        return _saves_output(args, inputs, output, flow)
    return _saves_input(args, inputs, output, flow)


def _saves_input_and_buffer(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input and an input-sized tensor (LogSigmoid's buffer, Softsign's 1 + |x|,
    RReLU's random slopes); RReLU in place: the slopes and the result (in the input's storage)."""
    if not flow.grad:
        return ((SHARES_INPUT,) if args.get("inplace") else ()) + (LAYOUT,)
    buffer = (product(inputs[0]), ACTIVATION)
    if args.get("inplace"):
        return (buffer, SAVES_OUTPUT, SHARES_INPUT, LAYOUT)
    return (SAVES_INPUT, buffer, LAYOUT)


def _saves_tanh(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training (x - tanh(x)): tanh's output, an input-sized tensor."""
    return (((product(inputs[0]), ACTIVATION),) if flow.grad else ()) + (LAYOUT,)


def _saves_input_always(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training (PReLU): the input, even when it needs no gradient (for the weight's); under
    autocast (PReLU runs in the 16-bit dtype) a 16-bit input and a 16-bit copy of the weight."""
    return (SAVES_INPUT, LAYOUT, AUTOCAST, WEIGHT_CAST)


def _saves_input_plain(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input (the output is laid out anew)."""
    return (SAVES_INPUT,) if flow.grad else ()


def _saves_output_plain(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the output (the softmaxes)."""
    return (SAVES_OUTPUT,) if flow.grad else ()


_INPUT = "input"
_INPUT_INPLACE = "input (in place: a copy of the input; the output shares the input's storage)"
_RESULT_INPLACE = "input (in place: the output, in the input's storage)"
_SAVES: dict[str, tuple[SavesRule, str]] = {
    "ReLU": (_saves_output, "output (in place: shares the input's storage)"),
    "Sigmoid": (_saves_output, "output"),
    "Tanh": (_saves_output, "output"),
    "Softmax": (_saves_output_plain, "output"),
    "LogSoftmax": (_saves_output_plain, "output"),
    "Softmin": (_saves_output_plain, "output"),
    "Softmax2d": (_saves_output_plain, "output"),
    **dict.fromkeys(("ReLU6", "Hardtanh", "SiLU", "Hardswish", "Hardsigmoid", "Mish", "Threshold"), (_saves_input, _INPUT_INPLACE)),
    **dict.fromkeys(("SELU", "ELU", "CELU", "LeakyReLU"), (_saves_input_or_result, _RESULT_INPLACE)),
    **dict.fromkeys(("GELU", "Softplus", "Hardshrink", "Softshrink"), (_saves_input, _INPUT)),
    "GLU": (_saves_input_plain, _INPUT),
    "PReLU": (_saves_input_always, "input (even when it needs no gradient: the weight's; autocast: its 16-bit cast and a 16-bit copy of the weight)"),
    "LogSigmoid": (_saves_input_and_buffer, "input + input elements (a buffer)"),
    "Softsign": (_saves_input_and_buffer, "input + input elements (1 + |x|)"),
    "RReLU": (_saves_input_and_buffer, "input + input elements (the random slopes); in place: the slopes and the output"),
    "Tanhshrink": (_saves_tanh, "input elements (tanh of the input)"),
}
# measured under autocast (the others are refused there)
_MIXED = ("ReLU", "ReLU6", "SiLU", "Hardswish", "Hardsigmoid", "GELU", "Sigmoid", "Tanh", "Softmax", "PReLU")


def kinds() -> list[LayerKind]:
    """The activation family's kinds."""
    return [
        in_torch_nn(k._replace(saves=_SAVES[k.name][0] if k.name in _MIXED else unmeasured_mixed(_SAVES[k.name][0]), saves_doc=_SAVES[k.name][1]))
        for k in _kinds()
    ]


def _kinds() -> list[LayerKind]:
    dim = (Param("dim", None, "any"),)
    result = [_act(name, INPLACE) for name in ("ReLU", "ReLU6", "SiLU", "Hardswish", "Hardsigmoid", "Mish", "SELU")]
    result += [_act(name) for name in ("Sigmoid", "Tanh", "Tanhshrink", "Softsign", "LogSigmoid")]
    return result + [
        _act("PReLU", (Param("num_parameters", 1), Param("init", 0.25, "number")) + IGNORED, _prelu, "num_parameters"),
        _act("Softmax", dim, _softmax),
        _act("LogSoftmax", dim, _softmax),
        _act("Softmin", dim, _softmax),
        _act("Softmax2d", (), _softmax2d),
        _act("GLU", (Param("dim", -1),), _glu),
        _act("CELU", (Param("alpha", 1.0, "number"),) + INPLACE, _celu),
        _act("Softplus", (Param("beta", 1.0, "number"), Param("threshold", 20.0, "number"))),
        _act("Threshold", (Param("threshold", kind="number"), Param("value", kind="number")) + INPLACE),
        _act("Hardshrink", (Param("lambd", 0.5, "number"),)),
        _act("Softshrink", (Param("lambd", 0.5, "number"),), _softshrink),
        _act("RReLU", (Param("lower", 1 / 8, "number"), Param("upper", 1 / 3, "number")) + INPLACE, _rrelu),
        _act("LeakyReLU", (Param("negative_slope", 0.01, "number"),) + INPLACE),
        _act("ELU", (Param("alpha", 1.0, "number"),) + INPLACE),
        _act("Hardtanh", (Param("min_val", -1.0, "number"), Param("max_val", 1.0, "number")) + INPLACE, _hardtanh),
        _act("GELU", (Param("approximate", "none", "str", ("none", "tanh")),)),
    ]
