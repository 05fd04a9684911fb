"""cnncalc.spec.nodes: YAML composed with positions, under its resource guards; YAML 1.1 scalars."""

from __future__ import annotations

from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]

from cnncalc.errors import LimitError, Position, SpecError
from cnncalc.spec import nodes
from cnncalc.spec.model import Limits
from cnncalc.spec.nodes import (
    MAX_YAML_DEPTH,
    FastSafeLoader,
    compose,
    float_scalar,
    int_scalar,
    mark_position,
    scalar_value,
    text_position,
    type_name,
)


def _scalar(text: str) -> yaml.ScalarNode:
    node = compose(f"k: {text}\n", "t.yaml")
    assert isinstance(node, yaml.MappingNode)
    value = node.value[0][1]
    assert isinstance(value, yaml.ScalarNode)
    return value


def test_the_loaders_are_safe_ones() -> None:
    assert nodes.SafeLoader in (yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert issubclass(FastSafeLoader, nodes.SafeLoader)


def test_compose_keeps_positions() -> None:
    node = compose("input: [3, 8, 8]\nlayers:\n  - ReLU\n", "t.yaml")
    assert isinstance(node, yaml.MappingNode)
    layers = node.value[1][1]
    assert mark_position("t.yaml", layers.value[0].start_mark) == Position("t.yaml", 3, 5)


def test_empty_text_composes_to_none() -> None:
    assert compose("", "t.yaml") is None
    assert compose("# only a comment\n", "t.yaml") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("abc", Position("t.yaml", 1, 4)), ("'abc'", Position("t.yaml", 1, 5)), ('"abc"', Position("t.yaml", 1, 5))],
)
def test_text_position_is_past_an_opening_quote(text: str, expected: Position) -> None:
    assert text_position("t.yaml", _scalar(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [("{a: 1}", "a mapping"), ("[1]", "a list"), ("x", "'x'"), ("''", "an empty value")])
def test_type_name(text: str, expected: str) -> None:
    node = compose(f"k: {text}\n", "t.yaml")
    assert isinstance(node, yaml.MappingNode)
    assert type_name(node.value[0][1]) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("-0x1f", -31),
        ("0o17", "0o17"),  # YAML 1.2 octal: text in YAML 1.1
        ("0b101", 5),
        ("017", 15),  # YAML 1.1 octal
        ("1_000", 1000),
        ("1:30", 90),  # YAML 1.1 base 60
        ("1.5", 1.5),
        ("-.inf", float("-inf")),
        ("1:30.5", 90.5),
        ("yes", True),
        ("Off", False),
        ("~", None),
        ("null", None),
        ("'12'", "12"),
        ("2*k", "2*k"),
    ],
)
def test_scalar_values_read_as_yaml_1_1(text: str, expected: Any) -> None:
    value = scalar_value(_scalar(text), "t.yaml")
    assert value == expected and type(value) is type(expected)


def test_nan_reads_as_a_float() -> None:
    value = scalar_value(_scalar(".nan"), "t.yaml")
    assert isinstance(value, float) and value != value


def test_a_date_is_refused_with_a_hint() -> None:
    with pytest.raises(SpecError, match="reads as a date in YAML") as caught:
        scalar_value(_scalar("2020-01-01"), "t.yaml", "layers[0]")
    assert caught.value.position == Position("t.yaml", 1, 4)
    assert caught.value.path == "layers[0]"
    assert caught.value.hint is not None and "quote it" in caught.value.hint


def test_huge_integer_literals_are_refused() -> None:
    with pytest.raises(LimitError, match="integer literal too long"):
        int_scalar("9" * 2000)
    with pytest.raises(LimitError, match="integer too large"):
        int_scalar("0x" + "f" * 1100)
    assert float_scalar("+.inf") == float("inf")


def test_deep_nesting_is_refused_before_composing() -> None:
    text = "k: " + "[" * (MAX_YAML_DEPTH + 5) + "]" * (MAX_YAML_DEPTH + 5) + "\n"
    with pytest.raises(LimitError, match="YAML nested too deeply") as caught:
        compose(text, "deep.yaml")
    assert caught.value.position is not None and caught.value.position.file == "deep.yaml"


def test_nesting_within_the_limit_composes() -> None:
    depth = MAX_YAML_DEPTH - 2
    assert compose("k: " + "[" * depth + "]" * depth + "\n", "t.yaml") is not None


