"""cnncalc.analysis.results: rows, groups, evaluations, their totals, and rows re-rooted."""

from __future__ import annotations

import fractions

from cnncalc import arith
from cnncalc.analysis.results import Evaluation, Group, Row, placed, shape_text, totals
from cnncalc.spec.model import new_tuple


def _row(path: str, params: object = 10, sources: tuple[int, ...] = (-1,)) -> Row:
    return Row(path, "Conv2d", ((1, 3, 8, 8),), (1, 4, 8, 8), params, 4, 0, 100, 1, sources=sources)


def test_new_tuple_builds_the_same_row() -> None:
    row = _row("a")
    assert new_tuple(Row, tuple(row)) == row and type(new_tuple(Row, tuple(row))) is Row
    assert row.input == (1, 3, 8, 8) and row.group is None and row.steps == () and row.args == ()


def test_totals_sum_exactly_with_or_without_symbols() -> None:
    assert totals([_row("a"), _row("b", 5)]) == (15, 8, 0, 200)
    assert totals([]) == (0, 0, 0, 0)
    assert totals([_row("a", fractions.Fraction(1, 2)), _row("b", fractions.Fraction(1, 2))])[0] == 1
    k = arith.symbol("k")
    assert totals([_row("a", k), _row("b", k)])[0] == 2 * k


def test_placed_reroots_paths_depths_sources_and_groups() -> None:
    rows = [_row("blocks.b.layers[0]", sources=(-1,)), _row("blocks.b.layers[1]", sources=(0,)), _row("blocks.b.add", sources=(1, -1))]
    moved = placed(rows, "layers[3]", 2, len("blocks.b"), source=7, start=10, group="stage")
    assert [r.path for r in moved] == ["layers[3].layers[0]", "layers[3].layers[1]", "layers[3].add"]
    assert [r.sources for r in moved] == [(7,), (10,), (11, 7)]
    assert {r.depth for r in moved} == {3} and {r.group for r in moved} == {"stage"}
    assert placed(rows, "", 0) == rows  # nothing to change: equal rows


def test_group_and_evaluation_properties() -> None:
    group = Group("stage", "unit", 10, 4, 0, 100, 3)
    assert group.params_no_bias == 6
    evaluation = Evaluation("net", "net", (2, 3, 8, 8), (2, 4), (), (group,), 10, 4, 0, 100, 2, False)
    assert evaluation.params_no_bias == 6 and evaluation.shown(evaluation.input) == (3, 8, 8)
    assert not evaluation.standalone and evaluation._replace(name="stage").standalone
    assert evaluation._replace(batch_in_shapes=True).shown((2, 4)) == (2, 4)
    assert shape_text((1, arith.symbol("h"), 8)) == "[1, h, 8]"
