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
from itertools import compress
from typing import Any, NamedTuple

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


class RowCost(NamedTuple):
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
    rows = row_costs(evaluation, explain=explain, dtype=dtype)
    # Column by column (list comprehensions, not a loop of dict updates: 250,000 rows are common)
    macs, op_counts, elements = ([c[i] for c in rows] for i in (0, 1, 3))  # RowCost's macs, ops, elements
    types = [r.type for r in evaluation.rows]
    mac_kinds = {t: getattr(lookup(t), "mac_kind", None) for t in set(types)}  # the headline MAC totals ("conv", "linear")
    row_mac_kinds = [mac_kinds[t] for t in types]
    conv = arith.total(list(compress(macs, [k == "conv" for k in row_mac_kinds])))
    linear = arith.total(list(compress(macs, [k == "linear" for k in row_mac_kinds])))
    op_kinds = [c.op_kind for c in rows]
    ops = tuple((kind, arith.total(list(compress(op_counts, [k == kind for k in op_kinds])))) for kind in OP_KINDS)
    groups = []
    by_group: dict[str | None, list[int]] = {}
    if not evaluation.standalone:
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
                arith.total([macs[i] for i in members]),
                arith.total([op_counts[i] for i in members]),
                arith.total([elements[i] for i in members]),
                members[-1],
            )
        )
    input_elements = arith.product(evaluation.input)
    # a row of n copies holds one copy's output at a time: the peak counts one
    sizes = [e if r.copies == 1 else arith.product(r.output) for r, e in zip(evaluation.rows, elements)]
    peak, at = sequential_peak(evaluation, sizes, input_elements)
    return Cost(
        rows,
        tuple(groups),
        conv,
        linear,
        arith.total(macs),
        ops,
        input_elements,
        arith.total(elements),
        evaluation.params,
        evaluation.buffers,
        peak,
        at,
    )


def row_costs(evaluation: Evaluation, *, explain: bool = False, dtype: str = "float32") -> tuple[RowCost, ...]:
    """Every row's cost; rows that share their layer outcome (the same arguments object, from
    the evaluator's reuse of repeated layers) on equal inputs share one RowCost object."""
    memo: dict[Any, RowCost] = {}
    out: list[RowCost] = []
    append = out.append
    for r in evaluation.rows:
        key = (r.type, id(r.args), id(r.inputs), id(r.output), id(r.macs), r.copies)  # all that row_cost reads; the rows hold them
        found = memo.get(key)
        if found is None:
            found = memo[key] = row_cost(r, explain=explain, dtype=dtype)
        append(found)
    return tuple(out)


def sequential_peak(evaluation: Evaluation, sizes: list[Any], input_size: Any) -> tuple[Any, int]:
    """The most activation elements alive at once when the rows run in order, and that row.

    A tensor lives from the row that writes it (the input: from the start) to the last row that
    reads it (the output: to the end). With symbolic sizes the peak is the max of the amounts
    alive after each row that no other provably exceeds (`bounds.Ledger.compare`), one row's
    when a single one is left, else an unevaluated max (row -1)."""
    count = len(evaluation.rows)
    if not count:
        return input_size, -1
    last_use = {-1: 0}
    for i, row in enumerate(evaluation.rows):
        for s in row.sources or ((i - 1,) if i else (-1,)):
            last_use[s] = i  # rows read earlier tensors in order: the latest reader is the last
    last_use[count - 1] = count  # the network's output is kept
    if type(input_size) is int and set(map(type, sizes)) <= {int}:
        return _numeric_peak(sizes, input_size, last_use)
    return _symbolic_peak(sizes, input_size, last_use)


def _numeric_peak(sizes: list[int], input_size: int, last_use: dict[int, int]) -> tuple[int, int]:
    freed_after: dict[int, int] = {last_use[-1]: input_size}  # row -> elements no longer needed after it
    alive = input_size
    best, best_row = -1, 0
    for i, size in enumerate(sizes):
        alive += size
        end = last_use.get(i, i)
        freed_after[end] = freed_after.get(end, 0) + size
        if alive > best:
            best, best_row = alive, i
        alive -= freed_after.pop(i, 0)
    return best, best_row


_COMPARED_CANDIDATES = 32


def _symbolic_peak(sizes: list[Any], input_size: Any, last_use: dict[int, int]) -> tuple[Any, int]:
    import sympy

    from cnncalc import bounds, symtext

    ledger = bounds.Ledger()

    def terms(value: Any) -> dict[int, Any]:
        return ledger.terms(value if arith.is_number(value) else symtext.expand(value))

    def shift(into: dict[int, Any], value: dict[int, Any], sign: int) -> None:
        for m, c in value.items():
            c = into.get(m, 0) + sign * c
            if c == 0:
                del into[m]
            else:
                into[m] = c

    memo: dict[Any, dict[int, Any]] = {}
    freed_after: dict[int, list[dict[int, Any]]] = {}
    alive: dict[int, Any] = {}
    first = terms(input_size)
    shift(alive, first, 1)
    freed_after.setdefault(last_use[-1], []).append(first)
    # Amounts alive that no other provably exceeds, with their row: the latest few are compared
    # with each new amount, older ones are kept as they are (without the window, 2,000 rows of
    # distinct width symbols make 2,000,000 comparisons); a kept extra is still exact.
    candidates: list[tuple[dict[int, Any], int]] = []
    settled: list[tuple[dict[int, Any], int]] = []
    seen: set[frozenset[tuple[int, Any]]] = set()
    for i, size in enumerate(sizes):
        found = memo.get(size)
        if found is None:
            found = memo[size] = terms(size)
        shift(alive, found, 1)
        freed_after.setdefault(last_use.get(i, i), []).append(found)
        key = frozenset(alive.items())
        if key not in seen:  # an amount met before is a candidate already, or is exceeded
            seen.add(key)
            survivors = []
            for other, row in candidates:
                at_least, at_most = ledger.compare(alive, other)
                if at_most:
                    break  # never more than an earlier amount: not a candidate
                if not at_least:
                    survivors.append((other, row))
            else:
                candidates = [*survivors, (dict(alive), i)]
                if len(candidates) > _COMPARED_CANDIDATES:
                    settled.append(candidates.pop(0))
        for gone in freed_after.pop(i, ()):
            shift(alive, gone, -1)
    candidates = settled + candidates
    values = [ledger.value(amount) for amount, _ in candidates]
    if len(values) == 1:
        return arith.normalize(values[0]), candidates[0][1]
    return sympy.Max(*values, evaluate=False), -1


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
