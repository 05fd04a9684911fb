"""The command line's option types and shared options: --set bindings, --input shapes,
--reduce bands and ranges, the --max-* limits, and the options every evaluating command takes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from cnncalc.errors import CnncalcError, UsageError
from cnncalc.spec import Limits

if TYPE_CHECKING:  # click >= 8.2 makes ParamType generic; 8.1 cannot subscript it at run time
    _ParamType = click.ParamType[Any]
else:
    _ParamType = click.ParamType

FORMATS = ("table", "json", "csv", "markdown")
DEFAULT_LIMITS = Limits()


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
            parsed = expr.parse(text)
            result = expr.evaluate(parsed, bound, free=_layer_type)
        except CnncalcError as exc:
            self.fail(f"{name}: {exc}", param, ctx)
        if ctx is not None:
            ctx.meta.setdefault("cnncalc.bindings", {})[name] = result
            ctx.meta.setdefault("cnncalc.read_by_bindings", set()).update(expr.names(parsed))
        return name, result


def _layer_type(name: str) -> Any:
    """An unbound name in a --set value: a layer type it names (`--set act=Hardswish`), else an error."""
    from cnncalc.errors import ExprError
    from cnncalc.layers import lookup
    from cnncalc.spec.model import LayerType

    if lookup(name) is None:
        raise ExprError(f"unbound name {name!r}", expected="a number, a layer type or a name bound by an earlier --set")
    return LayerType(name)


def warn_unused(bindings: tuple[tuple[str, Any], ...], used: set[str], what: str) -> None:
    """Warn (on stderr; the exit status stays) about each --set of a name the spec never reads
    (`what`: "the spec never uses", ...): a misspelt symbol would otherwise go unnoticed."""
    if not bindings:
        return
    ctx = click.get_current_context(silent=True)
    read = set(ctx.meta.get("cnncalc.read_by_bindings", ())) if ctx is not None else set()
    from cnncalc.spec import did_you_mean

    for name, _ in bindings:
        if name not in used and name not in read:
            hint = did_you_mean(name, sorted(used))
            click.echo(f"Warning: --set {name}: {what} the name {name!r}, so it changes nothing." + (f" Hint: {hint}" if hint else ""), err=True)


class ShapeArg(_ParamType):
    """An input tensor shape: 3,224,224 or 3x224x224; a size may be a name (B,C,W,H), a free
    symbol unless --set binds it. Names are plain identifiers, never evaluated."""

    name = "SHAPE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int | str, ...]:
        if isinstance(value, tuple):
            return value
        text = str(value).strip().strip("[]()").replace("*", ",")
        if "," not in text and all(p.isdigit() for p in text.replace("X", "x").split("x")):
            text = text.replace("X", "x").replace("x", ",")  # 3x224x224: x separates numbers only
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts or len(parts) > 8 or not all(_size_word(p) for p in parts):
            self.fail(f"expected sizes like 3,224,224, 3x224x224 or B,C,H,W, found {value!r}", param, ctx)
        sizes = tuple(int(p) if p.isdigit() else p for p in parts)
        if any(isinstance(s, int) and s < 1 for s in sizes):
            self.fail(f"sizes must be positive, found {value!r}", param, ctx)
        return sizes


def _size_word(text: str) -> bool:
    """A size of --input: digits, or a name (an ASCII identifier, not a dunder)."""
    if text.isdigit():
        return len(text) < 12
    return text.isascii() and text.isidentifier() and not text.startswith("__") and len(text) <= 64


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


def options(*options: Decorator) -> Decorator:
    """Several options as one decorator, listed in --help in the order given."""

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def with_limits(command: Callable[..., Any]) -> Callable[..., Any]:
    """The --max-* options, handed to the command as one `limits` argument."""

    @functools.wraps(command)
    def run(
        *args: Any, max_layers: int | None, max_repeat: int, max_depth: int, max_nodes: int, max_symbolic_layers: int,
        scale: str | None, imgsz: int | None, **kwargs: Any,
    ) -> Any:
        if max_layers is None:  # the working of every layer is about ten times the work: fewer by default
            max_layers = DEFAULT_LIMITS.max_explained if kwargs.get("explain") else DEFAULT_LIMITS.max_layers
        limits = Limits(max_layers, max_repeat, max_depth, max_nodes=max_nodes, max_symbolic=max_symbolic_layers, scale=scale, imgsz=imgsz)
        return command(*args, limits=limits, **kwargs)

    def limit(name: str, text: str, field: str | None = None) -> Decorator:
        default = getattr(DEFAULT_LIMITS, field or name.replace("-", "_"))
        return click.option(f"--{name}", type=click.IntRange(1), default=default, show_default=True, help=text)

    return options(
        click.option(
            "--max-layers", type=click.IntRange(1), default=None, help="Limit on layers after expansion.",
            show_default=f"{DEFAULT_LIMITS.max_layers}; {DEFAULT_LIMITS.max_explained} with --explain",
        ),
        limit("max-repeat", "Limit on one repeat count."),
        limit("max-depth", "Limit on block nesting."),
        limit("max-nodes", "Limit on YAML values in a spec, counted with aliases expanded."),
        limit("max-symbolic-layers", "Limit on layers whose sizes or counts hold free symbols.", "max_symbolic"),
        *ULTRALYTICS,
    )(run)


# Reading an Ultralytics model file (backbone:/head: rows), for every command that reads a spec
# (with_limits hands them to the loader with the limits: cnncalc.spec.ultralytics).
ULTRALYTICS = (
    click.option(
        "--scale", default=None, metavar="LETTER",
        help="Ultralytics model files: the scale of 'scales:' to build (n, s, m, l, x); default: from the file name as Ultralytics reads it (yolov8n.yaml: n), else the first.",
    ),
    click.option(
        "--imgsz", type=click.IntRange(1), default=None, metavar="N",
        help="Ultralytics model files: the input image size, 3 x N x N  [default: 640, Ultralytics' size for params and GFLOPs]",
    ),
)

DEPTH = click.option(
    "--depth", type=click.IntRange(1), default=None, metavar="N",
    help="Show block nesting to depth N, as torchinfo's depth does: deeper rows are folded into their block call's row (its input, output and summed counts); 1 lists the spec's top-level layers and block calls.",
)
FORMAT = click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format.")


def bindings(example: str) -> Decorator:
    return click.option("--set", "-s", "bindings", type=Binding(), multiple=True, help=f"Bind a symbol or variable: --set {example} (repeatable).")


common = options(
    FORMAT,
    bindings("k=54"),
    click.option("--explain", is_flag=True, help="Show each layer's formula with the numbers put in."),
    click.option("--block", "-b", "blocks", multiple=True, help="Evaluate this block of the spec on its own (repeatable)."),
    click.option(
        "--input", "-i", "input_shapes", type=ShapeArg(), multiple=True,
        help="With specs: their per-sample input instead of the spec's 'input:' (3,320,240; 3,H,W). With PyTorch layer calls"
        " as the arguments: the tensor they are applied to (3,224,224, 1x3x224x224, or names: B,C,H,W). Repeatable: one result per input.",
    ),
    click.option("--channels-last", is_flag=True, help="Show shapes channels-last, (B, H, W, C) as TensorFlow and many textbooks write them; the input stays channels-first."),
    with_limits,
)

# `cost --optimizer`: the names cnncalc.analysis.train.OPTIMIZER_STATES knows (kept here, off the
# start-up path's imports; tests/test_train_memory.py checks the two agree).
OPTIMIZERS = ("adam", "adamw", "momentum", "sgd")
