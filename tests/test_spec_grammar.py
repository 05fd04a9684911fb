"""The grammar of issue 14 in specs, end to end: the copy index inside `repeat`, layer types as
template arguments, conditionals and units in arguments, through the CLI (exit codes and
located messages) and the shipped configs that use them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc.analysis import outcomes
from cnncalc.analysis.evaluate import evaluate_spec
from cnncalc.cli import main
from cnncalc.spec import load_path, load_text

from .conftest import CONFIGS


def run(tmp_path: Path, text: str, *args: str, command: str = "shape") -> tuple[int, str]:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, [command, str(path), *args])
    return result.exit_code, result.output if result.exit_code == 0 else result.stderr if hasattr(result, "stderr") else result.output


def shapes(tmp_path: Path, text: str, *args: str) -> list[tuple[str, list[Any]]]:
    code, out = run(tmp_path, text, "-f", "json", *args)
    assert code == 0, out
    return [(row["type"], row["output"]) for row in json.loads(out)["layers"]]


def error(tmp_path: Path, text: str, *args: str, command: str = "shape") -> str:
    code, out = run(tmp_path, text, *args, command=command)
    assert code == 2, out
    assert "Traceback" not in out
    return out


# -- the copy index (contract 2)

COPIES = """\
input: [3, 8, 8]
blocks:
  unit:
    args: {c: 4}
    layers:
      - Conv2d: {out_channels: c, kernel_size: 1}
layers:
  - Conv2d: {out_channels: "4 * (copy + 1)", kernel_size: 1, repeat: 3}
  - unit: {c: "copies * 10 + copy", repeat: 2}
  - Conv2d: {out_channels: copy, kernel_size: 1}
"""


def test_copy_and_copies_in_layer_and_block_arguments(tmp_path: Path) -> None:
    rows = shapes(tmp_path, COPIES, "--set", "copy=5")
    assert [r[1][0] for r in rows] == [4, 8, 12, 20, 21, 5]  # the last call is not repeated: copy is the var


def test_copy_shadows_a_var_for_that_call_only(tmp_path: Path) -> None:
    text = "input: [3, 8, 8]\nvars: {copy: 7}\nlayers:\n  - Conv2d: {out_channels: copy + 1, kernel_size: 1, repeat: 2}\n  - Conv2d: {out_channels: copy, kernel_size: 1}\n"
    assert [r[1][0] for r in shapes(tmp_path, text)] == [1, 2, 7]


def test_copy_is_not_seen_inside_the_block_body(tmp_path: Path) -> None:
    text = "input: [3, 8, 8]\nblocks:\n  b:\n    - Conv2d: {out_channels: copy, kernel_size: 1}\nlayers:\n  - b: {repeat: 2}\n"
    assert [r[1] for r in shapes(tmp_path, text)] == [["copy", 8, 8]] * 2  # a free symbol there, like any unbound name


def test_copy_with_a_symbolic_repeat_is_a_located_error(tmp_path: Path) -> None:
    text = "input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 3, kernel_size: 1, groups: 'copies - copies + 1', repeat: n}\n  - Conv2d: {out_channels: copy + 3, kernel_size: 1, repeat: n}\n"
    out = error(tmp_path, text)
    assert re.search(r"t\.yaml:4:28: layers\[1\] \(Conv2d\): 'copy' cannot be read with a symbolic repeat count \(n\)", out), out
    assert "--set n=VALUE" in out
    assert [r[1][0] for r in shapes(tmp_path, text, "--set", "n=2")] == [3, 3, 3, 4]


def test_copies_with_a_symbolic_repeat_is_the_count(tmp_path: Path) -> None:
    text = 'input: [4, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 1, groups: "4 if copies >= 1 else 2", repeat: n}\n'
    code, out = run(tmp_path, text, "-f", "json", command="params")
    assert code == 0, out
    assert json.loads(out)["total"] == "8*n"  # groups 4 (copies = n >= 1 for every n): 4 weights + 4 biases a copy


def test_efficientnet_b0_stochastic_depth_rates_follow_torchvision(monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision: p = 0.2 * block_id / 16, block_id counted over every block of every stage;
    a stage's first block has no StochasticDepth row (no residual, so no effect)."""
    seen: list[Any] = []
    original = outcomes.layer_args

    def spy(kind: Any, call: Any, env: Any, path: str, free: Any) -> dict[str, Any]:
        args = original(kind, call, env, path, free)
        if kind.name == "StochasticDepth":
            seen.append(args["p"])
        return args

    monkeypatch.setattr(outcomes, "layer_args", spy)
    evaluate_spec(load_path(str(CONFIGS / "efficientnet_b0.yaml")))
    firsts = [0, 1, 3, 5, 8, 11, 15]  # Table 1's n = 1, 2, 2, 3, 3, 4, 1
    expected = [0.2 * i / 16 for i in range(16) if i not in firsts]
    assert seen == pytest.approx(expected)


