"""What an evaluation gives: a row per layer, totals per block and for the whole network."""

# No `from __future__ import annotations` here: NamedTuple would make a ForwardRef of each
# field's annotation, compiling it at import (a third of these classes' import cost).
from collections.abc import Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from cnncalc import arith
from cnncalc.layers import Shape
from cnncalc.spec.model import new_tuple

if TYPE_CHECKING:
    from cnncalc.analysis.validity import Stated
    from cnncalc.explain import Step


class Row(NamedTuple):
    """One evaluated layer."""

    path: str
    type: str
    inputs: tuple[Shape, ...]
    output: Shape
    params: Any
    bias: Any
    buffers: Any
    macs: Any
    depth: int
    group: str | None = None
    steps: tuple["Step", ...] = ()  # the explanation (--explain), as data
    args: tuple[tuple[str, Any], ...] = ()  # the layer's evaluated arguments (kernel_size, stride, ...)
    # Per input: the index in Evaluation.rows of the row that produced it; -1 = the evaluation's input.
    sources: tuple[int, ...] = ()
    # How many identical copies of the layer this row stands for: 1, or a symbolic `repeat: n`
    # (one row for n copies of a shape-keeping layer; params, buffers and MACs are all n copies').
    copies: Any = 1
    # The dotted module name PyTorch's named_modules() would give the layer (`layer1.0.conv1`):
    # from the spec's `name:` keys, else each entry's index in its list (see docs/spec.md).
    module: str = ""

    @property
    def input(self) -> Shape:
        return self.inputs[0]


class Span(NamedTuple):
    """One block call's rows, rows[start:stop] of the list they sit in (`--depth` folds them
    into one row): the call's path, module name, template and depth, its input and output."""

    start: int
    stop: int
    path: str
    module: str
    template: str
    depth: int  # the depth of the list the call sits in (its rows are deeper)
    input: Shape
    output: Shape
    source: int  # the row that produced the input (-1: the evaluation's or frame's input)
    copies: Any = 1  # a symbolic `repeat: n`: the rows stand for n copies


class Group(NamedTuple):
    """Totals of one block (a top-level block call with its copies, or a standalone block)."""

    name: str
    template: str
    params: Any
    bias: Any
    buffers: Any
    macs: Any
    layers: Any  # an int, or symbolic with a symbolic repeat count

    @property
    def params_no_bias(self) -> Any:
        return arith.sub(self.params, self.bias)


class Evaluation(NamedTuple):
    """A whole evaluated network (or one standalone block), with its totals."""

    name: str
    spec_name: str
    input: Shape
    output: Shape
    rows: tuple[Row, ...]
    groups: tuple[Group, ...]
    params: Any
    bias: Any
    buffers: Any
    macs: Any
    batch: Any  # a positive integer, or a symbol (`batch: B`)
    batch_in_shapes: bool  # False: shapes are shown without the leading batch dimension
    # What must hold of the free symbols for the results to be PyTorch's, stated simply.
    conditions: tuple["Stated", ...] = ()
    # Shown channels-last (--channels-last): the channel axis moved behind this many spatial
    # axes, in shapes of the input's rank (0: as PyTorch lays them out, channels first).
    channels_last: int = 0
    spans: tuple[Span, ...] = ()  # every block call's rows, outer calls before inner ones
    # The module names of rows that run at inference only (an Ultralytics head's decoding: in
    # train mode the head returns its raw outputs): training memory counts nothing for them.
    inference_only: frozenset[str] = frozenset()
    # Read from an Ultralytics model file: a Narrow that takes exactly one input of a Concat
    # stands for Ultralytics' Python list (`y[-1]`): that input's own tensor (training memory).
    python_lists: bool = False
    # (module name, layer kind, reason): a row of that kind inside that module refuses training memory
    train_refused: tuple[tuple[str, str, str], ...] = ()

    @property
    def params_no_bias(self) -> Any:
        return arith.sub(self.params, self.bias)

    @property
    def frozen(self) -> Any:
        """Parameters that are not trained (requires_grad=False: the frozen kinds', DFL's)."""
        from cnncalc.layers import lookup

        return arith.total([r.params for r in self.rows if getattr(lookup(r.type), "frozen", False)])

    @property
    def standalone(self) -> bool:
        """True for one block of the spec evaluated on its own (its one group is the whole evaluation)."""
        return len(self.groups) == 1 and self.groups[0].name == self.name

    def shown(self, shape: Shape) -> Shape:
        """A tensor shape as users read it (the spec's batch dimension dropped; channels-last
        if asked, for shapes of the input's rank: a flattened (N, features) stays as it is)."""
        spatial = self.channels_last
        if spatial and len(shape) == len(self.input) and len(shape) > spatial:
            channel = len(shape) - spatial - 1
            shape = (*shape[:channel], *shape[channel + 1:], shape[channel])
        return shape if self.batch_in_shapes else shape[1:]


