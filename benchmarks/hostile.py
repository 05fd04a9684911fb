#!/usr/bin/env python3
"""Hostile inputs against the budget "every spec under 1 MB, with default limits, ends in under
5 s and under 1 GB, with an answer or a located exit-2 message" (issue 13, Deliver 3).

    python benchmarks/hostile.py                  # every case (a few minutes on 2 cores)
    python benchmarks/hostile.py --only relu,zoo  # cases whose name contains a word
    python benchmarks/hostile.py --runs 3         # the median of 3 runs per command
    python benchmarks/hostile.py --list           # the cases, without running them

Each case's spec is written to a temporary directory and each command runs as a whole process
(`python -m cnncalc ...`, the checkout on PYTHONPATH, stdout to /dev/null). Wall time is from
launch to reap; CPU time (user + system) and peak RSS come from wait4. A command over 5 s or
over 1 GB, or ending in a way its case does not expect (a traceback, an internal error, a
timeout), is flagged; the exit status is 1 when one is. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 5.0
MEGABYTES = 1024.0
TIMEOUT = 120.0
FORMATS = ("table", "json", "markdown")


@dataclass(frozen=True)
class Case:
    """A spec (its text, or a shipped config rewritten) and the commands run on it.

    `expect`: the exit statuses that count as an answer or a clean refusal (never 1 for a
    traceback: cnncalc exits 2 for bad input, and a crash is caught by its message).
    `owner`: whose part of issue 13 the case belongs to (the solver's cases are the lead's)."""

    name: str
    text: str
    commands: tuple[tuple[str, ...], ...]
    expect: tuple[int, ...] = (0,)
    owner: str = "perf"


def _commands(*names: str, formats: tuple[str, ...] = ("table",)) -> tuple[tuple[str, ...], ...]:
    return tuple((name, "--format", fmt) for name in names for fmt in formats)


def _layers(count: int) -> str:
    """`count` ReLU layers from a few hundred bytes: a block of 1,000 repeated."""
    blocks, rest = divmod(count, 1000)
    lines = ["name: relu-stack", "input: [4, 8, 8]", "blocks:", "  thousand:", "    layers:", "      - ReLU: {repeat: 1000}", "layers:"]
    if blocks:
        lines.append(f"  - thousand: {{repeat: {blocks}}}")
    if rest:
        lines.append(f"  - ReLU: {{repeat: {rest}}}")
    return "\n".join(lines) + "\n"


def _symbolic_input(config: Path) -> str | None:
    """A shipped config with its input's spatial sizes replaced by the symbol s ([3, s, s])."""
    lines = config.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("input: [") and line.count(",") == 2:
            channels = line[len("input: [") :].split(",")[0]
            lines[i] = f"input: [{channels}, s, s]"
            return "\n".join(lines) + "\n"
    return None


def cases(max_layers: int) -> list[Case]:
    """Every hostile case; `max_layers` is the default --max-layers (the ReLU stacks use it)."""
    conv = "name: {name}\ninput: [3, 8, 8]\nlayers:\n{layers}"
    found = [
        Case(
            "max of 300 symbols",
            conv.format(name="max300", layers="  - Conv2d: {out_channels: 'max(" + ", ".join(f"a{i}" for i in range(300)) + ")', kernel_size: 1}\n"),
            _commands("shape", "params", "cost"),
        ),
        Case(
            "AdaptiveAvgPool2d to 10**1000",
            conv.format(name="adaptive", layers="  - AdaptiveAvgPool2d: {output_size: 10**1000}\n"),
            _commands("cost", formats=("table", "json")),
            expect=(0, 2),
        ),
        Case(
            "Upsample to 10**9, area",
            conv.format(name="upsample", layers="  - Upsample: {size: 10**9, mode: area}\n"),
            _commands("cost", formats=("table", "json")),
        ),
        Case(f"{max_layers:,} ReLU layers (the default --max-layers)", _layers(max_layers), _commands("shape", "params", "cost", formats=FORMATS)),
        Case(
            "2,000 layers of distinct widths",
            conv.format(name="widths", layers="".join(f"  - Conv2d: {{out_channels: k{i}, kernel_size: 1}}\n" for i in range(1, 2001))),
            _commands("shape", "params", "cost"),
            expect=(2,),  # past --max-symbolic-layers (1,000): refused at layer 1,000, naming the option
        ),
        Case(
            "two widths, --range k1=1..2000000",
            (ROOT / "configs" / "bottleneck_two_widths.yaml").read_text(),
            (("bottleneck", "--reduce", "0.5-0.6", "--range", "k1=1..2000000"),),
            expect=(0, 1, 2),
            owner="lead (solver)",
        ),
        Case(
            "a width of k**(1/3) + k**(2/7)",
            "name: roots\ninput: [64, 16, 16]\nblocks:\n  plain:\n    - Conv2d: {out_channels: 64, kernel_size: 3, padding: 1}\n"
            "  odd:\n    - Conv2d: {out_channels: 'k**(1/3) + k**(2/7)', kernel_size: 3, padding: 1}\n",
            (("bottleneck", "--reduce", "0.5-0.6"),),
            expect=(0, 1, 2),
            owner="lead (solver)",
        ),
        Case(
            "--reduce 0.111... (10,000 digits)",
            (ROOT / "configs" / "resnet_block_bottleneck.yaml").read_text(),
            (("bottleneck", "--reduce", "0." + "1" * 10_000),),
            expect=(0, 1, 2),
            owner="errs (--reduce parsing)",
        ),
    ]
    found += _issue_cases()
    if max_layers < 1_000_000:  # the file of issue 13: refused at once, naming --max-layers
        found.insert(4, Case("1,000,000 ReLU layers", _layers(1_000_000), _commands("params", "cost", formats=("json",)), expect=(2,)))
    for config in sorted((ROOT / "configs").glob("*.yaml")):
        text = _symbolic_input(config)
        if text is not None:
            found.append(Case(f"zoo {config.stem} on [C, s, s]", text, _commands("cost")))
    return found


