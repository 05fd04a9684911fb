"""What every layer family shares: the records, the argument checks and the axis names.

A layer kind (`LayerKind`) holds everything cnncalc knows about one PyTorch module class: its
constructor signature (`Param`s), its rule (shape, parameters, buffers and MACs, as an
`Outcome`), its cheap-op rule and its receptive-field mapping. The families (conv, pool, ...)
declare their kinds; `cnncalc.layers` gathers them into the registry.

This module is on the start-up path of every command: it defines few classes (NamedTuples
compile code when defined) and imports neither sympy nor dataclasses.
"""

# No `from __future__ import annotations` in this module: typing.NamedTuple compiles every
# string annotation (a ForwardRef each), which would double what defining the records costs.
import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from cnncalc import arith
from cnncalc.arith import add, floor_div, mul, sub
from cnncalc.errors import ShapeError, SpecError

if TYPE_CHECKING:
    from cnncalc.explain import Step
    from cnncalc.layers.fields import Field

Shape = tuple[Any, ...]

# The one table of axis names, by the number of spatial axes.
AXES: dict[int, tuple[str, ...]] = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}

# The kinds of cheap operation, in the order the cost tables list them.
OP_KINDS = ("norm", "pool", "activation", "add/mul", "upsample", "scale")


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()


class Param(NamedTuple):
    """One constructor argument: PyTorch's name, default and accepted type (`kind`)."""

    name: str
    default: Any = REQUIRED
    kind: str = "int"
    choices: tuple[str, ...] = ()
    inferred: bool = False  # filled from the incoming shape when omitted (in_channels, ...)
    keyword: bool = False  # keyword-only in PyTorch's signature (after `*`)


class Outcome(NamedTuple):
    """What one layer does to its input: output shape, parameters, buffers and MACs."""

    output: Shape
    params: Any = 0
    bias: Any = 0
    buffers: Any = 0
    macs: Any = 0
    steps: tuple["Step", ...] = ()


Rule = Callable[["Ctx"], Outcome]
# A kind's cheap-op rule, given the layer as evaluated (kind, arguments, input shapes, output
# shape): the count of cheap ops and the step that explains it, or None when it costs nothing.
CheapRule = Callable[["LayerKind", Mapping[str, Any], tuple[Shape, ...], Shape], "tuple[Any, Step] | None"]
# A kind's receptive-field mapping, given the same: a description from `cnncalc.layers.fields`.
FieldRule = Callable[["LayerKind", Mapping[str, Any], tuple[Shape, ...], Shape], "Field"]


class LayerKind(NamedTuple):
    """A layer type: its PyTorch signature and rules; `inputs` > 1 marks a merge."""

    name: str
    params: tuple[Param, ...]
    rule: Rule
    spatial: int = 0
    inputs: int = 1
    family: str = ""
    ignores_args: bool = False  # nn.Identity(*args, **kwargs): any arguments, all ignored
    cheap: CheapRule | None = None  # None: no cheap ops
    op_kind: str | None = None  # the kind of its cheap ops, one of OP_KINDS
    field: FieldRule | None = None  # None: pointwise (keeps every position where it was)
    mac_kind: str = ""  # "conv" or "linear": which headline MAC total its MACs go to
    params_doc: str = "0"  # the parameter rule in words, for docs/layers.md
    macs_doc: str = "0"  # the MAC rule in words, for docs/layers.md
    ops_doc: str = ""  # the cheap-op rule in words, for docs/layers.md
    origin: str = "torch.nn"  # where PyTorch users find it, for docs/layers.md

    @property
    def param_names(self) -> frozenset[str]:
        """The names of the constructor arguments."""
        return frozenset(p.name for p in self.params)


