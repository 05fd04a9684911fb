"""Module names (Row.module), --depth folding and shortcut_first.

Module names are checked against torchvision: tests/data/torchvision_zoo.json records every leaf
module of each model in forward order (tools/torch_reference.py, `leaves`); the leaves with
parameters must carry, in order, the names cnncalc gives the rows with parameters or buffers.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc.analysis.cost import cost
from cnncalc.analysis.evaluate import Evaluation, evaluate_inline, evaluate_spec
from cnncalc.analysis.fold import fold, fold_costs, fold_fields
from cnncalc.analysis.receptive import receptive_fields
from cnncalc.cli import main
from cnncalc.errors import SpecError
from cnncalc.spec.zoo import load_spec, load_text

from .conftest import CONFIGS, ROOT

REFERENCE: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "torchvision_zoo.json").read_text())

# The configs whose module names are torchvision's (the others name what is cheap to name).
NAMED_LIKE_TORCHVISION = (
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2",
)  # fmt: skip


@cache
def evaluated(name: str) -> Evaluation:
    (evaluation,) = evaluate_spec(load_spec(str(CONFIGS / f"{name}.yaml")))
    return evaluation


def one(text: str, **overrides: Any) -> Evaluation:
    (evaluation,) = evaluate_spec(load_text(text), overrides=overrides)
    return evaluation


def modules(evaluation: Evaluation) -> list[str]:
    return [r.module for r in evaluation.rows]


# ----------------------------------------------------------------------------- against torchvision


@pytest.mark.parametrize("model", NAMED_LIKE_TORCHVISION)
def test_module_names_are_torchvisions(model: str) -> None:
    theirs = [leaf["name"] for leaf in REFERENCE[model]["leaves"] if leaf["params"] and leaf["call"] == 0]
    ours = [r.module for r in evaluated(model).rows if r.params or r.buffers]
    assert ours == theirs


def test_shared_relu_is_named_as_torchvision_calls_it() -> None:
    # BasicBlock calls self.relu twice: after bn1 and after the add
    rows = [r for r in evaluated("resnet18").rows if r.module.startswith("layer2.0.")]
    assert [r.module for r in rows] == [
        "layer2.0.conv1", "layer2.0.bn1", "layer2.0.relu", "layer2.0.conv2", "layer2.0.bn2",
        "layer2.0.downsample.0", "layer2.0.downsample.1", "layer2.0.add", "layer2.0.relu",
    ]  # fmt: skip


# ----------------------------------------------------------------------------- naming rules

BLOCKS = """
name: t
input: [4, 8, 8]
blocks:
  res:
    args: {out: 4, stride: 1}
    residual: true
    layers:
      - Conv2d: {out_channels: out, kernel_size: 3, stride: stride, padding: 1}
      - ReLU: {name: act}
      - Conv2d: {out_channels: out, kernel_size: 3, padding: 1}
    shortcut:
      - Conv2d: {out_channels: out, kernel_size: 1, stride: stride}
    after: [ReLU, Identity]
  stage:
    args: {out: 4, n: 2}
    layers:
      - res: {out: out, stride: 2}
      - res: {out: out, repeat: n - 1}
layers:
  - Conv2d: {out_channels: 4, kernel_size: 1}
  - ReLU: {repeat: 2}
  - stage: {out: 8, n: 3, name: body}
  - stage: {out: 8, n: 2}
  - Identity: {repeat: 2, name: tail}
  - Flatten
"""


def test_naming_rules() -> None:
    names = modules(one(BLOCKS))
    assert names[:3] == ["0", "1", "2"]  # unnamed repeat copies are entries of the list
    body = [n for n in names if n.startswith("body.")]
    assert body[:8] == [
        "body.0.0",
        "body.0.act",
        "body.0.2",
        "body.0.shortcut.0",
        "body.0.add",
        "body.0.3",
        "body.0.4",
        "body.1.0",
    ]
    assert {n.split(".")[1] for n in body} == {"0", "1", "2"}  # first block, then the copies of `repeat: n - 1` go on numbering
    assert "4.1.add" in names and "4.0.shortcut.0" in names  # an unnamed call: its index (after 0, 1, 2, body)
    assert names[-3:] == ["tail.0", "tail.1", "6"]  # a named repeat's copies are its children


def test_cached_frames_are_renamed_like_their_paths() -> None:
    evaluation = one(BLOCKS)
    by_path = {r.path: r.module for r in evaluation.rows}
    # body.1 and body.2 are the same block instance (cached), re-rooted
    assert by_path["layers[2].layers[1].1.layers[1]"] == "body.2.act"
    assert by_path["layers[3].layers[1].0.after[1]"] == "4.1.4"


def test_shortcut_name() -> None:
    text = BLOCKS.replace("    shortcut:\n", "    shortcut_name: downsample\n    shortcut:\n")
    assert "body.0.downsample.0" in modules(one(text))


def test_symbolic_repeat_names() -> None:
    text = """
