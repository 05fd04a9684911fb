"""Ultralytics model YAMLs read directly (cnncalc.spec.ultralytics, the templates of
cnncalc/spec/ultralytics.yaml), checked against figures recorded from the ultralytics package
(tests/data/yolo/ultralytics_reference.json, tools/torch_reference.py --only yolo, ultralytics
8.4.190) for small models written for these tests in the same format (tests/data/yolo/*.yaml):
every row's parameters, total and trainable parameters, Ultralytics' GFLOPs, the head's inputs,
each level's branch outputs and the eval-mode output, at every scale and several image sizes;
the MatMul and DFL kinds; parse_model's rules (rounding, make_divisible, the scale); errors."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.analysis.evaluate import Evaluation, evaluate_inline, evaluate_spec
from cnncalc.analysis.ultralytics import YoloSummary, summarise
from cnncalc.cli import main
from cnncalc.errors import CnncalcError, UsageError
from cnncalc.render.ultralytics import ultralytics_gflops
from cnncalc.spec import Limits, load_text
from cnncalc.spec.ultralytics import _make_divisible, guess_scale, unified_path
from cnncalc.spec.zoo import load_path

DATA = Path(__file__).parent / "data" / "yolo"
REFERENCE = json.loads((DATA / "ultralytics_reference.json").read_text())
CASES = [(m, size) for m in REFERENCE["models"] for size in m["sizes"]]


def summary_of(path: Path | str, scale: str | None = None, imgsz: int | None = None) -> tuple[Evaluation, YoloSummary]:
    spec = load_path(str(path), Limits(scale=scale or None, imgsz=imgsz))
    (evaluation,) = evaluate_spec(spec)
    return evaluation, summarise(evaluation, spec.ultralytics)


def test_the_reference_covers_every_file_and_task() -> None:
    files = {p.name for p in DATA.glob("*.yaml")}
    assert {m["file"] for m in REFERENCE["models"]} == files
    assert {m["task"] for m in REFERENCE["models"]} == {"detect", "segment", "pose", "classify"}
    assert "ultralytics 8.4.190" in REFERENCE["meta"]["source"]
    assert len(CASES) >= 14


@pytest.mark.parametrize(("model", "size"), CASES, ids=[f"{m['file']}-{m['scale'] or '-'}-{s['imgsz']}" for m, s in CASES])
def test_equal_to_ultralytics(model: dict[str, Any], size: dict[str, Any]) -> None:
    evaluation, summary = summary_of(DATA / model["file"], model["scale"], size["imgsz"])
    assert [r.params for r in summary.rows] == [row["params"] for row in model["rows"]]
    assert [r.module for r in summary.rows] == [row["module"] for row in model["rows"]]
    assert summary.params == model["params"]
    assert summary.trainable == model["trainable"]
    assert summary.thop == size["thop_ops"]  # THOP at the full image
    if size["gflops"]:  # the same float: THOP's count / 1e9 * 2
        assert ultralytics_gflops(summary) == size["gflops"]
    else:  # get_flops makes its image with the first weight's input channels: 12 for a first Focus row, so it fails and Ultralytics prints none
        assert model["file"] == "tiny-more.yaml"
    first_output = size["eval_outputs"][0][1]
    assert list(evaluation.output) == first_output
    if model["task"] == "classify":
        return
    heads = [r for r in evaluation.rows if r.module.startswith(f"{len(model['rows']) - 1}.cv2.") and r.module.endswith(".0.conv")]
    assert [list(r.inputs[0]) for r in heads] == size["head_inputs"]
    assert [[[1, *box], [1, *cls]] for box, cls in summary.levels] == size["head_levels"]


@pytest.mark.parametrize("case", REFERENCE["matmul"], ids=lambda c: f"{c['a']}@{c['b']}")
def test_matmul_shapes_and_macs(case: dict[str, Any]) -> None:
    a, b = case["a"], case["b"]
    text = textwrap.dedent(f"""\
        name: mm
        input: [{math.prod(a) + math.prod(b)}]
        layers:
          - Narrow: {{dim: 1, start: 0, length: {math.prod(a)}}}
          - Reshape: {{shape: {a}, name: a}}
          - Narrow: {{dim: 1, start: {math.prod(a)}, length: {math.prod(b)}, from: input}}
          - Reshape: {{shape: {b}, name: b}}
          - MatMul: {{from: [a, b]}}
    """)
    (evaluation,) = evaluate_spec(load_text(text, "mm.yaml", Limits()))
    row = evaluation.rows[-1]
    assert list(row.output) == case["output_shape"]
    assert row.macs == math.prod(case["output_shape"]) * a[-1]


@pytest.mark.parametrize("case", REFERENCE["dfl"], ids=lambda c: f"c1={c['c1']}")
def test_dfl(case: dict[str, Any]) -> None:
    evaluation = evaluate_inline([f"DFL({case['c1']})"], tuple(case["input_shape"]))
    assert list(evaluation.output) == case["output_shape"]
    assert evaluation.params == case["params"]
    assert evaluation.params - evaluation.frozen == case["trainable"]


# -- parse_model's rules


def model(body: str, **header: Any) -> str:
    head = "".join(f"{k}: {v}\n" for k, v in header.items())
    return head + textwrap.dedent(body)


ROWS = """\
backbone:
  - [-1, 1, Conv, [35, 3, 2]]
  - [-1, {n}, C2f, [64, True]]
