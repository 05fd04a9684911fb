"""Linear: a matrix product over the last dimension.

params = in_features*out_features (+ out_features bias); MACs = output elements * in_features,
counted in the "linear" MAC total. Its receptive field mixes every position of the last dim.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc import conditions
from cnncalc.arith import add, mul, product
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    AUTOCAST,
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
    not_contiguous,
    shape_text,
    step,
    term,
)

if TYPE_CHECKING:
    from cnncalc.explain import Step
    from cnncalc.layers.fields import Collapse

FAMILY = "linear"


def _linear(ctx: Ctx) -> Outcome:
    if len(ctx.x) < 1:
        raise ShapeError(
            "Linear needs an input with at least one dimension",
            expected="an input [..., in_features]",
            found=f"a 0-D input {shape_text(ctx.x)}",
        )
    fin = ctx.x[-1]
    given = ctx.args.get("in_features")
    if given is not None:
        check_int("in_features", given, minimum=0)
        if conditions.equal(given, fin, "in_features = the incoming last dimension") is False:
            raise ShapeError(
                f"in_features={fmt(given)} does not match the incoming last dimension {fmt(fin)}",
                expected=f"in_features={fmt(fin)} (or omit it: it is inferred)",
                found=f"input {shape_text(ctx.x)}",
                hint="add a Flatten before Linear if the input is still a feature map",
            )
    fin = given if given is not None else fin
    fout = check_int("out_features", ctx["out_features"], minimum=0)
    bias = check_bool("bias", ctx["bias"])
    weight = mul(fin, fout)
    bias_params = fout if bias else 0
    output = (*ctx.x[:-1], fout)
    macs = mul(product(output), fin)
    params = add(weight, bias_params)
    steps: tuple[Step, ...] = ()
    if ctx.explain:
        positions = ctx.x[:-1]  # N, then any further leading dims by their index
        names = "".join(f"{'N' if i == 0 else f'd{i}'}*" for i in range(len(positions)))
        steps = (
            step("output", numbers=shape_text(output), note=f"last dimension {fmt(fin)} -> {fmt(fout)}"),
            step(
                "params",
                "in*out" + (" + out" if bias else ""),
                f"{term(fin)}*{term(fout)}" + (f" + {term(fout)}" if bias else ""),
                params,
            ),
            step("MACs", f"{names}out_features*in_features", "".join(f"{term(v)}*" for v in positions) + f"{term(fout)}*{term(fin)}", macs),
        )
    return Outcome(output, params, bias_params, 0, macs, steps)


def _linear_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Collapse:
    from cnncalc.layers.fields import Collapse

    return Collapse(-1)


def _linear_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input (for the weight's gradient), as a [-1, in_features] view. Under
    autocast a 16-bit input, and a 16-bit copy of the weight when the input needs a gradient.
    An N-D input that is not contiguous (after a Permute) is refused: whether PyTorch views or
    copies it depends on the batch size."""
    if len(inputs[0]) > 2 and not flow.contiguous[0]:
        raise SpecError(not_contiguous("its matmul"), expected="a contiguous input (a LayerNorm, conv, ... output)", found="a permuted or sliced view")
    return (SAVES_INPUT, AUTOCAST) + ((WEIGHT_CAST,) if flow.grad else ())


def kinds() -> list[LayerKind]:
    """The linear family's kinds."""
    return [
        k._replace(saves=_linear_saves, saves_doc="input (autocast: its 16-bit cast, and a 16-bit copy of the weight when the input needs a gradient)")
        for k in _kinds()
    ]


def _kinds() -> list[LayerKind]:
    params = (Param("in_features", None, inferred=True), Param("out_features"), Param("bias", True, "bool")) + IGNORED
    return [
        LayerKind(
            "Linear", params, _linear, family=FAMILY, field=_linear_field, mac_kind="linear",
            params_doc="in_features*out_features weight + out_features bias", macs_doc="output elements * in_features",
        )
    ]
