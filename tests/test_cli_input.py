"""`--input SHAPE` on specs (one result per input, side by side), the `spec` column of CSV, merge
rows with every input, and error shapes without the batch for specs.

The reference is tests/data/torchvision_resolutions.json: torchvision's resnet50 at 3x320x240
and 3x224x224 and resnet18 at 3x320x240, recorded with torch, torchvision and fvcore by
`tools/torch_reference.py --only resolutions` (provenance in tests/data/README.md)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc.cli import main

from .conftest import ROOT, SEED

REFERENCE: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "torchvision_resolutions.json").read_text())


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def ok(runner: CliRunner, *args: str) -> str:
    code, out, err = run(runner, *args)
    assert code == 0, err
    return out


def torch_macs(key: str) -> tuple[int, int]:
    """fvcore's conv and linear counts (MACs: fvcore counts one multiply-accumulate as a 'flop')."""
    ops = REFERENCE[key]["fvcore_by_operator"]
    return ops["conv"], ops["linear"]


# ----------------------------------------------------------------------------- against torch


def test_params_of_resnet50_at_two_inputs_agree_with_torch(runner: CliRunner) -> None:
    doc = json.loads(ok(runner, "params", "resnet50", "--input", "3,320,240", "--input", "3,224,224", "-f", "json"))
    assert [s["name"] for s in doc["specs"]] == ["resnet50 @ 3x320x240", "resnet50 @ 3x224x224"]
    for spec, key in zip(doc["specs"], ("resnet50@3x320x240", "resnet50@3x224x224")):
        torch = REFERENCE[key]
        assert spec["total"] == spec["trainable"] == torch["total_params"] == torch["trainable_params"] == 25_557_032
        assert spec["bias_params"] == torch["bias_params"]
        assert spec["buffers"] == torch["buffers"]
        assert [1, *spec["output"]] == torch["output_shape"]
        assert spec["macs"] == sum(torch_macs(key))
    comparison = {c["name"]: c for c in doc["comparison"]}
    assert comparison["resnet50 @ 3x224x224"]["ratio"] == 1.0  # the same parameters at every input
    assert comparison["resnet50 @ 3x224x224"]["macs_ratio"] == pytest.approx(sum(torch_macs("resnet50@3x224x224")) / sum(torch_macs("resnet50@3x320x240")))


def test_cost_of_resnet50_at_two_inputs_agrees_with_fvcore(runner: CliRunner) -> None:
    doc = json.loads(ok(runner, "cost", "resnet50", "--input", "3,320,240", "--input", "3,224,224", "-f", "json"))
    for spec, key, hw in zip(doc["specs"], ("resnet50@3x320x240", "resnet50@3x224x224"), ([320, 240], [224, 224])):
        assert (spec["conv_macs"], spec["linear_macs"]) == torch_macs(key)
        (network,) = spec["networks"]
        assert network["input"] == [3, *hw]
        assert [1, *network["output"]] == REFERENCE[key]["output_shape"]
        assert network["memory"]["params"] == REFERENCE[key]["total_params"]
        assert network["memory"]["buffers"] == REFERENCE[key]["buffers"]


def test_cost_compares_macs_per_input(runner: CliRunner) -> None:
    doc = json.loads(ok(runner, "cost", "resnet50", "--input", "3,320,240", "--input", "3,224,224", "-f", "json"))
    first, second = doc["comparison"]
    assert (first["name"], first["macs"], first["macs_ratio"]) == ("resnet50 @ 3x320x240", sum(torch_macs("resnet50@3x320x240")), 1.0)
    assert second["macs"] == sum(torch_macs("resnet50@3x224x224"))
    assert second["macs_ratio"] == pytest.approx(second["macs"] / first["macs"])
    assert first["params"] == second["params"] == REFERENCE["resnet50@3x224x224"]["total_params"]
    assert first["peak_bytes"] == 4 * first["peak_elements"]
    table = ok(runner, "cost", "resnet50", "--input", "3,320,240", "--input", "3,224,224")
    assert "| resnet50 @ 3x224x224 | 25,557,032 | 4,089,184,256 |     0.6460 |" in table
    symbolic = json.loads(ok(runner, "cost", SEED, "-i", "64,16,16", "-i", "64,H,W", "-f", "json"))["comparison"]
    assert symbolic[1]["macs_ratio"] == "H*W/256"  # k cancels: both blocks scale with the area


def test_resnet18_at_320x240_agrees_with_torch(runner: CliRunner) -> None:
    torch = REFERENCE["resnet18@3x320x240"]
    cost = json.loads(ok(runner, "cost", "resnet18", "--input", "3,320,240", "-f", "json"))
    assert cost["name"] == "resnet18"  # one input: the spec's own name
    assert (cost["conv_macs"], cost["linear_macs"]) == torch_macs("resnet18@3x320x240")
    params = json.loads(ok(runner, "params", "resnet18", "-i", "3x320x240", "-f", "json"))
    assert (params["total"], params["bias_params"], params["buffers"]) == (torch["total_params"], torch["bias_params"], torch["buffers"])
    shape = json.loads(ok(runner, "shape", "resnet18", "--input", "3,320,240", "-f", "json"))
    assert shape["input"] == [3, 320, 240]
    assert [1, *shape["output"]] == torch["output_shape"]
    stem = shape["layers"][0]
    assert (stem["input"], stem["output"]) == ([3, 320, 240], [64, 160, 120])


