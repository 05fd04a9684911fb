"""The command line: parses options, calls the core, renders; the one place errors become exit codes."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from cnncalc import __version__
from cnncalc.errors import EXIT_BAD_INPUT, CnncalcError, NoAnswerError, UsageError, clip
from cnncalc.spec import Limits

if TYPE_CHECKING:  # click >= 8.2 makes ParamType generic; 8.1 cannot subscript it at run time
    _ParamType = click.ParamType[Any]
else:
    _ParamType = click.ParamType

FORMATS = ("table", "json", "csv", "markdown")
DEFAULT_LIMITS = Limits()


def _read_stdin(sources: tuple[str, ...], limits: Limits) -> bytes | None:
    """Standard input as bytes when a source is '-' (decoded later with the same checks as a file)."""
    if "-" not in sources:
        return None
    if sys.stdin is None:
        raise UsageError("standard input is closed", expected="a spec on standard input for '-'", found="no standard input")
    return sys.stdin.buffer.read(limits.max_bytes + 1)


class CnncalcGroup(click.Group):
    """A click group that turns every core error into its message and exit status."""

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


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that the flush at exit cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        sys.stdout = None  # nothing left to flush


class Binding(_ParamType):
    """NAME=VALUE for --set; VALUE is a number or an expression over earlier bindings."""

    name = "NAME=VALUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, Any]:
        if isinstance(value, tuple):
            return value
        name, sep, text = str(value).partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or name.startswith("__"):
            self.fail(f"expected NAME=VALUE (e.g. k=54), found {value!r}", param, ctx)
        from cnncalc.spec import expr

        try:
            bound = dict(ctx.meta.get("cnncalc.bindings", {})) if ctx else {}
            result = expr.evaluate(expr.parse(text), bound)
        except CnncalcError as exc:
            self.fail(f"{name}: {exc}", param, ctx)
        if ctx is not None:
            ctx.meta.setdefault("cnncalc.bindings", {})[name] = result
        return name, result


class ShapeArg(_ParamType):
    """An input tensor shape: 3,224,224 or 3x224x224."""

    name = "SHAPE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        text = str(value).strip().strip("[]()").replace("x", ",").replace("X", ",").replace("*", ",")
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts or len(parts) > 8 or not all(p.isdigit() and len(p) < 12 for p in parts):
            self.fail(f"expected sizes like 3,224,224 or 3x224x224, found {value!r}", param, ctx)
        sizes = tuple(int(p) for p in parts)
        if any(s < 1 for s in sizes):
            self.fail(f"sizes must be positive, found {value!r}", param, ctx)
        return sizes


class BandArg(_ParamType):
    """A --reduce band or a --range, read by a parser of `cnncalc.solve.band` (imported only when given)."""

    def __init__(self, name: str, parser: str) -> None:
        self.name = name
        self.parser = parser

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        from cnncalc.solve import band

        try:
            return getattr(band, self.parser)(value)
        except UsageError as exc:
            self.fail(str(exc), param, ctx)


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _options(*options: Decorator) -> Decorator:
    """Several options as one decorator, listed in --help in the order given."""

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def _with_limits(command: Callable[..., Any]) -> Callable[..., Any]:
    """The --max-* options, handed to the command as one `limits` argument."""

    @functools.wraps(command)
    def run(*args: Any, max_layers: int | None, max_repeat: int, max_depth: int, max_nodes: int, max_symbolic_layers: int, **kwargs: Any) -> Any:
        if max_layers is None:  # the working of every layer is about ten times the work: fewer by default
            max_layers = DEFAULT_LIMITS.max_explained if kwargs.get("explain") else DEFAULT_LIMITS.max_layers
        limits = Limits(max_layers, max_repeat, max_depth, max_nodes=max_nodes, max_symbolic=max_symbolic_layers)
        return command(*args, limits=limits, **kwargs)

    def limit(name: str, text: str, field: str | None = None) -> Decorator:
        default = getattr(DEFAULT_LIMITS, field or name.replace("-", "_"))
        return click.option(f"--{name}", type=click.IntRange(1), default=default, show_default=True, help=text)

    return _options(
        click.option(
            "--max-layers", type=click.IntRange(1), default=None, help="Limit on layers after expansion.",
            show_default=f"{DEFAULT_LIMITS.max_layers}; {DEFAULT_LIMITS.max_explained} with --explain",
        ),
        limit("max-repeat", "Limit on one repeat count."),
        limit("max-depth", "Limit on block nesting."),
        limit("max-nodes", "Limit on YAML values in a spec, counted with aliases expanded."),
        limit("max-symbolic-layers", "Limit on layers whose sizes or counts hold free symbols.", "max_symbolic"),
    )(run)


_FORMAT = click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format.")


def _bindings(example: str) -> Decorator:
    return click.option("--set", "-s", "bindings", type=Binding(), multiple=True, help=f"Bind a symbol or variable: --set {example} (repeatable).")


_common = _options(
    _FORMAT,
    _bindings("k=54"),
    click.option("--explain", is_flag=True, help="Show each layer's formula with the numbers put in."),
    click.option("--block", "-b", "blocks", multiple=True, help="Evaluate this block of the spec on its own (repeatable)."),
    click.option("--input", "-i", "input_shape", type=ShapeArg(), help="Treat the arguments as PyTorch layer calls applied to a tensor of this shape (3,224,224 or 1x3x224x224)."),
    _with_limits,
)


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
    input_shape: tuple[int, ...] | None,
    blocks: tuple[str, ...],
    bindings: tuple[tuple[str, Any], ...],
    explain: bool,
    limits: Limits,
) -> list[list[Any]]:
    from cnncalc.analysis.evaluate import evaluate_inline, evaluate_spec
    from cnncalc.spec.zoo import load_spec

    overrides = dict(bindings)
    if not sources:
        raise UsageError("give a SPEC file (or '-' for standard input), or --input SHAPE and layer calls")
    if input_shape is not None:
        if blocks:
            raise UsageError("--block applies to spec files, not to inline layer calls")
        return [[evaluate_inline(list(sources), input_shape, overrides=overrides, explain=explain)]]
    stdin_text = _read_stdin(sources, limits)
    results = []
    for source in sources:
        spec = load_spec(source, limits, stdin_text)
        results.append(evaluate_spec(spec, blocks=blocks, overrides=overrides, explain=explain, limits=limits))
    return results


@main.command()
@click.argument("specs", nargs=-1, metavar="SPEC... | --input SHAPE LAYER...")
@_common
def shape(specs: tuple[str, ...], fmt: str, bindings: Any, explain: bool, blocks: Any, input_shape: Any, limits: Limits) -> None:
    """Output shape of every layer (PyTorch's formulas exactly).

    \b
    cnncalc shape configs/resnet50.yaml
    cnncalc shape --input 3,224,224 "Conv2d(3, 64, 7, stride=2, padding=3)" "MaxPool2d(3, 2, 1)"
    """
    from cnncalc.render.shape import shape_documents, shape_report

    sets = _evaluate_all(specs, input_shape=input_shape, blocks=blocks, bindings=bindings, explain=explain, limits=limits)
    _write(fmt, lambda: shape_documents(sets), lambda: shape_report([e for s in sets for e in s], explain=explain))


@main.command()
@click.argument("specs", nargs=-1, metavar="SPEC... | --input SHAPE LAYER...")
@_common
def params(specs: tuple[str, ...], fmt: str, bindings: Any, explain: bool, blocks: Any, input_shape: Any, limits: Limits) -> None:
    """Parameters per layer and per block, with and without bias; several specs or blocks compared.

    \b
    cnncalc params configs/resnet_block_bottleneck.yaml
    cnncalc params configs/resnet18.yaml configs/resnet50.yaml
    """
    from cnncalc.render.params import params_document, params_report

    sets = _evaluate_all(specs, input_shape=input_shape, blocks=blocks, bindings=bindings, explain=explain, limits=limits)
    _write(fmt, lambda: params_document(sets), lambda: params_report(sets, explain=explain))


@main.command()
@click.argument("specs", nargs=-1, metavar="SPEC... | --input SHAPE LAYER...")
@_common
@click.option("--flops", is_flag=True, help="Add a FLOPs column (FLOPs = 2 x MACs; JSON always has both).")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16", "int8"]), default="float32", show_default=True, help="Element type for activation and parameter bytes.")
def cost(specs: tuple[str, ...], fmt: str, bindings: Any, explain: bool, blocks: Any, input_shape: Any, limits: Limits, flops: bool, dtype: str) -> None:
    """MACs, cheap ops, memory and receptive field of every layer and block.

    1 MAC = one multiply-accumulate; bias additions are not MACs; FLOPs = 2 x MACs. Norms,
    pools, activations, adds and upsampling are counted apart as cheap ops. Receptive field,
    effective stride and padding are per axis, in input positions.

    \b
    cnncalc cost resnet50
    cnncalc cost configs/resnet_block_bottleneck.yaml --block plain --explain
    cnncalc cost resnet18 --flops --dtype float16 --format json
    """
    from cnncalc.render.cost import cost_document, cost_report

    sets = _evaluate_all(specs, input_shape=input_shape, blocks=blocks, bindings=bindings, explain=explain, limits=limits)
    _write(fmt, lambda: cost_document(sets, dtype=dtype, explain=explain), lambda: cost_report(sets, dtype=dtype, flops=flops, explain=explain))


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
@_FORMAT
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
@_FORMAT
@_bindings("k1=16")
@click.option("--explain", is_flag=True, help="Write the solution out step by step, like a worked answer.")
@_with_limits
def bottleneck(spec: str, band: Any, baseline: str | None, candidate: str | None, bias: str, metric: str, ranges: Any, multiple_of: int, limit: int | None, fmt: str, bindings: Any, explain: bool, limits: Limits) -> None:
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
    if baseline is not None and baseline == candidate:
        raise UsageError("the baseline and the candidate must be different blocks", found=repr(baseline))
    bounds: dict[str | None, tuple[int, int | None]] = {}
    for name, lo, hi in ranges:
        if name in bounds:
            raise UsageError(f"--range given twice for {name or 'every symbol'}")
        bounds[name] = (lo, hi)
    loaded = load_spec(spec, limits, _read_stdin((spec,), limits))
    if not loaded.blocks:
        raise UsageError(
            "the spec has no blocks to compare",
            expected="a spec with a baseline block and a candidate block under 'blocks:'",
            found=f"{spec} without blocks",
        )
    names = (baseline, candidate) if baseline and candidate else tuple(loaded.blocks)
    evaluations = evaluate_spec(loaded, blocks=names, overrides=dict(bindings), explain=explain, limits=limits)
    base, cand = choose(evaluations, metric, baseline, candidate)
    biases = {"both": (False, True), "on": (True,), "off": (False,)}[bias]
    result = solve_bottleneck(base, cand, band, metric=metric, biases=biases, ranges=bounds, multiple_of=multiple_of, limit=limit)
    explanation = bottleneck_explanation(result, base, cand) if explain else ()
    _write(fmt, lambda: bottleneck_document(result, explanation), lambda: bottleneck_report(result, explanation))
    if result.empty:
        raise no_answer(result)


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
