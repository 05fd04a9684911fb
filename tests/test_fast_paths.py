"""The fast paths change no answer: each fast path is checked against the slow one.

benchmarks/run.py measures the speed; these tests hold the fast paths to the results of the
general code they short-cut (the spec reader's plain layers, the evaluator's block and layer
caches, the JSON and table writers) and check what a run imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]

from cnncalc import spec
from cnncalc.analysis.evaluate import Evaluator, Row, evaluate_spec
from cnncalc.render import output
from cnncalc.render.params import params_document, params_report
from cnncalc.render.shape import shape_document, shape_report
from cnncalc.spec import load_path, load_text
from cnncalc.spec.nodes import FastSafeLoader
from cnncalc.spec.reader import Reader

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


# ----------------------------------------------------------------------------- the spec reader


def _general_calls(text: str) -> spec.Spec:
    """The spec read with the plain-layer fast path switched off."""
    reader = Reader("t.yaml", spec.Limits())
    reader.plain_layer = lambda *args: None  # type: ignore[method-assign]
    return reader.spec(yaml.compose(text, Loader=yaml.CSafeLoader), "t")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_plain_layers_read_as_the_general_path_reads_them(path: Path) -> None:
    """Every shipped spec: the fast reader and the general one give equal specs."""
    text = path.read_text()
    assert load_text(text, "t.yaml") == _general_calls(text)


PLAIN_LAYERS = """
input: [3, 32, 32]
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3, padding: 1, bias: false, padding_mode: zeros}
  - "ReLU"
  - ReLU
  - BatchNorm2d: {eps: 0.001, affine: yes, num_features: null}
  - Conv2d: {out_channels: 010, kernel_size: 0x3, stride: +1, padding: '1'}
  - MaxPool2d: {kernel_size: 2, stride: 2}
  - Dropout: {p: 0.5, inplace: false}
  - Flatten
  - Linear: {out_features: 10}
"""


def test_plain_layers_cover_odd_scalars_like_the_general_path() -> None:
    """Quoted names, YAML 1.1 octal and hex, signs, floats and quoted numbers: equal calls."""
    assert load_text(PLAIN_LAYERS, "t.yaml") == _general_calls(PLAIN_LAYERS)


REPEATED_VALUES = """
input: [3, 32, 32]
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3, padding: 1, bias: false}
  - Conv2d: {out_channels: '8', kernel_size: "3", padding: 1, bias: no}
  - Conv2d:   {kernel_size: 3,  out_channels: 8, bias: false, padding: 1}
  - BatchNorm2d: {eps: 0.001, affine: true}
  - BatchNorm2d: {affine: True, eps: 0.001}
  - Conv2d: {out_channels: 8, kernel_size: 3, padding: 1, bias: false}
