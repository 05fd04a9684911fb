"""One layer on its inputs: its arguments bound, its outcome computed by the layer's rule, its
sizes bounded; and reused when the same layer meets the same inputs again (flat files and
repeated blocks do, over and over)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cnncalc import arith
from cnncalc.analysis import bind
from cnncalc.conditions import Condition
from cnncalc.errors import CnncalcError, LimitError, Position, ShapeError, SpecError, with_shapes
from cnncalc.layers import REQUIRED, LayerKind, Param, Shape, apply, check_arg_type
from cnncalc.spec import LayerCall

MAX_SIZE_BITS = 16_384  # sizes, params and MACs of one layer; exact ints, but not unbounded work
MAX_SYMBOLIC_NESTING = 48
_INT_ONLY = frozenset((int,))
_LITERALS = frozenset((int, float, bool, type(None)))

Found = tuple[Any, tuple[tuple[str, Any], ...]]  # a layer's outcome, and its evaluated arguments

# The counts a command may print besides shapes; `Outcomes(counts=...)` checks only those it is
# given: `shape` prints none, so a symbolic MAC count it never shows cannot refuse it.
COUNTS = frozenset(("params", "macs"))


class Outcomes:
    """Layer outcomes of one evaluation, with the cache that reuses them (off with --explain,
    whose steps name each layer's own path)."""

    def __init__(self, *, explain: bool, training: bool, counts: frozenset[str] = COUNTS, max_symbolic: int | None = None) -> None:
        self.explain = explain
        self.training = training
        self.counts = counts  # the counts the command prints (COUNTS' names): only they are checked
        self.cache: dict[Any, Found] = {}  # layer on its inputs -> found
        # What must hold of the free symbols, each once, with the first layer that needs it.
        self.conditions: dict[tuple[str, Any], Condition] = {}
        self.max_symbolic = max_symbolic  # outcomes with free symbols computed (sympy's work), at most
        self.symbolic = 0
        self.free: Callable[[str], Any] = arith.symbol  # what an unbound name is (Expander.free: a type or a symbol)
        self.per_sample = False  # a spec's evaluation: every tensor has the batch in front (set by Evaluator)

    def outcome(self, kind: LayerKind, call: LayerCall, env: Mapping[str, Any], inputs: tuple[Shape, ...], path: str) -> Found:
        """A layer's outcome on its inputs and its evaluated arguments; reused when met before."""
        literal = None if self.explain else literal_key(kind, call, inputs)
        if literal is not None:
            cached = self.cache.get(literal)
            if cached is not None:  # this very layer (literal arguments) on this input before
                return cached
        where = f"{path} ({call.kind})"
        args = layer_args(kind, call, env, where, self.free)
        key = None if self.explain else _outcome_key(kind, args, inputs)
        if key is not None:
            try:
                cached = self.cache.get(key)
            except TypeError:  # an unhashable argument value
                key = cached = None
            if cached is not None:
                return cached
        try:
            if self.per_sample and kind.spatial and len(inputs[0]) != kind.spatial + 2 and kind.unbatched:
                raise _unbatched(kind, inputs[0])
            outcome = apply(kind, args, inputs, explain=self.explain, training=self.training)
        except CnncalcError as exc:
            raise with_shapes(exc.located(call.position, where), *inputs) from None
        except (ZeroDivisionError, ValueError, TypeError, OverflowError) as exc:
            raise ShapeError(f"cannot evaluate {kind.name}: {exc}", position=call.position, path=where) from None
        except RecursionError:
            raise LimitError(
                "symbolic sizes nested too deeply to evaluate",
                position=call.position,
                path=where,
                hint="bind the symbols with --set NAME=VALUE",
            ) from None
        if _check_sizes(outcome, call.position, where, self.counts):
            self.symbolic += 1
            if self.max_symbolic is not None and self.symbolic > self.max_symbolic:
                raise symbolic_limit(self.max_symbolic, call.position, where, f"more than {self.max_symbolic}")
        for condition in outcome.conditions:
            self.conditions.setdefault((condition.kind, condition.difference), condition._replace(path=where, position=call.position))
        found = (outcome, tuple(args.items()))
        if key is not None:
            self.cache[key] = found
        if literal is not None:
            self.cache[literal] = found
        return found


def _unbatched(kind: LayerKind, x: Shape) -> ShapeError:
    from cnncalc.layers.base import AXES, shape_text

    wanted = ", ".join(("C", *AXES[kind.spatial]))
    return ShapeError(
        f"{kind.name} takes a per-sample input of {kind.spatial + 1} dimensions, [{wanted}]",
        expected=f"[{wanted}] (the batch, in front, is the spec's 'batch:')",
        found=f"input {shape_text(x[1:])}",
        hint="a spec's input and --input are per sample: leave the batch out (the spec's 'batch:' sets it)"
        if len(x) > kind.spatial + 2
        else "give the spec's input (or --input) the channels and every spatial size",
    )


def layer_args(kind: LayerKind, call: LayerCall, env: Mapping[str, Any], path: str, free: Callable[[str], Any] = arith.symbol) -> dict[str, Any]:
    """A layer's arguments bound and type-checked, its defaults filled in; a missing one refused.
    An unbound name goes to `free` (see `bind.value`)."""
    defaults, params, required = _signature(kind)
    args = dict(defaults)
    for name, arg in call.args:
        try:
            args[name] = check_arg_type(params[name], bind.value(arg, env, path, free))
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


def literal_key(kind: LayerKind, call: LayerCall, inputs: tuple[Shape, ...]) -> Any:
    """A key for a layer whose arguments are all literal numbers, booleans or nulls: its outcome
    depends on nothing else, so it is reused before its arguments are even evaluated (typed, as
    in `_outcome_key`; None when an argument is an expression, a string or a list).

    Flat: (kind, inputs, name, value, type, name, value, type, ...), 2 + 3n items, never the
    4 of an `_outcome_key` in the same cache."""
    args = call.args
    if not args:
        return (id(kind), inputs)
    key: list[Any] = [id(kind), inputs]
    append = key.append
    for name, (raw, _) in args:
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
    types: tuple[Any, ...] = tuple(map(type, values))
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


def _check_sizes(outcome: Any, position: Position, where: str, counts: frozenset[str] = COUNTS) -> bool:
    """Refuse a layer whose sizes or counts grow without bound (a chain of x1e6 upsamplings);
    of the counts, only those in `counts` (the ones the command prints). True when they hold
    free symbols."""
    values = (*outcome.output, outcome.params, outcome.macs)
    if set(map(type, values)) <= _INT_ONLY and max(values).bit_length() <= MAX_SIZE_BITS and min(values) >= 0:
        return False  # plain, bounded ints: the common case, at C speed
    for value in outcome.output:
        _check_size("output size", value, position, where)
    if "params" in counts:
        _check_size("parameter count", outcome.params, position, where)
    if "macs" in counts:
        _check_size("MAC count", outcome.macs, position, where)
    return any(map(arith.is_symbolic, values))


def symbolic_limit(limit: int, position: Position | None, where: str, found: str) -> LimitError:
    """The error of too many layers with symbolic sizes (--max-symbolic-layers)."""
    return LimitError(
        "too many layers with symbolic sizes or counts",
        position=position,
        path=where,
        expected=f"at most {limit} (raise it with --max-symbolic-layers)",
        found=found,
        hint="bind some symbols with --set NAME=VALUE",
    )


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
