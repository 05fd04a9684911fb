"""The whitelist expression parser: spec arguments like `2*k`, `width//4`, `max(8, c//16)`.

Python's own parser (`ast.parse`) turns the text into a syntax tree; nothing is compiled or
executed. The tree is then checked node by node against a whitelist (numbers, names, strings,
+ - * / // % **, unary + and -, parentheses, tuples, and the calls min, max, ceil, floor, int
and make_divisible) and evaluated by this module against an environment of bound names. A
name that is not bound becomes a free sympy symbol where the caller allows it.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from cnncalc import arith
from cnncalc.arith import Fraction
from cnncalc.errors import CnncalcError, ExprError, LimitError, Position, clip

MAX_EXPRESSION_LENGTH = 2_000
MAX_EXPRESSION_DEPTH = 60
MAX_RESULT_BITS = 4_096
MAX_SYMBOLIC_EXPONENT = 100  # k**3 is a width polynomial; k**10**6 would stall the solver


def make_divisible(value: Any, divisor: Any = 8, min_value: Any = None) -> Any:
    """torchvision's `_make_divisible`: round a width to a multiple of `divisor`, at most 10% down."""
    if not all(arith.is_number(v) for v in (value, divisor)) or not (min_value is None or arith.is_number(min_value)):
        raise TypeError("make_divisible() needs numbers")
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return int(rounded)


def _truncate(value: Any) -> Any:
    if arith.is_number(value):
        return int(value)
    raise TypeError("int() needs a number")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": arith.minimum,
    "max": arith.maximum,
    "ceil": arith.ceil,
    "floor": arith.floor,
    "int": _truncate,
    "make_divisible": make_divisible,
}
_ONE_ARGUMENT = {"ceil", "floor", "int"}

_FORBIDDEN_NAMES = {
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.NamedExpr: "assignment expressions",
    ast.Starred: "starred arguments",
    ast.Dict: "dictionaries",
    ast.Set: "sets",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

# The allowed binary operators, with ast.Pow (its result is bounded before it is computed).
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: arith.add,
    ast.Sub: arith.sub,
    ast.Mult: arith.mul,
    ast.Div: arith.true_div,
    ast.FloorDiv: arith.floor_div,
    ast.Mod: arith.mod,
}


# Node shape references (`enc3.shape[-2:]`, `x.channels`): the attributes a node name takes,
# what each needs of the node's per-sample shape (channels first, no batch), and the metric
# names reserved for `solve` (`plain.params`), refused here with their own message.
SHAPE_ATTRIBUTES = ("shape", "channels", "spatial", "height", "width", "length")
# The metrics `cnncalc solve` reads in its constraints (`params`, `plain.macs`): one list, here,
# so that the parser, the solver and the docs agree on it (docs/grammar.md, "solve's metrics").
SOLVE_METRICS = (
    "params", "params_no_bias", "buffers", "macs", "flops", "activations", "activation_bytes", "peak", "peak_bytes",
    "train_memory", "rf_h", "rf_w", "out_c", "out_h", "out_w",
)
METRICS = tuple(dict.fromkeys((*SOLVE_METRICS, "bias", "memory", "cheap_ops", "ops", "bytes")))  # refused outside solve
NODE_KEY = "@"  # env key of a node's shape: "@" + its name
METRIC_KEY = "#"  # env key of a metric in a constraint: "#params" (the network's), "#plain.params" (a block's)


class Expr(str):
    """A checked expression: its text (this string, as written) and its syntax tree (`tree`).

    Parsed once, when a spec is read; evaluating it only binds names. It equals, hashes and
    prints as its text, since the tree is a function of the text. `refs`: the node names whose
    shapes it reads (`node_refs`).
    """

    tree: ast.expr
    refs: frozenset[str]

    def __new__(cls, text: str, tree: ast.expr) -> Expr:
        self = super().__new__(cls, text)
        self.tree = tree
        self.refs = _node_refs(tree)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (parse, (str(self),))


_cache: dict[str, Expr] = {}


