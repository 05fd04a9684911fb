"""Options of `cnncalc bottleneck` read exactly: the reduction band and width ranges (no sympy here).

Numbers are parsed with `fractions.Fraction`, never `float` or sympy, so 0.6 means exactly 3/5.
Band and Bound are numbers only: `cnncalc.render.bottleneck` writes them as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from cnncalc.errors import UsageError, quoted


@dataclass(frozen=True)
class Band:
    """A reduction band: the candidate's count is (1-hi)*B .. (1-lo)*B; hi None means "at least lo"."""

    lo: Fraction
    hi: Fraction | None

    def bounds(self, base: int) -> tuple[Fraction | None, Fraction]:
        """(lower, upper) bounds on the candidate's count for a baseline count `base`."""
        lower = None if self.hi is None else (1 - self.hi) * base
        return lower, (1 - self.lo) * base


_NUMBER = r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+|[0-9]+/[0-9]+)\s*"
_BAND = re.compile(rf"^{_NUMBER}(%?)\s*(?:(?:-|\u2013|\.\.|to)\s*{_NUMBER}(%?))?\s*$")
MAX_DIGITS = 100  # per number of a band: exact roots of 10,000-digit fractions take minutes


def parse_reduce(text: str) -> Band:
    """'0.5-0.6', '50-60%', '50%-60%', '0.5' or '50%' (at least) -> Band; UsageError otherwise."""
    match = _BAND.match(text) if len(text) <= 4 * MAX_DIGITS else None
    if match is None and len(text) > 4 * MAX_DIGITS:
        raise UsageError("the reduction band is too long", expected=f"at most {MAX_DIGITS} digits a number", found=f"{len(text)} characters")
    if not match:
        raise UsageError(
            "cannot read the reduction band",
            expected="a range like 0.5-0.6, 50-60% or 50%-60%, or one value like 0.5 (at least 50%)",
            found=quoted(text),
        )
    first, first_pct, second, second_pct = match.groups()
    as_percent = bool(first_pct or second_pct)
    if first_pct and second is not None and not second_pct:
        raise UsageError("mixed units in the reduction band", expected="50%-60% or 50-60%", found=quoted(text))
    values = [_fraction(v, text) / (100 if as_percent else 1) for v in (first, second) if v is not None]
    for value in values:
        if value > 1:
            raise UsageError(
                "a reduction is a fraction between 0 and 1",
                found=quoted(text),
                hint="write percentages with a % sign: 50-60%",
            )
    lo = values[0]
    hi = values[1] if len(values) > 1 else None
    if hi is not None and hi < lo:
        raise UsageError("the smaller reduction comes first", expected="LO-HI with LO <= HI, e.g. 0.5-0.6", found=quoted(text))
    return Band(lo, hi)


def _fraction(number: str, text: str) -> Fraction:
    """One number of a band (decimal or p/q, as matched by _NUMBER) as an exact Fraction."""
    digits = sum(c.isdigit() for c in number)
    if digits > MAX_DIGITS:
        raise UsageError(
            "a number of the reduction band has too many digits",
            expected=f"at most {MAX_DIGITS} digits (a band is exact: 0.5 means 1/2)",
            found=f"{digits} digits",
        )
    _, _, denominator = number.partition("/")
    if denominator and int(denominator) == 0:
        raise UsageError("division by zero in the reduction band", expected="p/q with q > 0", found=repr(number.strip()))
    return Fraction(number)


@dataclass(frozen=True)
class Bound:
    """Integer bounds of one symbol (hi None: unbounded)."""

    name: str
    lo: int
    hi: int | None
    explicit: bool = False  # given with --range: the real domain starts at lo, not at 0


_RANGE = re.compile(r"^\s*(?:([A-Za-z_][A-Za-z0-9_]*)\s*=)?\s*([0-9]+)\s*\.\.\s*([0-9]*)\s*$")


def parse_range(text: str) -> tuple[str | None, int, int | None]:
    """'k=1..256', 'k=8..' or '1..256' (every symbol) -> (name or None, lo, hi or None)."""
    match = _RANGE.match(text)
    if not match or len(text) > 200:
        raise UsageError("cannot read the range", expected="NAME=A..B, e.g. k=1..256 (or A..B for every symbol)", found=quoted(text))
    name, lo_text, hi_text = match.groups()
    lo = int(lo_text)
    hi = int(hi_text) if hi_text else None
    if lo < 1:
        raise UsageError("widths start at 1", expected="a range of positive integers", found=quoted(text))
    if hi is not None and hi < lo:
        raise UsageError("the range is empty", expected="A..B with A <= B", found=quoted(text))
    return name, lo, hi
