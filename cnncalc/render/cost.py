"""Rendering for `cnncalc cost`: JSON document and neutral tables (drawn by `output.py`)."""

from __future__ import annotations

from typing import Any

from cnncalc import arith
from cnncalc.analysis.cost import BYTES, CONVENTION, Cost, RowCost, bytes_of, cost
from cnncalc.analysis.evaluate import Evaluation, shape_text
from cnncalc.analysis.fold import fold, fold_costs, fold_fields
from cnncalc.analysis.receptive import RowField, field_cells, receptive_fields
from cnncalc.analysis.train import OPTIMIZER_STATES, TrainMemory, train_memory
from cnncalc.explain import Step
from cnncalc.layers import OP_KINDS
from cnncalc.render.cells import (
    LAYER_COLUMNS,
    Shapes,
    condition_notes,
    conditions_json,
    layer_cells,
    shape_json,
    step_head,
    title_text,
)
from cnncalc.render.explain import steps_text
from cnncalc.render.numbers import bytes_text, count_text, ratio_json, ratio_of, ratio_text
from cnncalc.render.report import Report, Table

BOUND_NOTE = (
    "RF = receptive field, stride = effective stride, pad = effective padding, per axis, in input "
    "positions (Araujo et al., Distill 2019); '<=' marks an upper bound (fractional strides, uneven "
    "adaptive windows)"
)


def analyse(evaluation: Evaluation, *, dtype: str, explain: bool) -> tuple[Cost, tuple[RowField, ...]]:
    """The cost and the receptive fields of one evaluation."""
    return cost(evaluation, explain=explain, dtype=dtype), receptive_fields(evaluation, explain=explain)


def shown_rows(e: Evaluation, c: Cost, fields: tuple[RowField, ...], depth: int | None) -> tuple[Evaluation, tuple[RowCost, ...], tuple[RowField, ...]]:
    """The rows a per-layer listing shows, with their costs and fields: all of them, or with
    block calls below `depth` folded (`analysis.fold`: counts summed, the field at the block's output)."""
    if depth is None:
        return e, c.rows, fields
    folded, ranges = fold(e, depth)
    return folded, fold_costs(c.rows, ranges), fold_fields(fields, ranges)


def _field_json(field: RowField) -> dict[str, Any] | None:
    if field.axes is None or not field.axes:
        return None
    return {
        "axes": list(field.names),
        "size": [arith.as_json(a.shown_size) for a in field.axes],
        "stride": [arith.as_json(a.stride) for a in field.axes],
        "padding": [arith.as_json(a.padding) for a in field.axes],
        "exact": field.exact,
        "input_size_dependent": any(a.input_dependent for a in field.axes),
    }


def _shared_field_json(field: RowField, shared: dict[int, dict[str, Any] | None]) -> dict[str, Any] | None:
    """`_field_json`, made once per field object (rows that keep their input's field share it:
    the same object, found by id, as the caller's fields hold it)."""
    if id(field) not in shared:
        shared[id(field)] = _field_json(field)
    return shared[id(field)]


def _ops_json(c: Cost) -> dict[str, Any]:
    return {**{kind: arith.as_json(v) for kind, v in c.ops}, "total": arith.as_json(c.ops_total)}


TRAIN_NOTE = (
    "lower bound: autograd's saved tensors once per storage (torch 2.14.1, CPU, train mode); "
    "not modelled: workspace, allocator overhead, activation gradients alive during backward, the loss"
)


def _train_json(t: TrainMemory) -> dict[str, Any]:
    return {
        "optimizer": t.optimizer,
        "optimizer_buffers_per_param": OPTIMIZER_STATES[t.optimizer],
        "dtype": t.dtype,
        "mixed": t.mixed,
        "master_dtype": t.master_dtype,
        "weight_bytes": arith.as_json(t.weights),
        "gradient_bytes": arith.as_json(t.gradients),
        "optimizer_bytes": arith.as_json(t.optimizer_state),
        "saved_activation_bytes": arith.as_json(t.activations),
        "weight_cast_bytes": arith.as_json(t.weight_casts),
        "total_bytes": arith.as_json(t.total),
        "lower_bound": True,
        "note": TRAIN_NOTE,
    }