input: [4, 8, 8]
layers:
  - ReLU: {repeat: n}
  - Identity
  - Identity: {name: x, repeat: m}
"""
    names = modules(one(text))
    assert names == ["0:n", "n", "x.0:m"]


def test_standalone_block_and_inline_names() -> None:
    (evaluation,) = evaluate_spec(load_text(BLOCKS), blocks=("res",))
    assert modules(evaluation)[:3] == ["0", "act", "2"]
    inline = evaluate_inline(["Conv2d(3, 8, 3)", "ReLU()"], (1, 3, 8, 8))
    assert modules(inline) == ["0", "1"]


def test_json_rows_have_module_and_keep_path(runner: CliRunner) -> None:
    for command in ("shape", "params", "cost"):
        result = runner.invoke(main, [command, "resnet18", "--format", "json"])
        assert result.exit_code == 0, result.output
        layers = json.loads(result.stdout)["layers"]
        assert layers[0]["path"] == "layers[0]" and layers[0]["module"] == "conv1"
        assert all("module" in item and "path" in item for item in layers)


def test_tables_show_module_names_and_csv_both(runner: CliRunner) -> None:
    table = runner.invoke(main, ["params", "resnet18"]).stdout
    assert "layer1.0.conv1" in table and "layers[4]" not in table
    csv = runner.invoke(main, ["params", "resnet18", "--format", "csv"]).stdout.splitlines()
    assert csv[0].startswith("layer,module,type")
    assert csv[1].startswith("layers[0],conv1,Conv2d")


# ----------------------------------------------------------------------------- --depth


CONFIG_NAMES = sorted(p.stem for p in CONFIGS.glob("*.yaml"))


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_folded_rows_sum_to_the_totals(name: str) -> None:
    for evaluation in evaluate_spec(load_spec(str(CONFIGS / f"{name}.yaml"))):
        c = cost(evaluation)
        fields = receptive_fields(evaluation)
        deepest = max((r.depth for r in evaluation.rows), default=0)
        for depth in (1, 2, 3, 4, deepest + 1):
            folded, ranges = fold(evaluation, depth)
            rows = folded.rows
            assert all(r.depth < depth for r in rows)
            assert sum(r.params for r in rows) == evaluation.params
            assert sum(r.bias for r in rows) == evaluation.bias
            assert sum(r.buffers for r in rows) == evaluation.buffers
            assert sum(r.macs for r in rows) == evaluation.macs
            assert [stop for _, stop in ranges[:-1]] == [start for start, _ in ranges[1:]]  # every row once, in order
            assert (ranges[0][0], ranges[-1][1]) == (0, len(evaluation.rows))
            costs = fold_costs(c.rows, ranges)
            assert sum(rc.macs for rc in costs) == c.macs
            assert sum(rc.ops for rc in costs) == sum(v for _, v in c.ops)
            assert sum(rc.elements for rc in costs) == c.activation_elements
            assert len(fold_fields(fields, ranges)) == len(rows)
            assert rows[-1].output == evaluation.output
            for row in rows:  # a row's inputs come from rows above it (sources renumbered)
                assert all(-1 <= s < rows.index(row) for s in row.sources)
        assert fold(evaluation, deepest + 1)[0].rows == evaluation.rows


def test_depth_one_is_torchinfos_top_level() -> None:
    folded, _ = fold(evaluated("resnet50"), 1)
    assert [r.module for r in folded.rows] == [
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "avgpool",
        "9",
        "fc",
    ]
    layer2 = folded.rows[5]
    assert (layer2.type, layer2.input, layer2.output) == ("stage", (1, 256, 56, 56), (1, 512, 28, 28))
    # torchvision's layer2 of resnet50: 1,219,584 parameters
    assert layer2.params == sum(leaf["params"] for leaf in REFERENCE["resnet50"]["leaves"] if leaf["name"].startswith("layer2."))
    folded, _ = fold(evaluated("resnet50"), 2)
    assert [r.module for r in folded.rows][4:8] == ["layer1.0", "layer1.1", "layer1.2", "layer2.0"]


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
@pytest.mark.parametrize("command", ["shape", "params", "cost"])
def test_depth_option_in_every_format(runner: CliRunner, command: str, fmt: str) -> None:
    full = runner.invoke(main, [command, "resnet18", "--format", fmt])
    folded = runner.invoke(main, [command, "resnet18", "--format", fmt, "--depth", "1"])
    assert full.exit_code == folded.exit_code == 0, folded.output
    assert "layer1.0.conv1" in full.stdout and "layer1.0.conv1" not in folded.stdout
    assert "layer1" in folded.stdout and "stage" in folded.stdout
    if fmt == "json":
        full_doc, folded_doc = json.loads(full.stdout), json.loads(folded.stdout)
        assert len(folded_doc["layers"]) == 11
        for key in ("total", "macs", "buffers", "conditions"):
            assert folded_doc.get(key) == full_doc.get(key)


def test_depth_must_be_positive(runner: CliRunner) -> None:
    result = runner.invoke(main, ["shape", "resnet18", "--depth", "0"])
    assert result.exit_code == 2


# ----------------------------------------------------------------------------- shortcut_first

PROJECTED = """
name: proj
input: [64, 32, 32]
blocks:
  down:
    residual: true
    layers:
      - Conv2d: {out_channels: 16, kernel_size: 1}
      - ReLU
      - Conv2d: {out_channels: 128, kernel_size: 3, stride: 2, padding: 1}
    shortcut:
      - Conv2d: {out_channels: 128, kernel_size: 1, stride: 2}