def _block_spec(candidate: str, input_shape: str = "[64, 16, 16]", residual: bool = False) -> str:
    """The seed's plain block and a candidate block made of the given layer lines."""
    lines = "".join(f"      - {line}\n" for line in candidate.strip().splitlines())
    return (
        f"name: issue\ninput: {input_shape}\nblocks:\n  plain:\n    layers:\n"
        "      - Conv2d: {out_channels: 64, kernel_size: 3, padding: 1}\n      - ReLU\n"
        "      - Conv2d: {out_channels: 64, kernel_size: 3, padding: 1}\n      - ReLU\n"
        f"  cand:\n    residual: {'true' if residual else 'false'}\n    layers:\n{lines}"
    )


def _issue_cases() -> list[Case]:
    """The cases issue 13 lists, each run as a user would: an answer (0), no answer (1) or a
    located refusal (2), in under 5 s."""
    solve = ("bottleneck", "--reduce")
    c = _block_spec
    return [
        Case("out_channels: k - 64", c("Conv2d: {out_channels: k - 64, kernel_size: 1}\nConv2d: {out_channels: 64, kernel_size: 1}"), ((*solve, "0.5"),), (0,), "lead"),
        Case("residual width k, no shortcut", c("Conv2d: {out_channels: k, kernel_size: 3, padding: 1}", residual=True), ((*solve, "0.2-0.6"),), (0,), "lead"),  # only k = 64 builds: a 50% cut
        Case("kernel_size: k, no padding, MACs", c("Conv2d: {out_channels: 64, kernel_size: k}"), ((*solve, "0.5-0.99", "--metric", "macs"),), (0,), "lead"),
        Case("groups: k", c("Conv2d: {out_channels: 64, kernel_size: 3, padding: 1, groups: k}"), ((*solve, "0.2-0.99"),), (0,), "lead"),
        Case("out_channels: k/2, groups 8", c("Conv2d: {out_channels: k/2, kernel_size: 3, padding: 1, groups: 8}\nConv2d: {out_channels: 64, kernel_size: 1}"), ((*solve, "0.2-0.6"),), (0,), "lead"),
        Case("in_channels: k on 3 channels", c("Conv2d: {in_channels: k, out_channels: 4, kernel_size: 1}", "[3, 8, 8]"), (("shape",), ("params",)), (0,), "lead"),
        Case("Add of [k,8,8] and [3,8,8]", c("Conv2d: {out_channels: k, kernel_size: 1, name: a}\nConv2d: {out_channels: 3, kernel_size: 1, from: input, name: b}\nAdd: {from: [a, b]}", "[3, 8, 8]"), (("shape",),), (0,), "lead"),
        Case("padding: -p", c("Conv2d: {out_channels: 64, kernel_size: 3, padding: -p}"), (("params",),), (2,), "lead"),
        Case("stride: -s", c("Conv2d: {out_channels: 64, kernel_size: 3, stride: -s}"), (("params",),), (2,), "lead"),
        Case("out_channels: 1/k", c("Conv2d: {out_channels: 1/k, kernel_size: 3}"), (("params",),), (0,), "lead"),
        Case("a complex width", c("Conv2d: {out_channels: 'k*(-1)**0.5', kernel_size: 3}"), (("params",),), (2,), "lead"),
        Case("stride: k, MACs", c("Conv2d: {out_channels: k, kernel_size: 1}\nConv2d: {out_channels: 64, kernel_size: 3, stride: k}"),
             ((*solve, "0.2-0.9", "--metric", "macs"), (*solve, "0.2-0.9", "--metric", "macs", "--range", "k=1..40")), (0, 1, 2), "lead"),
        Case("ceil_mode pool, k=2 s=2 p=1 N=5", "name: pool\ninput: [3, N, N]\nlayers:\n  - MaxPool2d: {kernel_size: k, stride: s, padding: p, ceil_mode: true}\n",
             (("shape",), ("shape", "--set", "k=2", "--set", "s=2", "--set", "p=1", "--set", "N=5")), (0,), "lead"),
        Case("repeat: n", "name: rep\ninput: [16, 32, 32]\nlayers:\n  - Conv2d: {out_channels: 16, kernel_size: 3, padding: 1, repeat: n}\n",
             (("params",), ("cost",)), (0,), "front"),
        Case("the seed homework's question", "name: seed\ninput: [C, W, H]\nbatch: B\nlayers:\n"
             "  - Conv2d: {out_channels: D, kernel_size: [k1, k2], stride: [s1, s2], padding: [p1, p2]}\n",
             (("shape",), ("shape", "--channels-last"), ("params",), ("cost",)), (0,), "front"),
        Case("out_channels: 10**400", "name: big\ninput: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 10**400, kernel_size: 1}\n",
             (("cost",), ("params", "--format", "json")), (0, 2), "errs"),
        Case("!!bool maybe", "name: tag\ninput: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 1, bias: !!bool maybe}\n", (("params",),), (2,), "errs"),
        Case("blocks: {} without layers", "name: empty\ninput: [3, 8, 8]\nblocks: {}\n", (("params", "--format", "json"),), (2,), "errs"),
        Case("--reduce 1/0", (ROOT / "configs" / "resnet_block_bottleneck.yaml").read_text(), ((*solve, "1/0"),), (2,), "errs"),
    ]


