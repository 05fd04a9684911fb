"""cnncalc.spec.inline: PyTorch constructor calls (`nn.Conv2d(3, 64, 7, stride=2)`) read safely."""

from __future__ import annotations

from typing import Any

import pytest

from cnncalc.errors import ExprError, LimitError, Position, SpecError
from cnncalc.spec import Expr, LayerCall
from cnncalc.spec.inline import call_from_text, inline_calls

HERE = Position("<layer 1>", 1, 1)


def _call(text: str, block_names: frozenset[str] = frozenset()) -> LayerCall:
    return call_from_text(text, HERE, "layer[0]", block_names)


def _args(call: LayerCall) -> dict[str, Any]:
    return {name: arg.raw for name, arg in call.args}


@pytest.mark.parametrize("text", ["Conv2d(3, 64, 7, stride=2)", "nn.Conv2d(3, 64, 7, stride=2)", " torch.nn.Conv2d(3, 64, 7, stride=2) "])
def test_positional_and_keyword_arguments_map_to_pytorch_names(text: str) -> None:
    call = _call(text)
    assert call.kind == "Conv2d" and not call.is_block
    assert _args(call) == {"in_channels": 3, "out_channels": 64, "kernel_size": 7, "stride": 2}
    assert call.position == HERE and call.path == "layer[0]"


def test_argument_positions_point_into_the_call() -> None:
    call = _call("Conv2d(3, 64, kernel_size=k)")
    positions = {name: arg.position.column for name, arg in call.args}
    assert positions == {"in_channels": 8, "out_channels": 11, "kernel_size": 27}


def test_quoted_strings_are_words_and_other_text_is_parsed() -> None:
    call = _call("Conv2d(3, 2 * w, (1, k), padding='same', padding_mode=reflect)")
    args = _args(call)
    assert type(args["padding"]) is str and type(args["padding_mode"]) is str  # quoted; a word for a 'str' parameter
    assert isinstance(args["out_channels"], Expr) and args["out_channels"] == "2 * w"
    assert [type(a.raw) for a in args["kernel_size"]] == [int, Expr]
    assert isinstance(_call("Upsample(scale_factor=s)").args[0][1].raw, Expr)


def test_meta_keywords_become_the_calls_name_sources_and_repeat() -> None:
    call = _call("ReLU(name=act, repeat=2)")
    assert call.name == "act" and type(call.name) is str
    assert call.repeat is not None and call.repeat.raw == 2


def test_block_calls_take_keywords_only() -> None:
    call = _call("unit(out=2 * w)", frozenset({"unit"}))
    assert call.is_block and isinstance(_args(call)["out"], Expr)
    with pytest.raises(SpecError, match="keyword arguments only"):
        _call("unit(8)", frozenset({"unit"}))


def test_identity_ignores_its_arguments() -> None:
    call = _call("Identity(54, unused_argument1=0.1, name=skip)")
    assert call.args == () and call.name == "skip"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("Conv2d(3, 64", SpecError, "invalid layer call"),
        ("3 + 4", SpecError, "not a layer call"),
        ("f()(3)", SpecError, "not a layer name"),
        ("os.path.Conv2d(3)", SpecError, "is not a layer name"),
        ("Conv3x3(3)", SpecError, "unknown layer type 'Conv3x3'"),
        ("ReLU(*args)", SpecError, "starred arguments"),
        ("Linear(**kw)", SpecError, r"\*\* arguments are not allowed"),
        ("ReLU(True, 1)", SpecError, "takes at most 1 positional arguments"),
        ("Linear(3, 4, in_features=3)", SpecError, "multiple values for argument 'in_features'"),
        ("Linear(3, ((1, 2), 3))", SpecError, "nested tuples"),
        ("Linear(3, x.y)", ExprError, "unknown attribute 'y' of node 'x'"),
        ("Linear(3, " + "9" * 1300 + ")", LimitError, "integer too large"),
        ("Linear(" + "1+" * 1000 + "1)", LimitError, "layer call too long"),
    ],
)
def test_refused_calls(text: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        _call(text)


def test_inline_calls_are_checked_as_a_specs_are() -> None:
    calls = inline_calls(["Conv2d(3, 8, 3)", "nn.ReLU()"])
    assert [c.kind for c in calls] == ["Conv2d", "ReLU"]
    assert [c.position for c in calls] == [Position("<layer 1>", 1, 1), Position("<layer 2>", 1, 1)]
    with pytest.raises(SpecError, match="cannot be used inline"):
        inline_calls(["Add()"])
    with pytest.raises(SpecError, match="unknown argument 'kernel' for Conv2d"):
        inline_calls(["Conv2d(3, 8, kernel=3)"])
