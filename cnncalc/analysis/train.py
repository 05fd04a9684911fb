"""Training memory of an evaluated network: weights, gradients, optimizer state and the
activations autograd keeps for backward.

The truth it matches (tests/test_train_memory.py, tests/data/train_memory_torch.json): torch
2.14.1 on CPU, float32, train mode, the tensors recorded by
`torch.autograd.graph.saved_tensors_hooks` during one forward pass, counted once per storage,
parameter storages left out. Each layer kind states what it saves (`LayerKind.saves`, in its
family module); this walker follows storages through the rows (a view or an in-place op's output
is its input's storage; every other layer writes a new one) and counts each saved storage once,
at the first row that saves it. Which tensors need a gradient is followed too: the network's
input does not (a standalone block's does: it sits inside a network); a layer's output does when it has parameters or an input that does (layers
without parameters save nothing for an input that needs no gradient).

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
from cnncalc.layers import lookup
from cnncalc.layers.base import SAVES_INPUT, SAVES_OUTPUT, SHARES_INPUT


def train_total(evaluation: Evaluation, optimizer: str, dtype: str, mixed: bool) -> Any:
    """The exact total training memory in bytes (contract 1 of issue 15: solve's `train_memory`
    metric): an int, or a sympy expression in the batch symbol when the batch is a name. A
    layer kind whose saves are not modelled is a SpecError, as in `train_memory`."""
    return train_memory(evaluation, optimizer=optimizer, dtype=dtype, mixed=mixed).total


# Optimizer state, in parameter-sized buffers: SGD none, momentum one (the velocity), Adam and
# AdamW two (first and second moments; their step counter is a scalar, not counted).
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}


class TrainRow(NamedTuple):
    """One row: the bytes of the storages it is the first to save."""

    saved_bytes: Any


class TrainMemory(NamedTuple):
    """Training memory in bytes: weights, their gradients, optimizer state, saved activations."""

    rows: tuple[TrainRow, ...]
    weights: Any
    gradients: Any
    optimizer_state: Any
    activations: Any
    optimizer: str
    dtype: str

    @property
    def total(self) -> Any:
        return arith.total([self.weights, self.gradients, self.optimizer_state, self.activations])


def not_modelled(path: str, module: str, kind: str, reason: str = "") -> SpecError:
    return SpecError(
        f"training memory is not modelled for {kind} (layer {path}{f', module {module}' if module else ''})" + (f": {reason}" if reason else ""),
        expected="a layer kind whose saved tensors cnncalc models (docs/conventions.md)",
        found=kind,
    )


def train_memory(evaluation: Evaluation, *, optimizer: str = "sgd", dtype: str = "float32", mixed: bool = False) -> TrainMemory:
    """Training memory of an evaluation; a layer kind that states nothing is a SpecError."""
    if mixed:
        raise SpecError("mixed precision training memory is not modelled yet", expected="mixed=False", found="mixed=True")
    size = BYTES[dtype]
    storage: list[int] = []  # per row: the storage its output lives in (a row index, -1 the input)
    grad: list[bool] = []  # per row: its output needs a gradient
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

    for index, row in enumerate(evaluation.rows):
        kind = lookup(row.type)
        if kind is None or kind.saves is None:
            raise not_modelled(row.path, row.module, row.type)
        if row.copies != 1:
            raise not_modelled(row.path, row.module, row.type, "a symbolic repeat count")
        ins = [source(index, i) for i in range(len(row.inputs))]
        in_grad = any(grad[s] if s >= 0 else input_grad for s in ins)
        try:
            items = kind.saves(dict(row.args), row.inputs, row.output, in_grad)
        except SpecError as error:
            raise not_modelled(row.path, row.module, row.type, error.args[0] if error.args else "") from None
        own = index
        new_bytes: list[Any] = []
        for item in items:
            if item == SHARES_INPUT:
                own = storage_of(ins[0])
        for item in items:
            if item == SHARES_INPUT:
                continue
            if item in (SAVES_INPUT, SAVES_OUTPUT):
                s = storage_of(ins[0]) if item == SAVES_INPUT else own
                if s not in saved:
                    saved.add(s)
                    new_bytes.append(arith.mul(elements_of(s), size))
            else:
                elements, itemsize = item
                new_bytes.append(arith.mul(elements, itemsize or size))
        storage.append(own)
        grad.append(in_grad or row.params != 0)
        rows.append(TrainRow(arith.total(new_bytes)))
    weights = arith.mul(evaluation.params, size)
    return TrainMemory(
        tuple(rows),
        weights,
        weights,
        arith.mul(weights, OPTIMIZER_STATES[optimizer]),
        arith.total([r.saved_bytes for r in rows]),
        optimizer,
        dtype,
    )
