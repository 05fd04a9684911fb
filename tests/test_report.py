"""Reports as plain data: Table and Report, and the one CSV sheet a report becomes."""

from __future__ import annotations

import pickle

from cnncalc.render.report import Report, Table, csv_rows

LAYERS = Table("net: input [3, 8, 8]", ("layer", "type", "params"), (("conv", "Conv2d", "1,792"), ("  relu", "ReLU", "0")), (False, False, True))
MORE = Table("other", ("layer", "type", "params", "buffers"), (("bn", "BatchNorm2d", "128", "1,025"),), (False, False, True, True))
BLOCKS = Table("net: blocks", ("block", "layers", "params"), (("stem", "2", "1,792"),), (False, True, True), kind="blocks")


def test_table_is_a_named_tuple_with_defaults() -> None:
    assert LAYERS.notes == () and LAYERS.kind == "layers"
    assert LAYERS._replace(kind="blocks").kind == "blocks"
    assert Table(*LAYERS) == LAYERS
    assert pickle.loads(pickle.dumps(Report((LAYERS,)))) == Report((LAYERS,), ())


def test_csv_concatenates_layer_tables_without_separators() -> None:
    rows = csv_rows(Report((LAYERS, BLOCKS, MORE)))
    assert rows == [
        ["layer", "type", "params", "buffers"],
        ["conv", "Conv2d", "1792", ""],
        ["relu", "ReLU", "0", ""],  # indentation stripped
        ["bn", "BatchNorm2d", "128", "1025"],
    ]


def test_csv_of_a_report_without_layer_tables_is_its_first_table() -> None:
    assert csv_rows(Report((BLOCKS,))) == [["block", "layers", "params"], ["stem", "2", "1792"]]


def test_csv_keeps_commas_in_text_columns() -> None:
    table = Table("t", ("name", "count"), (("a, b", "1,000"),), (False, True))
    assert csv_rows(Report((table,))) == [["name", "count"], ["a, b", "1000"]]