_ALLOWED = (
    "numbers, names, + - * / // % **, comparisons, and/or/not, a if c else b, parentheses, node shapes (x.shape) and calls of "
    + ", ".join(sorted(FUNCTIONS))
)
BOOLEAN_NAMES = {"true": True, "false": False}  # besides Python's True and False (YAML's spelling)


def _error(
    text: str, message: str, node: ast.AST | None, position: Position | None, expected: str | None = None, found: str | None = None
) -> ExprError:
    where = position if node is None else _at(node, position)
    if found is None and node is not None and hasattr(node, "col_offset"):
        found = repr(clip(ast.get_source_segment(text.strip(), node) or ast.unparse(node), 40))
    return ExprError(f"{message} in expression {clip(text)!r}", position=where, expected=expected, found=found)


def _refuse(text: str, message: str, node: ast.AST | None, position: Position | None) -> ExprError:
    return _error(text, message, node, position, expected=_ALLOWED)


def parse(text: str, position: Position | None = None, *, metrics: bool = False) -> Expr:
    """Parse and whitelist-check `text`; raise ExprError naming what is not allowed.

    `metrics`: a constraint of `cnncalc solve`, where `BLOCK.metric` (one of SOLVE_METRICS) reads
    a block's metric and node shapes do not exist; everywhere else metrics are refused."""
    found = None if metrics else _cache.get(text)
    if found is not None:
        return found
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise LimitError(
            "expression too long",
            position=position,
            expected=f"at most {MAX_EXPRESSION_LENGTH} characters",
            found=f"{len(text)}",
        )
    if "\n" in text.strip() or "\r" in text:
        raise ExprError("an expression must be one line", position=position, expected="one line", found=repr(clip(text)))
    if "\x00" in text:
        raise ExprError("an expression cannot hold a NUL character", position=position, found=repr(clip(text)))
    stripped = text.strip()
    source, units = _with_units(stripped, position) if _MAYBE_UNIT.search(stripped) else (stripped, None)
    try:
        module = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        offset = (exc.offset or 1) - 1
        if units is not None:
            offset = units.column(offset)
        where = None if position is None else Position(position.file, position.line, position.column + offset)
        raise ExprError(
            f"invalid expression {clip(text)!r}: {exc.msg}",
            position=where,
            expected="an expression such as 2*k, width // 4 or max(8, c // 16)",
        ) from None
    except (RecursionError, MemoryError, ValueError):
        raise LimitError("expression too deeply nested or too large", position=position) from None
    tree = module.body if units is None else units.restore(module)
    _check(tree, text, position, 0, metrics)
    parsed = Expr(text, tree)
    if len(_cache) < 100_000 and not metrics:
        _cache[text] = parsed
    return parsed


# Units on number literals only (`5K`, `1.5M`, `64KiB`): powers of 1000 and of 1024, exact
# integers. `M` alone is a name. Python's parser does not read `5K`: each literal with a unit
# is rewritten to a placeholder name before parsing, and the tree then gets its exact integer
# back, with every node's columns mapped back to the text as written (errors point there).
UNITS = {"K": 1000, "M": 1000**2, "G": 1000**3, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
_MAYBE_UNIT = re.compile(r"[0-9.][KMG]")
_UNIT_LITERAL = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?<![\w.])([0-9](?:_?[0-9])*(?:\.[0-9]*)?|\.[0-9]+)(KiB|MiB|GiB|K|M|G)(?![\w.])""")


class _Units:
    """The literals with units of one expression: where each was written and where its
    placeholder stands in the rewritten text, and its value."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int, int, int, int]] = []  # (new start, new end, old start, old end, value)
        self.names: list[str] = []  # each literal's placeholder, a name the text does not hold

    def column(self, offset: int, *, end: bool = False) -> int:
        """An offset in the rewritten text as an offset in the text as written."""
        shift = 0
        for new_start, new_end, old_start, old_end, _ in self.spans:
            if offset < new_start or (end and offset == new_start):
                break
            if offset < new_end or (end and offset == new_end):
                return old_end if end else old_start
            shift = old_end - new_end
        return offset + shift

    def restore(self, module: ast.Expression) -> ast.expr:
        values = dict(zip(self.names, (span[4] for span in self.spans)))

        def constant(node: ast.AST) -> ast.AST:
            if isinstance(node, ast.Name) and node.id in values:
                return ast.copy_location(ast.Constant(values[node.id]), node)
            return node

        for node in ast.walk(module):
            for field, child in ast.iter_fields(node):
                if isinstance(child, ast.Name):
                    setattr(node, field, constant(child))
                elif isinstance(child, list):
                    child[:] = [constant(c) for c in child]
        for node in ast.walk(module):
            if isinstance(node, (ast.expr, ast.keyword)):
                node.col_offset = self.column(node.col_offset)
                if node.end_col_offset is not None:
                    node.end_col_offset = self.column(node.end_col_offset, end=True)
        return module.body


