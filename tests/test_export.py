"""`cnncalc export --to pytorch`: the generated code, without torch.

What torch did with the generated code (built, counted, run at two sizes, traced with torch.fx)
is recorded in tests/data/export_torch.json by tools/torch_reference.py (`--only export`); here
cnncalc's own counts are held against those figures, and the code is checked as text: it parses,
it is `ruff format` and `ruff check` clean, its constructor calls carry the spec's arguments,
and a spec that cannot be exported fails with a located error.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.analysis.evaluate import evaluate_spec
from cnncalc.cli import main
from cnncalc.errors import CnncalcError
from cnncalc.layers import KINDS
from cnncalc.spec.model import Limits
from cnncalc.spec.zoo import load_spec

from .conftest import CONFIGS, ROOT, SEED

DATA = json.loads((ROOT / "tests" / "data" / "export_torch.json").read_text())
TARGETS = {key: record for key, record in DATA.items() if not key.startswith("_")}
CONFIG_NAMES = sorted(path.stem for path in CONFIGS.glob("*.yaml"))


def export(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(main, ["export", *args])
    assert result.exit_code == 0, result.output + (result.stderr if hasattr(result, "stderr") else "")
    return result.stdout


def docs_examples() -> dict[str, str]:
    """The whole example specs of the docs, keyed as the reference tool keys them."""
    found = {}
    for doc in ("README.md", "docs/spec.md", "docs/grammar.md", "docs/commands.md"):
        text = (ROOT / doc).read_text()
        blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL) if re.search(r"^input:", b, re.MULTILINE)]
        for i, block in enumerate(blocks):
            found[f"{doc}#{i}"] = block
    return found


# ----------------------------------------------------------------------------- every config, and torch's figures


def test_every_config_and_example_was_checked_with_torch() -> None:
    """The reference data covers every shipped config and every example spec of the docs."""
    assert {key.split(" ")[0] for key in TARGETS} >= set(CONFIG_NAMES) | set(docs_examples()) | {"tests/data/export_kinds"}


def test_every_ultralytics_test_model_was_checked_with_torch() -> None:
    """Every Ultralytics model file of the tests, at each scale the yolo reference recorded, was
    exported and built by torch (`tests/data/yolo/tiny-det --scale s`)."""
    models = json.loads((ROOT / "tests" / "data" / "yolo" / "ultralytics_reference.json").read_text())["models"]
    wanted = {f"tests/data/yolo/{Path(m['file']).stem}" + (f" --scale {m['scale']}" if m["scale"] else "") for m in models}
    assert wanted <= set(TARGETS)
    assert len(wanted) >= 11


def test_exported_ultralytics_models_have_the_packages_counts() -> None:
    """The exported code of each test model file, built by torch, has the parameters the
    ultralytics package built from the same file, and its output is the package's eval-mode
    first output (tests/data/yolo/ultralytics_reference.json, at imgsz 640)."""
    for model in json.loads((ROOT / "tests" / "data" / "yolo" / "ultralytics_reference.json").read_text())["models"]:
        key = f"tests/data/yolo/{Path(model['file']).stem}" + (f" --scale {model['scale']}" if model["scale"] else "")
        figures = TARGETS[key]["models"]["model"]
        assert figures["params"] == model["params"], key
        size = next(s for s in model["sizes"] if s["imgsz"] == 640)
        first = next(shape for name, shape in size["eval_outputs"] if name in ("[0]", "[0][0]"))
        assert figures["outputs"][0] == [[1, 3, 640, 640], first], key


def _spec_of(key: str, tmp_path: Path) -> str:
    name = key.split(" ")[0]
    if "#" in name:
        path = tmp_path / "example.yaml"
        path.write_text(docs_examples()[name])
        return str(path)
    if name.startswith("tests/"):
        return str(ROOT / f"{name}.yaml")
    return str(CONFIGS / f"{name}.yaml")


def _evaluations(spec_path: str, sets: list[str], input_shape: tuple[int, ...] | None = None, options: list[str] | None = None) -> dict[str, Any]:
    from cnncalc.cli_options import Binding

    scale = dict(zip(options[::2], options[1::2])).get("--scale") if options else None
    spec = load_spec(spec_path, Limits(scale=scale))
    overrides = dict(Binding().convert(s, None, None) for s in sets)
    return {e.name: e for e in evaluate_spec(spec, overrides=overrides, input_shape=input_shape)}


def _fx_types(evaluation: Any) -> str:
    """The spec's layer sequence as torch.fx names it (an Upsample to a node's size is exported
    as the Interpolate helper; the names are compared alike)."""
    return " ".join("Interpolate" if row.type == "Upsample" else row.type for row in evaluation.rows)


@pytest.mark.parametrize("key", sorted(TARGETS))
def test_torch_agrees_with_cnncalc(key: str, tmp_path: Path) -> None:
    """For each exported spec: the module PyTorch built has cnncalc's params, params without bias
    and buffers, gives cnncalc's output shape at the spec's input and, where the spec's module is
    the same at a second input size, there too; torch.fx traces the spec's layer sequence."""
    record = TARGETS[key]
    assert record["exit"] == 0 and record["error"] is None, record
    options = record.get("options")
    evaluations = _evaluations(_spec_of(key, tmp_path), record["set"], options=options)
    models = record["models"]
    assert models, key
    by_variable = {"model": next(iter(evaluations.values()))} if list(models) == ["model"] else {}
    for variable, figures in models.items():
        evaluation = by_variable.get(variable) or next(e for name, e in evaluations.items() if name.replace("_", "") == variable.replace("_", ""))
        assert "error" not in figures, figures
        assert figures["params"] == evaluation.params
        assert figures["params"] - figures["bias_params"] == evaluation.params - evaluation.bias
        assert figures["buffers"] == evaluation.buffers
        (first, output), *others = figures["outputs"]
        assert first == list(evaluation.input)
        assert output == list(evaluation.output)
        for size, torch_output in others:
            try:
                other = _evaluations(_spec_of(key, tmp_path), record["set"], tuple(size[1:]), options)[evaluation.name]
            except CnncalcError:  # cnncalc refuses the size: so did torch
                assert isinstance(torch_output, str), (size, torch_output)
                continue
            if other.params == evaluation.params:  # the same module: the spec allows this size
                assert torch_output == list(other.output), (size, torch_output)
        fx = figures["fx"]
        if fx.startswith("untraceable"):  # `if out.shape == x.shape` (residual: auto, differing between calls)
            assert "residual: auto" in Path(_spec_of(key, tmp_path)).read_text()
        else:
            assert fx.replace("Upsample", "Interpolate") == _fx_types(evaluation)


