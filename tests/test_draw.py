"""`cnncalc draw`: the graph view (nodes, edges, clusters), its DOT text read back by Graphviz,
SVG/PNG/PDF through the `dot` program (CI installs Graphviz: .ci/run), TikZ and the HTML page.

Graphviz is a prerequisite of rendering (README): these tests run the real `dot` program.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cnncalc import arith
from cnncalc.analysis.evaluate import evaluate_spec
from cnncalc.analysis.fold import fold
from cnncalc.analysis.graph import INPUT, OUTPUT, network_graph
from cnncalc.cli import main
from cnncalc.render.dot import dot_text, quote
from cnncalc.spec import Limits, load_text
from cnncalc.spec.zoo import load_spec

from .conftest import CONFIGS, ROOT, SEED

SVG = "{http://www.w3.org/2000/svg}"

# Every repeat kind: a block repeated 3 times, a layer twice, a block once (drawn as it is).
REPEATS = """
name: repeats
input: [3, 32, 32]
blocks:
  unit:
    residual: true
    layers:
      - Conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
      - ReLU
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - unit: {repeat: 3}
  - ReLU: {repeat: 2}
  - unit: {repeat: 1, name: single}
  - Flatten
  - Linear: {out_features: 10}
"""


def _evaluate(name: str) -> Any:
    return evaluate_spec(load_spec(name, Limits(), None))


def _run(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(main, list(args))
    assert result.exit_code == 0, result.output + (result.stderr if result.stderr_bytes is not None else "")
    return result


def _svg_texts(svg: bytes) -> tuple[ET.Element, str]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == SVG + "svg"
    return root, "\n".join("".join(t.itertext()) for t in root.iter(SVG + "text"))


def _classes(root: ET.Element, name: str) -> list[ET.Element]:
    return [g for g in root.iter(SVG + "g") if g.get("class") == name]


def _dot_json(text: str) -> dict[str, Any]:
    """The DOT text as Graphviz reads it (`dot -Tjson`): objects (nodes and clusters) and edges."""
    done = subprocess.run(["dot", "-Tjson"], input=text.encode(), capture_output=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- the graph view


def test_repeats_collapse_to_one_node_each_and_expand_to_every_layer() -> None:
    """3 copies of a 3-row block and 2 of a ReLU become one node each; a repeat of 1 stays as
    it is: 17 rows, 8 nodes collapsed; --expand draws the 17."""
    [e] = evaluate_spec(load_text(REPEATS, "r.yaml"))
    assert len(e.rows) == 1 + 3 * 3 + 2 + 3 + 1 + 1
    collapsed = network_graph(e)
    assert [(n.row.type, n.copies) for n in collapsed.nodes] == [
        ("Conv2d", 1), ("unit", 3), ("ReLU", 2), ("Conv2d", 1), ("ReLU", 1), ("Add", 1), ("Flatten", 1), ("Linear", 1),
    ]  # fmt: skip
    unit = collapsed.nodes[1]
    assert unit.row.params == 3 * (8 * 8 * 9 + 8) and (unit.first, unit.last) == ("1", "3")
    assert [c.span.module for c in collapsed.clusters] == ["single.0"]  # the copies' boxes went into their node
    expanded = network_graph(e, expand=True)
    assert len(expanded.nodes) == len(e.rows) and len(expanded.clusters) == 4
    # the residual adds' shortcuts are skips; the chain is not
    assert sum(edge.skip for edge in collapsed.edges) == 1 and sum(edge.skip for edge in expanded.edges) == 4


# An entry of a generated spec: a layer or a block, and how many rows one copy makes.
ENTRIES = {"ReLU": ("ReLU", 1), "conv": ("Conv2d: {out_channels: 8, kernel_size: 3, padding: 1}", 1), "unit": ("unit", 3)}


@given(st.lists(st.tuples(st.sampled_from(sorted(ENTRIES)), st.integers(0, 4), st.booleans()), min_size=1, max_size=8))
def test_collapsed_and_expanded_node_counts(entries: list[tuple[str, int, bool]]) -> None:
    """Any list of layers and blocks, each repeated 0-4 times (named or not): collapsed, each
    repeat of two or more is one node standing for all its copies, a repeat of one its rows;
    expanded, a node per row; the parameters add up either way."""
    lines = [f"  - {_call(kind, count, named, i)}" for i, (kind, count, named) in enumerate(entries)]
    [e] = evaluate_spec(load_text(REPEATS[: REPEATS.index("\nlayers:")] + "\nlayers:\n  - Conv2d: {out_channels: 8, kernel_size: 1}\n" + "\n".join(lines) + "\n", "g.yaml"))
    collapsed, expanded = network_graph(e), network_graph(e, expand=True)
    rows = 1 + sum(count * ENTRIES[kind][1] for kind, count, _ in entries)
    assert len(e.rows) == len(expanded.nodes) == rows
    assert len(collapsed.nodes) == 1 + sum(1 if count >= 2 else count * ENTRIES[kind][1] for kind, count, _ in entries)
    assert [n.copies for n in collapsed.nodes[1:] if n.copies != 1] == [count for _, count, _ in entries if count >= 2]
    for graph in (collapsed, expanded):
        assert sum(n.row.params for n in graph.nodes) == e.params


def _call(kind: str, count: int, named: bool, index: int) -> str:
    text = ENTRIES[kind][0]
    extra = f"repeat: {count}" + (f", name: e{index}" if named else "")
    if ": {" in text:
        return text[:-1] + ", " + extra + "}"
    return f"{text}: {{{extra}}}"


def test_a_symbolic_repeat_is_one_node_for_its_copies(runner: CliRunner) -> None:
    """resnet18's stage on its own: `repeat: blocks - 1` is one node `basic x blocks - 1` with
    the copies' parameters; expanded, the one copy's seven rows and its box each say they stand
    for blocks - 1."""
    dot = _run(runner, "draw", "resnet18", "--block", "stage").stdout
    assert "basic x blocks - 1\\nparams 18*blocks*out**2 + 4*blocks*out - 18*out**2 - 4*out" in dot
    expanded = _run(runner, "draw", "resnet18", "--block", "stage", "--expand").stdout
    assert expanded.count("x blocks - 1") == 8 and 'label="1:blocks: basic x blocks - 1"; style="rounded,dashed"' in expanded


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_layer_lands_in_one_node(path: Path) -> None:
    """Every shipped config, collapsed, expanded and at depth 2: the nodes' params add up to the
    network's; expanded, one node per row; each row's inputs arrive on an edge; one edge leaves
    for the output."""
    for e in _evaluate(str(path)):
        for options in ({}, {"expand": True}, {"depth": 2}):
            g = network_graph(e, **options)  # type: ignore[arg-type]
            assert arith.equal(arith.total([n.row.params for n in g.nodes]), e.params) is True
            keys = {n.key for n in g.nodes}
            assert all(edge.tail in keys | {INPUT} and edge.head in keys | {OUTPUT} for edge in g.edges)
            assert [edge.head for edge in g.edges].count(OUTPUT) == 1
        expanded = network_graph(e, expand=True)
        assert len(expanded.nodes) == len(e.rows)
        assert len(expanded.edges) == sum(len(r.sources) for r in e.rows) + 1  # one per input of each layer, one to the output
        assert len(network_graph(e, depth=1, expand=True).nodes) == len(fold(e, 1)[0].rows)


def test_from_edges_go_where_the_data_goes() -> None:
    """googlenet's inception block: the Concat's four inputs arrive from the ends of the four
    branches (each continuing its line), and the block's input leaves for the four branches,
    three of them skips (dashed)."""
    [e] = _evaluate("googlenet")
    g = network_graph(e, expand=True)
    concat = next(n for n in g.nodes if n.row.module == "inception3a.7")
    into = [edge for edge in g.edges if edge.head == concat.key]
    assert [next(n.row.module for n in g.nodes if n.key == edge.tail) for edge in into] == [
        "inception3a.branch1.2", "inception3a.branch2.2", "inception3a.branch3.2", "inception3a.branch4.2",
    ]  # fmt: skip
    assert [edge.skip for edge in into] == [False, False, False, False]
    pool = next(n for n in g.nodes if n.row.module == "4")  # maxpool2, the block's input
    assert [edge.skip for edge in g.edges if edge.tail == pool.key] == [False, True, True, True]


# ----------------------------------------------------------------------------- DOT and Graphviz


def test_dot_strings_are_escaped() -> None:
    assert quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


@pytest.mark.parametrize(("spec", "options"), [("resnet18", {}), (SEED, {}), ("densenet121", {"expand": True}), ("densenet121", {}), ("resnet50", {"depth": 2})])
def test_graphviz_reads_the_dot_text(spec: str, options: dict[str, Any]) -> None:
    """Graphviz parses the DOT and finds every node (plus input and output) and every edge."""
    evaluations = _evaluate(spec)
    graphs = [network_graph(e, **options) for e in evaluations]
    read = _dot_json(dot_text(graphs))
    names = [o["name"] for o in read["objects"] if "nodes" not in o]
    assert len(names) == sum(len(g.nodes) + 2 for g in graphs)
    assert len(read["edges"]) == sum(len(g.edges) for g in graphs)
    clusters = [o for o in read["objects"] if "nodes" in o]
    assert len(clusters) == sum(len(g.clusters) for g in graphs) + (len(graphs) if len(graphs) > 1 else 0)


@pytest.mark.parametrize("spec", ["resnet18", SEED])
def test_svg_holds_every_layer_type_and_edge_shape(runner: CliRunner, spec: str) -> None:
    """Well-formed SVG whose text names every layer type and every edge's shape."""
    svg = _run(runner, "draw", spec, "-f", "svg").stdout_bytes
    root, text = _svg_texts(svg)
    evaluations = _evaluate(spec)
    for e in evaluations:
        for kind in {r.type for r in e.rows}:
            assert re.search(rf": {kind}\b", text), kind
        for edge in network_graph(e).edges:
            assert arith.shape_text(e.shown(edge.shape)) in text
    graphs = [network_graph(e) for e in evaluations]
    assert len(_classes(root, "node")) == sum(len(g.nodes) + 2 for g in graphs)
    assert len(_classes(root, "edge")) == sum(len(g.edges) for g in graphs)


