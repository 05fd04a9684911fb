"""Golden outputs: every case's exit status, stdout and stderr, compared byte for byte.

A regression harness for refactoring: each case runs the command line in-process (click's
CliRunner, from the repository root, with relative paths, TERM=dumb, a fixed COLUMNS, no colour;
stdout is not a terminal, so tables are plain ASCII) and its result must equal the file
`tests/data/golden/<case>.txt` (or `<case>.txt.gz` for the large ones, see GZIP_ABOVE).

The cases: every shipped config x shape/params/cost x every format x with and without
--explain; bottleneck on the two block specs; derive; zoo; --help/--version; inline --input
calls, --set, --block, several specs, standard input; and error cases (exit 1 and 2).

After a deliberate change of output, regenerate and read the diff:

    CNNCALC_OVERWRITE_GOLDEN=1 python3 -m pytest tests/test_golden.py

(only files whose content changed are rewritten; files of cases that no longer exist are
deleted). `zcat tests/data/golden/<case>.txt.gz` shows a compressed one.
"""

from __future__ import annotations

import difflib
import gzip
import os
import shlex
from pathlib import Path
from typing import NamedTuple

import click
import pytest
from click.testing import CliRunner

from cnncalc.cli import main

from .conftest import CONFIGS, ROOT

GOLDEN = ROOT / "tests" / "data" / "golden"
OVERWRITE = os.environ.get("CNNCALC_OVERWRITE_GOLDEN") == "1"
# Golden texts longer than this (characters) are stored gzip-compressed: the 672 config cases
# alone print about 25 MB, mostly the per-layer tables and --explain workings of the big models.
GZIP_ABOVE = 16_000

# The environment of every case: a dumb terminal of fixed width (click's --help wraps to
# COLUMNS), no colour forced either way, no debug tracebacks. None removes a variable.
ENV: dict[str, str | None] = {
    "TERM": "dumb",
    "COLUMNS": "100",
    "LINES": "50",
    "NO_COLOR": "1",
    "FORCE_COLOR": None,
    "CLICOLOR": None,
    "CLICOLOR_FORCE": None,
    "CNNCALC_DEBUG": None,
}

FORMATS = ("table", "json", "csv", "markdown")
DERIVE_FORMATS = ("text", "latex", "markdown", "json")
SPEC_COMMANDS = ("shape", "params", "cost")
# The commands that take --explain (checked against the CLI by test_explain_commands).
EXPLAIN_COMMANDS = frozenset({"shape", "params", "cost", "bottleneck", "derive", "solve"})

SEED = "configs/resnet_block_bottleneck.yaml"
TWO = "configs/bottleneck_two_widths.yaml"
LENET = "configs/lenet5.yaml"
CONV = "configs/conv_shapes.yaml"
STEM_CALLS = ("Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)", "MaxPool2d(3, 2, 1)")


class Case(NamedTuple):
    name: str  # the golden file's stem
    args: tuple[str, ...]
    stdin: str | None = None  # a file (relative to the root) fed to standard input


