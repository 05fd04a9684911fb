"""A network as a graph to draw (`cnncalc draw`): nodes, the edges its data takes, block calls as clusters.

A view of an evaluation, as `fold` is (numbers and rows, no text): one node per row, except

- with `depth`, each block call at depth N - 1 is one node (`fold`), and
- unless `expand`, the copies of a `repeat` of two or more (or of a symbolic count) are one
  node standing for them all: its params, buffers and MACs summed over the copies, its input
  the first copy's and its output the last copy's. A repeat of one copy (`repeat: "1 if se
  else 0"`, `blocks - 1` with two blocks) is drawn as that copy.

Edges follow `Row.sources`: one per input of a row, from the node that produced it (the
network's input for -1) carrying that tensor's shape. A skip is an edge that leaves a tensor used
more than once for a node further on than the next one: a residual shortcut, a branch of `from`
(the last edge of a branch, into a Concat or an Add, continues its line and is no skip). The
block calls left (not folded, not inside a collapsed repeat) are clusters, nested as the calls are.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, NamedTuple

from cnncalc import arith
from cnncalc.analysis.fold import fold
from cnncalc.analysis.results import Evaluation, Row, Span, totals
from cnncalc.layers import Shape

INPUT = "input"  # the tail of edges from the network's input
OUTPUT = "output"  # the head of the edge to the network's output

# A repeat copy's segment of a row path: `.3` after the call's path, `.0:n` for a symbolic count.
_COPY = re.compile(r"\.(\d+|0:[^.\[]+)(?=$|[.\[])")


class Node(NamedTuple):
    """One drawn layer, folded block call or collapsed repeat."""

    key: str  # "n0", "n1", ... in drawing order
    row: Row  # the layer's row (a collapsed repeat: its counts summed, its path the repeat's call)
    copies: Any  # how many copies it stands for: 1, N for a collapsed repeat, n for a symbolic repeat
    cluster: int  # the innermost cluster holding it (index in Graph.clusters), -1 for none
    first: str = ""  # a collapsed repeat: the module names of its first and last copy
    last: str = ""


class Edge(NamedTuple):
    """A tensor going from one node to another."""

    tail: str  # a node's key, or INPUT
    head: str  # a node's key, or OUTPUT
    shape: Shape  # as the evaluation holds it (batch first; `Evaluation.shown` for users)
    skip: bool  # a tensor used again further on: a residual shortcut or a branch of `from`


class Cluster(NamedTuple):
    """A block call drawn as a box around its nodes."""

    span: Span
    parent: int  # the cluster it sits in, -1 for none


class Graph(NamedTuple):
    evaluation: Evaluation  # folded when drawn with a depth
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    clusters: tuple[Cluster, ...]


class _Repeat(NamedTuple):
    start: int
    stop: int
    prefix: str  # the repeated call's path
    copies: Any
    first: str  # the first copy's segment ("0", or "0:n")
    last: str


def network_graph(evaluation: Evaluation, *, depth: int | None = None, expand: bool = False) -> Graph:
    """The evaluation as a graph (see the module's docstring)."""
    e = evaluation if depth is None else fold(evaluation, depth)[0]
    rows = e.rows
    repeats = [] if expand else _repeats(rows)
    spans = [s for s in e.spans if s.stop > s.start and not any(_inside(s, r) for r in repeats)]
    clusters, innermost = _clusters(spans, len(rows))
    node_of = [0] * len(rows)
    nodes: list[Node] = []
    grouped: set[int] = set()  # the collapsed repeats' nodes
    i = 0
    k = 0
    while i < len(rows):
        if k < len(repeats) and repeats[k].start == i:
            r = repeats[k]
            k += 1
            grouped.add(len(nodes))
            nodes.append(_collapsed(e, r, len(nodes), innermost[i]))
            node_of[r.start : r.stop] = [len(nodes) - 1] * (r.stop - r.start)
            i = r.stop
            continue
        row = rows[i]
        nodes.append(Node(f"n{len(nodes)}", row, row.copies, innermost[i]))
        node_of[i] = len(nodes) - 1
        i += 1
    edges: list[Edge] = []
    seen: set[tuple[int, int, Shape]] = set()  # the edges into collapsed repeats
    for index, row in enumerate(rows):
        head = node_of[index]
        for position, source in enumerate(row.sources):
            tail = node_of[source] if source >= 0 else -1
            shape = row.inputs[position] if position < len(row.inputs) else row.input
            if tail == head:
                continue  # inside one collapsed repeat
            if head in grouped:  # a collapsed repeat: one edge per tensor coming in, whichever copies read it
                if (tail, head, shape) in seen:
                    continue
                seen.add((tail, head, shape))
            edges.append(Edge(INPUT if tail < 0 else nodes[tail].key, nodes[head].key, shape, tail != head - 1))
    last = nodes[node_of[-1]].key if rows else INPUT
    edges.append(Edge(last, OUTPUT, e.output, False))
    fan = Counter(edge.tail for edge in edges)
    edges = [edge._replace(skip=False) if edge.skip and fan[edge.tail] == 1 else edge for edge in edges]
    return Graph(e, tuple(nodes), tuple(edges), tuple(clusters))


def _repeats(rows: tuple[Row, ...], start: int = 0, stop: int | None = None, offset: int = 0) -> list[_Repeat]:
    """The runs of rows[start:stop] that are the copies of one `repeat` of two or more (or of a
    symbolic count), outermost first, in row order; `offset`: where in the paths to look."""
    found: list[_Repeat] = []
    stop = len(rows) if stop is None else stop
    i = start
    while i < stop:
        match = _COPY.search(rows[i].path, offset)
        if match is None:
            i += 1
            continue
        prefix = rows[i].path[: match.start()]
        copies = [match.group(1)]
        j = i + 1
        while j < stop and rows[j].path.startswith(prefix) and (m := _COPY.match(rows[j].path, len(prefix))) is not None:
            if m.group(1) != copies[-1]:
                copies.append(m.group(1))
            j += 1
        count: Any = rows[i].copies if ":" in copies[0] else len(copies)  # symbolic: one copy's rows stand for all
        if arith.is_symbolic(count) or count >= 2:
            found.append(_Repeat(i, j, prefix, count, copies[0], copies[-1]))
        else:  # one copy: drawn as it is, repeats inside it collapsed
            found += _repeats(rows, i, j, match.end())
        i = j
    return found


def _inside(span: Span, repeat: _Repeat) -> bool:
    return repeat.start <= span.start and span.stop <= repeat.stop and span.path.startswith(repeat.prefix + ".")


def _collapsed(e: Evaluation, r: _Repeat, index: int, cluster: int) -> Node:
    """One node for a repeat's copies: its template (or layer type), the first copy's input,
    the last copy's output, the counts of every copy."""
    members = e.rows[r.start : r.stop]
    first_path, last_path = f"{r.prefix}.{r.first}", f"{r.prefix}.{r.last}"
    calls = {s.path: s for s in e.spans if s.path in (first_path, last_path)}
    first, last = calls.get(first_path), calls.get(last_path)
    head, tail = members[0], members[-1]
    kind = first.template if first is not None else head.type
    params, bias, buffers, macs = totals(members)
    copies = r.copies
    row = head._replace(
        path=r.prefix, type=kind, inputs=(first.input,) if first is not None else head.inputs, output=tail.output,
        params=params, bias=bias, buffers=buffers, macs=macs, steps=(), args=() if first is not None else head.args, copies=copies,
        module=first.module if first is not None else head.module,
    )
    return Node(
        f"n{index}", row, copies, cluster,
        first.module if first is not None else head.module, last.module if last is not None else tail.module,
    )  # fmt: skip


def _clusters(spans: list[Span], count: int) -> tuple[list[Cluster], list[int]]:
    """The spans as nested clusters (each one's parent: the innermost span holding it), and per
    row the innermost cluster holding it (-1 for none)."""
    order = sorted(spans, key=lambda s: (s.start, -s.stop, len(s.path)))
    clusters: list[Cluster] = []
    innermost = [-1] * count
    stack: list[int] = []
    for span in order:
        while stack and not _holds(clusters[stack[-1]].span, span):
            stack.pop()
        clusters.append(Cluster(span, stack[-1] if stack else -1))
        stack.append(len(clusters) - 1)
        innermost[span.start : span.stop] = [len(clusters) - 1] * (span.stop - span.start)
    return clusters, innermost


def _holds(outer: Span, inner: Span) -> bool:
    return outer.start <= inner.start and inner.stop <= outer.stop and inner.path.startswith(outer.path) and inner.path != outer.path