def test_symbolic_shapes_are_drawn_as_their_formulas(runner: CliRunner) -> None:
    svg = _run(runner, "draw", "--input", "3,H,W", "Conv2d(3, 8, 3, stride=2)", "-f", "svg").stdout_bytes
    _, text = _svg_texts(svg)
    assert "[8, ceil(H/2) - 1, ceil(W/2) - 1]" in text and "[3, H, W]" in text
    dot = _run(runner, "draw", SEED).stdout
    assert "[k, 16, 16]" in dot and "params 9*k**2 + k" in dot


def test_expand_depth_and_rankdir_in_the_drawing(runner: CliRunner) -> None:
    """vgg16 repeats its convs: collapsed fewer nodes than layers, expanded one per layer."""
    [e] = _evaluate("vgg16")
    collapsed = _run(runner, "draw", "vgg16", "-f", "svg").stdout_bytes
    expanded = _run(runner, "draw", "vgg16", "-f", "svg", "--expand").stdout_bytes
    assert len(_classes(ET.fromstring(expanded), "node")) == len(e.rows) + 2
    assert len(_classes(ET.fromstring(collapsed), "node")) == len(network_graph(e).nodes) + 2 < len(e.rows) + 2
    assert " x 2" in _svg_texts(collapsed)[1] and " x 2" not in _svg_texts(expanded)[1]
    depth = _run(runner, "draw", "resnet50", "--depth", "1", "--rankdir", "LR").stdout
    assert "rankdir=LR" in depth and "layer4: stage" in depth
    assert len(_dot_json(depth)["edges"]) == len(fold(_evaluate("resnet50")[0], 1)[0].rows) + 1


