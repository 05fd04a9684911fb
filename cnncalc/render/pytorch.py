"""`cnncalc export --to pytorch`: a spec written out as PyTorch code a person would write.

One `nn.Module` class per block template (its arguments, the free symbols and the `vars` it
reads as constructor arguments; `in_channels` first), one for the model (`layers:`), and a
`__main__` stub that builds the model and checks its parameter count against cnncalc's. Layer
arguments are the spec's own expressions translated to Python (the same names); the arguments
PyTorch needs and the spec infers (`in_channels`, `num_features`, `in_features`, ...) are the
channel count tracked along the list (`out`, `self.layer1.out_channels`), and sizes read from
other nodes (`enc4.spatial`) become shapes read at run time (`enc4.shape[2:]`).

What a spec decides per call from shapes (a residual block's shortcut where F(x) changes the
shape, `residual: auto`) is decided here from the evaluation: the same for every call, it is
written as it is; else the shortcut is built where the block's strides or channels change and
`auto` compares shapes in `forward`. Every number cnncalc prints is checked against the code
built by PyTorch in tools/torch_reference.py (`--only export`, tests/data/export_torch.json).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from cnncalc import arith
from cnncalc.analysis.results import Evaluation, Row
from cnncalc.errors import SpecError
from cnncalc.layers import KINDS, REQUIRED, LayerKind, lookup
from cnncalc.render.numbers import count_text
from cnncalc.render.pylayout import Call, Part, statement
from cnncalc.spec import INPUT_NAME, Arg, Block, Expr, LayerCall, Spec
from cnncalc.spec.checks import arg_names
from cnncalc.spec.model import LayerType

# Names a generated identifier may not take: Python's keywords, the names the code itself uses,
# and nn.Module's own attributes (an attribute called `train` would hide Module.train()).
_KEYWORDS = frozenset(
    ["False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield"]
)
_TAKEN = frozenset(
    ["self", "x", "torch", "nn", "F", "math", "super", "layers", "channels", "count", "model", "training", "train", "eval", "forward", "modules", "children", "parameters", "buffers", "apply", "cuda", "cpu", "to", "type", "float", "double", "half", "state_dict", "zero_grad", "add_module", "register_buffer", "register_parameter", "requires_grad_", "out_channels", "extra_repr"]
)
# A short attribute name for an unnamed entry, by its kind's prefix (else the kind in lower case).
_SHORT = (
    ("ConvTranspose", "up"), ("Conv", "conv"), ("BatchNorm", "bn"), ("InstanceNorm", "norm"), ("GroupNorm", "gn"),
    ("LayerNorm", "norm"), ("Linear", "fc"), ("MaxPool", "maxpool"), ("AvgPool", "avgpool"), ("AdaptiveAvgPool", "avgpool"),
    ("AdaptiveMaxPool", "maxpool"), ("Dropout", "dropout"), ("Concat", "cat"), ("Upsample", "up"), ("Interpolate", "resize"),
)
# Kinds that keep their input's shape (every dim): the channel count flows through them.
_KEEPS = frozenset(("activation", "misc", "merge"))
_RUNTIME_SIZE = frozenset(("CenterCrop", "PadTo", "Interpolate", "Upsample"))  # their `size` may be read at run time
_PER_CHANNEL_INFERRED = {"in_channels", "num_features", "num_channels"}


class ExportError(SpecError):
    """A spec that cannot be written as PyTorch code (a kind without a PyTorch module, ...)."""


def export_pytorch(spec: Spec, evaluations: Sequence[Evaluation], overrides: Mapping[str, Any], blocks: tuple[str, ...] = ()) -> str:
    """The spec (its model, else each block; or the `blocks` named) as one Python file."""
    return _Exporter(spec, evaluations, overrides).file(blocks)


# ----------------------------------------------------------------------------- expressions


def snake(name: str) -> str:
    text = re.sub(r"[^0-9A-Za-z_]+", "_", re.sub(r"(?<=[a-z0-9])([A-Z])(?=[a-z])", r"_\1", name)).strip("_").lower()
    return text or "layer"


def camel(name: str) -> str:
    text = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", name) if part)
    return text if text and not text[0].isdigit() else "Model" + text


def doc_text(text: str) -> str:
    """Spec text (a name, a shape formula) inside a generated docstring: quotes, backslashes and
    control characters escaped, so that no name can end the docstring and become code."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def identifier(name: str) -> str:
    """A spec name as a Python identifier that clashes with nothing the code uses."""
    text = re.sub(r"[^0-9A-Za-z_]", "_", name)
    if not text or text[0].isdigit():
        text = "n_" + text
    return text + "_" if text in _KEYWORDS or text in _TAKEN else text