def _with_units(text: str, position: Position | None) -> tuple[str, _Units | None]:
    from fractions import Fraction as _Fraction

    units = _Units()
    prefix = "_unit"
    while prefix in text:
        prefix += "_"
    pieces: list[str] = []
    done = 0
    length = 0
    for match in _UNIT_LITERAL.finditer(text):
        if match.group(1) is not None:  # a string: left as it is
            continue
        number, unit = match.group(2), match.group(3)
        value = _Fraction(number.replace("_", "")) * UNITS[unit]
        if value.denominator != 1:
            raise ExprError(
                f"{match.group(0)} is not a whole number in expression {clip(text)!r}",
                position=None if position is None else Position(position.file, position.line, position.column + match.start()),
                expected="a number with a unit that comes to an integer (1.5K = 1500)",
                found=f"{match.group(0)} = {float(value)}",
            )
        pieces.append(text[done : match.start()])
        length += match.start() - done
        placeholder = f"{prefix}{len(units.spans)}"
        units.names.append(placeholder)
        units.spans.append((length, length + len(placeholder), match.start(), match.end(), int(value)))
        pieces.append(placeholder)
        length += len(placeholder)
        done = match.end()
    if not units.spans:
        return text, None
    pieces.append(text[done:])
    return "".join(pieces), units


def _check(node: ast.AST, text: str, position: Position | None, depth: int, metrics: bool = False) -> None:
    if depth > MAX_EXPRESSION_DEPTH:
        raise LimitError(
            "expression too deeply nested",
            position=position,
            expected=f"at most {MAX_EXPRESSION_DEPTH} levels of operators and parentheses",
            found=repr(clip(text)),
        )
    for kind, what in _FORBIDDEN_NAMES.items():
        if isinstance(node, kind):
            raise _refuse(text, f"{what} are not allowed", node, position)
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        if metrics:
            _check_metric(node, text, position)
        else:
            _check_node_ref(node, text, position)
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (bytes, complex)) or node.value is Ellipsis:
            raise _refuse(text, f"constant {node.value!r} is not allowed", node, position)
        return
    if isinstance(node, ast.Name):
        if node.id.startswith("__") or node.id.endswith("__"):
            raise _refuse(text, f"name {node.id!r} is not allowed", node, position)
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITH and type(node.op) is not ast.Pow:
            raise _refuse(text, "operator not allowed (use + - * / // % **)", node, position)
        _check(node.left, text, position, depth + 1, metrics)
        _check(node.right, text, position, depth + 1, metrics)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
            raise _refuse(text, "only unary + and - and not are allowed", node, position)
        _check(node.operand, text, position, depth + 1, metrics)
        return
    if isinstance(node, (ast.Tuple, ast.List)):
        for element in node.elts:
            _check(element, text, position, depth + 1, metrics)
        return
    if isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise _refuse(text, "comparison not allowed (use == != < <= > >=)", node, position)
        for operand in (node.left, *node.comparators):
            _check(operand, text, position, depth + 1, metrics)
        return
    if isinstance(node, (ast.IfExp, ast.BoolOp)):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                _check(child, text, position, depth + 1, metrics)
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise _refuse(text, f"call of {name!r} is not allowed", node, position)
        if node.keywords:
            raise _refuse(text, f"{node.func.id}() takes no keyword arguments", node, position)
        count = len(node.args)
        if node.func.id in _ONE_ARGUMENT and count != 1:
            raise _refuse(text, f"{node.func.id}() takes exactly one argument", node, position)
        if count == 0:
            raise _refuse(text, f"{node.func.id}() needs at least one argument", node, position)
        for arg in node.args:
            _check(arg, text, position, depth + 1, metrics)
        return
    raise _refuse(text, f"{type(node).__name__} is not allowed", node, position)


