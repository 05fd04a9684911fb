"""cnncalc.spec.reader (and the model it builds): YAML nodes -> Spec, structure checked,
expressions parsed once, at load time."""

from __future__ import annotations

import pickle
import textwrap
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]

from cnncalc.errors import ExprError, LimitError, Position, SpecError
from cnncalc.spec import Arg, Block, Expr, LayerCall, Limits, Spec, load_text
from cnncalc.spec.reader import Reader


def _load(text: str, limits: Limits = Limits()) -> Spec:
    return load_text(textwrap.dedent(text), "t.yaml", limits)


def _general(text: str) -> Spec:
    """The spec read by the general path alone (the plain-layer short cut off)."""
    reader = Reader("t.yaml", Limits())
    reader.plain_layer = lambda *args: None  # type: ignore[method-assign]
    return reader.spec(yaml.compose(textwrap.dedent(text), Loader=yaml.SafeLoader), "t")


def _kinds(value: Any) -> Any:
    """The types of a model's values, recursively: equal specs of different types differ here."""
    if isinstance(value, tuple):
        return (type(value).__name__, tuple(_kinds(v) for v in value))
    if isinstance(value, dict):
        return {k: _kinds(v) for k, v in value.items()}
    return type(value).__name__


def _args(call: LayerCall) -> dict[str, Any]:
    return {name: arg.raw for name, arg in call.args}


MIXED = """
name: mixed
input: [c, 16, 16]
batch: 2
vars: {c: 8, w: c * 2}
blocks:
  unit:
    args: {out: null, k: 3}
    residual: auto
    layers:
      - Conv2d: {out_channels: out, kernel_size: k, padding: same, padding_mode: reflect}
      - ReLU
layers:
  - Conv2d: {out_channels: w, kernel_size: 3, padding: '1', bias: false, name: stem}
  - unit: {out: w // 2, repeat: 2}
  - Upsample: {scale_factor: 2, mode: nearest}
  - Conv2d: {out_channels: 4, kernel_size: [1, 3], padding: [0, 1], from: stem}
"""


def test_expressions_are_parsed_and_words_kept_as_text() -> None:
    spec = _load(MIXED)
    assert spec.name == "mixed" and spec.source == "t.yaml"
    assert [type(a.raw) for a in spec.input] == [Expr, int, int]
    assert dict(spec.vars)["w"].raw == "c * 2" and isinstance(dict(spec.vars)["w"].raw, Expr)
    assert spec.layers is not None
    stem, unit, up, conv = spec.layers
    assert _args(stem) == {"out_channels": "w", "kernel_size": 3, "padding": "1", "bias": False}
    assert isinstance(_args(stem)["out_channels"], Expr) and isinstance(_args(stem)["padding"], Expr)
    assert stem.name == "stem" and not stem.is_block
    assert unit.is_block and isinstance(_args(unit)["out"], Expr)
    assert unit.repeat == Arg(2, Position("t.yaml", 15, 33))
    assert type(_args(up)["mode"]) is str  # a word for a 'str' parameter
    assert conv.sources == ("stem",)
    assert [type(a.raw) for a in _args(conv)["kernel_size"]] == [int, int]
    block = spec.blocks["unit"]
    assert block.path == "blocks.unit" and block.residual == "auto"
    assert isinstance(dict(block.params)["k"], Arg) and dict(block.params)["out"] is None
    inner = _args(block.layers[0])
    assert type(inner["padding"]) is str and type(inner["padding_mode"]) is str  # 'same', 'reflect': words
    assert isinstance(inner["out_channels"], Expr)


def test_an_expression_keeps_its_tree_and_compares_as_its_text() -> None:
    spec = _load(MIXED)
    w = dict(spec.vars)["w"].raw
    assert isinstance(w, Expr)
    assert w == "c * 2" and hash(w) == hash("c * 2") and repr(w) == "'c * 2'"
    assert type(w.tree).__name__ == "BinOp"
    assert pickle.loads(pickle.dumps(spec)) == spec


@pytest.mark.parametrize("text", [MIXED, "input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: '2 * 4', kernel_size: 3, padding: valid}\n  - ReLU\n"])
def test_the_plain_layer_short_cut_reads_as_the_general_path(text: str) -> None:
    """Equal, and of equal types (an Expr equals its text: a str would pass `==`)."""
    fast, general = _load(text), _general(text)
    assert fast == general
    assert _kinds(fast) == _kinds(general)


