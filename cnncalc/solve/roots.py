"""One symbol: the exact real solution set {k > 0 : lower <= P(k) <= upper} as intervals.

A polynomial count's intervals end at exact real roots of `P(k) - bound` (surds by the quadratic
formula up to degree 2, sympy's `real_roots` beyond: radicals or CRootOf). A count that is not a
polynomial is solved by exact evaluation instead (`validity.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import sympy

from cnncalc.solve.band import Band, Bound
from cnncalc.solve.integers import horner
from cnncalc.solve.rational import as_fraction, as_rational
from cnncalc.solve.results import Boundary, Endpoint, Piece


def real_pieces(
    poly: Any, bound: Bound, lower: Fraction | None, upper: Fraction, band: Band
) -> tuple[tuple[Piece, ...], tuple[Boundary, ...]]:
    """Components of {x in domain : lower <= P(x) <= upper}, ends exact, from the boundary roots."""
    coeffs = [as_fraction(c) for c in reversed(poly.all_coeffs())]
    boundaries = []
    sides = ([("lower", lower, band.hi)] if lower is not None else []) + [("upper", upper, band.lo)]
    for side, value, reduction in sides:
        assert reduction is not None
        shifted = [c - value if i == 0 else c for i, c in enumerate(coeffs)]
        roots = real_roots(shifted, poly.gen)
        boundaries.append(Boundary(side, value, reduction, roots))
    # The domain: (0, oo) by default; a --range gives a closed interval.
    lo_closed = bound.explicit
    d_lo = Fraction(bound.lo) if lo_closed else Fraction(0)
    d_hi = None if bound.hi is None else Fraction(bound.hi)

    def feasible(x: Fraction) -> bool:
        value: Fraction = horner(coeffs, x)
        return (lower is None or value >= lower) and value <= upper

    points: dict[Fraction, Any] = {}
    for b in boundaries:
        for r in dict.fromkeys(b.roots):
            approx = rational_approx(r)
            if approx > d_lo and (d_hi is None or approx < d_hi):
                points.setdefault(approx, r)
    return solution_pieces(sorted(points.items()), d_lo, lo_closed, d_hi, feasible, lambda root: True), tuple(boundaries)


def solution_pieces(
    ordered: list[tuple[Fraction, Any]],
    d_lo: Fraction,
    lo_closed: bool,
    d_hi: Fraction | None,
    feasible: Callable[[Fraction], bool],
    at_root: Callable[[Fraction], bool],
) -> tuple[Piece, ...]:
    """The feasible pieces of the domain (d_lo, d_hi) (closed at d_lo when `lo_closed`; d_hi None:
    unbounded), cut at the boundary roots `ordered` ((rational approximation, exact root), in
    order): each gap between them tested at its middle, each root by `at_root`."""
    # Elements in order: domain start, gaps and roots alternately, domain end; each feasible or not.
    elements: list[tuple[str, Any, bool]] = []  # (kind, exact point (None for a gap), feasible)
    elements.append(("point", sympy.Integer(d_lo.numerator) if lo_closed else sympy.Integer(0), lo_closed and feasible(d_lo)))
    previous = d_lo
    for approx, exact in ordered:
        elements.append(("gap", None, feasible((previous + approx) / 2)))
        elements.append(("point", exact, at_root(approx)))
        previous = approx
    if d_hi is None:
        elements.append(("gap", None, feasible(previous + 1)))
        elements.append(("point", sympy.oo, False))
    else:
        elements.append(("gap", None, feasible((previous + d_hi) / 2) if d_hi > previous else False))
        elements.append(("point", sympy.Integer(int(d_hi)), feasible(d_hi)))
    pieces = []
    start: tuple[Any, bool] | None = None
    last_point = elements[0][1]
    for kind, exact, ok in elements:
        if ok and start is None:
            start = (exact, True) if kind == "point" else (last_point, False)
        if not ok and start is not None:
            end = (last_point, True) if kind == "gap" else (exact, False)
            pieces.append(Piece(_endpoint(*start), _endpoint(*end)))
            start = None
        if kind == "point":
            last_point = exact
    if start is not None:
        pieces.append(Piece(_endpoint(*start), _endpoint(last_point, True)))
    return tuple(pieces)


def real_roots(coeffs: Sequence[Fraction], gen: Any) -> tuple[Any, ...]:
    """The real roots (with multiplicity, ascending) of a polynomial given lowest degree first, exactly.

    Degrees 1 and 2 by formula (surds, ~10x cheaper than sympy's root isolation: this is on the
    hot path of every run); higher degrees by `Poly.real_roots` (radicals or CRootOf).
    """
    f = list(coeffs)
    while f and f[-1] == 0:
        f.pop()
    degree = len(f) - 1
    if degree <= 0:
        return ()
    if degree == 1:
        return (as_rational(-f[0] / f[1]),)
    if degree == 2:
        c, b, a = f
        disc = b * b - 4 * a * c
        if disc < 0:
            return ()
        if disc == 0:
            return (as_rational(-b / (2 * a)), as_rational(-b / (2 * a)))
        root = sympy.sqrt(as_rational(disc))
        pair = ((as_rational(-b) - root) / as_rational(2 * a), (as_rational(-b) + root) / as_rational(2 * a))
        return pair if a > 0 else pair[::-1]
    return tuple(sympy.Poly([as_rational(c) for c in reversed(f)], gen).real_roots())


def _endpoint(exact: Any, closed: bool) -> Endpoint:
    if exact is sympy.oo:
        return Endpoint(exact, None, False)
    return Endpoint(exact, float(as_fraction(exact)) if exact.is_Rational else float(exact.evalf(30)), closed)


def rational_approx(root: Any) -> Fraction:
    """An exact rational for a rational root; a 40-digit rational approximation otherwise (ordering only)."""
    if root.is_Rational:
        return as_fraction(root)
    return Fraction(str(sympy.Float(root.evalf(40), 40)))
