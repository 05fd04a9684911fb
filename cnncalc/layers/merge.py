"""Merges of several inputs: Add and Mul (broadcasting, as the + and * of tensors) and Concat.

No parameters. Cheap ops ("add/mul"): Add and Mul one per output element per extra input;
Concat costs nothing. The receptive field is the union of the inputs' fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc import arith, conditions
from cnncalc.arith import mul, product
from cnncalc.errors import ShapeError
from cnncalc.layers.base import (
    LAYOUT,
    Ctx,
    Flow,
    LayerKind,
    Outcome,
    Param,
    Shape,
    count_term,
    dim_index,
    saves_input,
    shape_text,
    step,
)

if TYPE_CHECKING:
    from cnncalc.explain import Step
    from cnncalc.layers.fields import Union

FAMILY = "merge"


def _broadcast(ctx: Ctx) -> Outcome:
    shapes = ctx.inputs
    rank = max(len(s) for s in shapes)
    result = []
    for i in range(rank):
        sizes = [s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0]
        non_one = [d for d in sizes if not (isinstance(d, int) and d == 1)]
        # A known size other than 1 decides the result: a symbolic size must equal it or be 1.
        known = [d for d in non_one if isinstance(d, int)]
        size: Any = known[0] if known else 1
        reason = f"{ctx.kind.name}: sizes equal or 1 in every dimension (broadcasting)"
        for d in non_one:
            verdict: bool | None = None
            if size == 1:
                size = d
            elif arith.is_symbolic(d) and known:
                verdict = conditions.equal(arith.mul(arith.sub(d, 1), arith.sub(d, size)), 0, reason)
            else:
                verdict = conditions.equal(size, d, reason)
            if verdict is False:
                raise ShapeError(
                    f"{ctx.kind.name}: the shapes cannot be broadcast together",
                    expected="equal sizes or 1 in every dimension",
                    found=" and ".join(shape_text(s) for s in shapes),
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
            found=" and ".join(shape_text(s) for s in shapes),
        )
    dim = dim_index("dim", ctx["dim"], rank)
    for other in shapes[1:]:
        for i in range(rank):
            if i != dim and conditions.equal(shapes[0][i], other[i], f"Concat: equal sizes except in dim {dim}") is False:
                raise ShapeError(
                    f"Concat along dim {dim}: the other dimensions must match",
                    expected=f"shapes equal except in dim {dim}",
                    found=" and ".join(shape_text(s) for s in shapes),
                )
    joined = arith.total(s[dim] for s in shapes)
    return Outcome((*shapes[0][:dim], joined, *shapes[0][dim + 1 :]))


def _elementwise_ops(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> tuple[Any, Step]:
    """One op per output element per extra input."""
    elements = product(output)
    extra = len(inputs) - 1
    ops = mul(elements, extra)
    return ops, step("add/mul ops", f"output elements*{extra}", (count_term(elements), f"*{extra}"), ops)


def _union_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Union:
    from cnncalc.layers.fields import Union

    return Union()


def _concat_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Union:
    from cnncalc.layers.fields import Union

    dim = args.get("dim", 1)
    return Union(dim - len(output) if dim >= 0 else dim)


def _elementwise(name: str, origin: str) -> LayerKind:
    return LayerKind(
        name, (), _broadcast, inputs=2, family=FAMILY, cheap=_elementwise_ops, op_kind="add/mul", field=_union_field,
        ops_doc="output elements * (inputs - 1)", origin=origin,
    )


def _add_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing (an addition's gradient is the incoming one)."""
    return (LAYOUT,)


def _mul_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: each input whose partner needs a gradient (x * y: dx = g * y, dy = g * x)."""
    return tuple(saves_input(1 - i) for i in (0, 1) if flow.grads[i]) + (LAYOUT,)


def _concat_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing (the gradient is split by sizes); a new tensor."""
    return ()


# `cnncalc export`: the merges as modules, written into the exported file.
_ELEMENTWISE = '''class {name}(nn.Module):
    """x {op} y {op} ... (broadcasting), as a module."""

    def forward(self, x: torch.Tensor, *others: torch.Tensor) -> torch.Tensor:
        for other in others:
            x = x {op} other
        return x
'''
_CONCAT = '''class Concat(nn.Module):
    """torch.cat along `dim`, as a module."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return torch.cat(tensors, dim=self.dim)
'''


def kinds() -> list[LayerKind]:
    """The merge family's kinds."""
    return [
        _elementwise("Add", "x + y (torch.add, broadcasting)")._replace(saves=_add_saves, saves_doc="nothing", torch=_ELEMENTWISE.format(name="Add", op="+")),
        _elementwise("Mul", "x * y (torch.mul, broadcasting)")._replace(saves=_mul_saves, saves_doc="each input whose partner needs a gradient", torch=_ELEMENTWISE.format(name="Mul", op="*")),
        LayerKind(
            "Concat", (Param("dim", 1),), _concat, inputs=2, family=FAMILY, field=_concat_field, origin="torch.cat((x, y), dim)",
            saves=_concat_saves, saves_doc="nothing", torch=_CONCAT,
        ),
    ]
