"""Expansion: layer lists walked into rows, `repeat` copies and block templates expanded.

A block instance that has been evaluated before with the same arguments on the same input
shape reuses the earlier result (exact, since a block's result depends on nothing else), its
rows re-rooted at the new place: repeated stages cost one evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from cnncalc import arith
from cnncalc.analysis import bind
from cnncalc.analysis.outcomes import COUNTS, Outcomes, literal_key
from cnncalc.analysis.results import Row, Span, copies_of, placed, placed_spans, shape_text, totals
from cnncalc.conditions import Condition
from cnncalc.errors import LimitError, ShapeError, SpecError, clip, with_shapes
from cnncalc.layers import KINDS, LayerKind, Param, Shape, lookup
from cnncalc.layers.base import step
from cnncalc.spec import INPUT_NAME, Arg, Block, Expr, LayerCall, Limits, Spec
from cnncalc.spec.checks import arg_names, check_call_args, expression, not_a_type, takes_text, text_value, unknown_type
from cnncalc.spec.expr import NODE_KEY
from cnncalc.spec.model import LayerType, new_tuple

COPY_NAMES = frozenset(("copy", "copies"))  # the copy index and count inside `repeat`
OnBlock = Callable[[LayerCall, str, list[Row]], None]  # a top-level block call, its path and its rows


class Frame(NamedTuple):
    """A block instance's evaluation, cached by (block, arguments, input shape)."""

    output: Shape
    rows: list[Row]
    params: Any
    bias: Any
    buffers: Any
    macs: Any
    source: int = -1  # the frame row that produced the output (frame-local index; -1 = the frame's input)
    spans: tuple[Span, ...] = ()  # its block calls (frame-local rows, like its rows)


