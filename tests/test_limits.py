"""Resource limits: hostile sizes are refused quickly, with a clear message and a flag to raise them.

Each hostile input runs `python -m cnncalc` in a child process killed after 10 s, so a hang
fails the test instead of stalling the suite; no test asserts a wall-clock bound. The child's
peak memory (from wait4) must stay under 200 MB. Run with `-s` to see the measured times.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc.cli import main

from .conftest import ROOT

TIMEOUT = 10.0
MEMORY_MB = 200

# Linux counts in a spawned child's ru_maxrss the resident memory of the process it was spawned
# from (the old address space's peak, kept across exec): spawned straight from pytest, grown by
# the tests before, the child would "peak" at pytest's size. A small launcher spawns cnncalc and
# reports its wait status and peak (wait4) through a pipe, so the figure is cnncalc's own.
_LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
os.write(int(sys.argv[1]), b"%d %d" % (status, usage.ru_maxrss))
"""


@dataclass
class Run:
    code: int
    stderr: str
    seconds: float
    peak_mb: float


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # done just now
        os.killpg(pid, signal.SIGKILL)


def _run(args: list[str], stdin: bytes | None = None) -> Run:
    """`python -m cnncalc ARGS` in a child process: exit status, stderr, time and peak memory."""
    with open(os.devnull, "wb") as devnull, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        report, write_end = os.pipe()
        child = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(write_end), sys.executable, "-m", "cnncalc", *args],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=devnull,
            stderr=err,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            pass_fds=(write_end,),
            start_new_session=True,  # the launcher and cnncalc in one group: a hang kills both
        )
        os.close(write_end)
        killer = threading.Timer(TIMEOUT, _kill_group, (child.pid,))
        killer.start()
        try:
            if stdin is not None:
                assert child.stdin is not None
                try:
                    child.stdin.write(stdin)
                    child.stdin.close()
                except BrokenPipeError:
                    pass
            child.wait()
            with os.fdopen(report, "rb") as pipe:
                figures = pipe.read().split()
        finally:
            killer.cancel()
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    assert child.returncode != -9 and len(figures) == 2, f"killed after {TIMEOUT} s (a hang): {args}"
    status, peak_kb = (int(f) for f in figures)
    return Run(os.waitstatus_to_exitcode(status), stderr, seconds, peak_kb / 1024)


def _refused(run: Run, *needles: str, option: bool = False) -> None:
    print(f"\n    measured: {run.seconds:.2f} s, {run.peak_mb:.0f} MB peak, exit {run.code}")
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert run.peak_mb < MEMORY_MB, f"{run.peak_mb:.0f} MB"
    if option:  # click's own format for a bad option value: usage line, then the error
        assert "Error: Invalid value for '--set'" in run.stderr, run.stderr
    else:
        assert run.stderr.startswith("Error: ") and run.stderr.count("\n") == 1, run.stderr
    for needle in needles:
        assert needle in run.stderr, run.stderr


def _billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ["input: [3, 8, 8]", "description:", "  a: &a [" + ", ".join(['"lol"'] * width) + "]"]
    names = "abcdefghijklmnopqrstuvwxyz"
    for i in range(1, levels):
        lines.append(f"  {names[i]}: &{names[i]} [" + ", ".join([f"*{names[i - 1]}"] * width) + "]")
    return "\n".join(lines + ["layers: [ReLU]"]) + "\n"