_SHAPE_FORMS = "NODE.shape, NODE.shape[i], NODE.shape[a:b], NODE.channels, NODE.spatial, NODE.height, NODE.width or NODE.length"


def _check_node_ref(node: ast.Attribute | ast.Subscript, text: str, position: Position | None) -> None:
    """Attribute-like access only in the named forms of a node's shape (`enc3.shape[-2:]`)."""
    if isinstance(node, ast.Subscript):
        base = node.value
        if not (isinstance(base, ast.Attribute) and base.attr == "shape"):
            raise _error(text, "subscripts are only allowed on a node's shape", node, position, expected=_SHAPE_FORMS)
        _check_node_ref(base, text, position)
        index = node.slice
        if isinstance(index, ast.Slice):
            if index.step is not None or not all(b is None or _constant_index(b) is not None for b in (index.lower, index.upper)):
                raise _error(text, "a shape slice takes integer constants only", index, position, expected="NODE.shape[a:b] with a, b integers (or left out)")
        elif _constant_index(index) is None:
            raise _error(text, "a shape index must be an integer constant", index, position, expected="NODE.shape[i] with i an integer such as 0 or -1")
        return
    base = node.value
    if not isinstance(base, ast.Name) or base.id.startswith("__") or base.id.endswith("__"):
        raise _error(text, "attribute access is only allowed on a node name", node, position, expected=_SHAPE_FORMS)
    if node.attr in METRICS:
        raise _error(
            text,
            f"{base.id}.{node.attr} is not available here (solve's metrics)",
            node,
            position,
            expected="a node's shape: " + _SHAPE_FORMS,
        )
    if node.attr not in SHAPE_ATTRIBUTES:
        from cnncalc.spec.checks import did_you_mean

        raise ExprError(
            f"unknown attribute {node.attr!r} of node {base.id!r} in expression {clip(text)!r}",
            position=_at(node, position),
            expected=_SHAPE_FORMS,
            found=repr(f"{base.id}.{node.attr}"),
            hint=did_you_mean(node.attr, SHAPE_ATTRIBUTES),
        )


def _check_metric(node: ast.Attribute | ast.Subscript, text: str, position: Position | None) -> None:
    """In a constraint, `BLOCK.metric` only (a block's metric, evaluated on its own)."""
    from cnncalc.spec.checks import did_you_mean

    forms = "BLOCK.metric with a metric among " + ", ".join(SOLVE_METRICS)
    if isinstance(node, ast.Subscript) or not isinstance(node.value, ast.Name) or node.value.id.startswith("__") or node.value.id.endswith("__"):
        raise _error(text, "a constraint reads metrics, not subscripts or nested attributes", node, position, expected=forms)
    if node.attr not in SOLVE_METRICS:
        at = (node.end_col_offset or 0) - len(node.attr)  # the metric's own column
        raise ExprError(
            f"unknown metric {node.attr!r} of block {node.value.id!r} in expression {clip(text)!r}",
            position=None if position is None else Position(position.file, position.line, position.column + at),
            expected=forms,
            found=repr(f"{node.value.id}.{node.attr}"),
            hint=did_you_mean(node.attr, SOLVE_METRICS),
        )


