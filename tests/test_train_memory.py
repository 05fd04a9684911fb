"""Training memory (`cost --train`): the saved-activation bytes equal torch's recorded figure
(tests/data/train_memory_torch.json, tools/torch_reference.py --only train) for whole torchvision
models and small layer sequences; weights, gradients and optimizer state; the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc import arith
from cnncalc.analysis.evaluate import evaluate_inline, evaluate_spec
from cnncalc.analysis.train import OPTIMIZER_STATES, train_memory, train_total
from cnncalc.cli import main
from cnncalc.cli_options import OPTIMIZERS
from cnncalc.errors import SpecError
from cnncalc.spec.model import Arg
from cnncalc.spec.zoo import load_spec

ROOT = Path(__file__).resolve().parent.parent
DATA = json.loads((ROOT / "tests" / "data" / "train_memory_torch.json").read_text())


def _model(name: str, batch: Any) -> Any:
    spec = load_spec(str(ROOT / "configs" / f"{name}.yaml"))
    return evaluate_spec(spec._replace(batch=Arg(batch, spec.position)))[0]


def _call(kind: str, kwargs: dict[str, Any]) -> str:
    return f"{kind}(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"


def test_reference_covers_the_acceptance_models() -> None:
    assert {(m["model"], m["batch"]) for m in DATA["models"]} >= {
        (m, b) for m in ("resnet18", "resnet50", "mobilenet_v2", "vgg16") for b in (1, 8)
    }
    assert "2.14.1" in DATA["meta"]["source"]


@pytest.mark.parametrize("record", DATA["models"], ids=lambda r: f"{r['model']}-b{r['batch']}")
def test_models_match_torch(record: dict[str, Any]) -> None:
    assert train_memory(_model(record["model"], record["batch"])).activations == record["saved_bytes"]


@pytest.mark.parametrize("record", DATA["cases"], ids=lambda r: f"{r['name']}-b{r['batch']}")
def test_layer_cases_match_torch(record: dict[str, Any]) -> None:
    evaluation = evaluate_inline([_call(t, kw) for t, kw in record["layers"]], (record["batch"], *record["input"]))
    assert train_memory(evaluation).activations == record["saved_bytes"]


def test_symbolic_batch_is_exact_at_every_recorded_batch() -> None:
    symbol = arith.symbol("B")
    saved = train_memory(_model("resnet18", symbol)).activations
    for record in DATA["models"]:
        if record["model"] == "resnet18":
            assert arith.substitute(saved, {symbol: record["batch"]}) == record["saved_bytes"]


def test_weights_gradients_and_optimizer_state() -> None:
    evaluation = _model("resnet18", 1)
    assert set(OPTIMIZERS) == set(OPTIMIZER_STATES)
    for optimizer, buffers in (("sgd", 0), ("momentum", 1), ("adam", 2), ("adamw", 2)):
        t = train_memory(evaluation, optimizer=optimizer)
        assert t.weights == t.gradients == 11_689_512 * 4
        assert t.optimizer_state == buffers * 11_689_512 * 4
        assert t.total == t.weights * (2 + buffers) + t.activations
    half = train_memory(evaluation, dtype="bfloat16")
    assert half.weights == 11_689_512 * 2


def test_train_total_is_the_exact_total() -> None:
    """Contract 1 (solve's `train_memory` metric): an int, or exact in the batch symbol."""
    assert train_total(_model("resnet18", 8), "adam", "float32", False) == train_memory(_model("resnet18", 8), optimizer="adam").total
    symbol = arith.symbol("B")
    total = train_total(_model("resnet18", symbol), "sgd", "float32", False)
    assert arith.substitute(total, {symbol: 8}) == train_memory(_model("resnet18", 8)).total


def test_per_row_bytes_sum_to_the_total() -> None:
    t = train_memory(_model("mobilenet_v2", 8))
    assert sum(r.saved_bytes for r in t.rows) == t.activations


def test_unmodelled_kind_is_a_located_error() -> None:
    evaluation = evaluate_inline(["Conv2d(3, 4, 3)", "SiLU()"], (1, 3, 8, 8))
    with pytest.raises(SpecError, match=r"not modelled for SiLU \(layer"):
        train_memory(evaluation)


def test_unmodelled_setting_is_a_located_error() -> None:
    evaluation = evaluate_inline(["Conv2d(3, 4, 3)", "BatchNorm2d(4, track_running_stats=False)"], (2, 3, 8, 8))
    with pytest.raises(SpecError, match="track_running_stats"):
        train_memory(evaluation)


# ----------------------------------------------------------------------------- CLI


def test_cli_table() -> None:
    result = CliRunner().invoke(main, ["cost", str(ROOT / "configs" / "resnet18.yaml"), "--train", "--optimizer", "adam", "--batch", "8"])
    assert result.exit_code == 0, result.output
    assert "saved (train)" in result.output
    assert "saved activations 177,515,520 B" in result.output
    assert "optimizer state 93,516,096 B" in result.output
    assert "lower bound" in result.output


def test_cli_json() -> None:
    result = CliRunner().invoke(main, ["cost", str(ROOT / "configs" / "vgg16.yaml"), "--train", "--batch", "8", "-f", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    train = document["networks"][0]["train_memory"]
    assert train["saved_activation_bytes"] == 586_842_112
    assert train["optimizer"] == "sgd" and train["optimizer_bytes"] == 0 and train["lower_bound"] is True
    assert train["total_bytes"] == 2 * train["weight_bytes"] + 586_842_112
    assert sum(layer["saved_bytes"] for layer in document["layers"]) == 586_842_112


def test_cli_json_symbolic_batch() -> None:
    result = CliRunner().invoke(main, ["cost", str(ROOT / "configs" / "resnet18.yaml"), "--train", "--batch", "B", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["networks"][0]["train_memory"]["saved_activation_bytes"] == "22179840*B + 76800"


def test_cli_without_train_has_no_train_memory() -> None:
    result = CliRunner().invoke(main, ["cost", str(ROOT / "configs" / "resnet18.yaml"), "-f", "json"])
    assert result.exit_code == 0
    assert "train_memory" not in result.output and "saved_bytes" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--optimizer", "adam"],  # needs --train
        ["--train", "--optimizer", "rmsprop"],
        ["--train", "--batch", "0"],
        ["--train", "--batch", "2x"],
        ["--train", "--channels-last"],
    ],
)
def test_cli_bad_options(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["cost", str(ROOT / "configs" / "resnet18.yaml"), *args])
    assert result.exit_code == 2, result.output


def test_cli_unmodelled_kind() -> None:
    result = CliRunner().invoke(main, ["cost", str(ROOT / "configs" / "efficientnet_b0.yaml"), "--train"])
    assert result.exit_code == 2
    assert "not modelled for SiLU" in result.output


def test_cli_batch_with_layer_calls_is_refused() -> None:
    result = CliRunner().invoke(main, ["cost", "--input", "1,3,8,8", "Conv2d(3, 4, 3)", "--train", "--batch", "2"])
    assert result.exit_code == 2
    assert "--batch" in result.output


def test_standalone_block_input_needs_a_gradient(tmp_path: Path) -> None:
    """In a network the input needs no gradient (a first max-pool saves nothing); a block on its
    own sits inside a network, so its max-pool saves its input and int64 indices."""
    spec = tmp_path / "block.yaml"
    spec.write_text(
        "name: t\ninput: [4, 8, 8]\nblocks:\n  b:\n    layers:\n      - MaxPool2d: {kernel_size: 2}\n"
        "      - Conv2d: {out_channels: 4, kernel_size: 1}\nlayers:\n  - b\n"
    )
    loaded = load_spec(str(spec))
    assert train_memory(evaluate_spec(loaded)[0]).activations == 4 * 4 * 4 * 4  # the conv's input
    standalone = evaluate_spec(loaded, blocks=("b",))[0]
    assert train_memory(standalone).activations == 4 * 8 * 8 * 4 + 4 * 4 * 4 * 8 + 4 * 4 * 4 * 4