class Expander:
    """Walks the layer lists of one spec (or of inline calls) into rows; holds the block cache."""

    # Speed: run_list's short cut for plain layers, kept for the flat-file budget (benchmarks/run.py,
    # flat: load + evaluation <= 1.5x PyYAML's compose). Measured on 10,000 layers: see the
    # comment in run_list. tests/test_fast_paths.py turns it off to compare every row.
    plain_fast_path = True

    def __init__(
        self, spec: Spec | None, names: dict[str, Any], *, explain: bool, training: bool, limits: Limits, counts: frozenset[str] = COUNTS
    ) -> None:
        """`names`: the values bound for every list (the spec's variables, --set overrides);
        `counts`: the counts the command prints (see `outcomes.COUNTS`)."""
        self.spec = spec
        self.globals = names
        self.explain = explain
        self.limits = limits
        self.outcomes = Outcomes(explain=explain, training=training, counts=counts, max_symbolic=limits.max_symbolic)
        self.outcomes.free = self.free
        self.layer_count = 0
        self.source = -1  # producer of the last list's output (see run_list); feeds Row.sources
        self.cache: dict[Any, tuple[Frame, str, int, str]] = {}  # block instance -> (frame, its path, its depth, its module prefix)
        self.index: Any = 0  # the index after the last list's entries (see run_list)
        self.spans: list[Span] = []  # the block calls of the frame being evaluated (see Span)
        self.kinds: dict[str, LayerKind] = {}  # layer kinds by the names the spec calls them (the short cut's)
        self.copy_reads: dict[int, frozenset[str]] = {}  # see copy_names
        self.resolved: dict[tuple[int, str], LayerCall] = {}  # see resolve
        self.copy_calls: list[LayerCall] = []

    def bind_input_names(self, env: dict[str, Any], x: Shape) -> None:
        """Names a layer list may use for its input: `in_channels`."""
        if len(x) >= 2 and "in_channels" not in env:
            env["in_channels"] = x[1]

    def tick(self, call: LayerCall, path: str, amount: int = 1) -> None:
        """Count `amount` more layers; refuse them past --max-layers."""
        self.layer_count += amount
        if self.layer_count > self.limits.max_layers:
            raise LimitError(
                "too many layers after expansion",
                position=call.position,
                path=path,
                expected=f"at most {self.limits.max_layers} (raise it with --max-layers)",
                found=f"more than {self.limits.max_layers}",
            )

    # -- lists and layers

    def run_list(
        self,
        calls: tuple[LayerCall, ...],
        x: Shape,
        env: Mapping[str, Any],
        prefix: str,
        depth: int,
        rows: list[Row],
        *,
        on_block: OnBlock | None = None,
        local_base: str | None,
        source: int = -1,
        module: str = "",
        index: Any = 0,
    ) -> Shape:
        """Evaluate a list of layer calls on input x, appending rows; returns the list's output.

        A call's path is `prefix` + its path in the spec less `local_base` (the template's own
        path, for a block's lists). `source` is the index in `rows` of the row that produced x
        (-1: the frame's input); the index of the row producing the output is left in `self.source`.

        A call's module name is `module` + its `name:`, else its index among the list's entries
        counted from `index`, as nn.Sequential numbers its children: the copies of an unnamed
        `repeat` are entries of the list (`nn.Sequential(*[block() for _ in range(n)])`), those of
        a named one its children (`name.0`, `name.1`). The index after the list is left in `self.index`.
        """
        named: dict[str, Shape] = {INPUT_NAME: x}
        producer: dict[str, int] = {INPUT_NAME: source}
        current = x
        current_source = source
        strip = 0 if local_base is None else len(local_base)
        # The short cut's locals (see below); `reused`: outcomes of layers of literal arguments.
        plain, kinds, append, max_layers = self.plain_fast_path, self.kinds, rows.append, self.limits.max_layers
        outcome, reused = self.outcomes.outcome, None if self.explain else self.outcomes.cache
        last_input, last_inputs = x, (x,)
        texts, plain_index = _INDEX_TEXTS, indexed(index, len(calls))  # the short cut's module names (see `indexed`)
        for call in calls:
            kind_name, _, name, sources, repeat_arg, _, call_path, is_block, refs, chosen = call
            if plain and repeat_arg is None and not sources and not is_block and not refs and not chosen:
                # Speed: the short cut for a plain layer (most of a flat file), kept for the
                # flat-file budget (see `plain_fast_path`): what the general path below does for
                # a layer of one input without repeat, name or from, less its bookkeeping. The
                # call is unpacked once above, and the outcome of a layer of literal arguments met
                # before is looked up here, without a call. Measured with valgrind on 10,000 flat
                # layers: without the short cut, evaluation costs 59% more instructions; with the
                # call's fields read as attributes and the lookup through `outcome`, 6% more.
                kind = kinds.get(kind_name)
                if kind is None:
                    kind = kinds[kind_name] = layer_kind(kind_name)
                if kind.inputs == 1:
                    path = prefix + call_path[strip:] if prefix or strip else call_path
                    if self.layer_count >= max_layers:
                        self.tick(call, path, 1)  # raises
                    if current is not last_input:  # a run of shape-keeping layers shares one inputs tuple
                        last_input, last_inputs = current, (current,)
                    known = reused.get(literal_key(kind, call, last_inputs)) if reused is not None else None
                    found, items = known if known is not None else outcome(kind, call, env, last_inputs, path)
                    current = found.output
                    append(new_tuple(Row, (
                        path, kind.name, last_inputs, current, found.params, found.bias, found.buffers, found.macs,
                        depth, None, found.steps, items, (current_source,), 1,
                        module + (name if name is not None else texts[index] if plain_index else index_text(index)),
                    )))  # fmt: skip
                    self.layer_count += 1
                    index += 1
                    current_source = len(rows) - 1
                    if name is not None:
                        named[name] = current
                        producer[name] = current_source
                    continue
            path = prefix + call.path[strip:]
            if chosen:
                call = self.resolve(call, env, path)
            node_env = env if not call.refs else node_shapes(env, call.refs, named)
            inputs = tuple(named[s] for s in call.sources) if call.sources else (current,)
            input_sources = tuple(producer[s] for s in call.sources) if call.sources else (current_source,)
            repeat = 1
            copies: Any = None  # a symbolic repeat count: one copy evaluated, standing for all
            if call.repeat is not None:
                where = f"{path} ({call.kind})"
                count = bind.value(call.repeat, node_env, where)
                if arith.is_symbolic(count):
                    copies = symbolic_count(count, call, where)
                else:
                    repeat = bind.count(count, "repeat", call.repeat, where, 0)
                if repeat > self.limits.max_repeat:
                    raise LimitError(
                        "repeat count too large",
                        position=call.repeat.position,
                        path=where,
                        expected=f"at most {self.limits.max_repeat} (raise it with --max-repeat)",
                        found=str(repeat),
                    )
            if not call.is_block and self.layer_count + repeat > self.limits.max_layers:
                self.tick(call, path, repeat)  # refused now, not after a million rows
            reads = None if call.repeat is None else self.copy_names(call)
            call_env = node_env
            if reads and copies is not None:
                if "copy" in reads:
                    raise SpecError(
                        f"'copy' cannot be read with a symbolic repeat count ({arith.as_text(copies)}): the copies would differ",
                        position=next((a.position for _, a in call.args if "copy" in arg_names(a)), call.position),
                        path=f"{path} ({call.kind})",
                        expected="a repeat count that is a number, or arguments that do not read 'copy'",
                        found="an argument that reads 'copy'",
                        hint="bind " + " and ".join(f"{s} with --set {s}=VALUE" for s in sorted(str(s) for s in copies.free_symbols)),
                    )
                call_env = {**node_env, "copies": copies}
            for copy in range(repeat):
                if reads:  # the copy index, for this call's arguments only (contract 2 of issue 14)
                    call_env = {**node_env, "copy": copy, "copies": repeat if copies is None else copies}
                copy_path = path
                if call.repeat is not None:
                    copy_path = f"{path}.{copy}" if copies is None else f"{path}.0:{arith.as_text(copies).replace(' ', '')}"
                if call.repeat is None:
                    copy_module = module + (call.name if call.name is not None else index_text(index))
                elif call.name is not None:  # its copies are its children
                    copy_module = f"{module}{call.name}.{copy}" if copies is None else f"{module}{call.name}.0:{index_text(copies)}"
                elif copies is None:  # its copies are entries of the list
                    copy_module = module + index_text(index + copy if type(index) is int else arith.add(index, copy))
                else:
                    copy_module = f"{module}{index_text(index)}:{index_text(arith.add(index, copies))}"
                start = len(rows)
                if call.is_block:
                    if len(inputs) > 1:
                        raise SpecError("a block takes one input", position=call.position, path=copy_path)
                    group = None if on_block is None else group_name(call, copy_path)
                    first_span = len(self.spans)
                    current = self.run_block_call(call, call_env, inputs[0], copy_path, depth, rows, input_sources[0], group, copy_module)
                    if copies is not None:
                        stand_for(copies, call, inputs[0], current, rows, start, explain=self.explain)
                        self.spans[first_span:] = [s._replace(copies=arith.mul(s.copies, copies)) for s in self.spans[first_span:]]
                    elif copy == 0 and self.layer_count + (len(rows) - start) * (repeat - 1) > self.limits.max_layers:
                        self.tick(call, path, (len(rows) - start) * (repeat - 1))
                    current_source = self.source
                    if on_block is not None:
                        on_block(call, copy_path, rows[start:])
                else:
                    kind = layer_kind(call.kind)
                    merge_inputs, merge_sources = inputs, input_sources
                    if kind.inputs > 1 and len(inputs) == 1:
                        merge_inputs, merge_sources = (current, inputs[0]), (current_source, input_sources[0])
                    rows.append(self.run_layer(kind, call, call_env, merge_inputs, copy_path, depth, merge_sources, copy_module))
                    self.tick(call, copy_path, 1)
                    if copies is not None:
                        stand_for(copies, call, merge_inputs[0], rows[-1].output, rows, start, merge=kind.inputs > 1, explain=self.explain)
                    current = rows[-1].output
                    current_source = len(rows) - 1
                inputs, input_sources = (current,), (current_source,)
            if repeat == 0 and not (not call.is_block and len(call.sources) == 1 and getattr(lookup(call.kind), "inputs", 1) > 1):
                current, current_source = inputs[0], input_sources[0]  # (a merge `from: a` removed: the previous stays)
            step = 1 if call.repeat is None or call.name is not None else repeat if copies is None else copies
            index = index + step if type(index) is int and type(step) is int else arith.add(index, step)
            plain_index = indexed(index, len(calls))
            if call.name is not None:
                named[call.name] = current
                producer[call.name] = current_source
        self.source = current_source
        self.index = index
        return current

    def free(self, name: str) -> Any:
        """An unbound name in a spec's expression: the layer type or block it names (`act: ReLU`,
        `act: "Hardswish if hs else ReLU"`, `p: "0.1 if act == ReLU else 0.0"`), else a free symbol."""
        if lookup(name) is not None or (self.spec is not None and name in self.spec.blocks):
            return LayerType(name)
        return arith.symbol(name)

    def resolve(self, call: LayerCall, env: Mapping[str, Any], path: str) -> LayerCall:
        """A call of a template's type argument (`- act`) as a call of the type it holds, its
        arguments checked against that type's (contract 3 of issue 14)."""
        chosen = env.get(call.kind)
        where = f"{path} ({call.kind})"
        if not isinstance(chosen, LayerType):
            blocks = () if self.spec is None else self.spec.blocks
            if arith.is_symbolic(chosen) and len(getattr(chosen, "free_symbols", ())) == 1 and str(chosen) not in env:
                word = str(chosen)
                raise unknown_type(word, call.position, where, call.kind, [*KINDS, *blocks]).located(call.position, where)
            raise not_a_type(clip(arith.as_text(chosen) if chosen is not None else "no value"), call.position, where, call.kind)
        key = (id(call), str(chosen))
        found = self.resolved.get(key)
        if found is not None:
            return found
        kind_name = str(chosen)
        is_block = self.spec is not None and kind_name in self.spec.blocks
        args = call.args
        if not is_block:
            kind = layer_kind(kind_name)
            params = {p.name: p for p in kind.params}
            args = tuple((name, _as_taken(arg, params.get(name), where)) for name, arg in args)
        found = call._replace(kind=kind_name, args=args, is_block=is_block, chosen=False)
        check_call_args(found, {} if self.spec is None else self.spec.blocks)
        self.resolved[key] = found
        self.copy_calls.append(call)  # kept alive, so its id stays its own
        return found

    def copy_names(self, call: LayerCall) -> frozenset[str]:
        """Which of `copy` and `copies` a repeated call's arguments read (cached per call)."""
        found = self.copy_reads.get(id(call))
        if found is None:
            read = set().union(*(arg_names(arg) for _, arg in call.args))
            found = self.copy_reads[id(call)] = frozenset(read & COPY_NAMES)
            self.copy_calls.append(call)  # kept alive, so its id stays its own
        return found

    def run_layer(
        self,
        kind: LayerKind,
        call: LayerCall,
        env: Mapping[str, Any],
        inputs: tuple[Shape, ...],
        path: str,
        depth: int,
        sources: tuple[int, ...],
        module: str = "",
    ) -> Row:
        """One layer's row."""
        outcome, items = self.outcomes.outcome(kind, call, env, inputs, path)
        return Row(
            path, kind.name, inputs, outcome.output, outcome.params, outcome.bias, outcome.buffers, outcome.macs, depth, None,
            outcome.steps, items, sources, module=module,
        )

    # -- blocks

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
        module: str = "",
    ) -> Shape:
        """Evaluate a block call on x, appending its rows (tagged with `group`, if any) to `rows`
        and its span (and those of the calls inside it) to `self.spans`; `module`: its module name."""
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
        free = self.free
        for name, default in block.params:
            if name in given:
                inner[name] = bind.value(given[name], env, where, free)
            elif default is not None:
                inner[name] = bind.value(default, inner, f"{block.path}.args.{name}", free)
            else:
                raise SpecError(
                    f"block {call.kind!r} needs argument {name!r}",
                    position=call.position,
                    path=where,
                    expected=f"{call.kind}: {{{', '.join(n for n, d in block.params if d is None)}: ...}}",
                    found="no " + name,
                )
        start = len(rows)
        frame = self.run_block_body(block, inner, x, path, depth + 1, call, source=source, start=start, group=group, module=module + ".")
        rows.extend(frame.rows)
        if frame.rows:  # (a call without rows has nothing to fold)
            self.spans.append(Span(start, len(rows), path, module, call.kind, depth, x, frame.output, source))
            self.spans.extend(frame.spans)
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
        module: str = "",
    ) -> Frame:
        """A block instance's rows and totals: from the cache when seen before, else evaluated.

        The rows (and spans) come out placed at index `start` of the caller's list, the frame's
        input made by row `source` there (their `sources` renumbered), tagged with `group`, their
        module names under `module` (the call's name and a dot, or ""); the frame's own `source`
        stays frame-local.
        """
        key: Any = None
        if not self.explain:
            key = (block.name, tuple(env.get(name) for name, _ in block.params), x)
            try:
                hash(key)
            except TypeError:
                key = None
        if key is not None and key in self.cache:
            frame, first_path, first_depth, first_module = self.cache[key]
            if call is not None:
                self.tick(call, path, len(frame.rows))
            shift, strip, module_strip = depth - first_depth, len(first_path), len(first_module)
            rows = placed(frame.rows, path, shift, strip, source, start, group, module, module_strip)
            moved = tuple(placed_spans(frame.spans, path, shift, strip, source, start, module, module_strip)) if frame.spans else ()
            return Frame(frame.output, rows, frame.params, frame.bias, frame.buffers, frame.macs, frame.source, moved)
        rows = []
        outer, self.spans = self.spans, []
        try:
            output = self.run_body(block, env, x, path, depth, rows, module)
            spans = tuple(self.spans)
        finally:
            self.spans = outer
        frame = Frame(output, rows, *totals(rows), self.source, spans)
        if key is not None:
            self.cache[key] = (frame, path, depth, module)  # its rows stay as they are: nothing mutates them
        if source != -1 or start or group is not None:
            frame = Frame(
                output, placed(rows, "", 0, 0, source, start, group), frame.params, frame.bias, frame.buffers, frame.macs, frame.source,
                tuple(placed_spans(spans, "", 0, 0, source, start, "", 0)) if spans else (),
            )
        return frame

    def run_body(self, block: Block, env: dict[str, Any], x: Shape, path: str, depth: int, rows: list[Row], module: str) -> Shape:
        """A block's lists run on x into `rows`: F(x), the residual add (with its shortcut),
        then `after`; the `after` entries are numbered on from F(x)'s (one module's children)."""
        base = block.path
        output = self.run_list(block.layers, x, env, path, depth, rows, local_base=base, module=module)
        index = self.index
        if block.residual:
            output = self.residual(block, env, x, output, path, depth, rows, base, module)
        if block.after:
            output = self.run_list(block.after, output, env, path, depth, rows, local_base=base, source=self.source, module=module, index=index)
        return output

    def require(self, block: Block, path: str, kind: str, lhs: Any, rhs: Any, reason: str) -> None:
        """Record a condition of a block's own (not of one of its layers)."""
        condition = Condition(kind, lhs, rhs, reason, f"{path or block.path} (residual)", block.position)
        self.outcomes.conditions.setdefault((kind, condition.difference), condition)

    def residual(self, block: Block, env: dict[str, Any], x: Shape, fx: Shape, path: str, depth: int, rows: list[Row], base: str, module: str = "") -> Shape:
        """y = F(x) + x, or + shortcut(x) where F(x) changes the shape; the Add row appended.

        Where symbols leave it open whether F(x) keeps x's shape, the result holds under a
        condition: the shapes equal (no shortcut: PyTorch's add fails otherwise), or, with a
        shortcut and one open size, the shapes differ (the projection is used).
        """
        verdicts = [arith.equal(a, b) for a, b in zip(fx, x)] if len(fx) == len(x) else [False]
        same = False not in verdicts
        if same and None in verdicts and block.residual is True:
            open_sizes = [(a, b) for (a, b), v in zip(zip(fx, x), verdicts) if v is None]
            if block.shortcut and len(open_sizes) == 1:
                same = False
                self.require(block, path, "ne", *open_sizes[0], "the shortcut is used: F(x) changes x's shape")
            else:
                for a, b in open_sizes:
                    self.require(block, path, "eq", a, b, "residual add: F(x) of x's shape")
        if not same and block.residual == "auto":
            return fx  # self.source still names F(x)'s producer
        fx_source, shortcut_source = self.source, -1
        fx_rows = len(rows)  # F(x)'s rows: rows[:fx_rows] (the frame's own list)
        shortcut = x
        if not same:
            if not block.shortcut:
                raise with_shapes(ShapeError(
                    f"residual block {block.name!r}: F(x) and x differ in shape and there is no shortcut",
                    position=block.position,
                    path=path or block.path,
                    expected=f"F(x) of shape {shape_text(x)} or a 'shortcut:' projection",
                    found=f"F(x) {shape_text(fx)} vs x {shape_text(x)}",
                    hint="add shortcut: [Conv2d: {out_channels: ..., kernel_size: 1, stride: ...}]",
                ), x, fx)
            shortcut = self.run_list(block.shortcut, x, env, path, depth, rows, local_base=base, module=f"{module}{block.shortcut_name}.")
            shortcut_source = self.source
            if len(shortcut) != len(fx) or any(arith.equal(a, b) is False for a, b in zip(shortcut, fx)):
                raise with_shapes(ShapeError(
                    f"residual block {block.name!r}: the shortcut's output does not match F(x)",
                    position=block.shortcut[0].position,
                    path=(path or block.path) + ".shortcut",
                    expected=f"shape {shape_text(fx)}",
                    found=f"shortcut gives {shape_text(shortcut)}",
                ), fx, shortcut)
            if block.shortcut_first:
                fx_source, shortcut_source = self.shortcut_before(rows, fx_rows, fx_source, shortcut_source)
        steps = (step("y = F(x) + shortcut(x)"),) if self.explain else ()
        rows.append(Row(f"{path}.add", "Add", (fx, shortcut), fx, 0, 0, 0, 0, depth, None, steps, sources=(fx_source, shortcut_source), module=module + "add"))
        self.source = len(rows) - 1
        return fx


    def shortcut_before(self, rows: list[Row], fx_rows: int, *sources: int) -> tuple[int, ...]:
        """`shortcut_first`: a frame's rows [F(x)..., shortcut(x)...] put in the order
        [shortcut(x)..., F(x)...], their sources, the frame's spans and `sources` renumbered."""
        shortcut_rows = len(rows) - fx_rows

        def moved(i: int) -> int:
            return i + shortcut_rows if 0 <= i < fx_rows else i - fx_rows if i >= fx_rows else i

        rows[:] = [r._replace(sources=tuple(map(moved, r.sources))) for r in rows[fx_rows:] + rows[:fx_rows]]
        self.spans[:] = [s._replace(start=moved(s.start), stop=moved(s.stop - 1) + 1, source=moved(s.source)) for s in self.spans]
        return tuple(map(moved, sources))


