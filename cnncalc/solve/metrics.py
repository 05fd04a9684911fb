"""The metrics `cnncalc solve` reads, taken from the existing analysis, built once, symbolically.

Each metric of an evaluation (the network, or one block evaluated on its own) is the value the
other commands print, as an exact int or a sympy expression in the free symbols:

| metric | from |
|---|---|
| params, params_no_bias, buffers, macs | the evaluation's totals (`params`, `cost`) |
| flops | 2 x macs |
| activations, activation_bytes | every layer's output elements, and their bytes at --dtype (`cost`) |
| peak, peak_bytes | the sequential peak of activation elements, and its bytes (`cost`) |
| train_memory | weights + gradients + optimizer state + saved activations, bytes (`cost --train`) |
| rf_h, rf_w | the receptive field of the output along height and width (`cost`) |
| out_c, out_h, out_w | the output's channels, height and width, per sample |

Only the metrics a constraint names are computed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cnncalc import arith
from cnncalc.analysis.evaluate import Evaluation
from cnncalc.errors import UsageError
from cnncalc.spec.expr import SOLVE_METRICS

_COST = {"activations", "activation_bytes", "peak", "peak_bytes"}


def metrics_of(evaluation: Evaluation, wanted: Iterable[str], *, dtype: str = "float32", optimizer: str = "sgd", mixed: bool = False) -> dict[str, Any]:
    """The wanted metrics of one evaluation, exact."""
    wanted = set(wanted)
    unknown = wanted - set(SOLVE_METRICS)
    assert not unknown, unknown
    out: dict[str, Any] = {}
    for name in ("params", "buffers", "macs"):
        if name in wanted:
            out[name] = getattr(evaluation, name)
    if "params_no_bias" in wanted:
        out["params_no_bias"] = evaluation.params_no_bias
    if "flops" in wanted:
        out["flops"] = arith.mul(2, evaluation.macs)
    if wanted & _COST:
        from cnncalc.analysis.cost import BYTES, cost

        c = cost(evaluation, dtype=dtype)
        out["activations"] = c.activation_elements
        out["activation_bytes"] = arith.mul(c.activation_elements, BYTES[dtype])
        out["peak"] = c.peak_elements
        out["peak_bytes"] = arith.mul(c.peak_elements, BYTES[dtype])
    if "train_memory" in wanted:
        from cnncalc.analysis.train import train_total

        out["train_memory"] = train_total(evaluation, optimizer, dtype, mixed)
    if wanted & {"rf_h", "rf_w"}:
        from cnncalc.analysis.receptive import receptive_fields

        fields = receptive_fields(evaluation)
        axes = fields[-1].axes if fields else None
        if axes is None or len(axes) < 2:
            raise UsageError(
                f"{evaluation.name} has no receptive field along height and width",
                expected="a network whose output keeps two spatial axes (rf_h, rf_w)",
                found=f"{len(axes) if axes else 0} spatial axes followed to the output",
            )
        out["rf_h"] = axes[-2].shown_size
        out["rf_w"] = axes[-1].shown_size
    if wanted & {"out_c", "out_h", "out_w"}:
        shape = evaluation.shown(evaluation.output)
        if len(shape) < 3:
            raise UsageError(
                f"{evaluation.name}'s output has no height and width",
                expected="an output [C, H, W] (out_c, out_h, out_w)",
                found=f"output {arith.shape_text(shape)}",
            )
        out["out_c"], out["out_h"], out["out_w"] = shape[-3], shape[-2], shape[-1]
    return {k: v for k, v in out.items() if k in wanted}
