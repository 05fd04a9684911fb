"""Training memory (`cost --train`): the saved-activation bytes (and, under autocast, the
16-bit weight copies) equal torch's recorded figures (tests/data/train_memory_torch.json,
tools/torch_reference.py --only train) for every shipped torchvision config, the segmentation
configs, small layer sequences and merges, in float32, 16-bit and mixed precision; what cnncalc
refuses; weights, gradients and optimizer state; the symbolic batch; --explain; the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import arith
from cnncalc.analysis.evaluate import evaluate_inline, evaluate_spec
from cnncalc.analysis.train import OPTIMIZER_STATES, train_memory, train_total
from cnncalc.cli import main
from cnncalc.cli_options import OPTIMIZERS
from cnncalc.errors import SpecError
from cnncalc.layers import KINDS
from cnncalc.spec.model import Arg
from cnncalc.spec.zoo import load_spec

ROOT = Path(__file__).resolve().parent.parent
DATA = json.loads((ROOT / "tests" / "data" / "train_memory_torch.json").read_text())
# The segmentation configs were measured at another input size than the one they ship with.
SIZED = {"unet", "unet_padded", "deeplabv3_resnet50"}
TORCHVISION = {
    "alexnet", "vgg11", "vgg16", "vgg16_bn", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
    "wide_resnet50_2", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "densenet121", "squeezenet1_0", "squeezenet1_1",
    "shufflenet_v2_x1_0", "googlenet", "inception_v3", "efficientnet_b0", "mnasnet1_0", "regnet_y_400mf", "convnext_tiny",
}


def _model(name: str, batch: Any, size: list[int] | None = None) -> Any:
    spec = load_spec(str(ROOT / "configs" / f"{name}.yaml"))
    overrides = {"H": size[1], "W": size[2]} if size and name in SIZED else None
    return evaluate_spec(spec._replace(batch=Arg(batch, spec.position)), overrides=overrides)[0]


def _call(kind: str, kwargs: dict[str, Any]) -> str:
    return f"{kind}(" + ", ".join(f"{k}={tuple(v) if isinstance(v, list) else v!r}" for k, v in kwargs.items()) + ")"


def _precision(record: dict[str, Any]) -> dict[str, Any]:
    return {"dtype": record["dtype"], "mixed": record["mixed"]}


def _id(record: dict[str, Any]) -> str:
    mode = "-amp" if record["mixed"] else ""
    return f"{record.get('model') or record['name']}-b{record['batch']}-{record['dtype']}{mode}"


def _check(memory: Any, record: dict[str, Any]) -> None:
    assert (memory.activations, memory.weight_casts) == (record["saved_bytes"], record["weight_cast_bytes"])


def test_reference_covers_the_acceptance_models() -> None:
    measured = {(m["model"], m["batch"], m["dtype"], m["mixed"]) for m in DATA["models"]}
    assert measured >= {(m, b, "float32", False) for m in ("resnet18", "resnet50", "mobilenet_v2", "vgg16") for b in (1, 8)}
    assert measured >= {(m, b, "float32", False) for m in TORCHVISION for b in (1, 8)}  # every shipped torchvision config
    precision = ("resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "convnext_tiny")
    assert measured >= {(m, b, d, x) for m in precision for b in (1, 8) for d in ("bfloat16", "float16") for x in (False, True)}
    assert {m["model"] for m in DATA["models"]} >= SIZED
    assert "2.14.1" in DATA["meta"]["source"]


def test_every_shipped_config_is_modelled() -> None:
    """`cost --train` works on every shipped config: no kind left unmodelled."""
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        for evaluation in evaluate_spec(load_spec(str(path))):
            assert train_memory(evaluation).total is not None


@pytest.mark.parametrize("record", DATA["models"], ids=_id)
def test_models_match_torch(record: dict[str, Any]) -> None:
    _check(train_memory(_model(record["model"], record["batch"], record["input"]), **_precision(record)), record)


# A Linear or reshape on a permuted view: PyTorch views or copies it depending on the batch
# (permute_relu_linear saves 3,248 B at batch 1 but 10,592 B at batch 2), so cnncalc refuses it.
REFUSED = {"permute_linear", "permute_relu_linear", "permute_flatten_linear", "transpose_reshape_linear"}


@pytest.mark.parametrize("record", [r for r in DATA["cases"] if r["name"] not in REFUSED], ids=_id)
def test_layer_cases_match_torch(record: dict[str, Any]) -> None:
    evaluation = evaluate_inline([_call(t, kw) for t, kw in record["layers"]], (record["batch"], *record["input"]))
    _check(train_memory(evaluation, **_precision(record)), record)


@pytest.mark.parametrize("record", [r for r in DATA["cases"] if r["name"] in REFUSED], ids=_id)
def test_layouts_that_depend_on_the_batch_are_refused(record: dict[str, Any]) -> None:
    evaluation = evaluate_inline([_call(t, kw) for t, kw in record["layers"]], (record["batch"], *record["input"]))
    with pytest.raises(SpecError, match=r"not modelled for (Linear|Flatten|Reshape) \(layer layer\[\d\].*not contiguous"):
        train_memory(evaluation, **_precision(record))


def test_kinds_cover_every_activation_and_dimension() -> None:
    """Every kind states its saves; the recorded cases cover each family's 1-D/2-D/3-D forms."""
    assert all(kind.saves is not None and kind.saves_doc for kind in KINDS.values())
    measured = {t for r in DATA["cases"] for t, _ in r["layers"]} | {t for r in DATA["merge_cases"] for t, _ in [*r["pre"], *r["branch"], r["merge"]]}
    assert measured >= set(KINDS) - {"ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad3d", "ReplicationPad1d", "CircularPad1d", "CircularPad3d"}


