"""Arithmetic on values that are exact numbers or, when a width is a free symbol, sympy expressions.

Numeric specs never import sympy: every helper here does plain number arithmetic unless one of
its operands is already symbolic (made by `symbol()`), and imports sympy only then.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fractions import Fraction as Fraction  # re-exported: `arith.Fraction`

    import sympy
else:

    class _FractionType(type):
        def __instancecheck__(cls, value: object) -> bool:
            module = sys.modules.get("fractions")
            return module is not None and isinstance(value, module.Fraction)

    class Fraction(metaclass=_FractionType):
        """`fractions.Fraction` without importing it until a division needs one.

        Importing fractions costs 2-3 ms of start-up (decimal, numbers, a regex), a sixth of a
        whole `cnncalc params` run. `Fraction(...)` makes a real `fractions.Fraction`, and
        `isinstance(x, Fraction)` is true exactly for them (a Fraction exists only once fractions
        has been imported, by anyone). Type checkers see `fractions.Fraction` itself.
        """

        def __new__(cls, *args):
            from fractions import Fraction as _Fraction

            return _Fraction(*args)


Number = int | float | Fraction

_NUMERIC = (int, float, Fraction)
_symbols: dict[str, Any] = {}


def symbol(name: str) -> sympy.Symbol:
    """The free symbol `name`: a positive integer (a width or a size)."""
    found = _symbols.get(name)
    if found is None:
        import sympy

        found = _symbols[name] = sympy.Symbol(name, positive=True, integer=True)
    return found


def is_number(value: object) -> bool:
    """True for plain Python numbers (bool counts as int)."""
    return isinstance(value, _NUMERIC)


def is_symbolic(value: object) -> bool:
    """True for a sympy expression that still holds free symbols."""
    return not isinstance(value, (*_NUMERIC, str, tuple, type(None))) and bool(
        getattr(value, "free_symbols", None)
    )


def normalize(value: Any) -> Any:
    """Turn a sympy number back into int / Fraction / float; leave everything else alone."""
    if isinstance(value, _NUMERIC) or not hasattr(value, "is_number"):
        return value
    if value.is_Integer:
        return int(value)
    if value.is_Rational:
        return Fraction(int(value.p), int(value.q))
    if value.is_number and value.is_real:
        return float(value)
    return value


def sympy_number(value: Any) -> Any:
    """A Python number as a sympy number (never through sympify: no text is parsed)."""
    import sympy

    if isinstance(value, float):
        return sympy.Float(value)
    if isinstance(value, int):
        return sympy.Integer(value)
    return _sympy_operand(value)


def _sympy_operand(value: Any) -> Any:
    if isinstance(value, Fraction):
        import sympy

        return sympy.Rational(value.numerator, value.denominator)
    return value


def add(a: Any, b: Any) -> Any:
    """a + b."""
    if isinstance(a, _NUMERIC) and isinstance(b, _NUMERIC):
        return a + b
    return normalize(_sympy_operand(a) + _sympy_operand(b))


def sub(a: Any, b: Any) -> Any:
    """a - b."""
    if isinstance(a, _NUMERIC) and isinstance(b, _NUMERIC):
        return a - b
    return normalize(_sympy_operand(a) - _sympy_operand(b))


def mul(a: Any, b: Any) -> Any:
    """a * b."""
    if isinstance(a, _NUMERIC) and isinstance(b, _NUMERIC):
        return a * b
    return normalize(_sympy_operand(a) * _sympy_operand(b))


def true_div(a: Any, b: Any) -> Any:
    """a / b, exact: an int when it divides, a Fraction otherwise (floats stay floats)."""
    if type(a) is int and type(b) is int and b and not a % b:
        return a // b  # the common exact case, without building Fractions
    if isinstance(a, _NUMERIC) and isinstance(b, _NUMERIC):
        if b == 0:
            raise ZeroDivisionError("division by zero")
        if isinstance(a, float) or isinstance(b, float):
            return a / b
        q = Fraction(a) / Fraction(b)
        return int(q) if q.denominator == 1 else q
    return normalize(_sympy_operand(a) / _sympy_operand(b))


def floor(a: Any) -> Any:
    """floor(a) as an int (or a sympy floor of a symbolic value)."""
    if isinstance(a, int):
        return a
    if isinstance(a, _NUMERIC):
        return math.floor(a)
    import sympy

    return normalize(sympy.floor(a))


def ceil(a: Any) -> Any:
    """ceil(a) as an int (or a sympy ceiling of a symbolic value)."""
    if isinstance(a, int):
        return a
    if isinstance(a, _NUMERIC):
        return math.ceil(a)
    import sympy

    return normalize(sympy.ceiling(a))


def floor_div(a: Any, b: Any) -> Any:
    """floor(a / b), Python's // for numbers."""
    if isinstance(a, int) and isinstance(b, int):
        if b == 0:
            raise ZeroDivisionError("division by zero")
        return a // b
    if isinstance(a, _NUMERIC) and isinstance(b, _NUMERIC):
        if b == 0:
            raise ZeroDivisionError("division by zero")
        if isinstance(a, float) or isinstance(b, float):
            return math.floor(a / b)
        return math.floor(Fraction(a) / Fraction(b))
    return floor(true_div(a, b))