def test_the_seed_at_k_54_has_the_issues_count() -> None:
    figures = TARGETS["resnet_block_bottleneck --set k=54"]["models"]["bottleneck"]
    assert figures["params"] == 9 * 54**2 + 130 * 54 + 64 == 33_328


def test_second_sizes_were_run() -> None:
    """Most specs were run at a second input size, and where cnncalc's module is the same there,
    its output shape matched (checked above): count them, so that the check cannot go empty."""
    second = [key for key, record in TARGETS.items() for m in record["models"].values() if len(m.get("outputs", ())) > 1]
    assert len(second) >= 30


# ----------------------------------------------------------------------------- the code as text


@pytest.fixture(scope="module")
def exported() -> dict[str, str]:
    """Every config's code (the seed also with --set k=54)."""
    runner = CliRunner()
    found = {}
    for name in CONFIG_NAMES:
        result = runner.invoke(main, ["export", str(CONFIGS / f"{name}.yaml")])
        assert result.exit_code == 0, (name, result.output)
        found[name] = result.stdout
    result = runner.invoke(main, ["export", SEED, "--set", "k=54"])
    found["seed-k54"] = result.stdout
    for path in sorted((ROOT / "tests" / "data" / "yolo").glob("*.yaml")):  # Ultralytics model files, default scale
        result = runner.invoke(main, ["export", str(path)])
        assert result.exit_code == 0, (path.name, result.output)
        found[f"yolo-{path.stem}"] = result.stdout
    return found


