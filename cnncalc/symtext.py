"""sympy's expansion and term order, made fast on large networks (used by `cnncalc.formula`
and the symbolic cost):
- expanding a sum that is already a sum of monomials walks it all and changes nothing: skipped;
- the terms of a sum over n distinct symbols are sorted by dense exponent vectors of length n
  (quadratic: seconds for a sum over 2,000 width symbols), their coefficients turned into
  complex numbers through evalf: sorted here by sparse keys that order them the same way.
Imported only once a value is symbolic.
"""

from __future__ import annotations

from typing import Any


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
