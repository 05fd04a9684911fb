"""Checks of a read spec against the layer signatures and itself: argument names, the number of
inputs, blocks that call each other in a cycle or nest too deeply; text arguments made into
checked expressions (or kept as text where the layer takes a word, such as padding='same')."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable

from cnncalc.errors import CnncalcError, LimitError, Position, SpecError, quoted
from cnncalc.layers import KINDS, Param, lookup
from cnncalc.spec import expr
from cnncalc.spec.expr import Expr
from cnncalc.spec.model import Arg, Block, LayerCall, Spec


def takes_text(param: Param | None, text: str) -> bool:
    """Whether `text`, given for `param`, is a word the layer takes as it is (not an expression):
    any text for a parameter of kind 'str', 'same' or 'valid' for a padding."""
    return param is not None and (param.kind == "str" or (param.kind == "padding" and text in ("same", "valid")))


def expression(text: str, position: Position, path: str) -> Expr:
    """`text` parsed and whitelist-checked; an error points at `position` and names `path`."""
    try:
        return expr.parse(text, position)
    except CnncalcError as exc:
        raise exc.located(position, path) from None


def text_value(text: str, param: Param | None, position: Position, path: str) -> str | Expr:
    """A text argument as the layer takes it: a word, or a checked expression."""
    return text if takes_text(param, text) else expression(text, position, path)


def arg_refs(arg: Arg | None) -> frozenset[str]:
    """The node names whose shapes an argument reads (`enc3` in `enc3.spatial`), in a list too."""
    if arg is None:
        return _NO_REFS
    raw = arg.raw
    if isinstance(raw, Expr):
        return raw.refs
    if isinstance(raw, tuple):
        found = [arg_refs(item) for item in raw]
        return frozenset().union(*found) if any(found) else _NO_REFS
    return _NO_REFS


def arg_names(arg: Arg | None) -> set[str]:
    """The names an argument's expressions read (`expr.names`), through its lists."""
    if arg is None:
        return set()
    if isinstance(arg.raw, Expr):
        return expr.names(arg.raw)
    if isinstance(arg.raw, tuple):
        return set().union(*(arg_names(item) for item in arg.raw))
    return set()


def call_refs(args: Iterable[tuple[str, Arg]], repeat: Arg | None) -> frozenset[str]:
    """The node names whose shapes a call's arguments and repeat count read (`LayerCall.refs`)."""
    found = [arg_refs(arg) for _, arg in args]
    found.append(arg_refs(repeat))
    return frozenset().union(*found) if any(found) else _NO_REFS


def ref_arg(call: LayerCall, node: str) -> Arg:
    """The first argument of `call` (or its repeat count) that reads `node`'s shape."""
    for _, arg in (*call.args, ("repeat", call.repeat)):
        while arg is not None and node in arg_refs(arg):
            if not isinstance(arg.raw, tuple):
                return arg
            arg = next(item for item in arg.raw if node in arg_refs(item))
    raise AssertionError(node)  # pragma: no cover (only asked of names in call.refs)


def refuse_refs(arg: Arg | None, path: str, what: str, hint: str | None = None) -> None:
    """Refuse a node shape reference where no layer list is running (vars, input, defaults)."""
    refs = arg_refs(arg)
    if arg is not None and refs:
        name = min(refs)
        raise SpecError(
            f"{what} cannot read a node's shape ({quoted(name)})",
            position=arg.position,
            path=path,
            expected="numbers, names and expressions over them",
            found=f"a reference to node {quoted(name)}",
            hint=hint,
        )


_NO_REFS: frozenset[str] = frozenset()


def check_call_args(call: LayerCall, blocks: dict[str, Block]) -> None:
    """Refuse an argument the layer or block does not take, and a wrong number of inputs."""
    if call.is_block:
        block = blocks[call.kind]
        known = [name for name, _ in block.params]
        what = f"block {call.kind!r}"
    else:
        kind = lookup(call.kind)
        assert kind is not None
        if not call.args and kind.inputs == 1 and len(call.sources) <= 1:
            return  # nothing to check (most layers of a flat file)
        known = [p.name for p in kind.params]
        what = call.kind
        if kind.inputs > 1 and len(call.sources) == 0:
            raise SpecError(
                f"{call.kind} merges two or more inputs: say which with 'from'",
                position=call.position,
                path=f"{call.path} ({call.kind})",
                expected="from: [a, b] (names of earlier layers, or input)",
                found="no 'from'",
            )
        if kind.inputs == 1 and len(call.sources) > 1:
            raise SpecError(
                f"{call.kind} takes one input",
                position=call.position,
                path=f"{call.path} ({call.kind})",
                expected="from: one name",
                found=f"from: {list(call.sources)}",
            )
    for name, arg in call.args:
        if name not in known:
            raise SpecError(
                f"unknown argument {quoted(name)} for {what}",
                position=arg.position,
                path=f"{call.path} ({call.kind})",
                expected="one of " + (", ".join(known) if known else "(no arguments)"),
                found=quoted(name),
                hint=did_you_mean(name, known),
            )