# -- layer types as template arguments (contract 3)

TYPES = """\
input: [8, 16, 16]
vars: {hs: true}
blocks:
  unit:
    args: {c: 8, act: ReLU}
    layers:
      - Conv2d: {out_channels: c, kernel_size: 1}
      - act
  pair:
    args: {act: Hardswish}
    layers:
      - unit: {act: act}
      - act: {inplace: true}
  up:
    args: {how: Upsample}
    layers:
      - how: {scale_factor: 2, mode: bilinear}
layers:
  - unit
  - unit: {act: Hardswish}
  - unit: {act: "SiLU if hs else ReLU"}
  - unit: {act: "ReLU6 if copy == 0 else GELU", repeat: 2}
  - pair
  - unit: {act: pair}
  - up
"""


def test_layer_types_as_template_arguments(tmp_path: Path) -> None:
    types = [t for t, _ in shapes(tmp_path, TYPES) if t != "Conv2d"]
    assert types == ["ReLU", "Hardswish", "SiLU", "ReLU6", "GELU", "Hardswish", "Hardswish", "Hardswish", "Hardswish", "Upsample"]
    assert shapes(tmp_path, TYPES)[-1] == ("Upsample", [8, 32, 32])  # a word argument (mode) reaches the layer as text


def test_a_condition_may_choose_the_type(tmp_path: Path) -> None:
    types = [t for t, _ in shapes(tmp_path, TYPES, "--set", "hs=0")]
    assert types[5] == "ReLU"


@pytest.mark.parametrize(
    ("change", "message", "where"),
    [
        ("args: {c: 8, act: ReLU}", "unknown layer type 'Hardswsh' for argument 'act'", "t.yaml:5:23: blocks.unit.args.act"),
        ("  - unit: {act: Hardswish}", "unknown layer type 'Hardswsh' for argument 'act'", "t.yaml:20:17: layers[1] (unit)"),
        ("  - unit: {act: \"SiLU if hs else ReLU\"}", "unknown layer type 'Hardswsh' for argument 'act'", "t.yaml:21:34: layers[2] (unit)"),
        ("  - unit: {act: Hardswish}", "argument 'act' must name a layer type or a block", "t.yaml:20:17: layers[1] (unit)"),
    ],
)
def test_unknown_or_non_type_values_are_refused_at_read_time(tmp_path: Path, change: str, message: str, where: str) -> None:
    bad = change.replace("ReLU}", "Hardswsh}").replace("Hardswish}", "Hardswsh}").replace("else ReLU", "else Hardswsh")
    if "must name" in message:
        bad = change.replace("Hardswish", "3")
    text = TYPES.replace(change, bad)
    assert text != TYPES
    out = error(tmp_path, text)
    assert f"{where}: {message}" in out, out
    if "unknown" in message:
        assert "did you mean 'Hardswish'" in out


def test_type_errors_found_when_bound(tmp_path: Path) -> None:
    text = TYPES.replace("vars: {hs: true}", "vars: {hs: true, mine: Hardswsh}").replace("- unit: {act: Hardswish}", "- unit: {act: mine}")
    out = error(tmp_path, text)
    assert "t.yaml:8:9: layers[1].layers[1] (act): unknown layer type 'Hardswsh' for argument 'act'" in out, out
    assert "did you mean 'Hardswish'" in out
    text = TYPES.replace("- unit: {act: Hardswish}", "- unit: {act: 2 * 3}")
    out = error(tmp_path, text)
    assert "t.yaml:20:17: layers[1] (unit): argument 'act' must name a layer type or a block" in out


VAR_TYPE = "input: [8, 8, 8]\nvars: {act: Hardswish}\nblocks:\n  u:\n    args: {act: ReLU}\n    layers: [act]\nlayers:\n  - u: {act: act}\n  - u\n"


def test_a_var_holds_a_type_and_set_overrides_it(tmp_path: Path) -> None:
    assert [t for t, _ in shapes(tmp_path, VAR_TYPE)] == ["Hardswish", "ReLU"]
    assert [t for t, _ in shapes(tmp_path, VAR_TYPE, "--set", "act=SiLU")] == ["SiLU", "ReLU"]
    code, out = run(tmp_path, VAR_TYPE, "--set", "act=Foo")
    assert code == 2 and "unbound name 'Foo'" in out
    out = error(tmp_path, VAR_TYPE, "--set", "act=3")
    assert "t.yaml:6:14: layers[0].layers[0] (act): argument 'act' must name a layer type or a block" in out, out


