"""The spec model: what a spec file says, checked and with its expressions parsed, as plain data.

Every value keeps the position it was written at, so that later errors can point at it.
`reader` builds these from YAML, `inline` from PyTorch constructor calls on the command line.
"""

from __future__ import annotations

from typing import NamedTuple, TypeAlias

from cnncalc.errors import Position
from cnncalc.spec.expr import Expr

META_KEYS = ("name", "from", "repeat")  # keys of a layer call that are cnncalc's, not the layer's
TOP_KEYS = ("name", "input", "batch", "vars", "blocks", "layers", "description")
BLOCK_KEYS = ("args", "layers", "residual", "shortcut", "after", "description")
INPUT_NAME = "input"  # what `from:` calls the input of a layer list


class Limits(NamedTuple):
    """Resource limits, with their defaults; all but `max_bytes` have a command-line flag to raise them."""

    max_layers: int = 1_000_000
    max_repeat: int = 100_000
    max_depth: int = 50
    max_bytes: int = 50_000_000
    max_nodes: int = 1_000_000  # YAML values, counted with aliases expanded (billion laughs)


# An argument's value as written: a literal (int, float, bool, None), a text the layer takes as
# it is (a keyword such as 'same' or 'bilinear'), a checked expression, or a flat tuple of Args.
Value: TypeAlias = int | float | str | Expr | tuple["Arg", ...] | None


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


class Block(NamedTuple):
    """A named block: a template with arguments, optionally residual with a projection shortcut."""

    name: str
    params: tuple[tuple[str, Arg | None], ...]
    layers: tuple[LayerCall, ...]
    residual: bool | str  # True, False or "auto" (residual only where F(x) has x's shape)
    shortcut: tuple[LayerCall, ...]
    after: tuple[LayerCall, ...]
    position: Position

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
