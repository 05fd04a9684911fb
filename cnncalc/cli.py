"""The command line: parses options, calls the core, renders; the one place errors become exit codes."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from cnncalc import __version__
from cnncalc.cli_options import DEPTH, FORMAT, OPTIMIZERS, BandArg, ShapeArg, bindings, common, warn_unused, with_limits
from cnncalc.errors import EXIT_BAD_INPUT, CnncalcError, NoAnswerError, UsageError, clip, quoted
from cnncalc.spec import Limits


def _read_stdin(sources: tuple[str, ...], limits: Limits) -> bytes | None:
    """Standard input as bytes when a source is '-' (decoded later with the same checks as a file)."""
    if "-" not in sources:
        return None
    if sys.stdin is None:
        raise UsageError("standard input is closed", expected="a spec on standard input for '-'", found="no standard input")
    return sys.stdin.buffer.read(limits.max_bytes + 1)


class CnncalcGroup(click.Group):
    """A click group that turns every core error into its message and exit status."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # A message that cannot be written to standard error (2>/dev/full) is lost, never a
        # crash: the exit status still tells what happened.
        saved = sys.stderr
        if saved is not None and not isinstance(saved, _QuietStream):
            sys.stderr = _QuietStream(saved)
        try:
            return super().main(*args, **kwargs)
        finally:
            sys.stderr = saved

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:  # --help and --version write while the arguments are parsed, before invoke
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            _silence_stdout()
            raise click.exceptions.Exit(0) from None
        except OSError as exc:
            _silence_stdout()
            click.echo(f"Error: cannot write the answer to standard output ({exc.strerror or exc}).", err=True)
            raise click.exceptions.Exit(EXIT_BAD_INPUT) from None

    def invoke(self, ctx: click.Context) -> Any:
        # Sizes are exact ints bounded well below 2**20000 (see evaluate.MAX_SIZE_BITS); Python's
        # default 4300-digit guard on int -> str would turn the largest of them into a crash.
        if 0 < getattr(sys, "get_int_max_str_digits", lambda: 0)() < 100_000:
            sys.set_int_max_str_digits(100_000)
        try:
            if sys.stdout is None:
                raise UsageError("standard output is closed", expected="somewhere to write the answer (a terminal, a file or a pipe)")
            result = super().invoke(ctx)
            sys.stdout.flush()
            return result
        except BrokenPipeError:
            _silence_stdout()
            ctx.exit(0)  # the reader stopped early (`| head`): nothing more to say, as head expects
        except OSError as exc:  # only writing is left to fail: reading errors are SpecErrors by now
            _silence_stdout()
            click.echo(f"Error: cannot write the answer to standard output ({exc.strerror or exc}).", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except CnncalcError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except RecursionError:
            click.echo("Error: the input is nested too deeply to evaluate.", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except MemoryError:
            click.echo("Error: the input needs more memory than is available.", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug: still one message and exit 2, never a traceback
            if os.environ.get("CNNCALC_DEBUG"):
                raise
            click.echo(
                f"Error: internal error ({type(exc).__name__}: {clip(str(exc))}). This is a bug in cnncalc;"
                " please report it with the input that caused it (set CNNCALC_DEBUG=1 for the traceback).",
                err=True,
            )
            ctx.exit(EXIT_BAD_INPUT)


class _QuietStream:
    """A text stream whose writes and flushes never raise (standard error when it is full)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that the flush at exit cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        sys.stdout = None  # nothing left to flush




@click.group(cls=CnncalcGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
def main() -> None:
    """cnncalc: shapes, parameters and bottleneck widths of conv nets, from a YAML spec.

    SPEC is a YAML file, '-' for standard input, or the name of a shipped model (see
    'cnncalc zoo'). Exit status: 0 success, 1 no answer, 2 bad input.
    """


def _write(fmt: str, document: Callable[[], Any], report: Callable[[], Any]) -> None:
    """Write the JSON document or draw the report, as --format asks."""
    from cnncalc.render.output import write_json, write_report

    if fmt == "json":
        write_json(document())
    else:
        write_report(report(), fmt)


def _evaluate_all(
    sources: tuple[str, ...],
    *,
    input_shapes: tuple[tuple[int | str, ...], ...],
    blocks: tuple[str, ...],
    bindings: tuple[tuple[str, Any], ...],
    explain: bool,
    limits: Limits,
    counts: frozenset[str],
    channels_last: bool = False,
    batch: str | None = None,
    loaded: list[Any] | None = None,
) -> list[list[Any]]:
    """Every spec (or the inline calls) evaluated, at each --input when given (spec by spec, the
    inputs in the order given); `counts`: the counts the command prints besides shapes
    ("params", "macs"), the only ones held to the size limits."""
    from cnncalc.analysis.evaluate import evaluate_inline, evaluate_spec
    from cnncalc.analysis.results import channels_last_view
    from cnncalc.spec.zoo import load_spec

    overrides = dict(bindings)
    if not sources:
        raise UsageError("give a SPEC file (or '-' for standard input), or --input SHAPE and layer calls")
    input_names = {d for shape in input_shapes for d in shape if isinstance(d, str)}
    inputs: tuple[tuple[int | str, ...] | None, ...] = input_shapes or (None,)
    calls = _layer_calls(sources)
    if calls and not input_shapes:
        raise UsageError(
            "layer calls need --input SHAPE, the tensor they are applied to",
            found=f"{quoted(sources[0])} without --input",
            hint=f"cnncalc {getattr(click.get_current_context(silent=True), 'info_name', None) or 'shape'} --input 1,3,224,224 {quoted(sources[0])}",
        )
    if calls:
        if blocks:
            raise UsageError("--block applies to spec files, not to inline layer calls")
        if batch is not None:
            raise UsageError("--batch applies to spec files; with layer calls the batch is --input's first size", found=f"--batch {clip(batch)}")
        if bindings:
            from cnncalc.spec import inline_calls
            from cnncalc.spec.checks import used_names

            warn_unused(bindings, used_names(None, inline_calls(list(sources))) | input_names, "the layer calls never use")
        results = [[evaluate_inline(list(sources), shape, overrides=overrides, explain=explain, counts=counts)] for shape in input_shapes]
    else:
        stdin_text = _read_stdin(sources, limits)
        specs = [load_spec(source, limits, stdin_text) for source in sources]
        if loaded is not None:
            loaded.extend(spec for spec in specs for _ in inputs)
        if batch is not None:
            specs = [_with_batch(spec, batch) for spec in specs]
        if bindings:
            from cnncalc.spec.checks import used_names

            used = set().union(*(used_names(spec) for spec in specs)) | input_names
            warn_unused(bindings, used, "the spec never uses" if len(specs) == 1 else "no spec given uses")
        results = [
            evaluate_spec(spec, blocks=blocks, overrides=overrides, explain=explain, limits=limits, counts=counts, input_shape=shape)
            for spec in specs
            for shape in inputs
        ]
    if len(input_shapes) > 1:  # one result per input: each named after it, `resnet50 @ 3x320x240`
        results = [[_at_input(e) for e in evaluations] for evaluations in results]
    if channels_last:
        results = [[channels_last_view(e) for e in evaluations] for evaluations in results]
    return results


def _ultralytics_file(source: str) -> bool:
    """Whether a SPEC argument names an Ultralytics model file (a cheap look at its text; the
    loader decides): `params` then counts MACs for its per-row table."""
    if source == "-" or not source.endswith((".yaml", ".yml")):
        return False
    try:
        with open(source, "rb") as handle:
            head = handle.read(200_000)
    except OSError:
        from cnncalc.spec.ultralytics import unified_path

        return os.path.isfile(unified_path(source))
    return b"backbone:" in head


def _ultralytics_summaries(sets: list[list[Any]], loaded: list[Any]) -> list[Any]:
    """Each evaluation summed per row of its Ultralytics model file (None for other specs)."""
    if not loaded or not any(spec.ultralytics for spec in loaded):
        return []
    from cnncalc.analysis.ultralytics import summarise

    evaluations = [e for s in sets for e in s]
    return [summarise(e, spec.ultralytics) if spec.ultralytics else None for e, spec in zip(evaluations, loaded)]


def _with_batch(spec: Any, batch: str) -> Any:
    """The spec with its batch size replaced by --batch: a positive integer, or a name (a symbol)."""
    from cnncalc import arith
    from cnncalc.spec.model import Arg

    if batch.isdecimal() and int(batch) >= 1:
        value: Any = int(batch)
    elif batch.isidentifier() and batch.isascii():
        value = arith.symbol(batch)
    else:
        raise UsageError("--batch must be a positive integer or a name", expected="--batch 8 or --batch B", found=f"--batch {clip(batch)}")
    return spec._replace(batch=Arg(value, spec.position))


def _range_bounds(ranges: Sequence[tuple[str | None, int, int | None]]) -> dict[str | None, tuple[int, int | None]]:
    """--range options by symbol (None: every symbol); a symbol given twice is refused."""
    bounds: dict[str | None, tuple[int, int | None]] = {}
    for name, lo, hi in ranges:
        if name in bounds:
            raise UsageError(f"--range given twice for {name or 'every symbol'}")
        bounds[name] = (lo, hi)
    return bounds


def _layer_calls(sources: tuple[str, ...]) -> bool:
    """Whether the arguments given with --input are PyTorch layer calls (`Conv2d(3, 64, 3)`), not
    specs (files, '-', zoo names): a call has parentheses; refused when both kinds are mixed."""
    calls = [source for source in sources if "(" in source and source != "-" and not source.endswith((".yaml", ".yml")) and not os.path.exists(source)]
    if calls and len(calls) < len(sources):
        spec = next(source for source in sources if source not in calls)
        raise UsageError(
            "the arguments mix specs and layer calls",
            expected="spec files, '-' or zoo names (--input then replaces their input), or PyTorch layer calls (applied to --input)",
            found=f"spec {quoted(spec)} and layer call {quoted(calls[0])}",
        )
    return bool(calls)


def _at_input(evaluation: Any) -> Any:
    """An evaluation named after its input, `resnet50 @ 3x320x240` (the spec's shapes: no batch)."""
    label = " @ " + "x".join(str(d) for d in evaluation.shown(evaluation.input))
    name = evaluation.name + label if evaluation.name == evaluation.spec_name else evaluation.name
    return evaluation._replace(name=name, spec_name=evaluation.spec_name + label)


@main.command()
@click.argument("specs", nargs=-1, metavar="SPEC... | --input SHAPE LAYER...")
@common
@DEPTH
def shape(
    specs: tuple[str, ...], fmt: str, bindings: Any, explain: bool, blocks: Any, input_shapes: Any, channels_last: bool, limits: Limits, depth: int | None
) -> None:
    """Output shape of every layer (PyTorch's formulas exactly).

    \b
    cnncalc shape configs/resnet50.yaml
    cnncalc shape resnet18 --input 3,320,240
    cnncalc shape --input 3,224,224 "Conv2d(3, 64, 7, stride=2, padding=3)" "MaxPool2d(3, 2, 1)"
    cnncalc shape --input B,C,W,H "Conv2d(C, D, (k1, k2), stride=(s1, s2), padding=(p1, p2))" --channels-last
    """
    from cnncalc.render.shape import shape_documents, shape_report

    sets = _evaluate_all(
        specs, input_shapes=input_shapes, blocks=blocks, bindings=bindings, explain=explain, limits=limits, counts=frozenset(), channels_last=channels_last
    )
    _write(fmt, lambda: shape_documents(sets, depth), lambda: shape_report([e for s in sets for e in s], explain=explain, depth=depth))


@main.command()
@click.argument("specs", nargs=-1, metavar="SPEC... | --input SHAPE LAYER...")
@common
@DEPTH
def params(
    specs: tuple[str, ...], fmt: str, bindings: Any, explain: bool, blocks: Any, input_shapes: Any, channels_last: bool, limits: Limits, depth: int | None
) -> None:
    """Parameters per layer and per block, with and without bias; several specs or blocks compared.

    \b
    cnncalc params configs/resnet_block_bottleneck.yaml
    cnncalc params configs/resnet18.yaml configs/resnet50.yaml
    cnncalc params resnet50 --input 3,320,240 --input 3,224,224
    """
    from cnncalc.render.params import params_document, params_report

    # The JSON document holds the MACs too, and so does the comparison of one network at several
    # inputs, and the rows of an Ultralytics model file.
    loaded: list[Any] = []
    macs = fmt == "json" or len(input_shapes) > 1 or bool(limits.scale or limits.imgsz) or any(_ultralytics_file(s) for s in specs)
    counts = frozenset(("params", "macs") if macs else ("params",))
    sets = _evaluate_all(
        specs, input_shapes=input_shapes, blocks=blocks, bindings=bindings, explain=explain, limits=limits, counts=counts,
        channels_last=channels_last, loaded=loaded,
    )
    yolo = _ultralytics_summaries(sets, loaded) if not blocks and not explain and depth is None else []
    if yolo and all(yolo):
        from cnncalc.render.report import Report
        from cnncalc.render.ultralytics import ultralytics_table

        _write(fmt, lambda: _with_ultralytics(params_document(sets, depth), sets, yolo), lambda: Report(tuple(ultralytics_table(s) for s in yolo)))
        return
    _write(fmt, lambda: params_document(sets, depth), lambda: params_report(sets, explain=explain, macs=len(input_shapes) > 1, depth=depth))


@main.command()
@click.argument("specs", nargs=-1, metavar="SPEC... | --input SHAPE LAYER...")
@common
@DEPTH
@click.option("--flops", is_flag=True, help="Add a FLOPs column (FLOPs = 2 x MACs; JSON always has both).")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16", "int8"]), default="float32", show_default=True, help="Element type for activation and parameter bytes.")
@click.option("--train", is_flag=True, help="Add training memory: weights, gradients, optimizer state and the activations autograd saves (a lower bound).")
@click.option("--optimizer", type=click.Choice(sorted(OPTIMIZERS)), default=None, help="With --train: the optimizer's state (sgd none, momentum 1, adam/adamw 2 buffers per parameter)  [default: sgd]")
@click.option("--mixed", is_flag=True, help="With --train: mixed precision as torch.autocast runs it: convs and linears in --dtype (bfloat16 or float16), float32 weights, gradients and optimizer state.")
@click.option("--batch", default=None, metavar="N|NAME", help="The batch size, replacing the spec's `batch:`: a positive integer, or a name kept as a symbol.")
def cost(
    specs: tuple[str, ...], fmt: str, bindings: Any, explain: bool, blocks: Any, input_shapes: Any, channels_last: bool, limits: Limits,
    depth: int | None, flops: bool, dtype: str, train: bool, optimizer: str | None, mixed: bool, batch: str | None,
) -> None:
    """MACs, cheap ops, memory and receptive field of every layer and block.

    1 MAC = one multiply-accumulate; bias additions are not MACs; FLOPs = 2 x MACs. Norms,
    pools, activations, adds and upsampling are counted apart as cheap ops. Receptive field,
    effective stride and padding are per axis, in input positions.

    \b
    cnncalc cost resnet50
    cnncalc cost configs/resnet_block_bottleneck.yaml --block plain --explain
    cnncalc cost resnet18 --flops --dtype float16 --format json
    cnncalc cost resnet50 --input 3,320,240 --input 3,224,224
    cnncalc cost resnet18 --train --optimizer adam --batch 32
    cnncalc cost resnet18 --train --dtype bfloat16 --mixed --batch B
    """
    from cnncalc.render.cost import cost_document, cost_report

    if optimizer is not None and not train:
        raise UsageError("--optimizer needs --train", found=f"--optimizer {optimizer} without --train", hint="cnncalc cost SPEC --train --optimizer adam")
    if mixed and not train:
        raise UsageError("--mixed needs --train", found="--mixed without --train", hint="cnncalc cost SPEC --train --dtype bfloat16 --mixed")
    if mixed and dtype not in ("bfloat16", "float16"):
        raise UsageError("--mixed runs in a 16-bit dtype", found=f"--dtype {dtype}", hint="--dtype bfloat16 --mixed (or float16)")
    if train and dtype == "int8":
        raise UsageError("--train does not take --dtype int8 (PyTorch does not train in int8)", found="--dtype int8", hint="--dtype float32, bfloat16 or float16")
    if train and channels_last:
        raise UsageError("--train does not take --channels-last (the saved tensors are counted channels first)")
    chosen = (optimizer or "sgd") if train else None
    loaded: list[Any] = []
    sets = _evaluate_all(
        specs, input_shapes=input_shapes, blocks=blocks, bindings=bindings, explain=explain, limits=limits,
        counts=frozenset(("params", "macs")), channels_last=channels_last, batch=batch, loaded=loaded,
    )
    yolo = _ultralytics_summaries(sets, loaded) if not blocks else []
    _write(
        fmt,
        lambda: _with_ultralytics(cost_document(sets, dtype=dtype, explain=explain, depth=depth, optimizer=chosen, mixed=mixed), sets, yolo),
        lambda: _with_ultralytics_notes(cost_report(sets, dtype=dtype, flops=flops, explain=explain, depth=depth, optimizer=chosen, mixed=mixed), yolo),
    )


def _with_ultralytics(document: dict[str, Any], sets: list[list[Any]], summaries: list[Any]) -> dict[str, Any]:
    """A command's JSON document with the `ultralytics` key of each spec read from an Ultralytics model file."""
    if not any(summaries):
        return document
    from cnncalc.render.ultralytics import ultralytics_document

    found = iter(summaries)
    for doc, evaluations in zip(document.get("specs", [document]), sets):
        documents = [ultralytics_document(s) if s else None for s in (next(found) for _ in evaluations)]
        if any(documents):
            doc["ultralytics"] = documents[0] if len(documents) == 1 else documents
    return document


def _with_ultralytics_notes(report: Any, summaries: list[Any]) -> Any:
    """`cost`'s report with Ultralytics' summary line and the two FLOPs conventions under each
    per-layer table of a spec read from an Ultralytics model file."""
    if not any(summaries):
        return report
    from cnncalc.render.ultralytics import flops_note, summary_line

    notes = {s.name: (summary_line(s), flops_note(s)) for s in summaries if s}
    tables = tuple(
        t._replace(notes=(*t.notes, *notes[t.spec])) if t.kind == "layers" and t.spec in notes else t for t in report.tables
    )
    return report._replace(tables=tables)


@main.command()
@click.argument("topic", type=click.Choice(["bn", "softmax-ce"]))
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "latex", "markdown", "json"]), default="text", show_default=True, help="Output format.")
@click.option("--check", is_flag=True, help="Check every derived gradient against central finite differences in high precision.")
@click.option("--explain", is_flag=True, help="Write out the reasoning between the steps.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the random check points.")
def derive(topic: str, fmt: str, check: bool, explain: bool, seed: int) -> None:
    """Derive and check gradients: batch norm (bn) or softmax + cross-entropy (softmax-ce).

    \b
    cnncalc derive bn --check
    cnncalc derive softmax-ce --format latex
    """
    from cnncalc.derive import derive as run_derivation
    from cnncalc.render.derive import render as render_derivation

    derivation = run_derivation(topic, check=check, seed=seed, explain=explain)
    click.echo(render_derivation(derivation, fmt), nl=False)
    if check and not all(c.ok for c in derivation.checks):
        raise NoAnswerError("a derived gradient disagrees with finite differences")


@main.command()
@FORMAT
def zoo(fmt: str) -> None:
    """List the shipped model specs with their totals; use a name wherever a SPEC is expected.

    \b
    cnncalc zoo
    cnncalc params resnet50
    """
    from cnncalc.analysis.zoo import zoo_entries
    from cnncalc.render.zoo import zoo_document, zoo_report

    entries = zoo_entries()
    _write(fmt, lambda: zoo_document(entries), lambda: zoo_report(entries))


@main.command()
@click.argument("spec", metavar="SPEC")
@click.option("--reduce", "-r", "band", type=BandArg("BAND", "parse_reduce"), required=True, help="Reduction band against the baseline: 0.5-0.6, 50-60%, 50%-60%, or one value (at least).")
@click.option("--baseline", metavar="NAME", help="The baseline block (default: the one block without free symbols).")
@click.option("--candidate", metavar="NAME", help="The candidate block (default: the one block with free symbols).")
@click.option("--bias", type=click.Choice(["both", "on", "off"]), default="both", show_default=True, help="Count params with bias (on), without (off), or both side by side.")
@click.option("--metric", type=click.Choice(["params", "macs"]), default="params", show_default=True, help="Reduce parameters or multiply-accumulates.")
@click.option("--range", "ranges", type=BandArg("NAME=A..B", "parse_range"), multiple=True, help="Integer bounds of a width: k=1..256 (repeatable; A..B for every symbol).")
@click.option("--multiple-of", type=click.IntRange(1), default=1, show_default=True, help="Only widths that are multiples of N (8 for hardware-friendly widths).")
@click.option("--limit", type=click.IntRange(1), default=None, help="List at most N widths or combinations (default: all widths of one symbol, 50 combinations).")
@click.option("--input", "-i", "input_shape", type=ShapeArg(), help="The blocks' per-sample input instead of the spec's 'input:' (64,32,32; names such as 64,H,W are symbols).")
@FORMAT
@bindings("k1=16")
@click.option("--explain", is_flag=True, help="Write the solution out step by step, like a worked answer.")
@click.option("--plot", metavar="FILE", default=None, help="Also draw the count against the width into FILE (.svg or .png; needs the extra 'plot': matplotlib).")
@with_limits
def bottleneck(
    spec: str, band: Any, baseline: str | None, candidate: str | None, bias: str, metric: str, ranges: Any, multiple_of: int, limit: int | None,
    input_shape: tuple[int | str, ...] | None, fmt: str, bindings: Any, explain: bool, plot: str | None, limits: Limits,
) -> None:
    """Solve for the free width(s) of a candidate block that cut the baseline block's count by a band.

    Exit status 1 when no integer width fits the band.

    \b
    cnncalc bottleneck configs/resnet_block_bottleneck.yaml --reduce 0.5-0.6
    cnncalc bottleneck configs/resnet_block_bottleneck.yaml --reduce 50-60% --explain
    cnncalc bottleneck configs/bottleneck_two_widths.yaml --reduce 0.5-0.6 --multiple-of 8
    """
    from cnncalc.analysis.evaluate import evaluate_spec
    from cnncalc.render.bottleneck import bottleneck_document, bottleneck_report, no_answer
    from cnncalc.render.working import bottleneck_explanation
    from cnncalc.solve.bottleneck import choose, solve_bottleneck
    from cnncalc.spec.zoo import load_spec

    if metric == "macs" and bias != "both":
        raise UsageError("--bias applies to --metric params only (MACs count no bias additions)")
    if plot is not None:
        from cnncalc.render.plot import plot_format

        plot_format(plot)  # a bad file name or no matplotlib: said before solving
    if baseline is not None and baseline == candidate:
        raise UsageError("the baseline and the candidate must be different blocks", found=quoted(baseline))
    bounds = _range_bounds(ranges)
    loaded = load_spec(spec, limits, _read_stdin((spec,), limits))
    if bindings:
        from cnncalc.spec.checks import used_names

        warn_unused(bindings, used_names(loaded) | {d for d in input_shape or () if isinstance(d, str)}, "the spec never uses")
    if not loaded.blocks:
        raise UsageError(
            "the spec has no blocks to compare",
            expected="a spec with a baseline block and a candidate block under 'blocks:'",
            found=f"{spec} without blocks",
        )
    for option, chosen in (("--baseline", baseline), ("--candidate", candidate)):
        if chosen is not None and chosen not in loaded.blocks:
            from cnncalc.spec import did_you_mean

            raise UsageError(
                f"{option}: no block named {quoted(chosen)} in the spec",
                expected="one of " + ", ".join(loaded.blocks),
                found=quoted(chosen),
                hint=did_you_mean(chosen, list(loaded.blocks)),
            )
    names = (baseline, candidate) if baseline and candidate else tuple(loaded.blocks)
    evaluations = evaluate_spec(
        loaded, blocks=names, overrides=dict(bindings), explain=explain, limits=limits, counts=frozenset((metric,)), input_shape=input_shape
    )
    base, cand = choose(evaluations, metric, baseline, candidate)
    biases = {"both": (False, True), "on": (True,), "off": (False,)}[bias]
    result = solve_bottleneck(base, cand, band, metric=metric, biases=biases, ranges=bounds, multiple_of=multiple_of, limit=limit)
    explanation = bottleneck_explanation(result, base, cand) if explain else ()
    _write(fmt, lambda: bottleneck_document(result, explanation), lambda: bottleneck_report(result, explanation))
    if plot is not None:
        _plot(result, plot)
    if result.empty:
        raise no_answer(result)


def _multiple_of(texts: tuple[str, ...]) -> dict[str | None, int]:
    """--multiple-of N (every symbol) or NAME=N (one symbol), repeatable."""
    steps: dict[str | None, int] = {}
    for text in texts:
        name, sep, number = text.rpartition("=")
        key = name.strip() if sep else None
        if not number.strip().isdecimal() or int(number) < 1 or len(number) > 12 or (key is not None and not key.isidentifier()):
            raise UsageError("cannot read --multiple-of", expected="N or NAME=N with N a positive integer (8, R=32)", found=quoted(text))
        if key in steps:
            raise UsageError(f"--multiple-of given twice for {key or 'every symbol'}")
        steps[key] = int(number)
    return steps


@main.command()
@click.argument("spec", metavar="SPEC")
@click.option("--where", "-w", "wheres", multiple=True, required=True, metavar="CONSTRAINT", help="A constraint over metrics and symbols: 'params <= 5M', '0.4*plain.params <= bottleneck.params <= 0.5*plain.params' (repeatable: all must hold).")
@click.option("--maximize", metavar="EXPR", help="Find the feasible points where EXPR is largest (all ties).")
@click.option("--minimize", metavar="EXPR", help="Find the feasible points where EXPR is smallest (all ties).")
@click.option("--pareto", metavar="A,B", help="The exact Pareto front of two objectives, each minimized (-EXPR maximizes one).")
@click.option("--range", "ranges", type=BandArg("NAME=A..B", "parse_range"), multiple=True, help="Integer bounds of a symbol: k=1..256 (repeatable; A..B for every symbol).")
@click.option("--multiple-of", "multiples", multiple=True, metavar="N|NAME=N", help="Only multiples of N, for every symbol or one (R=32); repeatable.")
@click.option("--limit", type=click.IntRange(1), default=None, help="List at most N points, rows and ties (default 50); counts are always complete.")
@click.option("--block", "-b", "block", default=None, metavar="NAME", help="Bare metrics (params, macs, ...) read this block on its own instead of the network.")
@click.option("--input", "-i", "input_shape", type=ShapeArg(), help="The per-sample input instead of the spec's 'input:'; names are symbols to solve for (3,R,R).")
@click.option("--batch", default=None, metavar="N|NAME", help="The batch size, replacing the spec's 'batch:': a positive integer, or a name to solve for.")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16", "int8"]), default="float32", show_default=True, help="Element type of activation_bytes, peak_bytes and train_memory.")
@click.option("--optimizer", type=click.Choice(sorted(OPTIMIZERS)), default="sgd", show_default=True, help="The optimizer state counted by train_memory.")
@click.option("--mixed", is_flag=True, help="train_memory with mixed precision: --dtype activations, fp32 master weights.")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True, help="Output format.")
@bindings("k=54")
@click.option("--explain", is_flag=True, help="Show the metric formulas, the constraints, the conditions and how the set was found.")
@with_limits
def solve(
    spec: str, wheres: tuple[str, ...], maximize: str | None, minimize: str | None, pareto: str | None, ranges: Any, multiples: tuple[str, ...],
    limit: int | None, block: str | None, input_shape: tuple[int | str, ...] | None, batch: str | None, dtype: str, optimizer: str, mixed: bool,
    fmt: str, bindings: Any, explain: bool, limits: Limits,
) -> None:
    """Every integer value of the free symbols that meets the constraints, exactly; the optimum.

    Exit status 1 when nothing is feasible.

    \b
    cnncalc solve configs/resnet_block_bottleneck.yaml --where "0.4*plain.params <= bottleneck.params <= 0.5*plain.params"
    cnncalc solve configs/bottleneck_two_widths.yaml --where "bottleneck.macs <= 10M" --maximize "k1 + k2"
    cnncalc solve resnet18 --input 3,R,R --where "flops <= 2G" --range R=32..1024 --multiple-of 32 --maximize R
    cnncalc solve resnet18 --batch B --where "train_memory <= 24GiB" --optimizer adam --maximize B
    """
    from cnncalc.render.solve import no_answer, solve_document, solve_explanation, solve_report
    from cnncalc.solve.problem import build
    from cnncalc.solve.search import solve as run_solve
    from cnncalc.spec.zoo import load_spec

    bounds = _range_bounds(ranges)
    loaded = load_spec(spec, limits, _read_stdin((spec,), limits))
    if batch is not None:
        loaded = _with_batch(loaded, batch)
    if bindings:
        from cnncalc.spec.checks import used_names

        read: set[str] = set()
        from cnncalc.spec import expr as expressions

        for text in (*wheres, maximize, minimize, pareto):
            with contextlib.suppress(CnncalcError):  # a bad constraint is reported, located, by build
                read.update(name for owner, name, _ in expressions.metric_names(expressions.parse(text or "0", metrics=True)) if not owner)
        warn_unused(bindings, used_names(loaded) | read | {d for d in input_shape or () if isinstance(d, str)}, "the spec never uses")
    setup = build(
        loaded, wheres, maximize=maximize, minimize=minimize, pareto=pareto, ranges=bounds, steps=_multiple_of(multiples), block=block,
        overrides=dict(bindings), input_shape=input_shape, limits=limits, dtype=dtype, optimizer=optimizer, mixed=mixed, limit=limit,
    )
    result = run_solve(setup.question)
    explanation = solve_explanation(setup, result) if explain else ()
    _write(fmt, lambda: solve_document(setup, result, explanation), lambda: solve_report(setup, result, explanation))
    if result.empty:
        raise no_answer(setup, result)