def test_too_many_values_are_refused() -> None:
    text = "k: [" + ", ".join("1" for _ in range(200)) + "]\n"
    with pytest.raises(LimitError, match="too many YAML values"):
        compose(text, "t.yaml", Limits(max_nodes=100))
    assert compose(text, "t.yaml", Limits(max_nodes=1000)) is not None


def test_an_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 7)]
    with pytest.raises(LimitError, match="YAML aliases expand to too many values") as caught:
        compose("\n".join(lines) + "\n", "bomb.yaml")
    assert caught.value.hint is not None and "repeat" in caught.value.hint


def test_a_small_alias_is_fine() -> None:
    node = compose("a: &x [1, 2]\nb: *x\n", "t.yaml")
    assert isinstance(node, yaml.MappingNode)
    assert node.value[0][1] is node.value[1][1]


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(SpecError, match="refers to a list or mapping that contains it"):
        compose("a: &x [1, *x]\n", "t.yaml")


@pytest.mark.parametrize("tag", ["!!python/object:os.system", "!!binary", "!custom", "!!set"])
def test_tags_other_than_plain_ones_are_refused(tag: str) -> None:
    with pytest.raises(SpecError, match="is not supported") as caught:
        compose(f"a: {tag} x\n", "t.yaml")
    assert caught.value.hint is not None and "never constructs objects" in caught.value.hint


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("a:\n\t- 1\n", "indent with spaces"),
        ("a: b: c\n", "must be quoted"),
        ("a: [1, 2\n", "every [ and {"),
        ("a: *nowhere\n", "needs an anchor"),
    ],
)
def test_yaml_errors_carry_a_position_and_a_hint(text: str, hint: str) -> None:
    with pytest.raises(SpecError, match="invalid YAML") as caught:
        compose(text, "t.yaml")
    assert caught.value.position is not None and caught.value.position.file == "t.yaml"
    assert caught.value.hint is not None and hint in caught.value.hint


def test_control_characters_are_refused_with_their_place() -> None:
    with pytest.raises(SpecError, match="control characters") as caught:
        compose("a: 1\nb: \x07\n", "t.yaml")
    assert caught.value.position == Position("t.yaml", 2, 4)
    assert caught.value.found == "character U+0007"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!!bool maybe", "'maybe' tagged !!bool is not a boolean"),
        ("!!bool 1", "'1' tagged !!bool is not a boolean"),
        ("!!bool ''", "'' tagged !!bool is not a boolean"),
        ("!!null x", "'x' tagged !!null is not null"),
        ("!!seq x", "'x' tagged !!seq is not a list"),
        ("!!map x", "'x' tagged !!map is not a mapping"),
        ("!!str [1]", "the tag !!str does not fit a list"),
        ("!!int {a: 1}", "the tag !!int does not fit a mapping"),
        ("!!seq {a: 1}", "the tag !!seq does not fit a mapping"),
    ],
)
def test_an_explicit_tag_with_a_value_it_cannot_hold_is_refused(text: str, message: str) -> None:
    """PyYAML composes `!!bool maybe` without complaint; read as YAML 1.1 it would be false."""
    with pytest.raises(SpecError, match=message) as caught:
        compose(f"a: 1\nk: {text}\n", "t.yaml")
    assert caught.value.position == Position("t.yaml", 2, 4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("!!bool yes", True), ("!!bool Off", False), ("!!bool y", True), ("!!bool N", False), ("!!null ~", None), ("!!null ''", None), ("!!str 3", "3")],
)
def test_an_explicit_tag_with_a_value_it_holds_reads_as_yaml_1_1(text: str, expected: Any) -> None:
    value = scalar_value(_scalar(text), "t.yaml")
    assert value == expected and type(value) is type(expected)


def test_scalar_value_refuses_a_bool_it_cannot_read_on_its_own() -> None:
    """scalar_value checks too, for nodes composed without the guards (`yaml.compose`)."""
    node = yaml.compose("k: !!bool maybe\n", Loader=yaml.SafeLoader).value[0][1]
    with pytest.raises(SpecError, match="is not a boolean") as caught:
        scalar_value(node, "t.yaml", "layers[0]")
    assert caught.value.path == "layers[0]"
