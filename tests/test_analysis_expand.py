"""cnncalc.analysis.expand: layer lists walked into rows; repeats and block templates expanded."""

from __future__ import annotations

import textwrap

import pytest

from cnncalc.analysis.expand import Expander, group_name, layer_kind
from cnncalc.analysis.results import Row
from cnncalc.errors import LimitError
from cnncalc.spec import Limits, load_text

SPEC = textwrap.dedent(
    """
    input: [8, 4, 4]
    blocks:
      unit:
        args: {out: null}
        residual: true
        shortcut: [{Conv2d: {out_channels: out, kernel_size: 1}}]
        layers: [{Conv2d: {out_channels: out, kernel_size: 3, padding: 1}}, ReLU]
    layers:
      - unit: {out: 16, repeat: 2, name: u}
      - ReLU: {repeat: 2}
      - Conv2d: {out_channels: 4, kernel_size: 1, from: u}
    """
)


def _expand(limits: Limits = Limits(), plain: bool = True) -> tuple[list[Row], Expander]:
    spec = load_text(SPEC, "t.yaml")
    expander = Expander(spec, {}, explain=False, training=False, limits=limits)
    expander.plain_fast_path = plain
    rows: list[Row] = []
    groups: list[str] = []
    expander.run_list(spec.layers or (), (1, 8, 4, 4), {}, "", 0, rows, local_base=None, on_block=lambda call, path, _: groups.append(path))
    assert groups == ["layers[0].0", "layers[0].1"]
    return rows, expander


def test_repeats_and_blocks_expand_into_rows() -> None:
    rows, expander = _expand()
    assert [r.path for r in rows] == [
        "layers[0].0.layers[0]", "layers[0].0.layers[1]", "layers[0].0.shortcut[0]", "layers[0].0.add",
        "layers[0].1.layers[0]", "layers[0].1.layers[1]", "layers[0].1.add",
        "layers[1].0", "layers[1].1", "layers[2]",
    ]  # fmt: skip
    assert rows[-1].sources == (6,)  # from: u, the last copy's Add
    assert expander.layer_count == len(rows) - 2  # the residual Add rows of evaluated frames are not counted
    assert expander.source == len(rows) - 1
    assert rows[6].group == "u.1" and rows[7].group is None
    assert len(expander.cache) == 2  # unit(16) on [1, 8, 4, 4] and on [1, 16, 4, 4]


def test_the_plain_layer_short_cut_changes_no_row() -> None:
    assert _expand(plain=True)[0] == _expand(plain=False)[0]


def test_too_many_layers_are_refused_with_the_call() -> None:
    with pytest.raises(LimitError, match="too many layers after expansion"):
        _expand(Limits(max_layers=7))


def test_helpers() -> None:
    assert layer_kind("Cat").name == "Concat"
    spec = load_text(SPEC, "t.yaml")
    assert spec.layers is not None
    assert group_name(spec.layers[0], "layers[0].1") == "u.1"
    assert group_name(spec.layers[1], "layers[1]") == "layers[1] (ReLU)"