def test_every_config_exports_code_that_parses(exported: dict[str, str]) -> None:
    for name, code in exported.items():
        tree = ast.parse(code, name)
        compile(tree, name, "exec")
        imports = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
        modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert imports <= {"torch", "torch.nn.functional", "nn", "math"} and modules <= {"torch"}, (name, imports)


def test_code_is_ruff_clean(exported: dict[str, str], tmp_path: Path) -> None:
    """`ruff format --check` (ruff's default style) and `ruff check` (pycodestyle, pyflakes,
    bugbear, pyupgrade) find nothing in any exported file."""
    for name, code in exported.items():
        (tmp_path / f"{name.replace('-', '_')}.py").write_text(code)
    helpers = [kind.torch for kind in KINDS.values() if not kind.torch.startswith("nn.")]
    head = "import torch\nimport torch.nn.functional as F\nfrom torch import nn\n\n\n"
    (tmp_path / "helpers.py").write_text(head + "\n\n".join(helpers))  # every helper class, used by a config or not
    files = sorted(str(p) for p in tmp_path.glob("*.py"))
    done = subprocess.run([sys.executable, "-m", "ruff", "format", "--check", "--isolated", *files], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,B,UP,SIM,C4", *files], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_config_exports_the_same_code_twice(exported: dict[str, str]) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["export", str(CONFIGS / "resnet18.yaml")]).stdout == exported["resnet18"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # in_channels filled in from the tracked channels, PyTorch's names for the rest
        ("resnet18", "self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)"),
        ("resnet18", "nn.Conv2d(in_channels, out, kernel_size=1, stride=stride, bias=False)"),
        ("resnet18", "self.bn1 = nn.BatchNorm2d(out)"),
        ("resnet18", "if stride != 1 or in_channels != out:"),
        ("resnet18", "self.fc = nn.Linear(self.layer4.out_channels, 1000)"),
        ("resnet18", "self.layer2 = Stage(self.layer1.out_channels, out=128, blocks=2)"),
        # a template argument holding a layer type, vars as keyword arguments with their values
        ("mobilenet_v3_large", "act: type[nn.Module] = nn.ReLU"),
        ("mobilenet_v3_large", "def __init__(self, width_mult: float = 1.0) -> None:"),
        ("mobilenet_v3_large", "nn.BatchNorm2d(out, eps=0.001, momentum=0.01)"),
        ("mobilenet_v3_large", "out=make_divisible(16 * width_mult, 8)"),
        # the copy index of repeat as the loop variable
        ("efficientnet_b0", "for copy in range(math.ceil(n * depth_mult) - 1):"),
        ("efficientnet_b0", "p=stochastic_depth_prob * (first + 1 + copy) / total_blocks"),
        # node sizes read at run time
        ("unet", "skip4 = self.skip4(enc4, up4.shape[2:])"),
        ("unet_padded", "PadTo()"),
        ("deeplabv3_resnet50", "x.shape[2:]"),
        # Concat of branches, their channels summed
        ("googlenet", "self.branch1.out_channels"),
        ("densenet121", "self.out_channels = in_channels + growth"),
        # a Linear after a Flatten of a spatial map: the evaluated size (the spec's input decides it)
        ("lenet5", "nn.Linear(400, 120)"),
        # a free symbol without a value: the stub says which --set is missing
        ("resnet_block_bottleneck", "Bottleneck needs --set k=VALUE"),
        ("seed-k54", "def __init__(self, in_channels: int, *, k: int = 54) -> None:"),
        ("seed-k54", "assert count == 33_328, count"),
        # Ultralytics templates: a merge repeated 0 or 1 times (Bottleneck's shortcut), a shape
        # read at run time (attention's heads), a shortcut of blocks used where the stride `s`
        # or the channels change (GhostBottleneck), a type argument's classes taking the vars
        ("yolo-tiny-det", "self.add_count = int(1 if shortcut and in_channels == c2 else 0)"),
        ("yolo-tiny-det", "for _ in range(self.add_count):"),
        ("yolo-tiny11", "heads = self.heads(out, x.shape[-2] * x.shape[-1])"),
        ("yolo-tiny11", "Reshape(shape=(-1, in_channels, None, None))"),
        ("yolo-tiny-more", "if s != 1 or in_channels != self.conv_2.out_channels:"),
        ("yolo-tiny-more", "shortcut[-1].out_channels"),
        ("yolo-tiny-det", "default_act: type[nn.Module]"),
    ],
)
def test_constructor_calls_carry_the_spec_arguments(exported: dict[str, str], name: str, expected: str) -> None:
    assert expected in exported[name], expected


