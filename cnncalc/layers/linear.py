"""Linear: a matrix product over the last dimension; MatMul: the product of two tensors (`a @ b`).

Linear: params = in_features*out_features (+ out_features bias); MACs = output elements *
in_features, counted in the "linear" MAC total. Its receptive field mixes every position of the
last dim. MatMul (torch.matmul of two inputs of rank >= 2, batch dims broadcast, as attention's
`q @ k`): no params; MACs = output elements * the contracted size, in the "linear" total.
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
    in_torch_nn,
    not_contiguous,
    saves_input,
    shape_text,
    step,
    term,
    unmeasured_mixed,
)

if TYPE_CHECKING:
    from cnncalc.explain import Step
    from cnncalc.layers.fields import Collapse, Union

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


def _matmul(ctx: Ctx) -> Outcome:
    a, b = ctx.inputs[0], ctx.inputs[1]
    if len(a) < 2 or len(b) < 2:
        raise ShapeError(
            "MatMul needs two inputs of at least 2 dimensions",
            expected="inputs [..., n, k] and [..., k, m]",
            found=" and ".join(shape_text(s) for s in ctx.inputs),
        )
    if conditions.equal(a[-1], b[-2], "MatMul: the first input's last size = the second's next to last") is False:
        raise ShapeError(
            f"MatMul: the contracted sizes differ ({fmt(a[-1])} and {fmt(b[-2])})",
            expected="inputs [..., n, k] and [..., k, m]",
            found=" and ".join(shape_text(s) for s in ctx.inputs),
        )
    rank = max(len(a), len(b)) - 2
    batch = []
    for i in range(rank):
        x = a[i - rank + len(a) - 2] if i - rank + len(a) - 2 >= 0 else 1
        y = b[i - rank + len(b) - 2] if i - rank + len(b) - 2 >= 0 else 1
        if x == 1 or conditions.equal(x, y, "MatMul: batch sizes equal or 1 (broadcasting)") is True:
            batch.append(y)
        elif y == 1:
            batch.append(x)
        else:
            raise ShapeError(
                "MatMul: the batch dimensions cannot be broadcast together",
                expected="equal batch sizes or 1",
                found=" and ".join(shape_text(s) for s in ctx.inputs),
            )
    output = (*batch, a[-2], b[-1])
    macs = mul(product(output), a[-1])
    steps: tuple[Step, ...] = ()
    if ctx.explain:
        steps = (
            step("output", numbers=shape_text(output), note=f"[..., {fmt(a[-2])}, {fmt(a[-1])}] @ [..., {fmt(b[-2])}, {fmt(b[-1])}]"),
            step("MACs", "output elements*k", f"{term(product(output))}*{term(a[-1])}", macs),
        )
    return Outcome(output, 0, 0, 0, macs, steps)


def _linear_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Collapse:
    from cnncalc.layers.fields import Collapse

    return Collapse(-1)


def _matmul_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Union:
    """A merge: the union of its inputs' fields."""
    from cnncalc.layers.fields import Union

    return Union()


def _linear_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input (for the weight's gradient), as a [-1, in_features] view. Under
    autocast a 16-bit input, and a 16-bit copy of the weight when the input needs a gradient.
    An N-D input that is not contiguous (after a Permute) is refused: whether PyTorch views or
    copies it depends on the batch size."""
    if len(inputs[0]) > 2 and not flow.contiguous[0]:
        raise SpecError(not_contiguous("its matmul"), expected="a contiguous input (a LayerNorm, conv, ... output)", found="a permuted or sliced view")
    return (SAVES_INPUT, AUTOCAST) + ((WEIGHT_CAST,) if flow.grad else ())


def _matmul_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the second input when the first needs a gradient, the first when the second
    does (their storages, views or not: attention's transposed slices save the qkv storage).
    Inputs of different ranks or broadcast batch dims are refused (PyTorch then saves expanded
    or reshaped copies)."""
    a, b = inputs
    if len(a) != len(b) or any(x != y for x, y in zip(a[:-2], b[:-2])):
        raise SpecError(
            "its saved tensors with broadcast batch dimensions or inputs of different ranks were not measured",
            expected="two inputs of one rank with equal batch dimensions", found=" and ".join(shape_text(s) for s in inputs),
        )
    return ((saves_input(1),) if flow.grads[0] else ()) + ((SAVES_INPUT,) if flow.grads[1] else ())


# `cnncalc export`: torch.matmul as a module, written into the file.
_MATMUL = '''class MatMul(nn.Module):
    """torch.matmul(a, b), as a module."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a @ b
'''


def kinds() -> list[LayerKind]:
    """The linear family's kinds."""
    return [
        in_torch_nn(k._replace(saves=_linear_saves, saves_doc="input (autocast: its 16-bit cast, and a 16-bit copy of the weight when the input needs a gradient)"))
        for k in _kinds()
    ] + [
        LayerKind(
            "MatMul", (), _matmul, inputs=2, family=FAMILY, field=_matmul_field, mac_kind="linear",
            macs_doc="output elements * k (inputs [..., n, k] and [..., k, m])", origin="torch.matmul(a, b) (a @ b)", torch=_MATMUL,
            saves=unmeasured_mixed(_matmul_saves, "MatMul"),
            saves_doc="input 1 when input 0 needs a gradient, input 0 when input 1 does (their storages); same rank and batch dims only",
        )
    ]


def _kinds() -> list[LayerKind]:
    params = (Param("in_features", None, inferred=True), Param("out_features"), Param("bias", True, "bool")) + IGNORED
    return [
        LayerKind(
            "Linear", params, _linear, family=FAMILY, field=_linear_field, mac_kind="linear",
            params_doc="in_features*out_features weight + out_features bias", macs_doc="output elements * in_features",
        )
    ]