def _constant_index(node: ast.expr) -> int | None:
    """An integer constant, possibly negative (`2`, `-1`); None for anything else."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return sign * node.value
    return None


def _at(node: ast.AST, position: Position | None) -> Position | None:
    if position is None or not hasattr(node, "col_offset"):
        return position
    return Position(position.file, position.line, position.column + node.col_offset)


def _node_refs(tree: ast.expr) -> frozenset[str]:
    found = [n.value.id for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)]
    return frozenset(found) if found else _NO_REFS


_NO_REFS: frozenset[str] = frozenset()


def node_refs(parsed: Expr) -> frozenset[str]:
    """The node names whose shapes an expression reads (`enc3` in `enc3.shape[-2:]`)."""
    return parsed.refs


def names(parsed: Expr) -> set[str]:
    """The names an expression reads (function names such as `max`, and node names such as
    `enc3` in `enc3.spatial`, left out)."""
    found: set[str] = set()
    stack: list[ast.AST] = [parsed.tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            if node.id not in BOOLEAN_NAMES:
                found.add(node.id)
        elif isinstance(node, ast.Call):
            stack.extend(node.args)
        elif not isinstance(node, (ast.Attribute, ast.Subscript)):
            stack.extend(ast.iter_child_nodes(node))
    return found


Lookup = Callable[[str], Any]


def evaluate(
    parsed: Expr,
    env: Mapping[str, Any],
    *,
    position: Position | None = None,
    free: Lookup | None = None,
) -> Any:
    """Evaluate a checked tree; unbound names go to `free` (e.g. make a symbol) or are errors."""
    with _evaluating(parsed, position):
        return _eval(parsed.tree, parsed, env, position, free)


@contextmanager
def _evaluating(parsed: Any, position: Position | None) -> Iterator[None]:
    """Arithmetic failures while evaluating `parsed` as located expression errors."""
    try:
        yield
    except ZeroDivisionError:
        raise ExprError(
            f"division by zero in expression {clip(parsed)!r}", position=position, expected="a divisor other than 0", found="0"
        ) from None
    except CnncalcError:
        raise
    except (TypeError, OverflowError, ValueError) as exc:
        raise ExprError(f"cannot evaluate {clip(parsed)!r}: {exc}", position=position) from None


def _eval(node: ast.expr, text: str, env: Mapping[str, Any], position: Position | None, free: Lookup | None) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        name = node.id
        if name in BOOLEAN_NAMES:
            return BOOLEAN_NAMES[name]
        if name in env:
            return env[name]
        if free is not None:
            return free(name)
        raise _error(text, f"unbound name {name!r}", node, position, expected="a number or a name bound earlier")
    if isinstance(node, ast.IfExp):
        taken = node.body if _truth(_eval(node.test, text, env, position, free), node.test, text, position) else node.orelse
        return _eval(taken, text, env, position, free)
    if isinstance(node, ast.BoolOp):  # Python's and/or: the deciding operand, evaluated lazily
        found: Any = None
        for operand_node in node.values:
            found = _eval(operand_node, text, env, position, free)
            if _truth(found, operand_node, text, position) is isinstance(node.op, ast.Or):
                return found
        return found
    if isinstance(node, ast.Compare):
        left = _eval(node.left, text, env, position, free)
        for op, right_node in zip(node.ops, node.comparators):  # chained like Python: a < b < c
            right = _eval(right_node, text, env, position, free)
            if not _compare(op, left, right, node, text, position):
                return False
            left = right
        return True
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, text, env, position, free)
        if isinstance(node.op, ast.Not):
            return not _truth(operand, node.operand, text, position)
        _require_arith(operand, text, node, position)
        return arith.mul(-1, operand) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left = _eval(node.left, text, env, position, free)
        right = _eval(node.right, text, env, position, free)
        _require_arith(left, text, node, position)
        _require_arith(right, text, node, position)
        return _binary(node, left, right, text, position)
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_eval(e, text, env, position, free) for e in node.elts)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and METRIC_KEY + node.value.id + "." + node.attr in env:
        return env[METRIC_KEY + node.value.id + "." + node.attr]  # a block's metric (solve's constraints only)
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        return _node_shape(node, text, env, position)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        args = [_eval(a, text, env, position, free) for a in node.args]
        for arg in args:
            _require_arith(arg, text, node, position)
        return FUNCTIONS[node.func.id](*args)
    raise _error(text, f"{type(node).__name__} is not allowed", node, position)  # pragma: no cover


_COMPARE: dict[type, str] = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
# The sympy assumption that decides `difference OP 0` for a symbolic difference a - b.
_SIGN: dict[type, str] = {ast.Lt: "is_negative", ast.LtE: "is_nonpositive", ast.Gt: "is_positive", ast.GtE: "is_nonnegative"}


def _compare(op: ast.cmpop, left: Any, right: Any, node: ast.Compare, text: str, position: Position | None) -> bool:
    """`left OP right`, decided for every value of the free symbols, or a located error."""
    kind = type(op)
    if isinstance(left, str) or isinstance(right, str) or left is None or right is None:  # layer types, words
        if kind in (ast.Eq, ast.NotEq):
            return (left == right) is (kind is ast.Eq)
        raise _error(text, f"cannot order {clip(repr(left))} and {clip(repr(right))}", node, position, expected="numbers or symbols")
    if isinstance(left, tuple) or isinstance(right, tuple):
        if kind not in (ast.Eq, ast.NotEq):
            raise _error(text, "shapes and lists can only be compared with == and !=", node, position, expected="== or !=")
        if not (isinstance(left, tuple) and isinstance(right, tuple)) or len(left) != len(right):
            return kind is ast.NotEq
        verdicts = [_decide(ast.Eq, a, b, node, text, position) for a, b in zip(left, right)]
        return all(verdicts) is (kind is ast.Eq)
    return _decide(kind, left, right, node, text, position)


def _decide(kind: type, left: Any, right: Any, node: ast.Compare, text: str, position: Position | None) -> bool:
    if arith.is_number(left) and arith.is_number(right):
        return bool(_PYTHON_COMPARE[kind](left, right))
    if kind in (ast.Eq, ast.NotEq):
        verdict = arith.equal(left, right)
        if verdict is not None:
            return verdict is (kind is ast.Eq)
    else:
        difference = arith.sub(left, right)
        if arith.is_number(difference):
            return bool(_PYTHON_COMPARE[kind](difference, 0))
        verdict = getattr(difference, _SIGN[kind], None)
        if verdict is not None:
            return bool(verdict)
    raise _undecided(node, text, position, left, right)


def _truth(value: Any, node: ast.expr, text: str, position: Position | None) -> bool:
    """A condition's truth (Python's: a number is true unless 0), decided for every value of the
    free symbols, or a located error."""
    if isinstance(value, (bool, int, float)) or arith.is_number(value):
        return bool(value)
    if isinstance(value, (str, tuple)) or value is None:
        raise _error(text, f"a condition must be true, false or a number, not {clip(repr(value))}", node, position, expected="a comparison such as k > 2")
    verdict = getattr(value, "is_nonzero", None)
    if verdict is None:
        raise _undecided(node, text, position, value)
    return bool(verdict)


def _undecided(node: ast.expr, text: str, position: Position | None, *values: Any) -> ExprError:
    symbols = sorted({str(s) for v in values for s in getattr(v, "free_symbols", ())})
    condition = ast.get_source_segment(text.strip(), node) or ast.unparse(node)
    return ExprError(
        f"the condition {clip(condition, 80)!r} is undecided: it depends on the free symbol{'s' if len(symbols) > 1 else ''} {', '.join(symbols)}",
        position=_at(node, position),
        expected="a condition decided for every value of the free symbols",
        found=repr(clip(text)),
        hint="bind " + " and ".join(f"{s} with --set {s}=VALUE" for s in symbols),
    )


_PYTHON_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}


def _node_shape(node: ast.Attribute | ast.Subscript, text: str, env: Mapping[str, Any], position: Position | None) -> Any:
    """The value of a checked node shape reference, from env["@" + node name]."""
    attribute = node.value if isinstance(node, ast.Subscript) else node
    assert isinstance(attribute, ast.Attribute) and isinstance(attribute.value, ast.Name)
    name = attribute.value.id
    shape = env.get(NODE_KEY + name)
    if shape is None:
        raise _error(
            text, f"no node named {name!r} above this layer", attribute.value, position, expected="the name of a node above (a 'name:' in the same list) or input"
        )
    shape = tuple(shape)
    if isinstance(node, ast.Subscript):
        index = node.slice
        if isinstance(index, ast.Slice):
            lower = None if index.lower is None else _constant_index(index.lower)
            upper = None if index.upper is None else _constant_index(index.upper)
            return shape[lower:upper]
        i = _constant_index(index)
        assert i is not None
        if not -len(shape) <= i < len(shape):
            raise _error(text, f"index {i} is out of range for {name}'s shape {arith.shape_text(shape)}", index, position, expected=f"an index from {-len(shape)} to {len(shape) - 1}")
        return shape[i]
    attr = node.attr
    if attr == "shape":
        return shape
    if attr == "channels":
        return shape[0]
    if attr == "spatial":
        return shape[1:]
    needs = 2 if attr == "length" else 3
    if (len(shape) != 2) if attr == "length" else (len(shape) < 3):
        layout = "[C, L]" if attr == "length" else "[C, H, W] or [C, D, H, W]"
        raise _error(
            text, f"{name}.{attr} needs a node of shape {layout}", node, position, expected=f"{needs}{'' if needs == 2 else ' or more'} dimensions", found=f"{name}'s shape {arith.shape_text(shape)}"
        )
    return shape[-2] if attr == "height" else shape[-1]


def _require_arith(value: Any, text: str, node: ast.AST, position: Position | None) -> None:
    if isinstance(value, (str, tuple)) or value is None:
        raise _error(text, f"cannot do arithmetic on {clip(repr(value))}", node, position, expected="numbers or symbols")


def _binary(node: ast.BinOp, left: Any, right: Any, text: str, position: Position | None) -> Any:
    result = _binary_value(node, left, right, text, position)
    if isinstance(result, (int, Fraction)):
        # + - / of bounded operands stay cheap to compute, but their results (a Fraction's
        # denominator above all) can grow with every operation: bound them too.
        _check_bits(_bits(result), text, position)
    elif isinstance(node.op, (ast.Mult, ast.Pow)):
        terms = arith.expanded_terms(result)
        if terms > arith.MAX_EXPANDED_TERMS:
            raise _limit(text, "symbolic expression too large", f"at most {arith.MAX_EXPANDED_TERMS} terms once expanded", f"up to {terms} terms", position)
    return result


def _binary_value(node: ast.BinOp, left: Any, right: Any, text: str, position: Position | None) -> Any:
    op = type(node.op)
    if op is ast.Mult and arith.is_number(left) and arith.is_number(right):
        _check_bits(_bits(left) + _bits(right), text, position)
    if op is not ast.Pow:
        return _ARITH[op](left, right)
    # Power: bound the size of the result before computing it, so 9**9**9 fails at once.
    if not arith.is_number(right):
        raise _error(text, "the exponent must be a number", node, position, expected="a number, not a symbol")
    if isinstance(right, int):
        if isinstance(left, (int, Fraction)) and abs(left) not in (0, 1):
            _check_bits(abs(right) * _bits(left), text, position)
        elif not arith.is_number(left) and abs(right) > MAX_SYMBOLIC_EXPONENT:
            raise _limit(text, "exponent too large for a symbolic base", f"at most {MAX_SYMBOLIC_EXPONENT}", str(right), position)
        elif abs(right) > 10_000:
            raise _limit(text, "exponent too large", "at most 10000", str(right), position)
    if arith.is_number(left):
        if isinstance(right, int) and right < 0 and isinstance(left, int):
            return arith.true_div(1, left ** (-right))
        return left**right
    return arith.normalize(left**right)


def _bits(value: int | float | Fraction) -> int:
    if isinstance(value, int):
        return max(value.bit_length(), 1)
    if isinstance(value, float):
        return 64
    return max(value.numerator.bit_length(), value.denominator.bit_length(), 1)


def _limit(text: str, message: str, expected: str, found: str, position: Position | None) -> LimitError:
    return LimitError(f"{message} in expression {clip(text)!r}", position=position, expected=expected, found=found)


def _check_bits(bits: int, text: str, position: Position | None) -> None:
    if bits > MAX_RESULT_BITS:
        raise _limit(text, "number too large", f"results below 2**{MAX_RESULT_BITS}", f"about 2**{bits}", position)


# ----------------------------------------------------------------------------- solve's constraints

Relation = tuple[Any, ...]
"""A constraint's logic as data: ("cmp", op, left, right, text) with op one of == != < <= > >=
and left, right evaluated values; ("and", parts), ("or", parts), ("not", part); ("const", bool)."""


def metric_names(parsed: Expr) -> list[tuple[str, str, int]]:
    """(block or "", name, column) of every name an expression reads: bare names with block "",
    `plain.params` as ("plain", "params", ...). Columns count from 0 in the stripped text."""
    found: list[tuple[str, str, int]] = []
    bases = {id(n.value) for n in ast.walk(parsed.tree) if isinstance(n, ast.Attribute)}
    calls = {id(n.func) for n in ast.walk(parsed.tree) if isinstance(n, ast.Call)}
    for node in ast.walk(parsed.tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found.append((node.value.id, node.attr, node.col_offset))
        elif isinstance(node, ast.Name) and node.id not in BOOLEAN_NAMES and id(node) not in bases and id(node) not in calls:
            found.append(("", node.id, node.col_offset))
    return sorted(found, key=lambda f: f[2])


def relations(parsed: Expr, env: Mapping[str, Any], *, position: Position | None = None) -> Relation:
    """A constraint (comparisons joined by and/or/not, chained like Python) with each compared
    side evaluated against `env` (metrics under METRIC_KEY, symbols by name) but the comparisons
    kept as data for the solver: nothing is decided here."""
    text = str(parsed)

    def side(node: ast.expr) -> Any:
        value = _eval(node, text, env, position, None)
        _require_arith(value, text, node, position)
        if isinstance(value, bool):
            raise _error(text, "a comparison compares numbers, not conditions", node, position, expected="a number, a metric or a symbol")
        return value

    def walk(node: ast.expr) -> Relation:
        if isinstance(node, ast.BoolOp):
            return ("and" if isinstance(node.op, ast.And) else "or", tuple(walk(v) for v in node.values))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ("not", walk(node.operand))
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return ("const", node.value)
        if isinstance(node, ast.Compare):
            values = [side(node.left), *(side(c) for c in node.comparators)]
            operands = [node.left, *node.comparators]
            atoms = tuple(
                ("cmp", _COMPARE[type(op)], values[i], values[i + 1], _segment(text, operands[i], operands[i + 1], op))
                for i, op in enumerate(node.ops)
            )
            return atoms[0] if len(atoms) == 1 else ("and", atoms)
        raise _error(text, "a constraint must be a comparison", node, position, expected="comparisons such as params <= 5M, joined by and, or, not")

    with _evaluating(parsed, position):
        return walk(_exact_decimals(parsed))


def exact_value(parsed: Expr, env: Mapping[str, Any], *, position: Position | None = None) -> Any:
    """An objective of solve (`params`, `k1 + k2`): evaluated like `evaluate`, decimals exact."""
    text = str(parsed)
    with _evaluating(parsed, position):
        value = _eval(_exact_decimals(parsed), text, env, position, None)
    if isinstance(value, tuple):
        return tuple(value)
    _require_arith(value, text, parsed.tree, position)
    return value


def _exact_decimals(parsed: Expr) -> ast.expr:
    """The tree with each decimal literal an exact Fraction, read from its text as written
    (`0.4` is 2/5, never the float nearest to it)."""
    import copy

    tree = copy.deepcopy(parsed.tree)
    source = str(parsed).strip()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            written = ast.get_source_segment(source, node) or repr(node.value)
            try:
                exact = Fraction(written.replace("_", ""))
            except ValueError:
                exact = Fraction(repr(node.value))
            setattr(node, "value", exact)  # noqa: B010 - a Fraction where ast expects a float
    return tree


def _segment(text: str, left: ast.expr, right: ast.expr, op: ast.cmpop) -> str:
    """One comparison of a chain as written: `0.4*plain.params <= bottleneck.params`."""
    source = text.strip()
    a = ast.get_source_segment(source, left) or ast.unparse(left)
    b = ast.get_source_segment(source, right) or ast.unparse(right)
    return f"{a} {_COMPARE[type(op)]} {b}"
