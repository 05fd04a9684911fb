"""Rendering of `cnncalc zoo` (cnncalc/render/zoo.py) from entries, without evaluating the zoo."""

from __future__ import annotations

from cnncalc.analysis.zoo import ZooEntry
from cnncalc.render.zoo import zoo_document, zoo_report

ENTRIES = [
    ZooEntry("net", "A net", (3, 224, 224), (1000,), 11689512, 9620, 1814073344, 0),
    ZooEntry("pair", "Two blocks", (64, 16, 16), (64, 16, 16), None, None, None, 2),
]


def test_zoo_table() -> None:
    (table,) = zoo_report(ENTRIES).tables
    assert table.columns == ("name", "input", "output", "params", "MACs")
    assert table.rows == (
        ("net", "[3, 224, 224]", "[1000]", "11,689,512", "1,814,073,344"),
        ("pair", "[64, 16, 16]", "[64, 16, 16]", "(2 blocks)", "-"),
    )


def test_zoo_document() -> None:
    first, second = zoo_document(ENTRIES)
    assert first == {
        "name": "net",
        "title": "A net",
        "input": [3, 224, 224],
        "output": [1000],
        "params": 11689512,
        "buffers": 9620,
        "macs": 1814073344,
        "standalone_blocks": 0,
    }
    assert second["params"] is None and second["standalone_blocks"] == 2