def _merge_spec(record: dict[str, Any]) -> str:
    """y0 = pre(x), y = branch(y0), merge(y, y0): the branch and the merge (`from: input`) in a block."""
    def entries(layers: list[Any], indent: str) -> str:
        return "".join(f"{indent}- {kind}: {json.dumps(kwargs)}\n" for kind, kwargs in layers)

    kind, kwargs = record["merge"]
    merge = [[kind, {**kwargs, "from": "input"}]]
    return (
        f"name: t\ninput: {json.dumps(record['input'])}\nblocks:\n  b:\n    layers:\n{entries(record['branch'] + merge, '      ')}"
        f"layers:\n{entries(record['pre'], '  ')}  - b\n"
    )


@pytest.mark.parametrize("record", DATA["merge_cases"], ids=_id)
def test_merge_cases_match_torch(record: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(_merge_spec(record))
    spec = load_spec(str(path))
    evaluation = evaluate_spec(spec._replace(batch=Arg(record["batch"], spec.position)))[0]
    _check(train_memory(evaluation, **_precision(record)), record)


def test_symbolic_batch_is_exact_at_every_recorded_batch() -> None:
    symbol = arith.symbol("B")
    evaluation = _model("resnet18", symbol)
    records = [r for r in DATA["models"] if r["model"] == "resnet18"]
    assert len(records) == 10  # batch 1 and 8 in float32, bfloat16, float16, and both under autocast
    for record in records:
        memory = train_memory(evaluation, **_precision(record))
        assert arith.substitute(memory.activations, {symbol: record["batch"]}) == record["saved_bytes"]
        assert memory.weight_casts == record["weight_cast_bytes"]  # no batch in it


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


_SYMBOLIC: dict[tuple[str, str, bool], Any] = {}


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(["mobilenet_v3_small", "convnext_tiny", "shufflenet_v2_x1_0"]),
    st.sampled_from([("float32", False), ("bfloat16", False), ("float16", True)]),
    st.integers(1, 64),
)
def test_symbolic_batch_equals_the_number_at_any_batch(name: str, precision: tuple[str, bool], batch: int) -> None:
    """The batch as a symbol gives, at every batch, what the batch as a number gives (saved
    bytes and weight casts), and the saved bytes are affine in the batch."""
    dtype, mixed = precision
    if name == "shufflenet_v2_x1_0" and mixed:
        mixed = False
    key = (name, dtype, mixed)
    symbol = arith.symbol("B")
    if key not in _SYMBOLIC:
        _SYMBOLIC[key] = train_memory(_model(name, symbol), dtype=dtype, mixed=mixed)
    symbolic = _SYMBOLIC[key]
    numeric = train_memory(_model(name, batch), dtype=dtype, mixed=mixed)
    assert arith.substitute(symbolic.total, {symbol: batch}) == numeric.total
    assert arith.substitute(symbolic.activations, {symbol: batch}) == numeric.activations
    one = arith.substitute(symbolic.activations, {symbol: 1})
    two = arith.substitute(symbolic.activations, {symbol: 2})
    assert numeric.activations == one + (batch - 1) * (two - one)


