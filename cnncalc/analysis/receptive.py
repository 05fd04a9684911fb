"""Receptive field, effective stride and effective padding of every layer, per spatial axis.

Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks" (Distill,
2019), run forward from the input. Every layer is read as a map from one of its output
positions o to an interval of positions of its input, [a*o + b, a*o + b + w]: a conv or a pool
with kernel k, stride s, padding p and dilation d has a = s, b = -p, w = k_eff - 1 with
k_eff = d*(k-1) + 1. A tensor's field along an axis is (size r, stride j, start u): output
position o sees input positions u + j*o .. u + j*o + r - 1 (u = -P, P the effective padding).
Composing a layer gives

    j' = j*a        u' = u + j*b        r' = r + j*w

which for a conv is Araujo's r_in = s*r_out + (k_eff - s) read from the input side.
Positions outside the input (padding) count, as in the paper: r may exceed the input size.

Transposed convs, upsampling and PixelShuffle have a fractional a (1/s): the interval is then a
continuous bound, the field varies with the output position, and the size shown is the largest
any position can have (r rounded down). Adaptive pools depend on the input size; when the
output size does not divide the input size their windows vary and the field is again a bound.
Merges take the union of their branches' fields (equal to the largest when the branches are
centred alike) and warn where branches disagree in stride or centre; an input broadcast along
an axis (squeeze-excitation's 1x1 gate) adds global context that is not counted there.
Normalisations and softmax are treated as pointwise (their statistics are not counted).

Each layer kind declares its map in its family module (cnncalc/layers/), as a description from
`cnncalc.layers.fields` (a window, a shift, a reorder, a fold, a collapse, a union or
pointwise); this module composes the descriptions and never looks at a layer's name.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, NamedTuple

from cnncalc import arith
from cnncalc.analysis.evaluate import Evaluation, Row
from cnncalc.analysis.results import spatial_axes
from cnncalc.explain import Step
from cnncalc.layers import AXES, lookup
from cnncalc.layers.base import term
from cnncalc.layers.fields import POINTWISE, Collapse, Field, Fold, Pointwise, Reduce, Reorder, Shift, Union, Window


class AxisField(NamedTuple):
    """The field along one axis of the input: size r, effective stride j, start u (= -padding)."""

    size: Any = 1
    stride: Any = 1
    start: Any = 0
    exact: bool = True  # False: size is an upper bound (fractional strides, uneven adaptive windows)
    input_dependent: bool = False  # depends on the input size (adaptive pools, Upsample to a size)

    @property
    def padding(self) -> Any:
        """Araujo's effective padding P: how far output 0's field reaches left of the input."""
        return arith.sub(0, self.start)

    @property
    def centre(self) -> Any:
        """Centre of output 0's field, in input positions."""
        return arith.add(self.start, arith.true_div(arith.sub(self.size, 1), 2))

    @property
    def shown_size(self) -> Any:
        """The size as reported: a bound rounds down to the most input positions one output can see."""
        return self.size if self.exact or isinstance(self.size, int) else arith.floor(self.size)


class RowField(NamedTuple):
    """One row's field per input axis (None where not defined), with what the layer did to it."""

    axes: tuple[AxisField, ...] | None
    names: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()

    @property
    def exact(self) -> bool:
        return self.axes is not None and all(a.exact for a in self.axes)


class _Track(NamedTuple):
    """One input axis followed through the network: the tensor dim holding it (negative index),
    or None once the axis is gone (after a Linear over it: every element then sees this field);
    `flat` is the axis's extent once Flatten merged it into another dim."""

    field: AxisField
    dim: int | None
    flat: Any = None


class _State(NamedTuple):
    tracks: tuple[_Track, ...] | None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    aligned: bool = False  # known: each spatial axis where it started (the last dims, in order, not flattened)


class _Untracked(Exception):
    """The layer does something to the spatial axes that the field model cannot follow."""