def test_the_model_is_plain_named_tuples() -> None:
    spec = _load(MIXED)
    for value in (spec, spec.layers[0] if spec.layers else None, spec.blocks["unit"], spec.input[0], Limits()):
        assert isinstance(value, tuple) and hasattr(value, "_fields")
    assert Limits()._replace(max_layers=5).max_layers == 5
    assert isinstance(spec.blocks["unit"], Block)


@pytest.mark.parametrize(
    ("layer", "message", "position", "path"),
    [
        ("Conv2d: {out_channels: 'x +', kernel_size: 1}", r"invalid expression 'x \+'", Position("t.yaml", 3, 29), "layers[0] (Conv2d)"),
        ("Conv2d: {out_channels: 8, kernel_size: x.y}", "unknown attribute 'y' of node 'x'", Position("t.yaml", 3, 44), "layers[0] (Conv2d)"),
        ("ReLU: {repeat: 'n +'}", r"invalid expression 'n \+'", Position("t.yaml", 3, 21), "layers[0] (ReLU)"),
        ("'Conv2d(8, 8, k.x)'", "unknown attribute 'x' of node 'k'", Position("t.yaml", 3, 19), "layers[0] (Conv2d)"),
    ],
)
def test_bad_expressions_are_refused_at_load_time(layer: str, message: str, position: Position, path: str) -> None:
    with pytest.raises(ExprError, match=message) as caught:
        load_text(f"input: [8, 4, 4]\nlayers:\n  - {layer}\n", "t.yaml")
    assert (caught.value.position, caught.value.path) == (position, path)


def test_bad_expressions_in_vars_blocks_and_input_are_refused_at_load_time() -> None:
    cases = {
        "vars": ("input: [3, 8, 8]\nvars: {c: 'c +'}\nlayers: [ReLU]\n", "vars.c"),
        "input": ("input: [3, 'h +', 8]\nlayers: [ReLU]\n", "input"),
        "batch": ("input: [3, 8, 8]\nbatch: '2 +'\nlayers: [ReLU]\n", "batch"),
        "default": ("input: [3, 8, 8]\nblocks:\n  b:\n    args: {k: 'k +'}\n    layers: [ReLU]\n", "blocks.b.args.k"),
        "block call": ("input: [3, 8, 8]\nblocks:\n  b:\n    args: {k: null}\n    layers: [ReLU]\nlayers:\n  - b: {k: 'k +'}\n", "layers[0] (b)"),
    }
    for name, (text, path) in cases.items():
        with pytest.raises(ExprError, match="invalid expression") as caught:
            load_text(text, "t.yaml")
        assert caught.value.path == path, name


def test_an_unknown_argument_is_reported_as_such_not_as_a_bad_expression() -> None:
    with pytest.raises(SpecError, match="unknown argument 'out_channel' for Conv2d"):
        load_text("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channel: 'x +', kernel_size: 1}\n", "t.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("layers: [ReLU]\n", "the spec has no 'input'"),
        ("input: [3]\n", "neither 'layers' nor 'blocks'"),
        ("input: [3]\nlayer: [ReLU]\n", "unknown top-level key 'layer'"),
        ("input: 3\nlayers: [ReLU]\n", "'input' must be a list of sizes"),
        ("input: [1, 2, 3, 4, 5, 6, 7, 8, 9]\nlayers: [ReLU]\n", "too many dimensions"),
        ("input: [3]\nlayers: [Relu]\n", "unknown layer type 'Relu'"),
        ("input: [3]\nlayers:\n  - {ReLU: null, Tanh: null}\n", "exactly one layer type"),
        ("input: [3]\nlayers:\n  - ReLU: 3\n", "must be a mapping"),
        ("input: [3]\nlayers:\n  - Add: {from: b}\n", "'from' names an unknown node 'b'"),
        ("input: [3]\nlayers:\n  - Add: {from: [input, b]}\n  - ReLU: {name: b}\n", "it is defined later, at line 4"),
        ("input: [3]\nlayers:\n  - ReLU: {name: input}\n", "'input' is reserved"),
        ("input: [3]\nlayers:\n  - ReLU: {name: 'a b'}\n", "must be a name"),
        ("input: [3]\nlayers:\n  - Linear: {out_features: [[1]]}\n", "nested lists are not allowed"),
        ("input: [3]\nlayers:\n  - Linear: {out_features: 1, <<: {bias: true}}\n", "merge keys"),
        ("input: [3]\nblocks:\n  ReLU: [Tanh]\n", "is a layer type"),
        ("input: [3]\nblocks:\n  b: {layers: [ReLU], shortcut: [ReLU]}\n", "has a shortcut but is not residual"),
        ("input: [3]\nblocks:\n  b: {layers: [ReLU], residual: maybe}\n", "'residual' must be true, false or auto"),
        ("input: [3]\nblocks:\n  b: {args: {name: 1}, layers: [ReLU]}\n", "cannot be a block argument"),
        ("input: [3]\nblocks:\n  a: [b]\n  b: [a]\n", "blocks call each other in a cycle: a -> b -> a"),
        ("input: [3]\nvars: {2x: 1}\nlayers: [ReLU]\n", "not a valid variable name"),
        ("", "the spec is empty"),
    ],
)
def test_structure_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load_text(text, "t.yaml")


