"""An Ultralytics model file's rows as Ultralytics prints them (`from  n  params  module
arguments`) with cnncalc's output shape and MACs, its summary line, and the two FLOPs conventions."""

from __future__ import annotations

from typing import Any

from cnncalc import arith
from cnncalc.analysis.ultralytics import YoloSummary
from cnncalc.render.numbers import count_json, count_text
from cnncalc.render.report import Table


def ultralytics_gflops(summary: YoloSummary) -> float | None:
    """GFLOPs as Ultralytics computes them (get_flops: THOP's count / 1e9 * 2, a float); None when symbolic."""
    if not isinstance(summary.thop, int):
        return None
    return summary.thop / 1e9 * 2


def _multiple(value: float) -> str:
    return "inf" if value == float("inf") else repr(value)


def _title(summary: YoloSummary) -> str:
    scale = f"scale {summary.scale}: " if summary.scale else ""
    return (
        f"{summary.name}: Ultralytics rows ({scale}depth {_multiple(summary.depth)}, width {_multiple(summary.width)}, "
        f"max_channels {_multiple(summary.max_channels)}; input 3x{summary.imgsz}x{summary.imgsz})"
    )


def summary_line(summary: YoloSummary) -> str:
    """Ultralytics' own summary line (model.info()), without its count of leaf modules."""
    gflops = ultralytics_gflops(summary)
    name = summary.name.replace("yolo", "YOLO")
    flops = f", {gflops:.1f} GFLOPs" if gflops else ""
    return f"{name} summary: {count_text(summary.params)} parameters, {count_text(summary.trainable)} gradients{flops}"


def flops_note(summary: YoloSummary) -> str:
    """The two conventions side by side, exactly."""
    flops = arith.mul(2, summary.macs)
    gflops = ultralytics_gflops(summary)
    return (
        f"cnncalc: MACs {count_text(summary.macs)}, FLOPs = 2 x MACs = {count_text(flops)}; Ultralytics: GFLOPs = 2 x THOP ops / 1e9"
        f" = 2 x {count_text(summary.thop)} / 1e9" + (f" = {gflops:.4f}" if gflops is not None else "")
        + " (THOP ops = MACs + 4 per BatchNorm element + pooled inputs and outputs of adaptive pools; docs/ultralytics.md)"
    )


def levels_note(summary: YoloSummary) -> str:
    return "head levels (box cv2, class cv3 outputs): " + "; ".join(
        f"{arith.shape_text(box)} and {arith.shape_text(cls)}" for box, cls in summary.levels
    )


def ultralytics_table(summary: YoloSummary) -> Table:
    rows = tuple(
        (str(r.number), r.source, str(r.repeats), count_text(r.params), r.module, r.args, arith.shape_text(r.output), count_text(r.macs))
        for r in summary.rows
    )
    notes = [summary_line(summary), flops_note(summary)]
    if summary.trainable != summary.params:
        notes.append(f"gradients: the parameters trained; {count_text(arith.sub(summary.params, summary.trainable))} are not (DFL's fixed conv, requires_grad=False)")
    if summary.levels:
        notes.append(levels_note(summary))
    return Table(
        _title(summary), ("", "from", "n", "params", "module", "arguments", "output", "MACs"), rows,
        (True, True, True, True, False, False, False, True), tuple(notes), spec=summary.name,
    )


def ultralytics_document(summary: YoloSummary) -> dict[str, Any]:
    """The JSON form (`ultralytics` key of params' document)."""
    gflops = ultralytics_gflops(summary)
    return {
        "scale": summary.scale,
        "depth_multiple": summary.depth,
        "width_multiple": summary.width,
        "max_channels": None if summary.max_channels == float("inf") else summary.max_channels,
        "imgsz": summary.imgsz,
        "task": summary.task,
        "rows": [
            {
                "index": r.number, "from": r.source, "n": r.repeats, "params": count_json(r.params), "module": r.module,
                "arguments": r.args, "output": [count_json(d) for d in r.output], "macs": count_json(r.macs), "thop_ops": count_json(r.thop),
            }
            for r in summary.rows
        ],
        "params": count_json(summary.params),
        "trainable": count_json(summary.trainable),
        "macs": count_json(summary.macs),
        "flops": count_json(arith.mul(2, summary.macs)),
        "thop_ops": count_json(summary.thop),
        "gflops": gflops,
        "head_levels": [[[count_json(d) for d in box], [count_json(d) for d in cls]] for box, cls in summary.levels],
    }