def _build_cases() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, *args: str, stdin: str | None = None) -> None:
        cases.append(Case(name, args, stdin))

    def formats(name: str, *args: str, explain: bool = False, fmts: tuple[str, ...] = FORMATS) -> None:
        """One case per format, and again with --explain when asked."""
        for fmt in fmts:
            for with_explain in (False, True) if explain else (False,):
                extra = ("--explain",) if with_explain else ()
                add(f"{name}-{fmt}{'-explain' if with_explain else ''}", *args, "--format", fmt, *extra)

    # Every shipped config x shape/params/cost x format x --explain.
    for config in sorted(CONFIGS.glob("*.yaml")):
        path = config.relative_to(ROOT).as_posix()
        for command in SPEC_COMMANDS:
            formats(f"{command}-{config.stem}", command, path, explain=command in EXPLAIN_COMMANDS)

    # zoo, help, version.
    formats("zoo", "zoo")
    add("help", "--help")
    add("version", "--version")
    for command in ("shape", "params", "cost", "bottleneck", "derive", "zoo", "export"):
        add(f"help-{command}", command, "--help")

    # cnncalc export: the generated PyTorch code of a few specs (tests/test_export.py checks
    # every config; tests/data/export_torch.json holds torch's figures of the code).
    for name in ("resnet18", "mobilenet_v3_large", "unet", "shufflenet_v2_x1_0", "convnext_tiny", "resnet_block_bottleneck"):
        add(f"export-{name}", "export", f"configs/{name}.yaml")
    add("export-seed-k54", "export", "configs/resnet_block_bottleneck.yaml", "--set", "k=54")

    # Zoo names for SPEC, and standard input.
    add("params-zooname-resnet18", "params", "resnet18")
    add("shape-zooname-lenet5-json", "shape", "lenet5", "-f", "json")
    add("shape-stdin-lenet5", "shape", "-", stdin=LENET)
    add("params-stdin-lenet5-json", "params", "-", "--format", "json", stdin=LENET)

    # Several specs side by side.
    formats("params-multi-resnet18-resnet50", "params", "configs/resnet18.yaml", "configs/resnet50.yaml")
    formats("params-multi-lenet5-conv_shapes", "params", LENET, CONV, explain=True)
    formats("shape-multi-lenet5-conv_shapes", "shape", LENET, CONV)
    formats("cost-multi-lenet5-conv_shapes", "cost", LENET, CONV)
    add("params-multi-three", "params", LENET, "resnet18", SEED, "--set", "k=54")

    # --input on a spec: one result per input, side by side.
    formats("params-inputs-lenet5", "params", LENET, "--input", "1,32,32", "--input", "1,64,48")
    formats("cost-inputs-lenet5", "cost", LENET, "--input", "1,32,32", "--input", "1,64,48")
    add("shape-inputs-seed-symbolic-json", "shape", SEED, "--input", "64,H,W", "--input", "64,8,8", "-f", "json")

    # --block selection.
    formats("params-block-plain", "params", SEED, "--block", "plain")
    formats("params-block-bottleneck-plain", "params", SEED, "-b", "bottleneck", "-b", "plain")
    add("shape-block-bottleneck-set-k54", "shape", SEED, "--block", "bottleneck", "--set", "k=54")
    add("cost-block-plain-explain", "cost", SEED, "--block", "plain", "--explain")
    formats("cost-block-bottleneck", "cost", SEED, "--block", "bottleneck")
    add("params-resnet18-block-basic", "params", "configs/resnet18.yaml", "--block", "basic")
    add("params-resnet18-block-basic-set-out64", "params", "configs/resnet18.yaml", "--block", "basic", "--set", "out=64")
    add("params-resnet18-block-stage-set-json", "params", "configs/resnet18.yaml", "-b", "stage", "-s", "out=128", "-s", "blocks=2", "-f", "json")

    # --depth: block calls folded (torchinfo's depth).
    formats("params-resnet50-depth1", "params", "resnet50", "--depth", "1")
    add("shape-resnet18-depth2", "shape", "resnet18", "--depth", "2")
    add("cost-regnet_y_400mf-depth3-json", "cost", "regnet_y_400mf", "--depth", "3", "-f", "json")

    # --set.
    formats("params-set-k54", "params", SEED, "--set", "k=54")
    add("params-set-k54-m2k", "params", SEED, "--set", "k=54", "--set", "m=2*k")
    add("shape-set-k54-explain", "shape", SEED, "-s", "k=54", "--explain")
    add("params-set-two-widths", "params", TWO, "--set", "k1=16", "--set", "k2=2*k1")
    add("params-set-k1-only-json", "params", TWO, "--set", "k1=16", "-f", "json")
    add("params-mobilenet_v2-width_mult-0.5", "params", "configs/mobilenet_v2.yaml", "--set", "width_mult=0.5", "-f", "json")
    add("cost-lenet5-set-classes100", "cost", LENET, "--set", "classes=100")

    # cost's own options.
    add("cost-resnet18-flops-float16-json", "cost", "resnet18", "--flops", "--dtype", "float16", "--format", "json")
    add("cost-lenet5-flops", "cost", LENET, "--flops")
    add("cost-lenet5-int8-csv", "cost", LENET, "--dtype", "int8", "-f", "csv")
    add("cost-lenet5-bfloat16-flops-markdown", "cost", LENET, "--dtype", "bfloat16", "--flops", "-f", "markdown")
    add("cost-conv_shapes-flops-explain", "cost", CONV, "--flops", "--explain")

    # Inline layer calls with --input.
    formats("shape-inline-stem", "shape", "--input", "3,224,224", *STEM_CALLS, explain=True)
    formats("params-inline-conv", "params", "--input", "3x224x224", "nn.Conv2d(3, 64, 7, 2, 3, bias=False)", explain=True)
    formats("cost-inline-conv", "cost", "--input", "3,224,224", "Conv2d(3, 64, 7, stride=2, padding=3, bias=False)", explain=True)
    add("shape-inline-batched-flatten", "shape", "-i", "[1, 3, 224, 224]", "Conv2d(3, 8, 3)", "Flatten()", "Linear(8*222*222, 10)")
    add("shape-inline-upsample-1.15-explain", "shape", "--input", "1,3,100,100", "Upsample(scale_factor=1.15)", "--explain")
    add("shape-inline-convtranspose-explain", "shape", "--input", "1x64x9x9", "ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)", "--explain")
    add("shape-inline-ceil-mode", "shape", "--input", "1,8,32,32", "MaxPool2d(3, 2, ceil_mode=True)", "AvgPool2d(2, 2, padding=1, ceil_mode=True)", "--explain")
    add("params-inline-norms-json", "params", "--input", "1,64,16,16", "Conv2d(64, 64, 3, padding=1, groups=4)", "BatchNorm2d(64)", "ReLU()", "GroupNorm(8, 64)", "-f", "json")
    add("cost-inline-linear-flops", "cost", "--input", "1,512", "Linear(512, 1000)", "Softmax(dim=1)", "--flops", "--explain")
    add("shape-inline-set-k8", "shape", "--input", "1,3,32,32", "Conv2d(3, k, 3)", "--set", "k=8")
    add("shape-inline-conv1d-3d", "shape", "-i", "2x16x100", "Conv1d(16, 32, 5, stride=2, dilation=2)", "AdaptiveAvgPool1d(7)")
    # symbols everywhere: the seed homework's question inline, channels-last; a symbolic input
    # through resnet50 (ceil(s/32)); a block repeated a symbolic number of times
    seed_call = "Conv2d(C, D, kernel_size=(k1, k2), stride=(s1, s2), padding=(p1, p2))"
    add("shape-inline-seed-question-channels-last", "shape", "--input", "B,C,W,H", seed_call, "--channels-last")
    add("shape-inline-seed-question-json", "shape", "--input", "B,C,W,H", seed_call, "-f", "json")
    add("shape-inline-symbolic-strides-explain", "shape", "-i", "3,s,s", "Conv2d(3, 8, 3, stride=2, padding=1)", "MaxPool2d(3, 2, 1)", "--explain")
    add("params-block-symbolic-repeat", "params", "configs/resnet18.yaml", "--block", "stage", "-f", "json")

    # bottleneck: the two block specs x format x --explain, and the options.
    formats("bottleneck-seed-0.5-0.6", "bottleneck", SEED, "--reduce", "0.5-0.6", explain=True)
    formats("bottleneck-two_widths-0.5-0.6", "bottleneck", TWO, "--reduce", "0.5-0.6", explain=True)
    add("bottleneck-seed-50-60pct-explain", "bottleneck", SEED, "--reduce", "50-60%", "--explain")
    add("bottleneck-seed-50-60pct-json", "bottleneck", SEED, "--reduce", "50-60%", "--format", "json")
    add("bottleneck-seed-fractions", "bottleneck", SEED, "-r", "1/2-3/5")
    add("bottleneck-seed-at-least-0.9", "bottleneck", SEED, "--reduce", "0.9")
    add("bottleneck-seed-0.9-0.91-markdown", "bottleneck", SEED, "--reduce", "0.9 to 0.91", "-f", "markdown")
    add("bottleneck-seed-bias-on", "bottleneck", SEED, "--reduce", "0.5-0.6", "--bias", "on")
    add("bottleneck-seed-bias-off-json", "bottleneck", SEED, "--reduce", "0.5-0.6", "--bias", "off", "-f", "json")
    formats("bottleneck-seed-macs", "bottleneck", SEED, "--reduce", "0.5-0.6", "--metric", "macs", explain=True, fmts=("table", "json"))
    add("bottleneck-seed-multiple-of-8", "bottleneck", SEED, "--reduce", "0.5-0.7", "--multiple-of", "8")
    add("bottleneck-seed-range", "bottleneck", SEED, "--reduce", "0.3-0.9", "--range", "k=40..60", "--limit", "5")
    add("bottleneck-seed-baseline-candidate", "bottleneck", SEED, "--reduce", "0.5-0.6", "--baseline", "plain", "--candidate", "bottleneck")
    add("bottleneck-two_widths-multiple-of-8", "bottleneck", TWO, "--reduce", "0.5-0.6", "--multiple-of", "8")
    add("bottleneck-two_widths-multiple-of-8-json", "bottleneck", TWO, "--reduce", "0.5-0.6", "--multiple-of", "8", "-f", "json")
    add("bottleneck-two_widths-range-limit", "bottleneck", TWO, "--reduce", "0.5-0.6", "--range", "k1=8..32", "--limit", "5")
    add("bottleneck-two_widths-range-all-csv", "bottleneck", TWO, "--reduce", "55%", "--range", "1..40", "--limit", "3", "-f", "csv")
    add("bottleneck-two_widths-set-k1-16-explain", "bottleneck", TWO, "--reduce", "0.5-0.6", "--set", "k1=16", "--explain")
    add("bottleneck-two_widths-macs-json", "bottleneck", TWO, "--reduce", "0.5-0.6", "--metric", "macs", "--limit", "4", "-f", "json")
    # ... with no answer (exit 1).
    formats("bottleneck-seed-noanswer", "bottleneck", SEED, "--reduce", "0.05-0.0501", explain=True)
    add("bottleneck-seed-noanswer-at-least", "bottleneck", SEED, "--reduce", "99.9%")
    add("bottleneck-two_widths-noanswer", "bottleneck", TWO, "--reduce", "0.999")
    add("bottleneck-two_widths-noanswer-json", "bottleneck", TWO, "--reduce", "0.999", "-f", "json")

    # derive: both topics x format x --explain; --check once each (about 2 s each).
    for topic in ("bn", "softmax-ce"):
        formats(f"derive-{topic}", "derive", topic, explain=True, fmts=DERIVE_FORMATS)
        add(f"derive-{topic}-check", "derive", topic, "--check")
    add("derive-softmax-ce-check-seed3-json", "derive", "softmax-ce", "--check", "--seed", "3", "-f", "json")

    # Bad input (exit 2).
    add("error-no-command")
    add("error-unknown-command", "frobnicate")
    add("error-unknown-option", "shape", LENET, "--nope")
    add("error-missing-file", "shape", "configs/does_not_exist.yaml")
    add("error-unknown-zoo-name", "params", "resnet9000")
    add("error-no-spec", "shape")
    add("error-bad-format", "shape", LENET, "--format", "xml")
    add("error-bad-dtype", "cost", LENET, "--dtype", "float64")
    add("error-bad-set", "params", SEED, "--set", "k")
    add("error-bad-set-expression", "params", SEED, "--set", "k=54+")
    add("error-set-dunder", "params", SEED, "--set", "__k=1")
    add("error-unknown-block", "params", SEED, "--block", "nosuch")
    add("error-block-with-input", "shape", "--input", "3,224,224", "--block", "plain", "Conv2d(3, 8, 3)")
    add("error-bad-input-shape", "shape", "--input", "3,0,224", "Conv2d(3, 8, 3)")
    add("error-bad-input-text", "shape", "--input", "3,h+1,8", "Conv2d(3, 8, 3)")
    add("error-inline-channel-mismatch", "shape", "--input", "3,224,224", "Conv2d(4, 8, 3)")
    add("error-inline-unknown-layer", "shape", "--input", "3,224,224", "Conv9d(3, 8, 3)")
    add("error-inline-code", "shape", "--input", "3,224,224", "__import__('os').system('true')")
    add("error-inline-same-with-stride", "shape", "--input", "1,3,32,32", "Conv2d(3, 8, 3, stride=2, padding='same')")
    add("error-max-layers", "shape", "configs/resnet50.yaml", "--max-layers", "10")
    add("error-max-layers-zero", "shape", LENET, "--max-layers", "0")
    add("error-bottleneck-no-reduce", "bottleneck", SEED)
    add("error-bottleneck-bad-band", "bottleneck", SEED, "--reduce", "abc")
    add("error-bottleneck-band-reversed", "bottleneck", SEED, "--reduce", "0.6-0.5")
    add("error-bottleneck-macs-bias", "bottleneck", SEED, "--reduce", "0.5-0.6", "--metric", "macs", "--bias", "on")
    add("error-bottleneck-same-blocks", "bottleneck", SEED, "--reduce", "0.5-0.6", "--baseline", "plain", "--candidate", "plain")
    add("error-bottleneck-range-twice", "bottleneck", SEED, "--reduce", "0.5-0.6", "--range", "k=1..9", "--range", "k=2..8")
    add("error-bottleneck-no-blocks", "bottleneck", LENET, "--reduce", "0.5-0.6")
    add("error-bottleneck-unknown-block", "bottleneck", SEED, "--reduce", "0.5-0.6", "--baseline", "nosuch", "--candidate", "plain")
    add("error-derive-unknown-topic", "derive", "relu")
    add("error-zoo-extra-argument", "zoo", "resnet50")
    # draw (issue 17): the text formats, byte for byte
    add("help-draw", "draw", "--help")
    add("draw-seed-dot", "draw", SEED)
    add("draw-resnet18-depth2-lr-dot", "draw", "resnet18", "--depth", "2", "--rankdir", "LR")
    add("draw-lenet-tikz", "draw", LENET, "-f", "tikz")
    add("error-draw-format-from-name", "draw", LENET, "-o", "lenet.jpeg")

    # solve: the seed both ways, two widths with an objective, each format, and its errors.
    seed_band = "0.4*plain.params <= bottleneck.params <= 0.5*plain.params"
    formats("solve-seed", "solve", SEED, "--where", seed_band, explain=True, fmts=("table", "json", "markdown"))
    add("solve-seed-no-bias", "solve", SEED, "--where", seed_band.replace("params", "params_no_bias"))
    formats("solve-two_widths-maximize", "solve", TWO, "--where", "bottleneck.macs <= 1.5M", "--where", "bottleneck.params <= 6K",
            "--maximize", "k1 + k2", "--limit", "4", explain=True, fmts=("table", "json", "markdown"))
    add("solve-two_widths-pareto", "solve", TWO, "--where", "bottleneck.params <= 6K", "--range", "1..40", "--pareto", "bottleneck.params, -(k1*k2)", "--limit", "5")
    add("solve-resnet18-resolutions", "solve", "resnet18", "--input", "3,R,R", "--where", "flops <= 2G", "--range", "R=32..1024", "--multiple-of", "32", "--maximize", "R")
    add("solve-resnet18-batch-adam", "solve", "resnet18", "--batch", "B", "--where", "train_memory <= 24GiB", "--optimizer", "adam", "--maximize", "B", "--explain")
    add("solve-seed-noanswer", "solve", SEED, "--where", "0.55*plain.params <= bottleneck.params <= 0.56*plain.params")
    add("error-solve-unknown-metric", "solve", SEED, "--where", "bottleneck.parms <= 1")
    add("error-solve-unknown-name", "solve", SEED, "--where", "bottleneck.params <= kk")
    add("error-solve-needs-range", "solve", SEED, "--where", "bottleneck.macs % 7 == 0")
    add("help-solve", "solve", "--help")
    return cases


