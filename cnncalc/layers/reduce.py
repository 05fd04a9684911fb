"""Reductions over dims, as tensor methods: Mean (`x.mean([2, 3])`), ReduceSum (`x.sum`: the name
`Sum` was already the alias of Add), Amax and Amin, each with
`dim` (an int, a list, or null / an empty list for every dim) and `keepdim`.

Dims are PyTorch's, counted on the whole tensor: a spec's batch dimension is dim 0. No
parameters or MACs. Cheap ops ("pool"): one per input element, as a global pool's window (a
Mean over H and W is an AdaptiveAvgPool2d(1), whose count fvcore gives the same; fvcore counts
aten::mean, sum, amax and amin as 0). The receptive field is a global pool's along each reduced
dim: every position of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc.arith import product
from cnncalc.errors import SpecError
from cnncalc.layers.base import (
    SAVES_INPUT,
    SAVES_OUTPUT,
    Ctx,
    Flow,
    LayerKind,
    Outcome,
    Param,
    Shape,
    check_bool,
    count_term,
    dim_index,
    fmt_tuple,
    shape_text,
    step,
    unmeasured_mixed,
)

if TYPE_CHECKING:
    from cnncalc.explain import Step
    from cnncalc.layers.fields import Reduce

FAMILY = "reduce"


def reduced_dims(value: Any, rank: int) -> tuple[int, ...]:
    """The dims a reduction's `dim` names, counted from 0; null or an empty list: every dim."""
    if value is None or value == ():
        return tuple(range(rank))
    dims = value if isinstance(value, tuple) else (value,)
    found: list[int] = []
    for d in dims:
        index = dim_index("dim", d, rank)
        if index in found:
            raise SpecError(f"dim {index} appears multiple times in the list of dims", expected="each dim once", found=f"dim={fmt_tuple(dims)}")
        found.append(index)
    return tuple(found)


def _reduce(ctx: Ctx) -> Outcome:
    rank = len(ctx.x)
    keepdim = check_bool("keepdim", ctx["keepdim"])
    dims = reduced_dims(ctx["dim"], rank)
    if keepdim:
        output = tuple(1 if i in dims else size for i, size in enumerate(ctx.x))
    else:
        output = tuple(size for i, size in enumerate(ctx.x) if i not in dims)
    steps: tuple[Step, ...] = ()
    if ctx.explain:
        what = "kept as 1" if keepdim else "removed"
        steps = (step("output", numbers=shape_text(output), note=f"dims {', '.join(map(str, sorted(dims)))} reduced and {what}"),)
    return Outcome(output, steps=steps)


def _reduce_ops(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> tuple[Any, Step]:
    """One op per input element (the window of every output element)."""
    elements = product(inputs[0])
    return elements, step(f"{kind.name.lower()} ops", "input elements", (count_term(elements),), elements)


def _reduce_field(kind: LayerKind, args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape) -> Reduce:
    from cnncalc.layers.fields import Reduce

    rank = len(inputs[0])
    return Reduce(tuple(d - rank for d in reduced_dims(args.get("dim"), rank)), bool(args.get("keepdim")))


# `cnncalc export`: a reduction as a module (the tensor method it calls), written into the file.
_REDUCTION = '''class {name}(nn.Module):
    """x.{method}(dim, keepdim) as a module."""

    def __init__(
        self, dim: int | tuple[int, ...] | None = None, keepdim: bool = False
    ) -> None:
        super().__init__()
        self.dim = dim
        self.keepdim = keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dim is None:
            return x.{method}(dim=tuple(range(x.dim())), keepdim=self.keepdim)
        return x.{method}(dim=self.dim, keepdim=self.keepdim)
'''


def _kind(name: str, origin: str) -> LayerKind:
    params = (Param("dim", None, "ints"), Param("keepdim", False, "bool"))
    method = {"ReduceSum": "sum"}.get(name, name.lower())
    return LayerKind(
        name, params, _reduce, family=FAMILY, cheap=_reduce_ops, op_kind="pool", field=_reduce_field,
        ops_doc="input elements", origin=origin, torch=_REDUCTION.format(name=name, method=method),
    )


def _sum_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: nothing (a sum's or mean's gradient needs only the shape)."""
    return ()


def _extreme_saves(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
    """Training: the input and the output (where the extremes are)."""
    return (SAVES_INPUT, SAVES_OUTPUT) if flow.grad else ()


def kinds() -> list[LayerKind]:
    """The reduce family's kinds."""
    return [
        _kind("Mean", "x.mean(dim, keepdim) (torch.mean)")._replace(saves=unmeasured_mixed(_sum_saves), saves_doc="nothing"),
        _kind("ReduceSum", "x.sum(dim, keepdim) (torch.sum; `Sum` is the alias of Add)")._replace(saves=unmeasured_mixed(_sum_saves), saves_doc="nothing"),
        _kind("Amax", "x.amax(dim, keepdim) (torch.amax)")._replace(saves=unmeasured_mixed(_extreme_saves), saves_doc="input + output"),
        _kind("Amin", "x.amin(dim, keepdim) (torch.amin)")._replace(saves=unmeasured_mixed(_extreme_saves), saves_doc="input + output"),
    ]
