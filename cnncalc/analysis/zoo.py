"""The `zoo` listing: every shipped spec, evaluated, with its input, output and totals."""

from __future__ import annotations

from typing import Any, NamedTuple

from cnncalc.analysis.evaluate import evaluate_spec
from cnncalc.layers import Shape
from cnncalc.spec import load_path
from cnncalc.spec.zoo import zoo_names


class ZooEntry(NamedTuple):
    """A shipped spec, evaluated: its name, title, input, output and totals."""

    name: str
    title: str
    input: Shape
    output: Shape
    params: Any  # None for a spec of blocks only (its blocks are counted in `blocks`)
    buffers: Any
    macs: Any
    blocks: int


def zoo_entries() -> list[ZooEntry]:
    """Every shipped spec, evaluated (a blocks-only spec counts its blocks' rows together)."""
    entries = []
    for name, path in zoo_names().items():
        spec = load_path(path)
        evaluations = evaluate_spec(spec)
        first, last = evaluations[0], evaluations[-1]
        entries.append(
            ZooEntry(
                name,
                spec.name,
                first.shown(first.input),
                last.shown(last.output),
                first.params if len(evaluations) == 1 else None,
                first.buffers if len(evaluations) == 1 else None,
                first.macs if len(evaluations) == 1 else None,
                len(evaluations) if spec.layers is None else 0,
            )
        )
    return entries
