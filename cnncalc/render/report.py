"""What a command prints for people, as plain data: titled tables of text cells and a worked
explanation. `output.py` draws a Report as a terminal table, plain text, Markdown or CSV."""

from __future__ import annotations

from typing import NamedTuple

Working = tuple[tuple[str, tuple[str, ...]], ...]
"""A worked explanation: (heading, lines) pairs."""


class Table(NamedTuple):
    """A titled table of text cells; `numeric` marks right-aligned columns."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    notes: tuple[str, ...] = ()
    kind: str = "layers"  # "layers" tables are the per-layer ones that CSV concatenates
    spec: str = ""  # the spec a per-layer table belongs to: CSV's `spec` column when they differ
    csv_only: tuple[str, ...] = ()  # columns CSV writes and the drawn tables leave out (a row's path, `layer`)

    def drawn(self) -> Table:
        """The table as drawn for people (terminal, plain text, Markdown): without `csv_only` columns."""
        if not self.csv_only:
            return self
        keep = [i for i, c in enumerate(self.columns) if c not in self.csv_only]
        return self._replace(
            columns=tuple(self.columns[i] for i in keep),
            rows=tuple(tuple(row[i] for i in keep) for row in self.rows),
            numeric=tuple(self.numeric[i] for i in keep),
            csv_only=(),
        )


class Report(NamedTuple):
    """What a command prints for people: tables, then an optional worked explanation."""

    tables: tuple[Table, ...]
    explanation: Working = ()


def csv_rows(report: Report) -> list[list[str]]:
    """CSV: every per-layer table of a report in one sheet, numbers without separators; a first
    column `spec` names each row's spec when the tables come from several (or one at several
    inputs, `resnet50 @ 3x320x240`)."""
    tables = [t for t in report.tables if t.kind == "layers"] or list(report.tables[:1])
    if len({t.spec for t in tables}) > 1:
        tables = [t._replace(columns=("spec", *t.columns), rows=tuple((t.spec, *row) for row in t.rows), numeric=(False, *t.numeric)) for t in tables]
    columns: list[str] = []
    numeric: dict[str, bool] = {}
    for table in tables:
        for column, is_number in zip(table.columns, table.numeric):
            if column not in columns:
                columns.append(column)
                numeric[column] = is_number
    rows = [columns]
    for table in tables:
        for row in table.rows:
            cells = dict(zip(table.columns, row))
            rows.append(
                [
                    cells.get(c, "").strip().replace(",", "") if numeric[c] else cells.get(c, "").strip()
                    for c in columns
                ]
            )
    return rows
