"""`cnncalc draw -f html`: one self-contained page, the diagram (Graphviz's SVG, inline) and the
`params` and `cost` tables, with its styles inline: no script, no link, nothing fetched."""

from __future__ import annotations

import re
from html import escape
from typing import Any

from cnncalc.render.cost import cost_report
from cnncalc.render.params import params_report
from cnncalc.render.report import Report, Table

_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; } h3 { font-size: 1em; margin: 1.2em 0 0.4em; }
figure.diagram { margin: 0; overflow: auto; border: 1px solid #ddd; padding: 0.5em; }
figure.diagram svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.85em; margin-bottom: 0.4em; }
th, td { border: 1px solid #ccc; padding: 0.15em 0.5em; text-align: left; white-space: pre; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
p.note { font-size: 0.85em; color: #555; margin: 0.2em 0; }
"""


def inline_svg(svg: str) -> str:
    """Graphviz's SVG document as an element for a page: its XML declaration, DOCTYPE and comments dropped."""
    start = svg.find("<svg")
    return re.sub(r"<!--.*?-->\n?", "", svg[start:] if start >= 0 else svg, flags=re.DOTALL).strip()


def table_html(table: Table) -> str:
    """One table as HTML: its title, header, rows (numbers right-aligned) and notes, every cell escaped."""
    table = table.drawn()
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = "\n".join(
        "<tr>" + "".join(f'<td class="number">{escape(c.strip())}</td>' if n else f"<td>{escape(c)}</td>" for c, n in zip(row, table.numeric)) + "</tr>"
        for row in table.rows
    )
    notes = "".join(f'<p class="note">{escape(note)}</p>\n' for note in table.notes)
    return f"<h3>{escape(table.title)}</h3>\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n{notes}"


def report_html(report: Report) -> str:
    return "".join(table_html(t) for t in report.tables)


def html_page(evaluation_sets: list[list[Any]], svg: str, *, depth: int | None = None) -> str:
    """The page: a title, the diagram, the params tables and the cost tables (float32)."""
    names = ", ".join(e.name for evaluations in evaluation_sets for e in evaluations)
    params = params_report(evaluation_sets, explain=False, depth=depth)
    cost = cost_report(evaluation_sets, dtype="float32", flops=False, explain=False, depth=depth)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>cnncalc: {escape(names)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(names)}</h1>\n"
        f'<figure class="diagram">\n{inline_svg(svg)}\n</figure>\n'
        f'<h2 id="params">Parameters</h2>\n{report_html(params)}'
        f'<h2 id="cost">Cost: MACs, cheap ops, memory (float32), receptive field</h2>\n{report_html(cost)}'
        "<p class=\"note\">Made by cnncalc draw -f html.</p>\n</body>\n</html>\n"
    )
