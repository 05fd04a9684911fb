"""cnncalc.spec.checks: words or expressions, argument names and inputs, block cycles, hints."""

from __future__ import annotations

import pytest

from cnncalc.errors import ExprError, LimitError, Position, SpecError
from cnncalc.layers import KINDS, Param
from cnncalc.spec import Arg, Block, Expr, LayerCall
from cnncalc.spec.checks import check_call_args, check_cycles, did_you_mean, expression, takes_text, text_value

HERE = Position("t.yaml", 3, 5)


def _param(kind: str, name: str) -> Param:
    return next(p for p in KINDS[kind].params if p.name == name)


@pytest.mark.parametrize(
    ("kind", "name", "text", "word"),
    [
        ("Conv2d", "padding_mode", "reflect", True),
        ("Conv2d", "padding", "same", True),
        ("Conv2d", "padding", "valid", True),
        ("Conv2d", "padding", "p", False),
        ("Conv2d", "out_channels", "same", False),
        ("Upsample", "mode", "2 * k", True),
    ],
)
def test_takes_text(kind: str, name: str, text: str, word: bool) -> None:
    assert takes_text(_param(kind, name), text) is word


def test_text_value_parses_unless_the_parameter_takes_a_word() -> None:
    assert type(text_value("same", _param("Conv2d", "padding"), HERE, "p")) is str
    value = text_value("k // 2", _param("Conv2d", "padding"), HERE, "p")
    assert isinstance(value, Expr) and value == "k // 2"
    assert isinstance(text_value("k", None, HERE, "p"), Expr)  # no parameter (a block's argument): an expression


def test_expression_errors_name_the_place() -> None:
    with pytest.raises(ExprError) as caught:
        expression("a.b", HERE, "layers[0] (Conv2d)")
    assert caught.value.position == HERE and caught.value.path == "layers[0] (Conv2d)"


def _call(kind: str, args: tuple[str, ...] = (), sources: tuple[str, ...] = (), is_block: bool = False, path: str = "layers[0]") -> LayerCall:
    return LayerCall(kind, tuple((a, Arg(1, HERE)) for a in args), None, sources, None, HERE, path, is_block, frozenset(), False)


def _block(name: str, *calls: LayerCall, params: tuple[str, ...] = ()) -> Block:
    return Block(name, tuple((p, None) for p in params), calls, False, (), (), HERE)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (_call("Conv2d", ("kernel",)), "unknown argument 'kernel' for Conv2d"),
        (_call("Add"), "merges two or more inputs"),
        (_call("ReLU", sources=("a", "b")), "takes one input"),
        (_call("unit", ("width",), is_block=True), "unknown argument 'width' for block 'unit'"),
    ],
)
def test_check_call_args_refuses(call: LayerCall, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        check_call_args(call, {"unit": _block("unit", params=("out",))})


def test_check_call_args_accepts() -> None:
    check_call_args(_call("Conv2d", ("kernel_size", "out_channels")), {})
    check_call_args(_call("Add", sources=("a", "b")), {})
    check_call_args(_call("unit", ("out",), is_block=True), {"unit": _block("unit", params=("out",))})


def test_check_cycles_names_the_cycle() -> None:
    blocks = {
        "a": _block("a", _call("b", is_block=True, path="blocks.a.layers[0]")),
        "b": _block("b", _call("c", is_block=True, path="blocks.b.layers[0]")),
        "c": _block("c", _call("a", is_block=True, path="blocks.c.layers[0]")),
    }
    with pytest.raises(SpecError, match="a -> b -> c -> a") as caught:
        check_cycles(blocks, 50)
    assert caught.value.path == "blocks.c.layers[0] (a)"


def test_check_cycles_limits_the_depth_without_recursion() -> None:
    names = [f"b{i}" for i in range(5_000)]
    blocks = {name: _block(name, *([_call(names[i + 1], is_block=True)] if i + 1 < len(names) else [])) for i, name in enumerate(names)}
    with pytest.raises(LimitError, match="blocks nested too deeply"):
        check_cycles(blocks, 50)
    check_cycles({name: blocks[name] for name in names[-50:]}, 50)


@pytest.mark.parametrize(
    ("word", "hint"),
    [
        ("relu", "did you mean 'ReLU'? (names are case-sensitive)"),
        ("Conv2", "did you mean 'Conv2d'"),
        ("zzzzzz", None),
    ],
)
def test_did_you_mean(word: str, hint: str | None) -> None:
    found = did_you_mean(word, list(KINDS))
    assert found == hint if hint is None else (found is not None and found.startswith(hint))
