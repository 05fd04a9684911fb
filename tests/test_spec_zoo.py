"""cnncalc.spec.zoo: loading from text, a file, standard input or a shipped model's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncalc.errors import LimitError, Position, SpecError
from cnncalc.spec import Limits
from cnncalc.spec.zoo import decode, load_path, load_spec, load_text, resolve, zoo_names

SPEC = "input: [3, 8, 8]\nlayers: [ReLU]\n"


def test_decode_drops_a_bom() -> None:
    assert decode(b"\xef\xbb\xbf" + SPEC.encode(), "t.yaml") == SPEC


@pytest.mark.parametrize(
    ("data", "message", "position"),
    [
        (b"\xff\xfei\x00", "UTF-16", Position("t.yaml", 1, 1)),
        (b"input: [3]\x00\x01", "binary file", Position("t.yaml", 1, 1)),
        (b"input: [3]\nname: caf\xe9\n", "not valid UTF-8", Position("t.yaml", 2, 10)),
    ],
)
def test_decode_refuses_what_is_not_utf8_text(data: bytes, message: str, position: Position) -> None:
    with pytest.raises(SpecError, match=message) as caught:
        decode(data, "t.yaml")
    assert caught.value.position == position


def test_load_path_reads_files_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(SPEC)
    assert load_path(str(path)).name == "net"
    assert load_path("-", stdin_text=SPEC).name == "stdin"
    assert load_path("-", stdin_text=SPEC.encode()).source == "<stdin>"


def test_load_path_refuses_missing_files_and_directories(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file") as caught:
        load_path(str(tmp_path / "missing.yaml"))
    assert caught.value.hint is not None and "cnncalc zoo" in caught.value.hint
    with pytest.raises(SpecError, match="is a directory"):
        load_path(str(tmp_path))


def test_load_text_refuses_a_text_over_the_byte_limit() -> None:
    with pytest.raises(LimitError, match="spec file too large"):
        load_text(SPEC, "t.yaml", Limits(max_bytes=10))


def test_zoo_names_resolve_to_shipped_files() -> None:
    names = zoo_names()
    assert "resnet50" in names and names["resnet50"].endswith("resnet50.yaml")
    assert resolve("resnet50") == names["resnet50"]
    assert resolve("-") == "-" and resolve("my/net.yaml") == "my/net.yaml" and resolve("nothing-like-it") == "nothing-like-it"
    assert load_spec("resnet50").name == load_path(names["resnet50"]).name