# ----------------------------------------------------------------------------- the command line


def test_output_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "model.py"
    result = runner.invoke(main, ["export", "resnet18", "-o", str(target)])
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text().startswith('"""resnet18: PyTorch modules')


def test_block_option(runner: CliRunner) -> None:
    code = export(runner, str(CONFIGS / "resnet18.yaml"), "--block", "basic")
    assert "class Basic(nn.Module):" in code and "class Resnet18" not in code


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "configs/nope.yaml"], "nope.yaml"),
        (["export", "resnet18", "--to", "onnx"], "'onnx' is not"),
        (["export", "resnet18", "--block", "nope"], "no block named 'nope'"),
        (["export", "resnet18", "-o", "/nonexistent/dir/model.py"], "cannot write"),
    ],
)
def test_bad_usage_exits_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert message in result.stderr + result.output


def test_node_size_in_a_constructor_argument_is_a_located_error(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: s\ninput: [3, 32, 32]\nlayers:\n  - Conv2d: {out_channels: 8, kernel_size: 3, name: a}\n"
                    "  - Conv2d: {out_channels: a.height, kernel_size: 1}\n")
    result = runner.invoke(main, ["export", str(spec)])
    assert result.exit_code == 2
    assert f"{spec}:5:" in result.stderr and "when the module is built" in result.stderr


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # an error inside a block class written while translating a type argument (`unit: bad`):
        # one located sentence, not wrapped into another error's message
        (
            "blocks:\n  bad:\n    - Conv2d: {out_channels: 4, kernel_size: 1}\n    - Concat: {from: input, repeat: 2}\n"
            "  outer:\n    args: {unit: bad}\n    layers:\n      - unit: {}\nlayers:\n  - outer: {unit: bad}\n",
            6,
            "blocks.bad[1] (Concat): Concat cannot be exported to PyTorch here (expected a repeated merge of one input and the running tensor (Add, Mul)).",
        ),
        # a shape item mixing a node's size and an argument cannot be split between constructor and forward
        (
            "blocks:\n  flat:\n    args: {c: 3}\n    layers:\n      - Reshape: {shape: [-1, \"c * input.height\", input.width]}\n"
            "layers:\n  - flat: {c: 3}\n",
            7,
            "blocks.flat.layers[0] (Reshape): Reshape: a shape item reads both a node's size and the arguments (c * input.height)",
        ),
    ],
)
def test_export_errors_are_one_located_sentence(runner: CliRunner, tmp_path: Path, text: str, line: int, message: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: s\ninput: [3, 8, 8]\n" + text)
    result = runner.invoke(main, ["export", str(spec)])
    assert result.exit_code == 2
    error = result.stderr.strip()
    assert error.startswith(f"Error: {spec}:{line}:") and message in error, error
    assert error.count(f"{spec}:") == 1 and "the size of node" not in error and "\n" not in error


def test_a_kind_without_a_pytorch_module_is_a_located_error(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KINDS, "GELU", KINDS["GELU"]._replace(torch=""))  # type: ignore[index]
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: s\ninput: [3, 32, 32]\nlayers:\n  - Conv2d: {out_channels: 8, kernel_size: 3}\n  - GELU\n")
    result = runner.invoke(main, ["export", str(spec)])
    assert result.exit_code == 2
    assert f"{spec}:5:" in result.stderr and "GELU has no PyTorch module" in result.stderr


def test_a_kind_without_a_pytorch_module_given_as_a_type_argument_is_located(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KINDS, "GELU", KINDS["GELU"]._replace(torch=""))  # type: ignore[index]
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: s\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: {act: ReLU}\n    layers:\n"
                    "      - Conv2d: {out_channels: 4, kernel_size: 1}\n      - act\nlayers:\n  - b: {act: GELU}\n")
    result = runner.invoke(main, ["export", str(spec)])
    assert result.exit_code == 2
    error = result.stderr.strip()
    assert error.startswith(f"Error: {spec}:10:") and "GELU has no PyTorch module" in error and error.count(f"{spec}:") == 1, error


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_declares_its_pytorch_module(kind: str) -> None:
    """An nn class, or the source of a helper class of the kind's name that parses."""
    torch = KINDS[kind].torch
    if torch.startswith("nn."):
        assert torch == f"nn.{kind}"
    else:
        tree = ast.parse(torch)
        assert [node.name for node in tree.body if isinstance(node, ast.ClassDef)] == [kind]


