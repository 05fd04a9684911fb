"""Cost of an evaluated network: MACs, the cheap ops counted apart, and memory.

Conventions (also in the README):
- One MAC is one multiply-accumulate; bias additions are not MACs; FLOPs = 2 x MACs. MACs come
  from the layer rules: conv = output elements * (C_in/groups) * prod(k); transposed conv =
  input elements * (C_out/groups) * prod(k) (counted on the input positions); linear = output
  elements * in_features. The headline number is conv + linear.
- Cheap ops are elementary operations (one add, multiply, compare or function evaluation each),
  reported apart from MACs, per kind:
  norm       BatchNorm in eval mode: 2 per element with affine, 1 without (scale and shift with
             the running statistics); batch statistics (track_running_stats=False), GroupNorm,
             InstanceNorm, LayerNorm, LayerNorm2d: 5 per element with affine, 4 without
             (fvcore's counts);
  pool       Max/AvgPool: output elements * window (prod(kernel_size)); adaptive pools: the sum
             of their windows (= input elements when the output size divides the input size);
  activation one per output element (ReLU, GELU, Softmax, ... alike);
  add/mul    Add and Mul: one per output element per extra input; Concat costs nothing;
  upsample   output elements * taps: nearest 1, linear 2, bilinear 4, trilinear 8, bicubic 16;
             'area' as an adaptive average pool;
  scale      LayerScale: one multiply per element.
  Everything else (dropout and stochastic depth at inference, padding, reshapes) costs 0.
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
from cnncalc.layers import lookup, per_axis
from cnncalc.analysis.receptive import AXIS_NAMES
from cnncalc.render.numbers import count_text as _n

BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
OP_KINDS = ("norm", "pool", "activation", "add/mul", "upsample", "scale")
CONVENTION = (
    "1 MAC = one multiply-accumulate; bias additions are not MACs; FLOPs = 2 x MACs; "
    "MACs = conv + linear, cheap ops (norm, pool, activation, add/mul, upsample) counted apart"
)
_TAPS = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 4, "trilinear": 8, "bicubic": 16}


@dataclass(frozen=True)
class RowCost:
    """One row: MACs (from the layer rule), cheap ops and their kind, output elements."""

    macs: Any
    ops: Any
    op_kind: str | None
    elements: Any
    steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupCost:
    """Totals of one block."""

    name: str
    layers: int
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
    conv = arith.total(c.macs for r, c in zip(evaluation.rows, rows) if r.type.startswith("Conv"))
    linear = arith.total(c.macs for r, c in zip(evaluation.rows, rows) if r.type == "Linear")
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
                len(members),
                arith.total(rows[i].macs for i in members),
                arith.total(rows[i].ops for i in members),
                arith.total(rows[i].elements for i in members),
                members[-1],
            )
        )
    input_elements = arith.product(evaluation.input)
    peak, at = sequential_peak(evaluation, [c.elements for c in rows], input_elements)
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
    """A row's MACs, cheap ops (with their kind) and output elements, with the working if asked."""
    elements = arith.product(row.output)
    kind = lookup(row.type)
    args = dict(row.args)
    steps: list[str] = []
    if explain and arith.equal(row.macs, 0) is not True:
        steps.append(_mac_step(row, kind, args))
    ops, op_kind, formula = _cheap(row, kind, args, elements)
    if explain and op_kind is not None:
        text = f"{op_kind} ops = {formula}"
        steps.append(text if text.endswith(" = " + _n(ops)) else f"{text} = {_n(ops)}")
    if explain:
        size = BYTES[dtype]
        steps.append(f"activation = output elements * {size} B ({dtype}) = {_n(elements)}*{size} = {_n(arith.mul(elements, size))} B")
    return RowCost(row.macs, ops, op_kind, elements, tuple(steps))


def _t(value: Any) -> str:
    return arith.as_text(value)