def test_types_compare_by_name_in_any_argument(tmp_path: Path) -> None:
    text = (
        "input: [8, 8, 8]\nblocks:\n  u:\n    args: {act: ReLU}\n    layers:\n      - act\n"
        "      - Conv2d: {out_channels: \"8 if act == ReLU else 4 if act == u else 2\", kernel_size: 1}\n"
        "layers:\n  - u\n  - u: {act: GELU}\n  - u: {act: u}\n"
    )
    assert [r[1][0] for r in shapes(tmp_path, text) if r[0] == "Conv2d"] == [8, 2, 8, 4]  # u: {act: u} runs u (act ReLU: 8) inside, then its own Conv2d: 4


def test_arithmetic_on_a_type_is_refused(tmp_path: Path) -> None:
    out = error(tmp_path, "input: [8]\nlayers:\n  - Linear: {out_features: ReLU * 2}\n")
    assert "t.yaml:3:28: layers[0] (Linear): cannot do arithmetic on 'ReLU'" in out, out


def test_a_chosen_type_checks_its_arguments(tmp_path: Path) -> None:
    out = error(tmp_path, TYPES.replace("  - pair\n", "  - pair: {act: Identity}\n"))
    assert re.search(r"t\.yaml:13:24: blocks\.pair\.layers\[1\] \(Identity\): unknown argument 'inplace' for Identity", out), out


def test_a_block_argument_cannot_be_named_like_a_type(tmp_path: Path) -> None:
    out = error(tmp_path, "input: [3, 8, 8]\nblocks:\n  b:\n    args: {ReLU: 1}\n    layers: [ReLU]\nlayers: [b]\n")
    assert "block argument 'ReLU' is the name of a layer type" in out


def test_mobilenet_v3_uses_one_bottleneck_template() -> None:
    for name in ("mobilenet_v3_large", "mobilenet_v3_small"):
        spec = load_path(str(CONFIGS / f"{name}.yaml"))
        bottlenecks = [b for b in spec.blocks.values() if b.residual]
        assert [b.name for b in bottlenecks] == ["bneck"]
        assert "act" in dict(spec.blocks["bneck"].params)
        assert any(call.chosen for call in spec.blocks["conv_bn_act"].layers)


# -- conditionals and units in specs (contracts 4 and 5)


def test_undecided_condition_through_the_cli(tmp_path: Path) -> None:
    text = "input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: \"64 if k > 2 else 32\", kernel_size: k}\n"
    out = error(tmp_path, text)
    assert "t.yaml:3:35: layers[0] (Conv2d): the condition 'k > 2' is undecided: it depends on the free symbol k" in out, out
    assert "Hint: bind k with --set k=VALUE" in out
    assert shapes(tmp_path, text, "--set", "k=3") == [("Conv2d", [64, 6, 6])]
    assert shapes(tmp_path, text, "--set", "k=1") == [("Conv2d", [32, 8, 8])]


def test_decided_condition_on_a_symbol(tmp_path: Path) -> None:
    text = "input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: \"64 if k >= 1 else 32\", kernel_size: 1}\n"
    assert shapes(tmp_path, text) == [("Conv2d", [64, 8, 8])]


def test_units_in_a_spec(tmp_path: Path) -> None:
    text = "input: [1K]\nlayers:\n  - Linear: {out_features: 1.5K}\n  - Linear: {out_features: 2KiB}\n"
    assert shapes(tmp_path, text) == [("Linear", [1500]), ("Linear", [2048])]


def test_unit_error_column_in_a_spec(tmp_path: Path) -> None:
    out = error(tmp_path, "input: [8]\nlayers:\n  - Linear: {out_features: \"1.5K + a[0]\"}\n")
    assert "t.yaml:3:36: layers[0] (Linear): subscripts are only allowed on a node's shape" in out, out


def test_metric_names_are_refused_in_a_spec(tmp_path: Path) -> None:
    out = error(tmp_path, "input: [8]\nblocks:\n  plain: [ReLU]\nlayers:\n  - Linear: {out_features: plain.params}\n")
    assert "t.yaml:5:28: layers[0] (Linear): plain.params is not available here (solve's metrics)" in out, out


def test_load_text_keeps_chosen_calls() -> None:
    spec = load_text(TYPES)
    assert [c.kind for c in spec.blocks["unit"].layers if c.chosen] == ["act"]


def test_an_inline_call_of_a_type_argument_is_refused_with_the_mapping_form(tmp_path: Path) -> None:
    out = error(tmp_path, 'input: [8, 8, 8]\nblocks:\n  u:\n    args: {act: ReLU}\n    layers:\n      - "act(inplace=True)"\nlayers: [u]\n')
    assert "t.yaml:6:9: blocks.u.layers[0]: 'act' is a template argument" in out, out
    assert "- act: {argument: value, ...}" in out


def test_a_type_argument_naming_its_own_block_is_stopped_by_the_depth_limit(tmp_path: Path) -> None:
    out = error(tmp_path, "input: [8, 8, 8]\nblocks:\n  u:\n    args: {act: u}\n    layers: [act]\nlayers: [u]\n")
    assert "blocks nested too deeply" in out
