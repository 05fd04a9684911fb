"""Spec loading: YAML text -> a validated `Spec` of layer calls and block templates.

The YAML is composed into nodes (not loaded into Python objects), which is faster and keeps
the line and column of every node, so that every later error can point at its source. This
module checks the structure (known layer types and argument names, `from` references,
templates and their arguments, cycles); shapes and numbers are the evaluator's job.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

from cnncalc.spec import expr
from cnncalc.errors import CnncalcError, LimitError, Position, SpecError, clip
from cnncalc.layers import KINDS, lookup
from cnncalc.records import record

try:  # the C composer when PyYAML was built with libyaml
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


def _resolve(kind: Any, value: Any, implicit: Any) -> Any:
    # A safe loader's resolver reads only class-level tables when it has no path resolvers
    # (asserted below): the tag depends on the arguments alone.
    return _Loader.resolve(_RESOLVER, kind, value, implicit)


_RESOLVER = _Loader.__new__(_Loader)


class _FastSafeLoader(_Loader):  # type: ignore[misc,valid-type]
    """The safe loader, composing a third faster: the same nodes and tags.

    The C parser asks Python for every node's tag (for a scalar, a loop of regular expressions)
    and calls two path-resolver hooks per node. A spec repeats its scalars (`out_channels`, `3`,
    `ReLU`): tags are memoised in C (an LRU cache, bounded), and the hooks, no-ops without path
    resolvers (a safe loader has none), are bound to C builtins that do nothing useful: a
    discarded slice, an empty tuple.
    """

    descend_resolver = slice  # called as self.descend_resolver(node, index)
    ascend_resolver = tuple  # called as self.ascend_resolver()
    resolve = staticmethod(functools.lru_cache(maxsize=512)(_resolve))  # called as self.resolve(kind, value, implicit)


assert not _FastSafeLoader.yaml_path_resolvers, "the no-op resolver hooks above assume no path resolvers"

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
# Tags a spec may carry; any other (!!python/..., !!binary, !custom) is refused, never constructed.
_PLAIN_TAGS = frozenset((_STR, _INT, _FLOAT, _BOOL, _NULL, _SEQ, _MAP, _TIMESTAMP, _MERGE))
MAX_YAML_DEPTH = 200  # a spec nests about 8 levels; deeper YAML is refused before it is composed
MAX_LITERAL_CHARS = 1_300  # an integer literal below 2**4096 has at most 1234 digits

META_KEYS = ("name", "from", "repeat")
TOP_KEYS = ("name", "input", "batch", "vars", "blocks", "layers", "description")
BLOCK_KEYS = ("args", "layers", "residual", "shortcut", "after", "description")
INPUT_NAME = "input"


@record
class Limits:
    """Resource limits, with their defaults; all but `max_bytes` have a command-line flag to raise them."""

    max_layers: int = 1_000_000
    max_repeat: int = 100_000
    max_depth: int = 50
    max_bytes: int = 50_000_000
    max_nodes: int = 1_000_000  # YAML values, counted with aliases expanded (billion laughs)


@record
class Arg:
    """An argument as written: a literal, a string (expression or keyword), or a tuple of Args."""

    raw: Any
    position: Position


@record
class LayerCall:
    """One entry of a layer list: a layer kind or a block template, with its arguments."""

    kind: str
    args: tuple[tuple[str, Arg], ...]
    name: str | None
    sources: tuple[str, ...]
    repeat: Arg | None
    position: Position
    path: str
    is_block: bool


@record
class Block:
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


@record
class Spec:
    """A whole spec file: input, variables, block templates and (optionally) a model."""

    name: str
    source: str
    input: tuple[Arg, ...]
    batch: Arg | None
    vars: tuple[tuple[str, Arg], ...]
    blocks: dict[str, Block]
    layers: tuple[LayerCall, ...] | None
    position: Position


def _text_pos(source: str, node: yaml.Node) -> Position:
    """Where a scalar's text starts: past its opening quote, so columns inside it are exact."""
    mark = node.start_mark
    return Position(source, mark.line + 1, mark.column + 1 + (getattr(node, "style", None) in ("'", '"')))