CASES = _build_cases()


def _render(case: Case, code: int, stdout: str, stderr: str) -> str:
    """A case's result as the golden text: a header, then stdout and stderr between markers.

    The character counts make the layout unambiguous (a stream may lack its final newline, or
    hold a line that looks like a marker).
    """
    command = shlex.join(("cnncalc", *case.args)) + (f" < {case.stdin}" if case.stdin else "")
    parts = [
        "# cnncalc golden output (tests/test_golden.py); regenerate: CNNCALC_OVERWRITE_GOLDEN=1\n",
        f"command: {command}\n",
        f"exit code: {code}\n",
    ]
    for label, text in (("stdout", stdout), ("stderr", stderr)):
        ending = "" if not text or text.endswith("\n") else ", no newline at end"
        parts.append(f"{label}: {len(text)} characters, {text.count(chr(10))} newlines{ending}\n")
        parts.append(f"======== {label} ========\n")
        parts.append(text + ("\n" if ending else ""))
    parts.append("======== end ========\n")
    return "".join(parts)


def _paths(name: str) -> tuple[Path, Path]:
    return GOLDEN / f"{name}.txt", GOLDEN / f"{name}.txt.gz"


def _read_golden(name: str) -> str | None:
    plain, packed = _paths(name)
    if plain.exists():
        return plain.read_bytes().decode("utf-8")
    if packed.exists():
        return gzip.decompress(packed.read_bytes()).decode("utf-8")
    return None


