"""`cnncalc draw -f tikz`: the diagram as a standalone LaTeX document (pure text, no layout program).

The layout is a column (`--rankdir TB`) or a row (`LR`) of the nodes in the order the data
flows: each node below (right of) the one before, the edge between them labelled with its
shape; an edge between nodes further apart (a residual shortcut, a branch of `from`) runs beside
the column in a lane of its own, dashed where it is a skip (as in the DOT drawing); a block
call is a dashed box fitted around its label and nodes. Node and edge texts are `dot.py`'s.
Compile with `pdflatex` (packages: standalone, tikz). TeX cannot draw a page longer than about
5.7 m: draw a very deep network with `--depth`.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnncalc import arith
from cnncalc.analysis.graph import INPUT, OUTPUT, Edge, Graph
from cnncalc.render.cells import title_text
from cnncalc.render.dot import COLOURS, cluster_label, family, node_lines

# TeX's specials escaped; <, >, | and " as math or quotes (the default OT1 font has no glyph for them).
_TEX = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#", "^": r"\^{}", "_": r"\_", "%": r"\%",
    "~": r"\~{}", "<": r"$<$", ">": r"$>$", "|": r"$|$", '"': "''",
}  # fmt: skip
_GAP = 0.55  # cm between consecutive nodes
_LANE = 0.4  # cm between skip lanes


def tex(text: str) -> str:
    """Text with TeX's special characters escaped."""
    return "".join(_TEX.get(c, c) for c in text)


def _lines(lines: Sequence[str]) -> str:
    return r"\\{}".join(map(tex, lines))  # `\\{}`: a line that starts with `[` is not an optional argument


def tikz_text(graphs: Sequence[Graph], *, rankdir: str = "TB") -> str:
    """The standalone document (several graphs one after the other, each under its title)."""
    across = rankdir == "LR"
    out = [
        "% Made by cnncalc draw -f tikz. Compile: pdflatex FILE.tex (packages: standalone, tikz).",
        r"\documentclass[tikz,border=6pt]{standalone}",
        r"\usetikzlibrary{shapes.geometric,fit,backgrounds,calc}",
        *(rf"\definecolor{{fill{name}}}{{HTML}}{{{colour[1:].upper()}}}" for name, colour in COLOURS.items()),
        r"\begin{document}",
        r"\begin{tikzpicture}[",
        r"  cclayer/.style={draw, rounded corners=2pt, align=center, font=\footnotesize, inner sep=3pt, fill=white},",
        r"  ccio/.style={draw, ellipse, align=center, font=\footnotesize, inner sep=1pt},",
        r"  ccshape/.style={font=\scriptsize, inner sep=1.5pt},",
        r"  ccflow/.style={-latex},",
        r"  ccskip/.style={-latex, dashed},",
        r"  cccluster/.style={draw=gray, dashed, rounded corners=3pt, inner sep=3pt},",
        r"  cclabel/.style={font=\scriptsize\itshape, text=black!70, inner sep=1pt},",
        r"  cctitle/.style={font=\small\bfseries, inner sep=2pt},",
        "]",
        r"\coordinate (axis) at (0,0);",
    ]
    previous = None
    for index, graph in enumerate(graphs):
        previous = _graph(out, graph, f"g{index}", previous, across)
    out += [r"\end{tikzpicture}", r"\end{document}"]
    return "\n".join(out) + "\n"


def _place(out: list[str], name: str, style: str, text: str, previous: str | None, across: bool, *, side: bool = False) -> None:
    """A node after `previous` along the axis (a label `side`: beside the axis, in a slot of its own)."""
    if previous is None:
        where, anchor = "(axis)", "west" if across else "north"
    elif across:
        where = f"($({previous}.east |- axis) + ({_GAP}, {0.9 if side else 0})$)"
        anchor = "south west" if side else "west"
    else:
        where = f"($({previous}.south -| axis) + ({-0.15 if side else 0}, {-_GAP})$)"
        anchor = "north east" if side else "north"
    out.append(rf"\node[{style}, anchor={anchor}] ({name}) at {where} {{{text}}};")


