"""Sliding and adaptive windows: the output size of a conv or pool axis (PyTorch's formulas,
ceil_mode's last-window drop exact for symbols too), its explanation steps, and the summed
lengths of adaptive windows.

On the start-up path with conv and pool: no sympy until a value is symbolic.
"""

# No `from __future__ import annotations`, as in base.py (the annotations here are few anyway).
import functools
import math
from typing import TYPE_CHECKING, Any

from cnncalc import arith
from cnncalc.arith import add, floor_div, mul, sub
from cnncalc.layers.base import AXES, Ctx, Shape, step, term, too_small

if TYPE_CHECKING:
    from cnncalc.explain import Step


def window_size(size: Any, k: Any, s: Any, p: Any, d: Any, ceil_mode: bool = False) -> Any:
    """A sliding window's output size on one axis (PyTorch's conv formula, pooling_output_shape).

    With ceil_mode, PyTorch takes ceil((in + 2p - d(k-1) - 1)/s) + 1 and then drops the last
    window when it starts in the right padding (or past the input): when (out-1)*s >= in + p.
    A symbolic size gets the exact rule too (`ceil_drop` tells which form applies)."""
    span = sub(sub(add(size, mul(2, p)), mul(d, sub(k, 1))), 1)
    if not ceil_mode:
        return add(floor_div(span, s), 1)
    out = add(floor_div(add(span, sub(s, 1)), s), 1)
    if all(type(v) is int for v in (size, k, s, p, d)):
        if (out - 1) * s >= size + p:
            out -= 1
        return out
    drops = ceil_drop(k, s, p, d)
    if drops is False:
        return out
    inside = add(floor_div(sub(add(size, p), 1), s), 1)
    if drops:
        return inside
    import sympy

    return arith.normalize(sympy.Piecewise((inside, sympy.Gt(s, drop_bound(k, p, d))), (out, True)))


def drop_bound(k: Any, p: Any, d: Any) -> Any:
    """d*(k-1) - p + 1: with ceil_mode, a stride up to this never starts a window in the right padding or beyond."""
    return add(sub(mul(d, sub(k, 1)), p), 1)


def ceil_drop(k: Any, s: Any, p: Any, d: Any) -> bool | None:
    """Whether ceil_mode's last-window drop decides the output size: False when it never
    happens (the ceil formula is exact), True when the size is floor((in + p - 1)/s) + 1 for
    every input size, None when that depends on symbolic k, s, p or d.

    Let L = in + 2p - d(k-1) - 1, A = ceil(L/s) (= floor((L + s - 1)/s)), and c = s - (d(k-1) - p + 1).
    PyTorch's size is A + 1, minus one when A*s >= in + p; the windows that remain start at
    0, s, ..., and the last start is at most in + p - 1 (in the input or the left padding).

    No drop when c <= 0, i.e. s <= d(k-1) - p + 1: A*s = s*ceil(L/s) <= L + s - 1
    = (in + p) + (p - d(k-1) + s - 2) = (in + p) + c - 1 < in + p.

    When c > 0, let B = floor((in + p - 1)/s), the number of strides that fit before the right
    padding. PyTorch drops exactly when A*s >= in + p, i.e. A > (in + p - 1)/s, i.e. A > B (A is
    an integer); so its size is A + 1 - [A > B]. Since L + s - 1 = (in + p - 1) + c and c > 0,
    A >= B. And A <= B + 1: (L + s - 1) - (in + p - 1) = c = s - 1 - (d(k-1) - p) <= s - 1,
    because PyTorch requires p <= k/2 (so p = 0 when k = 1, and p <= k - 1 <= d(k-1) when
    k >= 2): two numbers less than s apart have floor quotients at most 1 apart. Hence the size
    is min(A, B) + 1 = B + 1 = floor((in + p - 1)/s) + 1 for every input size PyTorch accepts.
    """
    c = sub(s, drop_bound(k, p, d))
    if isinstance(c, int):
        return c > 0
    if c.is_positive:
        return True
    if c.is_nonpositive:
        return False
    return None


def window_text(size: Any, k: Any, s: Any, p: Any, d: Any, rounding: str = "floor") -> str:
    """The sliding-window output size formula with one axis's numbers put in."""
    return f"{rounding}(({term(size)} + 2*{term(p)} - {term(d)}*({term(k)}-1) - 1)/{term(s)}) + 1"


def window_sizes(ctx: Ctx, sizes: Shape, kernel: Shape, stride: Shape, pads: Shape, dilation: Shape, ceil_mode: bool) -> list[Any]:
    """A pooling (or unpadded) window's output size on every spatial axis, with the steps when
    explaining; refuses an empty axis."""
    rounding = "ceil" if ceil_mode else "floor"
    outs = [window_size(size, k, s, p, d, ceil_mode) for size, k, s, p, d in zip(sizes, kernel, stride, pads, dilation)]
    too_small(
        ctx, outs, f"{rounding}((in + 2p - d(k-1) - 1)/s) + 1",
        lambda i: window_text(sizes[i], kernel[i], stride[i], pads[i], dilation[i], rounding),
    )
    return outs