"""


def test_plain_layers_read_repeated_values_with_their_own_positions() -> None:
    """Values read once per spelling (tag, text, quotes): each argument keeps its own line and
    column, a quoted value its column past the quote, as the general path reads them."""
    fast = load_text(REPEATED_VALUES, "t.yaml")
    assert fast == _general_calls(REPEATED_VALUES)
    assert fast.layers is not None
    first, quoted = dict(fast.layers[0].args), dict(fast.layers[1].args)
    assert (first["out_channels"].raw, first["out_channels"].position.line) == (8, 4)
    assert (quoted["out_channels"].raw, quoted["out_channels"].position.column) == ("8", 29)
    assert dict(fast.layers[5].args)["kernel_size"].position.line == 9


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ("Conv2d: {out_channels: 8, kernel_size: 3, kernel_size: 5}", "duplicate key 'kernel_size'"),
        ("Conv2d: {out_channel: 8, kernel_size: 3}", "unknown argument 'out_channel'"),
        ("Add", "merges two or more inputs"),
        ("Relu", "unknown layer type 'Relu'"),
    ],
)
def test_plain_looking_layers_with_errors_are_still_refused(layer: str, message: str) -> None:
    text = f"input: [3, 8, 8]\nlayers:\n  - {layer}\n"
    with pytest.raises(spec.SpecError, match=message):
        load_text(text, "t.yaml")


def test_the_fast_composer_gives_the_safe_loaders_nodes() -> None:
    """Memoised tags and no-op path hooks: the same node tree, tag for tag."""
    text = (ROOT / "configs" / "resnet50.yaml").read_text() + "\nextra: [1, 1.5, yes, null, ~, '1', 2020-01-01, 0o17]\n"

    def tree(node: Any) -> Any:  # a composed node
        if isinstance(node, yaml.ScalarNode):
            return (node.tag, node.value, node.start_mark.line, node.start_mark.column)
        if isinstance(node, yaml.SequenceNode):
            return (node.tag, [tree(v) for v in node.value])
        return (node.tag, [(tree(k), tree(v)) for k, v in node.value])

    assert tree(yaml.compose(text, Loader=FastSafeLoader)) == tree(yaml.compose(text, Loader=yaml.CSafeLoader))
    # the tag cache is shared by every load and bounded: the same text spelt plain and quoted,
    # and more distinct scalars than the cache holds, still resolve as the safe loader does
    many = "a: [1, '1', \"1\", 1, yes, 'yes', null, 'null', '', ~]\n" + "".join(f"k{i}: [{i}, '{i}', {i}.5]\n" for i in range(700))
    for _ in range(2):
        assert tree(yaml.compose(many, Loader=FastSafeLoader)) == tree(yaml.compose(many, Loader=yaml.CSafeLoader))


# ----------------------------------------------------------------------------- the evaluator's caches


def _without_steps(rows: tuple[Row, ...]) -> list[Row]:
    return [r._replace(steps=()) for r in rows]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_cached_evaluation_equals_uncached(path: Path) -> None:
    """With --explain nothing is cached (no block frames, no layer outcomes): same rows, totals."""
    loaded = load_path(str(path))
    cached, uncached = evaluate_spec(loaded), evaluate_spec(loaded, explain=True)
    for a, b in zip(cached, uncached, strict=True):
        assert _without_steps(a.rows) == _without_steps(b.rows)
        assert (a.params, a.bias, a.buffers, a.macs, a.output, a.groups) == (b.params, b.bias, b.buffers, b.macs, b.output, b.groups)


@pytest.mark.parametrize("second", ["{dim: true}", "{dim: '1.0 * 1'}", "{dim: 1.0}"])
def test_equal_but_different_values_do_not_share_a_cached_outcome(second: str) -> None:
    """1, 1.0 and True are equal in Python: a layer cache keyed on values alone would accept
    the second layer as a copy of the first, where PyTorch refuses a bool or float dim."""
    text = f"input: [4, 8]\nlayers:\n  - Softmax: {{dim: 1}}\n  - Softmax: {second}\n"
    with pytest.raises(spec.SpecError, match=r"layers\[1\] \(Softmax\): .*dim"):
        evaluate_spec(load_text(text, "t.yaml"))


FLAT_VARIANTS = {
    "plain": "input: [16, 8, 8]\nlayers:\n"
    + "".join(["  - Conv2d: {out_channels: 16, kernel_size: 3, padding: 1, bias: false}\n  - BatchNorm2d\n  - ReLU\n"] * 4),
    "names, from and merges": """
        input: [16, 8, 8]
        layers:
          - Conv2d: {out_channels: 16, kernel_size: 3, padding: 1, name: a}
          - ReLU
          - Conv2d: {out_channels: 16, kernel_size: 3, padding: 1}
          - Add: {from: a}
          - ReLU: {name: r}
          - Conv2d: {out_channels: 16, kernel_size: 1, from: input}
          - Concat: {from: [r, input], dim: 1}
          - ReLU
          - Conv2d: {out_channels: 16, kernel_size: 1}
        """,
    "repeat, zero and expressions": """
        input: [c, 8, 8]
        vars: {c: 8, w: 2, n: 3}
        layers:
          - Conv2d: {out_channels: c*w, kernel_size: 3, padding: 1}
          - ReLU: {repeat: 0}
          - Conv2d: {out_channels: c*w, kernel_size: 3, padding: 1, repeat: n}
          - ReLU
          - Conv2d: {out_channels: 16, kernel_size: 3, padding: 1}
          - Conv2d: {out_channels: 16, kernel_size: 3, padding: 1, bias: true}
          - Conv2d: {out_channels: 16, kernel_size: 3, padding: same}
          - MaxPool2d: {kernel_size: 2}
          - Flatten
          - Linear: {out_features: 10}
        """,
    "blocks of plain layers": """
        input: [8, 8, 8]
        blocks:
          unit:
            args: {out: null}
            residual: true
            shortcut: [{Conv2d: {out_channels: out, kernel_size: 1}}]
            layers: [{Conv2d: {out_channels: out, kernel_size: 3, padding: 1}}, BatchNorm2d, ReLU]
            after: [ReLU]
          plain: [ReLU, {Conv2d: {out_channels: 8, kernel_size: 1}}, ReLU]
        layers:
          - unit: {out: 16, repeat: 2}
          - ReLU
          - unit: {out: 8}
          - plain
          - ReLU
        """,
    "symbolic sizes": "input: [8, h, h]\nlayers:\n"
    + "".join(["  - Conv2d: {out_channels: 8, kernel_size: 3, stride: 2}\n  - ReLU\n"] * 3),
}


def _evaluate_both(text: str, monkeypatch: pytest.MonkeyPatch, **options: Any) -> tuple[Any, Any]:
    """The spec evaluated with and without the evaluator's plain-layer fast path."""
    loaded = load_text(textwrap.dedent(text), "t.yaml")
    fast = evaluate_spec(loaded, **options)
    with monkeypatch.context() as patch:
        patch.setattr(Evaluator, "plain_fast_path", False)
        general = evaluate_spec(loaded, **options)
    return fast, general


