"""Drawing reports: tables for people (plain ASCII when piped; rich, imported only here, on a terminal), Markdown, CSV, JSON."""

from __future__ import annotations

import sys
from typing import IO, Any

from cnncalc.render.report import Report, Table, csv_rows


def write_json(document: Any, stream: IO[str] | None = None) -> None:
    """JSON, one trailing newline; laid out by `json_text`, written piece by piece."""
    out = stream or sys.stdout
    for part in json_parts(document):
        out.write(part)
    out.write("\n")


def json_text(value: Any) -> str:
    """JSON indented by two spaces down to the innermost objects, each written on one line.

    `{"layers": [...]}` gets one layer per line (`{"path": "layers[0]", "type": "Conv2d", ...}`):
    as readable as `indent=2` and a fifth of its size, and written by json's C encoder, where
    `indent=` falls back to pure Python (5x slower; seconds for 100,000 layers).
    """
    return "".join(json_parts(value))


def json_parts(value: Any) -> list[str]:
    """`json_text` in pieces (a 100,000-layer document need not be joined into one string)."""
    import json  # here, not at the top: a table run does not need it

    parts: list[str] = []
    _layout(value, "", parts, json.JSONEncoder(ensure_ascii=False, check_circular=False).encode)
    return parts


def _holds_objects(value: Any) -> bool:
    # Looks one level down only (and at a list's first item): the answer shapes the layout, never the content.
    if isinstance(value, dict):
        return any(isinstance(v, dict) or (isinstance(v, (list, tuple)) and v and isinstance(v[0], dict)) for v in value.values())
    return isinstance(value, (list, tuple)) and any(isinstance(v, dict) for v in value)


def _layout(value: Any, indent: str, parts: list[str], encode: Any) -> None:
    if not _holds_objects(value):
        parts.append(encode(value))
        return
    inner = indent + "  "
    if isinstance(value, dict):
        parts.append("{")
        for index, (key, item) in enumerate(value.items()):
            parts.append(("\n" if index == 0 else ",\n") + inner + encode(str(key)) + ": ")
            _layout(item, inner, parts, encode)
        parts.append("\n" + indent + "}")
    elif (laid := _objects_of_leaves(value, inner, encode)) is not None:
        parts.append(laid + "\n" + indent + "]")
    elif value and set(map(type, value)) == {dict} and (text := encode(value)).count("{") == len(value) == text.count("}, {") + 1:
        # A list of flat objects (one "{" each, and no "}, {" inside a string, or the counts
        # would differ): encoded in one call and split where one object ends and the next begins.
        parts.append("[\n" + inner + "{" + ("},\n" + inner + "{").join(text[2:-2].split("}, {")) + "}\n" + indent + "]")
    else:
        parts.append("[")
        for index, item in enumerate(value):
            parts.append(("\n" if index == 0 else ",\n") + inner)
            _layout(item, inner, parts, encode)
        parts.append("\n" + indent + "]")


def _objects_of_leaves(items: Any, inner: str, encode: Any) -> str | None:
    """A list of objects whose values are each written on one line (a layer's path, type,
    counts, shapes, a flat receptive-field object), laid out as `_layout` lays it out (an object
    holding an object spread over lines, key by key; any other on one line), or None when that
    does not apply (the text stops before the closing bracket's line).

    Each value is encoded as json's encoder does, once: the rows of repeated layers share their
    values, found again by id (the document holds every value, so an id stays its value's).
    Every object of the list is looked at before anything is written (no partial output)."""
    if not items or type(items[0]) is not dict:
        return None
    from json.encoder import encode_basestring  # what JSONEncoder(ensure_ascii=False) uses for strings

    deeper = inner + "  "
    end = "\n" + inner + "}"
    texts: dict[int, str] = {}  # a value's one-line text, by id
    objects: dict[int, str] = {}  # the same for the values that are objects (their holder is spread over lines)
    forms: dict[tuple[Any, ...], tuple[list[str], list[str]]] = {}  # key names, spread over lines and on one line
    parts = []
    for item in items:
        if type(item) is not dict or not item:
            return None
        keys = tuple(item)
        form = forms.get(keys)
        if form is None:
            if not all(type(key) is str for key in keys):
                return None  # json writes True as "true", str() as "True": left to the general layout
            quoted = [encode(key) + ": " for key in keys]
            spread = ["\n" + deeper + quoted[0]] + [",\n" + deeper + q for q in quoted[1:]]
            form = forms[keys] = (spread, quoted[:1] + [", " + q for q in quoted[1:]])
        found = []
        laid = False
        for value in item.values():
            kind = type(value)
            if kind is str:  # strings and ints: quicker written again than looked up
                found.append(encode_basestring(value))
                continue
            if kind is int:
                found.append(int.__repr__(value))
                continue
            text = texts.get(id(value))
            if text is None:
                text = objects.get(id(value))
                if text is not None:
                    laid = True
                elif value is None or kind is bool or kind is float:
                    text = texts[id(value)] = encode(value)
                elif _holds_objects(value):
                    return None  # spans lines: left to the general layout
                elif isinstance(value, dict):
                    text = objects[id(value)] = encode(value)
                    laid = True
                else:
                    text = texts[id(value)] = encode(value)
            found.append(text)
        if laid:
            parts.append(",\n" + inner + "{" + "".join(map(str.__add__, form[0], found)) + end)
        else:
            parts.append(",\n" + inner + "{" + "".join(map(str.__add__, form[1], found)) + "}")
    parts[0] = parts[0][1:]  # the first object is not preceded by a comma
    return "[" + "".join(parts)


