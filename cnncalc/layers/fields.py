"""Receptive-field mappings as data: what a layer does to the positions of its input.

A kind's `field` rule returns one of these descriptions and `cnncalc.analysis.receptive`
composes them along the network (Araujo, Norris & Sim, Distill 2019). Dimensions are negative
indices (counted from the end, so that a batch dimension does not matter) unless said otherwise.

Only the receptive-field walk imports this module; the family modules import it inside their
field rules, which keeps it (and its NamedTuple classes) off the start-up path.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cnncalc import arith

Map = tuple[Any, Any, Any]  # (a, b, w): output position o sees input positions [a*o + b, a*o + b + w]


class Window(NamedTuple):
    """A window over each of the last len(maps) dims, one (a, b, w) map per dim."""

    maps: tuple[Map, ...]
    exact: bool = True  # False: w is a bound (fractional strides, windows of varying size)
    sized: bool = False  # the map depends on the input size (adaptive pools, Upsample to a size)
    note: str = ""
    what: str = "window"  # how the explanation names the map: window, transposed, bound
    # A sliding window (conv, pool) is explained with its kernel, padding and dilation per dim.
    kernel: tuple[Any, ...] = ()
    pads: tuple[Any, ...] = ()
    dilation: tuple[Any, ...] = ()


class Shift(NamedTuple):
    """Padding or cropping: output position o is input position o - shift (shift = left padding)."""

    shifts: dict[int, Any]


class Reorder(NamedTuple):
    """The dims are permuted: `moved[input dim] = output dim`."""

    moved: dict[int, int]


class Fold(NamedTuple):
    """Dims first..last (non-negative indices of the input) are merged into one (Flatten)."""

    first: int
    last: int


class Collapse(NamedTuple):
    """Every output element mixes every position along `dim` (a Linear over it)."""

    dim: int


class Reduce(NamedTuple):
    """A reduction over `dims` (negative indices): every output element mixes every position
    along them; without `keep` they go away (the dims after them move up)."""

    dims: tuple[int, ...]
    keep: bool


class Pointwise(NamedTuple):
    """Every position stays where it was (activations, norms, channel shuffles)."""


class Union(NamedTuple):
    """A merge of several inputs: the union of their fields; `dim` is a Concat's dim."""

    dim: int | None = None


Field = Window | Shift | Reorder | Fold | Collapse | Reduce | Pointwise | Union
POINTWISE = Pointwise()


def sliding(kernel: tuple[Any, ...], stride: tuple[Any, ...], pads: tuple[Any, ...], dilation: tuple[Any, ...]) -> Window:
    """A conv's or a pool's window: a = s, b = -p, w = d*(k-1)."""
    maps = tuple((s, arith.sub(0, p), arith.mul(d, arith.sub(k, 1))) for k, s, p, d in zip(kernel, stride, pads, dilation))
    return Window(maps, kernel=kernel, pads=pads, dilation=dilation)


def adaptive_map(size: Any, out: Any) -> tuple[Map, bool]:
    """An adaptive window along one dim and whether it is exact: windows floor(o*L/O) ..
    ceil((o+1)*L/O) - 1 all have size L/O when O divides L, and vary otherwise (a bound)."""
    if arith.divides(out, size):
        window = arith.floor_div(size, out)
        return (window, 0, arith.sub(window, 1)), True
    return uneven_map(size, out), False


def uneven_map(size: Any, out: Any) -> Map:
    """The bound of adaptive windows of varying size: a = L/O, b = 1/O - 1, w = L/O + 1 - 2/O."""
    a = arith.true_div(size, out)
    return (a, arith.sub(arith.true_div(1, out), 1), arith.add(a, arith.sub(1, arith.true_div(2, out))))