@pytest.mark.parametrize("explain", [False, True], ids=["cached", "explain"])
@pytest.mark.parametrize("text", list(FLAT_VARIANTS.values()), ids=list(FLAT_VARIANTS))
def test_plain_layer_fast_path_gives_the_general_paths_rows(text: str, explain: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every field of every row, the groups and the totals: equal with and without the short cut."""
    fast, general = _evaluate_both(text, monkeypatch, explain=explain)
    assert len(fast) == len(general) == 1
    for a, b in zip(fast, general, strict=True):
        assert len(a.rows) == len(b.rows) > 0
        for row_a, row_b in zip(a.rows, b.rows, strict=True):
            for field in Row._fields:
                assert getattr(row_a, field) == getattr(row_b, field), (row_a.path, field)
        assert a == b


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_plain_layer_fast_path_on_every_shipped_spec(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, general = _evaluate_both(path.read_text(), monkeypatch)
    assert fast == general


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("input: [8, 4, 4]\nlayers:\n  - ReLU\n  - Conv2d: {out_channels: 0, kernel_size: 1}\n", "layers\\[1\\]"),
        ("input: [8, 4, 4]\nlayers:\n  - ReLU\n  - Conv2d: {out_channels: 8, kernel_size: 9}\n", "layers\\[1\\]"),
        ("input: [8, 4, 4]\nlayers:\n  - Conv2d: {out_channels: 8, kernel_size: 1}\n  - Conv2d: {out_channels: 'x +', kernel_size: 1}\n", "layers\\[1\\]"),
        ("input: [8, 4, 4]\nlayers:\n" + "  - ReLU\n" * 6, "too many layers"),
    ],
    ids=["bad argument", "bad shape", "bad expression", "too many layers"],
)
def test_plain_layer_fast_path_refuses_as_the_general_path(text: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same error, message and place, with and without the short cut (a bad expression is
    refused as the spec is read, before evaluation)."""
    limits = spec.Limits(max_layers=5)
    errors = []
    for fast in (True, False):
        monkeypatch.setattr(Evaluator, "plain_fast_path", fast)
        with pytest.raises(spec.CnncalcError, match=message) as caught:
            evaluate_spec(load_text(text, "t.yaml"), limits=limits)
        errors.append((type(caught.value), str(caught.value), caught.value.position))
    assert errors[0] == errors[1]


def test_repeated_blocks_are_placed_with_their_own_paths_and_sources() -> None:
    """A cached block's rows re-rooted: paths, depths, groups and sources of each copy."""
    text = textwrap.dedent(
        """
        input: [8, 4, 4]
        blocks:
          unit:
            residual: true
            layers: [{Conv2d: {out_channels: 8, kernel_size: 3, padding: 1}}, ReLU]
        layers:
          - unit: {repeat: 3}
        """
    )
    rows = evaluate_spec(load_text(text, "t.yaml"))[0].rows
    assert [r.path for r in rows[3:6]] == ["layers[0].1.layers[0]", "layers[0].1.layers[1]", "layers[0].1.add"]
    assert [r.sources for r in rows] == [(-1,), (0,), (1, -1), (2,), (3,), (4, 2), (5,), (6,), (7, 5)]
    assert {r.group for r in rows[3:6]} == {"layers[0].1 (unit)"}
    assert {r.depth for r in rows} == {1}


# ----------------------------------------------------------------------------- writers


@pytest.mark.parametrize("path", CONFIGS[:12], ids=lambda p: p.stem)
def test_json_layout_holds_the_same_document(path: Path) -> None:
    evaluations = evaluate_spec(load_path(str(path)))
    for document in (shape_document(evaluations), params_document([evaluations])):
        text = output.json_text(document)
        assert json.loads(text) == json.loads(json.dumps(document))
        assert all(line.startswith("  ") or line in "{}" for line in text.splitlines())


def test_json_layout_puts_each_layer_on_one_line() -> None:
    document = {"name": "x", "input": [3, 8], "layers": [{"path": "a", "output": [1, 2]}, {"path": "b", "output": [3]}]}
    assert output.json_text(document) == textwrap.dedent(
        """\
        {
          "name": "x",
          "input": [3, 8],
          "layers": [
            {"path": "a", "output": [1, 2]},
            {"path": "b", "output": [3]}
          ]
        }"""
    )


@pytest.mark.parametrize(
    "items",
    [
        [{}, {}],
        [{"a": "}, {"}, {"b": 1}],
        [{"a": "{"}, {"b": "}"}],
        [{"a": {"x": 1}}, {"b": [1, {"c": 2}]}],
        [{"a": 1}, 2, "x"],
    ],
)
def test_json_layout_survives_braces_in_strings_and_nested_objects(items: list[Any]) -> None:
    assert json.loads(output.json_text({"layers": items})) == {"layers": items}


def _rich_ascii(report: Any) -> str:
    """The table as rich.Table draws it with the ASCII2 box (what cnncalc printed before)."""
    import io

    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    out = io.StringIO()
    console = Console(file=out, force_terminal=False, no_color=True, width=1000, highlight=False, emoji=False, markup=False)
    for index, table in enumerate(t.drawn() for t in report.tables):  # without the CSV-only columns
        if index:
            console.print()
        drawn = RichTable(title=table.title, title_justify="left", box=box.ASCII2)
        for column, numeric in zip(table.columns, table.numeric):
            drawn.add_column(column, justify="right" if numeric else "left", no_wrap=True)
        for row in table.rows:
            drawn.add_row(*(Text(c) for c in row))
        console.print(drawn)
        for note in table.notes:
            console.print(Text(note))
    return out.getvalue()


@pytest.mark.parametrize("name", ["resnet_block_bottleneck", "googlenet", "mobilenet_v3_small"])
def test_plain_tables_are_drawn_as_rich_draws_them(name: str) -> None:
    evaluations = evaluate_spec(load_path(str(ROOT / "configs" / f"{name}.yaml")))
    for report in (params_report([evaluations], explain=False), shape_report(evaluations, explain=False)):
        assert output.plain_text(report) == _rich_ascii(report)


# ----------------------------------------------------------------------------- imports


def _modules_after(*args: str) -> set[str]:
    code = (
        "import sys\n"
        "from cnncalc.cli import main\n"
        f"try:\n    main({list(args)!r}, prog_name='cnncalc')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "sys.stderr.write(' '.join(sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(done.stderr.split())


# The drawing modules (issue 17): imported by `draw` and `bottleneck --plot` only.
DRAWING = {"matplotlib", "graphviz", "cnncalc.render.plot", "cnncalc.solve.plotdata", "cnncalc.render.dot", "cnncalc.analysis.graph", "cnncalc.render.layout"}


@pytest.mark.parametrize(
    ("args", "absent"),
    [
        (("params", "configs/resnet50.yaml", "--format", "json"), {"sympy", "rich", "fractions", "decimal", "dataclasses", *DRAWING}),
        (("shape", "configs/resnet50.yaml"), {"sympy", "rich", "json", "fractions", "dataclasses", *DRAWING}),
        (("cost", "configs/resnet50.yaml"), {"sympy", "rich", "json", *DRAWING}),
        # the README's first command
        (("bottleneck", "configs/resnet_block_bottleneck.yaml", "--reduce", "0.5-0.6"), {"rich", *DRAWING}),
        # a DOT drawing runs no program and draws no plot
        (("draw", "configs/resnet50.yaml"), {"sympy", "rich", "subprocess", "matplotlib", "graphviz", "cnncalc.render.layout"}),
    ],
)
def test_a_numeric_run_imports_only_what_it_uses(args: tuple[str, ...], absent: set[str]) -> None:
    """No sympy on a numeric spec; no rich when no terminal table is drawn; no json for a table;
    matplotlib, the graphviz package and the drawing modules only for `draw` and `--plot`."""
    assert _modules_after(*args) & absent == set()