def spatial_axes(evaluation: Evaluation) -> int:
    """How many trailing dims of the input are spatial (0: none, or not known). A spec's input
    is [C, *spatial] after the batch; an inline --input is as given, batched or not, which its
    first spatial layer (a Conv2d: 2 axes) tells apart as PyTorch does, by the rank."""
    rank = len(evaluation.input)
    if not evaluation.batch_in_shapes:
        return max(rank - 2, 0) if rank <= 5 else 0
    from cnncalc.layers import lookup

    for row in evaluation.rows:
        kind = lookup(row.type)
        if kind is not None and kind.spatial:
            return kind.spatial if rank >= kind.spatial + 1 else 0
    return max(rank - 2, 0) if rank <= 5 else 0


def channels_last_view(evaluation: Evaluation) -> Evaluation:
    """The evaluation with its shapes shown channels-last (`Evaluation.shown`): (B, H, W, C)."""
    return evaluation._replace(channels_last=spatial_axes(evaluation))


_PARAMS, _BIAS, _BUFFERS, _MACS, _COPIES = (itemgetter(Row._fields.index(field)) for field in ("params", "bias", "buffers", "macs", "copies"))
_INT_ONLY = frozenset((int,))


def totals(rows: Sequence[Row]) -> tuple[Any, Any, Any, Any]:
    """Params, bias, buffers and MACs summed over rows (at C speed while they are ints)."""
    return (
        arith.total(list(map(_PARAMS, rows))),
        arith.total(list(map(_BIAS, rows))),
        arith.total(list(map(_BUFFERS, rows))),
        arith.total(list(map(_MACS, rows))),
    )


def placed(
    rows: Sequence[Row],
    prefix: str,
    depth_shift: int,
    strip: int = 0,
    source: int = -1,
    start: int = 0,
    group: str | None = None,
    module: str = "",
    module_strip: int = 0,
) -> list[Row]:
    """A block frame's rows re-rooted (the hot loop of repeated blocks): path prefix swapped
    (`strip` characters of the old path dropped), module prefix likewise (`module_strip`),
    depth shifted, frame-local sources renumbered from `start` (-1, the frame's input, becomes
    `source`), and `group` set when given."""
    renumber = source != -1 or start != 0
    moved = []
    for path, kind, inputs, output, params, bias, buffers, macs, depth, old_group, steps, args, sources, copies, name in rows:
        if renumber:
            if len(sources) == 1:  # most rows: without a generator
                sources = (source if sources[0] < 0 else sources[0] + start,)
            else:
                sources = tuple(source if i < 0 else i + start for i in sources)
        moved.append(new_tuple(Row, (
            prefix + path[strip:], kind, inputs, output, params, bias, buffers, macs,
            depth + depth_shift, old_group if group is None else group, steps, args, sources, copies, module + name[module_strip:],
        )))  # fmt: skip
    return moved


def placed_spans(spans: Sequence[Span], prefix: str, depth_shift: int, strip: int, source: int, start: int, module: str, module_strip: int) -> list[Span]:
    """A frame's block calls re-rooted as `placed` re-roots its rows."""
    return [
        new_tuple(Span, (
            first + start, stop + start, prefix + path[strip:], module + name[module_strip:], template, depth + depth_shift, x, y,
            source if old_source < 0 else old_source + start, copies,
        ))
        for first, stop, path, name, template, depth, x, y, old_source, copies in spans
    ]


def layer_count(rows: Sequence[Row]) -> Any:
    """How many layers `rows` stand for: one each, n for a row of a symbolic `repeat: n`."""
    copies = list(map(_COPIES, rows))
    if set(map(type, copies)) <= _INT_ONLY:
        return sum(copies)  # plain rows (1 each), at C speed
    return arith.total(copies)


def copies_of(rows: Sequence[Row], count: Any, note: Any = None) -> list[Row]:
    """Rows of one copy made to stand for `count` identical copies (a symbolic repeat count):
    their params, buffers and MACs multiplied, `note` (a step) added to their working."""
    return [
        r._replace(
            params=arith.mul(r.params, count), bias=arith.mul(r.bias, count), buffers=arith.mul(r.buffers, count),
            macs=arith.mul(r.macs, count), copies=arith.mul(r.copies, count), steps=r.steps + ((note,) if note is not None else ()),
        )
        for r in rows
    ]


shape_text = arith.shape_text  # [64, 16, 16] style, symbols as text
