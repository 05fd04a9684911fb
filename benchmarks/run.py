#!/usr/bin/env python3
"""cnncalc's benchmarks: whole processes timed against the imports they cannot avoid.

    python benchmarks/run.py                    # every section (1-2 minutes on 2 cores)
    python benchmarks/run.py --runs 41          # more runs per command (steadier medians)
    python benchmarks/run.py --only startup     # one section: startup, solve, scale, flat, torch
    python benchmarks/run.py --torch-python /path/to/venv/bin/python   # torchinfo comparison

Every comparison interleaves the command and its baseline (A B A B ..., the order rotating each
round) so that load from other processes falls on both alike, and prints medians, the spread
(quartiles) and the ratio of the medians measured in the same run. Wall-clock time decides the
budgets of DESIGN.md; CPU time (user + system, from the child's rusage) is printed beside it
because it is steadier on a busy machine. Exit status 1 when a budget fails.

Child processes write bytecode to a private cache (PYTHONPYCACHEPREFIX) and get one untimed
warm-up run, so every command starts from compiled modules, as an installed package does.
cnncalc runs without the cycle collector (cnncalc/__main__.py); the startup section also prints,
in brackets, each ratio against its baseline run that way. See benchmarks/README.md.
Needs only the project's own dependencies; torch, torchvision and torchinfo are optional.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEED = "configs/resnet_block_bottleneck.yaml"
RESNET50 = "configs/resnet50.yaml"
SCALE_SIZES = (1_000, 10_000, 100_000)
FLAT_SIZES = (1_000, 10_000)
TORCHINFO_SCRIPT = """
import torch, torchvision, torchinfo
model = torchvision.models.resnet50()
stats = torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)
print(stats.total_params, stats.trainable_params, stats.total_mult_adds)
"""


# ----------------------------------------------------------------------------- measuring processes


@dataclass(frozen=True)
class Sample:
    """One finished process: wall and CPU seconds, peak resident memory, exit status."""

    wall: float
    cpu: float
    rss_mb: float
    status: int


@dataclass
class Case:
    """A command line to time; `expect` is its exit status; `tty` runs it on a pseudo-terminal."""

    name: str
    argv: list[str]
    expect: int = 0
    tty: bool = False
    samples: list[Sample] = field(default_factory=list)


def child_env() -> dict[str, str]:
    """The children's environment: bytecode cached (privately), no colour, the checkout importable."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "cnncalc-bench-pycache")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["TERM"] = "dumb"
    env.pop("FORCE_COLOR", None)
    return env


ENV = child_env()


def _terminal() -> tuple[int, Any]:
    """A pseudo-terminal 200 columns wide, and a thread draining what the child writes to it."""
    import fcntl
    import pty
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))

    def drain() -> None:
        try:
            while os.read(master, 65536):
                pass
        except OSError:  # EIO once the child has closed the terminal
            pass
        os.close(master)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    return slave, reader


def run_once(
    argv: Sequence[str], *, capture: bool = False, keep_stdout: bool = True, tty: bool = False
) -> tuple[Sample, str, str]:
    """Run one process to its end; wall time from launch to reap, CPU and memory from wait4.

    `capture` returns stderr (and stdout, with `keep_stdout`) instead of timing the run. Large
    outputs are better not kept: a child's peak RSS counts its parent's at the moment of
    spawning (Linux carries the high-water mark across exec), so the parent stays small.
    """
    out: Any = subprocess.DEVNULL
    err: Any = subprocess.DEVNULL
    env, reader = ENV, None
    if capture:
        out, err = (subprocess.PIPE if keep_stdout else subprocess.DEVNULL), subprocess.PIPE
    elif tty:
        out, reader = _terminal()
        err = out
        env = {**ENV, "TERM": "xterm-256color"}
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, text=True)
    if reader is not None:
        os.close(out)  # the child holds the terminal now; its exit ends the drain
    if capture:
        stdout, stderr = process.communicate()
        return Sample(time.perf_counter() - start, 0.0, 0.0, process.returncode), stdout or "", stderr or ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if reader is not None:
        reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    rss_kb = usage.ru_maxrss  # kilobytes on Linux
    return Sample(wall, usage.ru_utime + usage.ru_stime, rss_kb / 1024, process.returncode), "", ""