def node_shapes(env: Mapping[str, Any], refs: frozenset[str], named: Mapping[str, Shape]) -> dict[str, Any]:
    """`env` with the shapes of the nodes a call reads bound as `"@" + name` (`expr.NODE_KEY`):
    per sample, the batch dimension left out (the tables' convention). The reader has refused
    names that are not above the call in its list; one that is not there all the same (a call
    whose arguments were parsed after reading) is left unbound, for the expression's own located
    error ("no node named ... above this layer")."""
    bound = dict(env)
    for name in refs:
        shape = named.get(name)
        if shape is not None:
            bound[NODE_KEY + name] = shape[1:]
    return bound


def _as_taken(arg: Arg, param: Param | None, where: str) -> Arg:
    """An argument of a chosen call as its layer takes it: a word where the layer takes text
    (`mode: bilinear`), else a checked expression (see `Reader.make_call`)."""
    raw = arg.raw
    if isinstance(raw, tuple):
        return Arg(tuple(_as_taken(a, param, where) for a in raw), arg.position)
    if isinstance(raw, str) and param is not None:
        text = str(raw)
        if takes_text(param, text):
            return Arg(text, arg.position)
        if not isinstance(raw, Expr):
            return Arg(text_value(text, param, arg.position, where), arg.position)
    elif isinstance(raw, str) and not isinstance(raw, Expr):
        return Arg(expression(raw, arg.position, where), arg.position)
    return arg