_CEIL = "ceil(({axis} + 2p - d(k-1) - 1)/s) + 1"
_INSIDE = "floor(({axis} + p - 1)/s) + 1"


def window_steps(sizes: Shape, kernel: Shape, stride: Shape, pads: Shape, dilation: Shape, ceil_mode: bool, outs: list[Any]) -> "list[Step]":
    """The pooling output-size steps, one per axis."""
    return [
        _window_step(axis, size, k, s, p, d, ceil_mode, out)
        for axis, size, k, s, p, d, out in zip(AXES[len(sizes)], sizes, kernel, stride, pads, dilation, outs)
    ]


def _window_step(axis: str, size: Any, k: Any, s: Any, p: Any, d: Any, ceil_mode: bool, out: Any) -> "Step":
    """One axis's output-size step; with ceil_mode and a symbol, the form of the drop rule that applies."""
    if not ceil_mode:
        return step(f"{axis}_out", f"floor(({axis} + 2p - d(k-1) - 1)/s) + 1", window_text(size, k, s, p, d), out)
    ceiled = window_text(size, k, s, p, d, "ceil")
    if all(type(v) is int for v in (size, k, s, p, d)):
        return step(f"{axis}_out", _CEIL.format(axis=axis), ceiled + " (minus one if the last window starts in the right padding)", out)
    drops = ceil_drop(k, s, p, d)
    bound = f"s {'>' if drops else '<='} d(k-1) - p + 1"
    worked = f"{term(s)} {'>' if drops else '<='} {term(d)}*({term(k)}-1) - {term(p)} + 1"
    inside = f"floor(({term(size)} + {term(p)} - 1)/{term(s)}) + 1"
    if drops is False:
        note = f"ceil_mode with {bound} ({worked}): no window starts in the right padding or beyond"
        return step(f"{axis}_out", _CEIL.format(axis=axis), ceiled, out, note=note)
    if drops:
        note = (
            f"ceil_mode with {bound} ({worked}): PyTorch drops a last window that would start in the right padding or beyond, "
            f"so the last one starts by {axis} + p - 1"
        )
        return step(f"{axis}_out", _INSIDE.format(axis=axis), inside, out, note=note)
    formula = f"{_INSIDE.format(axis=axis)} if s > d(k-1) - p + 1, else {_CEIL.format(axis=axis)}"
    note = "ceil_mode: PyTorch drops a last window that would start in the right padding or beyond, which happens only when s > d(k-1) - p + 1"
    return step(f"{axis}_out", formula, f"{inside} if {term(s)} > {term(d)}*({term(k)}-1) - {term(p)} + 1, else {ceiled}", out, note=note)


def adaptive_windows(sizes: Shape, outs: Shape) -> Any:
    """Product over axes of the summed adaptive window lengths: in + out - gcd(in, out) per axis.

    Output o's window is [floor(o*in/out), ceil((o+1)*in/out)). The lengths telescope:
    sum over o of floor((o+1)*in/out) - floor(o*in/out) = in, and each ceil adds one where
    out does not divide (o+1)*in, i.e. for every j = o+1 in 1..out but the gcd(in, out)
    multiples of out/gcd(in, out). Exact for symbols too (gcd stays unevaluated until the
    sizes are numbers); it equals `in` when out divides in.
    """
    total: Any = 1
    for size, out in zip(sizes, outs):
        total = mul(total, sub(add(size, out), gcd(size, out)))
    return total


def gcd(a: Any, b: Any) -> Any:
    """gcd(a, b) of two positive integers; for symbols an unevaluated `gcd(N, 7)` that becomes
    a number once they are numbers (sympy's own gcd is the polynomial one: 1 for two symbols)."""
    if isinstance(a, int) and isinstance(b, int):
        return math.gcd(a, b)
    return arith.normalize(_integer_gcd()(a, b))


@functools.cache
def _integer_gcd() -> Any:
    """The sympy function class behind a symbolic gcd, defined on first use (sympy is imported
    only for symbols)."""
    import sympy

    class gcd(sympy.Function):  # type: ignore[misc]  # sympy is untyped; the class name is what prints
        """The integer gcd of positive integers, evaluated once both are numbers."""

        nargs = 2
        is_integer = True
        is_positive = True

        # `eval` is sympy's evaluation hook for a Function class (sympy calls it with the sympy
        # numbers and symbols cnncalc's own arithmetic built), not Python's eval: no text is read.
        @classmethod
        def eval(cls, x: Any, y: Any) -> Any:
            if x.is_Integer and y.is_Integer:
                return sympy.Integer(math.gcd(int(x), int(y)))
            for a, b in ((x, y), (y, x)):
                if a == 1 or (b / a).is_integer:  # gcd(1, b) = 1; a divides b: gcd(a, b) = a
                    return a
            return None

    return gcd
