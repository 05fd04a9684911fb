"""THOP's operation count per layer kind (ultralytics-thop 2.2.3), as Ultralytics' GFLOPs use it.

Ultralytics prints `GFLOPs = 2 * thop.profile(model) / 1e9` at a 640 x 640 image (its
utils.torch_utils.get_flops in 8.4.190; the stride-sized proxy images it profiles extrapolate
exactly to the full image). THOP counts per module type, in eval mode:

- Conv and ConvTranspose: output (input) elements * C_in/groups * kernel, bias not counted: MACs;
- Linear: output elements * in_features: MACs; torch.matmul run outside a module: output
  elements * the contracted size: MACs (cnncalc's MatMul);
- BatchNorm (and the other norms): 2 per input element, 4 with affine parameters;
- AdaptiveAvgPool: one per pooled input (the windows summed over every axis) and one per output;
- Upsample: 0 for nearest, else 5, 11, 259 or 31 per output element (linear, bilinear,
  bicubic, trilinear); nn.Softmax modules 3 per element less one per row;
- nothing for the activations (SiLU, ReLU, Sigmoid: no rule), max pooling, Concat, views,
  additions and every function or tensor method (`x.softmax()`, `x.sigmoid()`,
  `F.avg_pool2d(x, ...)`: Ultralytics' modules call softmax, sigmoid and ADown's average pool
  this way, which cnncalc writes as its Softmax, Sigmoid and AvgPool2d kinds; so these count 0
  here).

DFL's 1x1 conv runs at inference (eval mode) and is counted: its MACs.
"""

from __future__ import annotations

from typing import Any

from cnncalc.arith import add, mul, product

_MACS = frozenset(("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Linear", "MatMul", "DFL"))
_NORMS = frozenset(("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "LayerNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"))
_UPSAMPLE = {"nearest": 0, "nearest-exact": 0, "linear": 5, "bilinear": 11, "bicubic": 259, "trilinear": 31}


def thop_ops(kind: str, args: dict[str, Any], inputs: tuple[Any, ...], output: tuple[Any, ...], macs: Any) -> Any:
    """The operations THOP counts for one evaluated layer (kind name, arguments, input shapes,
    output shape, and its MACs as cnncalc counts them)."""
    if kind in _MACS:
        return macs
    if kind in _NORMS:
        affine = args.get("affine", args.get("elementwise_affine", True))
        return mul(4 if affine else 2, product(inputs[0]))
    if kind.startswith("AdaptiveAvgPool"):
        windows = 1
        for size, out in zip(inputs[0], output):
            windows = mul(windows, size if size == out else sum(-(-(j + 1) * size // out) - j * size // out for j in range(out)))
        return add(windows, product(output))
    if kind == "Upsample":
        return mul(_UPSAMPLE.get(str(args.get("mode", "nearest")), 0), product(output))
    return 0
