"""Every symbolic formula a layer rule gives equals the numeric rule, value by value.

Each test draws a layer: its kind and, for every size argument (kernel, stride, padding,
dilation, output_padding, output_size, size), either a literal or a free symbol (a positive
integer, as `cnncalc.arith.symbol` makes them). It runs the rule once (`cnncalc.layers.apply`)
on an input whose spatial sizes are symbols, then substitutes integer points and compares with
the rule run on plain ints at each point: output shape, parameters, bias, buffers, MACs and the
cheap ops, each equal as an integer. A formula that is not exact everywhere must carry its
condition (a Piecewise, or a function such as gcd that evaluates at the point): it is compared
like any other.

Invalid points. Where the numeric rule raises a `CnncalcError`, PyTorch refuses the layer
there (the numeric rules are checked against PyTorch by tests/test_reference_cases.py): padding
above half the kernel, output_padding not below stride or dilation, an input smaller than an
AvgPool3d kernel, or an empty output. The symbolic formula claims nothing at such a point,
with one check: when the refusal is an empty output ("too small"), the formula must give a size
<= 0 there too, so the formula and the size check agree. Any other exception fails the test,
and so does a symbolic value that is not an integer at a valid point.

The ceil_mode drop rule has its own exhaustive check below (every small k, s, p, d, size).
Profiles (tests/conftest.py): "ci" (default) draws 50 layers per test, each at up to 12 points.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st

from cnncalc import arith
from cnncalc.errors import CnncalcError
from cnncalc.layers import KINDS, REQUIRED, LayerKind, Outcome, apply
from cnncalc.layers.windows import window_size
from cnncalc.render.explain import step_text

# The range of each symbol's values at the points, by the first letter of its name.
RANGES = {"H": (1, 40), "k": (1, 6), "s": (1, 5), "p": (1, 3), "d": (1, 3), "o": (1, 3), "t": (1, 9), "c": (1, 12), "f": (1, 12), "g": (1, 4), "r": (1, 3)}
POINTS = 12


def sym(name: str) -> Any:
    return arith.symbol(name)


# ----------------------------------------------------------------------------- building blocks


def _args(kind: LayerKind, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The kind's defaults with `kwargs` put in, as the spec reader hands them to a rule."""
    args = {p.name: p.default for p in kind.params}
    args.update(kwargs)
    missing = [name for name, value in args.items() if value is REQUIRED]
    assert not missing, missing
    return args


def _at(value: Any, point: dict[Any, int]) -> Any:
    """A value (an int, a tuple, a sympy expression) with the point's integers put in."""
    if isinstance(value, tuple):
        return tuple(_at(v, point) for v in value)
    if not arith.is_symbolic(value):
        return value
    import sympy

    result = value.xreplace({name: sympy.Integer(v) for name, v in point.items()})
    if result.free_symbols:  # pragma: no cover - every symbol has a value
        raise AssertionError(f"{value} keeps {result.free_symbols} at {point}")
    if not result.is_Integer:
        result = result.doit()
    return arith.normalize(result)


def _cheap(kind: LayerKind, args: dict[str, Any], inputs: tuple[Any, ...], outcome: Outcome) -> Any:
    if kind.cheap is None:
        return 0
    found = kind.cheap(kind, args, inputs, outcome.output)
    return 0 if found is None else found[0]


def _fields(kind: LayerKind, args: dict[str, Any], inputs: tuple[Any, ...], outcome: Outcome) -> dict[str, Any]:
    return {
        "output": outcome.output,
        "params": outcome.params,
        "bias": outcome.bias,
        "buffers": outcome.buffers,
        "macs": outcome.macs,
        "ops": _cheap(kind, args, inputs, outcome),
    }