def _train_notes(t: TrainMemory) -> tuple[str, ...]:
    precision = f"mixed {t.dtype} (autocast), {t.master_dtype} weights" if t.mixed else t.dtype
    casts = f" + weight casts ({t.dtype}) {bytes_text(t.weight_casts)}" if t.mixed else ""
    return (
        f"train memory ({precision}, {t.optimizer}): weights {bytes_text(t.weights)} + gradients {bytes_text(t.gradients)} + "
        f"optimizer state {bytes_text(t.optimizer_state)} + saved activations {bytes_text(t.activations)}{casts} = {bytes_text(t.total)}",
        f"train memory is a {TRAIN_NOTE}",
    )


def _network_json(e: Evaluation, c: Cost, fields: tuple[RowField, ...], dtype: str, t: TrainMemory | None = None) -> dict[str, Any]:
    peak = e.rows[c.peak_row] if c.peak_row >= 0 else None
    return {
        "name": e.name,
        "input": shape_json(e.shown(e.input)),
        "output": shape_json(e.shown(e.output)),
        "batch": arith.as_json(e.batch),
        "macs": arith.as_json(c.macs),
        "flops": arith.as_json(c.flops),
        "conv_macs": arith.as_json(c.conv_macs),
        "linear_macs": arith.as_json(c.linear_macs),
        "ops": _ops_json(c),
        "memory": {
            "input_elements": arith.as_json(c.input_elements),
            "input_bytes": arith.as_json(bytes_of(c.input_elements, dtype)),
            "activation_elements": arith.as_json(c.activation_elements),
            "activation_bytes": arith.as_json(bytes_of(c.activation_elements, dtype)),
            "peak_elements": arith.as_json(c.peak_elements),
            "peak_bytes": arith.as_json(bytes_of(c.peak_elements, dtype)),
            "peak_at": None if peak is None else peak.path,
            "peak_module": None if peak is None else peak.module,
            "params": arith.as_json(c.params),
            "param_bytes": arith.as_json(bytes_of(c.params, dtype)),
            "buffers": arith.as_json(c.buffers),
            "buffer_bytes": arith.as_json(bytes_of(c.buffers, dtype)),
        },
        "receptive_field": _field_json(fields[-1]) if fields else None,
        "warnings": [w for f in fields for w in f.warnings],
        **({"train_memory": _train_json(t)} if t is not None else {}),
    }


def cost_document(
    evaluation_sets: list[list[Evaluation]], *, dtype: str, explain: bool = False, depth: int | None = None, optimizer: str | None = None,
    mixed: bool = False,
) -> dict[str, Any]:
    """The `cost` JSON: one spec's document, or {"specs": [...], "comparison": [...]} for several;
    `depth`: block calls below it folded into one layer each (the totals are the same)."""
    if len(evaluation_sets) == 1:
        return _cost_one(evaluation_sets[0], dtype, explain, depth, optimizer=optimizer, mixed=mixed)
    documents, summaries = [], []
    for evaluations in evaluation_sets:
        analysed = [(e, *analyse(e, dtype=dtype, explain=explain)) for e in evaluations]
        documents.append(_cost_one(evaluations, dtype, explain, depth, analysed, optimizer=optimizer, mixed=mixed))
        summaries.append(_summary(analysed))
    return {"convention": CONVENTION, "specs": documents, "comparison": _comparison_json(summaries, dtype)}


_Summary = tuple[str, Any, Any, Any]
"""A spec's (or one input's) totals for the comparison: name, params, MACs, peak activation elements."""


def _summary(analysed: list[tuple[Evaluation, Cost, tuple[RowField, ...]]]) -> _Summary:
    return (
        analysed[0][0].spec_name,
        arith.total(c.params for _, c, _ in analysed),
        arith.total(c.macs for _, c, _ in analysed),
        arith.maximum(*(c.peak_elements for _, c, _ in analysed)),
    )