@pytest.mark.parametrize(("fmt", "magic"), [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF-")])
def test_png_and_pdf_start_with_their_magic_bytes(runner: CliRunner, tmp_path: Path, fmt: str, magic: bytes) -> None:
    out = tmp_path / f"seed.{fmt}"
    _run(runner, "draw", SEED, "-o", str(out))  # the format from the file's extension
    assert out.read_bytes().startswith(magic)
    assert _run(runner, "draw", "lenet5", "-f", fmt).stdout_bytes.startswith(magic)


def test_without_graphviz_the_error_says_how_to_install_it(tmp_path: Path) -> None:
    """A PATH without `dot`: exit 2 and one message naming the package, no traceback."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    for fmt in ("svg", "png", "html"):
        done = subprocess.run([sys.executable, "-m", "cnncalc", "draw", "resnet18", "-f", fmt], capture_output=True, text=True, cwd=ROOT, env=env)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith(f"Error: -f {fmt} needs Graphviz's dot program") and "Traceback" not in done.stderr
        assert "apt-get install graphviz" in done.stderr and "brew install graphviz" in done.stderr and "conda install" in done.stderr
    # dot and tikz need no program
    done = subprocess.run([sys.executable, "-m", "cnncalc", "draw", "resnet18", "-f", "dot"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 0 and done.stdout.startswith("digraph")
    assert shutil.which("dot") is not None  # (this suite's Graphviz: CI installs it)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("resnet18", "-o", "x.jpeg"), "cannot tell the drawing's format from the file name"),
        (("resnet18", "-o", "/nonexistent/dir/x.dot"), "cannot write the drawing to '/nonexistent/dir/x.dot'"),
        (("resnet18", "--depth", "0"), "0 is not in the range x>=1"),
        (("nosuchnet",), "nosuchnet"),
    ],
)
def test_bad_draw_input_is_one_message_and_exit_2(runner: CliRunner, args: tuple[str, ...], message: str) -> None:
    result = runner.invoke(main, ["draw", *args])
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr


# ----------------------------------------------------------------------------- TikZ and HTML


def _balanced(text: str) -> bool:
    depth = 0
    for c in re.sub(r"\\[{}]", "", text.replace("\\\\", "")):  # `\\` (a line break), then `\{` and `\}`
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize(("spec", "args"), [("resnet18", ()), (SEED, ("--rankdir", "LR")), ("googlenet", ("--depth", "2"))])
def test_tikz_is_a_standalone_document(runner: CliRunner, spec: str, args: tuple[str, ...]) -> None:
    """A standalone LaTeX document: balanced braces, TeX's specials escaped, every node an edge
    names defined, every layer type and edge shape in it."""
    text = _run(runner, "draw", spec, "-f", "tikz", *args).stdout
    assert re.match(r"%.*\n\\documentclass\[tikz,border=6pt\]\{standalone\}\n\\usetikzlibrary\{shapes.geometric,fit,backgrounds,calc\}\n", text)
    assert "\\begin{document}\n\\begin{tikzpicture}[" in text and text.endswith("\\end{tikzpicture}\n\\end{document}\n")
    assert _balanced(text) and not re.search(r"(?<!\\)_", text)
    defined = set(re.findall(r"\\node\[[^\]]*\] \(([\w-]+)\)", text))
    drawn = set(re.findall(r"\((g\d+-[\w-]+?)(?:\.\w+)?\)", "\n".join(line for line in text.splitlines() if line.startswith("\\draw"))))
    assert drawn and drawn <= defined
    placed = [n for n in re.findall(r"\\node\[[^\]]*\] \(([\w-]+)\)", text) if "-c" not in n and not n.endswith("-title")]
    for tail, head in re.findall(r"^\\draw\[\w+\] \(([\w-]+)\) -- node\[[^\]]*\] \{[^$]*?\} \(([\w-]+)\);$", text, re.MULTILINE):
        assert placed.index(head) == placed.index(tail) + 1, (tail, head)  # a straight edge joins neighbours; others take a lane
    for e in _evaluate(spec):
        graph = network_graph(e, depth=2 if "--depth" in args else None)
        assert text.count("\\draw[") == sum(len(network_graph(x, depth=2 if "--depth" in args else None).edges) for x in _evaluate(spec))
        for node in graph.nodes:
            assert f"{node.row.type}".replace("_", "\\_") in text
        for edge in graph.edges:
            assert "{" + arith.shape_text(e.shown(edge.shape)) + "}" in text
    assert ("|- axis" in text) == ("LR" in args)


def test_html_is_one_self_contained_page(runner: CliRunner) -> None:
    """The page holds the diagram (Graphviz's SVG, inline) and the params and cost tables, and
    loads nothing: no script, no stylesheet link, no address but the SVG namespaces."""
    page = _run(runner, "draw", "resnet18", "-f", "html").stdout
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")
    svg = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    _, text = _svg_texts(svg.encode())
    assert "layer4.1.conv2: Conv2d" in text
    assert "11,689,512" in page  # resnet18's parameters (torchvision's, tests/test_zoo.py)
    assert "1,814,073,344" in page  # its MACs (fvcore's, tests/data/torchvision_zoo.json)
    assert '<h2 id="params">' in page and '<h2 id="cost">' in page and page.count("<table>") >= 3
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(http", page, re.IGNORECASE)
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


WEIRD = """
input: [3, 8, 8]
blocks:
  'we"ird\\b{lock}_%$<script>~^#&':
    layers:
      - Conv2d: {out_channels: 4, kernel_size: 1, name: x_y}
layers:
  - 'we"ird\\b{lock}_%$<script>~^#&': {name: st-age}
"""


def test_any_block_name_is_drawn_as_written(runner: CliRunner, tmp_path: Path) -> None:
    """A block name holding quotes, backslashes, braces and TeX's and HTML's specials: the DOT
    string escaped (Graphviz reads it back), the SVG text as written, TikZ escaped, no tag in HTML."""
    spec = tmp_path / "weird.yaml"
    spec.write_text(WEIRD)
    name = 'st-age: we"ird\\b{lock}_%$<script>~^#&'
    assert name in _svg_texts(_run(runner, "draw", str(spec), "-f", "svg").stdout_bytes)[1]
    tikz = _run(runner, "draw", str(spec), "-f", "tikz").stdout
    assert "{st-age: we''ird\\textbackslash{}b\\{lock\\}\\_\\%\\$$<$script$>$\\~{}\\^{}\\#\\&}" in tikz and _balanced(tikz)
    page = _run(runner, "draw", str(spec), "-f", "html").stdout
    assert "<script" not in page and "&lt;script&gt;" in page