class Ctx:
    """The evaluated arguments and input shapes handed to a rule."""

    __slots__ = ("args", "explain", "inputs", "kind", "training")

    def __init__(
        self, kind: LayerKind, args: dict[str, Any], inputs: tuple[Shape, ...], explain: bool, training: bool = False
    ) -> None:
        self.kind = kind
        self.args = args
        self.inputs = inputs
        self.explain = explain
        self.training = training  # PyTorch's module.training: batch statistics in the norm layers

    @property
    def x(self) -> Shape:
        """The (first) input's shape."""
        return self.inputs[0]

    def __getitem__(self, name: str) -> Any:
        return self.args[name]


def step(
    lhs: str, formula: str = "", numbers: "str | tuple[object, ...]" = "", result: object = None, unit: str = "", note: str = "",
    then: "tuple[Step, ...]" = (),
) -> "Step":
    """A `cnncalc.explain.Step`, its class imported on first use: defining a NamedTuple costs
    about half a millisecond, and a plain run (no --explain, no cost) never makes a step."""
    from cnncalc.explain import Step

    return Step(lhs, formula, numbers, result, unit, note, then)


IGNORED = (Param("device", None, "any"), Param("dtype", None, "any"))
INPLACE = (Param("inplace", False, "bool"),)


# ----------------------------------------------------------------------------- text

fmt = arith.as_text


def _compound(value: Any) -> bool:
    """A symbolic value that prints as several terms or factors (`N - k + 1`, `2*N`, `N/2`), as
    opposed to a symbol, a function application (`floor(N/2)`) or a symbol's power (`k**2`)."""
    if not arith.is_symbolic(value):
        return False
    import sympy

    value = sympy.expand(value)  # the form as_text prints
    if value.is_Pow:
        value = value.base if value.exp.is_Integer and value.exp > 0 else value
    return not (value.is_Symbol or value.is_Function)


def term(value: Any) -> str:
    """`fmt(value)` for substituting into a sum, product or quotient: a compound symbolic value
    in parentheses (`(N - k + 1)*3`), anything else as `fmt` prints it (numbers unchanged)."""
    text = fmt(value)
    return f"({text})" if _compound(value) else text


def count_term(value: Any) -> object:
    """A count for a step's tuple of numbers, substituted into a product: the value itself (the
    renderer formats it), or the parenthesised text of a compound symbolic value."""
    return f"({fmt(value)})" if _compound(value) else value


def fmt_tuple(values: Iterable[Any]) -> str:
    return "(" + ", ".join(fmt(v) for v in values) + ")"


def shape_text(shape: Shape) -> str:
    return "[" + ", ".join(fmt(d) for d in shape) + "]"


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"bool {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, tuple):
        return f"tuple {value!r}"
    if value is None:
        return "null"
    return f"{type(value).__name__} {arith.as_text(value)}"


# ----------------------------------------------------------------------------- argument checks