def _comparison_json(summaries: list[_Summary], dtype: str) -> list[dict[str, Any]]:
    """Each spec (or input) against the first: params, MACs and their ratio, the peak activations."""
    base = summaries[0][2]
    return [
        {
            "name": name,
            "params": arith.as_json(params),
            "macs": arith.as_json(macs),
            "macs_ratio": ratio_json(ratio_of(macs, base)),
            "flops": arith.as_json(arith.mul(2, macs)),
            "peak_elements": arith.as_json(peak),
            "peak_bytes": arith.as_json(bytes_of(peak, dtype)),
        }
        for name, params, macs, peak in summaries
    ]


def _comparison_table(summaries: list[_Summary], dtype: str) -> Table:
    rows = tuple(
        (
            c["name"], count_text(c["params"]), count_text(c["macs"]),
            c["macs_ratio"] if isinstance(c["macs_ratio"], str) else ratio_text(c["macs_ratio"]),
            count_text(c["peak_elements"]), bytes_text(c["peak_bytes"]),
        )
        for c in _comparison_json(summaries, dtype)
    )
    columns = ("name", "params", "MACs", "MACs ratio", "peak activations", f"peak ({dtype})")
    return Table("comparison (against the first)", columns, rows, (False,) + (True,) * (len(columns) - 1), kind="comparison")


def _cost_one(
    evaluations: list[Evaluation], dtype: str, explain: bool, depth: int | None = None, analysed: list[tuple[Evaluation, Cost, tuple[RowField, ...]]] | None = None,
    *, optimizer: str | None = None, mixed: bool = False,
) -> dict[str, Any]:
    if analysed is None:
        analysed = [(e, *analyse(e, dtype=dtype, explain=explain)) for e in evaluations]
    trains = {id(e): train_memory(e, optimizer=optimizer, dtype=dtype, mixed=mixed, explain=explain) for e, _, _ in analysed} if optimizer else {}
    macs = arith.total(c.macs for _, c, _ in analysed)
    layers = []
    blocks = []
    for e, c, fields in analysed:
        shapes = Shapes(e)
        # Rows sharing their cost and output (or their field) share those values: c.rows and
        # fields hold rc and f, so their ids stay theirs.
        counted: dict[Any, dict[str, Any]] = {}
        fielded: dict[int, dict[str, Any] | None] = {}  # a field's JSON object, shared by its rows and block
        noted: dict[tuple[str, ...], list[str]] = {}
        shown, row_costs, row_fields = shown_rows(e, c, fields, depth)
        saved = trains[id(e)].rows if optimizer and depth is None else None  # per layer: unfolded rows only
        for i, (r, rc, f) in enumerate(zip(shown.rows, row_costs, row_fields)):
            key = (id(rc), id(r.output))
            counts = counted.get(key)
            if counts is None:
                counts = counted[key] = {
                    "output": shapes[r.output],
                    "output_elements": arith.as_json(rc.elements),
                    "macs": arith.as_json(rc.macs),
                    "flops": arith.as_json(arith.mul(2, rc.macs)),
                    "ops": arith.as_json(rc.ops),
                    "op_kind": rc.op_kind,
                    "activation_bytes": arith.as_json(bytes_of(rc.elements, dtype)),
                }
            field = fielded[id(f)] if id(f) in fielded else _shared_field_json(f, fielded)
            item: dict[str, Any] = {"path": r.path, "module": r.module, "type": r.type, **counts, "receptive_field": field}
            if saved is not None:
                item["saved_bytes"] = arith.as_json(saved[i].saved_bytes)
                item["saves"] = saved[i].saves
                if mixed:
                    item["weight_cast_bytes"] = arith.as_json(saved[i].weight_cast_bytes)
            if f.notes:
                item["notes"] = noted.get(f.notes) or noted.setdefault(f.notes, list(f.notes))  # one list per distinct notes
            train_steps = saved[i].steps if saved is not None else ()
            if explain and (r.steps or rc.steps or f.steps or train_steps):
                item["steps"] = list(_steps(r.steps, rc.steps + train_steps, f.steps))
            layers.append(item)
        for g in c.groups:
            blocks.append(
                {
                    "name": g.name,
                    "layers": arith.as_json(g.layers),
                    "macs": arith.as_json(g.macs),
                    "flops": arith.as_json(arith.mul(2, g.macs)),
                    "ops": arith.as_json(g.ops),
                    "activation_elements": arith.as_json(g.elements),
                    "activation_bytes": arith.as_json(bytes_of(g.elements, dtype)),
                    "receptive_field": _shared_field_json(fields[g.last], fielded),
                }
            )
    return {
        "name": evaluations[0].spec_name,
        "convention": CONVENTION,
        "dtype": dtype,
        "bytes_per_element": BYTES[dtype],
        "batch": arith.as_json(evaluations[0].batch),
        "macs": arith.as_json(macs),
        "flops": arith.as_json(arith.mul(2, macs)),
        "conv_macs": arith.as_json(arith.total(c.conv_macs for _, c, _ in analysed)),
        "linear_macs": arith.as_json(arith.total(c.linear_macs for _, c, _ in analysed)),
        "ops": {
            **{kind: arith.as_json(arith.total(dict(c.ops)[kind] for _, c, _ in analysed)) for kind in OP_KINDS},
            "total": arith.as_json(arith.total(c.ops_total for _, c, _ in analysed)),
        },
        "networks": [_network_json(e, c, f, dtype, trains.get(id(e))) for e, c, f in analysed],
        "blocks": blocks,
        "layers": layers,
        "conditions": conditions_json(evaluations),
    }