def symbolic_count(count: Any, call: LayerCall, where: str) -> Any:
    """A repeat count that holds free symbols (`repeat: n`), if it is a whole number >= 0 for
    every value of them (n, n - 1, 2*n; not n/2 or 3 - n)."""
    assert call.repeat is not None
    if getattr(count, "is_integer", None) is not True or getattr(count, "is_nonnegative", None) is not True:
        raise SpecError(
            "repeat must be a whole number >= 0 for every value of its symbols",
            position=call.repeat.position,
            path=where,
            expected="an integer, or an expression such as n, n - 1 or 2*n over positive-integer symbols",
            found=arith.as_text(count),
            hint="bind the symbols with --set NAME=VALUE",
        )
    return count


def stand_for(copies: Any, call: LayerCall, x: Shape, y: Shape, rows: list[Row], start: int, *, merge: bool = False, explain: bool = False) -> None:
    """Make the rows of one copy (rows[start:], input x, output y) stand for a symbolic number
    of identical copies; refused unless every copy is the same (the output keeps x's shape).
    With `explain`, each row's working says so."""
    assert call.repeat is not None
    text = arith.as_text(copies)
    where = f"{call.path} ({call.kind})"
    hint = "bind " + " and ".join(f"{s} with --set {s}=VALUE" for s in sorted(str(s) for s in copies.free_symbols))
    if merge:
        raise SpecError(
            f"a symbolic repeat count ({text}) cannot stack a merge layer",
            position=call.repeat.position, path=where, expected="a layer of one input, or a block", hint=hint,
        )
    if len(x) != len(y) or any(arith.equal(a, b) is not True for a, b in zip(x, y)):
        raise with_shapes(ShapeError(
            f"repeat: {text} needs a layer or block that keeps its input's shape (then the copies are all the same"
            f" and every count is {text} times one copy's)",
            position=call.repeat.position,
            path=where,
            expected=f"an output of shape {shape_text(x)} (the input's)",
            found=f"{shape_text(x)} -> {shape_text(y)}",
            hint=hint,
        ), x, y)
    note = step("copies", "", "", copies, note="this row stands for every copy: its counts are one copy's times the copies") if explain else None
    rows[start:] = copies_of(rows[start:], copies, note)


