"""The reader: composed YAML nodes -> the spec model, checking the structure as it goes.

Known layer types and argument names, `from` references, block templates and their arguments,
cycles: everything but shapes and numbers, which are the evaluator's job. Text arguments are
parsed here, once, into checked expressions (`checks.text_value`), so a malformed or forbidden
expression is refused at load time, with its place.
"""

from __future__ import annotations

from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]  # (see spec.nodes)

from cnncalc.errors import CnncalcError, ExprError, LimitError, Position, SpecError, clip, quoted
from cnncalc.layers import KINDS, LayerKind, Param, lookup
from cnncalc.spec import expr
from cnncalc.spec.checks import (
    call_refs,
    check_call_args,
    check_cycles,
    check_type_args,
    did_you_mean,
    ref_arg,
    refuse_refs,
    takes_text,
    text_value,
)
from cnncalc.spec.expr import Expr
from cnncalc.spec.inline import call_from_text
from cnncalc.spec.model import BLOCK_KEYS, INPUT_NAME, META_KEYS, TOP_KEYS, Arg, Block, LayerCall, Limits, Spec, Value, new_tuple
from cnncalc.spec.nodes import (
    BOOL,
    INT,
    MERGE,
    NULL,
    STR,
    TRUE_WORDS,
    mark_position,
    scalar_value,
    text_position,
    type_name,
)


