"""The evaluator: walks a validated spec once and computes every layer's shape, params and MACs.

`evaluate_spec` evaluates a spec's model (or its blocks, each on its own), `evaluate_inline`
layer calls given on the command line. The work is shared out: `bind` binds arguments,
`outcomes` applies one layer, `expand` walks layer lists and blocks, `results` holds what
comes out (rows, block groups, totals).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnncalc import arith
from cnncalc.analysis import bind
from cnncalc.analysis.expand import Expander, group_name
from cnncalc.analysis.outcomes import COUNTS, symbolic_limit
from cnncalc.analysis.results import Evaluation, Group, Row, Span, layer_count, shape_text, totals
from cnncalc.errors import CnncalcError, LimitError, SpecError, UsageError
from cnncalc.layers import Shape
from cnncalc.spec import Block, LayerCall, Limits, Spec, did_you_mean, inline_calls

if TYPE_CHECKING:
    from cnncalc.analysis.validity import Stated

__all__ = ["Evaluation", "Evaluator", "Group", "Row", "evaluate_inline", "evaluate_spec", "shape_text"]


class Evaluator(Expander):
    """Evaluates one spec: its variables, input and batch, then its model or a block on its own."""

    def __init__(
        self,
        spec: Spec | None,
        *,
        overrides: Mapping[str, Any] | None = None,
        explain: bool = False,
        limits: Limits = Limits(),
        training: bool = False,
        counts: frozenset[str] = COUNTS,
        input_override: tuple[Any, ...] | None = None,
    ) -> None:
        super().__init__(spec, dict(overrides or {}), explain=explain, training=training, limits=limits, counts=counts)
        self.outcomes.per_sample = spec is not None
        self.input_override = input_override  # --input on a spec: its per-sample input instead of `input:`
        if spec is not None:
            for name, arg in spec.vars:
                if name not in self.globals:
                    self.globals[name] = bind.value(arg, self.globals, f"vars.{name}", self.free)  # a var may hold a layer type

    def input_shape(self) -> Shape:
        """The spec's input tensor shape, with the batch dimension in front."""
        assert self.spec is not None
        if self.input_override is not None:
            return (self.batch(), *(_inline_size(d, self.globals) for d in self.input_override))
        dims = []
        for arg in self.spec.input:
            value = bind.value(arg, self.globals, "input")
            if isinstance(value, bool) or not (isinstance(value, int) or arith.is_symbolic(value)):
                raise SpecError("input sizes must be integers", position=arg.position, path="input", found=repr(value))
            if isinstance(value, int) and value < 1:
                raise SpecError("input sizes must be positive", position=arg.position, path="input", expected="sizes >= 1", found=str(value))
            dims.append(value)
        return (self.batch(), *dims)

    def batch(self) -> Any:
        """The spec's batch size (1 when it gives none): a positive integer or a symbol (`batch: B`)."""
        assert self.spec is not None
        if self.spec.batch is None:
            return 1
        value = bind.value(self.spec.batch, self.globals, "batch")
        if arith.is_symbolic(value):
            return value
        return bind.count(value, "batch", self.spec.batch, "batch", 1)

    def model(self) -> Evaluation:
        """Evaluate the spec's `layers:` list as one network; each top-level block call becomes a group."""
        assert self.spec is not None and self.spec.layers is not None
        self.refuse_expansion(self.spec.layers)
        x = self.input_shape()
        rows: list[Row] = []
        groups: list[Group] = []

        def on_block(call: LayerCall, path: str, frame_rows: list[Row]) -> None:
            groups.append(Group(group_name(call, path), call.kind, *totals(frame_rows), layer_count(frame_rows)))

        env = dict(self.globals)
        self.bind_input_names(env, x)
        output = self.run_list(self.spec.layers, x, env, "", 0, rows, on_block=on_block, local_base=None)
        return self.finish(self.spec.name, x, output, tuple(rows), tuple(groups), tuple(self.spans))

    def standalone(self, block_name: str) -> Evaluation:
        """Evaluate one block of the spec on the spec's input, unbound arguments left as symbols."""
        assert self.spec is not None
        block = self.spec.blocks[block_name]
        self.refuse_expansion(block.layers + block.after)
        x = self.input_shape()
        env = dict(self.globals)
        for name, default in block.params:
            if name not in env:
                env[name] = bind.value(default, env, f"{block.path}.args.{name}", self.free) if default is not None else arith.symbol(name)
        self.bind_input_names(env, x)
        frame = self.run_block_body(block, env, x, block.path, 0, None)
        rows = tuple(frame.rows)
        group = Group(block_name, block_name, frame.params, frame.bias, frame.buffers, frame.macs, layer_count(rows))
        return self.finish(block_name, x, frame.output, rows, (group,), frame.spans)

    def refuse_expansion(self, calls: tuple[LayerCall, ...]) -> None:
        """Refuse at once a list whose literal `repeat` counts alone exceed --max-layers."""
        assert self.spec is not None
        memo: dict[str, int] = {}
        if _least_layers(calls, self.spec.blocks, memo) <= self.limits.max_layers:
            return  # no running total can exceed it either (counts are never negative)
        counts = [_least_layers((call,), self.spec.blocks, memo) for call in calls]
        running = 0
        for call, count in zip(calls, counts):
            running += count
            if running > self.limits.max_layers:
                raise LimitError(
                    "too many layers after expansion",
                    position=call.position,
                    path=f"{call.path} ({call.kind})",
                    expected=f"at most {self.limits.max_layers} (raise it with --max-layers)",
                    found=f"at least {sum(counts)} layers",
                )

    def finish(self, name: str, x: Shape, output: Shape, rows: tuple[Row, ...], groups: tuple[Group, ...], spans: tuple[Span, ...] = ()) -> Evaluation:
        if "sympy" in sys.modules:  # without it, no value is symbolic (arith imports it for the first symbol)
            self.refuse_symbolic_rows(rows)
        spec_name = self.spec.name if self.spec else "inline"
        stated: tuple[Stated, ...] = ()
        if self.outcomes.conditions:
            from cnncalc.analysis.validity import state

            stated = state(tuple(self.outcomes.conditions.values()))
        yolo = self.spec.ultralytics if self.spec else None
        inference_only = frozenset(yolo.inference_only) if yolo is not None else frozenset()
        return Evaluation(
            name, spec_name, x, output, rows, groups, *totals(rows), x[0] if x else 1, self.spec is None, stated, spans=spans, inference_only=inference_only,
            python_lists=yolo is not None, train_refused=tuple(yolo.train_refused) if yolo is not None else (),
        )

    def refuse_symbolic_rows(self, rows: tuple[Row, ...]) -> None:
        """Refuse more than --max-symbolic-layers rows with symbolic sizes or counts, the copies
        of a layer included (each gets its own symbolic memory and receptive field in `cost`);
        located at the call of the spec's list that expands to the first row past the limit."""
        limit = self.limits.max_symbolic
        count = 0
        for row in rows:
            if type(row.params) is int and type(row.macs) is int and all(type(d) is int for d in row.output):
                continue
            if not (arith.is_symbolic(row.params) or arith.is_symbolic(row.macs) or any(map(arith.is_symbolic, row.output))):
                continue
            count += 1
            if count > limit:
                call = self.call_of(row.path)
                found = f"{sum(1 for r in rows if any(map(arith.is_symbolic, (*r.output, r.params, r.macs))))} of {len(rows)} layers"
                raise symbolic_limit(limit, None if call is None else call.position, row.path, found)

    def call_of(self, path: str) -> LayerCall | None:
        """The call of the spec (its layers, or a block's lists) whose path the row's path starts with."""
        if self.spec is None:
            return None
        lists = [self.spec.layers or ()] + [b.layers + b.after + b.shortcut for b in self.spec.blocks.values()]
        best = None
        for calls in lists:
            for call in calls:
                if (path == call.path or path.startswith((call.path + ".", call.path + "["))) and (best is None or len(call.path) > len(best.path)):
                    best = call
        return best


