"""The spec model: what a spec file says, checked and with its expressions parsed, as plain data.

Every value keeps the position it was written at, so that later errors can point at it.
`reader` builds these from YAML, `inline` from PyTorch constructor calls on the command line.
"""

# No `from __future__ import annotations` here: NamedTuple would make a ForwardRef of each
# field's annotation, compiling it at import (a third of these classes' import cost).
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from cnncalc.errors import Position
from cnncalc.spec.expr import Expr

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Protocol, TypeVar

    _T = TypeVar("_T")

    class _NewTuple(Protocol):
        def __call__(self, cls: type[_T], fields: Iterable[Any], /) -> _T: ...


# Speed, for the flat-file and scale budgets (benchmarks/run.py): `new_tuple(LayerCall, fields)`
# builds a NamedTuple in C, where `LayerCall(...)` runs the Python function NamedTuple generates
# (and functools.partial over tuple.__new__ would concatenate argument tuples). Used where
# thousands are built: the reader's plain layers (about 5 tuples a layer) and the evaluator's
# rows. Measured with valgrind (instructions), with the constructors instead: reading 10,000
# flat layers costs 9% more, evaluating them 11% more, evaluating 100,000 layers of repeated
# blocks 18% more.
new_tuple: "_NewTuple" = tuple.__new__  # type: ignore[assignment]

META_KEYS = ("name", "from", "repeat")  # keys of a layer call that are cnncalc's, not the layer's
TOP_KEYS = ("name", "input", "batch", "vars", "blocks", "layers", "description")
BLOCK_KEYS = ("args", "layers", "residual", "shortcut", "shortcut_name", "shortcut_first", "after", "description")
INPUT_NAME = "input"  # what `from:` calls the input of a layer list


class Limits(NamedTuple):
    """Resource limits, with their defaults; all but `max_bytes` and `max_explained` have a
    command-line flag to raise them. The defaults keep every command within 5 s and 1 GB
    (benchmarks/hostile.py): `cost` takes about 50 us a layer on a busy 2-core machine, a layer
    with symbolic sizes a few milliseconds (sympy), and --explain about ten times the work."""

    max_layers: int = 100_000
    max_repeat: int = 100_000
    max_depth: int = 50
    max_bytes: int = 50_000_000
    max_nodes: int = 1_000_000  # YAML values, counted with aliases expanded (billion laughs)
    max_symbolic: int = 1_000  # layers whose sizes or counts hold free symbols
    max_explained: int = 10_000  # the --max-layers default of a command run with --explain
    # How to read an Ultralytics model file (not a limit, but handed to every loader with them):
    # --scale (None: from the file name) and --imgsz (None: 640).
    scale: str | None = None
    imgsz: int | None = None


# An argument's value as written: a literal (int, float, bool, None), a text the layer takes as
# it is (a keyword such as 'same' or 'bilinear'), a checked expression, or a flat tuple of Args.
Value: TypeAlias = int | float | str | Expr | tuple["Arg", ...] | None


class LayerType(str):
    """A layer type or block named as a value (`act: Hardswish`): what a template argument
    holds when a call in the template is the argument (`- act`). Not a number: arithmetic on it
    is refused."""

    __slots__ = ()


class Arg(NamedTuple):
    """An argument as written, with its place in the spec."""

    raw: Value
    position: Position


class LayerCall(NamedTuple):
    """One entry of a layer list: a layer kind or a block template, with its arguments."""

    kind: str
    args: tuple[tuple[str, Arg], ...]
    name: str | None
    sources: tuple[str, ...]
    repeat: Arg | None
    position: Position
    path: str
    is_block: bool
    refs: frozenset[str]  # the nodes whose shapes its arguments read (`enc3.spatial`): bound before it is evaluated
    chosen: bool  # its kind is a template argument's value (`- act`), resolved when the template is expanded


class Block(NamedTuple):
    """A named block: a template with arguments, optionally residual with a projection shortcut."""

    name: str
    params: tuple[tuple[str, Arg | None], ...]
    layers: tuple[LayerCall, ...]
    residual: bool | str  # True, False or "auto" (residual only where F(x) has x's shape)
    shortcut: tuple[LayerCall, ...]
    after: tuple[LayerCall, ...]
    position: Position
    shortcut_name: str = "shortcut"  # the shortcut's module name (torchvision's resnets: downsample)
    shortcut_first: bool = False  # the shortcut's rows run (and are listed) before F(x)'s

    @property
    def path(self) -> str:
        return f"blocks.{self.name}"


class Spec(NamedTuple):
    """A whole spec file: input, variables, block templates and (optionally) a model."""

    name: str
    source: str
    input: tuple[Arg, ...]
    batch: Arg | None
    vars: tuple[tuple[str, Arg], ...]
    blocks: dict[str, Block]
    layers: tuple[LayerCall, ...] | None
    position: Position
    ultralytics: Any = None  # an Ultralytics model file's scale and rows (spec.ultralytics.YoloInfo), else None
