"""Cheap proofs that one symbolic value is at least another, for pruning max() arguments and
the candidates of a sequential memory peak.

sympy's `Max` asks its assumption system about every pair of arguments, which takes seconds
for a few dozen symbolic sizes. The checks here read bounds off the expression trees instead:
exact (what they prove holds for every value of the symbols) but incomplete (a False means
"not proved"). Imported only once a value is symbolic.
"""

from __future__ import annotations

from typing import Any

from cnncalc.arith import ceil, floor, normalize, sympy_number, true_div


class Ledger:
    """Symbolic values as sums of monomials, {monomial number: coefficient} (the constant is
    number 0, coefficients are Python numbers), compared by `compare`.

    Numbering the monomials keeps the sums cheap to add, subtract and compare: a comparison of
    two memory amounts is a few dict operations on ints, not on sympy expressions."""

    def __init__(self) -> None:
        self.numbers: dict[Any, int] = {}
        self.monomials: list[Any] = [1]
        # per monomial: (its atom's number, its power) for a power of one atom; (-1, its lower bound) for a product
        self.shapes: list[tuple[int, Any]] = [(-1, 1)]
        self.atoms: dict[Any, int] = {}
        self.atom_lows: list[Any] = []

    def terms(self, value: Any) -> dict[int, Any]:
        """A value (a Python or sympy number, or a sympy expression) as {monomial number: coefficient}."""
        if not hasattr(value, "as_coefficients_dict"):
            return {0: value} if value != 0 else {}
        out = {}
        for m, c in value.as_coefficients_dict().items():
            if c != 0:
                out[0 if m.is_Number else self._number(m)] = normalize(c)
        return out

    def _number(self, m: Any) -> int:
        found = self.numbers.get(m)
        if found is None:
            if m.is_Pow and m.exp.is_Integer and m.exp > 0:
                shape: tuple[int, Any] = (self._atom(m.base), int(m.exp))
            elif not m.is_Mul:
                shape = (self._atom(m), 1)
            else:
                shape = (-1, lower_bound(m))
            found = self.numbers[m] = len(self.monomials)
            self.monomials.append(m)
            self.shapes.append(shape)
        return found

    def _atom(self, atom: Any) -> int:
        found = self.atoms.get(atom)
        if found is None:
            found = self.atoms[atom] = len(self.atom_lows)
            self.atom_lows.append(lower_bound(atom))
        return found

    def value(self, terms: dict[int, Any]) -> Any:
        """The sympy value of `terms`."""
        import sympy

        return sympy.Add(*(sympy_number(c) if m == 0 else sympy.Mul(sympy_number(c), self.monomials[m]) for m, c in terms.items()))

    def compare(self, a: dict[int, Any], b: dict[int, Any]) -> tuple[bool, bool]:
        """(a >= b, a <= b) where provable cheaply. Exact but incomplete: False means "not
        proved". Proved by a lower bound of a - b (or of b - a) that is at least 0 (`least`)."""
        diff = dict(a)
        for m, c in b.items():
            c = diff.get(m, 0) - c
            if c == 0:
                del diff[m]
            else:
                diff[m] = c
        if not diff:
            return True, True
        low, high = self.least(diff)
        return low is not None and low >= 0, high is not None and high <= 0

    def least(self, terms: dict[int, Any]) -> tuple[Any, Any]:
        """A lower and an upper bound of the sum of c*m over `terms` (None where none is found).

        Powers of one atom a are taken together as a polynomial in a over a >= L(a)
        (`lower_bound`): its least value when of degree <= 2 (c2*a**2 + c1*a with c2 > 0 is
        least at max(L, -c1/(2*c2))); any other term c*m needs c >= 0 for the lower bound (and
        c <= 0 for the upper one), and adds c*L(m)."""
        low: Any = 0
        high: Any = 0
        powers: dict[int, dict[int, Any]] = {}
        shapes = self.shapes
        for m, c in terms.items():
            if m == 0:
                low = None if low is None else low + c
                high = None if high is None else high + c
                continue
            atom, power = shapes[m]
            if atom >= 0:
                powers.setdefault(atom, {})[power] = c
            elif power is None:  # a product without a known lower bound
                return None, None
            elif c > 0:  # a product: (-1, its lower bound)
                high = None
                if low is None:
                    return None, None
                low += c * power
            else:
                low = None
                if high is None:
                    return None, None
                high += c * power
        for atom, poly in powers.items():
            bound = self.atom_lows[atom]
            if bound is None:
                return None, None
            if low is not None:
                low = _poly_least(poly, bound, low, 1)
            if high is not None:
                least = _poly_least(poly, bound, -high, -1)
                high = None if least is None else -least
            if low is None and high is None:
                return None, None
        return low, high


