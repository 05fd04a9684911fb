"""Symbolic values as text: sympy's own `str` of the expanded value, made fast on large networks.

The text is exactly what `str(sympy.expand(value))` gives. Three things make sympy slow on a
network's sizes, and are done differently here:
- every expression is expanded and printed afresh, though a network's sizes recur in many
  cells and share deep subtrees (`floor(floor(...)/2)`) printed inside every sum holding them:
  both are remembered;
- expanding a sum that is already a sum of monomials walks it all and changes nothing: skipped;
- the terms of a sum over n distinct symbols are sorted by dense exponent vectors of length n
  (quadratic: seconds for a sum over 2,000 width symbols), their coefficients turned into
  complex numbers through evalf: sorted here by sparse keys that order them the same way.
Imported only once a value is symbolic.
"""

from __future__ import annotations

import functools
from typing import Any

_MEMO_LIMIT = 100_000
_texts: dict[Any, str] = {}  # symbolic value -> its text


def expanded_text(value: Any) -> str:
    """`str(sympy.expand(value))` for a sympy value."""
    found = _texts.get(value)
    if found is None:
        if len(_texts) > _MEMO_LIMIT:
            _texts.clear()
        found = _texts[value] = _printer().doprint(expand(value))
    return found


def expand(value: Any) -> Any:
    """`sympy.expand(value)`, without walking a value that is expanded already."""
    if is_expanded(value):
        return value
    import sympy

    return sympy.expand(value)


_FUNCTIONS = ("Max", "Min", "floor", "ceiling")  # no expand hints of their own: expanded when their arguments are


def is_expanded(value: Any) -> bool:
    """True when `sympy.expand` would give `value` back unchanged (False: not known): numbers,
    symbols, integer powers of symbols, products of those with no sum among the factors, sums
    of those, and max, min, floor and ceiling of such values (a tree walk, no rewriting)."""
    if value.is_Atom:
        return bool(value.is_Number or value.is_Symbol)
    if value.is_Pow:
        return bool(value.base.is_Symbol and value.exp.is_Integer)
    if value.is_Mul or value.is_Add:
        return all(not arg.is_Add and is_expanded(arg) for arg in value.args)
    return type(value).__name__ in _FUNCTIONS and all(is_expanded(arg) for arg in value.args)


@functools.cache
def _printer() -> Any:
    """sympy's `str` printer, with the settings `str(expr)` uses, remembering what it printed."""
    from sympy.printing.str import StrPrinter

    memo: dict[Any, str] = {}

    class Printer(StrPrinter):  # type: ignore[misc]  # sympy is untyped

        def _print(self, expr: Any, **kwargs: Any) -> str:
            # A Float prints differently at the top level (the only use of the print level):
            # any other expression prints the same wherever it stands.
            if kwargs or not hasattr(expr, "free_symbols") or expr.is_Float:
                return str(super()._print(expr, **kwargs))
            found = memo.get(expr)
            if found is None:
                if len(memo) > _MEMO_LIMIT:
                    memo.clear()
                found = memo[expr] = super()._print(expr)
            return found

        def _print_Mul(self, expr: Any) -> str:
            text = monomial_text(expr)
            return str(super()._print_Mul(expr)) if text is None else text

        def _as_ordered_terms(self, expr: Any, order: Any = None) -> Any:
            if (order or self.order) is None and expr.is_Add and not (len(expr.args) == 2 and any(a.is_Number or a.is_NumberSymbol for a in expr.args)):
                ordered = sparse_ordered_terms(expr)
                if ordered is not None:
                    return ordered
            return super()._as_ordered_terms(expr, order=order)

    return Printer({"order": None})


def sparse_ordered_terms(expr: Any) -> list[Any] | None:
    """The terms of a sum in the order `expr.as_ordered_terms()` gives, or None where this does
    not apply (non-commutative factors, Order terms, exponents below 1). Not for a number plus
    one other term: sympy puts `2 - 3*k` in an order of its own.

    sympy's key is (-exponent vector over the sorted generators, (), the coefficient as
    ((imag != 0, imag), (real, imag))), compared lexicographically. With positive exponents the
    vector compares as its sparse form, the (generator index, -exponent) pairs by index, ended
    by (number of generators, 0): the first difference is at the same place and in the same
    direction (a generator missing from one term is a 0 against a negative entry)."""
    from sympy import Add, Mul, S
    from sympy.core.exprtools import decompose_power
    from sympy.core.sorting import default_sort_key

    gens: set[Any] = set()
    terms = []
    for term in Add.make_args(expr):
        if term.is_Order:
            return None
        coeff, rest = term.as_coeff_Mul()
        # sympy's complex(coeff) goes through evalf; an integer below 2**53 is the same float
        number = complex(float(coeff.p)) if coeff.is_Integer and abs(coeff.p) < 2**53 else complex(coeff)
        powers = []
        if rest is not S.One:
            for factor in Mul.make_args(rest):
                if factor.is_number:
                    try:
                        number *= complex(factor)
                    except (TypeError, ValueError):
                        pass
                    else:
                        continue
                if not factor.is_commutative:
                    return None
                base, exponent = decompose_power(factor)
                if exponent < 1:
                    return None
                powers.append((base, exponent))
                gens.add(base)
        terms.append((term, number, powers))
    index = {g: i for i, g in enumerate(sorted(gens, key=default_sort_key))}
    end = (len(index), 0)

    def key(item: tuple[Any, complex, list[tuple[Any, int]]]) -> Any:
        _, number, powers = item
        monom = (*sorted((index[base], -exponent) for base, exponent in dict(powers).items()), end)
        return monom, (), ((bool(number.imag), number.imag), (number.real, number.imag))

    return [term for term, _, _ in sorted(terms, key=key)]


def monomial_text(expr: Any) -> str | None:
    """sympy's `str` of a product of a rational and symbols or their integer powers (`64*k1*k2`,
    `-3*k**2/2`), or None for any other product.

    sympy orders the factors by sort key: the number first, then the symbols by name (a power
    of a symbol sorts as its base); a rational p/q prints p among the factors (unless 1) and
    /q after them (unless 1), its sign in front."""
    from sympy import Symbol

    args = expr.args
    coeff = args[0] if args[0].is_Rational else None
    if coeff is not None and (coeff.p == 1 and coeff.q == 1):
        return None  # an unevaluated Mul: sympy prints it as it stands
    factors = []
    for factor in args if coeff is None else args[1:]:
        if type(factor) is Symbol:
            factors.append((factor.name, factor.name))
        elif factor.is_Pow and type(factor.base) is Symbol and factor.exp.is_Integer and factor.exp > 1:
            factors.append((factor.base.name, f"{factor.base.name}**{factor.exp.p}"))
        else:
            return None
    if not factors or len({name for name, _ in factors}) != len(factors):
        return None
    factors.sort()
    p, q = (1, 1) if coeff is None else (coeff.p, coeff.q)
    numerator = ([str(abs(p))] if abs(p) != 1 else []) + [text for _, text in factors]
    return ("-" if p < 0 else "") + "*".join(numerator) + (f"/{q}" if q != 1 else "")
