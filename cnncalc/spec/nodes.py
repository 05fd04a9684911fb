"""YAML text -> composed nodes, with the place of every node, under resource guards.

A spec is composed into nodes (never constructed into Python objects): that is faster, and
keeps the line and column of every node, so that every later error can point at its source.
Refused here, before or while composing: nesting too deep for libyaml's recursive composer,
too many values, aliases that expand to too many (billion laughs) or contain themselves, and
every tag but YAML's plain ones. `scalar_value` reads a scalar node as YAML 1.1 does.
"""

from __future__ import annotations

import functools
import re
from typing import Any

# (PyYAML ships no types: `unused-ignore` keeps this line clean where types-PyYAML is installed)
import yaml  # type: ignore[import-untyped, unused-ignore]

from cnncalc.errors import LimitError, Position, SpecError, clip, quoted
from cnncalc.spec.expr import MAX_RESULT_BITS
from cnncalc.spec.model import Limits

try:  # the C composer when PyYAML was built with libyaml
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment, unused-ignore]

SafeLoader = _SafeLoader  # PyYAML's safe loader, the only one cnncalc uses


def _resolve(kind: Any, value: Any, implicit: Any) -> Any:
    # A safe loader's resolver reads only class-level tables when it has no path resolvers
    # (asserted below): the tag depends on the arguments alone.
    return _SafeLoader.resolve(_RESOLVER, kind, value, implicit)  # type: ignore[no-untyped-call, unused-ignore]


_RESOLVER = _SafeLoader.__new__(_SafeLoader)


class FastSafeLoader(_SafeLoader):  # type: ignore[misc, unused-ignore]  # (untyped PyYAML: a subclass of Any)
    """The safe loader, composing a third faster: the same nodes and tags.

    A speed trick kept for the flat-file budget (benchmarks/run.py, flat: load + evaluation
    <= 1.5x PyYAML's own compose): the C parser asks Python for every node's tag (for a
    scalar, a loop of regular expressions) and calls two path-resolver hooks per node. A spec
    repeats its scalars (`out_channels`, `3`, `ReLU`): tags are memoised in C (an LRU cache,
    bounded), and the hooks, no-ops without path resolvers (a safe loader has none), are bound
    to C builtins that do nothing useful: a discarded slice, an empty tuple. Measured with
    valgrind: with the plain safe loader, reading 10,000 flat layers costs 28% more.
    """

    # (the builtins stand in for methods of other signatures: ignored for mypy, on purpose)
    descend_resolver = slice  # type: ignore[assignment, unused-ignore]  # called as self.descend_resolver(node, index)
    ascend_resolver = tuple  # type: ignore[assignment, unused-ignore]  # called as self.ascend_resolver()
    resolve = staticmethod(functools.lru_cache(maxsize=512)(_resolve))  # called as self.resolve(kind, value, implicit)


assert not FastSafeLoader.yaml_path_resolvers, "the no-op resolver hooks above assume no path resolvers"

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
SEQ = "tag:yaml.org,2002:seq"
MAP = "tag:yaml.org,2002:map"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
MERGE = "tag:yaml.org,2002:merge"
# Tags a spec may carry; any other (!!python/..., !!binary, !custom) is refused, never constructed.
PLAIN_TAGS = frozenset((STR, INT, FLOAT, BOOL, NULL, SEQ, MAP, TIMESTAMP, MERGE))
MAX_YAML_DEPTH = 200  # a spec nests about 8 levels; deeper YAML is refused before it is composed
MAX_LITERAL_CHARS = 1_300  # an integer literal below 2**4096 has at most 1234 digits
TRUE_WORDS = ("true", "yes", "on", "y")  # YAML 1.1 booleans, lower-cased
FALSE_WORDS = ("false", "no", "off", "n")
NULL_WORDS = ("", "~", "null", "Null", "NULL")  # YAML 1.1 nulls, as written


# ----------------------------------------------------------------------------- places and values


def mark_position(source: str, mark: Any) -> Position:
    """A YAML mark (0-based line and column) as a Position."""
    return Position(source, mark.line + 1, mark.column + 1)


def text_position(source: str, node: yaml.Node) -> Position:
    """Where a scalar's text starts: past its opening quote, so columns inside it are exact."""
    mark = node.start_mark
    return Position(source, mark.line + 1, mark.column + 1 + (getattr(node, "style", None) in ("'", '"')))