layers:
  - down
"""


def test_shortcut_first_changes_order_and_peak_not_counts() -> None:
    after = one(PROJECTED)
    first = one(PROJECTED.replace("    shortcut:", "    shortcut_first: true\n    shortcut:"))
    assert (first.params, first.bias, first.buffers, first.macs) == (after.params, after.bias, after.buffers, after.macs)
    assert [r.path for r in after.rows][:5] == [
        "layers[0].layers[0]",
        "layers[0].layers[1]",
        "layers[0].layers[2]",
        "layers[0].shortcut[0]",
        "layers[0].add",
    ]
    assert [r.path for r in first.rows][:5] == [
        "layers[0].shortcut[0]",
        "layers[0].layers[0]",
        "layers[0].layers[1]",
        "layers[0].layers[2]",
        "layers[0].add",
    ]
    add = first.rows[4]
    assert [first.rows[s].path for s in add.sources] == ["layers[0].layers[2]", "layers[0].shortcut[0]"]
    assert first.rows[1].sources == (-1,) and first.rows[0].sources == (-1,)
    # x: 64x32x32, F's outputs 16x32x32 twice and 128x16x16, the projection's 128x16x16.
    # F(x) first: x waits for the projection, which runs beside F(x)'s output;
    # shortcut first: x is freed after F's first conv, the projection's output waits.
    c_after, c_first = cost(after), cost(first)
    assert c_after.macs == c_first.macs and c_after.activation_elements == c_first.activation_elements
    x, f1, f3, p = 64 * 32 * 32, 16 * 32 * 32, 128 * 16 * 16, 128 * 16 * 16
    assert c_after.peak_elements == x + f3 + p and after.rows[c_after.peak_row].path == "layers[0].shortcut[0]"
    assert c_first.peak_elements == x + p + f1 and first.rows[c_first.peak_row].path == "layers[0].layers[0]"


def test_regnet_names_and_runs_the_projection_first() -> None:
    # torchvision's ResBottleneckBlock: x = self.proj(x) + self.f(x), the projection first; its
    # stages name their blocks block2-0, block2-1, ..., where the spec's repeat numbers them
    theirs = [
        re.sub(r"block(\d)-(\d+)", r"\2", leaf["name"])
        for leaf in REFERENCE["regnet_y_400mf"]["leaves"]
        if leaf["params"] and leaf["call"] == 0
    ]
    ours = [r.module for r in evaluated("regnet_y_400mf").rows if r.params or r.buffers]
    assert ours == theirs
    assert ours[2:4] == ["trunk_output.block1.0.proj.0", "trunk_output.block1.0.proj.1"]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("    shortcut_first: maybe\n", "'shortcut_first' must be true or false"),
        ("    shortcut_first: yes please\n", "'shortcut_first' must be true or false"),
    ],
)
def test_shortcut_first_must_be_a_boolean(block: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load_text(PROJECTED.replace("    shortcut:", block + "    shortcut:"))


def test_shortcut_keys_need_a_shortcut() -> None:
    text = "input: [4, 8, 8]\nblocks:\n  b:\n    residual: true\n    {key}\n    layers: [ReLU]\nlayers: [b]\n"
    with pytest.raises(SpecError, match="shortcut_first but no shortcut"):
        load_text(text.replace("{key}", "shortcut_first: true"))
    with pytest.raises(SpecError, match="shortcut_name but no shortcut"):
        load_text(text.replace("{key}", "shortcut_name: downsample"))
    with pytest.raises(SpecError, match="must be a name"):
        load_text(PROJECTED.replace("    shortcut:", "    shortcut_name: [a]\n    shortcut:"))


@pytest.mark.parametrize("model", ["googlenet", "inception_v3"])
def test_basic_conv_names_are_torchvisions(model: str) -> None:
    # BasicConv2d's conv and bn, and the head, named as torchvision names them (the inception
    # branches are named by their outputs, which Concat reads, not by torchvision's attributes)
    theirs = [leaf["name"] for leaf in REFERENCE[model]["leaves"] if leaf["params"] and leaf["call"] == 0]
    ours = [r.module for r in evaluated(model).rows if r.params or r.buffers]
    assert ours[:6] == theirs[:6] and ours[-1] == theirs[-1] == "fc"
    assert all(name.rsplit(".", 1)[-1] in ("conv", "bn", "fc") for name in ours)