# ----------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Run:
    """One finished command: exit status, seconds (wall, CPU), peak RSS, first line of stderr."""

    status: int
    wall: float
    cpu: float
    rss_mb: float
    message: str


def run(argv: list[str], env: dict[str, str]) -> Run:
    """Run a command to its end (killed after TIMEOUT); wall time from launch to reap."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        deadline = start + TIMEOUT
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - start
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
    code = os.waitstatus_to_exitcode(status)
    message = "killed after the timeout" if code == -9 else (lines[0] if lines else "")
    return Run(code, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, message)


def child_env() -> dict[str, str]:
    """The checkout importable, bytecode cached privately (an installed package has it), no colour."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "cnncalc-bench-pycache")
    env["TERM"] = "dumb"
    return env


def flags(case: Case, result: Run) -> list[str]:
    """What is wrong with a run: over budget, an unexpected exit, a crash."""
    wrong = []
    if result.wall > SECONDS:
        wrong.append(f"over {SECONDS:g} s")
    if result.rss_mb > MEGABYTES:
        wrong.append("over 1 GB")
    if result.status not in case.expect:
        wrong.append(f"exit {result.status}")
    if "internal error" in result.message or "Traceback" in result.message:
        wrong.append("crash")
    return wrong


def measure(selected: list[Case], runs: int, python: str) -> Iterator[tuple[Case, tuple[str, ...], Run, list[str]]]:
    """Every command of every case, run `runs` times (the median run reported)."""
    env = child_env()
    with tempfile.TemporaryDirectory() as folder:
        for index, case in enumerate(selected):
            spec = Path(folder) / f"case{index}.yaml"
            spec.write_text(case.text)
            for command in case.commands:
                argv = [python, "-m", "cnncalc", command[0], str(spec), *command[1:]]
                results = sorted((run(argv, env) for _ in range(runs)), key=lambda r: r.wall)
                middle = results[len(results) // 2]
                yield case, command, middle, flags(case, middle)


def default_max_layers() -> int:
    """The --max-layers default of the checkout measured."""
    sys.path.insert(0, str(ROOT))
    from cnncalc.spec import Limits

    return Limits().max_layers


def main() -> int:
    """Run the cases; print one line per command; exit 1 when one is flagged."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated words: run the cases whose name contains one")
    parser.add_argument("--runs", type=int, default=1, help="runs per command; the median is reported (default 1)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs cnncalc")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args()
    words = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    selected = [c for c in cases(default_max_layers()) if not words or any(w in c.name.lower() for w in words)]
    if args.list:
        for case in selected:
            size = len(case.text.encode())
            print(f"{case.name:<48} {size:>9,} bytes  {len(case.commands)} command(s)  [{case.owner}]")
        return 0
    print(f"budget: {SECONDS:g} s and {MEGABYTES:,.0f} MB per command; wall (cpu) time, peak RSS, exit status")
    flagged = 0
    walls = []
    for case, command, result, wrong in measure(selected, args.runs, args.python):
        walls.append(result.wall)
        flagged += bool(wrong)
        mark = "  <-- " + ", ".join(wrong) if wrong else ""
        said = f"  {result.message[:90]}" if result.status else ""
        print(
            f"{case.name[:40]:<40} {' '.join(command)[:30]:<30} {result.wall:6.2f} s ({result.cpu:6.2f}) {result.rss_mb:7.0f} MB"
            f"  exit {result.status}{said}{mark}  [{case.owner}]",
            flush=True,
        )
    if walls:
        print(f"{len(walls)} commands, median {statistics.median(walls):.2f} s, slowest {max(walls):.2f} s; {flagged} flagged")
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
