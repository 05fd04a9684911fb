"""Standard streams that fail: a closed or full stdout, a closed stdin, a reader that stops early.

Each ends in one clear message and exit 2 (or a quiet exit for a pipe closed by its reader, as
`head` expects), never "internal error". Real processes: CliRunner cannot close descriptors.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT

PYTHON = sys.executable


def _shell(command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_closed_stdout(fmt: str) -> None:
    result = _shell(f"exec {PYTHON} -m cnncalc params resnet18 --format {fmt} >&-")
    assert result.returncode == 2
    assert result.stderr == "Error: standard output is closed (expected somewhere to write the answer (a terminal, a file or a pipe)).\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", ["params resnet18 --format json", "shape resnet18", "derive bn"])
def test_full_stdout(args: str) -> None:
    result = _shell(f"exec {PYTHON} -m cnncalc {args} > /dev/full")
    assert result.returncode == 2
    assert result.stderr == "Error: cannot write the answer to standard output (No space left on device).\n"


def test_closed_stdin() -> None:
    result = _shell(f"exec {PYTHON} -m cnncalc shape - <&-")
    assert result.returncode == 2
    assert result.stderr.startswith("Error: standard input is closed")
    assert "internal error" not in result.stderr


def test_reader_that_stops_early() -> None:
    """A reader that closes the pipe after one line (`| head -1`): quiet, exit 0, nothing on stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [PYTHON, "-m", "cnncalc", "cost", "resnet152", "--explain"]
    piped = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    assert piped.stdout is not None and piped.stderr is not None
    assert piped.stdout.readline().startswith(b"resnet152:")
    piped.stdout.close()
    stderr = piped.stderr.read().decode()
    assert piped.wait(timeout=60) == 0
    assert stderr == ""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", ["--help", "--version", "shape --help"])
def test_help_and_version_to_a_full_stdout(args: str) -> None:
    """Written while the arguments are parsed, before any command runs: the same message."""
    result = _shell(f"exec {PYTHON} -m cnncalc {args} > /dev/full")
    assert result.returncode == 2
    assert result.stderr == "Error: cannot write the answer to standard output (No space left on device).\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    ("args", "status"),
    [
        ("shape missing.yaml", 2),  # the error message is lost, its status is not
        ("nope", 2),  # click's usage error
        ("params resnet18 --format json > /dev/full", 2),  # both streams full
        ("params resnet18 --set q=1 --format json > /dev/null", 0),  # a warning lost: still a success
    ],
)
def test_a_full_stderr_keeps_the_exit_status(args: str, status: int) -> None:
    result = _shell(f"exec {PYTHON} -m cnncalc {args} 2> /dev/full")
    assert result.returncode == status
