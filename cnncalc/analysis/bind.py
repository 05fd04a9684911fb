"""Binding a spec's arguments in an environment of names: the only evaluation an argument needs,
since the reader has parsed every expression already."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cnncalc import arith
from cnncalc.errors import CnncalcError, SpecError, clip
from cnncalc.spec import Arg, Expr, expr


def value(arg: Arg, env: Mapping[str, Any], path: str, free: Callable[[str], Any] = arith.symbol) -> Any:
    """An argument's value: a literal or word as written, an expression evaluated with `env`'s
    names bound (any other name goes to `free`: a free symbol, or for a block's arguments a
    layer type, see `Expander.free`), a tuple element by element."""
    raw = arg.raw
    if isinstance(raw, Expr):
        try:
            return expr.evaluate(raw, env, position=arg.position, free=free)
        except CnncalcError as exc:
            raise exc.located(arg.position, path) from None
    if isinstance(raw, tuple):
        return tuple(value(a, env, path, free) for a in raw)
    return raw


def count(number: Any, what: str, arg: Arg, path: str, minimum: int) -> int:
    """A value that must be a plain integer (repeat counts, the batch size)."""
    if not isinstance(number, int) or isinstance(number, bool):
        symbolic = arith.is_symbolic(number)
        raise SpecError(
            f"{what} must be a number",
            position=arg.position,
            path=path,
            expected="an integer",
            found="a free symbol " + clip(arith.as_text(number)) if symbolic else clip(repr(number)),
            hint="bind the symbol with --set NAME=VALUE" if symbolic else None,
        )
    if number < minimum:
        raise SpecError(f"{what} must be at least {minimum}", position=arg.position, path=path, found=str(number))
    return number