def _write_golden(name: str, text: str) -> None:
    """Write a golden file (compressed when large), only if its content or form changed."""
    plain, packed = _paths(name)
    target, other = (packed, plain) if len(text) > GZIP_ABOVE else (plain, packed)
    other.unlink(missing_ok=True)
    if target.exists() and _read_golden(name) == text:
        return
    GOLDEN.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    target.write_bytes(gzip.compress(data, compresslevel=9, mtime=0) if target is packed else data)


def _run(runner: CliRunner, case: Case) -> tuple[int, str, str]:
    stdin = (ROOT / case.stdin).read_bytes() if case.stdin else None
    # CliRunner forces click's help width to 80; terminal_width=78 is what a real process gets on
    # any terminal of 80 columns or more (click wraps help at min(COLUMNS, 80) - 2).
    result = runner.invoke(main, list(case.args), input=stdin, env=ENV, prog_name="cnncalc", color=False, terminal_width=78)
    # Every outcome must be an exit status: an escaped exception is a bug, not a golden.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, case: Case) -> None:
    """Exit status, stdout and stderr exactly as stored."""
    monkeypatch.chdir(ROOT)  # relative paths keep names and messages the same on every machine
    actual = _render(case, *_run(runner, case))
    if OVERWRITE:
        _write_golden(case.name, actual)
    expected = _read_golden(case.name)
    if expected is None:
        pytest.fail(f"no golden file for {case.name}; create it with CNNCALC_OVERWRITE_GOLDEN=1")
    if actual != expected:
        diff = list(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "golden", "actual", n=2))
        shown = "".join(diff[:120]) + (f"... ({len(diff) - 120} more diff lines)\n" if len(diff) > 120 else "")
        pytest.fail(f"output of {case.name} differs from its golden file:\n{shown}", pytrace=False)


def test_case_names_are_unique_and_safe() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert all(n and n.replace("-", "").replace("_", "").replace(".", "").isalnum() for n in names)


def test_no_orphan_golden_files() -> None:
    """Every file in the golden folder belongs to a case (stale ones are deleted when overwriting)."""
    known = {p.name for c in CASES for p in _paths(c.name)}
    orphans = sorted(p for p in GOLDEN.glob("*") if p.name not in known and p.name != "README.md")
    if OVERWRITE:
        for path in orphans:
            path.unlink()
        orphans = []
    assert not orphans, f"golden files without a case: {[p.name for p in orphans]}"


def test_explain_commands() -> None:
    """EXPLAIN_COMMANDS is exactly the set of commands with --explain (so no combination is missed)."""
    with_explain = {
        name for name, command in main.commands.items()
        if any(isinstance(p, click.Option) and "--explain" in p.opts for p in command.params)
    }
    assert with_explain == EXPLAIN_COMMANDS
    assert set(main.commands) == {"shape", "params", "cost", "bottleneck", "derive", "zoo", "solve", "draw", "export"}