def receptive_fields(evaluation: Evaluation, *, explain: bool = False) -> tuple[RowField, ...]:
    """The field of every row's output with respect to the evaluation's input."""
    n = spatial_axes(evaluation)
    names = AXES.get(n, tuple(f"axis{i}" for i in range(n)))
    start = _State(tuple(_Track(AxisField(), i - n) for i in range(n)) if n else None, aligned=True)
    untracked = _State(None)
    states: list[_State] = []
    fields: list[RowField] = []
    rules: dict[Any, Field] = {}  # a layer's field rule, by its outcome (shared by repeated layers) and shapes
    through: dict[Any, bool] = {}  # by the same key: a pointwise layer on an unchanged shape keeps its input's field
    shared: dict[int, RowField] = {}  # a state's tracks object -> its RowField, when it has no notes of its own

    def field_of(state: _State) -> RowField:
        plain = not (state.notes or state.warnings or state.steps)
        field = shared.get(id(state.tracks)) if plain else None
        if field is None:
            tracks = None if state.tracks is None else tuple([t.field for t in state.tracks])
            field = RowField(tracks, names, state.notes, state.warnings, state.steps)
            if plain:
                shared[id(state.tracks)] = field  # the tracks stay alive in `states`: ids are not reused
        return field

    for index, row in enumerate(evaluation.rows):
        sources = row.sources or ((index - 1,) if index else (-1,))
        key = (row.type, id(row.args), id(row.inputs), id(row.output), row.copies)  # all the rule reads; the rows hold them
        if len(sources) == 1:
            source = states[sources[0]] if sources[0] >= 0 else start
            passes = through.get(key)
            if passes is None:
                passes = through[key] = _rule(row, key, rules) is POINTWISE and row.inputs[0] == row.output
            if source.tracks is None:
                state = untracked
            elif passes and not (source.notes or source.warnings or source.steps):
                states.append(source)  # the short cut of `_pointwise`, the most common row
                fields.append(field_of(source))
                continue
            else:
                try:
                    state = _layer(row, [source], names, explain, _rule(row, key, rules))
                except _Untracked as exc:
                    state = _State(None, (str(exc),))
            states.append(state)
            fields.append(field_of(state))
            continue
        inputs = [states[s] if s >= 0 else start for s in sources]
        if any(s.tracks is None for s in inputs):
            state = _State(None)
        else:
            try:
                state = _layer(row, inputs, names, explain, _rule(row, key, rules))
            except _Untracked as exc:
                state = _State(None, (str(exc),))
        states.append(state)
        fields.append(field_of(state))
    return tuple(fields)


# ----------------------------------------------------------------------------- per layer


def _rule(row: Row, key: Any, rules: dict[Any, Field]) -> Field:
    """The row's field rule (what its kind does to positions), once per key."""
    rule = rules.get(key)
    if rule is None:
        kind = lookup(row.type)
        rule = POINTWISE if kind is None or kind.field is None else kind.field(kind, dict(row.args), row.inputs, row.output)
        if row.copies != 1:
            rule = _repeated(rule, row.copies, row)
        rules[key] = rule
    return rule


def _layer(row: Row, inputs: list[_State], names: tuple[str, ...], explain: bool, rule: Field) -> _State:
    """Compose one row's field: the kind describes what it does to its input's positions."""
    state = inputs[0]
    if isinstance(rule, Union):
        return _merge(row, inputs, names, rule.dim)
    if isinstance(rule, Window):
        return _apply(state, row, rule, names, explain)
    if isinstance(rule, Shift):
        return _shift(state, row, rule.shifts, names, explain)
    if isinstance(rule, Reorder):
        return _State(tuple(t if t.dim is None else t._replace(dim=rule.moved[t.dim]) for t in state.tracks or ()))
    if isinstance(rule, Fold):
        return _flatten(state, row, rule)
    if isinstance(rule, Collapse):
        return _collapse(state, row, rule.dim, names, explain)
    if isinstance(rule, Reduce):
        return _reduce(state, row, rule, names, explain)
    return _pointwise(state, row)


def _repeated(rule: Field, copies: Any, row: Row) -> Field:
    """The map of n copies of a layer (a symbolic repeat): n stride-1 windows are one window n
    times as wide and shifted n times as far (j' = j, r' = r + j*n*w, u' = u + j*n*b), n shifts
    one shift n times as far; a pointwise layer or a merge stays as it is (a merge's branches
    already hold their n copies, and a union of fields that each grow by a fixed amount per copy
    grows by it n times). Anything else is not followed."""
    if isinstance(rule, Window) and rule.exact and all(arith.equal(a, 1) is True for a, _, _ in rule.maps):
        maps = tuple((a, arith.mul(copies, b), arith.mul(copies, w)) for a, b, w in rule.maps)
        return Window(maps, rule.exact, rule.sized, rule.note, f"{_text(copies)} copies of a {rule.what}")
    if isinstance(rule, Shift):
        return Shift({dim: arith.mul(copies, amount) for dim, amount in rule.shifts.items()})
    if isinstance(rule, (Pointwise, Union)) or (isinstance(rule, Reorder) and all(a == b for a, b in rule.moved.items())):
        return rule
    raise _Untracked(f"{row.type} repeated {_text(copies)} times (a symbolic count) strides, folds or reorders positions: field not tracked")