# name -> (spec text, extra args, expected pieces of the message)
HOSTILE: dict[str, tuple[str, list[str], tuple[str, ...]]] = {
    "alias bomb": (_billion_laughs(), [], ("aliases expand to too many values", "--max-nodes", ":9:")),
    "alias bomb in layers": (
        "input: [3, 8, 8]\nblocks:\n  b0: &x\n" + "".join("    - ReLU\n" for _ in range(2000))
        + "".join(f"  b{i}: *x\n" for i in range(1, 1000)) + "layers: [b0]\n",
        [],
        ("aliases expand to too many values",),
    ),
    "repeat 1e9": ("input: [3, 8, 8]\nlayers:\n  - ReLU: {repeat: 1000000000}\n", [], ("repeat count too large", "--max-repeat", ":3:20:")),
    "repeat 1e9 as an expression": ("input: [3, 8, 8]\nlayers:\n  - ReLU: {repeat: 10**9}\n", [], ("repeat count too large", "--max-repeat")),
    "100,000-deep list": ("input: [3, 8, 8]\nlayers: " + "[" * 100_000 + "]" * 100_000 + "\n", [], ("YAML nested too deeply", ":2:208:")),
    "100,000-deep mapping": ("input: [3, 8, 8]\nlayers: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n", [], ("YAML nested too deeply",)),
    "100,000-deep block list": ("input: [3, 8, 8]\nlayers:\n" + "- " * 100_000 + "ReLU\n", [], ("YAML nested too deeply",)),
    # as deep as indentation gets in a file of a few MB: cnncalc's guard speaks before libyaml's
    "2,000-deep indentation": (
        "input: [3, 8, 8]\nlayers:\n" + "".join(" " * i + "-\n" for i in range(2000)) + " " * 2000 + "- ReLU\n",
        [],
        ("YAML nested too deeply", ":202:200:", "at most 200 levels"),
    ),
    "2,000 nested blocks": (
        "input: [3, 8, 8]\nblocks:\n" + "".join(f"  b{i}: [b{i + 1}]\n" for i in range(2000)) + "  b2000: [ReLU]\nlayers: [b0]\n",
        [],
        ("blocks nested too deeply", "--max-depth"),
    ),
    "9**9**9": ("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 9**9**9, kernel_size: 3}\n", [], ("number too large", "9**9**9")),
    "(1/3)**9999": ("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: (1/3)**9999, kernel_size: 3}\n", [], ("number too large",)),
    "growing fractions": (
        "input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: \"1" + "/7**1000" * 20 + "\", kernel_size: 3}\n",
        [],
        ("number too large",),
    ),
    "symbolic power": ("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: (a+b+c+d+e)**99, kernel_size: 3}\n", [], ("symbolic expression too large",)),
    "symbolic exponent": ("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: k**1000000, kernel_size: 3}\n", [], ("exponent too large",)),
    "huge decimal literal": ("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: " + "9" * 5000 + ", kernel_size: 3}\n", [], ("integer literal too long",)),
    "huge octal literal": ("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 0" + "7" * 100_000 + ", kernel_size: 3}\n", [], ("integer literal too long",)),
    "huge base-60 literal": ("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 1" + ":59" * 50_000 + ", kernel_size: 3}\n", [], ("integer literal too long",)),
    "sizes growing without bound": (
        "input: [3, 8, 8]\nlayers:\n  - ConvTranspose2d: {out_channels: 3, kernel_size: 1, stride: 1000000000000, repeat: 100000}\n",
        ["--format", "json"],
        ("is too large", "2**16384"),
    ),
    "long expression": ("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: \"" + "1+" * 5000 + "1\", kernel_size: 3}\n", [], ("argument text too long",)),
    "deep expression": ("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: \"" + "-" * 1500 + "1\", kernel_size: 3}\n", [], ("expression too deeply nested",)),
    "2M layers by nested repeats": (
        "input: [3, 8, 8]\nblocks:\n  stage: [ReLU: {repeat: 1000}]\nlayers:\n  - stage: {repeat: 2000}\n",
        [],
        ("too many layers after expansion", "--max-layers", "at least 2000000"),
    ),
    "110,000 layers side by side": ("input: [3, 8, 8]\nlayers:\n" + "  - ReLU: {repeat: 10000}\n" * 11, [], ("too many layers after expansion", ":13:5:")),
    "2M layers behind an expression repeat": (
        "input: [3, 8, 8]\nvars: {n: 2000}\nblocks:\n  stage: [ReLU: {repeat: 1000}]\nlayers:\n  - stage: {repeat: n}\n",
        [],
        ("too many layers after expansion",),
    ),
    "1M YAML values": ("input: [3, 8, 8]\ndescription: [" + "1," * 1_200_000 + "1]\nlayers: [ReLU]\n", [], ("too many YAML values", "--max-nodes")),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_spec_is_refused(hostile_runs: dict[str, Run], name: str) -> None:
    """Exit 2 with the limit's message, within the child's 10 s and 200 MB."""
    _refused(hostile_runs[name], *HOSTILE[name][2])


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every hostile spec run once, four children at a time (each still has its own 10 s)."""
    folder = tmp_path_factory.mktemp("hostile")
    jobs = {}
    for index, (name, (text, extra, _)) in enumerate(HOSTILE.items()):
        spec = folder / f"hostile{index}.yaml"
        spec.write_text(text)
        jobs[name] = ["params", str(spec), *extra]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run, args) for name, args in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def test_hostile_spec_on_stdin(tmp_path: Path) -> None:
    """Standard input gets the same checks (and a bounded read)."""
    _refused(_run(["shape", "-"], stdin=HOSTILE["100,000-deep list"][0].encode()), "<stdin>:2:208:", "YAML nested too deeply")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["shape", "--set", "k=9**9**9", "configs/resnet_block_bottleneck.yaml"], "number too large"),
        (["shape", "--input", "3,8,8", "Conv2d(3, 9**9**9, 3)"], "number too large"),
        (["shape", "--input", "3,8,8", "ReLU(repeat=10**9)"], "repeat count too large"),
        (["shape", "--input", "3,8,8", "Conv2d(3, 4, " + "9" * 1900 + ")"], "integer too large"),
    ],
    ids=["--set", "inline", "inline repeat", "inline literal"],
)
def test_hostile_options_are_refused(args: list[str], needle: str) -> None:
    """The same limits hold for --set values and inline layer calls."""
    _refused(_run(args), needle, option=args[1] == "--set")


def _invoke(args: list[str], text: str, tmp_path: Path) -> tuple[int, str]:
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    result = CliRunner().invoke(main, [args[0], str(spec), *args[1:]])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("text", "flag", "low", "high", "message"),
    [
        ("input: [3, 8, 8]\nlayers:\n  - ReLU: {repeat: 12}\n", "--max-layers", "10", "12", "too many layers"),
        ("input: [3, 8, 8]\nlayers:\n  - ReLU: {repeat: 12}\n", "--max-repeat", "10", "12", "repeat count too large"),
        ("input: [3, 8, 8]\nblocks:\n  a: [b]\n  b: [c]\n  c: [ReLU]\nlayers: [a]\n", "--max-depth", "2", "3", "blocks nested too deeply"),
        ("input: [3, 8, 8]\nd: &a [1, 2, 3, 4]\nlayers: [ReLU]\n", "--max-nodes", "9", "10000", "too many YAML values"),
        ("input: [3, 8, 8]\ndescription: {a: &a [1, 2, 3, 4], b: [*a, *a, *a, *a, *a, *a, *a, *a]}\nlayers: [ReLU]\n", "--max-nodes", "30", "100", "aliases expand"),
    ],
    ids=["max-layers", "max-repeat", "max-depth", "max-nodes", "max-nodes aliases"],
)
def test_every_limit_has_a_flag(tmp_path: Path, text: str, flag: str, low: str, high: str, message: str) -> None:
    """Each limit names its flag, and raising the flag lets the same spec through."""
    code, stderr = _invoke(["params", flag, low], text, tmp_path)
    assert code == 2 and message in stderr and flag in stderr, stderr
    code, stderr = _invoke(["params", flag, high], text, tmp_path)
    if flag == "--max-nodes" and "d: &a" in text:
        # an unknown top-level key is reported once the size check passes
        assert "unknown top-level key 'd'" in stderr
        return
    assert code == 0, stderr


def test_huge_exact_sizes_are_still_fine(tmp_path: Path) -> None:
    """Huge channel counts stay exact ints (no float, no refusal) within the bounds."""
    spec = tmp_path / "s.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 10**1000, kernel_size: 1}\n  - Conv2d: {out_channels: 10**1000, kernel_size: 1}\n")
    result = CliRunner().invoke(main, ["params", str(spec), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    # 1x1 convs with bias: 3*C + C, then C*C + C, with C = 10**1000
    assert json.loads(result.stdout)["total"] == 3 * 10**1000 + 10**1000 + 10**2000 + 10**1000


def test_deep_yaml_within_the_stack_budget_is_checked_exactly() -> None:
    """A spec with many flow mappings (a large depth bound) still loads; only real depth counts."""
    from cnncalc.spec import load_text

    text = "input: [3, 8, 8]\nlayers:\n" + "  - Conv2d: {out_channels: 4, kernel_size: 1}\n" * 30_000
    spec = load_text(text, "wide.yaml")
    assert spec.layers is not None and len(spec.layers) == 30_000


class _LibyamlWithNestingLimit:
    """yaml.parse as libyaml 0.2.6 and later behave: it looks ahead on a line before it reports
    the line's events, and refuses 1,000 levels of nesting in its own words."""

    def __init__(self, limit: int = 1000) -> None:
        import yaml

        self.real_parse = yaml.parse
        self.limit = limit

    def __call__(self, text: str, Loader: object) -> Iterator[object]:
        import yaml

        depth = 0
        held: list[Any] = []
        for event in self.real_parse(text, Loader=Loader):
            while held and held[0].start_mark.line < event.start_mark.line:
                yield held.pop(0)
            held.append(event)
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth >= self.limit:
                    mark = event.start_mark
                    raise yaml.scanner.ScannerError("while increasing flow level", mark, "exceeded maximum nesting depth", mark)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
        yield from held


@pytest.mark.parametrize(
    "text",
    [
        "input: [3, 8, 8]\nlayers: " + "[" * 5000 + "]" * 5000 + "\n",
        "input: [3, 8, 8]\nlayers: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
        "input: [3, 8, 8]\nlayers:\n" + "".join(" " * i + "-\n" for i in range(1200)) + " " * 1200 + "- ReLU\n",
    ],
    ids=["flow list", "flow mapping", "indentation"],
)
def test_depth_message_is_cnncalcs_whatever_libyaml_refuses(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same message and position whether or not libyaml refuses deep nesting itself first."""
    import yaml

    from cnncalc.errors import LimitError
    from cnncalc.spec import load_text

    def message() -> str:
        with pytest.raises(LimitError) as caught:
            load_text(text, "deep.yaml")
        return str(caught.value)

    plain = message()
    monkeypatch.setattr(yaml, "parse", _LibyamlWithNestingLimit())
    assert message() == plain
    assert "YAML nested too deeply" in plain and "at most 200 levels" in plain
