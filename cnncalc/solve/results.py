"""What the bottleneck solver returns: numbers and exact values only (render/ writes the text)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypedDict

from cnncalc.solve.band import Band, Bound
from cnncalc.solve.rational import as_fraction


@dataclass(frozen=True)
class Endpoint:
    """One end of a solution interval: exact sympy number (or +oo), its decimal, whether it is included."""

    exact: Any
    value: float | None
    closed: bool


@dataclass(frozen=True)
class Piece:
    """A connected component of the real solution set."""

    lo: Endpoint
    hi: Endpoint


@dataclass(frozen=True, eq=False)  # eq unused; generating it costs import time on every run
class Boundary:
    """P(k) = value: the count meeting one end of the band, with all its real roots."""

    side: str  # "lower" or "upper"
    value: Fraction
    reduction: Fraction
    roots: tuple[Any, ...]


@dataclass(frozen=True)
class Run:
    """Feasible integers first, first+step, ..., last (last None: unbounded)."""

    first: int
    last: int | None
    step: int = 1

    @property
    def size(self) -> int | None:
        return None if self.last is None else (self.last - self.first) // self.step + 1

    def values(self, limit: int) -> list[int]:
        out: list[int] = []
        value = self.first
        while len(out) < limit and (self.last is None or value <= self.last):
            out.append(value)
            value += self.step
        return out


@dataclass(frozen=True, eq=False)
class Row:
    """For several symbols: one value of the outer symbols and the inner symbol's feasible runs."""

    outer: tuple[int, ...]
    runs: tuple[Run, ...]


Term = tuple[tuple[int, ...], Fraction]
"""One monomial of a polynomial count: (exponent of each symbol, coefficient)."""


class Problem(TypedDict):
    """What every Solution of one count shares: the question, before it is solved."""

    bias: bool
    metric: str
    symbols: tuple[str, ...]
    baseline: int
    count: Any  # the candidate's count: a sympy expression
    lower: Fraction | None
    upper: Fraction
    multiple_of: int
    terms: tuple[Term, ...]  # the count's monomials; () when not a polynomial


@dataclass(frozen=True, eq=False)
class Solution:
    """The answer for one count (with or without bias, or MACs)."""

    bias: bool
    metric: str
    symbols: tuple[str, ...]
    baseline: int
    count: Any  # the candidate's count: a sympy expression
    lower: Fraction | None
    upper: Fraction
    bounds: tuple[Bound, ...]  # the integer domain actually searched (derived bounds included)
    derived: tuple[str, ...]  # symbols whose upper bound was derived, not given
    multiple_of: int
    method: str  # "real_roots", "evaluation" (not a polynomial) or "enumeration"
    pieces: tuple[Piece, ...]  # one symbol: the real solution set
    boundaries: tuple[Boundary, ...]  # one symbol, polynomial: the boundary equations
    rows: tuple[Row, ...]  # several symbols: first `limit` rows; one symbol: one row with outer ()
    listed: tuple[tuple[int, ...], ...]  # first `limit` feasible integer points
    total: int | None  # all feasible integer points (None: unbounded)
    truncated: bool
    row_count: int  # rows with a feasible point (the one row of a single symbol, or outer values)
    terms: tuple[Term, ...] = ()  # the count's monomials; () when not a polynomial

    def value_at(self, values: Sequence[int]) -> Fraction:
        """The candidate's count at integer widths (in the order of `symbols`), exactly."""
        if self.terms:
            return sum((c * math.prod(v**e for v, e in zip(values, m)) for m, c in self.terms), Fraction(0))
        return as_fraction(self.count.subs(dict(zip(sorted(self.count.free_symbols, key=str), values))))

    @property
    def interval(self) -> Piece | None:
        return self.pieces[0] if self.pieces else None

    @property
    def runs(self) -> list[Run]:
        """Every feasible run, row after row (one symbol: its widths)."""
        return [r for row in self.rows for r in row.runs]

    @property
    def integers(self) -> list[Any]:
        if len(self.symbols) == 1:
            return [p[0] for p in self.listed]
        return [list(p) for p in self.listed]

    @property
    def empty(self) -> bool:
        return self.total == 0


@dataclass(frozen=True, eq=False)
class BottleneckResult:
    """Both blocks' counts, the band and one Solution per requested count."""

    spec_name: str
    baseline: str
    candidate: str
    metric: str
    band: Band
    baseline_counts: dict[str, Any]
    candidate_counts: dict[str, Any]
    symbols: tuple[str, ...]
    solutions: tuple[Solution, ...]
    conditions: tuple[Any, ...] = ()  # the candidate's validity conditions (analysis.validity.Stated)

    @property
    def empty(self) -> bool:
        return all(s.empty for s in self.solutions)
