"""Segmentation specs written once, checked at two input sizes each against real PyTorch.

configs/unet.yaml (the paper's unpadded U-Net: skips center-cropped to the upsampled size, the
crop read from the nodes), configs/unet_padded.yaml (padded convs, the upsampled tensor padded to
the skip's size) and configs/deeplabv3_resnet50.yaml (the head resized to the input's size);
the reference is tests/data/segmentation_torch.json (tools/torch_reference.py --only
segmentation: torch 2.14.1, torchvision 0.29.1, fvcore 0.1.5): params, buffers, output shape,
every conv's shape, fvcore's conv MACs and its batch-norm, pool and upsample counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from cnncalc.analysis.cost import Cost, cost
from cnncalc.analysis.evaluate import Evaluation, evaluate_spec
from cnncalc.spec.zoo import load_spec

from .conftest import CONFIGS, ROOT

REFERENCE: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "segmentation_torch.json").read_text())
CASES = [(model, size) for model, entry in REFERENCE.items() if model != "_about" for size in entry["sizes"]]


def test_the_acceptance_sizes_are_recorded() -> None:
    assert set(CASES) == {
        ("unet", "572x572"), ("unet", "508x380"),
        ("unet_padded", "250x250"), ("unet_padded", "300x217"),
        ("deeplabv3_resnet50", "520x520"), ("deeplabv3_resnet50", "513x513"),
    }  # fmt: skip


@cache
def evaluated(model: str, size: str) -> tuple[Evaluation, Cost]:
    """The config at the input size `HxW`: one spec, its H and W set as --set sets them."""
    h, w = map(int, size.split("x"))
    (evaluation,) = evaluate_spec(load_spec(str(CONFIGS / f"{model}.yaml")), overrides={"H": h, "W": w})
    return evaluation, cost(evaluation)


def _pair(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (tuple, list)) else [value, value]


def our_convs(evaluation: Evaluation) -> Iterator[tuple[Any, ...]]:
    for row in evaluation.rows:
        if row.type in ("Conv2d", "ConvTranspose2d"):
            args = dict(row.args)
            yield (
                row.type, row.input[1], args["out_channels"], _pair(args["kernel_size"]), _pair(args["stride"]), _pair(args["padding"]),
                _pair(args["dilation"]), args["groups"], bool(args["bias"]), list(row.output),
            )


def torch_convs(record: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    for conv in record["convs"]:
        yield (
            conv["class"], conv["in_channels"], conv["out_channels"], conv["kernel_size"], conv["stride"], conv["padding"],
            conv["dilation"], conv["groups"], conv["bias"], conv["output_shape"],
        )


@pytest.mark.parametrize(("model", "size"), CASES)
class TestAgainstTorch:
    def test_input_and_output(self, model: str, size: str) -> None:
        evaluation, _ = evaluated(model, size)
        record = REFERENCE[model]["sizes"][size]
        assert list(evaluation.input) == record["input_shape"]
        assert list(evaluation.output) == record["output_shape"]

    def test_params_and_buffers(self, model: str, size: str) -> None:
        evaluation, _ = evaluated(model, size)
        record = REFERENCE[model]["sizes"][size]
        assert (evaluation.params, evaluation.bias, evaluation.buffers) == (record["total_params"], record["bias_params"], record["buffers"])

    def test_every_conv(self, model: str, size: str) -> None:
        evaluation, _ = evaluated(model, size)
        record = REFERENCE[model]["sizes"][size]
        assert list(our_convs(evaluation)) == list(torch_convs(record))
        assert len(record["convs"]) == record["conv_layers"]

    def test_macs_and_cheap_ops_equal_fvcore(self, model: str, size: str) -> None:
        evaluation, c = evaluated(model, size)
        fvcore = REFERENCE[model]["sizes"][size]["fvcore_by_operator"]
        assert (c.conv_macs, c.linear_macs, c.macs) == (fvcore["conv"], 0, fvcore["conv"])
        ops = dict(c.ops)
        assert ops["norm"] == fvcore.get("batch_norm", 0)
        assert ops["upsample"] == fvcore.get("upsample_bilinear2d", 0)
        adaptive = sum(rc.ops for r, rc in zip(evaluation.rows, c.rows) if r.type == "AdaptiveAvgPool2d")
        assert adaptive == fvcore.get("adaptive_avg_pool2d", 0)


def test_the_figures() -> None:
    """The headline numbers, for the record (torch's, from the reference file)."""
    unet, _ = evaluated("unet", "572x572")
    assert unet.params == 31_030_658 and unet.output == (1, 2, 388, 388)
    padded, _ = evaluated("unet_padded", "250x250")
    assert padded.params == 31_037_698 and padded.output == (1, 2, 250, 250)
    deeplab, c = evaluated("deeplabv3_resnet50", "513x513")
    assert deeplab.params == 39_638_869 and deeplab.output == (1, 21, 513, 513)
    assert c.conv_macs == 168_652_962_240


def test_the_crops_follow_the_input_size() -> None:
    """The classic U-Net's skip crops are computed from the nodes: 4/16/40/88 pixels at 572."""
    for size, crops in (("572x572", [(64, 56), (136, 104), (280, 200), (568, 392)]), ("508x380", [(56, 48), (120, 88), (248, 168), (504, 328)])):
        evaluation, _ = evaluated("unet", size)
        rows = [row for row in evaluation.rows if row.type == "CenterCrop"]
        assert [(row.input[2], row.output[2]) for row in rows] == crops


def test_the_padded_unet_pads_where_16_does_not_divide() -> None:
    evaluation, _ = evaluated("unet_padded", "250x250")
    rows = [row for row in evaluation.rows if row.type == "PadTo"]
    assert [(row.input[2:], row.output[2:]) for row in rows] == [((30, 30), (31, 31)), ((62, 62), (62, 62)), ((124, 124), (125, 125)), ((250, 250), (250, 250))]


def test_a_symbolic_input_size() -> None:
    """Without --set the spec still reads H and W as the vars' defaults; with H and W free
    (input: [3, H, W] and no vars) the crops and pads hold symbolic sizes."""
    from cnncalc.spec import Limits, load_text

    text = (CONFIGS / "unet_padded.yaml").read_text().replace("vars: {H: 250, W: 250}\n", "")
    (evaluation,) = evaluate_spec(load_text(text, "unet_padded.yaml", Limits()))
    assert [str(d) for d in evaluation.output[2:]] == ["H", "W"]