def write_report(report: Report, fmt: str, stream: IO[str] | None = None) -> None:
    """Draw a report as 'table', 'markdown' or 'csv'."""
    out = stream or sys.stdout
    if fmt == "markdown":
        out.write(markdown(report))
    elif fmt == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerows(csv_rows(report))
    elif out.isatty():
        _rich(report, out)
    else:
        out.write(plain_text(report))


def markdown(report: Report) -> str:
    """GitHub-flavoured Markdown: a heading and a pipe table per table, notes as paragraphs."""
    parts: list[str] = []
    for table in map(Table.drawn, report.tables):
        parts.append(f"### {_md(table.title)}\n")
        parts.append("| " + " | ".join(_md(c) for c in table.columns) + " |")
        parts.append("|" + "|".join("---:" if n else "---" for n in table.numeric) + "|")
        parts.extend("| " + " | ".join(row) + " |" for row in zip(*([_md(c.strip()) for c in column] for column in zip(*table.rows))))
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


# Tables are laid out here, not by rich.Table: rich measures, wraps and renders every cell
# through its segment pipeline (about 70 ms for resnet50's 180 rows); the layout is the same.


def _cell_len(text: str) -> int:
    """Terminal columns of a cell (wide East-Asian characters take two)."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def _widths(table: Table) -> list[int]:
    widths = [_cell_len(c) for c in table.columns]
    for i, column in enumerate(zip(*table.rows)):
        n = max(map(len, column)) if "".join(column).isascii() else max(map(_cell_len, column))
        if n > widths[i]:
            widths[i] = n
    return widths


def _cells(cells: tuple[str, ...], widths: list[int], numeric: tuple[bool, ...]) -> list[str]:
    """Each cell padded to its column: right-aligned in numeric columns, one space either side."""
    out = []
    for cell, width, right in zip(cells, widths, numeric):
        fill = " " * (width - _cell_len(cell))
        out.append(" " + (fill + cell if right else cell + fill) + " ")
    return out


def _lines(table: Table, widths: list[int], left: str, between: str, right: str) -> list[str]:
    """The table's rows as lines, each cell padded to its column (as `_cells` pads one row),
    laid out a column at a time: str.rjust and str.ljust run in C, a loop per cell does not."""
    columns = []
    for column, width, numeric in zip(zip(*table.rows), widths, table.numeric):
        if "".join(column).isascii():
            columns.append([c.rjust(width) if numeric else c.ljust(width) for c in column])
        else:  # wide characters: pad by terminal columns
            columns.append([c[1:-1] for c in (_cells((c,), [width], (numeric,))[0] for c in column)])
    return [left + between.join(cells) + right for cells in zip(*columns)]


def plain_text(report: Report) -> str:
    """Tables as plain ASCII (what a pipe gets): rich's ASCII2 box, no colour, never truncated."""
    lines: list[str] = []
    for index, table in enumerate(map(Table.drawn, report.tables)):
        if index:
            lines.append("")
        widths = _widths(table)
        rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        if table.title:
            lines.append(table.title + " " * (len(rule) - _cell_len(table.title)))
        lines.append(rule)
        lines.append("|" + "|".join(_cells(table.columns, widths, table.numeric)) + "|")
        lines.append(rule)
        lines.extend(_lines(table, widths, "| ", " | ", " |"))
        lines.append(rule)
        lines.extend(table.notes)
    if report.explanation:
        lines += ["", "Working"]
        for head, steps in report.explanation:
            lines.append(head)
            lines.extend("    " + step for step in steps)
    return "\n".join(lines) + "\n"


def _rich(report: Report, out: IO[str]) -> None:
    """Tables on a terminal: rich's SIMPLE_HEAD look (italic title, bold header), through rich so
    that NO_COLOR, TERM and the terminal's colour system are honoured."""
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, force_terminal=True, highlight=False, emoji=False, markup=False)
    for index, table in enumerate(map(Table.drawn, report.tables)):
        if index:
            console.print()
        widths = _widths(table)
        width = sum(w + 3 for w in widths) + 1
        text = Text()
        if table.title:
            text.append(table.title + " " * (width - _cell_len(table.title)), style="italic")
            text.append("\n")
        text.append(" " * width + "\n ")
        for cell in _cells(table.columns, widths, table.numeric):
            text.append(cell, style="bold")
            text.append(" ")
        text.append("\n " + "\u2500" * (width - 2) + " \n")
        if table.rows:
            text.append("\n".join(_lines(table, widths, "  ", "   ", "  ")) + "\n")
        text.append(" " * width)
        console.print(text, soft_wrap=True)
        for note in table.notes:
            console.print(Text(note))
    if report.explanation:
        console.print()
        console.print(Text("Working", style="bold"))
        for head, steps in report.explanation:
            console.print(Text(head, style="bold"))
            for step in steps:
                console.print(Text("    " + step))