def mod(a: Any, b: Any) -> Any:
    """a % b (Python's sign convention)."""
    if isinstance(a, _NUMERIC) and isinstance(b, _NUMERIC):
        if b == 0:
            raise ZeroDivisionError("modulo by zero")
        return a % b
    import sympy

    return normalize(sympy.Mod(_sympy_operand(a), _sympy_operand(b)))


def minimum(*values: Any) -> Any:
    """min over numbers or symbolic values (see `maximum`)."""
    if all(isinstance(v, _NUMERIC) for v in values):
        return min(values)
    return _extreme(values, largest=False)


def maximum(*values: Any) -> Any:
    """max over numbers or symbolic values.

    With symbols, an argument that provably never exceeds another (`bounds.Ledger.compare`) is
    dropped and the rest kept as an unevaluated sympy `Max` of the distinct arguments: sympy's
    own `Max` compares every pair through its assumption system, which takes seconds for a few
    dozen arguments (and minutes for hundreds)."""
    if all(isinstance(v, _NUMERIC) for v in values):
        return max(values)
    return _extreme(values, largest=True)


def _extreme(values: tuple[Any, ...], *, largest: bool) -> Any:
    import sympy

    from cnncalc import bounds

    cls = sympy.Max if largest else sympy.Min
    numbers = [v for v in values if isinstance(v, _NUMERIC)]
    flat: list[Any] = [(max if largest else min)(numbers)] if numbers else []
    for v in values:
        if not isinstance(v, _NUMERIC):
            flat.extend(v.args if isinstance(v, cls) else (v,))  # max(a, max(b, c)) = max(a, b, c)
    ledger = bounds.Ledger()
    kept: list[tuple[Any, dict[int, Any]]] = []
    seen: set[Any] = set()
    for v in flat:
        operand = sympy_number(v) if isinstance(v, _NUMERIC) else v
        if operand in seen:
            continue
        seen.add(operand)
        if operand.is_extended_real is False:
            raise ValueError(f"the argument {operand} of {cls.__name__.lower()}() is not a real number")
        terms = ledger.terms(operand)
        survivors = []
        dominated = False
        for other, other_terms in kept:
            at_least, at_most = ledger.compare(terms, other_terms)
            if at_most if largest else at_least:
                dominated = True
                break
            if not (at_least if largest else at_most):
                survivors.append((other, other_terms))
        if not dominated:
            kept = [*survivors, (operand, terms)]
    if len(kept) == 1:
        return normalize(kept[0][0])
    return cls(*(v for v, _ in kept), evaluate=False)


def substitute(value: Any, values: dict[Any, int]) -> Any:
    """A symbolic value with symbols bound to integers (`{symbol: int}`), exact: an int or a
    Fraction once every symbol is bound (a float only where the value is irrational)."""
    if not is_symbolic(value):
        return value
    import sympy

    return normalize(value.xreplace({s: sympy.Integer(v) for s, v in values.items()}))


def product(values: Any) -> Any:
    """The product of an iterable of values (1 for none)."""
    result: Any = 1
    for v in values:
        result = mul(result, v)
    return result


_INT_ONLY = frozenset((int,))


def total(values: Any) -> Any:
    """The sum of an iterable of values (0 for none); symbolic terms are added in one sympy Add
    (one at a time, each addition rebuilds the growing sum: quadratic in the terms)."""
    if isinstance(values, (list, tuple)) and set(map(type, values)) <= _INT_ONLY:
        return sum(values)  # plain ints (not bools): summed at C speed
    result: Any = 0
    symbolic: list[Any] = []
    for v in values:
        if type(v) is int and type(result) is int:  # the common case, without a call
            result += v
        elif isinstance(v, _NUMERIC):
            result = add(result, v)
        else:
            symbolic.append(v)
    if not symbolic:
        return result
    import sympy

    return normalize(sympy.Add(_sympy_operand(result), *symbolic))


def is_positive(value: Any) -> bool | None:
    """value > 0, or None when undecidable for symbols."""
    if isinstance(value, _NUMERIC):
        return value > 0
    return getattr(value, "is_positive", None)


def divides(divisor: Any, value: Any) -> bool | None:
    """Whether divisor divides value exactly (None when undecidable)."""
    if isinstance(divisor, int) and isinstance(value, int):
        return divisor != 0 and value % divisor == 0
    if isinstance(divisor, _NUMERIC) and isinstance(value, _NUMERIC):
        return False
    quotient = true_div(value, divisor)
    if isinstance(quotient, int):
        return True
    if isinstance(quotient, _NUMERIC):
        return False
    return getattr(quotient, "is_integer", None)