# ----------------------------------------------------------------------------- formats


def test_params_table_compares_params_and_macs_per_input(runner: CliRunner) -> None:
    out = ok(runner, "params", "resnet50", "--input", "3,320,240", "--input", "3,224,224")
    comparison = out[out.index("comparison (against the first)"):]
    assert "MACs ratio" in comparison
    assert "resnet50 @ 3x320x240 | 25,557,032 | 25,529,472 | 1.0000 |     0.00% |               0.00% | 6,329,958,400 |     1.0000" in comparison
    assert "resnet50 @ 3x224x224 | 25,557,032 | 25,529,472 | 1.0000 |     0.00% |               0.00% | 4,089,184,256 |     0.6460" in comparison
    assert "resnet50 @ 3x320x240: input [3, 320, 240]" in out


def test_markdown_and_csv_at_several_inputs(runner: CliRunner) -> None:
    markdown = ok(runner, "params", "resnet18", "--input", "3,320,240", "--input", "3,224,224", "-f", "markdown")
    assert "### resnet18 @ 3x320x240: input [3, 320, 240]" in markdown
    assert "| resnet18 @ 3x224x224 | 11,689,512 |" in markdown
    rows = list(csv.DictReader(io.StringIO(ok(runner, "cost", "resnet18", "--input", "3,320,240", "--input", "3,224,224", "-f", "csv"))))
    assert {r["spec"] for r in rows} == {"resnet18 @ 3x320x240", "resnet18 @ 3x224x224"}
    first = [r for r in rows if r["layer"] == "layers[0]"]
    assert [(r["spec"], r["output"]) for r in first] == [("resnet18 @ 3x320x240", "[64, 160, 120]"), ("resnet18 @ 3x224x224", "[64, 112, 112]")]


def test_shape_json_at_several_inputs(runner: CliRunner) -> None:
    doc = json.loads(ok(runner, "shape", "resnet18", "--input", "3,320,240", "--input", "3,64,64", "-f", "json"))
    assert [(s["name"], s["input"], s["output"]) for s in doc["specs"]] == [
        ("resnet18 @ 3x320x240", [3, 320, 240], [1000]),
        ("resnet18 @ 3x64x64", [3, 64, 64], [1000]),
    ]


def test_symbols_in_the_input(runner: CliRunner) -> None:
    doc = json.loads(ok(runner, "shape", "resnet18", "--input", "3,H,W", "-f", "json"))
    assert doc["input"] == [3, "H", "W"]
    assert doc["layers"][0]["output"] == [64, "ceil(H/2)", "ceil(W/2)"]
    code, out, err = run(runner, "params", "resnet18", "--input", "3,H,W", "--set", "H=320", "--set", "W=240", "-f", "json")
    assert code == 0 and err == ""  # H and W are used: no warning
    assert json.loads(out)["macs"] == sum(torch_macs("resnet18@3x320x240"))


def test_a_blocks_only_spec_takes_the_input(runner: CliRunner) -> None:
    doc = json.loads(ok(runner, "params", SEED, "--input", "64,32,32", "--set", "k=54", "-f", "json"))
    blocks = {b["name"]: b for b in doc["blocks"]}
    assert blocks["plain"]["params"] == 73_856  # parameters do not depend on the spatial size
    assert blocks["plain"]["macs"] == 73_728 * 32 * 32
    two = json.loads(ok(runner, "params", SEED, "-i", "64,16,16", "-i", "64,32,32", "-s", "k=54", "-f", "json"))
    assert [c["name"] for c in two["comparison"]] == ["resnet-block-bottleneck @ 64x16x16", "resnet-block-bottleneck @ 64x32x32"]
    assert [c["macs_ratio"] for c in two["comparison"]] == [1.0, 4.0]


def test_bottleneck_takes_the_input(runner: CliRunner) -> None:
    doc = json.loads(ok(runner, "bottleneck", SEED, "--reduce", "0.5-0.6", "--metric", "macs", "--input", "64,32,32", "-f", "json"))
    assert doc["baseline"]["macs"] == 73_728 * 32 * 32
    assert doc["candidate"]["macs"] == "9216*k**2 + 131072*k"  # (9k^2 + 128k) * 32 * 32


def test_several_inputs_for_layer_calls(runner: CliRunner) -> None:
    doc = json.loads(ok(runner, "shape", "--input", "1,3,8,8", "--input", "1,3,16,16", "Conv2d(3, 4, 3)", "-f", "json"))
    assert [(s["name"], s["output"]) for s in doc["specs"]] == [("inline @ 1x3x8x8", [1, 4, 6, 6]), ("inline @ 1x3x16x16", [1, 4, 14, 14])]


