"""`--depth N`: every block call at depth N-1 folded into one row (torchinfo's `depth`).

Depth counts block nesting as torchinfo does: the entries of the spec's `layers:` list are at
depth 1 (`Row.depth` 0), those of a block called there at depth 2, and so on. `--depth 1` shows
the top-level list with each block call as one row (the block's input, output and summed counts, named by its module and typed by its
template); `--depth 2` opens those calls one level; rows above depth N stay as they are. Every
row of the evaluation lands in exactly one folded row, so the totals stay the same. Folding is
a view of an evaluation: cost, memory and receptive fields are computed on the full rows and
then folded (`fold_costs`, `fold_fields`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc import arith
from cnncalc.analysis.results import Evaluation, Row, Span, totals
from cnncalc.spec.model import new_tuple

if TYPE_CHECKING:  # imported where used: shape and params need neither
    from cnncalc.analysis.cost import RowCost
    from cnncalc.analysis.receptive import RowField

Ranges = tuple[tuple[int, int], ...]  # per folded row: the rows [start, stop) of the full evaluation it stands for


def fold(evaluation: Evaluation, depth: int) -> tuple[Evaluation, Ranges]:
    """The evaluation with each block call at depth `depth` - 1 as one row, and per row the
    range of the evaluation's rows it stands for. The folded rows' sources are renumbered;
    the spans of shallower calls are kept, renumbered too."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    rows = evaluation.rows
    cuts = sorted((s for s in evaluation.spans if s.depth == depth - 1), key=lambda s: (s.start, s.stop))
    if not cuts:
        return evaluation, tuple((i, i + 1) for i in range(len(rows)))
    index: list[int] = [0] * len(rows)  # a row's folded row

    def moved(source: int) -> int:
        return source if source < 0 else index[source]

    out: list[Row] = []
    ranges: list[tuple[int, int]] = []
    i = k = 0
    while i < len(rows) or k < len(cuts):
        if k < len(cuts) and cuts[k].start <= i:
            span = cuts[k]
            k += 1
            members = rows[span.start : span.stop]
            for j in range(span.start, span.stop):
                index[j] = len(out)
            out.append(folded_row(span, members, depth - 1, moved(span.source)))
            ranges.append((span.start, span.stop))
            i = max(i, span.stop)
            continue
        row = rows[i]
        index[i] = len(out)
        out.append(row._replace(sources=tuple(map(moved, row.sources))) if any(s >= 0 for s in row.sources) else row)
        ranges.append((i, i + 1))
        i += 1
    spans = tuple(
        s._replace(
            start=index[s.start] if s.start < len(rows) else len(out),
            stop=index[s.stop - 1] + 1 if s.stop > s.start else index[s.start],
            source=moved(s.source),
        )
        for s in evaluation.spans
        if s.depth < depth - 1 and s.start < len(rows)
    )
    return evaluation._replace(rows=tuple(out), spans=spans), tuple(ranges)


def folded_row(span: Span, members: tuple[Row, ...], depth: int, source: int) -> Row:
    """One block call's row: its path and module, its template as the type, its input and
    output, its rows' counts summed."""
    group = members[0].group if members else None
    return new_tuple(Row, (
        span.path, span.template, (span.input,), span.output, *totals(members), depth, group, (), (), (source,), span.copies, span.module,
    ))  # fmt: skip


def fold_costs(costs: tuple[RowCost, ...], ranges: Ranges) -> tuple[RowCost, ...]:
    """The rows' costs folded as `fold` folded the rows: MACs, cheap ops and output elements
    summed; the cheap-op kind kept where one kind makes them all, else "mixed"."""
    from cnncalc.analysis.cost import RowCost

    out = []
    for start, stop in ranges:
        if stop == start + 1:
            out.append(costs[start])
            continue
        members = costs[start:stop]
        kinds = {c.op_kind for c in members if c.op_kind is not None and arith.equal(c.ops, 0) is not True}
        kind = None if not kinds else kinds.pop() if len(kinds) == 1 else "mixed"
        out.append(
            RowCost(
                arith.total([c.macs for c in members]),
                arith.total([c.ops for c in members]),
                kind,
                arith.total([c.elements for c in members]),
            )
        )
    return tuple(out)


def fold_fields(fields: tuple[RowField, ...], ranges: Ranges) -> tuple[RowField, ...]:
    """The receptive field of each folded row: the field at the block's output (its last row's)."""
    from cnncalc.analysis.receptive import RowField

    none = RowField(None)
    return tuple(fields[stop - 1] if stop > start else none for start, stop in ranges)


def fold_all(evaluations: list[Evaluation], depth: int | None) -> list[Evaluation]:
    """`fold` of each evaluation (unchanged without a depth)."""
    return evaluations if depth is None else [fold(e, depth)[0] for e in evaluations]
