"""The model zoo against real PyTorch: every configs/<name>.yaml whose name is a torchvision model.

The reference is tests/data/torchvision_zoo.json (torchvision with weights=None, batch 1): totals,
BatchNorm buffers, fvcore's MAC counts and every leaf module in forward order. A new config is
picked up automatically when its file name (with '-' read as '_') is a key of that file.
Models without a torchvision counterpart (LeNet-5, the seed problem) are checked against hand
arithmetic written out below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc.analysis.evaluate import Evaluation, Row, evaluate_spec
from cnncalc.cli import main
from cnncalc.spec.zoo import load_spec

from .conftest import CONFIGS, ROOT, SEED

REFERENCE: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "torchvision_zoo.json").read_text())


def _zoo_configs() -> dict[str, str]:
    """torchvision model name -> config file name, for every config that models one."""
    found = {}
    for path in sorted(CONFIGS.glob("*.yaml")):
        key = path.stem.replace("-", "_")
        if key in REFERENCE and key != "_about":
            found[key] = path.name
    return found


ZOO = _zoo_configs()
MODELS = sorted(ZOO)

# Models whose spec legitimately visits parallel branches in another order than torchvision's
# forward(); for these the conv/linear layers are compared as a multiset instead of a sequence.
# (None now: regnet's spec runs its projection first, as torchvision does, with shortcut_first.)
BRANCH_ORDER_DIFFERS: frozenset[str] = frozenset()


@cache
def evaluated(model: str) -> Evaluation:
    """The config's model, evaluated once per test session."""
    (evaluation,) = evaluate_spec(load_spec(str(CONFIGS / ZOO[model])))
    return evaluation


