"""An evaluated Ultralytics model file summed per row of its YAML, as Ultralytics prints it.

Every row of the evaluation belongs to the YAML row its module name starts with (`8.m.0.cv1.conv`
is row 8's: spec.ultralytics names the calls by row index). Per row: parameters, MACs, THOP's
operations (cnncalc.layers.thop) and the row's output; in total: parameters, those trained
(requires_grad: all but the frozen kinds', DFL's), MACs and Ultralytics' GFLOPs,
2 * THOP's operations / 1e9.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cnncalc import arith
from cnncalc.analysis.results import Evaluation
from cnncalc.layers.thop import thop_ops


class YoloRowResult(NamedTuple):
    number: int  # the row's index in backbone + head
    source: str
    repeats: int
    params: Any
    module: str
    args: str
    output: tuple[Any, ...]  # per sample, as the tables show shapes
    macs: Any
    thop: Any


class YoloSummary(NamedTuple):
    name: str
    scale: str
    depth: float
    width: float
    max_channels: float
    imgsz: int
    task: str
    rows: tuple[YoloRowResult, ...]
    params: Any
    trainable: Any
    macs: Any
    thop: Any  # THOP's operation count (Ultralytics' GFLOPs = 2 * thop / 1e9)
    levels: tuple[tuple[Any, ...], ...]  # a head's levels: the outputs of its box and class branches (cv2, cv3)

    @property
    def gflops(self) -> Any:
        """Ultralytics' GFLOPs: 2 * THOP's count / 1e9 (a fraction, exact)."""
        return arith.true_div(arith.mul(2, self.thop), 1_000_000_000)


def summarise(evaluation: Evaluation, info: Any) -> YoloSummary:
    """`evaluation` (of a spec read from an Ultralytics model file, `info` its YoloInfo) per row."""
    by_row: dict[str, list[int]] = {}
    for k, row in enumerate(evaluation.rows):
        by_row.setdefault(row.module.split(".", 1)[0], []).append(k)
    results = []
    all_ops: list[Any] = []
    levels: dict[str, tuple[Any, ...]] = {}
    for yolo in info.rows:
        indices = by_row.get(str(yolo.number), [])
        rows = [evaluation.rows[k] for k in indices]
        ops = [thop_ops(r.type, dict(r.args), r.inputs, r.output, r.macs) for r in rows]
        all_ops += ops
        for r in rows:
            parts = r.module.split(".")
            if len(parts) >= 3 and parts[1] in ("cv2", "cv3") and parts[2].isdigit():
                levels[f"{parts[1]}.{parts[2]}"] = evaluation.shown(r.output)  # the branch's last row: its output
        output = evaluation.shown(rows[-1].output) if rows else ()
        results.append(YoloRowResult(
            yolo.number, yolo.source, yolo.repeats, arith.total([r.params for r in rows]), yolo.module, yolo.args, output,
            arith.total([r.macs for r in rows]), arith.total(ops),
        ))  # fmt: skip
    count = len({key.split(".")[1] for key in levels})
    head_levels = tuple((levels[f"cv2.{i}"], levels[f"cv3.{i}"]) for i in range(count) if f"cv2.{i}" in levels and f"cv3.{i}" in levels)
    return YoloSummary(
        evaluation.name, info.scale, info.depth, info.width, info.max_channels, info.imgsz, info.task, tuple(results),
        evaluation.params, arith.sub(evaluation.params, evaluation.frozen), evaluation.macs, arith.total(all_ops), head_levels,
    )