def _graph(out: list[str], graph: Graph, prefix: str, previous: str | None, across: bool) -> str:
    e = graph.evaluation
    ids = {INPUT: f"{prefix}-input", OUTPUT: f"{prefix}-output"} | {n.key: f"{prefix}-{n.key}" for n in graph.nodes}
    _place(out, f"{prefix}-title", "cctitle", tex(title_text(e)), previous, across, side=True)
    _place(out, ids[INPUT], "ccio", _lines(["input", arith.shape_text(e.shown(e.input))]), f"{prefix}-title", across)
    last = ids[INPUT]
    members: dict[int, list[str]] = {}  # per cluster: its label, nodes and inner clusters
    opened: set[int] = set()
    for node in graph.nodes:
        chain = _ancestors(graph, node.cluster)
        for cluster in chain:
            if cluster not in opened:
                opened.add(cluster)
                name = f"{prefix}-c{cluster}-label"
                _place(out, name, "cclabel", tex(cluster_label(graph.clusters[cluster])), last, across, side=True)
                last = name
                members.setdefault(cluster, []).append(name)
                parent = graph.clusters[cluster].parent
                if parent >= 0:
                    members.setdefault(parent, []).append(f"{prefix}-c{cluster}")
        colour = f"fill{family(node)}" if family(node) in COLOURS else "white"
        double = ", double" if node.copies != 1 else ""
        _place(out, ids[node.key], f"cclayer, fill={colour}{double}", _lines(node_lines(node)), last, across)
        last = ids[node.key]
        if node.cluster >= 0:
            members.setdefault(node.cluster, []).append(last)
    _place(out, ids[OUTPUT], "ccio", _lines(["output", arith.shape_text(e.shown(e.output))]), last, across)
    out.append(r"\begin{pgfonlayer}{background}")
    for cluster in sorted(members, key=lambda c: -len(_ancestors(graph, c))):  # inner boxes first: outer ones fit them
        fitted = " ".join(f"({m})" for m in members[cluster])
        out.append(rf"\node[cccluster, fit={fitted}] ({prefix}-c{cluster}) {{}};")
    out.append(r"\end{pgfonlayer}")
    _edges(out, graph, ids, across)
    return ids[OUTPUT]


def _ancestors(graph: Graph, cluster: int) -> list[int]:
    """The cluster and the clusters holding it, outermost first."""
    chain = []
    while cluster >= 0:
        chain.append(cluster)
        cluster = graph.clusters[cluster].parent
    return chain[::-1]


def _edges(out: list[str], graph: Graph, ids: dict[str, str], across: bool) -> None:
    e = graph.evaluation
    order = {key: i for i, key in enumerate([INPUT, *(n.key for n in graph.nodes), OUTPUT])}
    widest = max((len(line) for n in graph.nodes for line in node_lines(n)), default=10)
    tallest = max((len(node_lines(n)) for n in graph.nodes), default=1)
    base = 0.085 * widest + 0.5 if not across else 0.22 * tallest + 0.5  # beside every node (estimated from its text)
    lanes: list[int] = []  # per lane: the order of the last node its edges reach
    placed: dict[int, int] = {}  # an edge's lane
    def beside(edge: Edge) -> bool:  # not between neighbours in the column: drawn in a lane
        return order[edge.head] != order[edge.tail] + 1

    skips = sorted((i for i, edge in enumerate(graph.edges) if beside(edge)), key=lambda i: (order[graph.edges[i].tail], order[graph.edges[i].head]))
    for i in skips:  # each edge in the first lane free over its stretch (lanes assigned by start)
        start, stop = order[graph.edges[i].tail], order[graph.edges[i].head]
        lane = next((k for k, end in enumerate(lanes) if end <= start), len(lanes))
        if lane == len(lanes):
            lanes.append(stop)
        lanes[lane] = stop
        placed[i] = lane
    for i, edge in enumerate(graph.edges):
        label = tex(arith.shape_text(e.shown(edge.shape)))
        tail, head = ids[edge.tail], ids[edge.head]
        style = "ccskip" if edge.skip else "ccflow"
        if not beside(edge):
            where = "above" if across else "right"
            out.append(rf"\draw[{style}] ({tail}) -- node[ccshape, {where}] {{{label}}} ({head});")
            continue
        offset = base + _LANE * placed[i]
        if across:
            out.append(
                rf"\draw[{style}] ({tail}.south) -- ($({tail}.south |- axis) + (0, {-offset:.2f})$) -- "
                rf"node[ccshape, below] {{{label}}} ($({head}.south |- axis) + (0, {-offset:.2f})$) -- ({head}.south);"
            )
        else:
            out.append(
                rf"\draw[{style}] ({tail}.east) -- ($({tail}.east -| axis) + ({offset:.2f}, 0)$) -- "
                rf"node[ccshape, right] {{{label}}} ($({head}.east -| axis) + ({offset:.2f}, 0)$) -- ({head}.east);"
            )