def _text(value: Any) -> str:
    """A value substituted into a step's sum or product: compound symbolic values in parentheses."""
    return term(value)


def _whole(value: Any) -> Any:
    """A Fraction that is a whole number as an int (so 2 * 1/2 prints as 1)."""
    return int(value) if isinstance(value, Fraction) and value.denominator == 1 else value


_INT = frozenset((int,))
_RATIONAL = frozenset((int, Fraction))


def _rational(numerator: int, denominator: int) -> int | Fraction:
    """n/d as an int when whole (as `_whole` makes it), else a Fraction (d > 0)."""
    divisor = math.gcd(numerator, denominator)
    return numerator // divisor if denominator == divisor else Fraction(numerator // divisor, denominator // divisor)


def _compose(field: AxisField, a: Any, b: Any, w: Any, exact: bool, sized: bool) -> AxisField:
    size, stride, start, was_exact, dependent = field
    kinds = {type(size), type(stride), type(start), type(a), type(b), type(w)}
    if kinds == _INT:
        return AxisField(size + stride * w, stride * a, start + stride * b, was_exact and exact, dependent or sized)
    if kinds <= _RATIONAL:
        # Exact rationals as numerators and denominators (an int has them too): a Fraction
        # operation costs microseconds (Python code and a gcd each), and a 100,000-layer network
        # of upsamplings and pools makes a million of them.
        ns, ds, nj, dj, nu, du = size.numerator, size.denominator, stride.numerator, stride.denominator, start.numerator, start.denominator
        return AxisField(
            _rational(ns * dj * w.denominator + nj * w.numerator * ds, ds * dj * w.denominator),
            _rational(nj * a.numerator, dj * a.denominator),
            _rational(nu * dj * b.denominator + nj * b.numerator * du, du * dj * b.denominator),
            was_exact and exact,
            dependent or sized,
        )
    return AxisField(
        _whole(arith.add(size, arith.mul(stride, w))),
        _whole(arith.mul(stride, a)),
        _whole(arith.add(start, arith.mul(stride, b))),
        was_exact and exact,
        dependent or sized,
    )


def _apply(state: _State, row: Row, window: Window, names: tuple[str, ...], explain: bool) -> _State:
    """Compose per-dim maps on the last dims of the input (which must be tracked input axes)."""
    tracks = list(state.tracks or ())
    n = len(window.maps)
    if not explain and len(tracks) == n and (state.aligned or all(t.dim == axis and t.flat is None for t, axis in zip(tracks, range(-n, 0)))):
        # The common case, each spatial axis where it started: no lookups, no steps.
        exact, sized = window.exact, window.sized
        moved = tuple([_Track(_compose(t.field, a, b, w, exact, sized), t.dim) for t, (a, b, w) in zip(tracks, window.maps)])
        return _State(moved, (window.note,) if window.note else (), (), (), True)
    by_dim = {t.dim: i for i, t in enumerate(tracks) if t.dim is not None and t.flat is None}
    steps: list[Step] = []
    for axis, (a, b, w) in zip(range(-n, 0), window.maps):
        if axis not in by_dim:
            raise _Untracked(f"{row.type} runs over a dimension that is not a spatial axis of the input: field not tracked")
        i = by_dim[axis]
        track = tracks[i]
        old = track.field
        new = _compose(old, a, b, w, window.exact, window.sized)
        tracks[i] = _Track(new, track.dim, track.flat)
        if explain:
            label = names[i] if i < len(names) else f"axis{i}"
            if window.kernel:
                k, d, p = window.kernel[axis + n], window.dilation[axis + n], window.pads[axis + n]
                steps.append(
                    Step(
                        f"RF {label}: k_eff", "d*(k-1)+1", f"{_text(d)}*({_text(k)}-1)+1", arith.add(w, 1),
                        then=(
                            Step("r", "r_in + (k_eff-1)*j_in", f"{_text(old.size)} + {_text(w)}*{_text(old.stride)}", new.size),
                            Step("j", "j_in*s", f"{_text(old.stride)}*{_text(a)}", new.stride),
                            Step("P", "P_in + p*j_in", f"{_text(old.padding)} + {_text(p)}*{_text(old.stride)}", new.padding),
                        ),
                    )
                )
            else:
                sees = f"output o sees inputs [{_text(a)}*o + {_text(b)}, ... + {_text(w)}]"
                steps.append(
                    Step(
                        f"RF {label} ({window.what}: {sees}): r", "", f"{_text(old.size)} + {_text(w)}*{_text(old.stride)}", new.size,
                        then=(Step("j", "", f"{_text(old.stride)}*{_text(a)}", new.stride), Step("P", result=new.padding)),
                    )
                )
    return _State(tuple(tracks), (window.note,) if window.note else (), (), tuple(steps))