def equal(a: Any, b: Any) -> bool | None:
    """a == b for numbers; for symbolic values True/False when structurally decidable, else None."""
    if isinstance(a, _NUMERIC) and isinstance(b, _NUMERIC):
        return a == b
    difference = sub(a, b)
    if isinstance(difference, _NUMERIC):
        return difference == 0
    import sympy

    difference = sympy.expand(difference)
    if difference == 0:
        return True
    nonzero = difference.is_nonzero
    return False if nonzero else None


def shape_text(shape: tuple[Any, ...]) -> str:
    """A shape as the tables print it: `[64, 16, 16]`, symbols as text."""
    return "[" + ", ".join(as_text(d) for d in shape) + "]"


def as_text(value: Any) -> str:
    """A value as users read it: ints plainly, symbolic values in the textbook form of
    `cnncalc.formula` (expanded, each floor over one denominator: `floor((W + 2*p - k)/s) + 1`)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, float):
        return repr(value)
    if hasattr(value, "free_symbols"):
        from cnncalc import formula

        return formula.text(value)
    return str(value)


def as_json(value: Any) -> Any:
    """A value for JSON: ints, floats, booleans and None as they are; Fractions and symbolic values as text."""
    if value is None or isinstance(value, (int, float)):  # bool included
        return value
    return as_text(value)


MAX_EXPANDED_TERMS = 1_000


_TERMS_CAP = 2**62  # counts saturate here: far past any limit, and the arithmetic stays small
_EXACT_BELOW = 256  # a function application whose arguments are bounded by this is expanded and counted


def expanded_terms(value: Any) -> int:
    """An upper bound on the number of terms of `sympy.expand(value)` (0 for numbers), counted
    from the unexpanded tree (saturating at 2**62).

    Each node's bound from its children's: a sum adds them, a product multiplies them, a power
    (t terms)**e with e a positive integer has at most C(t + e - 1, e) (the monomials of degree
    e in t terms; for e = n + f, n of them times one factor), a negative power is one term
    (expand keeps a quotient 1/(...)), a symbolic exponent c + x splits off the power c. A
    function (floor, ceiling, Max, Piecewise...) stays one term unless its evaluation pulls
    terms out of its argument (floor(x + 1) = floor(x) + 1, Max of a known largest argument):
    a small one is expanded and counted exactly, a large one bounded by 1 + its arguments'
    terms. Negative powers are not degrees: a grouped conv's `C*k**2/g` is one term.
    tests/test_arith.py checks the bound against sympy's real count on random expressions.
    Lets callers refuse `(a+b+c+d)**64` before sympy spends minutes expanding it.
    """
    if not is_symbolic(value):
        return 0
    memo: dict[Any, int] = {}
    try:
        return _terms(value, memo)
    except RecursionError:
        return 0  # too deep to measure; callers refuse such trees by their depth first (`nesting`)


def _terms(node: Any, memo: dict[Any, int]) -> int:
    if not node.args:
        return 1
    found = memo.get(node)
    if found is not None:
        return found
    if node.is_Add:
        result = sum(_terms(a, memo) for a in node.args)
    elif node.is_Mul:
        result = 1
        for a in node.args:
            result *= _terms(a, memo)
            if result >= _TERMS_CAP:
                break
    elif node.is_Pow:
        base, exponent = node.args
        power = exponent if exponent.is_Number else exponent.as_coeff_Add()[0]
        result = _multisets(_terms(base, memo), int(power // 1)) if power.is_Number and power >= 1 else 1
    elif node.is_Function or not getattr(node, "is_Expr", True):
        inner = sum(_terms(a, memo) for a in node.args)
        if node.is_Function and inner <= _EXACT_BELOW:
            import sympy

            result = len(sympy.Add.make_args(sympy.expand(node)))
        else:
            result = inner + 1
    else:
        result = 1
    result = min(result, _TERMS_CAP)
    memo[node] = result
    return result


def _multisets(terms: int, power: int) -> int:
    """C(terms + power - 1, power), saturating at the cap: the monomials of degree `power` in `terms` terms."""
    n = terms + power - 1
    k = min(power, terms - 1)
    result = 1
    for i in range(1, k + 1):
        result = result * (n - k + i) // i
        if result >= _TERMS_CAP:
            return _TERMS_CAP
    return result


def nesting(value: Any, limit: int) -> int:
    """The depth of a symbolic value's expression tree, counted up to `limit` + 1 (0 for numbers)."""
    if not is_symbolic(value):
        return 0
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((arg, depth + 1) for arg in node.args)
    return deepest