def _steps(layer_steps: tuple[Step, ...], cost_steps: tuple[Step, ...], field_steps: tuple[Step, ...]) -> tuple[str, ...]:
    # the layer rule's (shapes, params, MACs), then the cheap ops and memory, then the receptive field
    return steps_text(layer_steps + cost_steps + field_steps)


def cost_report(
    evaluation_sets: list[list[Evaluation]], *, dtype: str, flops: bool, explain: bool, depth: int | None = None, optimizer: str | None = None,
    mixed: bool = False,
) -> Report:
    """The `cost` tables: per layer (per block call below `depth`), per block, with totals,
    memory and the receptive field in notes; the working (--explain) is every layer's."""
    tables: list[Table] = []
    explanation: list[tuple[str, tuple[str, ...]]] = []
    summaries: list[_Summary] = []
    for evaluations in evaluation_sets:
        analysed = []
        for e in evaluations:
            c, fields = analyse(e, dtype=dtype, explain=explain)
            analysed.append((e, c, fields))
            train = train_memory(e, optimizer=optimizer, dtype=dtype, mixed=mixed, explain=explain) if optimizer else None
            saved = train.rows if train is not None and depth is None else None  # per layer: unfolded rows only
            shown, row_costs, row_fields = shown_rows(e, c, fields, depth)
            noted = any(f.notes for f in row_fields)
            columns = (*LAYER_COLUMNS, "type", "output", "MACs") + (("FLOPs",) if flops else ()) + (
                "cheap ops", "op", "out elements", f"bytes ({dtype})"
            ) + (("saved (train)",) if saved is not None else ()) + ("RF", "stride", "pad") + (("RF note",) if noted else ())
            numeric = (False, False, False, False, True) + ((True,) if flops else ()) + (
                True, False, True, True
            ) + ((True,) if saved is not None else ()) + (True, True, True) + ((False,) if noted else ())
            rows = []
            # Rows sharing their cost and output (or their field) share those cells: c.rows and
            # fields hold rc and f, so their ids stay theirs.
            counted: dict[Any, tuple[str, ...]] = {}
            fielded: dict[int, tuple[str, ...]] = {}
            for i, (r, rc, f) in enumerate(zip(shown.rows, row_costs, row_fields)):
                key = (id(rc), id(r.output))
                counts = counted.get(key) if saved is None else None
                if counts is None:
                    cells = [shape_text(e.shown(r.output)), count_text(rc.macs)]
                    if flops:
                        cells.append(count_text(arith.mul(2, rc.macs)))
                    cells += [count_text(rc.ops), rc.op_kind or "", count_text(rc.elements), count_text(bytes_of(rc.elements, dtype))]
                    if saved is not None:
                        cells.append(count_text(saved[i].saved_bytes))
                    counts = counted[key] = tuple(cells)
                field = fielded.get(id(f))
                if field is None:
                    field = fielded[id(f)] = (*field_cells(f), "; ".join(f.notes)) if noted else field_cells(f)
                rows.append((*layer_cells(r), r.type, *counts, *field))
            if explain:
                trained = train.rows if train is not None else [None] * len(e.rows)
                explanation.extend(
                    (step_head(e, r), _steps(r.steps, rc.steps + (t.steps if t is not None else ()), f.steps))
                    for r, rc, f, t in zip(e.rows, c.rows, fields, trained)
                )
                if train is not None:
                    explanation.append((f"training memory of {e.name}", steps_text(train.steps)))
            title = f"{title_text(e)} -- {CONVENTION}"
            tables.append(Table(title, columns, tuple(rows), numeric, _notes(e, c, fields, dtype) + (_train_notes(train) if train is not None else ()), csv_only=("layer",), spec=e.spec_name))
            if c.groups and not e.standalone:
                block_columns = ("block", "layers", "MACs") + (("FLOPs",) if flops else ()) + (
                    "cheap ops", "out elements", f"bytes ({dtype})", "RF", "stride", "pad"
                )
                block_rows = []
                for g in c.groups:
                    cells = [g.name, arith.as_text(g.layers), count_text(g.macs)]
                    if flops:
                        cells.append(count_text(arith.mul(2, g.macs)))
                    cells += [count_text(g.ops), count_text(g.elements), count_text(bytes_of(g.elements, dtype))]
                    cells += field_cells(fields[g.last])
                    block_rows.append(tuple(cells))
                tables.append(
                    Table(
                        f"{e.name}: blocks (RF at the block's output)",
                        block_columns,
                        tuple(block_rows),
                        (False, True, True) + ((True,) if flops else ()) + (True, True, True, True, True, True),
                        kind="blocks",
                    )
                )
        summaries.append(_summary(analysed))
    if len(summaries) > 1:
        tables.append(_comparison_table(summaries, dtype))
    return Report(tuple(tables), tuple(explanation))