def check(kind_name: str, kwargs: dict[str, Any], shape: tuple[Any, ...], points: list[dict[str, int]]) -> int:
    """Build the symbolic outcome once, compare it with the numeric one at every point; returns
    how many points were valid (compared)."""
    kind = KINDS[kind_name]
    args = _args(kind, kwargs)
    note(f"{kind_name}({kwargs}) on {shape}")
    try:
        outcome = apply(kind, args, (shape,), explain=True)
    except CnncalcError as error:
        # Refused with symbols: its literal arguments alone are invalid, so every point must be too.
        for values in points:
            point = {sym(name): value for name, value in values.items()}
            with pytest.raises(CnncalcError):
                apply(kind, {name: _at(value, point) for name, value in args.items()}, (_at(shape, point),))
        note(f"refused: {error}")
        return 0
    for s in outcome.steps:
        step_text(s)  # the working renders, whatever the formula holds
    symbolic = _fields(kind, args, (shape,), outcome)
    valid = 0
    for values in points:
        point = {sym(name): value for name, value in values.items()}
        numeric_args = {name: _at(value, point) for name, value in args.items()}
        numeric_shape = _at(shape, point)
        expected = {name: _at(value, point) for name, value in symbolic.items()}
        try:
            numeric = apply(kind, numeric_args, (numeric_shape,))
        except CnncalcError as error:
            if "too small" in str(error):
                sizes = [v for v in expected["output"] if isinstance(v, int)]
                assert len(sizes) == len(expected["output"]), (values, expected)
                assert min(sizes) <= 0, f"{values}: refused ({error}) but the formula gives {expected['output']}"
            continue
        valid += 1
        found = _fields(kind, numeric_args, (numeric_shape,), numeric)
        for name, value in expected.items():
            whole = value if isinstance(value, tuple) else (value,)
            assert all(type(v) is int for v in whole), f"{name} at {values}: {value} is not an integer"
        assert expected == found, f"at {values}: formula {expected}, numeric rule {found} ({symbolic})"
    event(f"valid points: {'none' if not valid else 'some' if valid < len(points) else 'all'}")
    event(f"symbols: {len(names_in(shape, *args.values())) - len(names_in(shape))} in the arguments")
    return valid


# ----------------------------------------------------------------------------- strategies


def slot(draw: Any, name: str, literals: tuple[int, int], symbolic: bool = True) -> Any:
    """A size argument: a literal in `literals` or (when allowed) the free symbol `name`."""
    if symbolic and draw(st.booleans()):
        return sym(name)
    return draw(st.integers(*literals))


def axis_args(draw: Any, n: int, name: str, literals: tuple[int, int], symbolic: bool = True) -> Any:
    """An int-or-tuple argument: one value for every axis, or a tuple of one per axis."""
    if n > 1 and draw(st.integers(0, 3)) == 0:
        return tuple(slot(draw, f"{name}{i}", literals, symbolic) for i in range(n))
    return slot(draw, name, literals, symbolic)


def draw_points(draw: Any, names: set[str], constrain: Callable[[dict[str, int]], dict[str, int]] | None = None) -> list[dict[str, int]]:
    """Integer points for the symbols; `constrain` may bend a point towards valid layers."""
    ordered = sorted(names)
    points = []
    for _ in range(POINTS):
        point = {name: draw(st.integers(*RANGES[name[0]])) for name in ordered}
        points.append(constrain(point) if constrain else point)
    return points


def names_in(*values: Any) -> set[str]:
    found: set[str] = set()
    for value in values:
        for v in value if isinstance(value, tuple) else (value,):
            if arith.is_symbolic(v):
                found |= {str(s) for s in v.free_symbols}
    return found


def spatial_shape(draw: Any, n: int, channels: int = 3, batched: bool | None = None) -> tuple[Any, ...]:
    """[N, C, H0, H1, ...] or [C, H0, ...] with symbolic spatial sizes (one shared symbol, or one per axis)."""
    shared = draw(st.booleans())
    sizes = tuple(sym("H") if shared else sym(f"H{i}") for i in range(n))
    if batched is None:
        batched = draw(st.booleans())
    return ((2, channels) if batched else (channels,)) + sizes