class Reader:
    """Turns composed YAML nodes into the spec model, checking the structure as it goes."""

    def __init__(self, source: str, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.unchecked: set[int] = set()  # ids of calls not from plain_layer: check_call_args checks them
        self.plain_values: dict[tuple[str, str, str | None], tuple[Value, int] | None] = {}  # see plain_layer
        self.type_params: frozenset[str] = frozenset()  # the arguments of the block being read: `- act` calls one

    def pos(self, node: yaml.Node) -> Position:
        return mark_position(self.source, node.start_mark)

    def error(self, node: yaml.Node, message: str, path: str | None = None, **details: Any) -> SpecError:
        return SpecError(message, position=self.pos(node), path=path, **details)

    # -- scalars and mappings

    def mapping(self, node: yaml.Node, path: str, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping", path, expected="a mapping (key: value)", found=type_name(node))
        seen: dict[str, yaml.Node] = {}
        items: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.error(key, "mapping keys must be plain names", path, found=type_name(key))
            if key.tag == MERGE:
                raise self.error(key, "YAML merge keys (<<) are not supported", path, expected="the arguments written out", found="<<")
            name = str(key.value)
            if name in seen:
                first = self.pos(seen[name])
                raise self.error(
                    key, f"duplicate key {quoted(name)}", path, expected="each key once", found=f"{quoted(name)} again (first at line {first.line}, column {first.column})"
                )
            seen[name] = key
            items.append((name, key, value))
        return items

    def keyed(
        self, node: yaml.Node, path: str, what: str, allowed: tuple[str, ...], label: str, where: str = ""
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping's (key, value) nodes by key name, refusing a key outside `allowed`:
        'unknown {label} {key}{where}'."""
        fields = {k: (key, v) for k, key, v in self.mapping(node, path, what)}
        for key_name, (key, _) in fields.items():
            if key_name not in allowed:
                raise self.error(
                    key,
                    f"unknown {label} {quoted(key_name)}{where}",
                    path or None,
                    expected="one of " + ", ".join(allowed),
                    found=quoted(key_name),
                    hint=did_you_mean(key_name, allowed),
                )
        return fields

    def arg(self, node: yaml.Node, path: str, param: Param | None = None, *, parse: bool = True, depth: int = 0) -> Arg:
        """An argument's value with its place; text parsed into a checked expression when `parse`,
        unless it is a word `param` takes as it is (`checks.takes_text`)."""
        if isinstance(node, yaml.ScalarNode):
            value: Value = scalar_value(node, self.source, path)
            position = text_position(self.source, node)
            if isinstance(value, str):
                if len(value) > expr.MAX_EXPRESSION_LENGTH:
                    raise LimitError(
                        "argument text too long",
                        position=self.pos(node),
                        path=path,
                        expected=f"at most {expr.MAX_EXPRESSION_LENGTH} characters",
                        found=str(len(value)),
                    )
                if parse:
                    value = text_value(value, param, position, path)
            return Arg(value, position)
        if isinstance(node, yaml.SequenceNode):
            if depth >= 1:
                raise self.error(node, "nested lists are not allowed in an argument", path, expected="a flat list of values")
            if len(node.value) > 64:
                raise LimitError("argument list too long", position=self.pos(node), path=path, expected="at most 64 values", found=str(len(node.value)))
            return Arg(tuple(self.arg(v, path, param, parse=parse, depth=depth + 1) for v in node.value), self.pos(node))
        raise self.error(node, "an argument must be a value or a list of values", path, found=type_name(node))

    def name(self, node: yaml.Node, path: str, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (STR, INT) or not str(node.value).strip():
            raise self.error(node, f"{what} must be a name", path, found=type_name(node))
        text = str(node.value)
        if not text.replace("_", "a").replace(".", "a").replace("-", "a").isalnum():
            raise self.error(node, f"{what} must be a name (letters, digits, _ . -)", path, found=quoted(text))
        return text

    # -- layer lists

    def layer_list(self, node: yaml.Node, path: str, block_names: set[str], what: str) -> tuple[LayerCall, ...]:
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL:
            return ()
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what} must be a list of layers", path, expected="a list (- Conv2d: {...})", found=type_name(node))
        calls: list[LayerCall] = []
        names: dict[str, LayerCall] = {}
        plain = self.plain_layer
        for index, item in enumerate(node.value):
            item_path = f"{path}[{index}]"
            call = plain(item, item_path, block_names)
            if call is None:
                call = self.layer(item, item_path, block_names)
                self.unchecked.add(id(call))
            for source in call.sources:
                if source != INPUT_NAME and source not in names:
                    later = _named_later(node.value[index:], source)
                    raise self.error(
                        item,
                        f"'from' names an unknown node {quoted(source)}"
                        + (": it is this layer's own output" if later is item else f": it is defined later, at line {later.start_mark.line + 1}" if later else ""),
                        f"{call.path} ({call.kind})",
                        expected="'input' or the name of an earlier layer in the same list: "
                        + (", ".join(clip(n) for n in sorted(names)) if names else "(none named yet)"),
                        found=quoted(source),
                        hint="a layer can only take the output of a layer above it (no cycles)" if later else did_you_mean(source, names),
                    )
            if call.refs:
                self.check_refs(call, node.value[index:], item, names)
            if call.name is not None:
                if call.name == INPUT_NAME:
                    raise self.error(item, "'input' is reserved for the list's input", call.path)
                first = names.get(call.name)
                if first is not None:
                    raise SpecError(
                        f"the name {quoted(call.name)} is already given to {first.path} ({first.kind}) at line {first.position.line},"
                        f" column {first.position.column}",
                        position=call.position,
                        path=f"{call.path} ({call.kind})",
                        expected="each name once in a list (a later 'from' could not tell the two apart)",
                        found=f"{quoted(call.name)} again",
                        hint="rename one of them",
                    )
                names[call.name] = call
            calls.append(call)
        return tuple(calls)

    def check_refs(self, call: LayerCall, rest: list[yaml.Node], item: yaml.Node, names: dict[str, LayerCall]) -> None:
        """Refuse a node shape reference (`enc3.spatial`) to a node not named above in the list."""
        for ref in sorted(call.refs):
            if ref == INPUT_NAME or ref in names:
                continue
            arg = ref_arg(call, ref)
            later = _named_later(rest, ref)
            raise SpecError(
                f"{quoted(ref)} is not a node above this layer"
                + (": it is this layer's own output" if later is item else f": it is defined later, at line {later.start_mark.line + 1}" if later else ""),
                position=arg.position,
                path=f"{call.path} ({call.kind})",
                expected="'input' or the name of an earlier layer in the same list: "
                + (", ".join(clip(n) for n in sorted(names)) if names else "(none named yet)"),
                found=f"{quoted(ref)} in {clip(str(arg.raw))}",
                hint="a layer can only read the shape of a layer above it" if later else did_you_mean(ref, [INPUT_NAME, *names]),
            )

    def plain_layer(self, node: yaml.Node, path: str, block_names: set[str]) -> LayerCall | None:
        """The common layer forms read at a fraction of the general path's cost (a flat file
        holds thousands): `ReLU`, and `Conv2d: {argument: value, ...}` of a registered layer of
        one input, with known argument names and plain string, decimal, boolean or null values.
        None for anything else, which the general path (`layer`) then reads, and reports on;
        both give equal calls, and these need no `check_call_args`.

        Speed, kept for the flat-file budget (benchmarks/run.py, flat: load + evaluation <= 1.5x
        PyYAML's compose): without it, reading 10,000 flat layers costs 55% more instructions
        (valgrind). tests/test_fast_paths.py compares it with the general path."""
        source, scalar, mapping, new = self.source, _SCALAR, _MAPPING, new_tuple  # new_tuple: see spec.model
        if type(node) is scalar:
            kind = node.value
            # plain style (None, or "" from the C composer); merges need 'from': the general path
            if node.tag != STR or node.style or kind not in _ONE_INPUT_KINDS or kind in block_names:
                return None
            mark = node.start_mark
            return new(LayerCall, (kind, (), None, (), None, new(Position, (source, mark.line + 1, mark.column + 1)), path, False, _NO_REFS, False))
        if type(node) is not mapping or len(node.value) != 1:
            return None
        key, body = node.value[0]
        kind = key.value
        if type(key) is not scalar or key.tag != STR or kind not in _ONE_INPUT_KINDS or kind in block_names:
            return None
        args = []
        if type(body) is mapping:
            params = _params(KINDS[kind])
            seen = self.plain_values
            for arg_key, value in body.value:
                name = arg_key.value
                if type(arg_key) is not scalar or type(value) is not scalar or arg_key.tag != STR or name not in params:
                    return None
                written = (value.tag, value.value, value.style)
                read = seen.get(written, _UNSEEN)  # a flat file repeats its values: each read once
                if read is _UNSEEN:
                    read = seen[written] = _plain_value(*written)
                if read is None:
                    return None
                raw, offset = read
                if type(raw) is str and not takes_text(params[name], raw):
                    raw = _expression_or_none(raw)
                    if raw is None or raw.refs:
                        return None  # not a valid expression (the general path reports it), or reads a node's shape
                mark = value.start_mark
                args.append((name, new(Arg, (raw, new(Position, (source, mark.line + 1, mark.column + offset))))))
            if len(args) > 1 and len({name for name, _ in args}) != len(args):
                return None  # a repeated argument: the general path reports it
        elif type(body) is not scalar or body.tag != NULL:
            return None
        mark = key.start_mark
        return new(LayerCall, (kind, tuple(args), None, (), None, new(Position, (source, mark.line + 1, mark.column + 1)), path, False, _NO_REFS, False))

    def layer(self, node: yaml.Node, path: str, block_names: set[str]) -> LayerCall:
        """Any layer form, reported on where it is wrong (`layer_list` tries `plain_layer` first)."""
        if isinstance(node, yaml.ScalarNode) and node.tag == STR:
            text = node.value.strip()
            if "(" in text:
                callee = text.split("(", 1)[0].strip()
                if callee in self.type_params:
                    raise self.error(
                        node,
                        f"{quoted(callee)} is a template argument: its layer type is known only when the block is called",
                        path,
                        expected=f"- {callee}: {{argument: value, ...}} (PyTorch's keyword names)",
                        found=quoted(clip(text)),
                    )
                return call_from_text(text, text_position(self.source, node), path, block_names)
            return self.make_call(node, text, [], path, block_names)
        if not isinstance(node, yaml.MappingNode):
            raise self.error(
                node,
                "a layer must be a name (ReLU) or a mapping (Conv2d: {out_channels: 64})",
                path,
                found=type_name(node),
            )
        items = self.mapping(node, path, "a layer")
        kinds = [(k, key, v) for k, key, v in items if k not in META_KEYS]
        meta = [(k, key, v) for k, key, v in items if k in META_KEYS]
        if len(kinds) != 1:
            raise self.error(
                node,
                "a layer mapping must have exactly one layer type as its key",
                path,
                expected="one of the layer types or a block name, plus optional name/from/repeat",
                found=", ".join(quoted(k) for k, _, _ in kinds) or "no layer type",
            )
        kind, key, body = kinds[0]
        pairs: list[tuple[str, yaml.Node, yaml.Node]] = list(meta)
        if isinstance(body, yaml.MappingNode):
            pairs += self.mapping(body, path, f"the arguments of {kind}")
        elif not (isinstance(body, yaml.ScalarNode) and body.tag == NULL):
            raise self.error(
                body,
                f"the arguments of {kind} must be a mapping",
                path,
                expected=f"{kind}: {{argument: value, ...}}",
                found=type_name(body),
            )
        return self.make_call(key, kind, pairs, path, block_names)

    def make_call(
        self,
        key: yaml.Node,
        kind: str,
        pairs: list[tuple[str, yaml.Node, yaml.Node]],
        path: str,
        block_names: set[str],
    ) -> LayerCall:
        """A call of a layer kind, a block, or a template's type argument (`- act: {inplace: true}`
        in a block with an argument `act`: `chosen`, its arguments checked once the type is known,
        at expansion; text that is not an expression kept as written, for a layer that takes a word)."""
        chosen = kind in self.type_params
        is_block = not chosen and kind in block_names
        found = None if is_block or chosen else lookup(kind)
        if not (is_block or chosen) and found is None:
            raise self.error(
                key,
                f"unknown layer type {quoted(kind)}",
                path,
                expected="a PyTorch layer name or a block defined under 'blocks:'",
                found=quoted(kind),
                hint=did_you_mean(kind, [*KINDS, *block_names]),
            )
        params = None if found is None else _params(found)  # None: a block's arguments, all expressions
        where = f"{path} ({kind})"
        name: str | None = None
        sources: tuple[str, ...] = ()
        repeat: Arg | None = None
        args: list[tuple[str, Arg]] = []
        seen: set[str] = set()
        for arg_name, arg_key, value in pairs:
            if arg_name in seen:
                raise self.error(arg_key, f"argument {quoted(arg_name)} given twice", where)
            seen.add(arg_name)
            if arg_name == "name":
                name = self.name(value, path, "'name'")
            elif arg_name == "from":
                if isinstance(value, yaml.SequenceNode):
                    sources = tuple(self.name(v, path, "each 'from' entry") for v in value.value)
                else:
                    sources = (self.name(value, path, "'from'"),)
            elif arg_name == "repeat":
                repeat = self.arg(value, where)
                if isinstance(repeat.raw, int) and repeat.raw > self.limits.max_repeat:
                    raise LimitError(
                        "repeat count too large",
                        position=repeat.position,
                        path=where,
                        expected=f"at most {self.limits.max_repeat} (raise it with --max-repeat)",
                        found=str(repeat.raw),
                    )
            elif chosen:
                try:
                    arg = self.arg(value, where)
                except ExprError:
                    arg = self.arg(value, where, parse=False)
                args.append((arg_name, arg))
            else:  # a layer's unknown argument stays unparsed: check_call_args refuses it
                param = None if params is None else params.get(arg_name)
                args.append((arg_name, self.arg(value, where, param, parse=params is None or param is not None)))
        return LayerCall(kind, tuple(args), name, sources, repeat, self.pos(key), path, is_block, call_refs(args, repeat), chosen)

    # -- blocks and the whole file

    def block(self, name: str, node: yaml.Node, block_names: set[str]) -> Block:
        path = f"blocks.{name}"
        position = self.pos(node)
        if isinstance(node, yaml.SequenceNode):
            layers = self.layer_list(node, path, block_names, f"block {name!r}")
            return Block(name, (), layers, False, (), (), position)
        fields = self.keyed(node, path, f"block {name!r}", BLOCK_KEYS, "key", f" in block {name!r}")
        if "layers" not in fields:
            raise self.error(node, f"block {name!r} has no 'layers'", path, expected="a 'layers:' list")
        params: list[tuple[str, Arg | None]] = []
        if "args" in fields:
            for arg_name, arg_key, value in self.mapping(fields["args"][1], f"{path}.args", "a block's args"):
                if arg_name in META_KEYS or not arg_name.isidentifier() or arg_name.startswith("__"):
                    raise self.error(arg_key, f"{quoted(arg_name)} cannot be a block argument", f"{path}.args", hint="name, from and repeat are reserved")
                default = None
                if not (isinstance(value, yaml.ScalarNode) and value.tag == NULL):
                    default = self.arg(value, f"{path}.args.{arg_name}")
                    refuse_refs(
                        default, f"{path}.args.{arg_name}", "a block argument's default",
                        f"pass the size from the call, where the nodes are: {name}: {{{arg_name}: NODE.spatial}}",
                    )
                params.append((arg_name, default))
        for arg_name, _ in params:
            if lookup(arg_name) is not None or arg_name in block_names:
                what = "a block" if arg_name in block_names else "a layer type"
                raise self.error(
                    fields["args"][1], f"block argument {quoted(arg_name)} is the name of {what}", f"{path}.args", hint="choose another name (act, norm, ...)"
                )
        outer, self.type_params = self.type_params, frozenset(name for name, _ in params)
        try:
            return self.block_body(name, fields, params, block_names, position)
        finally:
            self.type_params = outer

    def block_body(
        self,
        name: str,
        fields: dict[str, tuple[yaml.Node, yaml.Node]],
        params: list[tuple[str, Arg | None]],
        block_names: set[str],
        position: Position,
    ) -> Block:
        path = f"blocks.{name}"
        residual: bool | str = False
        if "residual" in fields:
            value = fields["residual"][1]
            if isinstance(value, yaml.ScalarNode) and value.tag == STR and value.value == "auto":
                residual = "auto"  # add x only where F(x) keeps x's shape (torchvision's use_res_connect)
            elif not (isinstance(value, yaml.ScalarNode) and value.tag == BOOL):
                raise self.error(value, "'residual' must be true, false or auto", path, found=type_name(value))
            else:
                residual = bool(scalar_value(value, self.source))
        layers = self.layer_list(fields["layers"][1], f"{path}.layers", block_names, f"block {name!r}")
        shortcut = self.layer_list(fields["shortcut"][1], f"{path}.shortcut", block_names, "'shortcut'") if "shortcut" in fields else ()
        after = self.layer_list(fields["after"][1], f"{path}.after", block_names, "'after'") if "after" in fields else ()
        if shortcut and not residual:
            raise self.error(fields["shortcut"][0], f"block {name!r} has a shortcut but is not residual", path, hint="add 'residual: true'")
        if shortcut and residual == "auto":
            raise self.error(
                fields["shortcut"][0],
                f"block {name!r} has a shortcut but 'residual: auto' never uses one",
                path,
                hint="use 'residual: true' with a shortcut, or drop the shortcut",
            )
        shortcut_name = "shortcut"
        if "shortcut_name" in fields:
            key, value = fields["shortcut_name"]
            if not shortcut:
                raise self.error(key, f"block {name!r} has a shortcut_name but no shortcut", path, hint="add a 'shortcut:' list, or drop shortcut_name")
            shortcut_name = self.name(value, path, "'shortcut_name'")
        shortcut_first = False
        if "shortcut_first" in fields:
            key, value = fields["shortcut_first"]
            if not (isinstance(value, yaml.ScalarNode) and value.tag == BOOL):
                raise self.error(value, "'shortcut_first' must be true or false", path, found=type_name(value))
            shortcut_first = bool(scalar_value(value, self.source))
            if shortcut_first and not shortcut:
                raise self.error(key, f"block {name!r} has shortcut_first but no shortcut", path, hint="add a 'shortcut:' list, or drop shortcut_first")
        return Block(name, tuple(params), layers, residual, shortcut, after, position, shortcut_name, shortcut_first)

    def spec(self, node: yaml.Node | None, default_name: str) -> Spec:
        if node is None:
            raise SpecError("the spec is empty", position=Position(self.source, 1, 1), expected="a mapping with input: and layers: or blocks:")
        fields = self.keyed(node, "", "the spec", TOP_KEYS, "top-level key")
        if "input" not in fields:
            raise self.error(node, "the spec has no 'input'", expected="input: [C, H, W]")
        input_node = fields["input"][1]
        if not isinstance(input_node, yaml.SequenceNode) or not input_node.value:
            raise self.error(input_node, "'input' must be a list of sizes", "input", expected="[C, H, W], [C, L] or [C, D, H, W]", found=type_name(input_node))
        if len(input_node.value) > 8:
            raise self.error(input_node, "'input' has too many dimensions", "input", expected="at most 8", found=str(len(input_node.value)))
        inputs = tuple(self.arg(v, "input", depth=1) for v in input_node.value)
        for value in inputs:
            refuse_refs(value, "input", "the input shape")
        if "layers" not in fields and "blocks" not in fields:
            raise self.error(node, "the spec has neither 'layers' nor 'blocks'", expected="a 'layers:' list and/or 'blocks:'")
        name = default_name
        if "name" in fields:
            name_node = fields["name"][1]
            if not isinstance(name_node, yaml.ScalarNode) or name_node.tag == NULL:
                raise self.error(name_node, "'name' must be text", "name", found=type_name(name_node))
            name = str(name_node.value)
        variables: list[tuple[str, Arg]] = []
        if "vars" in fields:
            for var, var_key, value in self.mapping(fields["vars"][1], "vars", "'vars'"):
                if not var.isidentifier() or var.startswith("__"):
                    raise self.error(var_key, f"{quoted(var)} is not a valid variable name", "vars")
                variables.append((var, self.arg(value, f"vars.{var}")))
                refuse_refs(variables[-1][1], f"vars.{var}", "a variable", "vars are bound before any layer runs: write the reference in the layer's argument")
        blocks: dict[str, Block] = {}
        if "blocks" in fields:
            block_items = self.mapping(fields["blocks"][1], "blocks", "'blocks'")
            if not block_items and "layers" not in fields:
                raise self.error(
                    fields["blocks"][1],
                    "the spec has no 'layers' and no block: nothing to evaluate",
                    "blocks",
                    expected="a block under 'blocks:' or a 'layers:' list",
                    found="an empty mapping",
                )
            block_names = {k for k, _, _ in block_items}
            for block_name, block_key, _ in block_items:
                if lookup(block_name) is not None:
                    raise self.error(block_key, f"block name {quoted(block_name)} is a layer type", f"blocks.{block_name}", hint="choose another name")
                if block_name in META_KEYS or block_name == INPUT_NAME:
                    raise self.error(block_key, f"{quoted(block_name)} is reserved", f"blocks.{block_name}")
            for block_name, _, value in block_items:
                blocks[block_name] = self.block(block_name, value, block_names)
            check_cycles(blocks, self.limits.max_depth)
        layers = None
        if "layers" in fields:
            layers = self.layer_list(fields["layers"][1], "layers", set(blocks), "'layers'")
        batch = self.arg(fields["batch"][1], "batch") if "batch" in fields else None
        refuse_refs(batch, "batch", "the batch size")
        unchecked = self.unchecked
        for calls in [layers or (), *(b.layers + b.shortcut + b.after for b in blocks.values())] if unchecked else ():
            for call in calls:
                if id(call) in unchecked and not call.chosen:
                    check_call_args(call, blocks)
        if any(call.chosen for b in blocks.values() for call in b.layers + b.shortcut + b.after):
            check_type_args(blocks, layers or (), {name for name, _ in variables})
        return Spec(name, self.source, inputs, batch, tuple(variables), blocks, layers, self.pos(node))


def _named_later(items: list[yaml.Node], name: str) -> yaml.Node | None:
    """The layer among `items` whose `name:` (beside its type or among its arguments) is `name`."""
    for item in items:
        if not isinstance(item, yaml.MappingNode):
            continue
        pairs = list(item.value)
        pairs += [p for _, v in item.value if isinstance(v, yaml.MappingNode) for p in v.value]
        for key, value in pairs:
            if getattr(key, "value", None) == "name" and getattr(value, "value", None) == name:
                return item
    return None


_SCALAR, _MAPPING = yaml.ScalarNode, yaml.MappingNode
_ONE_INPUT_KINDS = frozenset(name for name, kind in KINDS.items() if kind.inputs == 1)
_QUOTES = frozenset(("'", '"'))
_UNSEEN: Any = object()
_NO_REFS: frozenset[str] = frozenset()
_PARAMS: dict[str, dict[str, Param]] = {}


def _params(kind: LayerKind) -> dict[str, Param]:
    """A registered layer kind's parameters by name (cached: the reader asks once per layer)."""
    params = _PARAMS.get(kind.name)
    if params is None:
        params = _PARAMS[kind.name] = {p.name: p for p in kind.params}
    return params


def _plain_value(tag: str, text: str, style: str | None) -> tuple[Value, int] | None:
    """A plain layer's argument value as the general path reads it (text not yet parsed), and
    the column offset of its position (past an opening quote, as `text_position`); None when
    plain_layer must leave it to the general path."""
    raw: Value
    if tag == STR:
        if len(text) > expr.MAX_EXPRESSION_LENGTH:
            return None
        raw = text
    elif tag == INT and text.isdigit() and text.isascii() and len(text) < 100 and (text[0] != "0" or len(text) == 1):
        raw = int(text)  # decimal without sign, underscores or a leading 0 (octal in YAML 1.1)
    elif tag == BOOL:
        raw = text.lower() in TRUE_WORDS
    elif tag == NULL:
        raw = None
    else:
        return None
    return raw, 1 + (style in _QUOTES)


def _expression_or_none(text: str) -> Expr | None:
    """`text` as a checked expression, or None where it is not one (the general path reports it)."""
    try:
        return expr.parse(text)
    except CnncalcError:
        return None