def _type_name(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"{node.value!r}" if node.value else "an empty value"


class _Reader:
    """Turns composed YAML nodes into spec records, checking the structure as it goes."""

    def __init__(self, source: str, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.unchecked: set[int] = set()  # ids of calls not from plain_layer: _check_call_args checks them
        self.plain_values: dict[tuple[str, str, Any], tuple[Any, int] | None] = {}  # see plain_layer

    def pos(self, node: yaml.Node) -> Position:
        return _mark_position(self.source, node.start_mark)

    def error(self, node: yaml.Node, message: str, path: str | None = None, **details: Any) -> SpecError:
        return SpecError(message, position=self.pos(node), path=path, **details)

    # -- scalars and mappings

    def mapping(self, node: yaml.Node, path: str, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping", path, expected="a mapping (key: value)", found=_type_name(node))
        seen: dict[str, yaml.Node] = {}
        items = []
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.error(key, "mapping keys must be plain names", path, found=_type_name(key))
            if key.tag == _MERGE:
                raise self.error(key, "YAML merge keys (<<) are not supported", path, expected="the arguments written out", found="<<")
            name = str(key.value)
            if name in seen:
                first = self.pos(seen[name])
                raise self.error(
                    key, f"duplicate key {name!r}", path, expected="each key once", found=f"{name!r} again (first at line {first.line}, column {first.column})"
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
                    f"unknown {label} {key_name!r}{where}",
                    path or None,
                    expected="one of " + ", ".join(allowed),
                    found=repr(key_name),
                    hint=did_you_mean(key_name, allowed),
                )
        return fields

    def scalar(self, node: yaml.Node, path: str | None = None) -> Any:
        tag = node.tag
        value = node.value
        if tag == _STR:
            return value
        if tag in (_INT, _FLOAT):
            what = "an integer" if tag == _INT else "a number"
            try:
                return _int_scalar(value) if tag == _INT else _float_scalar(value)
            except SpecError as exc:
                raise exc.located(self.pos(node), path) from None
            except ValueError:
                raise self.error(node, f"{clip(value)!r} is not {what}", path, expected=what, found=repr(clip(value))) from None
        if tag == _BOOL:
            return value.lower() in ("true", "yes", "on", "y")
        if tag == _NULL:
            return None
        if tag == _TIMESTAMP:
            raise self.error(
                node,
                f"{value!r} reads as a date in YAML",
                path,
                expected="a number, a name or an expression",
                found=f"the date {value}",
                hint=f"quote it ('{value}') if it is meant as an expression",
            )
        raise _tag_error(self.source, node).located(None, path)

    def arg(self, node: yaml.Node, path: str, depth: int = 0) -> Arg:
        if isinstance(node, yaml.ScalarNode):
            value = self.scalar(node, path)
            if isinstance(value, str) and len(value) > expr.MAX_EXPRESSION_LENGTH:
                raise LimitError(
                    "argument text too long",
                    position=self.pos(node),
                    path=path,
                    expected=f"at most {expr.MAX_EXPRESSION_LENGTH} characters",
                    found=str(len(value)),
                )
            return Arg(value, _text_pos(self.source, node))
        if isinstance(node, yaml.SequenceNode):
            if depth >= 1:
                raise self.error(node, "nested lists are not allowed in an argument", path, expected="a flat list of values")
            if len(node.value) > 64:
                raise LimitError("argument list too long", position=self.pos(node), path=path, expected="at most 64 values", found=str(len(node.value)))
            return Arg(tuple(self.arg(v, path, depth + 1) for v in node.value), self.pos(node))
        raise self.error(node, "an argument must be a value or a list of values", path, found=_type_name(node))

    def name(self, node: yaml.Node, path: str, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (_STR, _INT) or not str(node.value).strip():
            raise self.error(node, f"{what} must be a name", path, found=_type_name(node))
        text = str(node.value)
        if not text.replace("_", "a").replace(".", "a").replace("-", "a").isalnum():
            raise self.error(node, f"{what} must be a name (letters, digits, _ . -)", path, found=repr(text))
        return text

    # -- layer lists

    def layer_list(self, node: yaml.Node, path: str, block_names: set[str], what: str) -> tuple[LayerCall, ...]:
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            return ()
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what} must be a list of layers", path, expected="a list (- Conv2d: {...})", found=_type_name(node))
        calls: list[LayerCall] = []
        names: dict[str, Position] = {}
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
                        f"'from' names an unknown node {source!r}"
                        + (": it is this layer's own output" if later is item else f": it is defined later, at line {later.start_mark.line + 1}" if later else ""),
                        f"{call.path} ({call.kind})",
                        expected="'input' or the name of an earlier layer in the same list: "
                        + (", ".join(sorted(names)) if names else "(none named yet)"),
                        found=repr(source),
                        hint="a layer can only take the output of a layer above it (no cycles)" if later else did_you_mean(source, names),
                    )
            if call.name is not None:
                if call.name == INPUT_NAME:
                    raise self.error(item, "'input' is reserved for the list's input", call.path)
                names[call.name] = call.position
            calls.append(call)
        return tuple(calls)

    def plain_layer(self, node: yaml.Node, path: str, block_names: set[str]) -> LayerCall | None:
        """The common layer forms read at a fraction of the general path's cost (a flat file
        holds thousands): `ReLU`, and `Conv2d: {argument: value, ...}` of a registered layer of
        one input, with known argument names and plain string, decimal, boolean or null values.
        None for anything else, which the general path (`layer`) then reads, and reports on;
        both give equal calls, and these need no `_check_call_args`."""
        new, source, scalar = tuple.__new__, self.source, _SCALAR  # records are tuples: no Python-level call
        if type(node) is scalar:
            kind = node.value
            # plain style (None, or "" from the C composer); merges need 'from': the general path
            if node.tag != _STR or node.style or kind not in _ONE_INPUT_KINDS or kind in block_names:
                return None
            mark = node.start_mark
            return new(LayerCall, (kind, (), None, (), None, new(Position, (source, mark.line + 1, mark.column + 1)), path, False))
        if type(node) is not _MAPPING or len(node.value) != 1:
            return None
        key, body = node.value[0]
        kind = key.value
        if type(key) is not scalar or key.tag != _STR or kind not in _ONE_INPUT_KINDS or kind in block_names:
            return None
        args = []
        if type(body) is _MAPPING:
            known = _param_names(KINDS[kind])
            seen = self.plain_values
            for arg_key, value in body.value:
                name = arg_key.value
                if type(arg_key) is not scalar or type(value) is not scalar or arg_key.tag != _STR or name not in known:
                    return None
                written = (value.tag, value.value, value.style)
                read = seen.get(written, _UNSEEN)  # a flat file repeats its values: each read once
                if read is _UNSEEN:
                    read = seen[written] = _plain_value(*written)
                if read is None:
                    return None
                mark = value.start_mark
                args.append((name, new(Arg, (read[0], new(Position, (source, mark.line + 1, mark.column + read[1]))))))
            if len(args) > 1 and len({name for name, _ in args}) != len(args):
                return None  # a repeated argument: the general path reports it
        elif type(body) is not scalar or body.tag != _NULL:
            return None
        mark = key.start_mark
        return new(LayerCall, (kind, tuple(args), None, (), None, new(Position, (source, mark.line + 1, mark.column + 1)), path, False))

    def layer(self, node: yaml.Node, path: str, block_names: set[str]) -> LayerCall:
        """Any layer form, reported on where it is wrong (`layer_list` tries `plain_layer` first)."""
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR:
            text = node.value.strip()
            if "(" in text:
                return call_from_text(text, _text_pos(self.source, node), path, block_names)
            return self.make_call(node, text, [], path, block_names)
        if not isinstance(node, yaml.MappingNode):
            raise self.error(
                node,
                "a layer must be a name (ReLU) or a mapping (Conv2d: {out_channels: 64})",
                path,
                found=_type_name(node),
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
                found=", ".join(repr(k) for k, _, _ in kinds) or "no layer type",
            )
        kind, key, body = kinds[0]
        pairs: list[tuple[str, yaml.Node, yaml.Node]] = list(meta)
        if isinstance(body, yaml.MappingNode):
            pairs += self.mapping(body, path, f"the arguments of {kind}")
        elif not (isinstance(body, yaml.ScalarNode) and body.tag == _NULL):
            raise self.error(
                body,
                f"the arguments of {kind} must be a mapping",
                path,
                expected=f"{kind}: {{argument: value, ...}}",
                found=_type_name(body),
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
        is_block = kind in block_names
        if not is_block and lookup(kind) is None:
            raise self.error(
                key,
                f"unknown layer type {kind!r}",
                path,
                expected="a PyTorch layer name or a block defined under 'blocks:'",
                found=repr(kind),
                hint=did_you_mean(kind, [*KINDS, *block_names]),
            )
        name: str | None = None
        sources: tuple[str, ...] = ()
        repeat: Arg | None = None
        args: list[tuple[str, Arg]] = []
        seen: set[str] = set()
        for arg_name, arg_key, value in pairs:
            if arg_name in seen:
                raise self.error(arg_key, f"argument {arg_name!r} given twice", f"{path} ({kind})")
            seen.add(arg_name)
            if arg_name == "name":
                name = self.name(value, path, "'name'")
            elif arg_name == "from":
                if isinstance(value, yaml.SequenceNode):
                    sources = tuple(self.name(v, path, "each 'from' entry") for v in value.value)
                else:
                    sources = (self.name(value, path, "'from'"),)
            elif arg_name == "repeat":
                repeat = self.arg(value, f"{path} ({kind})")
                if isinstance(repeat.raw, int) and repeat.raw > self.limits.max_repeat:
                    raise LimitError(
                        "repeat count too large",
                        position=repeat.position,
                        path=f"{path} ({kind})",
                        expected=f"at most {self.limits.max_repeat} (raise it with --max-repeat)",
                        found=str(repeat.raw),
                    )
            else:
                args.append((arg_name, self.arg(value, f"{path} ({kind})")))
        return LayerCall(kind, tuple(args), name, sources, repeat, self.pos(key), path, is_block)

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
                    raise self.error(arg_key, f"{arg_name!r} cannot be a block argument", f"{path}.args", hint="name, from and repeat are reserved")
                default = None
                if not (isinstance(value, yaml.ScalarNode) and value.tag == _NULL):
                    default = self.arg(value, f"{path}.args.{arg_name}")
                params.append((arg_name, default))
        residual = False
        if "residual" in fields:
            value = fields["residual"][1]
            if isinstance(value, yaml.ScalarNode) and value.tag == _STR and value.value == "auto":
                residual = "auto"  # add x only where F(x) keeps x's shape (torchvision's use_res_connect)
            elif not (isinstance(value, yaml.ScalarNode) and value.tag == _BOOL):
                raise self.error(value, "'residual' must be true, false or auto", path, found=_type_name(value))
            else:
                residual = self.scalar(value)
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
        return Block(name, tuple(params), layers, residual, shortcut, after, position)

    def spec(self, node: yaml.Node | None, default_name: str) -> Spec:
        if node is None:
            raise SpecError("the spec is empty", position=Position(self.source, 1, 1), expected="a mapping with input: and layers: or blocks:")
        fields = self.keyed(node, "", "the spec", TOP_KEYS, "top-level key")
        if "input" not in fields:
            raise self.error(node, "the spec has no 'input'", expected="input: [C, H, W]")
        input_node = fields["input"][1]
        if not isinstance(input_node, yaml.SequenceNode) or not input_node.value:
            raise self.error(input_node, "'input' must be a list of sizes", "input", expected="[C, H, W], [C, L] or [C, D, H, W]", found=_type_name(input_node))
        if len(input_node.value) > 8:
            raise self.error(input_node, "'input' has too many dimensions", "input", expected="at most 8", found=str(len(input_node.value)))
        inputs = tuple(self.arg(v, "input", 1) for v in input_node.value)
        if "layers" not in fields and "blocks" not in fields:
            raise self.error(node, "the spec has neither 'layers' nor 'blocks'", expected="a 'layers:' list and/or 'blocks:'")
        name = default_name
        if "name" in fields:
            name_node = fields["name"][1]
            if not isinstance(name_node, yaml.ScalarNode) or name_node.tag == _NULL:
                raise self.error(name_node, "'name' must be text", "name", found=_type_name(name_node))
            name = str(name_node.value)
        variables: list[tuple[str, Arg]] = []
        if "vars" in fields:
            for var, var_key, value in self.mapping(fields["vars"][1], "vars", "'vars'"):
                if not var.isidentifier() or var.startswith("__"):
                    raise self.error(var_key, f"{var!r} is not a valid variable name", "vars")
                variables.append((var, self.arg(value, f"vars.{var}")))
        blocks: dict[str, Block] = {}
        if "blocks" in fields:
            block_items = self.mapping(fields["blocks"][1], "blocks", "'blocks'")
            block_names = {k for k, _, _ in block_items}
            for block_name, block_key, _ in block_items:
                if lookup(block_name) is not None:
                    raise self.error(block_key, f"block name {block_name!r} is a layer type", f"blocks.{block_name}", hint="choose another name")
                if block_name in META_KEYS or block_name == INPUT_NAME:
                    raise self.error(block_key, f"{block_name!r} is reserved", f"blocks.{block_name}")
            for block_name, _, value in block_items:
                blocks[block_name] = self.block(block_name, value, block_names)
            _check_cycles(blocks, self.limits.max_depth)
        layers = None
        if "layers" in fields:
            layers = self.layer_list(fields["layers"][1], "layers", set(blocks), "'layers'")
        batch = self.arg(fields["batch"][1], "batch") if "batch" in fields else None
        unchecked = self.unchecked
        for calls in [layers or (), *(b.layers + b.shortcut + b.after for b in blocks.values())] if unchecked else ():
            for call in calls:
                if id(call) in unchecked:
                    _check_call_args(call, blocks)
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


def _int_scalar(text: str) -> int:
    if len(text) > MAX_LITERAL_CHARS:
        raise LimitError("integer literal too long", expected=f"at most {MAX_LITERAL_CHARS} characters", found=f"{len(text)} characters")
    value = _int_literal(text)
    if value.bit_length() > expr.MAX_RESULT_BITS:
        raise LimitError("integer too large", expected=f"a value below 2**{expr.MAX_RESULT_BITS}", found=f"about 2**{value.bit_length()}")
    return value


def _int_literal(text: str) -> int:
    cleaned = text.replace("_", "")
    sign = -1 if cleaned.startswith("-") else 1
    body = cleaned.lstrip("+-")
    if body.startswith("0x"):
        return sign * int(body[2:], 16)
    if body.startswith("0o"):
        return sign * int(body[2:], 8)
    if body.startswith("0b"):
        return sign * int(body[2:], 2)
    if ":" in body:
        total = 0
        for part in body.split(":"):
            total = total * 60 + int(part)
        return sign * total
    if len(body) > 1 and body.startswith("0"):
        return sign * int(body, 8)
    return sign * int(body)


def _float_scalar(text: str) -> float:
    cleaned = text.replace("_", "").lower()
    if cleaned in (".inf", "+.inf"):
        return float("inf")
    if cleaned == "-.inf":
        return float("-inf")
    if cleaned == ".nan":
        return float("nan")
    if ":" in cleaned:  # YAML 1.1 base 60: 190:20:30.15
        sign = -1.0 if cleaned.startswith("-") else 1.0
        total = 0.0
        for part in cleaned.lstrip("+-").split(":"):
            total = total * 60 + float(part)
        return sign * total
    return float(cleaned)


_PARAM_NAMES: dict[str, frozenset[str]] = {}
_ONE_INPUT_KINDS = frozenset(name for name, kind in KINDS.items() if kind.inputs == 1)
_QUOTES = frozenset(("'", '"'))
_SCALAR, _MAPPING = yaml.ScalarNode, yaml.MappingNode


_UNSEEN: Any = object()


def _plain_value(tag: str, text: str, style: Any) -> tuple[Any, int] | None:
    """A plain layer's argument value as the general path reads it, and the column offset of its
    position (past an opening quote, as _text_pos); None when plain_layer must leave it to the
    general path."""
    if tag == _STR:
        if len(text) > expr.MAX_EXPRESSION_LENGTH:
            return None
        raw: Any = text
    elif tag == _INT and text.isdigit() and text.isascii() and len(text) < 100 and (text[0] != "0" or len(text) == 1):
        raw = int(text)  # decimal without sign, underscores or a leading 0 (octal in YAML 1.1)
    elif tag == _BOOL:
        raw = text.lower() in ("true", "yes", "on", "y")
    elif tag == _NULL:
        raw = None
    else:
        return None
    return raw, 1 + (style in _QUOTES)


def _param_names(kind: Any) -> frozenset[str]:
    """A registered layer kind's argument names (cached: plain_layer asks once per layer)."""
    names = _PARAM_NAMES.get(kind.name)
    if names is None:
        names = _PARAM_NAMES[kind.name] = frozenset(p.name for p in kind.params)
    return names


def _check_call_args(call: LayerCall, blocks: dict[str, Block]) -> None:
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
                f"unknown argument {name!r} for {what}",
                position=arg.position,
                path=f"{call.path} ({call.kind})",
                expected="one of " + (", ".join(known) if known else "(no arguments)"),
                found=repr(name),
                hint=did_you_mean(name, known),
            )


def _check_cycles(blocks: dict[str, Block], max_depth: int) -> None:
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


def did_you_mean(word: str, candidates: Any) -> str | None:
    """A 'did you mean' hint for a misspelt name, or None."""
    import difflib

    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered:
        return f"did you mean {lowered[word.lower()]!r}? (names are case-sensitive)"
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"


def compose(text: str, source: str, limits: Limits = Limits()) -> yaml.Node | None:
    """Compose YAML text into nodes (safe loader only), mapping YAML errors to SpecError.

    Refused before composing: nesting deeper than MAX_YAML_DEPTH (libyaml's composer recurses
    in C and would crash) and more than `limits.max_nodes` values. Refused after: aliases that
    expand to more than `limits.max_nodes` values (billion laughs), recursive aliases, and tags
    other than YAML's plain ones (nothing is ever constructed from a tag).
    """
    try:
        _check_size(text, source, limits)
        node = yaml.compose(text, Loader=_FastSafeLoader)
    except yaml.MarkedYAMLError as exc:
        _count_exactly(text, source, limits)  # cnncalc's depth limit speaks before libyaml's own
        mark = exc.problem_mark or exc.context_mark
        position = _mark_position(source, mark) if mark else Position(source, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.context_mark is not None:  # e.g. while parsing a flow sequence
            problem += f" ({exc.context} that starts at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
        raise SpecError(f"invalid YAML: {problem}", position=position, hint=_yaml_hint(problem)) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        position = Position(source, before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1)
        found = f"character U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise SpecError("invalid YAML: control characters are not allowed", position=position, expected="printable text", found=found) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", position=Position(source, 1, 1)) from None
    except RecursionError:
        raise LimitError("YAML nested too deeply", position=Position(source, 1, 1), expected=f"at most {MAX_YAML_DEPTH} levels") from None
    if node is not None and ("&" in text or "!" in text):
        _check_nodes(node, source, limits)
    return node


def _yaml_hint(problem: str) -> str | None:
    if "tab" in problem or "cannot start any token" in problem:
        return "indent with spaces, not tabs; quote text that starts with a special character"
    if "mapping values are not allowed" in problem:
        return "a value holding ': ' must be quoted, or a nested mapping must start on its own line"
    if "flow sequence" in problem or "flow mapping" in problem:
        return "check that every [ and { is closed, and that items are separated by commas"
    if "block mapping" in problem or "block collection" in problem or "expected key" in problem:
        return "check the indentation: the keys of one mapping and the items of one list line up in one column"
    if "undefined alias" in problem:
        return "an alias (*name) needs an anchor (&name) above it"
    return None


def _stack_bytes() -> int:
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_STACK)[0]
    except (ImportError, OSError, ValueError):  # pragma: no cover - platform dependent
        soft = -1
    import threading

    if threading.current_thread() is not threading.main_thread():
        soft = threading.stack_size() or soft
    return soft if soft > 0 else 8 << 20


def _check_size(text: str, source: str, limits: Limits) -> None:
    """Refuse YAML nested deeper than MAX_YAML_DEPTH or holding too many values, before composing.

    cnncalc's own limit speaks first, whatever libyaml's version: libyaml's composer recurses
    in C (too deep a document would crash it) and newer libyaml builds refuse deep nesting with
    their own wording. Cheap bounds at C speed decide whether the exact count is needed: every
    level of nesting needs a `[` or `{`, or more columns at the start of a line.
    """
    sound_bound = text.count("[") + text.count("{") + 2 * max(map(len, text.splitlines()), default=0) + 2
    node_bound = (
        text.count(",") + text.count("-") + 2 * (text.count(":") + text.count("?"))
        + text.count("[") + text.count("{") + text.count("\n") + 1
    )
    if sound_bound <= MAX_YAML_DEPTH and node_bound <= limits.max_nodes:
        return
    # libyaml's composer uses about 350 bytes of C stack per level; keep a 2x margin.
    stack_safe = sound_bound <= min(_stack_bytes() // 768, 20_000)
    if stack_safe and node_bound <= limits.max_nodes and _depth_estimate(text) <= MAX_YAML_DEPTH:
        return
    _count_exactly(text, source, limits)


_BRACKETS_ONLY = re.compile(r"[^\[\]{}]+")
_INNERMOST_PAIR = re.compile(r"\[\]|\{\}|\[\}|\{\]")
_BLOCK_PREFIX = re.compile(r"^[ ?:-]*", re.MULTILINE)


def _depth_estimate(text: str) -> int:
    """Nesting depth of the brackets (quotes ignored) plus the longest run of indentation and
    block indicators that starts a line: exact for ordinary specs, and only a guide (the exact
    event count decides when it exceeds the limit)."""
    brackets = _BRACKETS_ONLY.sub("", text)
    flow = 0
    while brackets and flow <= MAX_YAML_DEPTH:
        brackets, removed = _INNERMOST_PAIR.subn("", brackets)
        if not removed:
            flow = MAX_YAML_DEPTH + 1  # unbalanced: let the exact count decide
            break
        flow += 1
    block = max(map(len, _BLOCK_PREFIX.findall(text)), default=0)
    return flow + block + 1


def _count_exactly(text: str, source: str, limits: Limits) -> None:
    """Count the parser's events: nesting depth and values, each refused past its limit.

    The parser reports a collection some characters after its opening bracket (it looks ahead
    on the line for a `:`); when libyaml stops with an error of its own before that (newer
    builds refuse 1,000 levels), the brackets between the last reported event and the error
    are counted here, so the refusal and its position are cnncalc's in every libyaml version.
    """
    depth = nodes = 0
    scanned_to = 0
    starts = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    try:
        for event in yaml.parse(text, Loader=_Loader):
            scanned_to = event.end_mark.index
            if isinstance(event, starts):
                depth += 1
                nodes += 1
                if depth > MAX_YAML_DEPTH:
                    raise _too_deep(_mark_position(source, event.start_mark))
            elif isinstance(event, ends):
                depth -= 1
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
            if nodes > limits.max_nodes:
                raise LimitError(
                    "the spec holds too many YAML values",
                    position=_mark_position(source, event.start_mark),
                    expected=f"at most {limits.max_nodes} values (raise it with --max-nodes)",
                    found=f"more than {limits.max_nodes}",
                )
    except yaml.MarkedYAMLError as exc:
        if exc.problem_mark is not None:
            _count_flow_tail(text, source, scanned_to, exc.problem_mark.index, depth)
        # any other YAML error is reported by the composer, with its own position


def _count_flow_tail(text: str, source: str, start: int, stop: int, depth: int) -> None:
    """Follow the flow brackets of text[start:stop] from `depth`; refuse one level too many."""
    for index in range(start, min(stop + 1, len(text))):
        char = text[index]
        if char in "[{":
            depth += 1
            if depth > MAX_YAML_DEPTH:
                line = text.count("\n", 0, index) + 1
                raise _too_deep(Position(source, line, index - text.rfind("\n", 0, index)))
        elif char in "]}":
            depth -= 1


def _too_deep(position: Position) -> LimitError:
    return LimitError(
        "YAML nested too deeply",
        position=position,
        expected=f"at most {MAX_YAML_DEPTH} levels of lists and mappings (a spec needs about 8)",
        found=f"more than {MAX_YAML_DEPTH} levels",
    )


def _mark_position(source: str, mark: Any) -> Position:
    return Position(source, mark.line + 1, mark.column + 1)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_nodes(root: yaml.Node, source: str, limits: Limits) -> None:
    """Count the values a document holds with aliases expanded; refuse recursion and odd tags.

    Aliases share nodes, so the composed graph stays small while its expansion can be
    astronomical; sizes are memoised per node, so this walk costs one visit per node.
    """
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    stack = [root]
    while stack:
        node = stack[-1]
        key = id(node)
        if key in sizes:
            stack.pop()
            continue
        children = _children(node)
        if key not in entered:
            entered.add(key)
            if node.tag not in _PLAIN_TAGS:
                raise _tag_error(source, node)
            for child in children:
                child_key = id(child)
                if child_key in entered and child_key not in sizes:
                    raise SpecError(
                        "a YAML alias refers to a list or mapping that contains it",
                        position=_mark_position(source, child.start_mark),
                        expected="aliases (*name) to finished values",
                        found="a recursive alias",
                    )
                if child_key not in sizes:
                    stack.append(child)
            continue
        stack.pop()
        sizes[key] = 1 + sum(sizes[id(child)] for child in children)
        if sizes[key] > limits.max_nodes:
            raise LimitError(
                "YAML aliases expand to too many values",
                position=_mark_position(source, node.start_mark),
                expected=f"at most {limits.max_nodes} values with aliases expanded (raise it with --max-nodes)",
                found=f"{sizes[key]} values",
                hint="a spec repeats layers with 'repeat:' or a block, not with nested aliases",
            )


def _tag_error(source: str, node: yaml.Node) -> SpecError:
    tag = str(node.tag)
    shown = "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag
    return SpecError(
        f"the YAML tag {clip(shown)!r} is not supported",
        position=_mark_position(source, node.start_mark),
        expected="plain YAML values (numbers, text, true/false, lists, mappings)",
        found=f"a value tagged {clip(shown)}",
        hint="remove the tag; cnncalc never constructs objects from YAML tags",
    )


def load_text(text: str, source: str = "<spec>", limits: Limits = Limits()) -> Spec:
    """Parse and validate a spec from YAML text."""
    if len(text) > limits.max_bytes:
        raise LimitError("spec file too large", position=Position(source, 1, 1), expected=f"at most {limits.max_bytes} bytes", found=f"{len(text)} bytes")
    stem = source.rsplit("/", 1)[-1].rsplit(".", 1)[0] if source not in ("-", "<stdin>") else "stdin"
    # Composed nodes and spec records hold no reference cycles, yet building hundreds of
    # thousands of them triggers the cyclic GC over and over (2-3x the time of a large file).
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Reader(source, limits).spec(compose(text, source, limits), stem)
    finally:
        if was_enabled:
            gc.enable()


def load_path(path: str, limits: Limits = Limits(), stdin_text: str | bytes | None = None) -> Spec:
    """Read and validate a spec file (`-` reads `stdin_text`), with clear errors for bad files."""
    if path == "-":
        if isinstance(stdin_text, bytes):
            return load_text(decode(stdin_text, "<stdin>"), "<stdin>", limits)
        return load_text(stdin_text or "", "<stdin>", limits)
    import os

    if os.path.isdir(path):
        raise SpecError("is a directory, not a spec file", position=Position(path, 1, 1), expected="a YAML file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except FileNotFoundError:
        raise SpecError(
            "no such file",
            position=Position(path, 1, 1),
            expected="a YAML spec file, '-' or the name of a shipped model",
            found="nothing at this path",
            hint="check the path; 'cnncalc zoo' lists the shipped models",
        ) from None
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror}", position=Position(path, 1, 1)) from None
    return load_text(decode(data, path), path, limits)


def decode(data: bytes, path: str) -> str:
    """Spec bytes as text: refuses binary files and invalid UTF-8 (naming the place), drops a BOM."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpecError("the file is UTF-16 text", position=Position(path, 1, 1), expected="UTF-8 text", found="a UTF-16 byte-order mark", hint="save the file as UTF-8")
    if b"\x00" in data[:8192]:
        raise SpecError("this is a binary file, not a YAML spec", position=Position(path, 1, 1), expected="a YAML text file", found="NUL bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            "the file is not valid UTF-8",
            position=Position(path, line, column),
            found=f"byte 0x{data[exc.start]:02x}",
            expected="UTF-8 text",
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


# ----------------------------------------------------------------------------- inline calls


def inline_calls(texts: list[str]) -> tuple[LayerCall, ...]:
    """Layer calls given on the command line (`--input SHAPE LAYER...`), parsed and checked as a spec's are."""
    calls = tuple(call_from_text(text, Position(f"<layer {i + 1}>", 1, 1), f"layer[{i}]") for i, text in enumerate(texts))
    for call in calls:
        kind = lookup(call.kind)
        assert kind is not None  # call_from_text knows no blocks here
        if kind.inputs > 1:
            raise SpecError(
                f"{call.kind} needs several inputs and cannot be used inline",
                position=call.position,
                path=f"{call.path} ({call.kind})",
                expected="a layer with one input",
                hint="write a spec file with 'from:' to merge branches",
            )
        _check_call_args(call, {})
    return calls


def call_from_text(text: str, position: Position, path: str, block_names: set[str] = frozenset()) -> LayerCall:  # type: ignore[assignment]
    """A PyTorch constructor call such as `nn.Conv2d(3, 64, 7, stride=2)`, parsed safely."""
    import ast

    if len(text) > expr.MAX_EXPRESSION_LENGTH:
        raise LimitError("layer call too long", position=position, expected=f"at most {expr.MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise SpecError(f"invalid layer call {text!r}: {exc.msg}", position=position, path=path) from None
    except (RecursionError, MemoryError, ValueError):
        raise LimitError("layer call too deeply nested", position=position, path=path) from None
    if not isinstance(tree, ast.Call):
        raise SpecError(
            f"not a layer call: {text!r}",
            position=position,
            path=path,
            expected="a PyTorch constructor call like Conv2d(3, 64, kernel_size=3)",
        )
    func = tree.func
    dotted: list[str] = []
    while isinstance(func, ast.Attribute):
        dotted.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        raise SpecError(f"not a layer name in {text!r}", position=position, path=path)
    dotted.append(func.id)
    dotted.reverse()
    if dotted[:-1] not in ([], ["nn"], ["torch", "nn"]):
        raise SpecError(
            f"{'.'.join(dotted)!r} is not a layer name",
            position=position,
            path=path,
            expected="Name(...), nn.Name(...) or torch.nn.Name(...)",
        )
    kind_name = dotted[-1]
    is_block = kind_name in block_names
    kind = lookup(kind_name)
    if kind is None and not is_block:
        raise SpecError(
            f"unknown layer type {kind_name!r}",
            position=position,
            path=path,
            expected="a PyTorch layer name",
            found=repr(kind_name),
            hint=did_you_mean(kind_name, list(KINDS)),
        )
    for node in tree.args:
        if isinstance(node, ast.Starred):
            raise SpecError("starred arguments are not allowed", position=position, path=path)
    if kind is not None and kind.ignores_args:
        # nn.Identity(*args, **kwargs) takes anything and ignores it; keep only cnncalc's meta keys.
        tree.args = []
        tree.keywords = [k for k in tree.keywords if k.arg in META_KEYS]
    names = [p.name for p in kind.params if not p.keyword] if kind is not None else []
    if len(tree.args) > len(names) and not is_block:
        raise SpecError(
            f"{kind_name} takes at most {len(names)} positional arguments",
            position=position,
            path=path,
            expected=f"{kind_name}({', '.join(names)})",
            found=f"{len(tree.args)} positional arguments",
        )
    if is_block and tree.args:
        raise SpecError("block calls take keyword arguments only", position=position, path=path)
    pairs: list[tuple[str, Arg]] = []
    for name, node in zip(names, tree.args):
        pairs.append((name, _arg_from_ast(node, text, position, f"{path} ({kind_name})")))
    for keyword in tree.keywords:
        if keyword.arg is None:
            raise SpecError("** arguments are not allowed", position=position, path=path)
        if any(keyword.arg == n for n, _ in pairs):
            raise SpecError(f"{kind_name} got multiple values for argument {keyword.arg!r}", position=position, path=path)
        pairs.append((keyword.arg, _arg_from_ast(keyword.value, text, position, f"{path} ({kind_name})")))
    name: str | None = None
    sources: tuple[str, ...] = ()
    repeat: Arg | None = None
    args: list[tuple[str, Arg]] = []
    for key, arg in pairs:
        if key == "name" and isinstance(arg.raw, str):
            name = arg.raw
        elif key == "from":
            values = arg.raw if isinstance(arg.raw, tuple) else (arg,)
            sources = tuple(str(v.raw) for v in values)
        elif key == "repeat":
            repeat = arg
        else:
            args.append((key, arg))
    return LayerCall(kind_name, tuple(args), name, sources, repeat, position, path, is_block)


def _arg_from_ast(node: Any, text: str, position: Position, path: str) -> Arg:
    """An inline-call argument: literals stay literals; anything else is checked as an expression."""
    import ast

    # the column of this argument inside the call, so that errors point at it
    position = Position(position.file, position.line, position.column + getattr(node, "col_offset", 0))
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool, str)) or (
        isinstance(node, ast.Constant) and node.value is None
    ):
        value = node.value
        if isinstance(value, str):
            # A quoted string is a keyword like 'same' or 'bilinear', never an expression.
            return Arg(_Keyword(value), position)
        if isinstance(value, int) and value.bit_length() > expr.MAX_RESULT_BITS:
            raise LimitError("integer too large", position=position, path=path, expected=f"a value below 2**{expr.MAX_RESULT_BITS}", found=f"about 2**{value.bit_length()}")
        return Arg(value, position)
    if isinstance(node, (ast.Tuple, ast.List)):
        if isinstance(node.ctx, ast.Load) and any(isinstance(e, (ast.Tuple, ast.List)) for e in node.elts):
            raise SpecError("nested tuples are not allowed in an argument", position=position, path=path, expected="a flat tuple of values")
        return Arg(tuple(_arg_from_ast(e, text, position, path) for e in node.elts), position)
    segment = ast.get_source_segment(text.strip(), node) or ast.unparse(node)
    try:
        expr.parse(segment, position)  # whitelist check now, so errors point at the call
    except CnncalcError as exc:
        raise exc.located(position, path) from None
    return Arg(segment, position)


class _Keyword(str):
    """A string argument that was quoted in an inline call: a keyword, not an expression."""


def is_keyword(value: Any) -> bool:
    """True for a quoted string from an inline call."""
    return isinstance(value, _Keyword)