@main.command()
@click.argument("spec", metavar="SPEC")
@click.option("--to", "target", type=click.Choice(["pytorch"]), default="pytorch", show_default=True, help="The framework to write code for.")
@bindings("k=54")
@click.option("--block", "-b", "blocks", multiple=True, help="Export this block of the spec on its own (repeatable).")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, writable=True), default=None, help="Write the code to FILE instead of standard output.")
@with_limits
def export(spec: str, target: str, bindings: Any, blocks: tuple[str, ...], output: str | None, limits: Limits) -> None:
    """Write the spec as PyTorch code: one nn.Module class per block, the model, and a check.

    \b
    cnncalc export resnet18 > resnet18.py
    cnncalc export configs/resnet_block_bottleneck.yaml --set k=54
    cnncalc export configs/unet.yaml -o unet.py
    """
    from cnncalc.analysis.evaluate import evaluate_spec
    from cnncalc.render.pytorch import export_pytorch
    from cnncalc.spec.zoo import load_spec

    loaded = load_spec(spec, limits, _read_stdin((spec,), limits))
    if bindings:
        from cnncalc.spec.checks import used_names

        warn_unused(bindings, used_names(loaded), "the spec never uses")
    overrides = dict(bindings)
    evaluations = evaluate_spec(loaded, blocks=blocks, overrides=overrides, limits=limits, counts=frozenset(("params",)))
    code = export_pytorch(loaded, evaluations, overrides, blocks)
    if output is None:
        click.echo(code, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(code)
    except OSError as exc:
        raise UsageError(f"cannot write {quoted(output)} ({exc.strerror or exc})", expected="a writable file for -o/--output") from None


def run() -> None:
    """Console-script entry point (through `cnncalc.__main__.main`, which turns the cycle
    collector off first)."""
    import gc

    try:
        main(prog_name="cnncalc")
    finally:
        # Everything still alive dies with the process: frozen, it is not scanned once more by
        # the full collection that interpreter shutdown runs (5-20 ms).
        gc.freeze()


def _plot(result: Any, path: str) -> None:
    """`bottleneck --plot`: the count against the width, drawn into `path`."""
    from cnncalc.render.bottleneck import polynomial_text
    from cnncalc.render.plot import write_plot
    from cnncalc.solve.plotdata import plot_data

    title = f"{result.spec_name}: {result.candidate} against {result.baseline}"
    write_plot(plot_data(result), path, title=title, band=result.band, polynomials=tuple(map(polynomial_text, result.solutions)))


DRAW_FORMATS = ("dot", "svg", "png", "pdf", "tikz", "html")
_SUFFIXES = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".pdf": "pdf", ".tex": "tikz", ".html": "html", ".htm": "html"}