# Speed: the module names of unnamed entries (their indices), each made once; a list's run
# grows it to cover its entries (`indexed`), so that run_list's short cut looks names up unchecked.
_INDEX_TEXTS: list[str] = []
_MAX_INDEX_TEXTS = 200_000


def indexed(index: Any, count: int) -> bool:
    """Whether entries index .. index + count - 1 have their names in _INDEX_TEXTS (made if
    missing); False for a symbolic index."""
    if type(index) is not int or index + count > _MAX_INDEX_TEXTS:
        return False  # (copies of empty blocks count as entries without rows: no memory for them)
    if index + count > len(_INDEX_TEXTS):
        _INDEX_TEXTS.extend(map(str, range(len(_INDEX_TEXTS), index + count)))
    return True


def index_text(index: Any) -> str:
    """An entry's index as a module name: `3`, or `n+3` after a symbolic `repeat: n`."""
    if type(index) is int:
        return _INDEX_TEXTS[index] if index < len(_INDEX_TEXTS) else str(index)
    return arith.as_text(index).replace(" ", "")


def layer_kind(name: str) -> LayerKind:
    """The layer kind a (checked) call names."""
    kind = lookup(name)
    assert kind is not None, name  # the reader refused unknown kinds
    return kind


def group_name(call: LayerCall, path: str) -> str:
    """The name of a top-level block call's group; copies of a named, repeated block are told
    apart by their index, like path.0."""
    if call.name:
        return call.name + (path[path.rindex("."):] if call.repeat is not None else "")
    return f"{path} ({call.kind})"