# ----------------------------------------------------------------------------- a property


_LAYER = st.one_of(
    st.tuples(st.just("Conv2d"), st.integers(1, 64), st.sampled_from([1, 3]), st.sampled_from([1, 2])),
    st.tuples(st.just("BatchNorm2d")),
    st.tuples(st.just("ReLU")),
    st.tuples(st.just("MaxPool2d")),
)


@given(channels=st.integers(1, 16), layers=st.lists(_LAYER, min_size=1, max_size=8))
def test_channels_are_tracked_along_a_list(channels: int, layers: list[tuple[Any, ...]]) -> None:
    """In any plain list of convs, norms, activations and pools, each Conv2d's in_channels and
    each BatchNorm2d's num_features written into the code are the channels the evaluation saw
    there (the previous conv's out_channels, or the input's)."""
    lines = [f"name: prop\ninput: [{channels}, 32, 32]\nlayers:"]
    for layer in layers:
        if layer[0] == "Conv2d":
            lines.append(f"  - Conv2d: {{out_channels: {layer[1]}, kernel_size: {layer[2]}, stride: {layer[3]}, padding: {layer[2] // 2}}}")
        elif layer[0] == "MaxPool2d":
            lines.append("  - MaxPool2d: {kernel_size: 2, ceil_mode: true}")
        else:
            lines.append(f"  - {layer[0]}")
    spec_text = "\n".join(lines) + "\n"
    runner = CliRunner()
    result = runner.invoke(main, ["export", "-"], input=spec_text)
    assert result.exit_code == 0, result.output
    tree = ast.parse(result.stdout)
    calls = [
        node for node in ast.walk(next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Prop"))
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("nn.Conv2d", "nn.BatchNorm2d")
    ]
    seen = channels
    for call in calls:
        assert ast.literal_eval(call.args[0]) == seen
        if ast.unparse(call.func) == "nn.Conv2d":
            seen = ast.literal_eval(call.args[1])


HOSTILE_NAMES = [
    'x"""; import os; os.system("echo hacked") #',
    'b"""\nimport os\n"""',
    "tail\\",
    "line\nbreak\r\x0c",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_names_cannot_become_code(runner: CliRunner, tmp_path: Path, name: str) -> None:
    """A spec or block name is text in the docstrings, never code: the file parses, imports only
    torch, calls nothing of os, and its docstrings hold the names as written."""
    block = HOSTILE_NAMES[1]  # a block name the reader can call
    spec = tmp_path / "hostile.yaml"
    spec.write_text(
        json.dumps({"name": name, "input": [3, 8, 8], "blocks": {block: {"layers": [{"Conv2d": {"out_channels": 4, "kernel_size": 3}}]}}, "layers": [block, "ReLU"]})
    )
    code = export(runner, str(spec))
    tree = ast.parse(code)
    imports = {ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))}
    assert imports == {"import torch", "from torch import nn"}
    assert not any(isinstance(n, ast.Name) and n.id == "os" for n in ast.walk(tree))
    docstring = ast.get_docstring(tree, clean=False)
    assert docstring is not None and docstring.startswith(name + ":")
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert any(f"`{block}`" in (ast.get_docstring(c, clean=False) or "") for c in classes)