def _poly_least(poly: dict[int, Any], bound: Any, start: Any, sign: int) -> Any:
    """start + the least value of sign * (the sum of c*a**power) over a >= bound, or None when unknown."""
    if len(poly) == 1 and 1 in poly:  # c*a alone, the common case
        c = sign * poly[1]
        return start + c * bound if c > 0 else None
    c1, c2 = sign * poly.get(1, 0), sign * poly.get(2, 0)
    if c2 > 0 and max(poly) <= 2:
        x = max(bound, true_div(-c1, 2 * c2))
        return start + c2 * x * x + c1 * x
    if all(sign * c > 0 for c in poly.values()) and (bound >= 0 or max(poly) == 1):
        return start + sum(sign * c * bound**power for power, c in poly.items())
    return None


_lower_bounds: dict[Any, Any] = {}


def lower_bound(value: Any) -> Any:
    """A number every value of the symbolic `value` is at least (None: none known), read off its
    tree: a positive integer symbol is >= 1, floor(x) >= floor(L(x)), c*x >= c*L(x) for c > 0,
    a product or power of non-negative factors >= the product of their bounds, a sum with
    positive coefficients >= the sum of its bounds. Memoised: the sizes of one network share their subtrees."""
    if value.is_Number:
        return normalize(value)
    found = _lower_bounds.get(value, _lower_bounds)
    if found is not _lower_bounds:
        return found
    import sympy

    result: Any = None
    if value.is_Symbol:
        result = 1 if value.is_integer and value.is_positive else 0 if value.is_nonnegative else None
    elif value.is_Add:
        result = 0
        for m, c in value.as_coefficients_dict().items():
            low = 1 if m.is_Number else lower_bound(m) if c > 0 else None
            if low is None:
                result = None
                break
            result += normalize(c) * low
    elif value.is_Mul and value.args[0].is_Number and len(value.args) == 2:
        coeff, rest = value.args  # c*x >= c*L(x) for a positive c, whatever the sign of L(x)
        low = lower_bound(rest) if coeff > 0 else None
        result = None if low is None else normalize(coeff) * low
    elif value.is_Mul or (value.is_Pow and value.exp.is_Integer and value.exp > 0):
        factors = [(value.base, int(value.exp))] if value.is_Pow else [(f, 1) for f in value.args]
        result = 1
        for factor, power in factors:
            low = lower_bound(factor)
            if low is None or low < 0:
                result = None
                break
            result *= low**power
    elif isinstance(value, (sympy.floor, sympy.ceiling)):
        low = lower_bound(value.args[0])
        result = None if low is None else (floor(low) if isinstance(value, sympy.floor) else ceil(low))
    elif isinstance(value, sympy.Max):
        lows = [low for low in map(lower_bound, value.args) if low is not None]
        result = max(lows) if lows else None
    elif isinstance(value, sympy.Min):
        lows = list(map(lower_bound, value.args))
        result = None if None in lows else min(lows)
    if len(_lower_bounds) < 100_000:
        _lower_bounds[value] = result
    return result