def _half_kernel(point: dict[str, int]) -> dict[str, int]:
    """Pools need 2p <= k: bring a symbolic padding within half its symbolic kernel (as far as p >= 1 allows)."""
    for name in point:
        if name.startswith("p") and "k" + name[1:] in point:
            point[name] = min(point[name], max(1, point["k" + name[1:]] // 2))
    return point


# ----------------------------------------------------------------------------- tests


@given(st.data())
def test_conv(data: Any) -> None:
    draw = data.draw
    n = draw(st.integers(1, 3))
    shape = spatial_shape(draw, n)
    kernel = axis_args(draw, n, "k", (1, 5))
    same = draw(st.integers(0, 4)) == 0
    dilation = axis_args(draw, n, "d", (1, 3))
    if same:
        kwargs = {"padding": "same", "stride": 1}
    else:
        kwargs = {"padding": axis_args(draw, n, "p", (0, 3)), "stride": axis_args(draw, n, "s", (1, 4))}
    kwargs |= {"out_channels": draw(st.sampled_from([3, 6])), "kernel_size": kernel, "dilation": dilation}
    kwargs["groups"] = draw(st.sampled_from([1, 3]))  # 3 input channels
    names = names_in(shape, *kwargs.values())
    check(f"Conv{n}d", kwargs, shape, draw_points(draw, names))


@given(st.data())
def test_conv_transpose(data: Any) -> None:
    draw = data.draw
    n = draw(st.integers(1, 3))
    shape = spatial_shape(draw, n, channels=4)
    kwargs = {
        "out_channels": 6,
        "kernel_size": axis_args(draw, n, "k", (1, 5)),
        "stride": axis_args(draw, n, "s", (1, 4)),
        "padding": axis_args(draw, n, "p", (0, 3)),
        "dilation": axis_args(draw, n, "d", (1, 3)),
        "output_padding": axis_args(draw, n, "o", (0, 2)),
        "groups": draw(st.sampled_from([1, 2])),
    }
    names = names_in(shape, *kwargs.values())
    check(f"ConvTranspose{n}d", kwargs, shape, draw_points(draw, names))


@given(st.data())
def test_sliding_pools(data: Any) -> None:
    draw = data.draw
    family = draw(st.sampled_from(["MaxPool", "AvgPool", "LPPool"]))
    n = draw(st.integers(1, 2 if family == "LPPool" else 3))
    shape = spatial_shape(draw, n)
    kwargs: dict[str, Any] = {"ceil_mode": draw(st.booleans())}
    if family == "LPPool":
        kwargs["norm_type"] = 2
        kwargs["kernel_size"] = slot(draw, "k", (1, 5)) if n == 1 else axis_args(draw, n, "k", (1, 5))
    else:
        kwargs["kernel_size"] = axis_args(draw, n, "k", (1, 5))
        kwargs["padding"] = axis_args(draw, n, "p", (0, 2))
    kwargs["stride"] = draw(st.none()) if draw(st.integers(0, 4)) == 0 else axis_args(draw, n, "s", (1, 5))
    if family == "MaxPool":
        kwargs["dilation"] = axis_args(draw, n, "d", (1, 3))
    names = names_in(shape, *kwargs.values())
    check(f"{family}{n}d", kwargs, shape, draw_points(draw, names, _half_kernel))


@given(st.data())
def test_adaptive_pools(data: Any) -> None:
    draw = data.draw
    n = draw(st.integers(1, 3))
    shape = spatial_shape(draw, n)
    if n > 1 and draw(st.booleans()):
        target: Any = tuple(draw(st.none()) if draw(st.integers(0, 3)) == 0 else slot(draw, f"t{i}", (1, 9)) for i in range(n))
    else:
        target = slot(draw, "t", (1, 9))
    kind = draw(st.sampled_from(["AdaptiveAvgPool", "AdaptiveMaxPool"])) + f"{n}d"
    names = names_in(shape, target)
    check(kind, {"output_size": target}, shape, draw_points(draw, names))


@given(st.data())
def test_upsample(data: Any) -> None:
    draw = data.draw
    n = draw(st.integers(1, 3))
    shape = spatial_shape(draw, n, batched=True)
    mode = draw(st.sampled_from(["nearest", "area", {1: "linear", 2: "bilinear", 3: "trilinear"}[n]]))
    kwargs: dict[str, Any] = {"mode": mode}
    if draw(st.booleans()):
        kwargs["size"] = axis_args(draw, n, "t", (1, 9))
    else:
        factors = st.sampled_from([2, 3, 0.5, 1.5, 0.3, 2.25, 1.1])
        kwargs["scale_factor"] = draw(factors) if draw(st.booleans()) else tuple(draw(factors) for _ in range(n))
    names = names_in(shape, kwargs.get("size"))
    check("Upsample", kwargs, shape, draw_points(draw, names))


@given(st.data())
def test_chain_through_a_ceil_pool(data: Any) -> None:
    """Formulas compose: a ceil_mode pool's exact size (a Piecewise when k, s, p are symbols)
    feeds a strided conv and a transposed conv, whose sizes are floors of it."""
    draw = data.draw
    shape = (3, sym("H"), sym("H"))
    # literal kernel and padding drawn valid (p <= k/2); symbolic ones are brought so at the points
    pool = {"kernel_size": slot(draw, "k", (2, 4)), "stride": slot(draw, "s", (1, 4)), "padding": slot(draw, "p", (0, 1)), "ceil_mode": True}
    conv = {"out_channels": 4, "kernel_size": 3, "stride": draw(st.integers(1, 3)), "padding": 1}
    up = {"out_channels": 2, "kernel_size": 2, "stride": 2}
    layers = [("MaxPool2d", pool), ("Conv2d", conv), ("ConvTranspose2d", up)]
    shapes = [shape]
    for name, kwargs in layers:
        shapes.append(apply(KINDS[name], _args(KINDS[name], kwargs), (shapes[-1],)).output)
    for values in draw_points(draw, names_in(shape, *pool.values()), _half_kernel):
        point = {sym(name): value for name, value in values.items()}
        current = _at(shape, point)
        try:
            for name, kwargs in layers:
                kind = KINDS[name]
                current = apply(kind, _args(kind, {k: _at(v, point) for k, v in kwargs.items()}), (current,)).output
        except CnncalcError:
            continue
        assert _at(shapes[-1], point) == current, values


def _multiples_of_groups(point: dict[str, int]) -> dict[str, int]:
    """Channels a multiple of a symbolic groups count (most points, not all: some stay invalid)."""
    if "g" in point:
        for name in ("c", "f"):
            if name in point and point[name] % point["g"]:
                point[name] = point["g"] * max(1, point[name] // point["g"])
    return point


@given(st.data())
def test_conv_symbolic_channels_and_groups(data: Any) -> None:
    """Channels, out_channels and groups as symbols (params C_out*(C_in/g)*k^n: 1/g is a factor)."""
    draw = data.draw
    n = draw(st.integers(1, 2))
    channels = slot(draw, "c", (2, 8))
    shape = ((2, channels) if draw(st.booleans()) else (channels,)) + tuple(sym(f"H{i}") for i in range(n))
    transposed = draw(st.booleans())
    kwargs = {
        "out_channels": slot(draw, "f", (2, 8)),
        "kernel_size": axis_args(draw, n, "k", (1, 4)),
        "stride": axis_args(draw, n, "s", (1, 3)),
        "padding": axis_args(draw, n, "p", (0, 2)),
        "groups": slot(draw, "g", (1, 2)),
    }
    names = names_in(shape, *kwargs.values())
    check(f"{'ConvTranspose' if transposed else 'Conv'}{n}d", kwargs, shape, draw_points(draw, names, _multiples_of_groups))


@given(st.data())
def test_pads(data: Any) -> None:
    """Every padding family, one value or one per side (symbols or literals)."""
    draw = data.draw
    family = draw(st.sampled_from(["ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad"]))
    n = draw(st.integers(1, 3))
    shape = spatial_shape(draw, n)
    padding: Any = slot(draw, "p", (0, 3))
    if draw(st.booleans()):
        padding = tuple(slot(draw, f"p{i}", (0, 3)) for i in range(2 * n))
    kwargs: dict[str, Any] = {"padding": padding}
    if family == "ConstantPad":
        kwargs["value"] = 0.5
    names = names_in(shape, padding)
    check(f"{family}{n}d", kwargs, shape, draw_points(draw, names))


@given(st.data())
def test_reshapes(data: Any) -> None:
    """PixelShuffle, PixelUnshuffle, ChannelShuffle, Flatten and Narrow on symbolic sizes."""
    draw = data.draw
    kind = draw(st.sampled_from(["PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Flatten", "Narrow"]))
    channels = slot(draw, "c", (1, 12))
    shape: tuple[Any, ...] = (2, channels, sym("H0"), sym("H1"))
    if kind == "PixelShuffle":
        shape = (2, 36, sym("H0"), sym("H1"))
        kwargs: dict[str, Any] = {"upscale_factor": slot(draw, "r", (1, 3))}
    elif kind == "PixelUnshuffle":
        kwargs = {"downscale_factor": slot(draw, "r", (1, 3))}
    elif kind == "ChannelShuffle":
        kwargs = {"groups": slot(draw, "g", (1, 3))}
    elif kind == "Flatten":
        start = draw(st.integers(0, 3))
        kwargs = {"start_dim": start, "end_dim": draw(st.integers(start, 3))}
    else:
        kwargs = {"dim": draw(st.integers(1, 3)), "start": slot(draw, "p", (0, 3)), "length": slot(draw, "k", (1, 4))}
    names = names_in(shape, *kwargs.values())
    check(kind, kwargs, shape, draw_points(draw, names, _multiples_of_groups))


@given(st.data())
def test_linear_and_norms(data: Any) -> None:
    """Linear over a symbolic width, and the norms' parameters and buffers on symbolic channels."""
    draw = data.draw
    kind = draw(st.sampled_from(["Linear", "BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm", "InstanceNorm2d", "PReLU"]))
    channels = slot(draw, "c", (1, 12))
    if kind == "Linear":
        shape: tuple[Any, ...] = (2, channels, sym("H"))
        kwargs: dict[str, Any] = {"out_features": slot(draw, "f", (1, 12)), "bias": draw(st.booleans())}
    elif kind == "BatchNorm1d":
        shape, kwargs = (2, channels, sym("H")), {}
    elif kind == "GroupNorm":
        shape, kwargs = (2, channels, sym("H"), sym("H")), {"num_groups": slot(draw, "g", (1, 3))}
    elif kind == "LayerNorm":
        shape, kwargs = (2, channels, sym("H")), {"normalized_shape": (sym("H"),) if draw(st.booleans()) else (channels, sym("H"))}
    elif kind == "PReLU":
        shape, kwargs = (2, channels, sym("H")), {"num_parameters": draw(st.sampled_from([1, channels]))}
    else:
        shape, kwargs = (2, channels, sym("H"), sym("H")), {"affine": draw(st.booleans())}
    names = names_in(shape, *kwargs.values())
    check(kind, kwargs, shape, draw_points(draw, names, _multiples_of_groups))


@given(st.data())
def test_upsample_by_a_symbolic_factor(data: Any) -> None:
    draw = data.draw
    n = draw(st.integers(1, 2))
    shape = spatial_shape(draw, n, batched=True)
    mode = draw(st.sampled_from(["nearest", "bilinear" if n == 2 else "linear"]))
    names = names_in(shape, sym("t"))
    check("Upsample", {"scale_factor": sym("t"), "mode": mode}, shape, draw_points(draw, names))


# ----------------------------------------------------------------------------- the ceil_mode drop, exhaustively


def _torch_pool_size(size: int, k: int, s: int, p: int, d: int) -> int:
    """PyTorch's pooling_output_shape with ceil_mode (aten/src/ATen/native/Pool.h)."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1)) // s + 1
    if (out - 1) * s >= size + p:
        out -= 1
    return out


@pytest.mark.parametrize("symbolic", ["size", "all"])
def test_ceil_mode_rule_everywhere(symbolic: str) -> None:
    """Every k <= 5, s <= 5, p <= k/2, d <= 3, size <= 30: the symbolic ceil_mode size equals
    PyTorch's, whether only the size is a symbol (the ceil formula or floor((in + p - 1)/s) + 1)
    or k, s, p and d are symbols too (the Piecewise)."""
    n, k_, s_, p_, d_ = sym("H"), sym("k"), sym("s"), sym("p"), sym("d")
    general = window_size(n, k_, s_, p_, d_, True) if symbolic == "all" else None
    for k in range(1, 6):
        for s in range(1, 6):
            for p in range(k // 2 + 1):
                for d in range(1, 4):
                    formula = general if general is not None else window_size(n, k, s, p, d, True)
                    for size in range(1, 31):
                        point = {n: size, k_: k, s_: s, p_: p, d_: d}
                        assert _at(formula, point) == _torch_pool_size(size, k, s, p, d), (size, k, s, p, d, formula)
                        assert window_size(size, k, s, p, d, True) == _torch_pool_size(size, k, s, p, d)


def test_ceil_mode_example_from_the_issue() -> None:
    """MaxPool2d(k=2, s=2, p=1, ceil_mode) on N: 3 at N = 5 (it printed floor(N/2 + 1/2) + 1, 4)."""
    kind = KINDS["MaxPool2d"]
    out = apply(kind, _args(kind, {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}), ((3, sym("N"), sym("N")),), explain=True)
    assert arith.as_text(out.output[1]) == "floor(N/2) + 1"
    assert _at(out.output[1], {sym("N"): 5}) == 3
    assert step_text(out.steps[0]) == (
        "H_out = floor((H + p - 1)/s) + 1 = floor((N + 1 - 1)/2) + 1 = floor(N/2) + 1 (ceil_mode with s > d(k-1) - p + 1"
        " (2 > 1*(2-1) - 1 + 1): PyTorch drops a last window that would start in the right padding or beyond, so the last one starts by H + p - 1)"
    )


def test_ceil_mode_piecewise_when_the_stride_is_a_symbol() -> None:
    kind = KINDS["MaxPool1d"]
    out = apply(kind, _args(kind, {"kernel_size": 3, "stride": sym("s"), "padding": 1, "ceil_mode": True}), ((3, sym("N")),), explain=True)
    text = arith.as_text(out.output[1])
    assert text.startswith("Piecewise(") and "s > 2" in text, text
    assert "if s > d(k-1) - p + 1, else" in step_text(out.steps[0])