def test_train_total_is_the_exact_total() -> None:
    """Contract 1 (solve's `train_memory` metric): an int, or exact in the batch symbol."""
    assert train_total(_model("resnet18", 8), "adam", "float32", False) == train_memory(_model("resnet18", 8), optimizer="adam").total
    symbol = arith.symbol("B")
    total = train_total(_model("resnet18", symbol), "sgd", "float32", False)
    assert arith.substitute(total, {symbol: 8}) == train_memory(_model("resnet18", 8)).total


def test_per_row_bytes_sum_to_the_total() -> None:
    t = train_memory(_model("mobilenet_v2", 8))
    assert sum(r.saved_bytes for r in t.rows) == t.activations


@pytest.mark.parametrize(
    ("calls", "mixed", "message"),
    [
        (["Conv2d(3, 4, 3)", "Mish()"], True, r"not modelled for Mish \(layer layer\[1\], module 1\): its saved tensors under autocast"),
        (["Conv2d(3, 4, 3)", "BatchNorm2d(4, track_running_stats=False)"], True, "track_running_stats"),
        (["Conv2d(3, 4, 3)", "InstanceNorm2d(4)"], True, "InstanceNorm2d.*autocast"),
        (["Conv2d(3, 4, 3)", "ReflectionPad2d(1)"], True, "ReflectionPad2d.*autocast"),
        (["Conv2d(3, 4, 3)", "Upsample(scale_factor=2, mode='bicubic')"], True, "mode 'bicubic'"),
        (["Conv2d(3, 4, 3, padding=1, padding_mode='reflect')"], False, "padding_mode"),
        (["Conv2d(3, 4, 3)", "MaxPool2d(2, return_indices=True)"], False, "return_indices"),
        (["Conv2d(3, 4, 3)", "Dropout(p=1.0)"], False, "0 <= p < 1"),
        (["Conv2d(3, 4, 3)", "Interpolate(scale_factor=2, mode='bilinear', antialias=True)"], False, "antialias"),
        (["Conv2d(3, 4, 3)", "CenterCrop(10)"], False, "larger than the image"),
        (["Conv2d(3, 4, 3)", "Permute(dims=(0, 2, 3, 1))", "Flatten()"], False, r"Flatten \(layer layer\[2\].*not contiguous"),
    ],
)
def test_unmodelled_settings_are_located_errors(calls: list[str], mixed: bool, message: str) -> None:
    evaluation = evaluate_inline(calls, (2, 3, 8, 8))
    with pytest.raises(SpecError, match=message):
        train_memory(evaluation, dtype="bfloat16" if mixed else "float32", mixed=mixed)


def test_mixed_needs_a_16_bit_dtype() -> None:
    with pytest.raises(SpecError, match="16-bit"):
        train_memory(_model("resnet18", 1), dtype="float32", mixed=True)


