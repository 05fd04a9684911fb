"""Rendering of `cnncalc zoo`: the shipped specs with their totals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc import arith
from cnncalc.analysis.evaluate import shape_text
from cnncalc.render.cells import shape_json
from cnncalc.render.numbers import count_text
from cnncalc.render.report import Report, Table

if TYPE_CHECKING:
    from cnncalc.analysis.zoo import ZooEntry


def zoo_document(entries: list[ZooEntry]) -> list[dict[str, Any]]:
    """`cnncalc zoo --format json`: one object per shipped spec."""
    return [
        {
            "name": e.name,
            "title": e.title,
            "input": shape_json(e.input),
            "output": shape_json(e.output),
            "params": arith.as_json(e.params),
            "buffers": arith.as_json(e.buffers),
            "macs": arith.as_json(e.macs),
            "standalone_blocks": e.blocks,
        }
        for e in entries
    ]


def zoo_report(entries: list[ZooEntry]) -> Report:
    """`cnncalc zoo` as a table; blocks-only specs show their block count instead of totals."""
    rows = tuple(
        (
            e.name,
            shape_text(e.input),
            shape_text(e.output),
            count_text(e.params) if e.params is not None else f"({e.blocks} blocks)",
            count_text(e.macs) if e.macs is not None else "-",
        )
        for e in entries
    )
    return Report(
        (
            Table(
                "shipped specs (use the name as SPEC: cnncalc params resnet50)",
                ("name", "input", "output", "params", "MACs"),
                rows,
                (False, False, False, True, True),
            ),
        )
    )