# ----------------------------------------------------------------------------- errors


def test_specs_and_layer_calls_cannot_be_mixed(runner: CliRunner) -> None:
    code, _, err = run(runner, "shape", "resnet18", "Conv2d(3, 64, 3)", "--input", "3,32,32")
    assert code == 2
    assert "mix specs and layer calls" in err and "'resnet18'" in err and "'Conv2d(3, 64, 3)'" in err


def test_layer_calls_without_an_input_are_refused(runner: CliRunner) -> None:
    code, _, err = run(runner, "shape", "Conv2d(3, 64, 3)")
    assert code == 2 and "layer calls need --input SHAPE" in err


def test_an_input_of_the_wrong_rank_is_the_networks_located_error(runner: CliRunner) -> None:
    code, _, err = run(runner, "shape", "resnet18", "--input", "3,320")
    assert code == 2
    assert "resnet18.yaml:" in err and "layers[0] (Conv2d)" in err
    assert "per-sample input of 3 dimensions, [C, H, W]" in err and "found input [3, 320]" in err
    code, _, err = run(runner, "shape", "resnet18", "--input", "1,3,320,240")
    assert code == 2 and "found input [1, 3, 320, 240])" in err


def test_errors_of_specs_show_shapes_without_the_batch(runner: CliRunner, tmp_path: Any) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text("name: net\ninput: [3, 8, 8]\nbatch: 4\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 3}\n    name: c\n  - Concat: {from: [input, c]}\n")
    code, _, err = run(runner, "shape", str(spec))
    assert code == 2 and "found [3, 8, 8] and [4, 6, 6]" in err
    code, _, err = run(runner, "shape", str(spec), "--input", "3,4,4", "--set", "unused=1")
    assert code == 2 and "found [3, 4, 4] and [4, 2, 2]" in err


def test_each_shape_loses_its_batch_once() -> None:
    from cnncalc.analysis.evaluate import per_sample_shapes
    from cnncalc.errors import ShapeError, with_shapes

    error = with_shapes(ShapeError("cannot merge", found="[1, 1, 16] and [1, 16] (4-D input [1, 2, 3, 4])"), (1, 1, 16), (1, 16), (1, 2, 3, 4))
    assert per_sample_shapes(error).found == "[1, 16] and [16] (input [2, 3, 4] (4-D with the batch))"


def test_layer_calls_keep_torchs_tensor_shapes_in_errors(runner: CliRunner) -> None:
    code, _, err = run(runner, "shape", "--input", "1,3,3,3", "Conv2d(3, 3, 7)")
    assert code == 2 and "found input [1, 3, 3, 3] gives H = -3" in err
    code, _, err = run(runner, "shape", "--input", "3,320", "Conv2d(3, 3, 7)")
    assert code == 2 and "found 2-D input [3, 320]" in err


# ----------------------------------------------------------------------------- CSV and merge rows


@pytest.mark.parametrize("command", ["shape", "params", "cost"])
def test_csv_of_several_specs_names_the_spec(runner: CliRunner, command: str) -> None:
    rows = list(csv.reader(io.StringIO(ok(runner, command, "lenet5", "resnet18", "-f", "csv"))))
    assert rows[0][:3] == ["spec", "layer", "module"]
    assert {r[0] for r in rows[1:]} == {"lenet5", "resnet18"}
    one = list(csv.reader(io.StringIO(ok(runner, command, "lenet5", "-f", "csv"))))
    assert one[0][0] == "layer"  # one spec: no spec column


def test_merge_rows_show_every_input(runner: CliRunner) -> None:
    rows = {r["layer"]: r for r in csv.DictReader(io.StringIO(ok(runner, "shape", "resnet18", "-f", "csv")))}
    assert rows["layers[4].layers[0].add"]["input"] == "[64, 56, 56], [64, 56, 56]"
    table = ok(runner, "shape", "googlenet")
    assert "| Concat            | [64, 28, 28], [128, 28, 28], [32, 28, 28], [32, 28, 28]" in table
    markdown = ok(runner, "shape", "googlenet", "-f", "markdown")
    assert "| [64, 28, 28], [128, 28, 28], [32, 28, 28], [32, 28, 28] | [256, 28, 28] |" in markdown
    doc = json.loads(ok(runner, "shape", "resnet18", "-f", "json"))
    add = next(layer for layer in doc["layers"] if layer["path"] == "layers[4].layers[0].add")
    assert add["inputs"] == [[64, 56, 56], [64, 56, 56]] and add["input"] == [64, 56, 56]
    explained = ok(runner, "shape", "resnet18", "--explain")
    assert "layer1.0.add Add: [64, 56, 56], [64, 56, 56] -> [64, 56, 56]" in explained
