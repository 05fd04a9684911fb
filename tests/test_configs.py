"""Shipped example configs that are not torchvision models, checked against torch-recorded figures."""

from __future__ import annotations

from cnncalc.analysis.evaluate import evaluate_spec
from cnncalc.spec.zoo import load_spec

from .conftest import CONFIGS

# Recorded with torch 2.14.1 (tools/torch_reference.py's venv) from the equivalent nn.Sequential:
# Conv2d(3,32,3,stride=2), Conv2d(32,32,3,padding='same',dilation=2), Conv2d(32,64,(1,5),padding=(0,2),groups=4),
# MaxPool2d(3,2,ceil_mode=True), AvgPool2d(2,2,padding=1,ceil_mode=True), Conv2d(64,64,3,padding=2,dilation=2),
# ConvTranspose2d(64,32,3,stride=2,padding=1,output_padding=1), Upsample(scale_factor=1.5), ZeroPad2d((1,0,2,0)),
# AdaptiveAvgPool2d((4,None)), Flatten(), Linear(3584,10) on a 1x3x65x65 input.
CONV_SHAPES_TORCH = [
    (32, 32, 32), (32, 32, 32), (64, 32, 32), (64, 16, 16), (64, 9, 9), (64, 9, 9),
    (32, 18, 18), (32, 27, 27), (32, 29, 28), (32, 4, 28), (3584,), (10,),
]
CONV_SHAPES_TORCH_PARAMS = 104010


def test_conv_shapes_example_matches_torch() -> None:
    (e,) = evaluate_spec(load_spec(str(CONFIGS / "conv_shapes.yaml")))
    assert [e.shown(r.output) for r in e.rows] == CONV_SHAPES_TORCH
    assert e.params == CONV_SHAPES_TORCH_PARAMS


def test_seed_config_is_designs_example() -> None:
    text = (CONFIGS / "resnet_block_bottleneck.yaml").read_text()
    assert "input: [64, 16, 16]" in text and "out_channels: k" in text
    plain, bottleneck = evaluate_spec(load_spec(str(CONFIGS / "resnet_block_bottleneck.yaml")))
    assert (plain.name, bottleneck.name) == ("plain", "bottleneck")
