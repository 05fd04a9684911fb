"""Cost of an evaluated network: MACs, the cheap ops counted apart, and memory.

Conventions (also in the README):
- One MAC is one multiply-accumulate; bias additions are not MACs; FLOPs = 2 x MACs. MACs come
  from the layer rules: conv = output elements * (C_in/groups) * prod(k); transposed conv =
  input elements * (C_out/groups) * prod(k) (counted on the input positions); linear = output
  elements * in_features. The headline number is conv + linear.
- Cheap ops are elementary operations (one add, multiply, compare or function evaluation each),
  reported apart from MACs, by kind (OP_KINDS: norm, pool, activation, add/mul, upsample,
  scale). Each layer kind declares its own rule in its family module under cnncalc/layers/
  (docs/layers.md lists them); dropout and stochastic depth at inference, padding, reshapes
  and Concat cost 0.
- Memory: every layer's output is a new tensor (in-place ops and views not modelled); its
  bytes are elements * the dtype's size. The sequential peak runs the rows in order and keeps
  a tensor from the row that writes it to the last row that reads it (the network's input from
  the start, its output to the end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnncalc import arith
from cnncalc.analysis.evaluate import Evaluation, Row
from cnncalc.analysis.results import layer_count
from cnncalc.explain import Step
from cnncalc.layers import OP_KINDS, lookup
from cnncalc.layers.base import count_term

BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
CONVENTION = (
    "1 MAC = one multiply-accumulate; bias additions are not MACs; FLOPs = 2 x MACs; "
    "MACs = conv + linear, cheap ops (norm, pool, activation, add/mul, upsample) counted apart"
)


@dataclass(frozen=True)
class RowCost:
    """One row: MACs (from the layer rule), cheap ops and their kind, output elements."""

    macs: Any
    ops: Any
    op_kind: str | None
    elements: Any
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class GroupCost:
    """Totals of one block."""

    name: str
    layers: Any  # an int, or symbolic with a symbolic repeat count
    macs: Any
    ops: Any
    elements: Any
    last: int  # index of the block's last row


@dataclass(frozen=True)
class Cost:
    """A whole evaluation's cost; element counts are turned into bytes with `bytes_of`."""

    rows: tuple[RowCost, ...]
    groups: tuple[GroupCost, ...]
    conv_macs: Any
    linear_macs: Any
    macs: Any
    ops: tuple[tuple[str, Any], ...]  # per cheap-op kind, in OP_KINDS order
    input_elements: Any
    activation_elements: Any  # the sum of every row's output
    params: Any
    buffers: Any
    peak_elements: Any
    peak_row: int  # the row being computed at the peak (-1: no rows, or symbolic sizes leave it open)

    @property
    def flops(self) -> Any:
        return arith.mul(2, self.macs)

    @property
    def ops_total(self) -> Any:
        return arith.total(v for _, v in self.ops)


def bytes_of(elements: Any, dtype: str) -> Any:
    """Elements stored at a dtype, in bytes."""
    return arith.mul(elements, BYTES[dtype])


def cost(evaluation: Evaluation, *, explain: bool = False, dtype: str = "float32") -> Cost:
    """MACs, cheap ops and memory of an evaluation."""
    rows = tuple(row_cost(r, explain=explain, dtype=dtype) for r in evaluation.rows)
    by_mac_kind: dict[str, list[Any]] = {}  # the headline MAC totals each kind declares ("conv", "linear")
    for r, c in zip(evaluation.rows, rows):
        kind = lookup(r.type)
        if kind is not None and kind.mac_kind:
            by_mac_kind.setdefault(kind.mac_kind, []).append(c.macs)
    conv = arith.total(by_mac_kind.get("conv", ()))
    linear = arith.total(by_mac_kind.get("linear", ()))
    ops = tuple((kind, arith.total(c.ops for c in rows if c.op_kind == kind)) for kind in OP_KINDS)
    groups = []
    by_group: dict[str | None, list[int]] = {}
    for i, r in enumerate(evaluation.rows):
        by_group.setdefault(r.group, []).append(i)
    for g in evaluation.groups:
        members = list(range(len(evaluation.rows))) if evaluation.standalone else by_group.get(g.name, [])
        if not members:
            continue
        groups.append(
            GroupCost(
                g.name,
                layer_count([evaluation.rows[i] for i in members]),
                arith.total(rows[i].macs for i in members),
                arith.total(rows[i].ops for i in members),
                arith.total(rows[i].elements for i in members),
                members[-1],
            )
        )
    input_elements = arith.product(evaluation.input)
    # a row of n copies holds one copy's output at a time: the peak counts one
    sizes = [c.elements if r.copies == 1 else arith.product(r.output) for r, c in zip(evaluation.rows, rows)]
    peak, at = sequential_peak(evaluation, sizes, input_elements)
    return Cost(
        rows,
        tuple(groups),
        conv,
        linear,
        arith.total(c.macs for c in rows),
        ops,
        input_elements,
        arith.total(c.elements for c in rows),
        evaluation.params,
        evaluation.buffers,
        peak,
        at,
    )


def sequential_peak(evaluation: Evaluation, sizes: list[Any], input_size: Any) -> tuple[Any, int]:
    """The most activation elements alive at once when the rows run in order, and that row."""
    count = len(evaluation.rows)
    if not count:
        return input_size, -1
    last_use = {-1: 0}
    for i, row in enumerate(evaluation.rows):
        for s in row.sources or ((i - 1,) if i else (-1,)):
            last_use[s] = max(last_use.get(s, i), i)
    last_use[count - 1] = count  # the network's output is kept
    live: list[tuple[int, Any]] = []  # (last use, size) of tensors written and still needed
    best: Any = None
    best_row = 0
    alive: Any = input_size
    live.append((last_use[-1], input_size))
    for i in range(count):
        alive = arith.add(alive, sizes[i])
        live.append((last_use.get(i, i), sizes[i]))
        larger = True if best is None else arith.is_positive(arith.sub(alive, best))
        if larger:
            best, best_row = alive, i
        elif larger is None and arith.equal(alive, best) is not True:
            best, best_row = arith.maximum(best, alive), -1  # undecidable for symbols: sympy's Max, no one row
        freed = [size for end, size in live if end <= i]
        live = [(end, size) for end, size in live if end > i]
        alive = arith.sub(alive, arith.total(freed))
    return best, best_row


# ----------------------------------------------------------------------------- one row


def row_cost(row: Row, *, explain: bool = False, dtype: str = "float32") -> RowCost:
    """A row's MACs, cheap ops (with their kind) and output elements, with the working if asked.

    The MACs and their working come from the layer rule (the row); the cheap ops from the kind's
    cheap-op rule. A row of n copies (a symbolic repeat) counts the ops and outputs of all n."""
    elements = arith.product(row.output)
    kind = lookup(row.type)
    found = kind.cheap(kind, dict(row.args), row.inputs, row.output) if kind is not None and kind.cheap is not None else None
    ops, op_kind = (found[0], kind.op_kind) if found is not None and kind is not None else (0, None)
    if row.copies != 1:
        elements, ops = arith.mul(elements, row.copies), arith.mul(ops, row.copies)
    steps: list[Step] = []
    if explain:
        if found is not None:
            steps.append(found[1])
        size = BYTES[dtype]
        steps.append(Step("activation", f"output elements * {size} B ({dtype})", (count_term(elements), f"*{size}"), arith.mul(elements, size), " B"))
    return RowCost(row.macs, ops, op_kind, elements, tuple(steps))