def _shift(state: _State, row: Row, shifts: dict[int, Any], names: tuple[str, ...], explain: bool) -> _State:
    """Padding or cropping: output position o is input position o + shift (shift = -left pad)."""
    tracks = list(state.tracks or ())
    steps = []
    for i, t in enumerate(tracks):
        if t.dim in shifts and t.flat is None:
            amount = shifts[t.dim]
            new = _compose(t.field, 1, arith.mul(-1, amount), 0, True, False)
            tracks[i] = t._replace(field=new)
            if explain and i < len(names):
                steps.append(Step(f"RF {names[i]}: shifted by {_text(amount)} input positions of this layer: P", result=new.padding))
        elif t.flat is not None and t.dim in shifts:
            raise _Untracked(f"{row.type} pads a flattened dimension: field not tracked")
    return _State(tuple(tracks), (), (), tuple(steps))


def _flatten(state: _State, row: Row, fold: Fold) -> _State:
    x = row.inputs[0]
    rank, out_rank = len(x), len(row.output)
    if rank == 0:
        return _State(state.tracks)
    first, last = fold.first, fold.last
    tracks = []
    for t in state.tracks or ():
        if t.dim is None:
            tracks.append(t)
            continue
        p = t.dim + rank
        if p < first:
            tracks.append(t._replace(dim=p - out_rank))
        elif p <= last:
            extent = t.flat if t.flat is not None else x[p]
            tracks.append(t._replace(dim=first - out_rank, flat=extent))
        else:
            tracks.append(t)  # trailing dims keep their negative index
    return _State(tuple(tracks))


def _collapse(state: _State, row: Row, dim: int, names: tuple[str, ...], explain: bool) -> _State:
    """A layer that mixes every position along `dim` (Linear over it): the union of all positions."""
    tracks = []
    steps: list[Step] = []
    for i, t in enumerate(state.tracks or ()):
        tracks.append(_spanned(t, row, "mixes", False, names[i] if explain and i < len(names) else None, steps) if t.dim == dim else t)
    return _State(tuple(tracks), (), (), tuple(steps))


def _reduce(state: _State, row: Row, rule: Reduce, names: tuple[str, ...], explain: bool) -> _State:
    """A reduction (`x.mean([2, 3])`): the union of all positions along the reduced dims, as a
    global pool's; without keepdim the dims after them move up."""
    tracks = []
    steps: list[Step] = []
    for i, t in enumerate(state.tracks or ()):
        if t.dim is not None and t.dim in rule.dims:
            tracks.append(_spanned(t, row, "reduces", True, names[i] if explain and i < len(names) else None, steps))  # sized: a global pool's
        elif t.dim is not None and not rule.keep:
            tracks.append(t._replace(dim=t.dim + sum(1 for d in rule.dims if d > t.dim)))
        else:
            tracks.append(t)
    return _State(tuple(tracks), (), (), tuple(steps))


def _spanned(t: _Track, row: Row, verb: str, sized: bool, name: str | None, steps: list[Step]) -> _Track:
    """A track whose dim the layer takes whole (every position of it into each output): the
    field grows by the extent - 1 strides; a step appended when `name` is given."""
    assert t.dim is not None
    extent = t.flat if t.flat is not None else row.inputs[0][t.dim]
    new = _compose(t.field, extent, 0, arith.sub(extent, 1), True, sized)
    if name is not None:
        steps.append(
            Step(
                f"RF {name}: {row.type} {verb} all {_text(extent)} positions: r", "",
                f"{_text(t.field.size)} + ({_text(extent)}-1)*{_text(t.field.stride)}", new.size,
            )
        )
    return _Track(new, None)


def _pointwise(state: _State, row: Row) -> _State:
    """Layers that keep every spatial position where it was (activations, norms, 1x1 reshuffles)."""
    x, y = row.inputs[0], row.output
    if x != y:
        for t in state.tracks or ():
            if t.dim is None:
                continue
            if len(x) != len(y) or arith.equal(x[t.dim], y[t.dim]) is False:
                raise _Untracked(f"{row.type} changes a spatial dimension: field not tracked")
    return state if not (state.notes or state.warnings or state.steps) else _State(state.tracks)