def warm_up(case: Case, keep_stdout: bool = False) -> str:
    """One untimed run that compiles bytecode and checks the command works; its stdout if kept."""
    sample, stdout, stderr = run_once(case.argv, capture=True, keep_stdout=keep_stdout)
    if sample.status != case.expect:
        raise SystemExit(
            f"benchmark command failed: {' '.join(case.argv)}\n"
            f"exit status {sample.status} (expected {case.expect})\n{stderr.strip()}"
        )
    return stdout


def interleave(cases: list[Case], runs: int) -> None:
    """Run every case `runs` times, A B C, B C A, C A B, ..., so drifting load hits all alike."""
    for case in cases:
        warm_up(case)
    for round_ in range(runs):
        shift = round_ % len(cases)
        for case in cases[shift:] + cases[:shift]:
            sample, _, _ = run_once(case.argv, tty=case.tty)
            if sample.status != case.expect:
                raise SystemExit(f"{case.name}: exit status {sample.status} in a timed run")
            case.samples.append(sample)


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """First quartile, median, third quartile."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def wall_ms(case: Case) -> float:
    return 1000 * statistics.median(s.wall for s in case.samples)


def cpu_ms(case: Case) -> float:
    return 1000 * statistics.median(s.cpu for s in case.samples)


def case_line(case: Case) -> str:
    q1, q2, q3 = quartiles([1000 * s.wall for s in case.samples])
    rss = max(s.rss_mb for s in case.samples)
    return (
        f"  {case.name:<44} {q2:8.1f} ms  [{q1:7.1f} .. {q3:7.1f}]  cpu {cpu_ms(case):7.1f} ms"
        f"  {rss:6.1f} MB  (n={len(case.samples)})"
    )


# ----------------------------------------------------------------------------- budgets


@dataclass(frozen=True)
class Verdict:
    """One budget: what was compared, the measured figure and its limit."""

    what: str
    figure: float
    limit: float
    unit: str = "x"
    cpu_figure: float | None = None
    at_least: bool = False  # the figure must reach the limit (a speed-up) rather than stay under it

    @property
    def ok(self) -> bool:
        return self.figure >= self.limit if self.at_least else self.figure <= self.limit

    def line(self) -> str:
        cpu = f"   (cpu {self.cpu_figure:.3f}{self.unit})" if self.cpu_figure is not None else ""
        mark = "ok  " if self.ok else "FAIL"
        bound = ">=" if self.at_least else "<="
        return f"  {mark} {self.what:<58} {self.figure:8.3f}{self.unit}  budget {bound} {self.limit:g}{self.unit}{cpu}"


VERDICTS: list[Verdict] = []


def ratio(what: str, case: Case, base: Case, limit: float) -> Verdict:
    verdict = Verdict(what, wall_ms(case) / wall_ms(base), limit, "x", cpu_ms(case) / cpu_ms(base))
    VERDICTS.append(verdict)
    return verdict


def heading(text: str) -> None:
    print(f"\n== {text}", flush=True)


def cnncalc(*args: str) -> list[str]:
    """A cnncalc command line, run from the checkout (no install needed)."""
    return [sys.executable, "-m", "cnncalc", *args]


def python_c(code: str, python: str | None = None) -> list[str]:
    return [python or sys.executable, "-c", code]


# ----------------------------------------------------------------------------- sections


def has_command(name: str) -> bool:
    sample, _, _ = run_once(cnncalc(name, "--help"), capture=True)
    return sample.status == 0


def startup(runs: int) -> None:
    """Whole runs on real specs against the imports they cannot avoid."""
    heading(f"startup: whole processes, {runs} interleaved runs each (median [q1 .. q3], cpu median, peak RSS)")
    base = Case("python -c 'import yaml, click'", python_c("import yaml, click"))
    table_base = Case("python -c 'import yaml, click, rich...'", python_c("import yaml, click, rich.console, rich.table"))
    # cnncalc runs with the cycle collector off (cnncalc.__main__): the same baselines that way too
    base_nogc = Case("  the same, collector off", python_c("import gc; gc.disable(); import yaml, click"))
    table_nogc = Case("  the same, collector off", python_c("import gc; gc.disable(); import yaml, click, rich.console, rich.table"))
    cases = {
        "params-json": Case(f"params {RESNET50} --format json", cnncalc("params", RESNET50, "--format", "json")),
        "params-table": Case(f"params {RESNET50} (piped)", cnncalc("params", RESNET50)),
        "params-tty": Case(f"params {RESNET50} (terminal)", cnncalc("params", RESNET50), tty=True),
        "shape-json": Case(f"shape {RESNET50} --format json", cnncalc("shape", RESNET50, "--format", "json")),
        "shape-table": Case(f"shape {RESNET50} (piped)", cnncalc("shape", RESNET50)),
        "shape-tty": Case(f"shape {RESNET50} (terminal)", cnncalc("shape", RESNET50), tty=True),
    }
    everything = [base, base_nogc, table_base, table_nogc, *cases.values()]
    interleave(everything, runs)
    for case in everything:
        print(case_line(case))
    for what, key, reference, plain in (
        ("params resnet50 --format json / import yaml, click", "params-json", base, base_nogc),
        ("params resnet50 table, piped / import yaml, click, rich", "params-table", table_base, table_nogc),
        ("params resnet50 table, terminal / import ... rich", "params-tty", table_base, table_nogc),
        ("shape resnet50 --format json / import yaml, click", "shape-json", base, base_nogc),
        ("shape resnet50 table, piped / import yaml, click, rich", "shape-table", table_base, table_nogc),
        ("shape resnet50 table, terminal / import ... rich", "shape-tty", table_base, table_nogc),
    ):
        print(ratio(what, cases[key], reference, 1.25).line() + f"   [{wall_ms(cases[key]) / wall_ms(plain):.3f}x collector off]")

    if not has_command("bottleneck"):
        print("  note: 'cnncalc bottleneck' does not exist yet; its comparison with 'import sympy' is skipped")
        return
    bottleneck_runs = max(5, runs // 2)
    sympy_base = Case("python -c 'import sympy'", python_c("import sympy"))
    sympy_nogc = Case("  the same, collector off", python_c("import gc; gc.disable(); import sympy"))
    seed = Case(f"bottleneck {SEED} --reduce 0.5-0.6", cnncalc("bottleneck", SEED, "--reduce", "0.5-0.6"))
    interleave([sympy_base, sympy_nogc, seed], bottleneck_runs)
    for case in (sympy_base, sympy_nogc, seed):
        print(case_line(case))
    line = ratio("bottleneck seed --reduce 0.5-0.6 / import sympy", seed, sympy_base, 1.3).line()
    print(line + f"   [{wall_ms(seed) / wall_ms(sympy_nogc):.3f}x collector off]")


def synthetic_spec(layers: int) -> str:
    """A spec of templates and `repeat` that expands to exactly `layers` rows.

    A residual `unit` has 8 layers, the add and an `after` ReLU (10 rows); a `stage` repeats the
    unit n times; the model repeats the stage 10 times: 100 n rows.
    """
    assert layers % 100 == 0
    n = layers // 100
    return f"""\
