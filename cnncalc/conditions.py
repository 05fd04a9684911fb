"""Validity conditions: what PyTorch requires of a layer, kept as a condition on the free symbols
when a symbolic value leaves it undecided.

A layer rule asks `at_least`, `equal` or `divides` wherever PyTorch checks something (a size
>= 1, channels divisible by groups, in_channels equal to the incoming channels). For numbers
the answer is plain True or False and the rule raises its own error on False, as before. For a
symbolic value sympy decides when it can (False: the requirement can never hold, an error at
once); when it cannot, the requirement is recorded as a `Condition` and the answer is None: the
rule goes on, and `cnncalc.layers.apply` hands the recorded conditions out with the outcome.

Numbers never import sympy here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cnncalc import arith


class Condition(NamedTuple):
    """One requirement on the free symbols: `lhs >= rhs` ("ge"), `lhs == rhs` ("eq"),
    `lhs != rhs` ("ne") or "`lhs` is an integer" ("int"); `reason` says what PyTorch requires,
    in its own terms."""

    kind: str
    lhs: Any
    rhs: Any
    reason: str
    path: str = ""  # the layer it comes from, filled in by the analysis
    position: Any = None  # that layer's place in the spec (cnncalc.errors.Position)

    @property
    def difference(self) -> Any:
        """lhs - rhs (for "int": lhs): the value whose sign, zero or integrality is required."""
        return self.lhs if self.kind == "int" else arith.sub(self.lhs, self.rhs)

    @property
    def symbols(self) -> frozenset[Any]:
        return frozenset(getattr(self.difference, "free_symbols", ()))

    def holds_at(self, values: dict[Any, int]) -> bool:
        """Whether the condition holds with the symbols bound to integers (exact)."""
        return holds_for(self.kind, arith.substitute(self.difference, values))


# Conditions recorded while one layer's rule runs; `take` hands them out (see the module doc).
_pending: list[Condition] = []


def pending() -> bool:
    """Whether conditions were recorded since the last `take`."""
    return bool(_pending)


def take() -> tuple[Condition, ...]:
    """The conditions recorded since the last call (each once), and forget them."""
    found: dict[tuple[str, Any], Condition] = {}
    for condition in _pending:
        found.setdefault((condition.kind, condition.difference), condition)
    _pending.clear()
    return tuple(found.values())


def discard() -> None:
    """Forget conditions recorded by a rule that did not finish."""
    _pending.clear()


def holds_for(kind: str, value: Any) -> bool:
    """A bound (numeric) difference checked: >= 0, == 0, != 0, or an integer."""
    if kind == "ge":
        return bool(value >= 0)
    if kind == "eq":
        return bool(value == 0)
    if kind == "ne":
        return bool(value != 0)
    return isinstance(value, int) and not isinstance(value, bool)


def _decide(kind: str, difference: Any) -> bool | None:
    """True/False when sympy can tell for every positive-integer value of the symbols, else None."""
    if not arith.is_symbolic(difference):
        return holds_for(kind, difference)
    if kind == "ge":
        from cnncalc.bounds import lower_bound  # a cheap proof first: most sizes are plainly >= 1

        low = lower_bound(difference)
        if low is not None and low >= 0:
            return True
    import sympy

    value = sympy.expand(difference)
    if kind == "ge":
        verdict = value.is_nonnegative
        if verdict is None and value.is_real is False:
            return False
        return verdict  # type: ignore[no-any-return]
    if kind in ("eq", "ne"):
        zero = True if value == 0 else value.is_zero
        return None if zero is None else zero == (kind == "eq")
    if value.has(sympy.Float) or value.is_real is False:
        return False  # a float or a complex width is never PyTorch's int
    return value.is_integer  # type: ignore[no-any-return]


def require(kind: str, lhs: Any, rhs: Any, reason: str) -> bool | None:
    """Whether `lhs (kind) rhs` holds: True, False, or None (symbolic and undecided: recorded)."""
    condition = Condition(kind, lhs, rhs, reason)
    verdict = _decide(kind, condition.difference)
    if verdict is None:
        _pending.append(condition)
    return verdict


def at_least(value: Any, minimum: Any, reason: str) -> bool | None:
    """value >= minimum (see `require`)."""
    if type(value) is int and type(minimum) is int:
        return value >= minimum
    return require("ge", value, minimum, reason)


def equal(a: Any, b: Any, reason: str) -> bool | None:
    """a == b (see `require`)."""
    if arith.is_number(a) and arith.is_number(b):
        return bool(a == b)
    return require("eq", a, b, reason)


def unequal(a: Any, b: Any, reason: str) -> bool | None:
    """a != b (see `require`)."""
    if arith.is_number(a) and arith.is_number(b):
        return bool(a != b)
    return require("ne", a, b, reason)


def divides(divisor: Any, value: Any, reason: str) -> bool | None:
    """divisor divides value exactly (see `require`)."""
    if type(divisor) is int and type(value) is int:
        return divisor != 0 and value % divisor == 0
    if arith.is_number(divisor) and arith.is_number(value):
        return False
    return require("int", arith.true_div(value, divisor), 0, reason)


def integral(value: Any, reason: str) -> bool | None:
    """value is an integer (see `require`); floats and complex values never are."""
    if arith.is_number(value):
        return isinstance(value, int)
    return require("int", value, 0, reason)
