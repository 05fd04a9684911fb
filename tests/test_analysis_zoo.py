"""cnncalc.analysis.zoo: the shipped specs, evaluated for the `zoo` listing."""

from __future__ import annotations

from cnncalc.analysis.zoo import ZooEntry, zoo_entries
from cnncalc.spec.zoo import zoo_names


def test_every_shipped_spec_is_listed_with_its_totals() -> None:
    entries = zoo_entries()
    assert [e.name for e in entries] == list(zoo_names())
    by_name = {e.name: e for e in entries}
    resnet = by_name["resnet50"]
    assert isinstance(resnet, ZooEntry)
    assert resnet.input == (3, 224, 224) and resnet.output == (1000,)
    assert resnet.params == 25_557_032 and resnet.blocks == 0
    assert all((e.params is None) == (e.blocks > 0) for e in entries)