name: synthetic-{layers}
input: [64, 56, 56]
blocks:
  unit:
    args: {{c: null, r: 4}}
    residual: true
    layers:
      - Conv2d: {{out_channels: c // r, kernel_size: 1, bias: false}}
      - BatchNorm2d
      - ReLU
      - Conv2d: {{out_channels: c // r, kernel_size: 3, padding: 1, bias: false}}
      - BatchNorm2d
      - ReLU
      - Conv2d: {{out_channels: c, kernel_size: 1, bias: false}}
      - BatchNorm2d
    after: [ReLU]
  stage:
    args: {{c: null, n: 1}}
    layers:
      - unit: {{c: c, repeat: n}}
layers:
  - stage: {{c: 64, n: {n}, repeat: 10}}
"""


def flat_spec(layers: int) -> str:
    """A spec of `layers` plain layers: conv, batch norm, ReLU over and over (shapes kept)."""
    lines = [f"name: flat-{layers}", "input: [64, 32, 32]", "layers:"]
    cycle = (
        "  - Conv2d: {out_channels: 64, kernel_size: 3, padding: 1, bias: false}",
        "  - BatchNorm2d",
        "  - ReLU",
    )
    lines += [cycle[i % 3] for i in range(layers)]
    return "\n".join(lines) + "\n"


def child_evaluate(path: str) -> None:
    """(In a fresh child.) Load, evaluate shape + params and build both JSON documents; report.

    The cycle collector is off, as in the command line (cnncalc.__main__).
    """
    import gc
    import resource

    gc.disable()
    start = time.perf_counter()
    from cnncalc.analysis.evaluate import evaluate_spec
    from cnncalc.render.params import params_document
    from cnncalc.render.shape import shape_document
    from cnncalc.spec import load_path

    imported = time.perf_counter()
    spec = load_path(path)
    loaded = time.perf_counter()
    evaluations = evaluate_spec(spec)
    evaluated = time.perf_counter()
    shape_doc = shape_document(evaluations)
    params_doc = params_document([evaluations])
    documented = time.perf_counter()
    rows = sum(len(e.rows) for e in evaluations)
    assert len(shape_doc["layers"]) == rows and len(params_doc["layers"]) == rows
    report = {
        "import": imported - start,
        "load": loaded - imported,
        "evaluate": evaluated - loaded,
        "documents": documented - evaluated,
        "rows": rows,
        "params": params_doc["total"],
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(report))


def child_flat(path: str, runs: int) -> None:
    """(In a fresh child.) Interleave PyYAML's C composer and cnncalc's load, evaluation and
    documents on one text; report the times of each run.

    Both without the cycle collector, as the command line runs (cnncalc.__main__); results are
    dropped inside the timed region, as their memory is freed there in a real run too.
    """
    import gc

    import yaml

    gc.disable()
    from cnncalc.analysis.evaluate import evaluate_spec
    from cnncalc.render.params import params_document
    from cnncalc.render.shape import shape_document
    from cnncalc.spec import load_text

    text = Path(path).read_text()
    times: dict[str, list[float]] = {"compose": [], "load": [], "evaluate": [], "documents": []}
    for _ in range(runs):
        start = time.perf_counter()
        yaml.compose(text, Loader=yaml.CSafeLoader)
        times["compose"].append(time.perf_counter() - start)
        start = time.perf_counter()
        spec = load_text(text, path)
        loaded = time.perf_counter()
        evaluations = evaluate_spec(spec)
        evaluated = time.perf_counter()
        shape_document(evaluations)
        params_document([evaluations])
        documented = time.perf_counter()
        del spec, evaluations
        times["load"].append(loaded - start)
        times["evaluate"].append(evaluated - loaded)
        times["documents"].append(documented - evaluated)
    print(json.dumps(times))


def scale(runs: int, workdir: Path) -> None:
    """Specs that expand through templates and repeat: in-process cost, peak memory, whole CLI runs."""
    heading(
        f"scale: templates + repeat expanding to {', '.join(f'{n:,}' for n in SCALE_SIZES)} layers, in-process in "
        f"{runs} fresh processes each (medians; the budgets apply to shape+params: load, evaluation, both JSON documents)"
    )
    paths = {}
    for n in SCALE_SIZES:
        paths[n] = workdir / f"synthetic_{n}.yaml"
        paths[n].write_text(synthetic_spec(n))
    reports: dict[int, list[dict]] = {n: [] for n in SCALE_SIZES}
    for n in SCALE_SIZES:
        warm_up(Case("", [sys.executable, __file__, "--child-evaluate", str(paths[n])]))
    for _ in range(runs):
        for n in SCALE_SIZES:
            _, stdout, _ = run_once([sys.executable, __file__, "--child-evaluate", str(paths[n])], capture=True)
            reports[n].append(json.loads(stdout))
    work: dict[int, float] = {}
    print(f"  {'layers':>8} {'load':>9} {'evaluate':>9} {'documents':>10} {'shape+params':>13} {'peak RSS':>9}")
    for n in SCALE_SIZES:
        rs = reports[n]
        assert all(r["rows"] == n for r in rs), f"synthetic spec expanded to {rs[0]['rows']} rows, not {n}"
        parts = {k: 1000 * statistics.median(r[k] for r in rs) for k in ("load", "evaluate", "documents")}
        work[n] = 1000 * statistics.median(r["load"] + r["evaluate"] + r["documents"] for r in rs)
        rss = max(r["rss_mb"] for r in rs)
        print(
            f"  {n:>8,} {parts['load']:7.1f}ms {parts['evaluate']:7.1f}ms {parts['documents']:8.1f}ms"
            f" {work[n]:11.1f}ms {rss:7.1f}MB"
        )
    VERDICTS.append(Verdict("100,000 layers: load + shape + params in-process", work[100_000] / 1000, 1.0, " s"))
    print(VERDICTS[-1].line())
    VERDICTS.append(Verdict("t(100,000) / t(10,000) (linear growth)", work[100_000] / work[10_000], 12))
    print(VERDICTS[-1].line())
    print("  whole command-line runs (information: start-up, the same work, and every layer written out to /dev/null):")
    largest = str(paths[SCALE_SIZES[-1]])
    cli_cases = [
        Case(f"params synthetic_{n:,} --format json", cnncalc("params", str(paths[n]), "--format", "json"))
        for n in SCALE_SIZES
    ] + [
        Case(f"shape synthetic_{SCALE_SIZES[-1]:,} --format json", cnncalc("shape", largest, "--format", "json")),
        Case(f"params synthetic_{SCALE_SIZES[-1]:,} (table, piped)", cnncalc("params", largest)),
    ]
    interleave(cli_cases, max(3, runs))
    for case in cli_cases:
        print(case_line(case))


def flat(runs: int, workdir: Path) -> None:
    """Flat files against PyYAML's C composer, the floor of reading YAML with positions kept."""
    heading(f"flat files: reading a spec against yaml.compose(text, Loader=CSafeLoader), {runs} interleaved runs in one process (medians)")
    print(f"  {'layers':>8} {'compose':>9} {'load':>9} {'evaluate':>9} {'documents':>10}   load/compose  +evaluate  +documents")
    for n in FLAT_SIZES:
        path = workdir / f"flat_{n}.yaml"
        path.write_text(flat_spec(n))
        warm_up(Case("", [sys.executable, __file__, "--child-flat", str(path), "1"]))
        _, stdout, _ = run_once([sys.executable, __file__, "--child-flat", str(path), str(runs)], capture=True)
        t = {k: 1000 * statistics.median(v) for k, v in json.loads(stdout).items()}
        c = t["compose"]
        print(
            f"  {n:>8,} {c:7.1f}ms {t['load']:7.1f}ms {t['evaluate']:7.1f}ms {t['documents']:8.1f}ms"
            f"   {t['load'] / c:11.2f}x {(t['load'] + t['evaluate']) / c:9.2f}x {(t['load'] + t['evaluate'] + t['documents']) / c:10.2f}x"
        )
        VERDICTS.append(Verdict(f"flat {n:,} layers: load + evaluate (shape, params) / compose", (t["load"] + t["evaluate"]) / c, 1.5))
        print(VERDICTS[-1].line())


def torch_python(explicit: str | None) -> str | None:
    """An interpreter with torch, torchvision and torchinfo, or None."""
    candidates = [explicit] if explicit else [sys.executable]
    for python in candidates:
        try:
            done = subprocess.run(
                [python, "-c", "import importlib.util as u; import sys; "
                 "sys.exit(0 if all(u.find_spec(m) for m in ('torch', 'torchvision', 'torchinfo')) else 1)"],
                capture_output=True, timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return python
    return None


def torch(runs: int, explicit: str | None) -> None:
    """torchinfo's summary of torchvision's resnet50 in a fresh process against cnncalc params."""
    heading("torchinfo: summary of torchvision's resnet50 in a fresh process against cnncalc params resnet50")
    python = torch_python(explicit)
    if python is None:
        where = explicit or sys.executable
        print(f"  skipped: torch, torchvision and torchinfo are not all installed for {where} (try --torch-python)")
        return
    reference = Case("torchinfo.summary(resnet50())", python_c(TORCHINFO_SCRIPT, python))
    ours = Case(f"cnncalc params {RESNET50} --format json", cnncalc("params", RESNET50, "--format", "json"))
    torch_out = warm_up(reference, keep_stdout=True).split()
    our_doc = json.loads(warm_up(ours, keep_stdout=True))
    interleave([reference, ours], runs)
    print(case_line(reference))
    print(case_line(ours))
    speedup = wall_ms(reference) / wall_ms(ours)
    totals = int(torch_out[0]), int(torch_out[1])
    agree = our_doc["total"] == totals[0] and our_doc["trainable"] == totals[1]
    print(
        f"  totals: torchinfo {totals[0]:,} params ({totals[1]:,} trainable); "
        f"cnncalc {our_doc['total']:,} ({our_doc['trainable']:,} trainable): {'agree' if agree else 'DISAGREE'}"
    )
    print(
        f"  mult-adds (information; torchinfo counts some layers differently): torchinfo {int(torch_out[2]):,}, "
        f"cnncalc MACs {our_doc['macs']:,}"
    )
    VERDICTS.append(
        Verdict("speed-up over torchinfo on resnet50", speedup, 40, "x", cpu_ms(reference) / cpu_ms(ours), at_least=True)
    )
    print(VERDICTS[-1].line())
    VERDICTS.append(Verdict("resnet50 totals agree with torchinfo (1 = yes)", float(agree), 1, "", at_least=True))


TWO = "configs/bottleneck_two_widths.yaml"
SEED_BAND = "0.4*plain.params <= bottleneck.params <= 0.5*plain.params"


def solve(runs: int) -> None:
    """`cnncalc solve`: the seed through solve against `import sympy` (the bottleneck budget), and
    a two-symbol search over 10^6 integer points (k1, k2 in 1..1000, every point tested by the
    compiled exact evaluator) as a whole process, under 2 s."""
    heading(f"solve: whole processes, {runs} interleaved runs each")
    if not has_command("solve"):
        print("  note: 'cnncalc solve' does not exist yet; skipped")
        return
    sympy_base = Case("python -c 'import sympy'", python_c("import sympy"))
    sympy_nogc = Case("  the same, collector off", python_c("import gc; gc.disable(); import sympy"))
    seed = Case(f"solve {SEED} --where '{SEED_BAND}'", cnncalc("solve", SEED, "--where", SEED_BAND))
    grid = Case(
        f"solve {TWO} k1, k2 in 1..1000 (10^6 points)",
        cnncalc("solve", TWO, "--range", "1..1000", "--where", "bottleneck.params <= 5M", "--maximize", "k1*k2"),
    )
    interleave([sympy_base, sympy_nogc, seed, grid], runs)
    for case in (sympy_base, sympy_nogc, seed, grid):
        print(case_line(case))
    line = ratio("solve seed (0.4..0.5 of plain.params) / import sympy", seed, sympy_base, 1.3).line()
    print(line + f"   [{wall_ms(seed) / wall_ms(sympy_nogc):.3f}x collector off]")
    # The search itself, in one process: the spec read and evaluated, the metrics built, 10^6
    # points tested and the optimum found (the interpreter and `import sympy` left out).
    _, stdout, _ = run_once([sys.executable, __file__, "--child-solve", str(runs)], capture=True)
    timings = json.loads(stdout)
    print(f"  in-process: build {1000 * statistics.median(timings['build']):.0f} ms, search {1000 * statistics.median(timings['solve']):.0f} ms,"
          f" {timings['points']:,} points, {timings['feasible']:,} feasible (medians of {runs})")
    total = statistics.median(b + t for b, t in zip(timings["build"], timings["solve"]))
    VERDICTS.append(Verdict("solve over 10^6 points (k1, k2 in 1..1000), in-process", total, 2.0, " s"))
    print(VERDICTS[-1].line())
    print(f"  (information: the whole process, interpreter and sympy included, {wall_ms(grid) / 1000:.2f} s wall, {cpu_ms(grid) / 1000:.2f} s cpu)")


def child_solve(runs: int) -> None:
    """The 10^6-point search timed in-process (`solve` section)."""
    sys.path.insert(0, str(ROOT))
    import sympy  # noqa: F401 - imported before timing: the search is measured, not the import

    from cnncalc.solve.problem import build
    from cnncalc.solve.search import solve as run_solve
    from cnncalc.spec.zoo import load_spec

    out: dict[str, Any] = {"build": [], "solve": []}
    for _ in range(runs):
        start = time.perf_counter()
        setup = build(load_spec(str(ROOT / TWO)), ["bottleneck.params <= 5M"], ranges={None: (1, 1000)}, maximize="k1*k2")
        built = time.perf_counter()
        result = run_solve(setup.question)
        done = time.perf_counter()
        out["build"].append(built - start)
        out["solve"].append(done - built)
        out["points"], out["feasible"] = result.points_searched, result.total
    print(json.dumps(out))


SECTIONS: dict[str, Callable[[argparse.Namespace, Path], None]] = {
    "startup": lambda a, w: startup(a.runs),
    "solve": lambda a, w: solve(max(5, a.runs // 2)),
    "scale": lambda a, w: scale(max(3, a.runs // 4), w),
    "flat": lambda a, w: flat(max(5, a.runs // 2), w),
    "torch": lambda a, w: torch(a.torch_runs, a.torch_python),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21, help="timed runs per startup command (default 21)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections: " + ", ".join(SECTIONS))
    parser.add_argument("--torch-python", help="an interpreter with torch, torchvision and torchinfo")
    parser.add_argument("--torch-runs", type=int, default=3, help="timed torchinfo runs (default 3; each takes seconds)")
    parser.add_argument("--child-evaluate", help=argparse.SUPPRESS)
    parser.add_argument("--child-flat", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child-solve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_evaluate:
        child_evaluate(args.child_evaluate)
        return 0
    if args.child_solve:
        child_solve(args.child_solve)
        return 0
    if args.child_flat:
        child_flat(args.child_flat[0], int(args.child_flat[1]))
        return 0
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    print(f"cnncalc benchmarks: Python {sys.version.split()[0]} on {os.cpu_count()} CPUs, load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory(prefix="cnncalc-bench-") as work:
        for name in chosen:
            SECTIONS[name](args, Path(work))
    heading("budgets (DESIGN.md)")
    for verdict in VERDICTS:
        print(verdict.line())
    failed = [v for v in VERDICTS if not v.ok]
    print(f"\n{len(VERDICTS) - len(failed)} of {len(VERDICTS)} budgets hold.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