head:
  - [-1, 1, Classify, [nc]]
"""


@pytest.mark.parametrize(
    ("depth", "n", "repeats"),
    [(0.33, 3, 1), (0.5, 3, 2), (0.5, 5, 2), (0.5, 7, 4), (1.0, 1, 1), (0.33, 1, 1), (0.67, 6, 4), (0.1, 2, 1)],
)
def test_repeats_round_half_to_even(depth: float, n: int, repeats: int) -> None:
    text = model(ROWS.format(n=n), nc=3, depth_multiple=depth, width_multiple=1.0)
    (evaluation,) = evaluate_spec(load_text(text, "m.yaml", Limits(imgsz=64)))
    summary = summarise(evaluation, load_text(text, "m.yaml", Limits(imgsz=64)).ultralytics)
    assert summary.rows[1].repeats == repeats == max(round(n * depth), 1) if n > 1 else n
    assert summary.rows[1].args.startswith(f"[40, 64, {repeats}")


@pytest.mark.parametrize(("c2", "width", "channels"), [(35, 1.0, 40), (64, 0.25, 16), (100, 0.25, 32), (1024, 0.375, 384), (3, 1.0, 8)])
def test_make_divisible_rounds_up(c2: int, width: float, channels: int) -> None:
    text = model("backbone:\n  - [-1, 1, Conv, [%d, 3, 2]]\nhead:\n  - [-1, 1, Conv, [8, 1]]\n" % c2, width_multiple=width)
    (evaluation,) = evaluate_spec(load_text(text, "m.yaml", Limits(imgsz=32)))
    assert evaluation.rows[0].output[1] == channels


@given(st.floats(min_value=0.01, max_value=5000, allow_nan=False))
def test_make_divisible_is_the_least_multiple_of_8_at_least_x(x: float) -> None:
    value = _make_divisible(x, 8)
    assert value % 8 == 0 and value >= x and value - 8 < x


def test_max_channels_caps_before_the_width() -> None:
    text = model("backbone:\n  - [-1, 1, Conv, [1024, 3, 2]]\nhead:\n  - [-1, 1, Conv, [8, 1]]\n")
    text = "scales:\n  n: [1.0, 0.5, 256]\n" + text
    (evaluation,) = evaluate_spec(load_text(text, "m.yaml", Limits(imgsz=32)))
    assert evaluation.rows[0].output[1] == 128  # min(1024, 256) * 0.5


@pytest.mark.parametrize(
    ("path", "scale", "unified"),
    [
        ("yolov8n.yaml", "n", "yolov8.yaml"), ("cfg/yolo11s-cls.yaml", "s", "cfg/yolo11-cls.yaml"), ("yolov5nu.yaml", "n", "yolov5.yaml"),
        ("yolov8.yaml", "", "yolov8.yaml"), ("yoloe-11m.yaml", "m", "yoloe-11.yaml"), ("mynet.yaml", "", "mynet.yaml"),
    ],
)
def test_scale_from_the_file_name(path: str, scale: str, unified: str) -> None:
    assert guess_scale(path) == scale
    assert unified_path(path) == unified


def test_a_scaled_name_reads_the_unscaled_file(tmp_path: Path) -> None:
    (tmp_path / "yolo9.yaml").write_text((DATA / "tiny-det.yaml").read_text())
    spec = load_path(str(tmp_path / "yolo9s.yaml"))
    assert spec.ultralytics.scale == "s" and spec.name == "yolo9s"
    with pytest.raises(CnncalcError, match="no such file"):
        load_path(str(tmp_path / "yolo7s.yaml"))


def test_the_first_scale_without_a_name_or_option() -> None:
    _, summary = summary_of(DATA / "tiny-det.yaml")
    assert (summary.scale, summary.depth, summary.width, summary.max_channels) == ("n", 0.33, 0.25, 256)


def test_imgsz_and_input() -> None:
    evaluation, summary = summary_of(DATA / "tiny-det.yaml", "n", 320)
    assert evaluation.input == (1, 3, 320, 320) and summary.imgsz == 320
    spec = load_path(str(DATA / "tiny-det.yaml"))
    (symbolic,) = evaluate_spec(spec, input_shape=(3, "H", "W"), counts=frozenset())
    assert "H" in str(symbolic.rows[0].output[2])


def test_a_free_symbol_in_a_row() -> None:
    text = (DATA / "tiny-cls.yaml").read_text().replace("[-1, 1, Conv, [64, 3, 2]]", "[-1, 1, Conv, [k, 3, 2]]")
    spec = load_text(text, "sym.yaml", Limits())
    (evaluation,) = evaluate_spec(spec)
    assert "k" in str(evaluation.params)
    (bound,) = evaluate_spec(spec, overrides={"k": 64})
    assert bound.params == next(m for m in REFERENCE["models"] if m["file"] == "tiny-cls.yaml" and m["scale"] == "n")["params"]


def test_activation_replaces_silu() -> None:
    spec = load_path(str(DATA / "tiny-pose.yaml"))
    (evaluation,) = evaluate_spec(spec)
    types = {r.type for r in evaluation.rows}
    assert "ReLU" in types and "SiLU" not in types


# -- errors


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[-1, 3, C2f, [128]]", "[-1, 3, C2fCIB, [128]]", "test.yaml:20:13: head[2]: row 10: the module 'C2fCIB' is not supported by cnncalc yet"),
        ("[-1, 3, C2f, [128]]", "[-1, 3, C2ff, [128]]", "did you mean 'C2f'"),
        ("[[-1, 4], 1, Concat, [1]]", "[[-1, 40], 1, Concat, [1]]", "test.yaml:19:6: head[1]: 'from' names row 40, which is not above row 9"),
        ("[-1, 3, C2f, [128]]", "[-1, 0, C2f, [128]]", "the repeat count must be a positive integer"),
        ("[-1, 3, C2f, [128]]", "[-1, 3, C2f]", "a row must be [from, repeats, module, args]"),
        ("[[10, 13], 1, Detect, [nc]]", "[[10, 13], 1, OBB, [nc, 1]]", "row 14: the module 'OBB' is not supported by cnncalc yet"),
    ],
)
def test_located_errors(old: str, new: str, message: str) -> None:
    text = (DATA / "tiny-det.yaml").read_text()
    assert old in text
    with pytest.raises(CnncalcError) as info:
        spec = load_text(text.replace(old, new), "test.yaml", Limits())
        evaluate_spec(spec)
    assert message in str(info.value)


def test_unknown_scale_and_options_on_a_cnncalc_spec() -> None:
    with pytest.raises(UsageError, match="no scale 'q'"):
        load_path(str(DATA / "tiny-det.yaml"), Limits(scale="q"))
    with pytest.raises(UsageError, match="--scale n applies to Ultralytics model files"):
        load_text("input: [3, 8, 8]\nlayers: [ReLU]\n", "s.yaml", Limits(scale="n"))


# -- the command line


def test_params_table(runner: Any) -> None:
    result = runner.invoke(main, ["params", str(DATA / "tiny-det.yaml"), "--scale", "s", "--imgsz", "320"])
    assert result.exit_code == 0, result.output
    reference = next(m for m in REFERENCE["models"] if m["file"] == "tiny-det.yaml" and m["scale"] == "s")
    gflops = next(s["gflops"] for s in reference["sizes"] if s["imgsz"] == 320)
    assert f"tiny-det (s) summary: {reference['params']:,} parameters, {reference['trainable']:,} gradients, {gflops:.1f} GFLOPs" in result.output
    assert "input 3x320x320" in result.output
    assert "| 14 | [10, 13] | 1 |" in result.output


def test_params_json(runner: Any) -> None:
    result = runner.invoke(main, ["params", str(DATA / "tiny11.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)["ultralytics"]
    reference = next(m for m in REFERENCE["models"] if m["file"] == "tiny11.yaml" and m["scale"] == "n")
    assert [r["params"] for r in document["rows"]] == [r["params"] for r in reference["rows"]]
    assert document["gflops"] == reference["sizes"][0]["gflops"]
    assert (document["params"], document["trainable"], document["scale"]) == (reference["params"], reference["trainable"], "n")


@pytest.mark.parametrize("command", ["shape", "cost"])
def test_other_commands_read_model_files(runner: Any, command: str) -> None:
    result = runner.invoke(main, [command, str(DATA / "tiny-v5.yaml"), "--imgsz", "416", "--depth", "1"])
    assert result.exit_code == 0, result.output
    assert "input [3, 416, 416]" in result.output


def test_errors_exit_2(runner: Any) -> None:
    result = runner.invoke(main, ["params", "resnet18", "--scale", "n"])
    assert result.exit_code == 2
    assert "apply to Ultralytics model files" in result.stderr or "applies to Ultralytics model files" in result.stderr


def test_cost_states_both_conventions(runner: Any) -> None:
    reference = next(m for m in REFERENCE["models"] if m["file"] == "tiny-seg.yaml")
    result = runner.invoke(main, ["cost", str(DATA / "tiny-seg.yaml"), "--depth", "1"])
    assert result.exit_code == 0, result.output
    gflops = reference["sizes"][0]["gflops"]
    assert f"summary: {reference['params']:,} parameters, {reference['trainable']:,} gradients, {gflops:.1f} GFLOPs" in result.output
    assert f"2 x {int(reference['sizes'][0]['thop_ops']):,} / 1e9 = {gflops:.4f}" in result.output
    result = runner.invoke(main, ["cost", str(DATA / "tiny-seg.yaml"), "--format", "json"])
    assert json.loads(result.output)["ultralytics"]["gflops"] == gflops


def test_params_json_trainable_leaves_out_dfl(runner: Any) -> None:
    result = runner.invoke(main, ["params", str(DATA / "tiny-v5.yaml"), "--format", "json"])
    document = json.loads(result.output)
    reference = next(m for m in REFERENCE["models"] if m["file"] == "tiny-v5.yaml")
    assert (document["total"], document["trainable"]) == (reference["params"], reference["trainable"])


# ----------------------------------------------------------------------------- training memory

TRAIN = json.loads((DATA / "train_memory_torch.json").read_text())
# C2PSA/C2fPSA rows: Ultralytics' Attention scales q (a copy autograd saves) and reshapes v (a
# view or a copy by the head count); the template models neither, so cost --train refuses them.
ATTENTION_FILES = {"tiny-more.yaml", "tiny11.yaml"}


def train_of(record: dict[str, Any]) -> Any:
    from cnncalc.analysis.train import train_memory
    from cnncalc.spec.model import Arg

    spec = load_path(str(DATA / record["file"]), Limits(scale=record["scale"] or None, imgsz=record["imgsz"]))
    (evaluation,) = evaluate_spec(spec._replace(batch=Arg(record["batch"], spec.position)))
    return train_memory(evaluation, dtype=record.get("dtype", "float32"), mixed=record.get("mixed", False))


def test_train_reference_covers_every_file_and_scale() -> None:
    recorded = {(m["file"], m["scale"], m["batch"], m["dtype"], m["mixed"]) for m in TRAIN["models"]}
    precisions = [("float32", False), ("bfloat16", True)]
    expected = {(m["file"], m["scale"], b, *p) for m in REFERENCE["models"] for b in (1, 2) for p in precisions}
    assert recorded == expected


@pytest.mark.parametrize("record", [m for m in TRAIN["models"] if m["file"] not in ATTENTION_FILES],
                         ids=lambda m: f"{m['file']}-{m['scale'] or '-'}-b{m['batch']}-{m['dtype']}{'-amp' if m['mixed'] else ''}")
def test_train_saved_bytes_equal_torch(record: dict[str, Any]) -> None:
    """Train mode: the head returns its raw level outputs (no DFL, no sigmoid; Classify no
    softmax); C2f's and SPPF's lists keep each step's own tensor: torch's saved bytes exactly,
    in float32 and under autocast bfloat16 (with autocast's bfloat16 weight copies)."""
    memory = train_of(record)
    assert (memory.activations, memory.weight_casts) == (record["saved_bytes"], record["weight_cast_bytes"])


@pytest.mark.parametrize("record", [m for m in TRAIN["models"] if m["file"] in ATTENTION_FILES and m["batch"] == 1],
                         ids=lambda m: f"{m['file']}-{m['scale'] or '-'}-{m['dtype']}")
def test_train_refuses_ultralytics_attention(record: dict[str, Any]) -> None:
    with pytest.raises(CnncalcError, match=r"not modelled for MatMul \(layer .*module \d+\.m\.0\.(m\.)?attn\.6\): Ultralytics' Attention multiplies q"):
        train_of(record)


def test_train_decode_rows_save_nothing() -> None:
    """DFL, the sigmoid and the final concatenation run in eval mode only: nothing saved there."""
    memory = train_of({"file": "tiny-det.yaml", "scale": "n", "imgsz": 320, "batch": 1})
    spec = load_path(str(DATA / "tiny-det.yaml"), Limits(scale="n", imgsz=320))
    (evaluation,) = evaluate_spec(spec)
    decode = {r.module: t for r, t in zip(evaluation.rows, memory.rows) if r.module in ("14.dfl", "14.sigmoid", "14")}
    assert set(decode) == {"14.dfl", "14.sigmoid", "14"}
    assert all(t.saved_bytes == 0 and t.saves.startswith("nothing: not run in training") for t in decode.values())


def test_cli_train_on_a_model_file() -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["cost", str(DATA / "tiny-det.yaml"), "--scale", "n", "--imgsz", "320", "--train", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "saved activations 52,143,360 B" in result.output
    result = CliRunner().invoke(main, ["cost", str(DATA / "tiny11.yaml"), "--train"])
    assert result.exit_code == 2 and "training memory is not modelled for MatMul" in result.output


def test_train_frozen_weights_have_no_gradient_or_state() -> None:
    from cnncalc.analysis.train import train_memory

    spec = load_path(str(DATA / "tiny-det.yaml"), Limits(scale="n", imgsz=320))
    (evaluation,) = evaluate_spec(spec)
    memory = train_memory(evaluation, optimizer="adam")
    assert evaluation.frozen == 16
    assert memory.weights == 4 * evaluation.params
    assert memory.gradients == 4 * (evaluation.params - 16) and memory.optimizer_state == 2 * memory.gradients


def test_a_removed_merge_keeps_the_previous_layer() -> None:
    """`repeat: 0` removes the layer (docs/spec.md): a merge `from: a` removed leaves the previous
    layer's output, not `a` (Ultralytics' Bottleneck without shortcut: its output is cv2's)."""
    text = "name: t\ninput: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 1, name: a}\n" \
           "  - Conv2d: {out_channels: 6, kernel_size: 1}\n  - Concat: {from: a, repeat: 0}\n  - ReLU\n"
    (evaluation,) = evaluate_spec(load_text(text, "t.yaml", Limits()))
    assert evaluation.output == (1, 6, 8, 8) and evaluation.rows[-1].sources == (1,)
    spec = load_path(str(DATA / "tiny-det.yaml"), Limits(scale="n", imgsz=320))
    (evaluation,) = evaluate_spec(spec)
    rows = {r.module: i for i, r in enumerate(evaluation.rows)}
    assert evaluation.rows[rows["6.m.0.2"]].sources == (rows["6.cv1.act"], rows["6.m.0.m.cv2.act"])