@main.command()
@click.argument("specs", nargs=-1, metavar="SPEC... | --input SHAPE LAYER...")
@click.option(
    "--format", "-f", "fmt", type=click.Choice(DRAW_FORMATS), default=None,
    help="Output format  [default: from the -o file's extension, else dot]. svg, png, pdf and html need Graphviz's dot program.",
)
@click.option("--output", "-o", "output", metavar="FILE", default=None, help="Write the drawing to FILE instead of standard output.")
@click.option("--expand", is_flag=True, help="Draw every copy of a repeat (by default a repeat of two or more copies is one node 'x N').")
@DEPTH
@click.option("--rankdir", type=click.Choice(["TB", "LR"]), default="TB", show_default=True, help="Draw top to bottom (TB) or left to right (LR).")
@bindings("k=54")
@click.option("--block", "-b", "blocks", multiple=True, help="Draw this block of the spec on its own (repeatable).")
@click.option(
    "--input", "-i", "input_shape", type=ShapeArg(), default=None,
    help="With a spec: its per-sample input instead of the spec's 'input:' (3,320,240; 3,H,W). With PyTorch layer calls: the tensor they are applied to.",
)
@with_limits
def draw(
    specs: tuple[str, ...], fmt: str | None, output: str | None, expand: bool, depth: int | None, rankdir: str, bindings: Any,
    blocks: Any, input_shape: tuple[int | str, ...] | None, limits: Limits,
) -> None:
    """Draw the network: a node per layer, the tensor shape on every edge, blocks as boxes.

    \b
    cnncalc draw resnet18 -o resnet18.svg
    cnncalc draw resnet50 --depth 2 --rankdir LR -f png -o resnet50.png
    cnncalc draw configs/resnet_block_bottleneck.yaml -f tikz -o seed.tex
    cnncalc draw densenet121 --depth 2 -o densenet121.html
    """
    from cnncalc.render.dot import drawing

    if fmt is None:
        fmt = "dot" if output is None else _SUFFIXES.get(os.path.splitext(output)[1].lower(), "")
        if not fmt:
            raise UsageError(
                "cannot tell the drawing's format from the file name", expected="a name ending in " + ", ".join(_SUFFIXES) + ", or -f FORMAT",
                found=quoted(output or ""),
            )
    if output is None and fmt in ("png", "pdf") and sys.stdout.isatty():
        raise UsageError(f"-f {fmt} writes binary data, not for a terminal", hint=f"cnncalc draw ... -f {fmt} -o FILE.{fmt}")
    counts = frozenset(("params", "macs")) if fmt == "html" else frozenset(("params",))
    sets = _evaluate_all(
        specs, input_shapes=(input_shape,) if input_shape else (), blocks=blocks, bindings=bindings, explain=False, limits=limits, counts=counts
    )
    data = drawing(sets, fmt, rankdir=rankdir, depth=depth, expand=expand)
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        return
    try:
        with open(output, "wb") as file:
            file.write(data)
    except OSError as exc:
        raise UsageError(f"cannot write the drawing to {quoted(output)}: {exc.strerror or exc}") from None