def is_int(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or arith.is_symbolic(value)


def check_int(name: str, value: Any, *, minimum: int | None = None) -> Any:
    """An integer argument (or a symbolic one), optionally bounded below."""
    if not is_int(value):
        raise SpecError(f"argument {name!r} must be an integer", expected="an integer", found=describe(value))
    if minimum is not None and isinstance(value, int) and value < minimum:
        raise SpecError(
            f"argument {name!r} must be at least {minimum}",
            expected=f"an integer >= {minimum}",
            found=str(value),
        )
    return value


def per_axis(name: str, value: Any, axes: int, *, minimum: int | None = None, single: bool = True) -> tuple[Any, ...]:
    """An int-or-tuple argument expanded to one value per spatial axis, like PyTorch's _ntuple.

    PyTorch's kernels also expand a 1-tuple (`stride=(2,)`); `single=False` refuses one where
    PyTorch does (a conv's kernel_size sizes the weight tensor itself).
    """
    if isinstance(value, tuple):
        if len(value) == 1 and axes > 1 and single:
            value = value * axes
        if len(value) != axes:
            raise SpecError(
                f"argument {name!r} needs one value per spatial axis",
                expected=f"an integer or {axes} integers",
                found=describe(value),
            )
        return tuple(check_int(name, v, minimum=minimum) for v in value)
    return (check_int(name, value, minimum=minimum),) * axes


def positive_axes(name: str, value: Any, axes: int, *, single: bool = True) -> tuple[Any, ...]:
    """`per_axis`, refusing a known value below 1 in PyTorch's words."""
    values = per_axis(name, value, axes, single=single)
    if any(isinstance(v, int) and v <= 0 for v in values):
        raise SpecError(f"{name.replace('_', ' ')} should be greater than zero", expected=f"{name} >= 1", found=fmt_tuple(values))
    return values


def check_bool(name: str, value: Any) -> bool:
    """A boolean argument."""
    if not isinstance(value, bool):
        raise SpecError(f"argument {name!r} must be true or false", expected="a boolean", found=describe(value))
    return value


def check_number(name: str, value: Any) -> Any:
    """A real-number argument (eps, momentum, p, negative_slope, ...)."""
    if isinstance(value, bool) or not (arith.is_number(value) or arith.is_symbolic(value)):
        raise SpecError(f"argument {name!r} must be a number", expected="a number", found=describe(value))
    return value


def check_probability(what: str, value: Any) -> Any:
    """A probability argument p in [0, 1] (dropout, stochastic depth)."""
    p = check_number("p", value)
    if isinstance(p, (int, float)) and not 0 <= p <= 1:
        raise SpecError(f"{what} probability has to be between 0 and 1", expected="0 <= p <= 1", found=f"p={p}")
    return p


def check_arg_type(param: Param, value: Any) -> Any:
    """Check a value against a parameter's declared kind; returns it (tuples stay tuples)."""
    kind = param.kind
    if kind == "any":
        return value
    if value is None:
        if param.default is None or param.inferred:
            return value
        raise SpecError(f"argument {param.name!r} must not be null", expected=kind_text(param), found="null")
    if kind == "bool":
        return check_bool(param.name, value)
    if kind == "number":
        return check_number(param.name, value)
    if kind == "str":
        if not isinstance(value, str) or (param.choices and value not in param.choices):
            raise SpecError(f"invalid value for {param.name!r}", expected=kind_text(param), found=describe(value))
        return value
    if kind == "padding" and isinstance(value, str):
        if value not in ("same", "valid"):
            raise SpecError("invalid padding", expected=kind_text(param), found=describe(value))
        return value
    if isinstance(value, tuple) and kind in ("ints", "size", "padding"):
        for v in value:
            if not (v is None and kind == "size") and not is_int(v):
                raise SpecError(f"argument {param.name!r} must hold integers", expected=kind_text(param), found=describe(value))
        return value
    return check_int(param.name, value)


def kind_text(param: Param) -> str:
    """What a parameter accepts, in words."""
    return {
        "int": "an integer",
        "ints": "an integer or a tuple of integers",
        "size": "an integer or a tuple of integers",
        "bool": "true or false",
        "number": "a number",
        "padding": "an integer, a tuple, 'same' or 'valid'",
        "str": "one of " + ", ".join(repr(c) for c in param.choices) if param.choices else "a string",
    }.get(param.kind, "a value")


# ----------------------------------------------------------------------------- shapes


def require_rank(ctx: Ctx, ranks: tuple[int, ...], what: str = "") -> None:
    rank = len(ctx.x)
    if rank not in ranks:
        wanted = " or ".join(f"{r}-D" for r in ranks)
        raise ShapeError(
            f"{ctx.kind.name} expects a {wanted} input{what}",
            expected=wanted + " (" + ("batched or unbatched" if len(ranks) > 1 else "batched") + ")",
            found=f"{rank}-D input {shape_text(ctx.x)}",
        )


def spatial_input(ctx: Ctx) -> tuple[int, Shape]:
    """For conv/pool layers: the channel axis index and the spatial sizes; checks the rank."""
    n = ctx.kind.spatial
    require_rank(ctx, (n + 1, n + 2))
    return len(ctx.x) - n - 1, ctx.x[-n:]


def infer_channels(ctx: Ctx, name: str, channels: Any) -> Any:
    """An inferred channel argument: the incoming size unless given, in which case it must match."""
    given = ctx.args.get(name)
    if given is None:
        return channels
    check_int(name, given, minimum=1)
    if arith.equal(given, channels) is False:
        raise ShapeError(
            f"{name}={fmt(given)} does not match the incoming {fmt(channels)} channels",
            expected=f"{name}={fmt(channels)} (or omit it: it is inferred)",
            found=f"{name}={fmt(given)} for input {shape_text(ctx.x)}",
        )
    return given


def dim_index(name: str, value: Any, rank: int) -> int:
    """A PyTorch dimension index (negative counts from the end) checked against the rank."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise SpecError(f"argument {name!r} must be an integer dimension", expected="an integer", found=describe(value))
    low, high = (-rank, rank - 1) if rank else (-1, 0)
    if not low <= value <= high:
        raise ShapeError(
            f"dimension out of range for {name}",
            expected=f"{name} in [{low}, {high}]",
            found=f"{name}={value}",
        )
    return value % rank if rank else 0


def too_small(ctx: Ctx, sizes: list[Any], formula: str, worked: Callable[[int], str]) -> None:
    """Refuse an empty output axis, showing `formula` and `worked(axis index)` (its numbers put in)."""
    for index, (axis, size) in enumerate(zip(AXES[len(sizes)], sizes)):
        if isinstance(size, int) and size <= 0:
            raise ShapeError(
                f"output size {axis} = {size} is too small: {axis}_out = {formula} = {worked(index)} = {size}",
                expected="every output size >= 1",
                found=f"input {shape_text(ctx.x)} gives {axis} = {size}",
                hint="use a smaller kernel, stride or dilation, more padding, or a larger input",
            )


# ----------------------------------------------------------------------------- sliding windows


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
    """d*(k-1) - p + 1: with ceil_mode, a stride up to this never starts a window in the right padding."""
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
        note = f"ceil_mode with {bound} ({worked}): no window starts in the right padding"
        return step(f"{axis}_out", _CEIL.format(axis=axis), ceiled, out, note=note)
    if drops:
        note = (
            f"ceil_mode with {bound} ({worked}): PyTorch drops a last window that would start in the right padding, "
            f"so the last one starts by {axis} + p - 1"
        )
        return step(f"{axis}_out", _INSIDE.format(axis=axis), inside, out, note=note)
    formula = f"{_INSIDE.format(axis=axis)} if s > d(k-1) - p + 1, else {_CEIL.format(axis=axis)}"
    note = "ceil_mode: PyTorch drops a last window that starts in the right padding, which happens only when s > d(k-1) - p + 1"
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


_GCD: Any = None


def gcd(a: Any, b: Any) -> Any:
    """gcd(a, b) of two positive integers; for symbols an unevaluated `gcd(N, 7)` that becomes
    a number once they are numbers (sympy's own gcd is the polynomial one: 1 for two symbols)."""
    if isinstance(a, int) and isinstance(b, int):
        return math.gcd(a, b)
    global _GCD
    if _GCD is None:
        import sympy

        class gcd(sympy.Function):  # type: ignore[misc]  # sympy is untyped
            """The integer gcd of positive integers, evaluated once both are numbers."""

            nargs = 2
            is_integer = True
            is_positive = True

            @classmethod
            def eval(cls, x: Any, y: Any) -> Any:
                if x.is_Integer and y.is_Integer:
                    return sympy.Integer(math.gcd(int(x), int(y)))
                for a, b in ((x, y), (y, x)):
                    if a == 1 or (b / a).is_integer:  # gcd(1, b) = 1; a divides b: gcd(a, b) = a
                        return a
                return None

        _GCD = gcd
    return arith.normalize(_GCD(a, b))
