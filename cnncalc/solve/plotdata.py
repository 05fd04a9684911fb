"""What `bottleneck --plot` draws, as numbers (render/plot.py draws them): per count (without
and with bias, or MACs) the candidate's count along the width, the band, the baseline, the
feasible integer widths and the exact interval ends.

The widths shown run from the searched lower bound to a little past the last of: the interval
ends, the feasible widths, and the width where the candidate's count reaches the baseline's (no
reduction left), so the band, the points and the baseline are all in the picture.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

from cnncalc.errors import UsageError
from cnncalc.solve.results import BottleneckResult, Endpoint, Solution

SAMPLES = 241  # points along a polynomial count's curve
_MAX_POINTS = 600  # integer widths along a count that is not a polynomial
_FAR = 1 << 24  # how far to look for the width where the count reaches the baseline


class Curve(NamedTuple):
    """One count against the width."""

    bias: bool
    metric: str
    xs: tuple[float, ...]  # widths: evenly spaced (a polynomial) or integers (any other count)
    ys: tuple[float, ...]  # the count at each width
    baseline: int  # the baseline block's count
    lower: Fraction  # the band, as counts: lower <= count <= upper (0 when the band is open below)
    upper: Fraction
    points: tuple[tuple[int, Fraction], ...]  # the feasible integer widths listed, and their exact counts
    ends: tuple[Endpoint, ...]  # the finite ends of the real solution intervals, exact


class PlotData(NamedTuple):
    symbol: str
    lo: int  # the widths shown: lo..hi
    hi: int
    curves: tuple[Curve, ...]


def plot_data(result: BottleneckResult, samples: int = SAMPLES) -> PlotData:
    """The plot of a one-width result; several widths have no curve to draw (exit 2)."""
    if len(result.symbols) != 1:
        raise UsageError(
            "--plot draws the count against one width",
            expected="a candidate with one free width",
            found=f"{len(result.symbols)} free widths ({', '.join(result.symbols)})",
            hint="bind the others with --set NAME=VALUE",
        )
    bound = result.solutions[0].bounds[0]
    lo = max(bound.lo, 0)
    far = max((_reach(s, lo) for s in result.solutions), default=lo)
    ends = [e.value for s in result.solutions for p in s.pieces for e in (p.lo, p.hi) if e.value is not None and math.isfinite(e.value)]
    listed = [p[0] for s in result.solutions for p in s.listed]
    top = max([far, *ends, *listed, lo + 1])
    hi = math.ceil(top + max(2.0, 0.06 * (top - lo)))
    if bound.hi is not None:
        hi = min(hi, bound.hi)
    hi = max(hi, lo + 1)
    return PlotData(result.symbols[0], lo, hi, tuple(_curve(s, lo, hi, samples) for s in result.solutions))


def _reach(s: Solution, lo: int) -> int:
    """The least width >= lo at which the count reaches the baseline (doubling, then halving),
    or the last width looked at when it never does within _FAR."""
    if s.value_at([max(lo, 1)]) >= s.baseline:
        return max(lo, 1)
    low, high = max(lo, 1), max(2 * lo, 2)
    while s.value_at([high]) < s.baseline:
        if high >= _FAR:
            return high
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if s.value_at([middle]) >= s.baseline else (middle, high)
    return high


def _curve(s: Solution, lo: int, hi: int, samples: int) -> Curve:
    if s.terms:  # a polynomial: a smooth curve through the real widths
        xs = tuple(lo + (hi - lo) * i / (samples - 1) for i in range(samples))
        ys = tuple(float(sum(float(c) * math.prod(x**e for e in m) for m, c in s.terms)) for x in xs)
    else:  # the count exists at integer widths only
        step = max(1, math.ceil((hi - lo + 1) / _MAX_POINTS))
        widths = range(max(lo, 1), hi + 1, step)
        xs = tuple(float(k) for k in widths)
        ys = tuple(float(s.value_at([k])) for k in widths)
    points = tuple((p[0], s.value_at([p[0]])) for p in s.listed)
    ends = tuple(e for p in s.pieces for e in (p.lo, p.hi) if e.value is not None and math.isfinite(e.value))
    return Curve(s.bias, s.metric, xs, ys, s.baseline, s.lower if s.lower is not None else Fraction(0), s.upper, points, ends)