def test_mixed_keeps_float32_weights_gradients_and_state() -> None:
    """torch AMP: float32 master weights, float32 gradients and optimizer state; the 16-bit
    weight copies autocast saves are their own line, in the total."""
    t = train_memory(_model("resnet18", 8), optimizer="adam", dtype="bfloat16", mixed=True)
    assert t.weights == t.gradients == 11_689_512 * 4 and t.optimizer_state == 2 * t.weights
    assert t.total == 4 * t.weights + t.activations + t.weight_casts
    assert t.master_dtype == "float32" and train_memory(_model("resnet18", 8), dtype="bfloat16").master_dtype == "bfloat16"


def test_explain_steps_add_up() -> None:
    t = train_memory(_model("mobilenet_v2", 2), optimizer="momentum", dtype="bfloat16", mixed=True, explain=True)
    assert all(r.steps and r.steps[0].result == r.saved_bytes for r in t.rows)
    assert [s.lhs for s in t.steps] == ["weights", "gradients", "optimizer state", "saved activations", "weight casts", "total"]
    assert t.steps[-1].result == t.total and t.steps[3].result == sum(r.saved_bytes for r in t.rows)


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
        ["--mixed", "--dtype", "bfloat16"],  # needs --train
        ["--train", "--mixed"],  # float32 is not a mixed dtype
        ["--train", "--dtype", "int8"],
    ],
)
def test_cli_bad_options(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["cost", str(ROOT / "configs" / "resnet18.yaml"), *args])
    assert result.exit_code == 2, result.output


def test_cli_unmodelled_kind() -> None:
    result = CliRunner().invoke(main, ["cost", "--input", "2,3,8,8", "Conv2d(3, 4, 3)", "Mish()", "--train", "--dtype", "bfloat16", "--mixed"])
    assert result.exit_code == 2
    assert "not modelled for Mish (layer layer[1], module 1)" in result.output and "Traceback" not in result.output


def test_cli_mixed_table_and_json() -> None:
    args = ["cost", str(ROOT / "configs" / "resnet18.yaml"), "--train", "--dtype", "bfloat16", "--mixed", "--batch", "8"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "train memory (mixed bfloat16 (autocast), float32 weights, sgd)" in result.output
    assert "saved activations 95,218,688 B" in result.output and "weight casts (bfloat16) 23,357,824 B" in result.output
    document = json.loads(CliRunner().invoke(main, [*args, "-f", "json"]).output)
    train = document["networks"][0]["train_memory"]
    assert (train["dtype"], train["mixed"], train["master_dtype"]) == ("bfloat16", True, "float32")
    assert (train["saved_activation_bytes"], train["weight_cast_bytes"]) == (95_218_688, 23_357_824)
    assert train["total_bytes"] == 2 * train["weight_bytes"] + 95_218_688 + 23_357_824
    assert sum(layer["weight_cast_bytes"] for layer in document["layers"]) == 23_357_824


def test_cli_explain_shows_the_working() -> None:
    result = CliRunner().invoke(main, ["cost", "--input", "2,3,10,10", "Conv2d(3, 8, 3)", "BatchNorm2d(8)", "ReLU(inplace=True)", "--train", "--explain"])
    assert result.exit_code == 0, result.output
    assert "saved (train) = input = 600*4 = 2,400 B" in result.output
    assert "saved (train) = input + new tensor = 1,024*4 + 32*4 = 4,224 B" in result.output
    assert "training memory of inline" in result.output
    assert "total = weights + gradients + optimizer state + saved activations = " in result.output
    document = json.loads(CliRunner().invoke(main, ["cost", "--input", "2,3,10,10", "Conv2d(3, 8, 3)", "--train", "--explain", "-f", "json"]).output)
    assert any(s.startswith("saved (train) = input = 600*4") for s in document["layers"][0]["steps"])
    assert document["layers"][0]["saves"].startswith("input")


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
