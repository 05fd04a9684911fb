"""Drawing reports: rich tables for people (rich imported only here, only for tables), Markdown, CSV, JSON."""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from .render import Report, Table, csv_rows

FORMATS = ("table", "json", "csv", "markdown")


def write_json(document: Any, stream: IO[str] | None = None) -> None:
    """JSON, indented, one trailing newline."""
    out = stream or sys.stdout
    out.write(json.dumps(document, indent=2, ensure_ascii=False))
    out.write("\n")


def write_report(report: Report, fmt: str, stream: IO[str] | None = None) -> None:
    """Draw a report as 'table', 'markdown' or 'csv'."""
    out = stream or sys.stdout
    if fmt == "markdown":
        out.write(markdown(report))
    elif fmt == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerows(csv_rows(report))
    else:
        _rich(report, out)


def markdown(report: Report) -> str:
    """GitHub-flavoured Markdown: a heading and a pipe table per table, notes as paragraphs."""
    parts: list[str] = []
    for table in report.tables:
        parts.append(f"### {_md(table.title)}\n")
        parts.append("| " + " | ".join(_md(c) for c in table.columns) + " |")
        parts.append("|" + "|".join("---:" if n else "---" for n in table.numeric) + "|")
        for row in table.rows:
            parts.append("| " + " | ".join(_md(c.strip()) for c in row) + " |")
        parts.append("")
        for note in table.notes:
            parts.append(_md(note) + "\n")
    if report.explanation:
        parts.append("### Working\n")
        for head, steps in report.explanation:
            parts.append(f"- **{_md(head)}**")
            for step in steps:
                parts.append(f"  - `{step}`")
        parts.append("")
    return "\n".join(parts).rstrip("\n") + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _rich(report: Report, out: IO[str]) -> None:
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    terminal = out.isatty()
    console = Console(
        file=out,
        force_terminal=terminal,
        no_color=not terminal,
        width=None if terminal else 240,
        highlight=False,
        emoji=False,
        markup=False,
    )
    for index, table in enumerate(report.tables):
        if index:
            console.print()
        drawn = RichTable(title=table.title, title_justify="left", show_lines=False, box=_box(terminal))
        for column, numeric in zip(table.columns, table.numeric):
            drawn.add_column(column, justify="right" if numeric else "left", no_wrap=True)
        for row in table.rows:
            drawn.add_row(*(Text(c) for c in row))
        console.print(drawn)
        for note in table.notes:
            console.print(Text(note))
    if report.explanation:
        console.print()
        console.print(Text("Working", style="bold"))
        for head, steps in report.explanation:
            console.print(Text(head, style="bold"))
            for step in steps:
                console.print(Text("    " + step))


def _box(terminal: bool) -> Any:
    from rich import box

    return box.SIMPLE_HEAD if terminal else box.ASCII2
