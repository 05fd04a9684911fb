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
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from cnncalc import arith, conditions
from cnncalc.errors import ShapeError, SpecError, clip, quoted

if TYPE_CHECKING:
    from cnncalc.conditions import Condition
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
    conditions: tuple["Condition", ...] = ()  # what must hold of free symbols (cnncalc.conditions)


Rule = Callable[["Ctx"], Outcome]
# A kind's cheap-op rule, given the layer as evaluated (kind, arguments, input shapes, output
# shape): the count of cheap ops and the step that explains it, or None when it costs nothing.
CheapRule = Callable[["LayerKind", Mapping[str, Any], tuple[Shape, ...], Shape], "tuple[Any, Step] | None"]
# A kind's receptive-field mapping, given the same: a description from `cnncalc.layers.fields`.
FieldRule = Callable[["LayerKind", Mapping[str, Any], tuple[Shape, ...], Shape], "Field"]
# A kind's training rule: what autograd saves for backward in one training forward pass
# (torch.autograd.graph.saved_tensors_hooks, parameters left out), given the layer's arguments,
# input shapes, output shape and a `Flow` (which inputs need a gradient, which are contiguous,
# whether autocast runs). Items: SAVES_INPUT or saves_input(i) (an input's storage), SAVES_OUTPUT
# (the output's storage), SHARES_INPUT (the output *is* the input's storage: a view or an in-place
# op; nothing saved by that), STRIDED (the output is not contiguous: a permuted view), LAYOUT (an
# elementwise op: a new output laid out as its input, non-contiguous if that is), AUTOCAST (runs
# in the 16-bit dtype under autocast: a float32 input is cast, and the saved input is that cast),
# WEIGHT_CAST (under autocast: saves the 16-bit copy of its weight), PARAM_DTYPE (under autocast
# its output takes the parameters' float32: a product with a parameter), or a new tensor (elements,
# bytes per element: ACTIVATION for the dtype of its input, MODEL for the parameters' dtype, or a
# number such as 8 for int64). cnncalc.analysis.train counts each storage once.
SAVES_INPUT = ("input", 0)
SAVES_OUTPUT = ("output",)
SHARES_INPUT = ("shares",)
STRIDED = ("strided",)
LAYOUT = ("layout",)
AUTOCAST = ("autocast",)
WEIGHT_CAST = ("weight cast",)
PARAM_DTYPE = ("param dtype",)
ACTIVATION = 0
MODEL = -1


def saves_input(index: int) -> tuple[str, int]:
    """The item for input `index`'s storage (a merge's second input: saves_input(1))."""
    return ("input", index)


class Flow:
    """What a training rule needs to know of the tensors arriving: per input, whether it needs
    a gradient and whether it is contiguous; whether the forward runs under autocast."""

    __slots__ = ("contiguous", "grads", "mixed")

    def __init__(self, grads: tuple[bool, ...], contiguous: tuple[bool, ...], mixed: bool = False) -> None:
        self.grads = grads
        self.contiguous = contiguous
        self.mixed = mixed

    @property
    def grad(self) -> bool:
        """Some input needs a gradient."""
        return any(self.grads)


SavesRule = Callable[[Mapping[str, Any], tuple[Shape, ...], Shape, Flow], tuple[Any, ...]]


def kept_order(shape: Shape, order: "list[int] | tuple[int, ...]") -> bool:
    """True when permuting a contiguous tensor of `shape` by `order` keeps the order of the
    dims larger than 1: the view is then still contiguous (PyTorch's is_contiguous() ignores
    size-1 dims; a symbolic size counts as larger than 1)."""
    kept = [d for d in order if shape[d] != 1]
    return kept == sorted(kept)


def not_contiguous(what: str) -> str:
    """The reason a training rule refuses an input that is not contiguous."""
    return f"{what} on an input that is not contiguous (PyTorch views or copies it depending on the sizes)"


