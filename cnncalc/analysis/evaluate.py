"""The evaluator: walks a validated spec once and computes every layer's shape, params and MACs.

Block templates are expanded as they are evaluated; a block instance that has been evaluated
before with the same arguments on the same input shape reuses the earlier result (exact,
since a block's result depends on nothing else), so repeated stages cost one evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from cnncalc import arith
from cnncalc.spec import expr
from cnncalc.errors import CnncalcError, LimitError, Position, ShapeError, SpecError
from cnncalc.layers import REQUIRED, LayerKind, Param, Shape, apply, check_arg_type, lookup
from cnncalc.layers.base import step
from cnncalc.records import record
from cnncalc.spec import INPUT_NAME, Arg, Block, LayerCall, Limits, Spec, did_you_mean, inline_calls, is_keyword

if TYPE_CHECKING:
    from cnncalc.explain import Step


@record
class Row:
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
    steps: tuple[Step, ...] = ()
    args: tuple[tuple[str, Any], ...] = ()  # the layer's evaluated arguments (kernel_size, stride, ...)
    # Per input: the index in Evaluation.rows of the row that produced it; -1 = the evaluation's input.
    sources: tuple[int, ...] = ()

    @property
    def input(self) -> Shape:
        return self.inputs[0]


@record
class Group:
    """Totals of one block (a top-level block call with its copies, or a standalone block)."""

    name: str
    template: str
    params: Any
    bias: Any
    buffers: Any
    macs: Any
    layers: int

    @property
    def params_no_bias(self) -> Any:
        return arith.sub(self.params, self.bias)


@record
class Evaluation:
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
    batch: int
    batch_in_shapes: bool  # False: shapes are shown without the leading batch dimension

    @property
    def params_no_bias(self) -> Any:
        return arith.sub(self.params, self.bias)

    @property
    def standalone(self) -> bool:
        """True for one block of the spec evaluated on its own (its one group is the whole evaluation)."""
        return len(self.groups) == 1 and self.groups[0].name == self.name

    def shown(self, shape: Shape) -> Shape:
        """A tensor shape as users read it (the spec's batch dimension dropped)."""
        return shape if self.batch_in_shapes else shape[1:]


@record
class _Frame:
    """A block instance's evaluation, cached by (block, arguments, input shape)."""

    output: Shape
    rows: list[Row]
    params: Any
    bias: Any
    buffers: Any
    macs: Any
    source: int = -1  # the frame row that produced the output (frame-local index; -1 = the frame's input)


class Evaluator:
    """Evaluates layer lists of one spec; holds the global environment and the block cache."""

    plain_fast_path = True  # run_list's short cut for plain layers (tests turn it off to compare)

    def __init__(
        self,
        spec: Spec | None,
        *,
        overrides: Mapping[str, Any] | None = None,
        explain: bool = False,
        limits: Limits = Limits(),
        training: bool = False,
    ) -> None:
        self.spec = spec
        self.explain = explain
        self.training = training
        self.limits = limits
        self.layer_count = 0
        self.source = -1  # producer of the last list's output (see run_list); feeds Row.sources
        self.cache: dict[Any, tuple[_Frame, str, int]] = {}  # block instance -> (frame, its path, its depth)
        self.outcomes: dict[Any, tuple[Any, tuple[tuple[str, Any], ...]]] = {}  # layer on an input -> (outcome, args)
        self.globals: dict[str, Any] = dict(overrides or {})
        if spec is not None:
            for name, arg in spec.vars:
                if name not in self.globals:
                    self.globals[name] = self.value(arg, self.globals, None, f"vars.{name}")

    # -- values

    def value(self, arg: Arg, env: Mapping[str, Any], param: Param | None, path: str) -> Any:
        """Evaluate an argument as written: literals, keywords, expressions, tuples."""
        raw = arg.raw
        if isinstance(raw, tuple):
            return tuple(self.value(a, env, param, path) for a in raw)
        if isinstance(raw, str):
            if is_keyword(raw):
                return str(raw)
            if param is not None and (param.kind == "str" or (param.kind == "padding" and raw in ("same", "valid"))):
                return raw
            try:
                return expr.evaluate(expr.parse(raw, arg.position), env, position=arg.position, free=arith.symbol)
            except CnncalcError as exc:
                raise exc.located(arg.position, path) from None
        return raw

    def count(self, value: Any, what: str, arg: Arg, path: str, minimum: int) -> int:
        """A value that must be a plain integer (repeat counts, the batch size)."""
        if not isinstance(value, int) or isinstance(value, bool):
            found = "a free symbol " + arith.as_text(value) if arith.is_symbolic(value) else repr(value)
            raise SpecError(
                f"{what} must be a number",
                position=arg.position,
                path=path,
                expected="an integer",
                found=found,
                hint="bind the symbol with --set NAME=VALUE" if arith.is_symbolic(value) else None,
            )
        if value < minimum:
            raise SpecError(f"{what} must be at least {minimum}", position=arg.position, path=path, found=str(value))
        return value

    # -- whole specs

    def input_shape(self) -> Shape:
        """The spec's input tensor shape, with the batch dimension in front."""
        assert self.spec is not None
        dims = []
        for arg in self.spec.input:
            value = self.value(arg, self.globals, None, "input")
            if isinstance(value, bool) or not (isinstance(value, int) or arith.is_symbolic(value)):
                raise SpecError("input sizes must be integers", position=arg.position, path="input", found=repr(value))
            if isinstance(value, int) and value < 1:
                raise SpecError("input sizes must be positive", position=arg.position, path="input", expected="sizes >= 1", found=str(value))
            dims.append(value)
        return (self.batch(), *dims)

    def batch(self) -> int:
        assert self.spec is not None
        if self.spec.batch is None:
            return 1
        value = self.value(self.spec.batch, self.globals, None, "batch")
        return self.count(value, "batch", self.spec.batch, "batch", 1)

    def model(self) -> Evaluation:
        """Evaluate the spec's `layers:` list as one network."""
        assert self.spec is not None and self.spec.layers is not None
        self.refuse_expansion(self.spec.layers)
        x = self.input_shape()
        output, rows, groups = self.run_top(self.spec.layers, x)
        return self.finish(self.spec.name, x, output, rows, groups)

    def standalone(self, block_name: str) -> Evaluation:
        """Evaluate one block of the spec on the spec's input, unbound arguments left as symbols."""
        assert self.spec is not None
        block = self.spec.blocks[block_name]
        self.refuse_expansion(block.layers + block.after)
        x = self.input_shape()
        env = dict(self.globals)
        for name, default in block.params:
            if name not in env:
                env[name] = (
                    self.value(default, env, None, f"{block.path}.args.{name}") if default is not None else arith.symbol(name)
                )
        self.bind_input_names(env, x)
        frame = self.run_block_body(block, env, x, block.path, 0, None)
        rows = tuple(frame.rows)
        group = Group(block_name, block_name, frame.params, frame.bias, frame.buffers, frame.macs, len(rows))
        return self.finish(block_name, x, frame.output, rows, (group,))

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

    def finish(self, name: str, x: Shape, output: Shape, rows: tuple[Row, ...], groups: tuple[Group, ...]) -> Evaluation:
        spec_name = self.spec.name if self.spec else "inline"
        return Evaluation(name, spec_name, x, output, rows, groups, *_totals(rows), x[0] if x else 1, self.spec is None)

    def run_top(self, calls: tuple[LayerCall, ...], x: Shape) -> tuple[Shape, tuple[Row, ...], tuple[Group, ...]]:
        """Evaluate a top-level list; each block call there becomes a group of the totals."""
        rows: list[Row] = []
        groups: list[Group] = []

        def on_block(call: LayerCall, path: str, frame_rows: list[Row]) -> None:
            groups.append(Group(_group_name(call, path), call.kind, *_totals(frame_rows), len(frame_rows)))

        env = dict(self.globals)
        self.bind_input_names(env, x)
        output = self.run_list(calls, x, env, "", 0, rows, on_block=on_block, local_base=None)
        return output, tuple(rows), tuple(groups)

    # -- lists, layers and blocks

    def bind_input_names(self, env: dict[str, Any], x: Shape) -> None:
        if len(x) >= 2 and "in_channels" not in env:
            env["in_channels"] = x[1]

    def run_list(
        self,
        calls: tuple[LayerCall, ...],
        x: Shape,
        env: Mapping[str, Any],
        prefix: str,
        depth: int,
        rows: list[Row],
        *,
        on_block: Any = None,
        local_base: str | None,
        source: int = -1,
    ) -> Shape:
        """Evaluate a list of layer calls on input x, appending rows; returns the list's output.

        `source` is the index in `rows` of the row that produced x (-1: the frame's input); the
        index of the row producing the output is left in `self.source`.
        """
        named: dict[str, Shape] = {INPUT_NAME: x}
        producer: dict[str, int] = {INPUT_NAME: source}
        current = x
        current_source = source
        plain = self.plain_fast_path
        outcomes, explain, max_layers, append = self.outcomes, self.explain, self.limits.max_layers, rows.append
        strip = 0 if local_base is None else len(local_base)
        kinds: dict[str, LayerKind] = {}
        last_input: Any = None
        last_inputs: tuple[Shape, ...] = ()
        for call in calls:
            kind_name, _args, name, sources, repeat_arg, _position, call_path, is_block = call
            if plain and repeat_arg is None and name is None and not sources and not is_block:
                # The common case (most of a flat file), inlined: exactly what the general path
                # below does for a one-input layer without repeat, name or from.
                kind = kinds.get(kind_name)
                if kind is None:
                    kind = kinds[kind_name] = lookup(kind_name)
                    assert kind is not None
                if kind.inputs == 1:
                    path = prefix + call_path[strip:] if prefix or strip else call_path
                    if self.layer_count + 1 > max_layers:
                        self.tick(call, path, 1)  # raises
                    if current is not last_input:  # a run of shape-keeping layers shares one inputs tuple
                        last_input, last_inputs = current, (current,)
                    inputs = last_inputs
                    found = None
                    if not explain:
                        literal = _literal_key(kind, call, inputs)
                        if literal is not None:
                            found = outcomes.get(literal)
                    outcome, items = found if found is not None else self.outcome(kind, call, env, inputs, path)
                    current, params, bias, buffers, macs, steps = outcome
                    append(_new_row(Row, (path, kind.name, inputs, current, params, bias, buffers, macs, depth, None, steps, items, (current_source,))))
                    self.layer_count += 1
                    current_source = len(rows) - 1
                    continue
            local = call.path if local_base is None else call.path[len(local_base):]
            path = prefix + local
            inputs = tuple(named[s] for s in call.sources) if call.sources else (current,)
            input_sources = tuple(producer[s] for s in call.sources) if call.sources else (current_source,)
            repeat = 1
            if call.repeat is not None:
                value = self.value(call.repeat, env, None, f"{path} ({call.kind})")
                repeat = self.count(value, "repeat", call.repeat, f"{path} ({call.kind})", 0)
                if repeat > self.limits.max_repeat:
                    raise LimitError(
                        "repeat count too large",
                        position=call.repeat.position,
                        path=f"{path} ({call.kind})",
                        expected=f"at most {self.limits.max_repeat} (raise it with --max-repeat)",
                        found=str(repeat),
                    )
            if not call.is_block and self.layer_count + repeat > self.limits.max_layers:
                self.tick(call, path, repeat)  # refused now, not after a million rows
            for copy in range(repeat):
                copy_path = f"{path}.{copy}" if call.repeat is not None else path
                x_in = inputs[0]
                if call.is_block:
                    assert self.spec is not None
                    if len(inputs) > 1:
                        raise SpecError("a block takes one input", position=call.position, path=copy_path)
                    start = len(rows)
                    group = None if on_block is None else _group_name(call, copy_path)
                    current = self.run_block_call(call, env, x_in, copy_path, depth, rows, input_sources[0], group)
                    if copy == 0 and self.layer_count + (len(rows) - start) * (repeat - 1) > self.limits.max_layers:
                        self.tick(call, path, (len(rows) - start) * (repeat - 1))
                    current_source = self.source
                    if on_block is not None:
                        on_block(call, copy_path, rows[start:])
                else:
                    kind = lookup(call.kind)
                    assert kind is not None
                    merge_inputs, merge_sources = inputs, input_sources
                    if kind.inputs > 1 and len(inputs) == 1:
                        merge_inputs, merge_sources = (current, inputs[0]), (current_source, input_sources[0])
                    row = self.run_layer(kind, call, env, merge_inputs, copy_path, depth, merge_sources)
                    rows.append(row)
                    self.layer_count += 1
                    if self.layer_count > self.limits.max_layers:
                        self.tick(call, copy_path, 0)
                    current = row.output
                    current_source = len(rows) - 1
                inputs, input_sources = (current,), (current_source,)
            if repeat == 0:
                current, current_source = inputs[0], input_sources[0]
            if call.name is not None:
                named[call.name] = current
                producer[call.name] = current_source
        self.source = current_source
        return current

    def tick(self, call: LayerCall, path: str, amount: int = 1) -> None:
        self.layer_count += amount
        if self.layer_count > self.limits.max_layers:
            raise LimitError(
                "too many layers after expansion",
                position=call.position,
                path=path,
                expected=f"at most {self.limits.max_layers} (raise it with --max-layers)",
                found=f"more than {self.limits.max_layers}",
            )

    def layer_args(self, kind: LayerKind, call: LayerCall, env: Mapping[str, Any], path: str) -> dict[str, Any]:
        defaults, params, required = _signature(kind)
        args = dict(defaults)
        for name, arg in call.args:
            param = params[name]
            try:
                args[name] = check_arg_type(param, self.value(arg, env, param, path))
            except CnncalcError as exc:
                raise exc.located(arg.position, path) from None
        for name in required:
            if args[name] is REQUIRED:
                raise SpecError(
                    f"missing argument {name!r}",
                    position=call.position,
                    path=path,
                    expected=f"{kind.name}({', '.join(required)})",
                    found="no " + name,
                )
        return args

    def run_layer(
        self,
        kind: LayerKind,
        call: LayerCall,
        env: Mapping[str, Any],
        inputs: tuple[Shape, ...],
        path: str,
        depth: int,
        sources: tuple[int, ...] = (),
    ) -> Row:
        outcome, items = self.outcome(kind, call, env, inputs, path)
        return Row(
            path, kind.name, inputs, outcome.output, outcome.params, outcome.bias, outcome.buffers, outcome.macs, depth, None,
            outcome.steps, items, sources,
        )

    def outcome(
        self, kind: LayerKind, call: LayerCall, env: Mapping[str, Any], inputs: tuple[Shape, ...], path: str
    ) -> tuple[Any, tuple[tuple[str, Any], ...]]:
        """A layer's outcome on its inputs and its evaluated arguments; reused when met before."""
        literal = None if self.explain else _literal_key(kind, call, inputs)
        if literal is not None:
            cached = self.outcomes.get(literal)
            if cached is not None:  # this very layer (literal arguments) on this input before
                return cached
        where = f"{path} ({call.kind})"
        args = self.layer_args(kind, call, env, where)
        key = None if self.explain else _outcome_key(kind, args, inputs)
        if key is not None:
            try:
                cached = self.outcomes.get(key)
            except TypeError:  # an unhashable argument value
                key = cached = None
            if cached is not None:
                return cached
        try:
            outcome = apply(kind, args, inputs, explain=self.explain, training=self.training)
        except CnncalcError as exc:
            raise exc.located(call.position, where) from None
        except (ZeroDivisionError, ValueError, TypeError, OverflowError) as exc:
            raise ShapeError(f"cannot evaluate {kind.name}: {exc}", position=call.position, path=where) from None
        except RecursionError:
            raise LimitError(
                "symbolic sizes nested too deeply to evaluate",
                position=call.position,
                path=where,
                hint="bind the symbols with --set NAME=VALUE",
            ) from None
        _check_sizes(outcome, call.position, where)
        found = (outcome, tuple(args.items()))
        if key is not None:
            self.outcomes[key] = found
        if literal is not None:
            self.outcomes[literal] = found
        return found

    def run_block_call(
        self,
        call: LayerCall,
        env: Mapping[str, Any],
        x: Shape,
        path: str,
        depth: int,
        rows: list[Row],
        source: int = -1,
        group: str | None = None,
    ) -> Shape:
        """Evaluate a block call on x, appending its rows (tagged with `group`, if any) to `rows`."""
        assert self.spec is not None
        block = self.spec.blocks[call.kind]
        where = f"{path} ({call.kind})"
        if depth + 1 > self.limits.max_depth:
            raise LimitError(
                "blocks nested too deeply",
                position=call.position,
                path=where,
                expected=f"at most {self.limits.max_depth} levels (raise it with --max-depth)",
            )
        given = dict(call.args)
        inner: dict[str, Any] = dict(self.globals)
        self.bind_input_names(inner, x)
        for name, default in block.params:
            if name in given:
                inner[name] = self.value(given[name], env, None, where)
            elif default is not None:
                inner[name] = self.value(default, inner, None, f"{block.path}.args.{name}")
            else:
                raise SpecError(
                    f"block {call.kind!r} needs argument {name!r}",
                    position=call.position,
                    path=where,
                    expected=f"{call.kind}: {{{', '.join(n for n, d in block.params if d is None)}: ...}}",
                    found="no " + name,
                )
        start = len(rows)
        frame = self.run_block_body(block, inner, x, path, depth + 1, call, source=source, start=start, group=group)
        rows.extend(frame.rows)
        self.source = source if frame.source < 0 else frame.source + start
        return frame.output

    def run_block_body(
        self,
        block: Block,
        env: dict[str, Any],
        x: Shape,
        path: str,
        depth: int,
        call: LayerCall | None,
        *,
        source: int = -1,
        start: int = 0,
        group: str | None = None,
    ) -> _Frame:
        """A block instance's rows and totals: from the cache when seen before, else evaluated.

        The rows come out placed at index `start` of the caller's list, the frame's input made
        by row `source` there (their `sources` renumbered), tagged with `group`; the frame's
        own `source` stays frame-local.
        """
        key = None
        if not self.explain:
            key = (block.name, tuple(env.get(name) for name, _ in block.params), x)
            try:
                hash(key)
            except TypeError:
                key = None
        if key is not None and key in self.cache:
            frame, first_path, first_depth = self.cache[key]
            if call is not None:
                self.tick(call, path, len(frame.rows))
            return frame._replace(rows=_moved(frame.rows, path, depth - first_depth, len(first_path), source, start, group))
        rows: list[Row] = []
        base = block.path
        output = self.run_list(block.layers, x, env, path, depth, rows, local_base=base)
        if block.residual:
            output = self.residual(block, env, x, output, path, depth, rows, base)
        if block.after:
            output = self.run_list(block.after, output, env, path, depth, rows, local_base=base, source=self.source)
        frame = _Frame(
            output,
            rows,
            *_totals(rows),
            self.source,
        )
        if key is not None:
            self.cache[key] = (frame, path, depth)  # its rows stay as they are: nothing mutates them
        if source != -1 or start or group is not None:
            frame = frame._replace(rows=_moved(rows, "", 0, 0, source, start, group))
        return frame

    def residual(
        self, block: Block, env: dict[str, Any], x: Shape, fx: Shape, path: str, depth: int, rows: list[Row], base: str
    ) -> Shape:
        same = len(fx) == len(x) and all(arith.equal(a, b) is not False for a, b in zip(fx, x))
        if not same and block.residual == "auto":
            return fx  # self.source still names F(x)'s producer
        fx_source, shortcut_source = self.source, -1
        shortcut = x
        if not same:
            if not block.shortcut:
                raise ShapeError(
                    f"residual block {block.name!r}: F(x) and x differ in shape and there is no shortcut",
                    position=block.position,
                    path=path or block.path,
                    expected=f"F(x) of shape {shape_text(x)} or a 'shortcut:' projection",
                    found=f"F(x) {shape_text(fx)} vs x {shape_text(x)}",
                    hint="add shortcut: [Conv2d: {out_channels: ..., kernel_size: 1, stride: ...}]",
                )
            shortcut = self.run_list(block.shortcut, x, env, path, depth, rows, local_base=base)
            shortcut_source = self.source
            if len(shortcut) != len(fx) or any(arith.equal(a, b) is False for a, b in zip(shortcut, fx)):
                raise ShapeError(
                    f"residual block {block.name!r}: the shortcut's output does not match F(x)",
                    position=block.shortcut[0].position,
                    path=(path or block.path) + ".shortcut",
                    expected=f"shape {shape_text(fx)}",
                    found=f"shortcut gives {shape_text(shortcut)}",
                )
        rows.append(
            Row(
                f"{path}.add", "Add", (fx, shortcut), fx, 0, 0, 0, 0, depth, None, (step("y = F(x) + shortcut(x)"),) if self.explain else (),
                sources=(fx_source, shortcut_source),
            )
        )
        self.source = len(rows) - 1
        return fx


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


MAX_SIZE_BITS = 16_384  # sizes, params and MACs of one layer; exact ints, but not unbounded work
_INT_ONLY = frozenset((int,))
MAX_SYMBOLIC_NESTING = 48


_LITERALS = frozenset((int, float, bool, type(None)))


def _literal_key(kind: LayerKind, call: LayerCall, inputs: tuple[Shape, ...]) -> Any:
    """A key for a layer whose arguments are all literal numbers, booleans or nulls: its outcome
    depends on nothing else, so it is reused before its arguments are even evaluated (typed, as
    in `_outcome_key`; None when an argument is an expression, a string or a list).

    Flat: (kind, inputs, name, value, type, name, value, type, ...), 2 + 3n items, never the
    4 of an `_outcome_key` in the same cache."""
    args = call.args
    if not args:
        return (id(kind), inputs)
    key = [id(kind), inputs]
    append = key.append
    for name, arg in args:
        raw = arg[0]  # Arg.raw
        kind_of = type(raw)
        if kind_of not in _LITERALS:
            return None
        append(name)
        append(raw)
        append(kind_of)
    return tuple(key)


def _outcome_key(kind: LayerKind, args: dict[str, Any], inputs: tuple[Shape, ...]) -> Any:
    """The key under which a layer's outcome is reused: the same kind, arguments and inputs give
    the same outcome (flat files repeat layers). Types are part of it, as 1, 1.0 and True are
    equal but not interchangeable; None (no reuse) for arguments nested deeper than a tuple."""
    values = tuple(args.values())
    types = tuple(map(type, values))
    if tuple in types:
        inner = tuple(tuple(map(type, v)) for v in values if type(v) is tuple)
        if any(tuple in t for t in inner):
            return None
        types += inner
    return (id(kind), values, types, inputs)


_SIGNATURES: dict[int, tuple[LayerKind, dict[str, Any], dict[str, Param], tuple[str, ...]]] = {}


def _signature(kind: LayerKind) -> tuple[dict[str, Any], dict[str, Param], tuple[str, ...]]:
    """A kind's defaults, its parameters by name and its required parameters, computed once."""
    found = _SIGNATURES.get(id(kind))
    if found is None or found[0] is not kind:
        found = _SIGNATURES[id(kind)] = (
            kind,
            {p.name: p.default for p in kind.params},
            {p.name: p for p in kind.params},
            tuple(p.name for p in kind.params if p.default is REQUIRED),
        )
    return found[1], found[2], found[3]


def _check_sizes(outcome: Any, position: Position, where: str) -> None:
    """Refuse a layer whose sizes or counts grow without bound (a chain of x1e6 upsamplings)."""
    values = (*outcome.output, outcome.params, outcome.macs)
    if set(map(type, values)) <= _INT_ONLY and max(values).bit_length() <= MAX_SIZE_BITS and min(values) >= 0:
        return  # plain, bounded ints: the common case, at C speed
    for what, value in (("output size", d) for d in outcome.output):
        _check_size(what, value, position, where)
    _check_size("parameter count", outcome.params, position, where)
    _check_size("MAC count", outcome.macs, position, where)


def _check_size(what: str, value: Any, position: Position, where: str) -> None:
    if isinstance(value, int):
        if value.bit_length() > MAX_SIZE_BITS:
            raise LimitError(
                f"the {what} is too large", position=position, path=where,
                expected=f"below 2**{MAX_SIZE_BITS}", found=f"about 2**{value.bit_length()}",
            )
    elif arith.nesting(value, MAX_SYMBOLIC_NESTING) > MAX_SYMBOLIC_NESTING:
        # each strided layer on a symbolic size wraps it in one more floor(); sympy slows down
        # steeply with the depth (resnet50 on a symbolic input reaches 15)
        raise LimitError(
            f"the symbolic {what} is nested too deeply", position=position, path=where,
            expected=f"expressions at most {MAX_SYMBOLIC_NESTING} levels deep",
            found=f"more than {MAX_SYMBOLIC_NESTING} levels",
            hint="bind some symbols with --set NAME=VALUE",
        )
    elif arith.expanded_terms(value) > arith.MAX_EXPANDED_TERMS:
        raise LimitError(
            f"the symbolic {what} is too large", position=position, path=where,
            expected=f"at most {arith.MAX_EXPANDED_TERMS} terms once expanded",
            found=f"up to {arith.expanded_terms(value)} terms",
            hint="bind some symbols with --set NAME=VALUE",
        )


_new_row = tuple.__new__  # Row is a record (a tuple): built from its fields without a Python-level call
_PATH, _DEPTH, _GROUP, _SOURCES = (Row._fields.index(f) for f in ("path", "depth", "group", "sources"))
_COUNTS = tuple(itemgetter(Row._fields.index(f)) for f in ("params", "bias", "buffers", "macs"))


def _totals(rows: list[Row] | tuple[Row, ...]) -> tuple[Any, Any, Any, Any]:
    """Params, bias, buffers and MACs summed over rows (at C speed while they are ints)."""
    return tuple(arith.total(list(map(field, rows))) for field in _COUNTS)  # type: ignore[return-value]


def _moved(
    rows: list[Row], prefix: str, depth_shift: int, strip: int = 0, source: int = -1, start: int = 0, group: str | None = None
) -> list[Row]:
    """Frame rows re-rooted in one pass (the hot loop of repeated blocks): path prefix swapped,
    depth shifted, frame-local sources renumbered from `start` (-1, the frame's input, becomes
    `source`), and `group` set when given."""
    renumber = source != -1 or start != 0
    new = tuple.__new__  # Row is a record (a tuple): built from its fields without a Python-level call
    moved = []
    append = moved.append
    for row in rows:
        values = list(row)
        values[_PATH] = prefix + values[_PATH][strip:]
        values[_DEPTH] += depth_shift
        if group is not None:
            values[_GROUP] = group
        if renumber:
            sources = values[_SOURCES]
            if len(sources) == 1:
                i = sources[0]
                values[_SOURCES] = (source if i < 0 else i + start,)
            else:
                values[_SOURCES] = tuple(source if i < 0 else i + start for i in sources)
        append(new(Row, values))
    return moved


def _group_name(call: LayerCall, path: str) -> str:
    """The name of a top-level block call's group; copies of a named, repeated block are told
    apart by their index, like path.0."""
    if call.name:
        return call.name + (path[path.rindex("."):] if call.repeat is not None else "")
    return f"{path} ({call.kind})"


def shape_text(shape: Shape) -> str:
    """[64, 16, 16] style, symbols as text."""
    return "[" + ", ".join(arith.as_text(d) for d in shape) + "]"


def evaluate_spec(
    spec: Spec,
    *,
    blocks: tuple[str, ...] = (),
    overrides: Mapping[str, Any] | None = None,
    explain: bool = False,
    limits: Limits = Limits(),
) -> list[Evaluation]:
    """Evaluate a spec: its model, or each of its blocks standalone (all, or those named)."""
    for name in blocks:
        if name not in spec.blocks:
            raise SpecError(
                f"no block named {name!r} in the spec",
                position=spec.position,
                expected="one of " + (", ".join(spec.blocks) or "(no blocks)"),
                found=repr(name),
                hint=did_you_mean(name, list(spec.blocks)),
            )
    results = []
    if blocks or spec.layers is None:
        for name in blocks or tuple(spec.blocks):
            results.append(Evaluator(spec, overrides=overrides, explain=explain, limits=limits).standalone(name))
    else:
        results.append(Evaluator(spec, overrides=overrides, explain=explain, limits=limits).model())
    return results


def evaluate_inline(
    calls: list[str],
    input_shape: Shape,
    *,
    overrides: Mapping[str, Any] | None = None,
    explain: bool = False,
    training: bool = False,
) -> Evaluation:
    """Evaluate PyTorch constructor calls given on the command line on a literal tensor shape.

    `training=True` checks the calls as PyTorch runs them in training mode (batch statistics).
    """
    parsed = inline_calls(calls)
    evaluator = Evaluator(None, overrides=overrides, explain=explain, training=training)
    rows: list[Row] = []
    output = evaluator.run_list(parsed, input_shape, evaluator.globals, "", 0, rows, local_base=None)
    return evaluator.finish("inline", input_shape, output, tuple(rows), ())