def _mac_step(row: Row, kind: Any, args: dict[str, Any]) -> str:
    """The MAC formula with the numbers put in (conv, transposed conv, linear)."""
    if kind is not None and kind.category == "conv" and kind.spatial:
        n = kind.spatial
        kernel = per_axis("kernel_size", args["kernel_size"], n)
        groups = args.get("groups", 1)
        transposed = row.type.startswith("ConvTranspose")
        shape = row.input if transposed else row.output
        channel_axis = len(shape) - n - 1
        batch = shape[:channel_axis]
        sizes = shape[channel_axis + 1 :]
        cin, cout = row.input[channel_axis], row.output[channel_axis]
        where = "_in" if transposed else "_out"
        names = (["N"] if batch else []) + [a + where for a in AXIS_NAMES[n]]
        k_names = ["k_" + a.lower() for a in AXIS_NAMES[n]]
        values = [*batch, *sizes]
        if transposed:
            formula = "*".join(names + ["C_in", "(C_out/g)"] + k_names)
            numbers = "*".join([_t(v) for v in values] + [_t(cin), f"({_t(cout)}/{_t(groups)})"] + [_t(k) for k in kernel])
            return f"MACs (on the input positions) = {formula} = {numbers} = {_n(row.macs)}"
        formula = "*".join(names + ["C_out", "(C_in/g)"] + k_names)
        numbers = "*".join([_t(v) for v in values] + [_t(cout), f"({_t(cin)}/{_t(groups)})"] + [_t(k) for k in kernel])
        return f"MACs = {formula} = {numbers} = {_n(row.macs)}"
    if row.type == "Linear":
        positions = arith.product(row.output[:-1])
        fin = row.input[-1]
        return (
            f"MACs = positions*out_features*in_features = {_t(positions)}*{_t(row.output[-1])}*{_t(fin)} = {_n(row.macs)}"
        )
    return f"MACs = {_n(row.macs)}"


def _cheap(row: Row, kind: Any, args: dict[str, Any], elements: Any) -> tuple[Any, str | None, str]:
    """(ops, kind, formula) of the cheap op a row performs; (0, None, '') for free layers."""
    if kind is None:
        return 0, None, ""
    name = row.type
    category = kind.category
    if category == "norm":
        if name.startswith("BatchNorm") and args.get("track_running_stats", True):
            per = 2 if args.get("affine", True) else 1
            return arith.mul(elements, per), "norm", f"elements*{per} (eval: scale and shift) = {_n(elements)}*{per}"
        affine = args.get("affine", args.get("elementwise_affine", True))
        per = 5 if affine else 4
        return arith.mul(elements, per), "norm", f"elements*{per} (statistics{' and affine' if affine else ''}) = {_n(elements)}*{per}"
    if category == "pool":
        n = kind.spatial
        if name.startswith("Adaptive"):
            window = _windows(row.inputs[0][-n:], row.output[-n:])
            if window is None:
                total = arith.product(row.inputs[0])
                return total, "pool", f"input elements = {_n(total)}"
            total = arith.mul(arith.product(row.output[:-n]), window)
            return total, "pool", f"sum of the adaptive windows = {_n(arith.product(row.output[:-n]))}*{_n(window)}"
        kernel = arith.product(per_axis("kernel_size", args["kernel_size"], n))
        return arith.mul(elements, kernel), "pool", f"output elements*window = {_n(elements)}*{_t(kernel)}"
    if category == "act":
        return elements, "activation", f"output elements = {_n(elements)}"
    if name in ("Add", "Mul"):
        extra = len(row.inputs) - 1
        return arith.mul(elements, extra), "add/mul", f"output elements*{extra} = {_n(elements)}*{extra}"
    if category == "upsample":
        mode = args.get("mode", "nearest")
        if mode == "area":
            n = len(row.output) - 2
            window = _windows(row.inputs[0][-n:], row.output[-n:])
            total = arith.product(row.inputs[0]) if window is None else arith.mul(arith.product(row.output[:-n]), window)
            return total, "upsample", "sum of the area windows"
        taps = _TAPS.get(mode, 1)
        return arith.mul(elements, taps), "upsample", f"output elements*taps ({mode}) = {_n(elements)}*{taps}"
    if name in ("LayerScale", "LayerScale2d"):
        return elements, "scale", f"output elements = {_n(elements)}"
    return 0, None, ""


def _windows(sizes: tuple[Any, ...], outs: tuple[Any, ...]) -> Any:
    """Product over axes of the summed adaptive window lengths; None when a size is symbolic."""
    total = 1
    for size, out in zip(sizes, outs):
        if not (isinstance(size, int) and isinstance(out, int)):
            return None
        total *= sum(-((-(o + 1) * size) // out) - (o * size) // out for o in range(out))
    return total
