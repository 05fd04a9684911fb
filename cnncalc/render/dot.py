"""`cnncalc draw`'s diagram as Graphviz DOT text (pure text: laid out by the `dot` program,
see `layout.py`), and the node and edge labels every drawing shares (TikZ too).

A node shows its module name and type (`layer1.0.conv1: Conv2d`, `denseblock1.0 .. denseblock1.5:
dense_layer x 6` for a collapsed repeat), the arguments that differ from PyTorch's defaults,
and its parameters; every edge the shape of the tensor it carries (symbolic sizes as their
formulas), skips (residual shortcuts, branches of `from`) dashed; block calls are boxes around their nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnncalc import arith
from cnncalc.analysis.graph import INPUT, OUTPUT, Cluster, Graph, Node
from cnncalc.layers import REQUIRED, lookup
from cnncalc.render.cells import title_text
from cnncalc.render.numbers import count_text

# Fill colours by layer family (a folded block or a collapsed repeat of blocks: "block").
COLOURS = {
    "conv": "#cfe2f3", "linear": "#d9d2e9", "norm": "#fff2cc", "activation": "#d9ead3", "pool": "#fce5cd",
    "reduce": "#fce5cd", "merge": "#f4cccc", "block": "#eeeeee",
}  # fmt: skip
_OTHER = "#ffffff"
_HIDDEN_ARGS = frozenset(("device", "dtype"))
_WRAP = 44  # characters per line of a node's arguments


def arg_text(value: Any) -> str:
    """An argument as PyTorch code writes it: `False`, `(3, 3)`, `bilinear`, `k`, `0.1`."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(map(arg_text, value)) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, str):
        return value
    return arith.as_text(value)


def key_args(node: Node) -> list[str]:
    """The node's arguments that differ from PyTorch's defaults, `name=value`."""
    kind = lookup(node.row.type)
    if kind is None or not node.row.args:
        return []
    defaults = {p.name: p.default for p in kind.params}
    shown = []
    for name, value in node.row.args:
        default = defaults.get(name, REQUIRED)
        if value is None or name in _HIDDEN_ARGS or (default is not REQUIRED and type(value) is type(default) and value == default):
            continue
        shown.append(f"{name}={arg_text(value)}")
    return shown


def wrapped(parts: Sequence[str], width: int = _WRAP) -> list[str]:
    """`a, b, c` broken into lines of about `width` characters, at the commas."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 2 + len(part) <= width:
            lines[-1] += ", " + part
        else:
            if lines:
                lines[-1] += ","
            lines.append(part)
    return lines


def node_lines(node: Node) -> list[str]:
    """A node's label, line by line: name and type, arguments, parameters."""
    row = node.row
    name = f"{node.first} .. {node.last}" if node.first and node.first != node.last else row.module
    kind = row.type if node.copies == 1 else f"{row.type} x {arith.as_text(node.copies)}"
    lines = [f"{name}: {kind}" if name else kind, *wrapped(key_args(node))]
    if row.params != 0 or node.copies != 1:
        lines.append(f"params {count_text(row.params)}")
    return lines


def family(node: Node) -> str:
    """The node's colour family: its kind's, or "block" for a folded block call."""
    kind = lookup(node.row.type)
    return "block" if kind is None else kind.family


def cluster_label(cluster: Cluster) -> str:
    span = cluster.span
    copies = "" if span.copies == 1 else f" x {arith.as_text(span.copies)}"
    return f"{span.module}: {span.template}{copies}" if span.module else span.template + copies


def quote(text: str) -> str:
    """A DOT string: backslashes and quotes escaped, line breaks as DOT's centred `\\n`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_text(graphs: Sequence[Graph], *, rankdir: str = "TB", title: str | None = None) -> str:
    """One digraph of the graphs (several: one box each, titled by its network's name and input)."""
    out = [
        "digraph cnncalc {",
        f"  graph [rankdir={rankdir}, fontname=Helvetica, fontsize=12, labelloc=t, newrank=true, nodesep=0.3, ranksep=0.35"
        + (f", label={quote(title)}" if title else "") + "];",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname=Helvetica, fontsize=10];',
        "  edge [fontname=Helvetica, fontsize=9];",
    ]  # fmt: skip
    several = len(graphs) > 1
    for index, graph in enumerate(graphs):
        prefix = f"g{index}_"
        indent = "  "
        if several:
            out.append(f"  subgraph cluster_{prefix}network {{")
            out.append(f"    label={quote(title_text(graph.evaluation))}; style=rounded; color=\"#999999\";")
            indent = "    "
        out.extend(_graph_lines(graph, prefix, indent, with_title=not several and title is None))
        if several:
            out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


def _graph_lines(graph: Graph, prefix: str, indent: str, *, with_title: bool) -> list[str]:
    e = graph.evaluation
    out: list[str] = []
    input_label = f"input\n{arith.shape_text(e.shown(e.input))}"
    output_label = f"output\n{arith.shape_text(e.shown(e.output))}"
    if with_title:
        out.append(f"{indent}label={quote(title_text(e))};")
    out.append(f'{indent}{prefix}{INPUT} [label={quote(input_label)}, shape=oval, fillcolor="#ffffff"];')
    children: dict[int, list[int]] = {}
    for index, cluster in enumerate(graph.clusters):
        children.setdefault(cluster.parent, []).append(index)
    held: dict[int, list[Node]] = {}
    for node in graph.nodes:
        held.setdefault(node.cluster, []).append(node)

    def emit(cluster: int, pad: str) -> None:
        for node in held.get(cluster, ()):
            colour = COLOURS.get(family(node), _OTHER)
            extra = ', peripheries=2' if node.copies != 1 else ""
            out.append(f'{pad}{prefix}{node.key} [label={quote(chr(10).join(node_lines(node)))}, fillcolor="{colour}"{extra}];')
        for child in children.get(cluster, ()):
            out.append(f"{pad}subgraph cluster_{prefix}c{child} {{")
            out.append(f'{pad}  label={quote(cluster_label(graph.clusters[child]))}; style="rounded,dashed"; color="#888888"; fontsize=10;')
            emit(child, pad + "  ")
            out.append(f"{pad}}}")

    emit(-1, indent)
    out.append(f'{indent}{prefix}{OUTPUT} [label={quote(output_label)}, shape=oval, fillcolor="#ffffff"];')
    for edge in graph.edges:
        style = ", style=dashed" if edge.skip else ""
        shape = arith.shape_text(e.shown(edge.shape))
        out.append(f"{indent}{prefix}{edge.tail} -> {prefix}{edge.head} [label={quote(shape)}{style}];")
    return out


def drawing(evaluation_sets: list[list[Any]], fmt: str, *, rankdir: str = "TB", depth: int | None = None, expand: bool = False) -> bytes:
    """`cnncalc draw`'s output in `fmt`: dot and tikz as text; svg, png and pdf laid out by
    Graphviz's dot program; html a page holding the SVG and the params and cost tables."""
    from cnncalc.analysis.graph import network_graph

    graphs = [network_graph(e, depth=depth, expand=expand) for evaluations in evaluation_sets for e in evaluations]
    if fmt == "tikz":
        from cnncalc.render.tikz import tikz_text

        return tikz_text(graphs, rankdir=rankdir).encode("utf-8")
    text = dot_text(graphs, rankdir=rankdir)
    if fmt == "dot":
        return text.encode("utf-8")
    from cnncalc.render.layout import run_dot

    if fmt == "html":
        from cnncalc.render.html import html_page

        return html_page(evaluation_sets, run_dot(text, "svg", "html").decode("utf-8"), depth=depth).encode("utf-8")
    return run_dot(text, fmt)