def _merge(row: Row, inputs: list[_State], names: tuple[str, ...], dim: int | None) -> _State:
    """Add / Mul / Concat: the union of the branches' fields, axis by axis; `dim`: a Concat's."""
    y = row.output
    if dim is not None and any(t.dim == dim for s in inputs for t in s.tracks or ()):
        raise _Untracked(f"{row.type} along a spatial axis: field not tracked")
    first = inputs[0].tracks or ()
    tracks = []
    notes: list[str] = []
    warnings: list[str] = []
    for i in range(len(first)):
        label = names[i] if i < len(names) else f"axis{i}"
        branches = []
        for s, shape in zip(inputs, row.inputs):
            t = (s.tracks or ())[i]
            broadcast = (
                t.dim is not None
                and -len(shape) <= t.dim
                and isinstance(shape[t.dim], int)
                and shape[t.dim] == 1
                and not (isinstance(y[t.dim], int) and y[t.dim] == 1)
            )
            if broadcast:
                note = "a broadcast input (global context, e.g. an SE gate) is not counted"
                if note not in notes:
                    notes.append(note)
                continue
            branches.append(t)
        if not branches:
            branches = [(s.tracks or ())[i] for s in inputs]
        fields = [b.field for b in branches]
        dims = {b.dim for b in branches}
        dim = branches[0].dim if len(dims) == 1 else None
        if any(arith.equal(f.stride, fields[0].stride) is not True for f in fields[1:]):
            warnings.append(
                f"{row.path}: branches disagree in effective stride along {label} ("
                + ", ".join(_text(f.stride) for f in fields) + "); the largest field is shown"
            )
            largest = fields[0]
            for f in fields[1:]:
                if arith.is_positive(arith.sub(f.size, largest.size)):
                    largest = f
            tracks.append(_Track(largest._replace(exact=False), dim, branches[0].flat))
            continue
        doubled = [arith.add(arith.mul(2, f.start), arith.sub(f.size, 1)) for f in fields]  # 2*centre: no Fractions
        if any(arith.equal(d, doubled[0]) is False for d in doubled[1:]):
            warnings.append(
                f"{row.path}: branches disagree in field centre along {label} (output 0 centred at "
                + ", ".join(_text(f.centre) for f in fields) + "); the union of their fields is shown"
            )
        low = arith.minimum(*[f.start for f in fields])
        high = arith.maximum(*[arith.add(f.start, f.size) for f in fields])
        union = AxisField(
            _whole(arith.sub(high, low)),
            fields[0].stride,
            _whole(low),
            all(f.exact for f in fields),
            any(f.input_dependent for f in fields),
        )
        tracks.append(_Track(union, dim, branches[0].flat))
    return _State(tuple(tracks), tuple(notes), tuple(warnings))


# ----------------------------------------------------------------------------- text


def _rational_cells(axes: tuple[AxisField, ...]) -> tuple[str, str, str] | None:
    """`field_cells` of a field of ints and Fractions, without the general path's calls (a
    bound's size rounds down, as `shown_size` does; a Fraction prints as n/d, as `as_text`)."""
    sizes, strides, pads = [], [], []
    exact = True
    for size, stride, start, axis_exact, _ in axes:
        for value in (size, stride, start):
            if type(value) is not int and type(value) is not Fraction:
                return None
        exact = exact and axis_exact
        sizes.append(str(size if axis_exact or type(size) is int else size.numerator // size.denominator))
        strides.append(str(stride) if type(stride) is int else f"{stride.numerator}/{stride.denominator}")
        pads.append(str(-start) if type(start) is int else f"{-start.numerator}/{start.denominator}")
    return ("" if exact else "<=") + "x".join(sizes), "x".join(strides), "x".join(pads)


def axis_text(values: tuple[Any, ...]) -> str:
    """Per-axis values joined as HxW (symbolic values in parentheses: (k + 1)x(k + 1))."""
    if all(type(v) is int for v in values):
        return "x".join(map(str, values))
    texts = [arith.as_text(v) for v in values]
    return "x".join(f"({t})" if len(texts) > 1 and any(c in t for c in " *") else t for t in texts)


def field_cells(field: RowField) -> tuple[str, str, str]:
    """(size, stride, padding) cells for a table: '<=' marks a bound, '-' where not defined."""
    if field.axes is None or not field.axes:
        return "-", "-", "-"
    quick = _rational_cells(field.axes)
    if quick is not None:
        return quick
    size = axis_text(tuple(a.shown_size for a in field.axes))
    if not field.exact:
        size = "<=" + size
    return size, axis_text(tuple(a.stride for a in field.axes)), axis_text(tuple(a.padding for a in field.axes))