def type_name(node: yaml.Node) -> str:
    """A node as an error message names what was found: a mapping, a list or the value."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.end_mark.line > node.start_mark.line and node.style != "|" and node.value.strip():
        # folded over several lines (plain, quoted or '>'), its line breaks are spaces by now:
        # quoted by its first word, which is on its first line, never the lines below
        return f"a text of several lines starting {quoted(node.value.split(None, 1)[0])}"
    return quoted(node.value) if node.value else "an empty value"


def scalar_value(node: yaml.ScalarNode, source: str, path: str | None = None) -> str | int | float | bool | None:
    """A scalar node's value by its tag: text, an integer, a float, a boolean or None; a date
    or any other tag is refused."""
    tag = node.tag
    value: str = node.value
    if tag == STR:
        return value
    if tag in (INT, FLOAT):
        what = "an integer" if tag == INT else "a number"
        try:
            return int_scalar(value) if tag == INT else float_scalar(value)
        except SpecError as exc:
            raise exc.located(mark_position(source, node.start_mark), path) from None
        except ValueError:
            raise SpecError(
                f"{clip(value)!r} is not {what}", position=mark_position(source, node.start_mark), path=path, expected=what, found=repr(clip(value))
            ) from None
    if tag in (BOOL, NULL):
        check_tagged_value(node, source, path)
        return None if tag == NULL else value.lower() in TRUE_WORDS
    if tag == TIMESTAMP:
        raise SpecError(
            f"{quoted(value)} reads as a date in YAML",
            position=mark_position(source, node.start_mark),
            path=path,
            expected="a number, a name or an expression",
            found=f"the date {clip(value)}",
            hint=f"quote it ('{clip(value)}') if it is meant as an expression",
        )
    raise tag_error(source, node).located(None, path)


def check_tagged_value(node: yaml.Node, source: str, path: str | None = None) -> None:
    """Refuse a node whose value its tag cannot hold: `!!bool maybe`, `!!null x`, a list tagged
    `!!str`. Only an explicit tag makes one (YAML resolves untagged values to fitting tags), and
    PyYAML's composer accepts them all: they would read silently as false, as None, or as if
    untagged."""
    tag = node.tag
    shown = "!!" + str(tag).removeprefix("tag:yaml.org,2002:")
    if isinstance(node, yaml.ScalarNode):
        value = node.value
        if tag == BOOL and value.lower() not in TRUE_WORDS + FALSE_WORDS:
            what, expected = "a boolean", "true or false (or yes/no, on/off)"
        elif tag == NULL and value not in NULL_WORDS:
            what, expected = "null", "null, ~ or nothing"
        elif tag in (SEQ, MAP):
            what = expected = "a list" if tag == SEQ else "a mapping"
        else:
            return
        message, found = f"{clip(value)!r} tagged {shown} is not {what}", repr(clip(value))
    else:
        fits = SEQ if isinstance(node, yaml.SequenceNode) else MAP
        if tag == fits:
            return
        found = type_name(node)
        message, expected = f"the tag {clip(shown)} does not fit {found}", f"{found} without a tag"
    raise SpecError(
        message,
        position=mark_position(source, node.start_mark),
        path=path,
        expected=f"{expected} after {clip(shown)}" if isinstance(node, yaml.ScalarNode) else expected,
        found=found,
        hint="remove the tag, or write a value it allows",
    )


def int_scalar(text: str) -> int:
    if len(text) > MAX_LITERAL_CHARS:
        raise LimitError("integer literal too long", expected=f"at most {MAX_LITERAL_CHARS} characters", found=f"{len(text)} characters")
    value = _int_literal(text)
    if value.bit_length() > MAX_RESULT_BITS:
        raise LimitError("integer too large", expected=f"a value below 2**{MAX_RESULT_BITS}", found=f"about 2**{value.bit_length()}")
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


def float_scalar(text: str) -> float:
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




# ----------------------------------------------------------------------------- composing, guarded


def compose(text: str, source: str, limits: Limits = Limits()) -> yaml.Node | None:
    """Compose YAML text into nodes (safe loader only), mapping YAML errors to SpecError.

    Refused before composing: nesting deeper than MAX_YAML_DEPTH (libyaml's composer recurses
    in C and would crash) and more than `limits.max_nodes` values. Refused after: aliases that
    expand to more than `limits.max_nodes` values (billion laughs), recursive aliases, and tags
    other than YAML's plain ones (nothing is ever constructed from a tag).
    """
    try:
        _check_size(text, source, limits)
        node = yaml.compose(text, Loader=FastSafeLoader)
    except yaml.MarkedYAMLError as exc:
        _count_exactly(text, source, limits)  # cnncalc's depth limit speaks before libyaml's own
        mark = exc.problem_mark or exc.context_mark
        position = mark_position(source, mark) if mark else Position(source, 1, 1)
        # the parser's description only (PyYAML's str(exc) would quote the lines around the mark);
        # the pure-Python parser names a character or an alias in it: clipped like any token
        problem = clip(str(exc.problem or exc.context or "invalid YAML").partition("\n")[0], 120)
        if exc.problem and exc.context and exc.context_mark is not None:  # e.g. while parsing a flow sequence
            problem += f" ({exc.context} that starts at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
        raise SpecError(f"invalid YAML: {problem}", position=position, hint=_yaml_hint(problem)) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        position = Position(source, before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1)
        found = f"character U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise SpecError("invalid YAML: control characters are not allowed", position=position, expected="printable text", found=found) from None
    except yaml.YAMLError as exc:
        first_line = str(exc).partition("\n")[0]
        raise SpecError(f"invalid YAML: {clip(first_line, 120)}", position=Position(source, 1, 1)) from None
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
    if stack_safe and node_bound <= limits.max_nodes and not _may_nest_too_deeply(text):
        return
    _count_exactly(text, source, limits)


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")  # UTF-8: no other byte is a bracket
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}|\[\}|\{\]")


def _may_nest_too_deeply(text: str) -> bool:
    """Whether the nesting depth of the brackets (quotes ignored) plus the longest run of
    indentation and block indicators that starts a line may exceed MAX_YAML_DEPTH: exact for
    ordinary specs, and only a guide (the exact event count decides). On the start-up path of
    every spec of more than a few lines: bytes.translate and one search keep it near 0.1 ms
    for 1,000 layers (a regex over the text, or a list of line prefixes, took ten times that)."""
    brackets = text.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS)
    flow = 0
    while brackets:
        brackets, removed = _INNERMOST_PAIR.subn(b"", brackets)
        flow += 1
        if not removed or flow > MAX_YAML_DEPTH:
            return True  # unbalanced or deep: let the exact count decide
    room = MAX_YAML_DEPTH - flow  # the block levels left: flow + block + 1 <= MAX_YAML_DEPTH
    return room <= 0 or re.search(r"\n[ ?:-]{%d}" % room, "\n" + text) is not None


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
        for event in yaml.parse(text, Loader=SafeLoader):
            scanned_to = event.end_mark.index if event.end_mark is not None else scanned_to
            if isinstance(event, starts):
                depth += 1
                nodes += 1
                if depth > MAX_YAML_DEPTH:
                    raise _too_deep(mark_position(source, event.start_mark))
            elif isinstance(event, ends):
                depth -= 1
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
            if nodes > limits.max_nodes:
                raise LimitError(
                    "the spec holds too many YAML values",
                    position=mark_position(source, event.start_mark),
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
            if node.tag not in PLAIN_TAGS:
                raise tag_error(source, node)
            check_tagged_value(node, source)
            for child in children:
                child_key = id(child)
                if child_key in entered and child_key not in sizes:
                    raise SpecError(
                        "a YAML alias refers to a list or mapping that contains it",
                        position=mark_position(source, child.start_mark),
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
                position=mark_position(source, node.start_mark),
                expected=f"at most {limits.max_nodes} values with aliases expanded (raise it with --max-nodes)",
                found=f"{sizes[key]} values",
                hint="a spec repeats layers with 'repeat:' or a block, not with nested aliases",
            )


def tag_error(source: str, node: yaml.Node) -> SpecError:
    tag = str(node.tag)
    shown = "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag
    return SpecError(
        f"the YAML tag {clip(shown)!r} is not supported",
        position=mark_position(source, node.start_mark),
        expected="plain YAML values (numbers, text, true/false, lists, mappings)",
        found=f"a value tagged {clip(shown)}",
        hint="remove the tag; cnncalc never constructs objects from YAML tags",
    )