def _notes(e: Evaluation, c: Cost, fields: tuple[RowField, ...], dtype: str) -> tuple[str, ...]:
    other = ", ".join(f"{kind} {count_text(v)}" for kind, v in c.ops if arith.equal(v, 0) is not True) or "none"
    peak_at = f" (computing {e.rows[c.peak_row].module})" if c.peak_row >= 0 else ""
    notes = [
        f"MACs {count_text(c.macs)} (conv {count_text(c.conv_macs)}, linear {count_text(c.linear_macs)}); "
        f"FLOPs {count_text(c.flops)}",
        f"cheap ops {count_text(c.ops_total)} (elementary ops, not in MACs): {other}",
        f"activations ({dtype}): input {count_text(c.input_elements)} elements, layer outputs "
        f"{count_text(c.activation_elements)} elements = {bytes_text(bytes_of(c.activation_elements, dtype))}; "
        f"sequential peak {count_text(c.peak_elements)} elements = {bytes_text(bytes_of(c.peak_elements, dtype))}{peak_at}",
        f"parameters ({dtype}): {count_text(c.params)} = {bytes_text(bytes_of(c.params, dtype))}; "
        f"buffers {count_text(c.buffers)} = {bytes_text(bytes_of(c.buffers, dtype))}",
    ]
    if fields and fields[-1].axes:
        size, stride, pad = field_cells(fields[-1])
        notes.append(f"receptive field at the output: {size} (stride {stride}, padding {pad}); {BOUND_NOTE}")
    for f in fields:
        notes.extend(f"warning: {w}" for w in f.warnings)
    return (*notes, *condition_notes(e.conditions))

