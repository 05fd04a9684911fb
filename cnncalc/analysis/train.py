"""Training memory of an evaluated network: weights, gradients, optimizer state and the
activations autograd keeps for backward.

The truth it matches (tests/test_train_memory.py, tests/data/train_memory_torch.json): torch
2.14.1 on CPU, train mode, the tensors recorded by `torch.autograd.graph.saved_tensors_hooks`
during one forward pass, counted once per storage, parameter storages left out; in float32, in a
16-bit dtype (the model cast with `.to(dtype)`), or in mixed precision (`torch.autocast('cpu',
dtype)` with float32 weights: convs and linears run in the 16-bit dtype and save 16-bit casts of
their weights, counted apart as `weight_casts`; the weights, gradients and optimizer state stay
float32). Each layer kind states what it saves (`LayerKind.saves`, in its family module); this
walker follows storages through the rows (a view or an in-place op's output is its input's
storage; every other layer writes a new one), their element size and whether they are
contiguous, and counts each saved storage once, at the first row that saves it. Which tensors
need a gradient is followed too: the network's input does not (a standalone block's does: it
sits inside a network); a layer's output does when it has parameters or an input that does
(layers without parameters save nothing for an input that needs no gradient). Frozen parameters
(requires_grad=False: DFL's) count in the weights, with no gradient and no optimizer state.

Read from an Ultralytics model file (Evaluation.inference_only, python_lists, train_refused):
the rows Ultralytics runs in eval mode only (Detect's DFL, sigmoid and final concatenation,
Classify's softmax) save nothing, as in train mode, where the head returns its raw outputs; a
Narrow that takes exactly one input of a Concat is that input's own storage (the templates'
running concatenation stands for Ultralytics' Python list, `y[-1]`); C2PSA and C2fPSA rows are
refused (their Attention scales q and reshapes v in ways the template does not model).

Not modelled (so every figure is a lower bound on what training needs): workspace and temporary
buffers, the allocator's rounding and caching, the gradients of activations alive during
backward, the loss, and anything a kind does not state.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cnncalc import arith
from cnncalc.analysis.cost import BYTES
from cnncalc.analysis.evaluate import Evaluation
from cnncalc.errors import SpecError
from cnncalc.explain import Step
from cnncalc.layers import lookup
from cnncalc.layers.base import (
    ACTIVATION,
    AUTOCAST,
    LAYOUT,
    MODEL,
    PARAM_DTYPE,
    SAVES_OUTPUT,
    SHARES_INPUT,
    STRIDED,
    WEIGHT_CAST,
    Flow,
)


def train_total(evaluation: Evaluation, optimizer: str, dtype: str, mixed: bool) -> Any:
    """The exact total training memory in bytes (contract 1 of issue 15: solve's `train_memory`
    metric): an int, or a sympy expression in the batch symbol when the batch is a name. A
    layer kind whose saves are not modelled is a SpecError, as in `train_memory`."""
    return train_memory(evaluation, optimizer=optimizer, dtype=dtype, mixed=mixed).total


# Optimizer state, in parameter-sized buffers: SGD none, momentum one (the velocity), Adam and
# AdamW two (first and second moments; their step counter is a scalar, not counted).
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
# The 16-bit dtypes mixed precision runs in (autocast's lower-precision dtype).
MIXED_DTYPES = ("bfloat16", "float16")
MASTER = "float32"  # mixed precision's weights, gradients and optimizer state
INFERENCE_ONLY = "nothing: not run in training (the head returns its raw outputs in train mode)"
NOT_MODELLED = "workspace, allocator overhead, activation gradients alive during backward and the loss are not modelled"


class TrainRow(NamedTuple):
    """One row: the bytes of the storages it is the first to save, what it saves (the kind's
    saves_doc), the bytes of the 16-bit weight copy it saves under autocast, the working."""

    saved_bytes: Any
    saves: str = ""
    weight_cast_bytes: Any = 0
    steps: tuple[Step, ...] = ()


class TrainMemory(NamedTuple):
    """Training memory in bytes: weights, their gradients, optimizer state, saved activations
    (and under mixed precision the saved 16-bit copies of the weights)."""

    rows: tuple[TrainRow, ...]
    weights: Any
    gradients: Any
    optimizer_state: Any
    activations: Any
    optimizer: str
    dtype: str
    mixed: bool = False
    weight_casts: Any = 0
    params: Any = 0  # the parameter count the weight lines are made of
    steps: tuple[Step, ...] = ()  # the totals' working (explain)

    @property
    def master_dtype(self) -> str:
        """The dtype of the weights, gradients and optimizer state."""
        return MASTER if self.mixed else self.dtype

    @property
    def total(self) -> Any:
        return arith.total([self.weights, self.gradients, self.optimizer_state, self.activations, self.weight_casts])


def not_modelled(path: str, module: str, kind: str, reason: str = "") -> SpecError:
    return SpecError(
        f"training memory is not modelled for {kind} (layer {path}{f', module {module}' if module else ''})" + (f": {reason}" if reason else ""),
        expected="a layer kind whose saved tensors cnncalc models (docs/conventions.md)",
        found=kind,
    )


def train_memory(
    evaluation: Evaluation, *, optimizer: str = "sgd", dtype: str = "float32", mixed: bool = False, explain: bool = False
) -> TrainMemory:
    """Training memory of an evaluation; a layer kind that states nothing is a SpecError.

    `mixed`: autocast in `dtype` (bfloat16 or float16) with float32 weights. `explain`: the
    working as steps (each row's, and the totals')."""
    if mixed and dtype not in MIXED_DTYPES:
        raise SpecError("mixed precision runs in a 16-bit dtype", expected="dtype bfloat16 or float16", found=dtype)
    low = BYTES[dtype]
    model = BYTES[MASTER] if mixed else low
    storage: list[int] = []  # per row: the storage its output lives in (a row index, -1 the input)
    grad: list[bool] = []  # per row: its output needs a gradient
    contiguous: list[bool] = []  # per row: its output is contiguous
    itemsize: dict[int, int] = {-1: model}  # per storage: bytes per element (the input: the weights' dtype)
    saved: set[int] = set()
    rows: list[TrainRow] = []
    input_grad = evaluation.standalone  # a block on its own: its input comes from earlier layers

    def source(row_index: int, i: int) -> int:
        sources = evaluation.rows[row_index].sources
        return sources[i] if sources else row_index - 1

    def storage_of(s: int) -> int:  # the storage a row's output lives in (-1: the input's)
        return storage[s] if s >= 0 else -1

    def elements_of(s: int) -> Any:
        return arith.product(evaluation.input if s == -1 else evaluation.rows[s].output)

    def listed(row_index: int) -> int | None:
        """The Concat input a Narrow takes exactly, in an Ultralytics model (see Evaluation.python_lists)."""
        row = evaluation.rows[row_index]
        s = source(row_index, 0)
        if not evaluation.python_lists or row.type != "Narrow" or s < 0 or evaluation.rows[s].type != "Concat":
            return None
        cat, args = evaluation.rows[s], dict(row.args)
        rank = len(cat.output)
        dim, cat_dim = args.get("dim"), dict(cat.args).get("dim", 0)
        if not isinstance(dim, int) or not isinstance(cat_dim, int) or dim % rank != cat_dim % rank:
            return None
        start = 0
        for i, shape in enumerate(cat.inputs):
            if start == args.get("start") and shape[dim % rank] == args.get("length"):
                return source(s, i)
            start = arith.add(start, shape[dim % rank])
        return None

    for index, row in enumerate(evaluation.rows):
        kind = lookup(row.type)
        if kind is None or kind.saves is None:
            raise not_modelled(row.path, row.module, row.type)
        for module, refused, reason in evaluation.train_refused:
            if row.type == refused and row.module.startswith(module + "."):
                raise not_modelled(row.path, row.module, row.type, reason)
        if row.copies != 1:
            raise not_modelled(row.path, row.module, row.type, "a symbolic repeat count")
        ins = [source(index, i) for i in range(len(row.inputs))]
        grads = tuple(grad[s] if s >= 0 else input_grad for s in ins)
        flow = Flow(grads, tuple(contiguous[s] if s >= 0 else True for s in ins), mixed)
        try:
            items = () if row.module in evaluation.inference_only else kind.saves(dict(row.args), row.inputs, row.output, flow)
        except SpecError as error:
            raise not_modelled(row.path, row.module, row.type, error.args[0] if error.args else "") from None
        casts = mixed and AUTOCAST in items
        in_size = max(itemsize[storage_of(s)] for s in ins)
        piece = listed(index)
        own = storage_of(piece if piece is not None else ins[0]) if SHARES_INPUT in items else index
        if own == index:
            itemsize[own] = low if casts else model if mixed and PARAM_DTYPE in items else in_size
        parts: list[tuple[str, Any, int]] = []  # what it is the first to save: (what, elements, bytes per element)
        counted: list[str] = []  # storages it saves that an earlier row counted
        weight_cast: Any = 0
        for item in items:
            if item in (SHARES_INPUT, STRIDED, LAYOUT, AUTOCAST, PARAM_DTYPE):
                continue
            if item == WEIGHT_CAST:
                if mixed:
                    weight_cast = arith.mul(arith.sub(row.params, row.bias), low)
            elif isinstance(item[0], str):  # SAVES_OUTPUT or saves_input(i)
                s = own if item == SAVES_OUTPUT else storage_of(ins[item[1]])
                what = "output" if item == SAVES_OUTPUT else "input" if len(ins) == 1 else f"input {item[1]}"
                if casts and itemsize[s] != low:  # autocast saves its own 16-bit cast of the input
                    parts.append((f"{what} (its {dtype} cast)", elements_of(s), low))
                elif s not in saved:
                    saved.add(s)
                    parts.append((what, elements_of(s), itemsize[s]))
                else:
                    counted.append(what)
            else:
                elements, size = item
                parts.append(("new tensor", elements, {ACTIVATION: in_size, MODEL: model}.get(size, size)))
        storage.append(own)
        grad.append(any(grads) or (row.params != 0 and not kind.frozen))
        keeps = SHARES_INPUT in items or LAYOUT in items  # a view or an elementwise op: the input's layout
        contiguous.append(
            (contiguous[piece] if piece >= 0 else True) if piece is not None else STRIDED not in items and (flow.contiguous[0] or not keeps)
        )
        saved_bytes = arith.total([arith.mul(elements, size) for _, elements, size in parts])
        steps = _row_steps(kind.saves_doc, parts, counted, saved_bytes, weight_cast, dtype) if explain else ()
        rows.append(TrainRow(saved_bytes, INFERENCE_ONLY if row.module in evaluation.inference_only else kind.saves_doc, weight_cast, steps))
    weights = arith.mul(evaluation.params, model)
    frozen = evaluation.frozen  # parameters with requires_grad=False (DFL's): no gradient, no state
    trained = weights if frozen == 0 else arith.mul(arith.sub(evaluation.params, frozen), model)
    memory = TrainMemory(
        tuple(rows),
        weights,
        trained,
        arith.mul(trained, OPTIMIZER_STATES[optimizer]),
        arith.total([r.saved_bytes for r in rows]),
        optimizer,
        dtype,
        mixed,
        arith.total([r.weight_cast_bytes for r in rows]),
        evaluation.params,
    )
    return memory._replace(steps=_total_steps(memory)) if explain else memory


def _row_steps(doc: str, parts: list[tuple[str, Any, int]], counted: list[str], total: Any, weight_cast: Any, dtype: str) -> tuple[Step, ...]:
    """One row's working: what it saves, each part's elements times bytes per element."""
    numbers: list[object] = []
    for _, elements, size in parts:
        numbers += [" + "] if numbers else []
        numbers += [elements, f"*{size}"]
    note = "; ".join(([f"{', '.join(counted)} counted above (one storage)"] if counted else []) + [f"saves {doc}"])
    steps = [Step("saved (train)", " + ".join(what for what, _, _ in parts) or "nothing", tuple(numbers), total, " B", note)]
    if weight_cast != 0:
        size = BYTES[dtype]
        steps.append(Step("weight cast (train)", f"(params - bias) * {size}", (arith.floor_div(weight_cast, size), f"*{size}"), weight_cast, " B", f"autocast's {dtype} copy of the weight"))
    return tuple(steps)


def _total_steps(t: TrainMemory) -> tuple[Step, ...]:
    """The totals' working: weights, gradients, optimizer state, saved activations, total."""
    size = BYTES[t.master_dtype]
    states = OPTIMIZER_STATES[t.optimizer]
    parts = ["weights", "gradients", "optimizer state", "saved activations"] + (["weight casts"] if t.mixed else [])
    values = [t.weights, t.gradients, t.optimizer_state, t.activations] + ([t.weight_casts] if t.mixed else [])
    numbers: list[object] = []
    for value in values:
        numbers += [" + "] if numbers else []
        numbers.append(value)
    return (
        Step("weights", f"params * {size}", (t.params, f"*{size}"), t.weights, " B", t.master_dtype),
        Step("gradients", "weights", "", t.gradients, " B", f"one per parameter, {t.master_dtype}")
        if t.gradients == t.weights
        else Step("gradients", f"trained params * {size}", "", t.gradients, " B", f"one per trained parameter (frozen ones have none), {t.master_dtype}"),
        Step("optimizer state", f"{states} * {'weights' if t.gradients == t.weights else 'gradients'}", "", t.optimizer_state, " B", f"{t.optimizer}: {states} buffer(s) per parameter"),
        Step("saved activations", "the rows' saved bytes", "", t.activations, " B", "each storage once"),
        *((Step("weight casts", "the rows' weight casts", "", t.weight_casts, " B", f"autocast's {t.dtype} copies of conv and linear weights"),) if t.mixed else ()),
        Step("total", " + ".join(parts), tuple(numbers), t.total, " B", "a lower bound: " + NOT_MODELLED),
    )