def check_type_args(blocks: dict[str, Block], top_layers: tuple[LayerCall, ...], variables: set[str]) -> None:
    """Refuse, at read time, a value written for a template's type argument (one it calls:
    `- act`) that names no layer type or block: a default (`act: Hardswsh`) or a block call's
    argument given as a literal. Names of variables and of the enclosing block's arguments may
    hold a type: they are checked when bound (expansion), as are conditionals' other parts."""
    type_params = {b.name: {c.kind for c in b.layers + b.shortcut + b.after if c.chosen} for b in blocks.values()}
    types = {*KINDS, *blocks}
    for block in blocks.values():
        for name, default in block.params:
            if default is not None and name in type_params[block.name]:
                _check_type_value(default, f"{block.path}.args.{name}", name, types, variables)
    owners: list[tuple[Block | None, tuple[LayerCall, ...]]] = [(None, top_layers)]
    owners += [(b, b.layers + b.shortcut + b.after) for b in blocks.values()]
    for owner, calls in owners:
        scope = variables | ({name for name, _ in owner.params} if owner is not None else set())
        for call in calls:
            wanted = type_params[call.kind] if call.is_block else ()
            for arg_name, arg in call.args:
                if arg_name in wanted:
                    _check_type_value(arg, f"{call.path} ({call.kind})", arg_name, types, scope)


def _check_type_value(arg: Arg, path: str, param: str, types: set[str], scope: set[str]) -> None:
    raw = arg.raw
    if isinstance(raw, Expr):
        stack: list[ast.expr] = [raw.tree]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.IfExp):
                stack += [node.body, node.orelse]
            elif isinstance(node, ast.Name) or (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                word = node.id if isinstance(node, ast.Name) else str(node.value)
                if word not in types and word not in scope:
                    where = Position(arg.position.file, arg.position.line, arg.position.column + node.col_offset)
                    raise unknown_type(word, where, path, param, types)
            else:
                where = Position(arg.position.file, arg.position.line, arg.position.column + node.col_offset)
                raise not_a_type(ast.unparse(node), where, path, param)
    elif isinstance(raw, str):
        if raw not in types:
            raise unknown_type(raw, arg.position, path, param, types)
    else:
        raise not_a_type(repr(raw), arg.position, path, param)


def unknown_type(word: str, position: Position, path: str, param: str, types: Collection[str]) -> SpecError:
    """A template's type argument `param` given a name that is no layer type or block."""
    return SpecError(
        f"unknown layer type {quoted(word)} for argument {quoted(param)}",
        position=position,
        path=path,
        expected="a PyTorch layer name or a block defined under 'blocks:' (the template calls it: - " + param + ")",
        found=quoted(word),
        hint=did_you_mean(word, types),
    )


def not_a_type(found: str, position: Position, path: str, param: str) -> SpecError:
    """A template's type argument `param` given a value that is no type (a number, a sum...)."""
    return SpecError(
        f"argument {quoted(param)} must name a layer type or a block (the template calls it: - {param})",
        position=position,
        path=path,
        expected="a layer type such as ReLU or Hardswish, a block name, or a conditional choosing one",
        found=found,
    )


def check_cycles(blocks: dict[str, Block], max_depth: int) -> None:
    """Refuse blocks that call each other in a cycle or nest deeper than `max_depth` levels.

    Iterative, so a chain of 100,000 blocks is refused with its place, not a RecursionError.
    """
    callees = {name: [c for c in b.layers + b.shortcut + b.after if c.is_block] for name, b in blocks.items()}
    height: dict[str, int] = {}
    for root in blocks:
        if root in height:
            continue
        trail, index, active = [root], [0], {root}
        while trail:
            name = trail[-1]
            calls = callees[name]
            if index[-1] < len(calls):
                call = calls[index[-1]]
                index[-1] += 1
                where = f"{call.path} ({call.kind})"
                if call.kind in active:
                    cycle = " -> ".join([*trail[trail.index(call.kind):], call.kind])
                    raise SpecError(
                        f"blocks call each other in a cycle: {cycle}",
                        position=call.position,
                        path=where,
                        hint="a block cannot contain itself, directly or through other blocks",
                    )
                levels = len(trail) + height.get(call.kind, 1)
                if levels > max_depth:
                    chain = " -> ".join(trail[:3] + (["..."] if len(trail) > 4 else trail[3:-1]) + trail[-1:] + [call.kind])
                    raise LimitError(
                        "blocks nested too deeply",
                        position=call.position,
                        path=where,
                        expected=f"at most {max_depth} levels of blocks (raise it with --max-depth)",
                        found=f"{levels} or more levels: {chain}",
                    )
                if call.kind not in height:
                    trail.append(call.kind)
                    index.append(0)
                    active.add(call.kind)
                continue
            height[name] = 1 + max((height[c.kind] for c in calls), default=0)
            active.discard(trail.pop())
            index.pop()


def did_you_mean(word: str, candidates: Collection[str]) -> str | None:
    """A 'did you mean' hint for a misspelt name, or None."""
    import difflib

    if len(word) > 100:  # no name is that long: not worth difflib's quadratic matching
        return None
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered:
        return f"did you mean {quoted(lowered[word.lower()])}? (names are case-sensitive)"
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(quoted(c) for c in close) + "?"


def used_names(spec: Spec | None, calls: Iterable[LayerCall] = ()) -> set[str]:
    """Every name a spec (or inline layer calls) can bind with --set: the names its expressions
    read, its variables and its blocks' arguments."""
    found: set[str] = set()

    def read(arg: Arg | None) -> None:
        found.update(arg_names(arg))

    def read_calls(layer_calls: Iterable[LayerCall]) -> None:
        for call in layer_calls:
            read(call.repeat)
            for _, arg in call.args:
                read(arg)

    read_calls(calls)
    if spec is not None:
        for arg in (*spec.input, spec.batch):
            read(arg)
        for name, arg in spec.vars:
            found.add(name)
            read(arg)
        read_calls(spec.layers or ())
        for block in spec.blocks.values():
            for name, default in block.params:
                found.add(name)
                read(default)
            read_calls(block.layers + block.shortcut + block.after)
    return found