def unmeasured_mixed(rule: SavesRule, what: str = "") -> SavesRule:
    """`rule`, refused under autocast (mixed precision): what the kind saves there, and in which
    dtype (autocast runs some ops in float32), was not measured."""

    def wrapped(args: Mapping[str, Any], inputs: tuple[Shape, ...], output: Shape, flow: Flow) -> tuple[Any, ...]:
        if flow.mixed:
            raise SpecError(
                "its saved tensors under autocast (mixed precision) were not measured" + (f" ({what})" if what else ""),
                expected="a kind measured under torch.autocast (docs/conventions.md)", found="--mixed",
            )
        return rule(args, inputs, output, flow)

    return wrapped


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
    unbatched: bool = False  # PyTorch also takes its input without the batch (one dim fewer): a spec refuses that
    frozen: bool = False  # its parameters are created with requires_grad=False (Ultralytics' DFL): counted, not trained
    saves: SavesRule | None = None  # None: training memory not modelled for this kind
    saves_doc: str = ""  # what it saves for backward, in words
    # `cnncalc export`: the PyTorch module the layer becomes, "nn.Conv2d", or the source of a
    # small helper class written into the exported file (`class Add(nn.Module): ...`); "" = none.
    torch: str = ""


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


def in_torch_nn(kind: "LayerKind") -> "LayerKind":
    """The kind exported as its torch.nn class of the same name (`nn.Conv2d`)."""
    return kind._replace(torch="nn." + kind.name)


IGNORED = (Param("device", None, "any"), Param("dtype", None, "any"))
INPLACE = (Param("inplace", False, "bool"),)


# ----------------------------------------------------------------------------- text

fmt = arith.as_text


def _compound(value: Any) -> bool:
    """A symbolic value that prints as several terms or factors (`N - k + 1`, `2*N`, `N/2`), as
    opposed to a symbol, a function application (`floor(N/2)`) or a symbol's power (`k**2`)."""
    if not arith.is_symbolic(value):
        return False
    from cnncalc import formula

    value = formula.display(value)  # the form as_text prints
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


def same_shape(ctx: "Ctx") -> Outcome:
    """The rule of a layer that keeps its input's shape and has no parameters."""
    return Outcome(ctx.x)


shape_text = arith.shape_text


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"bool {value}"
    if isinstance(value, str):
        return f"string {quoted(value)}"  # the input's token, clipped
    if isinstance(value, tuple):
        return f"tuple {clip(repr(value))}"
    if value is None:
        return "null"
    return f"{type(value).__name__} {arith.as_text(value)}"


# ----------------------------------------------------------------------------- argument checks


def is_int(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or arith.is_symbolic(value)


def check_int(name: str, value: Any, *, minimum: int | None = None) -> Any:
    """An integer argument (or a symbolic one, whose integrality and bound may become conditions),
    optionally bounded below."""
    if not is_int(value) or (type(value) is not int and conditions.integral(value, f"{name} an integer") is False):
        raise SpecError(f"argument {name!r} must be an integer", expected="an integer", found=describe(value))
    if minimum is not None and type(value) is not int and conditions.at_least(value, minimum, f"{name} >= {minimum}") is False:
        raise SpecError(
            f"argument {name!r} must be at least {minimum}",
            expected=f"an integer >= {minimum}",
            found=f"{fmt(value)}, which is below {minimum} for every value of its symbols",
        )
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
    if any(conditions.at_least(v, 1, f"{name} >= 1") is False for v in values):
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
    if conditions.equal(given, channels, f"{name} = the incoming channels") is False:
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
        if conditions.at_least(size, 1, f"output size {axis} >= 1") is False:
            raise ShapeError(
                f"output size {axis} = {size} is too small: {axis}_out = {formula} = {worked(index)} = {size}",
                expected="every output size >= 1",
                found=f"input {shape_text(ctx.x)} gives {axis} = {size}",
                hint="use a smaller kernel, stride or dilation, more padding, or a larger input",
            )