def test_repeat_and_argument_limits_are_checked_while_reading() -> None:
    with pytest.raises(LimitError, match="repeat count too large"):
        load_text("input: [3]\nlayers:\n  - ReLU: {repeat: 11}\n", "t.yaml", Limits(max_repeat=10))
    with pytest.raises(LimitError, match="argument text too long"):
        load_text("input: [3]\nlayers:\n  - Linear: {out_features: '" + "1+" * 1100 + "1'}\n", "t.yaml")
    with pytest.raises(LimitError, match="argument list too long"):
        load_text("input: [3]\nlayers:\n  - Linear: {out_features: [" + ", ".join("1" * 65) + "]}\n", "t.yaml")


def test_a_spec_without_a_name_is_named_after_its_file() -> None:
    assert load_text("input: [3]\nlayers: [ReLU]\n", "dir/resnet.yaml").name == "resnet"
    assert load_text("input: [3]\nlayers: [ReLU]\n", "<stdin>").name == "stdin"


def test_a_name_given_twice_in_one_list_is_refused_at_the_second() -> None:
    text = "input: [3, 8, 8]\nlayers:\n  - ReLU: {name: a}\n  - Tanh\n  - Sigmoid: {name: a}\n  - Add: {from: [a, input]}\n"
    with pytest.raises(SpecError, match="the name 'a' is already given to layers\\[0\\] \\(ReLU\\) at line 3, column 5") as caught:
        load_text(text, "t.yaml")
    assert caught.value.position == Position("t.yaml", 5, 5)
    assert caught.value.path == "layers[2] (Sigmoid)"


def test_the_same_name_in_different_lists_is_fine() -> None:
    text = "input: [3, 8, 8]\nblocks:\n  b:\n    - ReLU: {name: a}\n    - Add: {from: [a, input]}\nlayers:\n  - ReLU: {name: a}\n  - b\n  - Add: {from: [a, input]}\n"
    assert load_text(text, "t.yaml").layers is not None


def test_empty_blocks_without_layers_are_refused_where_they_stand() -> None:
    with pytest.raises(SpecError, match="the spec has no 'layers' and no block") as caught:
        load_text("input: [3, 8, 8]\nblocks: {}\n", "t.yaml")
    assert caught.value.position == Position("t.yaml", 2, 9)
    assert load_text("input: [3, 8, 8]\nblocks: {}\nlayers: []\n", "t.yaml").layers == ()


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("input: [3]\nlayers:\n  - {LONG}\n", "unknown layer type"),
        ("input: [3]\n{LONG}: 1\nlayers: [ReLU]\n", "unknown top-level key"),
        ("input: [3]\nlayers:\n  - ReLU: {from: {LONG}}\n", "'from' names an unknown node"),
        ("input: [3]\nlayers:\n  - Linear: {out_features: 1, {LONG}: 2}\n", "unknown argument"),
        ("input: [3]\nvars: {{LONG}-: 1}\nlayers: [ReLU]\n", "not a valid variable name"),
        ("input: [3]\nlayers:\n  - 'Linear(1, {LONG} +)'\n", "invalid layer call"),
        ("input: [3]\nlayers:\n  - GELU: {approximate: {LONG}}\n", "invalid value for 'approximate'"),
        ("input: |\n  {LONG}\n  more text of the file\nlayers: [ReLU]\n", "'input' must be a list of sizes"),
    ],
)
def test_a_message_quotes_a_long_token_by_its_first_60_characters(text: str, token: str) -> None:
    """A token of the input is quoted clipped (60 characters, '...'): never the rest of the file."""
    long = "a" * 57 + "TAIL" + "b" * 200
    with pytest.raises(SpecError, match=token) as caught:
        from cnncalc.analysis.evaluate import evaluate_spec

        evaluate_spec(load_text(text.replace("{LONG}", long), "t.yaml"))
    message = str(caught.value)
    assert "aaa..." in message
    assert "TAIL" not in message and "more text" not in message
