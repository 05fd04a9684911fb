"""The layer registry: every kind declares its knowledge in its family module, and the generic
walkers (cost, receptive field) never dispatch on layer names."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc.layers import ALIASES, AXES, FAMILIES, KINDS, OP_KINDS, lookup

from .conftest import ROOT

PACKAGE = ROOT / "cnncalc"


def test_kinds_come_from_their_family_modules() -> None:
    for family in FAMILIES:
        for kind in family.kinds():
            assert KINDS[kind.name].family == family.FAMILY
    assert len({k.name for f in FAMILIES for k in f.kinds()}) == len(KINDS)  # no name declared twice


def test_aliases_name_known_kinds() -> None:
    for alias, name in ALIASES.items():
        assert lookup(alias) is KINDS[name]


def test_declared_rules_are_consistent() -> None:
    for kind in KINDS.values():
        assert (kind.cheap is None) == (kind.op_kind is None), kind.name
        assert kind.op_kind is None or kind.op_kind in OP_KINDS, kind.name
        assert kind.mac_kind in ("", "conv", "linear"), kind.name
        assert (kind.mac_kind == "") == (kind.macs_doc == "0"), kind.name
        assert kind.spatial in (0, *AXES), kind.name
        assert all(p.kind in ("int", "ints", "size", "bool", "number", "padding", "str", "any") for p in kind.params), kind.name


def test_merges_take_two_or_more_inputs_and_have_a_union_field() -> None:
    from cnncalc.layers.fields import Union

    for kind in KINDS.values():
        if kind.inputs > 1:
            assert kind.field is not None
            assert isinstance(kind.field(kind, {"dim": 1}, ((1, 2, 3, 3), (1, 2, 3, 3)), (1, 4, 3, 3)), Union)


@pytest.mark.parametrize("path", sorted((PACKAGE / "layers").glob("*.py")), ids=lambda p: p.name)
def test_family_modules_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 500


@pytest.mark.parametrize("name", ["analysis/cost.py", "analysis/receptive.py"])
def test_walkers_never_name_a_layer(name: str) -> None:
    """No `row.type == "Linear"`, no startswith("Conv"), no category tests: the kind is asked."""
    source = (PACKAGE / name).read_text()
    names = set(KINDS) | set(ALIASES) | {"Conv", "ConvTranspose", "MaxPool", "AvgPool", "Adaptive", "Pad1d", "Pad2d", "Pad3d"}
    quoted = set(re.findall(r"[\"']([A-Za-z0-9]+)[\"']", source))
    assert quoted & names == set()
    assert ".category" not in source and "startswith(" not in source and "endswith(" not in source


def test_cost_does_not_import_render() -> None:
    assert "cnncalc.render" not in (PACKAGE / "analysis" / "cost.py").read_text()


def test_a_numeric_run_defines_no_field_descriptions() -> None:
    """The receptive-field descriptions (NamedTuples) stay off the start-up path of params/shape."""
    code = (
        "import sys\n"
        "from cnncalc.cli import main\n"
        "try:\n    main(['params', 'configs/resnet50.yaml', '--format', 'json'], prog_name='cnncalc')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "sys.stderr.write(' '.join(sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    modules = set(done.stderr.split())
    assert "cnncalc.layers.pool" in modules
    assert {"cnncalc.layers.fields", "cnncalc.layers.docs", "fractions", "dataclasses"} & modules == set()
