"""The corpus of broken specs: one file per error kind, its whole message checked as golden text.

Each `tests/data/bad/<name>.yaml` (a missing file, a directory, binary or broken bytes
included) must give exit status 2 and exactly the stderr stored in `<name>.expected`, so the
wording of every message stays as good as when it was reviewed. Regenerate after a deliberate
change with `CNNCALC_OVERWRITE=1 python3 -m pytest tests/test_bad_specs.py`, then read the diff.
Where a message quotes the YAML parser's own description of a syntax error, the golden file
holds LIBYAML_WORDS in its place: cnncalc owns the position, the frame and the hint, not
PyYAML's wording, which changes between its releases.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.cli import main

from .conftest import ROOT

BAD = Path("tests") / "data" / "bad"
CASES = sorted(p.stem for p in (ROOT / BAD).glob("*.expected"))
OVERWRITE = os.environ.get("CNNCALC_OVERWRITE") == "1"
# file:line:column, then the layer's path or a message
POSITION = re.compile(r"^Error: tests/data/bad/[\w.]+:\d+:\d+: ")
LIBYAML_WORDS = "<libyaml's words>"


def _matches_golden(stderr: str, expected: str) -> bool:
    pattern = ".+?".join(re.escape(part) for part in expected.split(LIBYAML_WORDS))
    return re.fullmatch(pattern, stderr, flags=re.DOTALL) is not None


def _run(runner: CliRunner, name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(ROOT)  # relative paths keep the messages the same on every machine
    result = runner.invoke(main, ["shape", str(BAD / f"{name}.yaml")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_corpus_covers_every_error_kind() -> None:
    """Every spec in the corpus has its golden message, and there are enough of them."""
    specs = {p.name.removesuffix(".yaml") for p in (ROOT / BAD).glob("*.yaml")}
    assert specs - set(CASES) == set(), "a bad spec without its .expected message"
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", CASES)
def test_bad_spec_message(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Exit 2, nothing on stdout, and the reviewed message word for word."""
    code, stdout, stderr = _run(runner, name, monkeypatch)
    expected_path = ROOT / BAD / f"{name}.expected"
    if OVERWRITE and LIBYAML_WORDS not in expected_path.read_text():
        expected_path.write_text(stderr)
    assert code == 2, stderr
    assert stdout == ""
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert POSITION.match(stderr), stderr
    assert stderr.count("\n") == 1, "one paragraph, one line"
    assert _matches_golden(stderr, expected_path.read_text()), stderr


@pytest.mark.parametrize("name", CASES)
def test_bad_spec_message_parts(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Apart from the golden text: a message says what was expected or found, or gives a hint."""
    _, _, stderr = _run(runner, name, monkeypatch)
    assert "(expected " in stderr or ", found " in stderr or "(found " in stderr or "Hint: " in stderr, stderr