def _pair(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def our_convs(evaluation: Evaluation) -> Iterator[tuple[Any, ...]]:
    """(in, out, kernel, stride, groups, bias, output H x W) of each Conv2d row, in order."""
    for row in evaluation.rows:
        if row.type == "Conv2d":
            args = dict(row.args)
            yield (
                row.input[1], args["out_channels"], _pair(args["kernel_size"]), _pair(args["stride"]),
                args["groups"], bool(args["bias"]), tuple(row.output[2:]),
            )


def torch_convs(model: str) -> Iterator[tuple[Any, ...]]:
    """The same tuple for each Conv2d call of the torchvision model, in forward order."""
    for leaf in REFERENCE[model]["leaves"]:
        if leaf["class"] == "Conv2d":
            hp = leaf["hparams"]
            yield (
                hp["in_channels"], hp["out_channels"], tuple(hp["kernel_size"]), tuple(hp["stride"]),
                hp["groups"], hp["bias"], tuple(leaf["output_shape"][2:]),
            )


def our_linears(evaluation: Evaluation) -> Iterator[tuple[Any, ...]]:
    for row in evaluation.rows:
        if row.type == "Linear":
            args = dict(row.args)
            yield (row.input[-1], args["out_features"], bool(args["bias"]))


def torch_linears(model: str) -> Iterator[tuple[Any, ...]]:
    for leaf in REFERENCE[model]["leaves"]:
        if leaf["class"] == "Linear":
            hp = leaf["hparams"]
            yield (hp["in_features"], hp["out_features"], hp["bias"])


def _macs(rows: tuple[Row, ...], kind: str) -> int:
    return sum(row.macs for row in rows if row.type == kind)


def test_zoo_has_the_core_models() -> None:
    """Guards against the discovery silently finding nothing."""
    assert {"resnet18", "resnet50", "vgg16"} <= set(ZOO)


@pytest.mark.parametrize("model", MODELS)
class TestAgainstTorchvision:
    """Each config against the torchvision model it says it models."""

    def test_input_matches(self, model: str) -> None:
        evaluation = evaluated(model)
        assert list(evaluation.shown(evaluation.input)) == REFERENCE[model]["input_shape"][1:]

    def test_total_params(self, model: str) -> None:
        assert evaluated(model).params == REFERENCE[model]["total_params"]

    def test_bias_params(self, model: str) -> None:
        # torch counts every parameter named '*bias', BatchNorm's shift included, as ours does
        assert evaluated(model).bias == REFERENCE[model]["bias_params"]

    def test_buffers(self, model: str) -> None:
        # running mean + running var; torch's figure already excludes num_batches_tracked
        assert evaluated(model).buffers == REFERENCE[model]["buffers"]

    def test_output_shape(self, model: str) -> None:
        evaluation = evaluated(model)
        assert evaluation.shown(evaluation.output) == tuple(REFERENCE[model]["output_shape"][1:])

    def test_conv_layers(self, model: str) -> None:
        ours, theirs = list(our_convs(evaluated(model))), list(torch_convs(model))
        assert len(ours) == len(theirs) == REFERENCE[model]["conv_layers"]
        if model in BRANCH_ORDER_DIFFERS:
            assert sorted(ours, key=repr) == sorted(theirs, key=repr)
        else:
            assert ours == theirs

    def test_linear_layers(self, model: str) -> None:
        ours, theirs = list(our_linears(evaluated(model))), list(torch_linears(model))
        if model in BRANCH_ORDER_DIFFERS:
            assert sorted(ours) == sorted(theirs)
        else:
            assert ours == theirs

    def test_macs_match_fvcore(self, model: str) -> None:
        evaluation = evaluated(model)
        fvcore = REFERENCE[model]["fvcore_by_operator"]
        assert _macs(evaluation.rows, "Conv2d") == fvcore.get("conv", 0)
        assert _macs(evaluation.rows, "Linear") == fvcore.get("linear", 0)
        assert evaluation.macs == fvcore.get("conv", 0) + fvcore.get("linear", 0)


@pytest.mark.parametrize("model", ["resnet18", "resnet50", "vgg16"])
def test_cli_shape_json(runner: CliRunner, model: str) -> None:
    result = runner.invoke(main, ["shape", str(CONFIGS / f"{model}.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"] == [1000]


@pytest.mark.parametrize(
    ("model", "total"),
    [("resnet18", 11_689_512), ("resnet50", 25_557_032), ("vgg16", 138_357_544)],
)
def test_core_totals(model: str, total: int) -> None:
    """The acceptance figures, written out (the same numbers as torchvision's)."""
    assert evaluated(model).params == total == REFERENCE[model]["total_params"]


class TestLeNet5:
    """LeNet-5 on a 1x32x32 image: conv5-pool-conv5-pool-fc120-fc84-fc10, C5 as Linear(400, 120)."""

    @pytest.fixture(scope="class")
    @classmethod
    def lenet(cls) -> Evaluation:
        (evaluation,) = evaluate_spec(load_spec(str(CONFIGS / "lenet5.yaml")))
        return evaluation

    def test_total(self, lenet: Evaluation) -> None:
        c1 = 6 * 1 * 5 * 5 + 6  # 156: 6 maps of 5x5 over 1 channel, + 6 biases
        c3 = 16 * 6 * 5 * 5 + 16  # 2,416: 16 maps of 5x5 over 6 channels (full connection)
        c5 = 400 * 120 + 120  # 48,120: 16*5*5 = 400 features -> 120
        f6 = 120 * 84 + 84  # 10,164
        out = 84 * 10 + 10  # 850
        assert c1 + c3 + c5 + f6 + out == 61_706
        assert lenet.params == 61_706
        assert lenet.bias == 6 + 16 + 120 + 84 + 10
        assert lenet.buffers == 0

    def test_shapes(self, lenet: Evaluation) -> None:
        # 32 -5+1-> 28 -/2-> 14 -5+1-> 10 -/2-> 5; 16*5*5 = 400
        shapes = [lenet.shown(row.output) for row in lenet.rows if row.type in ("Conv2d", "AvgPool2d", "Flatten", "Linear")]
        assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (400,), (120,), (84,), (10,)]

    def test_macs(self, lenet: Evaluation) -> None:
        # conv MACs = output elements * (in channels * 5 * 5); linear MACs = in * out
        assert lenet.macs == 6 * 28 * 28 * 25 + 16 * 10 * 10 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10


def test_seed_plain_block() -> None:
    """DESIGN.md's seed problem: two 3x3 convs 64 -> 64 with biases."""
    (plain,) = evaluate_spec(load_spec(SEED), blocks=("plain",))
    assert plain.params == 2 * (64 * 64 * 9 + 64) == 73_856
    assert plain.params_no_bias == 2 * 64 * 64 * 9 == 73_728
    assert plain.shown(plain.output) == (64, 16, 16)