class _Translate(ast.NodeTransformer):
    """Rewrites an expression's tree into Python text's tree: names through `name`, node shapes
    through `node` (None: not allowed here), ceil and floor through math."""

    def __init__(self, name: Callable[[str], str], node: Callable[[str, str, Any], str] | None, used: set[str]) -> None:
        self.name = name
        self.node = node
        self.used = used

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in ("true", "True"):
            return ast.Constant(True)
        if node.id in ("false", "False"):
            return ast.Constant(False)
        return ast.Name(self.name(node.id))

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str):
            return ast.Name(json.dumps(node.value))
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func.id if isinstance(node.func, ast.Name) else ""
        args = [self.visit(a) for a in node.args]
        if func in ("ceil", "floor"):
            self.used.add("math")
            return ast.Call(ast.Name(f"math.{func}"), args, [])
        if func == "make_divisible":
            self.used.add("make_divisible")
        return ast.Call(ast.Name(func), args, [])

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        return self._node(node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        return self._node(node)

    def _node(self, node: ast.Attribute | ast.Subscript) -> ast.AST:
        if isinstance(node, ast.Subscript):
            attribute = node.value
            index: Any = node.slice
        else:
            attribute, index = node, None
        assert isinstance(attribute, ast.Attribute) and isinstance(attribute.value, ast.Name)
        if self.node is None:
            raise ValueError(attribute.value.id)
        return ast.Name(self.node(attribute.value.id, attribute.attr, index))


def _power_spacing(text: str) -> str:
    """ruff format's power operator: `k**2` between simple operands (names, numbers)."""
    return re.sub(r"(?<![\w.)\]])([\w.]+) \*\* (-?[\w.]+)(?![\w.(\[])", r"\1**\2", text)


def expr_text(tree: ast.expr, name: Callable[[str], str], node: Callable[[str, str, Any], str] | None, used: set[str]) -> str:
    translated = _Translate(name, node, used).visit(ast.parse(ast.unparse(tree), mode="eval").body)
    return _power_spacing(ast.unparse(translated))


def runtime_shape(var: str, attribute: str, index: Any) -> str:
    """A node's per-sample shape form (`enc3.spatial`, `x.shape[-1]`) read from the tensor at run
    time: the tensor's shape has the batch in front."""
    if attribute == "channels":
        return f"{var}.shape[1]"
    if attribute == "spatial":
        return f"{var}.shape[2:]"
    if attribute == "height":
        return f"{var}.shape[-2]"
    if attribute in ("width", "length"):
        return f"{var}.shape[-1]"
    if index is None:
        return f"{var}.shape[1:]"
    if isinstance(index, ast.Slice):
        bounds = []
        for bound, default in ((index.lower, "1"), (index.upper, "")):
            value = ast.literal_eval(bound) if bound is not None else None
            bounds.append(default if value is None else str(value + 1 if value >= 0 else value))
        return f"{var}.shape[{bounds[0]}:{bounds[1]}]"
    value = ast.literal_eval(index)
    return f"{var}.shape[{value + 1 if value >= 0 else value}]"


def _atom(text: str) -> bool:
    return re.fullmatch(r"[\w.]+(\[[^\]]*\])?|\([^()]*\)", text) is not None


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and re.fullmatch(r"-?\d+", text) else None


def sum_text(texts: Sequence[str]) -> str:
    if all(_int(t) is not None for t in texts):
        return str(sum(_int(t) or 0 for t in texts))
    return " + ".join(texts)


def product_text(texts: Sequence[str]) -> str:
    known = [t for t in texts if _int(t) != 1]
    if all(_int(t) is not None for t in known):
        result = 1
        for t in known:
            result *= _int(t) or 0
        return str(result)
    return " * ".join(t if _atom(t) else f"({t})" for t in known)


# ----------------------------------------------------------------------------- the walk


class Node(NamedTuple):
    """A tensor in forward: its variable and, where known at construction, its per-sample dims
    (channels first) as Python text; None: unknown there."""

    var: str
    dims: tuple[str | None, ...] | None


class Instance(NamedTuple):
    """One evaluated call of a template (or the model, or a standalone block): where its rows are."""

    path: str  # the prefix of its rows' paths
    evaluation: Evaluation
    start: int
    stop: int


class _Class:
    """The code of one class being written: constructor and forward lines, names taken."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.init: list[str] = []
        self.forward: list[str] = []
        self.attributes: dict[str, str] = {}  # attribute -> its constructor text
        self.locals: set[str] = set()

    @property
    def running(self) -> str:
        """The forward variable of F(x) (`out`, unless an argument has that name)."""
        return next(n for n in ("out", "y", "h", "out_") if n not in self.locals)

    @property
    def identity(self) -> str:
        return next(n for n in ("identity", "shortcut", "identity_") if n not in self.locals)

    def attribute(self, wanted: str, constructor: str | None) -> tuple[str, bool]:
        """A free attribute name for a module (the same one when `constructor` repeats a module
        of that name: one ReLU called twice); whether it is new."""
        base = identifier(wanted)
        name, n = base, 1
        while name in self.attributes:
            if constructor is not None and self.attributes[name] == constructor:
                return name, False
            n += 1
            name = f"{base}_{n}"
        self.attributes[name] = constructor or ""
        return name, True

    def variable(self, name: str) -> str:
        """A forward variable for a node that other layers read (not a constructor argument's name)."""
        text = identifier(name)
        return text + "_" if text in self.locals or text in ("x", "out", "identity") else text

    def local(self, wanted: str) -> str:
        name, n = wanted, 1
        while name in self.locals:
            n += 1
            name = f"{wanted}_{n}"
        self.locals.add(name)
        return name


class _Exporter:
    def __init__(self, spec: Spec, evaluations: Sequence[Evaluation], overrides: Mapping[str, Any]) -> None:
        self.spec = spec
        self.evaluations = evaluations
        self.overrides = dict(overrides)
        self.used: set[str] = set()  # helper kinds, "math", "make_divisible", "F"
        self.classes: dict[str, str] = {}  # block name -> class name
        self.written: dict[str, list[str]] = {}  # block name -> its class's lines
        self.rows: dict[str, Row] = {}
        self.instances: dict[str, list[Instance]] = {}
        for evaluation in evaluations:
            for row in evaluation.rows:
                self.rows[row.path] = row
            for span in evaluation.spans:
                self.instances.setdefault(span.template, []).append(Instance(span.path, evaluation, span.start, span.stop))
        self.globals = self._global_names()
        self.standalone: set[str] = set()

    # -- names

    def _global_names(self) -> dict[str, str]:
        """The names the model's constructor takes: vars (their values) and free symbols."""
        found: dict[str, str] = {}
        for name, _arg in self.spec.vars:
            found[name] = identifier(name)
        return found

    def class_name(self, block: str) -> str:
        if block not in self.classes:
            name = camel(block)
            taken = set(self.classes.values()) | set(KINDS) | {"Model"}
            while name in taken:
                name += "Block"
            self.classes[block] = name
        return self.classes[block]

    def reads(self, calls: Iterable[LayerCall], seen: set[str] | None = None) -> set[str]:
        """The names a list reads, through the blocks it calls (their own arguments left out)."""
        seen = set() if seen is None else seen
        found: set[str] = set()
        for call in calls:
            found |= arg_names(call.repeat)
            for _, arg in call.args:
                found |= arg_names(arg)
            if call.chosen:
                found.add(call.kind)
            if call.is_block and call.kind not in seen:
                seen.add(call.kind)
                found |= self.block_reads(self.spec.blocks[call.kind], seen)
        return found

    def block_reads(self, block: Block, seen: set[str] | None = None) -> set[str]:
        """The outside names a block reads (vars and free symbols): what its class takes by keyword."""
        own = {name for name, _ in block.params} | {"in_channels", "copy", "copies"}
        found = self.reads(block.layers + block.shortcut + block.after, seen)
        names = [name for name, _ in block.params]
        for position, (_, default) in enumerate(block.params):
            found |= arg_names(default) - set(names[position:])
        types = {name for name in found if lookup(name) is not None or name in self.spec.blocks}
        return found - own - types - {"true", "false", "True", "False"}

    # -- the file

    def file(self, chosen: tuple[str, ...]) -> str:
        body: list[list[str]] = []
        if self.spec.layers is not None and not chosen:
            model = self.model_class()
            stub = self.model_stub(model)
        else:
            names = chosen or tuple(self.spec.blocks)
            self.standalone = set(names)
            stub = self.blocks_stub(names)
            model = None
            for name in names:
                self.block_class(name)
        body.extend(self.written.values())
        if model is not None:
            body.append(model)
        helpers = self.helpers()
        head = [f'"""{doc_text(self.spec.name)}: PyTorch modules exported by cnncalc from the spec."""', ""]
        imports = (["import math", ""] if "math" in self.used else []) + ["import torch"]
        imports += ["import torch.nn.functional as F"] if "F" in self.used else []
        imports.append("from torch import nn")
        chunks = [head + imports, *helpers, *body, stub]
        return "\n\n\n".join("\n".join(chunk) for chunk in chunks) + "\n"

    def helpers(self) -> list[list[str]]:
        chunks = []
        if "make_divisible" in self.used:
            chunks.append(_MAKE_DIVISIBLE.splitlines())
        for name in sorted(k for k in self.used if k in KINDS):
            chunks.append(KINDS[name].torch.rstrip("\n").splitlines())
        return chunks

    # -- classes

    def model_class(self) -> list[str]:
        assert self.spec.layers is not None
        name = camel(self.spec.name)
        while name in self.classes.values() or name in KINDS:
            name += "Model"
        self.model_name = name
        cls = _Class(name)
        evaluation = self.evaluations[0]
        reads = self.reads(self.spec.layers)
        params, body = self.constructor_globals(reads)
        cls.locals |= {p.split(":")[0].split("=")[0].strip() for p in params}
        cls.init += body
        names = self.scope_names({}, reads)
        channels = self.input_channels(names)
        out = self.walk(cls, self.spec.layers, Node("x", (channels, *[None] * (len(self.spec.input) - 1))), names, "", [Instance("", evaluation, 0, len(evaluation.rows))], 2)
        cls.forward.append(f"        return {out.var}")
        doc = self.model_doc(evaluation)
        return self.class_lines(cls, params, doc)

    def input_channels(self, names: Callable[[str], str]) -> str:
        if not self.spec.input:
            return "None"
        return self.arg_text(self.spec.input[0], names, None)

    def constructor_globals(self, reads: set[str]) -> tuple[list[str], list[str]]:
        """The model's constructor arguments (vars it reads, free symbols) and the lines computing
        the vars that are expressions of others."""
        required, optional, body = [], [], []
        var_args = dict(self.spec.vars)
        needed = set(reads)
        # vars read by the vars read
        changed = True
        while changed:
            changed = False
            for name in list(needed):
                if name in var_args and name not in self.overrides:
                    extra = arg_names(var_args[name]) - needed
                    if extra:
                        needed |= extra
                        changed = True
        names = self.scope_names({}, needed)
        for name, arg in self.spec.vars:
            if name not in needed:
                continue
            if name in self.overrides:
                optional.append(f"{identifier(name)}: {self.annotation_of(self.overrides[name])} = {self.value_text(self.overrides[name])}")
            elif isinstance(arg.raw, Expr) and (arg_names(arg) or arg.raw.refs):
                body.append(f"        {identifier(name)} = {self.arg_text(arg, names, None)}")
            else:
                optional.append(f"{identifier(name)}: {self.annotation_of(arg.raw)} = {self.arg_text(arg, names, None)}")
        for name in sorted(needed - set(var_args) - {"in_channels", "copy", "copies", "true", "false", "True", "False"}):
            if lookup(name) is not None or name in self.spec.blocks:
                continue
            if name in self.overrides:
                optional.append(f"{identifier(name)}: {self.annotation_of(self.overrides[name])} = {self.value_text(self.overrides[name])}")
            else:
                required.append(f"{identifier(name)}: int")
        return required + optional, body

    def annotation_of(self, value: Any) -> str:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, LayerType):
            return "type[nn.Module]"
        if isinstance(value, int):
            return "int"
        if isinstance(value, (float, arith.Fraction)):
            return "float"
        if isinstance(value, str) and not isinstance(value, Expr):
            return "str"
        if isinstance(value, Expr):
            if str(value) in self.spec.blocks or lookup(str(value)) is not None:
                return "type[nn.Module]"
            try:
                return self.annotation_of(ast.literal_eval(value.tree))
            except ValueError:
                return "int"
        return "int"

    def value_text(self, value: Any) -> str:
        """A --set value (evaluated) as Python text."""
        if isinstance(value, LayerType):
            return self.type_text(str(value))
        if isinstance(value, arith.Fraction):
            return repr(float(value)) if value.denominator != 1 else str(value.numerator)
        if arith.is_symbolic(value):
            return arith.as_text(value)
        return repr(value)

    def type_names(self, names: Iterable[str]) -> set[str]:
        return {n for n in names if lookup(n) is not None or n in self.spec.blocks}

    def type_text(self, name: str) -> str:
        kind = lookup(name)
        if kind is not None:
            return self.kind_class(kind)
        return self.block_class(name)

    def kind_class(self, kind: LayerKind) -> str:
        if kind.torch.startswith("nn."):
            return kind.torch
        if not kind.torch:
            raise ExportError(f"{kind.name} has no PyTorch module to export it as", expected="a layer kind with a PyTorch module")
        self.used.add(kind.name)
        if "F." in kind.torch:
            self.used.add("F")
        return kind.name

    def scope_names(self, local: Mapping[str, str], reads: Iterable[str] = ()) -> Callable[[str], str]:
        def name(spec_name: str) -> str:
            if spec_name in local:
                return local[spec_name]
            if spec_name == "in_channels":
                return "in_channels"
            if spec_name in self.globals or spec_name in ("copy", "copies"):
                return identifier(spec_name)
            if lookup(spec_name) is not None or spec_name in self.spec.blocks:
                return self.type_text(spec_name)
            return identifier(spec_name)

        return name

    def block_class(self, block_name: str) -> str:
        """The class of a block (written once), its name."""
        class_name = self.class_name(block_name)
        if block_name in self.written:
            return class_name
        block = self.spec.blocks[block_name]
        cls = _Class(class_name)
        local: dict[str, str] = {}
        params = ["in_channels: int"]
        cls.locals.add("in_channels")
        required, optional, defaults = [], [], []
        own = [name for name, _ in block.params]
        for position, (name, default) in enumerate(block.params):
            shadowed = set(own[position:]) & arg_names(default) & {v for v, _ in self.spec.vars}
            if shadowed:  # `bn_size: bn_size`: the default reads the var of the argument's name
                default = self.substituted(default, {n: self.global_default(n)[3:] for n in shadowed})
            local[name] = identifier(name)
            cls.locals.add(local[name])
            annotation = self.param_annotation(block_name, name, default)
            if default is None:
                required.append(f"{local[name]}: {annotation}")
            elif isinstance(default.raw, Expr) and (arg_names(default) - {"true", "false", "True", "False"} - self.type_names(arg_names(default))):
                optional.append(f"{local[name]}: {annotation} | None = None")
                defaults.append((local[name], default))
            else:
                optional.append(f"{local[name]}: {annotation} = {self.arg_text(default, self.scope_names(local), None)}")
        outside = sorted(self.block_reads(block) | self.chosen_group_reads(block_name))
        keyword = [f"{identifier(n)}: {self.global_annotation(n)}{self.global_default(n)}" for n in outside]
        keyword = [k for k in keyword if "=" not in k] + [k for k in keyword if "=" in k]
        params += required + optional + (["*", *keyword] if keyword else [])
        names = self.scope_names(local)
        for name, default in defaults:
            cls.init.append(f"        if {name} is None:")
            cls.init.append(f"            {name} = {self.arg_text(default, names, None)}")
        instances = list(self.instances.get(block_name, []))  # its calls, then its standalone evaluation
        instances += [Instance(block.path, e, 0, len(e.rows)) for e in self.evaluations if (e.name == block_name and self.spec.layers is None) or (e.name == block_name and e.name in self.standalone)]
        out = self.walk_block(cls, block, names, instances)
        cls.init += statement("self.out_channels = ", self.out_channels(block, out, instances), 2)
        cls.forward.append(f"        return {out.var}")
        doc = self.block_doc(block, instances)
        self.written[block_name] = self.class_lines(cls, params, doc)
        return class_name

    def substituted(self, arg: Arg | None, values: Mapping[str, str]) -> Arg | None:
        """An argument with the names in `values` replaced by their Python text (a var's value)."""
        if arg is None or not isinstance(arg.raw, Expr):
            return arg
        from cnncalc.spec.expr import parse

        text = expr_text(arg.raw.tree, lambda n: values.get(n, n), None, self.used)
        return Arg(parse(text), arg.position)

    def out_channels(self, block: Block, out: Node, instances: list[Instance]) -> str:
        """The block's output channels: as tracked, else the evaluated count when every call has the same."""
        if out.dims and out.dims[0] is not None:
            return out.dims[0]
        values = {i.evaluation.rows[i.stop - 1].output[1] for i in instances if i.stop > i.start and len(i.evaluation.rows[i.stop - 1].output) > 1}
        if len(values) != 1:
            raise ExportError(
                f"block {block.name!r}: its output channels cannot be written as an expression of its arguments (cnncalc export)",
                position=block.position,
                path=block.path,
                expected="a last layer whose channels follow from the block's arguments",
                found=f"{len(values)} different channel counts in its calls",
            )
        return str(values.pop())

    def param_annotation(self, block_name: str, name: str, default: Arg | None) -> str:
        if default is not None:
            if (isinstance(default.raw, Expr) and default.raw in self.spec.blocks) or (isinstance(default.raw, str) and lookup(str(default.raw))):
                return "type[nn.Module]"
            if isinstance(default.raw, Expr) and str(default.raw) in ("true", "false", "True", "False"):
                return "bool"
            if isinstance(default.raw, Expr) and not arg_names(default):
                return self.annotation_of(default.raw)
            if not isinstance(default.raw, Expr):
                return self.annotation_of(default.raw)
        for call in self.all_calls():
            if call.kind == block_name:
                for arg_name, arg in call.args:
                    if arg_name == name:
                        if isinstance(arg.raw, Expr) and (str(arg.raw) in self.spec.blocks or lookup(str(arg.raw))):
                            return "type[nn.Module]"
                        if isinstance(arg.raw, Expr) and str(arg.raw) in ("true", "false", "True", "False"):
                            return "bool"
                        if not isinstance(arg.raw, Expr) or not arg_names(arg):
                            return self.annotation_of(arg.raw)
        return "int"

    def global_default(self, name: str) -> str:
        """` = value` for a var or a --set name (its value), else "" (a required argument)."""
        if name in self.overrides:
            return " = " + self.value_text(self.overrides[name])
        value = self.var_value(name)
        return " = " + value if value else ""

    def global_annotation(self, name: str) -> str:
        for var, arg in self.spec.vars:
            if var == name:
                return self.annotation_of(self.overrides.get(name, arg.raw))
        return "int"

    def all_calls(self) -> Iterable[LayerCall]:
        yield from self.spec.layers or ()
        for block in self.spec.blocks.values():
            yield from block.layers + block.shortcut + block.after

    def class_lines(self, cls: _Class, params: list[str], doc: list[str]) -> list[str]:
        lines = [f"class {cls.name}(nn.Module):"]
        lines += ["    " + line if line else "" for line in doc]
        lines.append("")
        signature = Call("def __init__", ("self", *params))
        lines += statement("", signature, 1, " -> None:")
        lines.append("        super().__init__()")
        lines += cls.init
        lines.append("")
        lines.append("    def forward(self, x: torch.Tensor) -> torch.Tensor:")
        lines += cls.forward
        return lines

    # -- docstrings

    def model_doc(self, evaluation: Evaluation) -> list[str]:
        shown = evaluation.shown
        lines = [
            f'"""{doc_text(self.spec.name)}: input {doc_text(_shape(shown(evaluation.input)))} -> output {doc_text(_shape(shown(evaluation.output)))} per sample.',
            "",
            f"{count_text(evaluation.params)} parameters ({count_text(arith.sub(evaluation.params, evaluation.bias))} without bias),",
            f"{count_text(evaluation.buffers)} buffer elements (running statistics), as cnncalc counts them.",
            '"""',
        ]
        return lines

    def block_doc(self, block: Block, instances: list[Instance]) -> list[str]:
        kind = "residual block" if block.residual else "block"
        lines = [f'"""The {kind} `{doc_text(block.name)}` of the spec.']
        if instances:
            lines += ["", "As the spec calls it (input -> output per sample, parameters):"]
            seen: list[str] = []
            for instance in instances:
                evaluation = instance.evaluation
                rows = evaluation.rows[instance.start : instance.stop]
                first = rows[0].inputs[0] if rows else None
                last = rows[-1].output if rows else None
                params = arith.total(r.params for r in rows)
                text = doc_text(f"{_shape(evaluation.shown(first)) if first else '-'} -> {_shape(evaluation.shown(last)) if last else '-'}, {count_text(params)}")
                if text not in seen:
                    seen.append(text)
            for text in seen[:6]:
                lines.append(f"    {text}")
            if len(seen) > 6:
                lines.append(f"    ... and {len(seen) - 6} more")
        if len(lines) == 1:
            return [lines[0] + '"""']
        lines.append('"""')
        return lines

    # -- stubs

    def model_stub(self, model: list[str]) -> list[str]:
        evaluation = self.evaluations[0]
        missing = self.missing(self.reads(self.spec.layers or ()))
        return self.stub([(self.model_name, "", evaluation, missing)])

    def blocks_stub(self, names: tuple[str, ...]) -> list[str]:
        runs = []
        for evaluation in self.evaluations:
            block = self.spec.blocks[evaluation.name]
            reads = self.block_reads(block) | {n for n, d in block.params if d is None}
            missing = self.missing(reads, block)
            args = [str(evaluation.input[1]) if len(evaluation.input) > 1 else "1"]
            args += [f"{identifier(n)}={self.value_text(self.overrides[n])}" for n, d in block.params if d is None and n in self.overrides]
            runs.append((self.class_name(evaluation.name), ", ".join(args), evaluation, missing))
        return self.stub(runs)

    def var_value(self, name: str) -> str:
        for var, arg in self.spec.vars:
            if var == name and not (isinstance(arg.raw, Expr) and arg_names(arg)):
                return self.arg_text(arg, self.scope_names({}), None)
        return ""

    def missing(self, reads: set[str], block: Block | None = None) -> list[str]:
        names = reads - {v for v, _ in self.spec.vars} - set(self.overrides) - {"in_channels", "copy", "copies", "true", "false", "True", "False"}
        if block is not None:
            names -= {n for n, d in block.params if d is not None}
        return sorted(n for n in names if lookup(n) is None and n not in self.spec.blocks)

    def stub(self, runs: list[tuple[str, str, Evaluation, list[str]]]) -> list[str]:
        lines = ['if __name__ == "__main__":']
        for class_name, args, evaluation, missing in runs:
            if missing:
                sets = " ".join(f"--set {n}=VALUE" for n in missing)
                message = f"{class_name} needs {sets} (cnncalc export)"
                lines += statement("", Call("print", (json.dumps(message),)), 1)
                continue
            variable = "model" if len(runs) == 1 else snake(class_name)
            lines.append(f"    {variable} = {class_name}({args})")
            lines.append(f"    count = sum(p.numel() for p in {variable}.parameters())")
            expected = evaluation.params
            if isinstance(expected, int):
                lines.append(f"    assert count == {expected:_}, count  # cnncalc's count")
            shape = evaluation.input
            if all(isinstance(d, int) for d in shape):
                dims = ", ".join(str(d) for d in shape)
                output = ", ".join(str(d) for d in evaluation.output)
                lines.append(f"    # cnncalc: output torch.Size([{output}])")
                lines.append(f"    print({variable}.eval()(torch.randn({dims})).shape)")
        return lines

    # -- walking lists

    def walk_block(self, cls: _Class, block: Block, names: Callable[[str], str], instances: list[Instance]) -> Node:
        residual = bool(block.residual)
        x = Node("x", ("in_channels", *self.input_spatial(instances)))
        fx_var = cls.running if residual or self.reads_input(block.layers) else "x"
        shortcut_use = self.shortcut_use(block, instances) if residual else "never"
        start = len(cls.forward)
        fx = self.walk(cls, block.layers, x, names, block.path, instances, 2, running=fx_var, local_base=block.path)
        if residual:
            if block.residual == "auto":
                add = self.auto_residual(block, instances)
                if add == "always":
                    cls.forward.append(f"        {cls.running} = {fx.var} + x")
                    fx = Node(cls.running, fx.dims)
                elif add == "sometimes":
                    keeps = self.shape_kept(block, names, fx)
                    if keeps is None:  # compared in forward
                        cls.forward.append(f"        if {fx.var}.shape == x.shape:")
                    else:
                        cls.init += statement("self.use_residual = ", keeps, 2)
                        cls.forward.append("        if self.use_residual:")
                    cls.forward.append(f"            {fx.var} = {fx.var} + x")
            else:
                identity = "x"
                if shortcut_use != "never":
                    fx_lines = cls.forward[start:]
                    del cls.forward[start:]
                    identity = self.shortcut(cls, block, x, names, instances, shortcut_use, fx)
                    if block.shortcut_first:
                        cls.forward += fx_lines
                    else:
                        cls.forward[start:start] = fx_lines
                cls.forward.append(f"        {cls.running} = {fx.var} + {identity}")
                fx = Node(cls.running, fx.dims)
        if block.after:
            fx = self.walk(cls, block.after, fx, names, block.path, instances, 2, running=fx.var, local_base=block.path, start=len(block.layers))
        return fx

    def input_spatial(self, instances: list[Instance]) -> list[str | None]:
        ranks = {len(self.instance_input(i)) for i in instances}
        rank = ranks.pop() if len(ranks) == 1 else 4
        return [None] * (rank - 2)

    def instance_input(self, instance: Instance) -> tuple[Any, ...]:
        rows = instance.evaluation.rows[instance.start : instance.stop]
        return rows[0].inputs[0] if rows else instance.evaluation.input

    def reads_input(self, calls: tuple[LayerCall, ...]) -> bool:
        return any(INPUT_NAME in call.sources or INPUT_NAME in call.refs for call in calls)

    def shortcut_use(self, block: Block, instances: list[Instance]) -> str:
        if not block.shortcut:
            return "never"
        local = block.shortcut[0].path[len(block.path) :]
        used = [any(self.row_paths(i.path + local) or self.rows_under(i.path + local)) for i in instances]
        if used and all(used):
            return "always"
        if not any(used):
            return "never"
        return "sometimes"

    def auto_residual(self, block: Block, instances: list[Instance]) -> str:
        added = []
        for instance in instances:
            rows = instance.evaluation.rows[instance.start : instance.stop]
            added.append(any(r.path == instance.path + ".add" for r in rows))
        if added and all(added):
            return "always"
        return "never" if not any(added) else "sometimes"

    def row_paths(self, path: str) -> list[Row]:
        found = [self.rows[path]] if path in self.rows else []
        n = 0
        while f"{path}.{n}" in self.rows:
            found.append(self.rows[f"{path}.{n}"])
            n += 1
        return found

    def shortcut(self, cls: _Class, block: Block, x: Node, names: Callable[[str], str], instances: list[Instance], use: str, fx: Node | None) -> str:
        """The shortcut's module (built always, or where the shape changes) and its forward line."""
        attr, _ = cls.attribute(block.shortcut_name, None)
        items: list[Part] = []
        dims = x.dims
        # a block call inside the shortcut: the next one reads its out_channels from a list built first
        listed = any(c.is_block or c.chosen for c in block.shortcut[:-1])
        modules = cls.local("shortcut") if listed else ""
        for call in block.shortcut:
            if call.repeat is not None or call.sources or call.name or call.refs:
                raise self.error(call, "a shortcut of plain layers (no repeat, from or name)")
            part, dims = self.module_part(cls, call, dims, names, instances, block.path)
            items.append(part)
            if listed and (call.is_block or call.chosen) and dims is not None:
                dims = (f"{modules}[-1].out_channels", *dims[1:])
        built = Call("nn.Sequential", (f"*{modules}",) if listed else tuple(items))
        indent = 2 if use == "always" else 3
        lines = [f"{'    ' * indent}{modules} = []"] if listed else []
        for item in items if listed else ():
            lines += statement("", Call(f"{modules}.append", (item,)), indent)
        if use == "always":
            cls.init += lines
            cls.init += statement(f"self.{attr} = ", built, 2)
            cls.forward.append(f"        {cls.identity} = self.{attr}(x)")
        else:
            condition = self.shape_change(block, names, fx)
            cls.init.append(f"        self.{attr}: nn.Module | None = None")
            cls.init.append(f"        if {condition}:")
            cls.init += lines
            cls.init += statement(f"self.{attr} = ", built, 3)
            cls.forward.append(f"        {cls.identity} = x if self.{attr} is None else self.{attr}(x)")
        return cls.identity

    def strides(self, block: Block, names: Callable[[str], str]) -> list[str]:
        """The texts of the strides F(x)'s calls give (their layers', or a block call's `stride`)."""
        found = []
        for call in block.layers:
            stride_names = self.stride_params(call.kind) if call.is_block else {"stride"}
            for name, arg in call.args:
                if name in stride_names:
                    text = self.arg_text(arg, names, None)
                    if _int(text) != 1:
                        found.append(text)
        return list(dict.fromkeys(found))

    def stride_params(self, block_name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        """The arguments of a block that become a layer's `stride` inside it (Ultralytics' `s`)."""
        block = self.spec.blocks.get(block_name)
        if block is None or block_name in seen:
            return set()
        own = {name for name, _ in block.params}
        found = {name for name, default in block.params if name == "stride"}
        for call in block.layers + block.shortcut + block.after:
            inner = self.stride_params(call.kind, seen | {block_name}) if call.is_block else {"stride"}
            for name, arg in call.args:
                if name in inner and isinstance(arg.raw, Expr) and str(arg.raw) in own:
                    found.add(str(arg.raw))
        return found

    def shape_kept(self, block: Block, names: Callable[[str], str], fx: Node) -> str | None:
        """When F(x) keeps x's shape, as the block's arguments say (`residual: auto`): strides 1
        and as many channels out as in; None when the channels out are not known."""
        channels = fx.dims[0] if fx.dims else None
        if channels is None:
            return None
        parts = [f"{text} == 1" for text in self.strides(block, names)]
        if channels != "in_channels":
            parts.append(f"in_channels == {channels}")
        return " and ".join(parts) or "True"

    def shape_change(self, block: Block, names: Callable[[str], str], fx: Node | None) -> str:
        """When F(x) changes x's shape, as the block's arguments say: a stride other than 1
        (its layers' `stride`, or a block call's) or other channels out than in."""
        parts = [f"{text} != 1" for text in self.strides(block, names)]
        channels = fx.dims[0] if fx is not None and fx.dims else None
        if channels is None:
            raise SpecError(
                f"block {block.name!r}: cannot tell from its arguments when its shortcut is used (cnncalc export)",
                position=block.position,
                path=block.path,
                expected="a shortcut used by every call of the block or by none, or a block whose output channels are known",
            )
        if channels != "in_channels":
            parts.append(f"in_channels != {channels}")
        return " or ".join(dict.fromkeys(parts)) or "False"

    def error(self, call: LayerCall, expected: str, message: str = "") -> SpecError:
        return ExportError(
            message or f"{call.kind} cannot be exported to PyTorch here",
            position=call.position,
            path=f"{call.path} ({call.kind})",
            expected=expected,
        )

    def walk(
        self,
        cls: _Class,
        calls: tuple[LayerCall, ...],
        x: Node,
        names: Callable[[str], str],
        base: str,
        instances: list[Instance],
        indent: int,
        *,
        running: str | None = None,
        local_base: str | None = None,
        start: int = 0,
    ) -> Node:
        """Write a list's modules and forward lines; its output node."""
        strip = len(local_base) if local_base is not None else 0
        nodes: dict[str, Node] = {INPUT_NAME: x}
        current = x
        var = running or (cls.running if self.reads_input(calls) else x.var)
        counts: dict[str, int] = {}
        bases = [self.base_name(call) for call in calls]
        for b in bases:
            counts[b] = counts.get(b, 0) + 1
        referenced = {s for c in calls for s in (*c.sources, *c.refs)}
        for index, call in enumerate(calls):
            local = call.path[strip:]
            paths = [i.path + local for i in instances]
            inputs = [nodes[s] for s in call.sources] if call.sources else [current]
            kind = None if call.is_block or call.chosen else lookup(call.kind)
            wanted = call.name or (bases[index] if counts[bases[index]] == 1 and bases[index] not in nodes else f"{bases[index]}{index + start}")
            out_var = cls.variable(call.name) if call.name in referenced else var
            if kind is not None and kind.inputs > 1:
                if len(inputs) == 1:
                    inputs = [current, inputs[0]]
                current = self.merge(cls, call, kind, inputs, names, wanted, out_var)
            elif call.repeat is not None:
                current = self.repeated(cls, call, inputs[0], names, wanted, out_var, paths, base)
            else:
                current = self.single(cls, call, inputs[0], names, wanted, out_var, paths, base, nodes)
            if call.name:
                nodes[call.name] = current
        return current

    def base_name(self, call: LayerCall) -> str:
        if call.is_block:
            return snake(call.kind)
        if call.chosen:
            return snake(call.kind)
        for prefix, short in _SHORT:
            if call.kind.startswith(prefix):
                return short
        return snake(call.kind)

    def merge(self, cls: _Class, call: LayerCall, kind: LayerKind, inputs: list[Node], names: Callable[[str], str], wanted: str, out_var: str) -> Node:
        constructor = self.kind_call(cls, call, kind, inputs[0].dims, names, [])
        attr, new = cls.attribute(wanted, constructor.flat())
        if new:
            cls.init += statement(f"self.{attr} = ", constructor, 2)
        if call.repeat is not None:  # applied `repeat` times: Bottleneck's `1 if shortcut and ... else 0`
            if call.kind not in ("Add", "Mul"):
                raise self.error(call, "a repeated merge of one input and the running tensor (Add, Mul)")
            if len(inputs) != 2:
                raise self.error(call, "a repeated merge of two inputs")
            count = self.arg_text(call.repeat, names, None)
            counter, _ = cls.attribute(f"{attr}_count", None)
            cls.init += statement(f"self.{counter} = ", Call("int", (count,)), 2)
            running, other = inputs
            if out_var != running.var:
                cls.forward.append(f"        {out_var} = {running.var}")
            cls.forward.append(f"        for _ in range(self.{counter}):")
            cls.forward += statement(f"{out_var} = ", Call(f"self.{attr}", (out_var, other.var)), 3)
            return Node(out_var, inputs[0].dims)
        cls.forward += statement(f"{out_var} = ", Call(f"self.{attr}", tuple(n.var for n in inputs)), 2)
        dims: tuple[str | None, ...] | None = inputs[0].dims
        if call.kind in ("Concat",):
            dim = self.literal_arg(call, "dim", 1)
            if dims is not None and isinstance(dim, int):
                axis = dim - 1 if dim > 0 else len(dims) + dim
                if 0 <= axis < len(dims):
                    parts = [n.dims[axis] if n.dims and len(n.dims) > axis else None for n in inputs]
                    joined = sum_text([p for p in parts if p is not None]) if all(p is not None for p in parts) else None
                    dims = (*dims[:axis], joined, *dims[axis + 1 :])
        return Node(out_var, dims)

    def literal_arg(self, call: LayerCall, name: str, default: Any) -> Any:
        for arg_name, arg in call.args:
            if arg_name == name:
                return literal(arg)
        return default

    def single(
        self, cls: _Class, call: LayerCall, x: Node, names: Callable[[str], str], wanted: str, out_var: str, paths: list[str], base: str,
        nodes: Mapping[str, Node],
    ) -> Node:
        runtime: list[str] = []
        part, dims = self.module_part(cls, call, x.dims, names, paths, base, nodes, runtime)
        attr, new = cls.attribute(wanted, part.flat() if isinstance(part, Call) else part)
        if new:
            cls.init += statement(f"self.{attr} = ", part, 2)
        if call.is_block or (call.chosen and self.chosen_block(call)):
            dims = (f"self.{attr}.out_channels", *([None] * (len(x.dims) - 1) if x.dims else []))
        cls.forward += statement(f"{out_var} = ", Call(f"self.{attr}", (x.var, *runtime)), 2)
        return Node(out_var, dims)

    def repeated(self, cls: _Class, call: LayerCall, x: Node, names: Callable[[str], str], wanted: str, out_var: str, paths: list[str], base: str) -> Node:
        assert call.repeat is not None
        count = self.arg_text(call.repeat, names, None)
        reads = set().union(*(arg_names(arg) for _, arg in call.args))
        loop_var = "copy" if "copy" in reads else "_"
        attr, _ = cls.attribute(wanted, None)
        copy_paths = [p for path in paths for p in ([f"{path}.{n}" for n in range(self.copies(path))] or [path])]
        channels_in = x.dims[0] if x.dims else None
        block = call.is_block or (call.chosen and self.chosen_block(call))
        kind = None if block or call.chosen else lookup(call.kind)
        keeps = kind is not None and (kind.family in _KEEPS or kind.family in ("norm",))
        if keeps:
            part, dims = self.module_part(cls, call, x.dims, names, copy_paths, base)
            if "copies" in reads:
                cls.init.append(f"        copies = {count}")
                count = "copies"
            text = part.flat() if isinstance(part, Call) else part
            lines = statement(f"self.{attr} = ", Call("nn.Sequential", (f"*[{text} for {loop_var} in range({count})]",)), 2)
            if max(len(line) for line in lines) > 88 or len(lines) > 1:
                layers = cls.local("layers")
                cls.init.append(f"        {layers} = []")
                cls.init.append(f"        for {loop_var} in range({count}):")
                cls.init += statement("", Call(f"{layers}.append", (part,)), 3)
                cls.init.append(f"        self.{attr} = nn.Sequential(*{layers})")
            else:
                cls.init += lines
        else:
            layers = cls.local("layers")
            channels = cls.local("channels")
            cls.init.append(f"        {layers} = []")
            cls.init.append(f"        {channels} = {channels_in if channels_in is not None else 'in_channels'}")
            if "copies" in reads:
                cls.init.append(f"        copies = {count}")
                count = "copies"
            cls.init.append(f"        for {loop_var} in range({count}):")
            dims_in = (channels, *(x.dims[1:] if x.dims else ()))
            part, dims = self.module_part(cls, call, dims_in, names, copy_paths, base)
            cls.init += statement("", Call(f"{layers}.append", (part,)), 3)
            if block:
                cls.init.append(f"            {channels} = {layers}[-1].out_channels")
            elif dims and dims[0] is not None and dims[0] != channels:
                cls.init.append(f"            {channels} = {dims[0]}")
            cls.init.append(f"        self.{attr} = nn.Sequential(*{layers})")
            dims = (channels, *([None] * (len(x.dims) - 1) if x.dims else []))
        cls.forward += statement(f"{out_var} = ", Call(f"self.{attr}", (x.var,)), 2)
        return Node(out_var, dims)

    def copies(self, path: str) -> int:
        n = 0
        while f"{path}.{n}" in self.rows or self.rows_under(f"{path}.{n}"):
            n += 1
        return n

    def chosen_block(self, call: LayerCall) -> bool:
        """Whether a call of a type argument (`- act`) calls blocks only (else layer kinds, or both)."""
        return self.chosen_kinds(call) == "blocks"

    def chosen_kinds(self, call: LayerCall) -> str:
        """What a type argument (`- act`) holds: "blocks", "layers" or "both"."""
        blocks = {v in self.spec.blocks for v in self.type_values(call.kind)}
        return "both" if len(blocks) > 1 else "blocks" if blocks == {True} else "layers"

    def group_reads(self, argument: str) -> set[str]:
        """The outside names the blocks a type argument may hold read (each of their classes takes them all)."""
        found: set[str] = set()
        for value in sorted(self.type_values(argument)):
            if value in self.spec.blocks:
                found |= self.block_reads(self.spec.blocks[value])
        return found

    def chosen_group_reads(self, block_name: str) -> set[str]:
        """The outside names of every type argument's group that holds this block."""
        found: set[str] = set()
        for call in self.all_calls():
            if call.chosen and block_name in self.type_values(call.kind) and self.chosen_kinds(call) == "blocks":
                found |= self.group_reads(call.kind)
        return found

    def type_values(self, argument: str) -> set[str]:
        found = set()
        for call in self.all_calls():
            for name, arg in call.args:
                if name == argument:
                    found |= {n for n in arg_names(arg) if lookup(n) is not None or n in self.spec.blocks}
        for block in self.spec.blocks.values():
            for name, default in block.params:
                if name == argument:
                    found |= {n for n in arg_names(default) if lookup(n) is not None or n in self.spec.blocks}
        for name, arg in self.spec.vars:
            if name == argument:
                found |= {n for n in arg_names(arg) if lookup(n) is not None or n in self.spec.blocks}
        return found

    # -- one module

    def module_part(
        self,
        cls: _Class,
        call: LayerCall,
        dims: tuple[str | None, ...] | None,
        names: Callable[[str], str],
        paths: Sequence[Any],
        base: str,
        nodes: Mapping[str, Node] | None = None,
        runtime: list[str] | None = None,
    ) -> tuple[Part, tuple[str | None, ...] | None]:
        """A module's constructor call and its output dims."""
        row_paths = [p if isinstance(p, str) else p.path + call.path[len(base) :] for p in paths]
        channels = dims[0] if dims else None
        if call.is_block:
            self.block_class(call.kind)
            block = self.spec.blocks[call.kind]
            args: list[Part] = [channels if channels is not None else self.fallback(call, row_paths, lambda r: r.inputs[0][1])]
            given = dict(call.args)
            for name, _ in block.params:
                if name in given:
                    args.append(f"{identifier(name)}={self.arg_text(given[name], names, nodes)}")
            args += [f"{identifier(n)}={names(n)}" for n in sorted(self.block_reads(block))]
            return Call(self.class_name(call.kind), tuple(args)), (None, *([None] * (len(dims) - 1) if dims else []))
        if call.chosen:
            func = names(call.kind)
            keywords = [f"{identifier(n)}={self.arg_text(a, names, nodes)}" for n, a in call.args]
            in_channels = channels if channels is not None else self.fallback(call, row_paths, lambda r: r.inputs[0][1])
            kinds = self.chosen_kinds(call)
            if kinds == "blocks":
                keywords += [f"{identifier(n)}={names(n)}" for n in sorted(self.group_reads(call.kind))]
                return Call(func, (in_channels, *keywords)), dims
            if kinds == "layers":
                return Call(func, tuple(keywords)), dims
            classes = ", ".join(sorted(self.type_text(v) for v in self.type_values(call.kind) if v in self.spec.blocks))
            block_call, layer_call = Call(func, (in_channels, *keywords)).flat(), Call(func, tuple(keywords)).flat()
            return f"{block_call} if {func} in ({classes},) else {layer_call}", dims
        kind = lookup(call.kind)
        assert kind is not None
        part = self.kind_call(cls, call, kind, dims, names, row_paths, nodes, runtime)
        return part, self.output_dims(call, kind, dims, names, nodes)

    def kind_call(
        self,
        cls: _Class,
        call: LayerCall,
        kind: LayerKind,
        dims: tuple[str | None, ...] | None,
        names: Callable[[str], str],
        row_paths: Sequence[str],
        nodes: Mapping[str, Node] | None = None,
        runtime: list[str] | None = None,
    ) -> Call:
        if not kind.torch:
            raise self.error(call, "a layer kind with a PyTorch module", f"{kind.name} has no PyTorch module to export it as")
        given = dict(call.args)
        func = kind.torch if kind.torch.startswith("nn.") else None
        if kind.name == "Upsample" and call.refs:
            func = None
            kind = KINDS["Interpolate"]
        if func is None:
            func = self.kind_class(kind)
        positional: list[str] = []
        keywords: list[Part] = []
        in_positional = True
        for index, param in enumerate(kind.params):
            if param.name in ("device", "dtype"):
                continue
            if param.name in given:
                arg = given[param.name]
                if kind.name == "Reshape" and arg_refs_runtime(arg) and nodes is not None and runtime is not None and isinstance(arg.raw, tuple):
                    keywords.append(Call(f"{param.name}=", self.runtime_items(call, arg, names, nodes, runtime)))
                    in_positional = False
                    continue
                if arg_refs_runtime(arg) and nodes is not None:
                    if kind.name not in _RUNTIME_SIZE or param.name != "size" or runtime is None:
                        raise self.error(call, "node sizes read by the size of CenterCrop, PadTo, Interpolate or Upsample", f"{kind.name}'s {param.name!r} reads another node's size, which PyTorch code cannot know when the module is built")
                    runtime.append(self.arg_text(arg, names, nodes, forward=True))
                    in_positional = False
                    continue
                text = self.arg_text(arg, names, nodes, integer=param.kind in ("int", "ints", "size"))
            elif param.inferred:
                text = self.inferred(call, kind, param.name, dims, row_paths)
            else:
                in_positional = False
                continue
            if in_positional and func.startswith("nn.") and (param.inferred or (param.default is REQUIRED and index < 2)) and not param.keyword:
                positional.append(text)
            else:
                in_positional = False
                keywords.append(f"{param.name}={text}")
        return Call(func, tuple(positional + keywords))

    def runtime_items(self, call: LayerCall, arg: Arg, names: Callable[[str], str], nodes: Mapping[str, Node], runtime: list[str]) -> tuple[str, ...]:
        """A shape whose items reading node sizes are None, their sizes given to forward (`runtime`)."""
        assert isinstance(arg.raw, tuple)
        items = []
        for item in arg.raw:
            if not arg_refs_runtime(item):
                items.append(self.arg_text(item, names, nodes, integer=True))
                continue
            if arg_names(item):
                raise self.error(call, "shape items that read node sizes and numbers only", f"{call.kind}: a shape item reads both a node's size and the arguments ({item.raw}), which the exported code cannot split between constructor and forward")
            runtime.append(self.arg_text(item, names, nodes, forward=True))
            items.append("None")
        return tuple(items) if len(items) > 1 else (items[0] + ",",)

    def inferred(self, call: LayerCall, kind: LayerKind, name: str, dims: tuple[str | None, ...] | None, row_paths: Sequence[str]) -> str:
        text: str | None = None
        if dims:
            if name in _PER_CHANNEL_INFERRED or (kind.name in ("LayerNorm2d", "LayerScale2d")):
                text = dims[0]
            elif name in ("in_features", "dim") or kind.name == "LayerNorm":
                text = dims[-1]
        if text is not None:
            return text
        def value(row: Row) -> Any:
            x = row.inputs[0]
            if name in _PER_CHANNEL_INFERRED or kind.name in ("LayerNorm2d", "LayerScale2d"):
                return x[1]
            if kind.name == "LayerNorm" and name == "normalized_shape":
                return dict(row.args).get(name) or x[-1]
            return x[-1]

        return self.fallback(call, row_paths, value)

    def fallback(self, call: LayerCall, row_paths: Sequence[str], get: Callable[[Row], Any]) -> str:
        """A value the walk cannot write as an expression: the evaluated one, when every call of
        the list has the same (the input's size decides it, as for a Linear after a Flatten)."""
        values = set()
        for path in row_paths:
            for row in self.row_paths(path) or self.rows_under(path):
                value = get(row)
                values.add(value if not isinstance(value, tuple) else tuple(value))
        if len(values) != 1:
            raise self.error(
                call, "sizes the same in every call of the block",
                f"{call.kind}: an inferred size differs between the calls of its block ({len(values)} values), so no one constructor argument fits",
            )
        value = values.pop()
        if isinstance(value, tuple):
            return "(" + ", ".join(str(v) for v in value) + ("," if len(value) == 1 else "") + ")"
        return str(value)

    def rows_under(self, path: str) -> list[Row]:
        prefix = path + "."
        return [row for key, row in self.rows.items() if key.startswith(prefix)][:1]

    def output_dims(
        self, call: LayerCall, kind: LayerKind, dims: tuple[str | None, ...] | None, names: Callable[[str], str], nodes: Mapping[str, Node] | None = None
    ) -> tuple[str | None, ...] | None:
        if dims is None:
            return None
        given = dict(call.args)
        family = kind.family
        if family == "conv":
            return (self.arg_text(given["out_channels"], names, nodes), *([None] * (len(dims) - 1)))
        if family in _KEEPS or family == "norm":
            return dims
        if kind.name == "Linear":
            return (*dims[:-1], self.arg_text(given["out_features"], names, nodes))
        if family == "pool":
            if kind.name.startswith("Adaptive"):
                size = given["output_size"]
                if isinstance(size.raw, tuple):
                    texts = [self.arg_text(a, names, None) for a in size.raw]
                    sizes = [None if t == "None" else t for t in texts]
                    return (dims[0], *sizes) if len(sizes) == len(dims) - 1 else (dims[0], *([None] * (len(dims) - 1)))
                text = self.arg_text(size, names, None)
                return (dims[0], *([text] * (len(dims) - 1)))
            return (dims[0], *([None] * (len(dims) - 1)))
        if kind.name == "Flatten":
            start = self.literal_arg(call, "start_dim", 1)
            end = self.literal_arg(call, "end_dim", -1)
            if start == 1 and end == -1:
                return (product_text([d for d in dims if d is not None]),) if all(d is not None for d in dims) else (None,)
            return None
        if family in ("pad", "upsample"):
            return (dims[0], *([None] * (len(dims) - 1)))
        if kind.name in ("ChannelShuffle", "Identity"):
            return dims
        if kind.name == "Narrow" and self.literal_arg(call, "dim", None) == 1:
            return (self.arg_text(given["length"], names, None), *dims[1:])
        if kind.name == "Permute":
            order = self.literal_arg(call, "dims", None)
            if isinstance(order, tuple) and len(order) == len(dims) + 1 and all(isinstance(d, int) for d in order):
                full = ("batch", *dims)
                permuted = [full[d] for d in order]
                if permuted[0] == "batch":
                    return tuple(permuted[1:])
            return None
        return None

    # -- arguments

    def arg_text(self, arg: Arg, names: Callable[[str], str], nodes: Mapping[str, Node] | None, *, forward: bool = False, integer: bool = False) -> str:
        raw = arg.raw
        if isinstance(raw, tuple):
            items = [self.arg_text(a, names, nodes, forward=forward, integer=integer) for a in raw]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if isinstance(raw, Expr):
            node = None
            if nodes is not None:
                def node(name: str, attribute: str, index: Any) -> str:
                    found = nodes.get(name)
                    if found is None:
                        raise ValueError(name)
                    if not forward:
                        channels = attribute == "channels" or (attribute == "shape" and isinstance(index, ast.Constant) and index.value == 0)
                        if channels and found.dims and found.dims[0] is not None:
                            return found.dims[0] if _atom(found.dims[0]) else f"({found.dims[0]})"
                        raise ValueError(name)
                    return runtime_shape(found.var, attribute, index)
            elif forward:
                raise ValueError(str(raw))
            try:
                text = expr_text(raw.tree, names, node, self.used)
            except SpecError as exc:  # a block class written on the way (a type argument's): its own located error
                raise exc.located(arg.position, None) from None
            except ValueError as exc:
                raise ExportError(
                    f"the size of node {str(exc)!r} is not known when the module is built",
                    position=arg.position,
                    expected="node shapes only in the size of CenterCrop, PadTo, Interpolate or Upsample, or a node's channels",
                    found=str(raw),
                ) from None
            if integer and isinstance(raw.tree, ast.AST) and any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) for n in ast.walk(raw.tree)):
                text = f"int({text})"
            return text
        if isinstance(raw, bool) or raw is None:
            return repr(raw)
        if isinstance(raw, (LayerType, str)) and (isinstance(raw, LayerType) or lookup(raw) is not None or raw in self.spec.blocks):
            try:
                return self.type_text(str(raw))
            except SpecError as exc:  # a kind without a PyTorch module given as a type argument
                raise exc.located(arg.position, None) from None
        if isinstance(raw, str):
            return json.dumps(raw)
        if isinstance(raw, float):
            return repr(raw)
        return str(raw)


def literal(arg: Arg) -> Any:
    """An argument's value when it is a literal (a number, a word, a tuple of them), else None."""
    raw = arg.raw
    if isinstance(raw, tuple):
        items = tuple(literal(a) for a in raw)
        return None if None in items else items
    if isinstance(raw, Expr):
        try:
            return ast.literal_eval(raw.tree)
        except ValueError:
            return None
    return raw


def arg_refs_runtime(arg: Arg) -> bool:
    """Whether an argument reads a node's size other than its channels (known only at run time)."""
    raw = arg.raw
    if isinstance(raw, tuple):
        return any(arg_refs_runtime(a) for a in raw)
    if not isinstance(raw, Expr) or not raw.refs:
        return False
    return any(isinstance(node, ast.Attribute) and node.attr != "channels" for node in ast.walk(raw.tree))


def _shape(shape: Any) -> str:
    return "[" + ", ".join(arith.as_text(d) for d in shape) + "]"


_MAKE_DIVISIBLE = '''def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision's _make_divisible: a multiple of divisor, at most 10% below value."""
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return int(rounded)'''