def _least_layers(calls: tuple[LayerCall, ...], blocks: Mapping[str, Block], memo: dict[str, int]) -> int:
    """A lower bound on the rows `calls` expand to: literal repeat counts, any other taken as 1."""
    total = 0
    for call in calls:
        count = 1
        if call.repeat is not None and isinstance(call.repeat.raw, int) and not isinstance(call.repeat.raw, bool):
            count = max(call.repeat.raw, 0)
        if call.is_block:
            size = memo.get(call.kind)
            if size is None:
                block = blocks[call.kind]
                size = memo[call.kind] = _least_layers(block.layers + block.after, blocks, memo) + (block.residual is True)
            count *= size
        total += count
    return total


def evaluate_spec(
    spec: Spec,
    *,
    blocks: tuple[str, ...] = (),
    overrides: Mapping[str, Any] | None = None,
    explain: bool = False,
    limits: Limits = Limits(),
    counts: frozenset[str] = COUNTS,
    input_shape: tuple[Any, ...] | None = None,
) -> list[Evaluation]:
    """Evaluate a spec: its model, or each of its blocks standalone (all, or those named).

    `counts` names the counts the caller prints besides shapes ("params", "macs"): the others
    are still computed by the layer rules but never checked against the size limits, so that
    `shape` is not refused for a symbolic MAC count it does not show. `input_shape` (--input)
    replaces the spec's per-sample `input:` (sizes: ints, or names bound by `overrides` or left
    as free symbols); the batch stays the spec's."""
    for name in blocks:
        if name not in spec.blocks:
            raise SpecError(
                f"no block named {name!r} in the spec",
                position=spec.position,
                expected="one of " + (", ".join(spec.blocks) or "(no blocks)"),
                found=repr(name),
                hint=did_you_mean(name, list(spec.blocks)),
            )
    options: dict[str, Any] = {"overrides": overrides, "explain": explain, "limits": limits, "counts": counts, "input_override": input_shape}
    try:
        if blocks or spec.layers is None:
            return [Evaluator(spec, **options).standalone(name) for name in blocks or tuple(spec.blocks)]
        return [Evaluator(spec, **options).model()]
    except CnncalcError as exc:
        raise per_sample_shapes(exc) from None


