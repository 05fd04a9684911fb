"""Markdown output renders as real tables: checked with a CommonMark renderer, not by eye.

Every `--format markdown` document of shape, params, cost, bottleneck, zoo and derive is parsed
with markdown-it-py (CommonMark plus its table rule, the way GitHub and most renderers read
pipe tables). A pipe table whose header and delimiter rows disagree in cell count is not a
table to a renderer at all: it shows as a paragraph of pipes.
"""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from cnncalc.cli import main
from cnncalc.render import output
from cnncalc.render.report import Report, Table

from .conftest import CONFIGS, SEED

DOCUMENTS: dict[str, list[str]] = {
    "shape resnet18": ["shape", str(CONFIGS / "resnet18.yaml")],
    "shape seed --explain": ["shape", SEED, "--explain"],
    "shape inline": ["shape", "--input", "3,32,32", "Conv2d(3, 8, 3, padding=1)", "MaxPool2d(2)"],
    "params seed (blocks only)": ["params", SEED],
    "params seed --explain": ["params", SEED, "--explain"],
    "params inline": ["params", "--input", "1,3,32,32", "Conv2d(3, 8, 3)", "BatchNorm2d(8)"],
    "params inline (no buffers)": ["params", "--input", "3,32,32", "Conv2d(3, 8, 3)", "ReLU()"],
    "params resnet18": ["params", str(CONFIGS / "resnet18.yaml")],
    "params two specs": ["params", str(CONFIGS / "resnet18.yaml"), str(CONFIGS / "resnet34.yaml")],
    "params mobilenet_v2 (buffers)": ["params", str(CONFIGS / "mobilenet_v2.yaml")],
    "cost resnet18": ["cost", str(CONFIGS / "resnet18.yaml")],
    "cost seed --explain": ["cost", SEED, "--explain"],
    "bottleneck seed": ["bottleneck", SEED, "--reduce", "0.5-0.6"],
    "bottleneck seed --explain": ["bottleneck", SEED, "--reduce", "0.5-0.6", "--explain"],
    "bottleneck two widths": ["bottleneck", str(CONFIGS / "bottleneck_two_widths.yaml"), "--reduce", "0.5-0.6"],
    "zoo": ["zoo"],
    "derive bn": ["derive", "bn"],
    "derive softmax-ce": ["derive", "softmax-ce"],
}


def _pipe_tables(source: str) -> list[list[str]]:
    """The source lines of each pipe table: a run of lines that start with '|'."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in source.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def _rendered_tables(source: str) -> list[list[int]]:
    """Cells per row (header first) of every table the renderer found."""
    tables: list[list[int]] = []
    cells = 0
    for token in MarkdownIt("commonmark").enable("table").parse(source):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            cells = 0
        elif token.type in ("th_open", "td_open"):
            cells += 1
        elif token.type == "tr_close":
            tables[-1].append(cells)
    return tables


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_markdown_tables_render_as_tables(runner: CliRunner, name: str) -> None:
    """Each pipe table in the source is a table to the renderer, with every cell of every row."""
    result = runner.invoke(main, [*DOCUMENTS[name], "--format", "markdown"])
    assert result.exit_code == 0, result.output
    source_tables = _pipe_tables(result.stdout)
    rendered = _rendered_tables(result.stdout)
    assert len(rendered) == len(source_tables), "a pipe table that no renderer shows as a table"
    for lines, cells in zip(source_tables, rendered):
        header = lines[0].count(" | ") + 1
        assert len(lines) == len(cells) + 1, "every row but the delimiter row is a table row"
        assert cells == [header] * len(cells), lines[0]


def test_the_documents_hold_tables(runner: CliRunner) -> None:
    """The check above is not vacuous: the table commands do print tables."""
    result = runner.invoke(main, ["params", SEED, "--format", "markdown"])
    assert len(_rendered_tables(result.stdout)) == 3


# ----------------------------------------------------------------------------- drawing, unit by unit

SMALL = Report(
    (
        Table("net: input [3, 8, 8]", ("layer", "type", "params"), (("conv", "Conv2d", "1,792"), ("  relu", "ReLU", "0")), (False, False, True), ("params 1,792",)),
        Table("a|b", ("x",), (("1|2",),), (True,), kind="blocks"),
    ),
    (("conv Conv2d: [3, 8, 8] -> [64, 8, 8]", ("params = 1,792",)),),
)


def test_plain_text_drawing() -> None:
    assert output.plain_text(SMALL) == (
        "net: input [3, 8, 8]        \n"
        "+--------+--------+--------+\n"
        "| layer  | type   | params |\n"
        "+--------+--------+--------+\n"
        "| conv   | Conv2d |  1,792 |\n"
        "|   relu | ReLU   |      0 |\n"
        "+--------+--------+--------+\n"
        "params 1,792\n"
        "\n"
        "a|b    \n"
        "+-----+\n"
        "|   x |\n"
        "+-----+\n"
        "| 1|2 |\n"
        "+-----+\n"
        "\n"
        "Working\n"
        "conv Conv2d: [3, 8, 8] -> [64, 8, 8]\n"
        "    params = 1,792\n"
    )


def test_markdown_drawing() -> None:
    assert output.markdown(SMALL) == (
        "### net: input [3, 8, 8]\n\n"
        "| layer | type | params |\n"
        "|---|---|---:|\n"
        "| conv | Conv2d | 1,792 |\n"
        "| relu | ReLU | 0 |\n"
        "\n"
        "params 1,792\n\n"
        "### a\\|b\n\n"
        "| x |\n"
        "|---:|\n"
        "| 1\\|2 |\n"
        "\n"
        "### Working\n\n"
        "- **conv Conv2d: [3, 8, 8] -> [64, 8, 8]**\n"
        "  - `params = 1,792`\n"
    )


def test_csv_and_plain_through_write_report() -> None:
    stream = io.StringIO()
    output.write_report(SMALL, "csv", stream)
    assert stream.getvalue() == "layer,type,params\nconv,Conv2d,1792\nrelu,ReLU,0\n"
    stream = io.StringIO()  # not a terminal: plain text, no colour
    output.write_report(SMALL, "table", stream)
    assert stream.getvalue() == output.plain_text(SMALL)


def test_wide_characters_take_two_columns() -> None:
    table = Table("", ("name",), (("\u6df1\u5ea6",), ("ab",)), (False,))
    lines = output.plain_text(Report((table,))).splitlines()
    assert lines[0] == "+------+" and lines[3] == "| \u6df1\u5ea6 |" and lines[4] == "| ab   |"


def test_json_layout() -> None:
    document = {"name": "n", "input": [3, 8, 8], "layers": [{"path": "a", "n": 1}, {"path": "b, {x}", "n": 2}], "empty": []}
    assert output.json_text(document) == (
        "{\n"
        '  "name": "n",\n'
        '  "input": [3, 8, 8],\n'
        '  "layers": [\n'
        '    {"path": "a", "n": 1},\n'
        '    {"path": "b, {x}", "n": 2}\n'
        "  ],\n"
        '  "empty": []\n'
        "}"
    )
    assert json.loads(output.json_text(document)) == document
    tricky = [{"s": "}, {"}, {"s": "x"}]  # a separator inside a string: laid out one by one, still valid
    assert json.loads(output.json_text({"rows": tricky})) == {"rows": tricky}