def per_sample_shapes(error: CnncalcError) -> CnncalcError:
    """A spec's error with the tensor shapes it prints (`error.shapes`) shown as the tables show
    them, without the batch: `found 5-D input [1, 1, 3, 320, 240]` reads `found input [1, 3,
    320, 240] (5-D with the batch)`. Inline layer calls keep PyTorch's tensor shapes."""
    if not error.shapes:
        return error
    import re

    from cnncalc.layers.base import shape_text as layer_text

    shown: dict[str, str] = {}  # a shape's text, batch first -> as a spec shows it
    for shape in error.shapes:
        if shape:
            for text in (layer_text(shape), shape_text(shape)):
                shown[text] = layer_text(shape[1:])
                shown[f"{len(shape)}-D input {text}"] = f"input {shown[text]} ({len(shape)}-D with the batch)"
    # One pass, longest first: a shape already rewritten is never rewritten again ([1, 1, 16]
    # becomes [1, 16], which another input's text may equal).
    pattern = re.compile("|".join(re.escape(text) for text in sorted(shown, key=len, reverse=True)))
    for field in ("message", "expected", "found", "hint"):
        value = getattr(error, field)
        if value:
            setattr(error, field, pattern.sub(lambda match: shown[match.group(0)], value))
    error.args = (error.message,)
    error.shapes = ()
    return error


def evaluate_inline(
    calls: list[str],
    input_shape: tuple[Any, ...],
    *,
    overrides: Mapping[str, Any] | None = None,
    explain: bool = False,
    training: bool = False,
    counts: frozenset[str] = COUNTS,
) -> Evaluation:
    """Evaluate PyTorch constructor calls given on the command line on a literal tensor shape.

    `training=True` checks the calls as PyTorch runs them in training mode (batch statistics);
    `counts` as for `evaluate_spec`.
    """
    parsed = inline_calls(calls)
    evaluator = Evaluator(None, overrides=overrides, explain=explain, training=training, counts=counts)
    shape = tuple(_inline_size(d, evaluator.globals) for d in input_shape)
    rows: list[Row] = []
    output = evaluator.run_list(parsed, shape, evaluator.globals, "", 0, rows, local_base=None)
    return evaluator.finish("inline", shape, output, tuple(rows), ())


def _inline_size(size: Any, bound: Mapping[str, Any]) -> Any:
    """A size of --input: a number, or a name (`B,C,W,H`): its --set value, else a
    free symbol (a symbolic size given by a caller stays as it is)."""
    if not isinstance(size, str):
        return size
    value = bound.get(size)
    if value is None:
        return arith.symbol(size)
    if isinstance(value, bool) or not (isinstance(value, int) or arith.is_symbolic(value)) or (isinstance(value, int) and value < 1):
        raise UsageError(f"--input size {size} must be a positive integer", expected=f"--set {size}=<an integer >= 1>", found=f"{size}={value!r}")
    return value
