"""Ultralytics model YAMLs (`backbone:`/`head:` rows of [from, repeats, module, args]) read as a spec.

parse_model's rules of the `ultralytics` package (pinned to 8.4.190: ultralytics/nn/tasks.py),
one row at a time: the scale (`--scale`, else the file name as guess_model_scale reads it,
`yolov8n.yaml` -> n, else the first of `scales:`) gives depth, width and max_channels; repeats
become max(round(n * depth), 1) (Python's round: halves to even) when n > 1; the output channels
of the base modules become make_divisible(min(c2, max_channels) * width, 8), Ultralytics'
make_divisible (ceil(x / 8) * 8), except Classify's class count; the modules that take the
repeat count as an argument get it; Concat sums its inputs' channels; Detect, Segment, Pose and
Classify take their `from` list. Each row becomes calls of the templates of the shipped library
`ultralytics.yaml` (the modules' internals), named by the row's index as PyTorch names the
model's modules (`model.2.m.0.cv1.conv` is a C3 row 2's `2.m.0.cv1.conv`); the spec is then read
by the common reader and its top-level calls are placed at the rows of the user's file, so that
errors point there.

A row's numbers are worked out here as Ultralytics works them out (floats, Python's round);
an argument that is a name bound nowhere (`[-1, 1, Conv, [k, 3, 2]]`) stays a free symbol, and
the channel rules are then written as expressions for the evaluator.
"""

from __future__ import annotations

import json
import math
import os
import re
from fractions import Fraction
from typing import Any, NamedTuple

import yaml  # type: ignore[import-untyped, unused-ignore]  # (see spec.nodes)

from cnncalc.errors import CnncalcError, Position, SpecError, UsageError, clip, quoted
from cnncalc.spec.model import Arg, Limits, Spec
from cnncalc.spec.nodes import BOOL, FLOAT, INT, NULL, mark_position, type_name

LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ultralytics.yaml")
DEFAULT_IMGSZ = 640


class Sym(str):
    """A value of a row that holds a free symbol: cnncalc expression text."""

    __slots__ = ()


class YoloRow(NamedTuple):
    """One row of the model YAML as parse_model prints it."""

    number: int  # the row's index in backbone + head
    source: str  # `from` as written: -1, [-1, 6], [15, 18, 21]
    repeats: int  # n after the depth multiple
    module: str  # the module's type as Ultralytics prints it (ultralytics.nn.modules.conv.Conv)
    args: str  # its arguments after parse_model (input channels first, repeats inserted, ...)
    position: Position


# Why cost --train refuses C2PSA and C2fPSA rows (docs/ultralytics.md).
ATTENTION_SCALE = (
    "Ultralytics' Attention multiplies q by its scale before q^T k, a copy autograd saves, and reshapes v (a view or a "
    "copy depending on the head count); cnncalc's Attention template models neither"
)


class YoloInfo(NamedTuple):
    """What an Ultralytics model file says beside its layers: the chosen scale and its multiples,
    the class count, the image size, and each row as parse_model prints it."""

    scale: str
    depth: float
    width: float
    max_channels: float
    nc: Any
    imgsz: int
    rows: tuple[YoloRow, ...]
    task: str  # detect, segment, pose or classify
    # module names of the entries Ultralytics runs in eval mode only (Detect's DFL, sigmoid and
    # final concatenation; Classify's softmax): in train mode the head returns its raw outputs
    inference_only: tuple[str, ...] = ()
    # (row module name, layer kind, reason): the rows whose training memory cnncalc refuses
    train_refused: tuple[tuple[str, str, str], ...] = ()


def is_model_yaml(node: yaml.Node | None) -> bool:
    """Whether a composed YAML document is an Ultralytics model file (top-level `backbone:`)."""
    return isinstance(node, yaml.MappingNode) and any(isinstance(k, yaml.ScalarNode) and k.value == "backbone" for k, _ in node.value)


def guess_scale(path: str) -> str:
    """The scale letter in a model file's name, as Ultralytics' guess_model_scale reads it."""
    stem = os.path.basename(path).rsplit(".", 1)[0]
    found = re.search(r"yolo(e-)?[v]?\d+([nslmx])", stem)
    return found.group(2) if found else ""


def unified_path(path: str) -> str:
    """`yolov8n.yaml` -> `yolov8.yaml`: the file Ultralytics reads for a scaled name (and, as
    its check_yolov5u_filename, `yolov5nu.yaml` -> `yolov5u.yaml` -> `yolov5.yaml`)."""
    head, tail = os.path.split(path)
    tail = re.sub(r"(\d+)([nslmx])(.+)?$", r"\1\3", tail)
    if ("yolov3" in tail or "yolov5" in tail) and "u.yaml" in tail:
        tail = tail.replace("u.yaml", ".yaml")
    return os.path.join(head, tail)


# -- the library of module templates, read once

_LIBRARY_TEXT: list[str] = []


def library_text() -> str:
    if not _LIBRARY_TEXT:
        with open(LIBRARY, encoding="utf-8") as handle:
            _LIBRARY_TEXT.append(handle.read())
    return _LIBRARY_TEXT[0]


# -- values


def _value(node: yaml.Node, source: str) -> Any:
    """A row's YAML value as Python reads it (lists as lists)."""
    if isinstance(node, yaml.SequenceNode):
        return [_value(v, source) for v in node.value]
    if isinstance(node, yaml.ScalarNode):
        if node.tag == INT:
            try:
                return int(node.value.replace("_", ""), 0)
            except ValueError:
                pass
        if node.tag == FLOAT:
            try:
                return float(node.value.replace("_", ""))
            except ValueError:
                pass
        if node.tag == BOOL:
            return node.value.lower() in ("true", "yes", "on", "y")
        if node.tag == NULL:
            return None
        return str(node.value)
    raise SpecError("a row's arguments must be values or lists", position=mark_position(source, node.start_mark), found=type_name(node))


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value: Any) -> str:
    """A value as cnncalc expression text (a symbol's text in parentheses)."""
    if isinstance(value, Sym):
        return f"({value})"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _exact(value: Any) -> str:
    """A number as exact expression text: a decimal as the fraction it is written as (0.25 -> (1/4))."""
    if isinstance(value, float):
        fraction = Fraction(repr(value))
        return str(fraction.numerator) if fraction.denominator == 1 else f"({fraction.numerator}/{fraction.denominator})"
    return str(value)


def _make_divisible(x: Any, divisor: int = 8) -> Any:
    """Ultralytics' make_divisible: ceil(x / divisor) * divisor (torchvision's rounds to nearest)."""
    if _num(x):
        return math.ceil(x / divisor) * divisor
    return Sym(f"ceil({x} / {divisor}) * {divisor}")


def _int(x: Any) -> Any:
    return int(x) if _num(x) else Sym(f"int({x})")


def _printed(value: Any) -> str:
    """An argument as parse_model prints it (Python's repr; symbols as written)."""
    if isinstance(value, Sym):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_printed(v) for v in value) + "]"
    return repr(value)


# -- the modules

BASE = {  # parse_model's base_modules cnncalc has templates for: name -> module path as printed
    "Conv": "ultralytics.nn.modules.conv.Conv",
    "DWConv": "ultralytics.nn.modules.conv.DWConv",
    "GhostConv": "ultralytics.nn.modules.conv.GhostConv",
    "Bottleneck": "ultralytics.nn.modules.block.Bottleneck",
    "C2f": "ultralytics.nn.modules.block.C2f",
    "C3": "ultralytics.nn.modules.block.C3",
    "C3k2": "ultralytics.nn.modules.block.C3k2",
    "C2PSA": "ultralytics.nn.modules.block.C2PSA",
    "SPPF": "ultralytics.nn.modules.block.SPPF",
    "SPP": "ultralytics.nn.modules.block.SPP",
    "Classify": "ultralytics.nn.modules.head.Classify",
    "C1": "ultralytics.nn.modules.block.C1",
    "C2": "ultralytics.nn.modules.block.C2",
    "C2fPSA": "ultralytics.nn.modules.block.C2fPSA",
    "BottleneckCSP": "ultralytics.nn.modules.block.BottleneckCSP",
    "C3Ghost": "ultralytics.nn.modules.block.C3Ghost",
    "GhostBottleneck": "ultralytics.nn.modules.block.GhostBottleneck",
    "SCDown": "ultralytics.nn.modules.block.SCDown",
    "ADown": "ultralytics.nn.modules.block.ADown",
    "AConv": "ultralytics.nn.modules.block.AConv",
    "ConvTranspose": "ultralytics.nn.modules.conv.ConvTranspose",
    "Focus": "ultralytics.nn.modules.conv.Focus",
    "nn.ConvTranspose2d": "torch.nn.modules.conv.ConvTranspose2d",
}
REPEAT_MODULES = frozenset(("C2f", "C3", "C3k2", "C2PSA", "C1", "C2", "C2fPSA", "BottleneckCSP", "C3Ghost"))
HEADS = {
    "Detect": "ultralytics.nn.modules.head.Detect",
    "Segment": "ultralytics.nn.modules.head.Segment",
    "Pose": "ultralytics.nn.modules.head.Pose",
}
OTHER = {
    "Concat": "ultralytics.nn.modules.conv.Concat",
    "nn.Upsample": "torch.nn.modules.upsampling.Upsample",
}
SUPPORTED = (*BASE, *HEADS, *OTHER)
# Modules of parse_model's lists that cnncalc has no template for (named in the error).
KNOWN_ELSEWHERE = (
    "RepNCSPELAN4", "ELAN1", "SPPELAN", "C2fAttn", "C3TR", "DWConvTranspose2d", "C3x", "RepC3", "PSA", "SCDown", "C2fCIB", "A2C2f", "AIFI",
    "HGStem", "HGBlock", "ResNetLayer", "OBB", "WorldDetect", "YOLOEDetect", "YOLOESegment", "v10Detect", "RTDETRDecoder",
    "ImagePoolingAttn", "CBLinear", "CBFuse", "TorchVision", "Index", "Segment26", "Pose26", "OBB26", "Depth", "SemanticSegment",
)


class _Entry(NamedTuple):
    """One top-level call of the generated spec."""

    kind: str
    args: dict[str, Any]
    name: str
    sources: tuple[str, ...]
    repeat: int
    row: int  # the index of the YAML row it comes from
    path: str


class ModelReader:
    """Reads one Ultralytics model file's composed YAML into a spec."""

    def __init__(self, source: str, limits: Limits, scale: str | None, imgsz: int | None) -> None:
        self.source = source
        self.limits = limits
        self.scale_option = scale
        self.imgsz = DEFAULT_IMGSZ if imgsz is None else imgsz
        self.entries: list[_Entry] = []
        self.rows: list[YoloRow] = []
        self.inference_only: list[str] = []
        self.train_refused: list[tuple[str, str, str]] = []

    def pos(self, node: yaml.Node) -> Position:
        return mark_position(self.source, node.start_mark)

    def error(self, node: yaml.Node, message: str, path: str | None = None, **details: Any) -> SpecError:
        return SpecError(message, position=self.pos(node), path=path, **details)

    def read(self, node: yaml.MappingNode, default_name: str) -> Spec:
        fields = {str(k.value): (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        if "head" not in fields:
            raise self.error(node, "the model file has a 'backbone' but no 'head'", expected="backbone: [...] and head: [...] (Ultralytics' model YAML)")
        top = {name: _value(v, self.source) if not isinstance(v, yaml.MappingNode) else v for name, (_, v) in fields.items()}
        self.nc = top.get("nc")
        if self.nc is not None and not (isinstance(self.nc, int) and not isinstance(self.nc, bool) and self.nc >= 1):
            raise self.error(fields["nc"][1], "'nc' must be a positive integer (the class count)", "nc", found=clip(repr(self.nc)))
        self.reg_max = top.get("reg_max", 16)
        self.end2end = top.get("end2end")
        self.kpt_shape = top.get("kpt_shape", [17, 3])
        scale, depth, width, max_channels = self.multiples(fields, top)
        self.scale, self.depth, self.width, self.max_channels = scale, depth, width, max_channels
        activation = top.get("activation")
        act = "SiLU" if activation is None else self.activation(fields["activation"][1], activation)
        rows: list[tuple[str, int, yaml.Node]] = []
        for section in ("backbone", "head"):
            value = fields[section][1]
            if not isinstance(value, yaml.SequenceNode):
                raise self.error(value, f"'{section}' must be a list of rows [from, repeats, module, args]", section, found=type_name(value))
            rows += [(section, j, item) for j, item in enumerate(value.value)]
        if not rows:
            raise self.error(node, "the model has no rows", expected="backbone: [[from, repeats, module, args], ...]")
        self.legacy = True
        self.channels: list[Any] = []
        self.task = "detect"
        for i, (section, j, item) in enumerate(rows):
            self.row(i, section, j, item)
        spec = self.spec(default_name, act)
        return spec

    def multiples(self, fields: dict[str, tuple[yaml.Node, yaml.Node]], top: dict[str, Any]) -> tuple[str, float, float, float]:
        scales = fields.get("scales")
        chosen = self.scale_option or ""
        if scales is None:
            if self.scale_option:
                raise UsageError(f"--scale {self.scale_option}: the model file has no 'scales:'", found=f"{self.source} without scales")
            depth, width = top.get("depth_multiple", 1.0), top.get("width_multiple", 1.0)
            for name, value in (("depth_multiple", depth), ("width_multiple", width)):
                if not _num(value) or value <= 0:
                    raise self.error(fields[name][1], f"'{name}' must be a positive number", name, found=clip(repr(value)))
            return "", float(depth), float(width), math.inf
        table = scales[1]
        if not isinstance(table, yaml.MappingNode) or not table.value:
            raise self.error(table, "'scales' must map each scale to [depth, width, max_channels]", "scales", found=type_name(table))
        by_name = {str(k.value): v for k, v in table.value}
        if not chosen:
            chosen = guess_scale(self.source) if self.source not in ("-", "<stdin>") else ""
        if not chosen:
            chosen = next(iter(by_name))  # parse_model: "no model scale passed. Assuming scale='n'."
        if chosen not in by_name:
            raise UsageError(
                f"no scale {quoted(chosen)} in the model file's 'scales:'",
                expected="one of " + ", ".join(by_name),
                found=quoted(chosen),
                hint="choose one with --scale",
            )
        triple = _value(by_name[chosen], self.source)
        if not (isinstance(triple, list) and len(triple) == 3 and all(_num(v) and v > 0 for v in triple)):
            raise self.error(by_name[chosen], f"scale {quoted(chosen)} must be [depth, width, max_channels]", f"scales.{chosen}", found=clip(repr(triple)))
        return chosen, float(triple[0]), float(triple[1]), triple[2]

    def activation(self, node: yaml.Node, text: Any) -> str:
        """`activation: nn.ReLU()` (parse_model's Conv.default_act) as a layer type."""
        from cnncalc.layers import lookup

        found = re.fullmatch(r"\s*(?:torch\.)?(?:nn\.)?([A-Za-z][A-Za-z0-9]*)\(\s*(?:inplace\s*=\s*True\s*)?\)\s*", str(text))
        if not found or lookup(found.group(1)) is None or lookup(found.group(1)).family != "activation":  # type: ignore[union-attr]
            raise self.error(node, "unsupported 'activation'", "activation", expected="an activation module such as nn.ReLU() or nn.SiLU()", found=clip(str(text)))
        return found.group(1)

    # -- rows

    def resolve(self, arg: Any) -> Any:
        """A row's argument as parse_model reads a string: a name of its own (nc, ...), a Python
        literal, else (cnncalc) a free symbol or a word (mode names)."""
        if isinstance(arg, list):
            return [self.resolve(a) for a in arg]
        if not isinstance(arg, str) or isinstance(arg, Sym):
            return arg
        names = {"nc": self.nc, "reg_max": self.reg_max, "kpt_shape": self.kpt_shape, "end2end": self.end2end,
                 "depth": self.depth, "width": self.width, "max_channels": self.max_channels, "scale": self.scale}
        text = arg.strip()
        if text in names:
            return names[text]
        literal = {"None": None, "True": True, "False": False}
        if text in literal:
            return literal[text]
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            pass
        if text.isidentifier() and text not in ("nearest", "bilinear", "bicubic", "linear", "trilinear", "nearest-exact"):
            return Sym(text)
        return text

    def row(self, i: int, section: str, j: int, item: yaml.Node) -> None:
        path = f"{section}[{j}]"
        if not isinstance(item, yaml.SequenceNode) or len(item.value) != 4:
            raise self.error(item, "a row must be [from, repeats, module, args]", path, found=type_name(item) if not isinstance(item, yaml.SequenceNode) else f"a list of {len(item.value)}")
        f_node, n_node, m_node, a_node = item.value
        f = _value(f_node, self.source)
        froms = f if isinstance(f, list) else [f]
        if not froms or not all(isinstance(x, int) and not isinstance(x, bool) for x in froms):
            raise self.error(f_node, "'from' must be a layer index or a list of them", path, expected="-1, 6 or [-1, 6]", found=clip(repr(f)))
        sources: list[int] = []
        for x in froms:
            index = x + i if x < 0 else x
            if not 0 <= index < i and not (i == 0 and x == -1):
                raise self.error(f_node, f"'from' names row {x}, which is not above row {i}", path, expected=f"-1 or an index from 0 to {i - 1}", found=str(x))
            sources.append(index)
        n = _value(n_node, self.source)
        if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
            raise self.error(n_node, "the repeat count must be a positive integer", path, found=clip(repr(n)))
        if n > self.limits.max_repeat:
            raise self.error(n_node, "repeat count too large", path, expected=f"at most {self.limits.max_repeat} (raise it with --max-repeat)", found=str(n))
        module = m_node.value if isinstance(m_node, yaml.ScalarNode) else None
        if module not in SUPPORTED:
            known = module in KNOWN_ELSEWHERE or (isinstance(module, str) and module.startswith(("nn.", "torchvision.")))
            from cnncalc.spec.checks import did_you_mean

            raise self.error(
                m_node,
                f"row {i}: the module {quoted(str(module))} is not supported" + (" by cnncalc yet" if known else ""),
                path,
                expected="one of " + ", ".join(SUPPORTED),
                found=quoted(clip(str(module))),
                hint=did_you_mean(str(module), list(SUPPORTED)) if not known else None,
            )
        args_value = _value(a_node, self.source) if not (isinstance(a_node, yaml.ScalarNode) and a_node.tag == NULL) else []
        if not isinstance(args_value, list):
            raise self.error(a_node, "a row's args must be a list", path, found=type_name(a_node))
        args = [self.resolve(a) for a in args_value]
        n = n_ = max(round(n * self.depth), 1) if n > 1 else n  # parse_model's depth gain (round: halves to even)
        names = ["input" if s < 0 else str(s) for s in sources]
        where = (path, a_node)
        try:
            if module in BASE:
                c2 = self.base(i, module, args, froms, sources, n, names, where)
                printed_n = n_
            elif module in HEADS:
                c2 = self.head(i, module, args, sources, names, where)
                printed_n = n_
            elif module == "Concat":
                dim = args[0] if args else 1
                c2 = self.sum_channels([self.channel(s) for s in sources])
                self.printed_args = args
                self.add(_Entry("Concat", {"dim": dim}, str(i), tuple(names), 1, i, path))
                printed_n = n_
            else:  # nn.Upsample(size=None, scale_factor=None, mode='nearest')
                keys = ("size", "scale_factor", "mode", "align_corners")
                given = {k: v for k, v in zip(keys, args) if v is not None}
                c2 = self.channel(sources[0])
                self.printed_args = args
                self.add(_Entry("Upsample", given, str(i), (names[0],), n, i, path))
                printed_n = n_
        except SpecError as exc:
            raise exc.located(self.pos(a_node), path) from None
        self.rows.append(YoloRow(i, _printed(f), printed_n, BASE.get(module) or HEADS.get(module) or OTHER[module], _printed(self.printed_args), self.pos(item)))
        self.channels.append(c2)

    def channel(self, index: int) -> Any:
        return 3 if index < 0 or not self.channels else self.channels[index]

    @staticmethod
    def sum_channels(values: list[Any]) -> Any:
        if all(_num(v) for v in values):
            return sum(values)
        return Sym(" + ".join(_text(v) for v in values))

    def add(self, entry: _Entry) -> None:
        self.entries.append(entry)

    def scaled(self, c2: Any) -> Any:
        """make_divisible(min(c2, max_channels) * width, 8)."""
        if _num(c2):
            return _make_divisible(min(c2, self.max_channels) * self.width, 8)
        capped = f"min({c2}, {_exact(self.max_channels)})" if self.max_channels != math.inf else f"({c2})"
        return _make_divisible(f"{capped} * {_exact(self.width)}", 8)

    def base(self, i: int, module: str, args: list[Any], froms: list[int], sources: list[int], n: int, names: list[str], where: tuple[str, yaml.Node]) -> Any:
        path, node = where
        if len(sources) != 1:
            raise SpecError(f"{module} takes one input", position=self.pos(node), path=path, found=f"from {froms}")
        if not args:
            raise SpecError(f"{module} needs its output channels as the first argument", position=self.pos(node), path=path)
        c1 = self.channel(sources[0])
        c2 = args[0]
        if not (_num(c2) or isinstance(c2, Sym)):
            raise SpecError(f"{module}'s output channels must be a number", position=self.pos(node), path=path, found=clip(repr(c2)))
        if module != "Classify":
            c2 = self.scaled(c2)
        full = [c1, c2, *args[1:]]
        repeat = n
        if module in REPEAT_MODULES:
            full.insert(2, n)
            repeat = 1
        if module == "C3k2":
            self.legacy = False
            if self.scale in ("m", "l", "x"):
                full[3:4] = [True]
        self.printed_args = full
        kind, call = self.template(module, full, where)
        self.add(_Entry(kind, call, str(i), (names[0],), repeat, i, path))
        if module in ("C2PSA", "C2fPSA"):
            self.train_refused.append((str(i), "MatMul", ATTENTION_SCALE))
        if module == "Classify":
            self.task = "classify"
            self.inference_only.append(f"{i}.5")  # the library's Classify: its sixth layer, the softmax
        return c2

    def template(self, module: str, a: list[Any], where: tuple[str, yaml.Node]) -> tuple[str, dict[str, Any]]:
        """The library template and its arguments for a base module's full argument list
        (c1, c2, *rest as the module's __init__ takes them)."""
        path, node = where

        def get(index: int, default: Any) -> Any:
            return a[index] if len(a) > index else default

        def act(value: Any) -> str:
            if value is True:
                return "default_act"
            if value is False or value is None:
                return "Identity"
            raise SpecError("only act=True or False is supported in a row", position=self.pos(node), path=path, found=clip(repr(value)))

        def pad(value: Any) -> Any:
            return -1 if value is None else value

        c2 = a[1]
        if module == "Conv":
            return "Conv", {"c2": c2, "k": get(2, 1), "s": get(3, 1), "p": pad(get(4, None)), "g": get(5, 1), "d": get(6, 1), "act": act(get(7, True))}
        if module == "DWConv":
            c1 = a[0]
            g = math.gcd(c1, c2) if isinstance(c1, int) and isinstance(c2, int) else 0
            if g == 0 and c1 != c2:
                raise SpecError("DWConv with symbolic channels needs c1 = c2 (its groups are gcd(c1, c2))", position=self.pos(node), path=path)
            return "DWConv", {"c2": c2, "k": get(2, 1), "s": get(3, 1), "d": get(4, 1), "act": act(get(5, True)), "g": g}
        if module == "GhostConv":
            return "GhostConv", {"c2": c2, "k": get(2, 1), "s": get(3, 1), "g": get(4, 1), "act": act(get(5, True))}
        if module == "Bottleneck":
            k = get(4, (3, 3))
            return "Bottleneck", {"c2": c2, "shortcut": get(2, True), "g": get(3, 1), "k1": k[0], "k2": k[1], "e": get(5, 0.5)}
        if module == "C2f":
            return "C2f", {"c2": c2, "n": a[2], "shortcut": get(3, False), "g": get(4, 1), "e": get(5, 0.5), "unit": "GrowBottleneck", "be": 1.0}
        if module == "C3":
            return "C3", {"c2": c2, "n": a[2], "shortcut": get(3, True), "g": get(4, 1), "e": get(5, 0.5)}
        if module == "C3k2":
            if get(5, False):
                raise SpecError("C3k2 with attn=True is not supported", position=self.pos(node), path=path)
            c3k = bool(get(3, False))
            return "C2f", {
                "c2": c2, "n": a[2], "shortcut": get(7, True), "g": get(6, 1), "e": get(4, 0.5), "unit": "GrowC3k" if c3k else "GrowBottleneck", "be": 0.5,
            }
        if module in ("C2PSA", "C2fPSA"):
            if _num(a[0]) and _num(c2) and a[0] != c2:
                raise SpecError(f"{module} needs c1 = c2 (Ultralytics asserts it): {a[0]} and {c2}", position=self.pos(node), path=path)
            if module == "C2fPSA":
                return "C2f", {"c2": c2, "n": a[2], "e": get(3, 0.5), "unit": "GrowPSA", "be": 1.0}
            return "C2PSA", {"c2": c2, "n": a[2], "e": get(3, 0.5)}
        if module == "C1":
            return "C1", {"c2": c2, "n": a[2]}
        if module in ("C2", "BottleneckCSP"):
            return module, {"c2": c2, "n": a[2], "shortcut": get(3, True), "g": get(4, 1), "e": get(5, 0.5)}
        if module == "C3Ghost":
            return "C3Ghost", {"c2": c2, "n": a[2], "e": get(5, 0.5)}
        if module == "GhostBottleneck":
            return "GhostBottleneck", {"c2": c2, "k": get(2, 3), "s": get(3, 1)}
        if module == "SCDown":
            if len(a) < 4:
                raise SpecError("SCDown needs its kernel size and stride: [c2, k, s]", position=self.pos(node), path=path)
            return "SCDown", {"c2": c2, "k": a[2], "s": a[3]}
        if module in ("ADown", "AConv"):
            return module, {"c2": c2}
        if module == "ConvTranspose":
            return "ConvTranspose", {"c2": c2, "k": get(2, 2), "s": get(3, 2), "p": get(4, 0), "bn": get(5, True), "act": act(get(6, True))}
        if module == "Focus":
            return "Focus", {"c2": c2, "k": get(2, 1), "s": get(3, 1), "p": pad(get(4, None)), "g": get(5, 1), "act": act(get(6, True))}
        if module == "nn.ConvTranspose2d":
            names = ("kernel_size", "stride", "padding", "output_padding", "groups", "bias", "dilation")
            return "ConvTranspose2d", {"out_channels": c2, **dict(zip(names, a[2:]))}
        if module == "SPPF":
            return "SPPF", {"c2": c2, "k": get(2, 5), "n": get(3, 3), "shortcut": get(4, False), "act1": "default_act" if len(a) <= 3 else "Identity"}
        if module == "SPP":
            k = get(2, (5, 9, 13))
            if not isinstance(k, (list, tuple)) or len(k) != 3:
                raise SpecError("SPP is supported with three pool sizes", position=self.pos(node), path=path, found=clip(repr(k)))
            return "SPP", {"c2": c2, "k1": k[0], "k2": k[1], "k3": k[2]}
        # Classify(c1, c2, k=1, s=1, p=None, g=1)
        return "Classify", {"c2": c2, "k": get(2, 1), "s": get(3, 1), "p": pad(get(4, None)), "g": get(5, 1)}

    def head(self, i: int, module: str, args: list[Any], sources: list[int], names: list[str], where: tuple[str, yaml.Node]) -> Any:
        """Detect, Segment or Pose: the levels' branches, then the inference path (boxes through
        DFL, class scores through a sigmoid, concatenated over the levels' anchors)."""
        path, node = where
        if self.end2end:
            raise SpecError("end2end heads (one-to-one branches) are not supported", position=self.pos(node), path=path)
        nc = args[0] if args else 80
        reg_max = self.reg_max
        if not (isinstance(reg_max, int) and reg_max >= 1):
            raise SpecError("'reg_max' must be a positive integer", position=self.pos(node), path=path, found=clip(repr(reg_max)))
        extra: list[Any] = []
        if module == "Segment":
            nm = args[1] if len(args) > 1 else 32
            npr = self.scaled(args[2] if len(args) > 2 else 256)
            extra = [nm, npr]
            self.task = "segment"
        elif module == "Pose":
            kpt = args[1] if len(args) > 1 else [17, 3]
            extra = [kpt]
            self.task = "pose"
        chs = [self.channel(s) for s in sources]
        self.printed_args = [nc, *extra, reg_max, self.end2end, chs]
        ch0 = chs[0]
        if not all(_num(c) for c in chs) or not _num(nc):
            raise SpecError(f"{module} needs numeric channels and class count", position=self.pos(node), path=path)
        box, cls = max(16, ch0 // 4, reg_max * 4), max(ch0, min(nc, 100))
        x = str(i)
        for level, name in enumerate(names):
            self.add(_Entry("DetectBranch", {"c": box, "out": 4 * reg_max}, f"{x}.cv2.{level}", (name,), 1, i, f"{path}.cv2.{level}"))
        for level, name in enumerate(names):
            kind = "DetectBranch" if self.legacy else "DetectClsBranch"
            self.add(_Entry(kind, {"c": cls, "out": nc}, f"{x}.cv3.{level}", (name,), 1, i, f"{path}.cv3.{level}"))
        parts: list[tuple[str, str]] = [("cv2", "boxes"), ("cv3", "scores")]
        if module in ("Segment", "Pose"):
            width = extra[0] if module == "Segment" else extra[0][0] * extra[0][1]
            c4 = max(ch0 // 4, width)
            for level, name in enumerate(names):
                self.add(_Entry("DetectBranch", {"c": c4, "out": width}, f"{x}.cv4.{level}", (name,), 1, i, f"{path}.cv4.{level}"))
            parts.append(("cv4", "mask_coefficient" if module == "Segment" else "kpts"))
        for branch, joined in parts:
            for level in range(len(names)):
                self.add(_Entry("Flatten", {"start_dim": 2}, f"{x}.{joined}.{level}", (f"{x}.{branch}.{level}",), 1, i, f"{path}.{joined}.{level}"))
            self.add(_Entry("Concat", {"dim": 2}, f"{x}.{joined}", tuple(f"{x}.{joined}.{level}" for level in range(len(names))), 1, i, f"{path}.{joined}"))
        if reg_max > 1:
            self.add(_Entry("DFL", {"c1": reg_max}, f"{x}.dfl", (f"{x}.boxes",), 1, i, f"{path}.dfl"))
        self.add(_Entry("Sigmoid", {}, f"{x}.sigmoid", (f"{x}.scores",), 1, i, f"{path}.sigmoid"))
        outputs = [f"{x}.dfl" if reg_max > 1 else f"{x}.boxes", f"{x}.sigmoid"] + ([f"{x}.{parts[2][1]}"] if len(parts) > 2 else [])
        self.inference_only += [f"{x}.dfl", f"{x}.sigmoid", x]
        if module == "Segment":
            self.add(_Entry("Proto", {"c_": extra[1], "c2": extra[0]}, f"{x}.proto", (names[0],), 1, i, f"{path}.proto"))
        self.add(_Entry("Concat", {"dim": 1}, x, tuple(outputs), 1, i, path))
        return ch0

    # -- the spec

    def spec(self, default_name: str, act: str) -> Spec:
        from cnncalc.spec import expr
        from cnncalc.spec.nodes import compose
        from cnncalc.spec.reader import Reader

        text = library_text()
        lines = [text.rstrip("\n"), "layers:"]
        first_line = text.count("\n") + 2  # the generated entries' first line
        previous = "input"
        for entry in self.entries:
            body: dict[str, Any] = {entry.kind: {k: _json(v) for k, v in entry.args.items()}, "name": entry.name}
            if entry.sources != (previous,):
                body["from"] = list(entry.sources) if len(entry.sources) > 1 else entry.sources[0]
            previous = entry.name
            if entry.repeat != 1:
                body["repeat"] = entry.repeat
            lines.append("  - " + json.dumps(body))
        library = Reader(LIBRARY, self.limits)
        try:
            spec = library.spec(compose("\n".join(lines) + "\n", LIBRARY, self.limits), "library")
        except CnncalcError as exc:
            position = exc.position
            if position is not None and position.line >= first_line:
                entry = self.entries[position.line - first_line]
                row = self.rows[entry.row]
                exc.position = row.position
                exc.path = entry.path
            raise
        assert spec.layers is not None
        placed = []
        for call, entry in zip(spec.layers, self.entries):
            row = self.rows[entry.row]
            placed.append(
                call._replace(position=row.position, path=entry.path, args=tuple((name, Arg(a.raw, row.position)) for name, a in call.args))
            )
        variables = tuple((name, Arg(expr.parse(act), arg.position)) if name == "default_act" else (name, arg) for name, arg in spec.vars)
        info = YoloInfo(self.scale, self.depth, self.width, self.max_channels, self.nc, self.imgsz, tuple(self.rows), self.task, tuple(self.inference_only), tuple(self.train_refused))
        name = default_name
        if self.scale and not guess_scale(default_name):
            name = re.sub(r"(\d+)((?:-[a-z0-9]+)*)$", rf"\g<1>{self.scale}\2", default_name, count=1)
            if name == default_name:
                name = f"{default_name} ({self.scale})"
        inputs = (Arg(3, self.rows[0].position), Arg(self.imgsz, self.rows[0].position), Arg(self.imgsz, self.rows[0].position))
        return spec._replace(name=name, source=self.source, input=inputs, vars=variables, layers=tuple(placed), ultralytics=info)


def _json(value: Any) -> Any:
    """A template argument for the generated entries: symbols as their expression text, tuples as lists."""
    if isinstance(value, (tuple, list)):
        return [_json(v) for v in value]
    return str(value) if isinstance(value, Sym) else value


def read_model(node: yaml.MappingNode, source: str, default_name: str, limits: Limits, scale: str | None, imgsz: int | None) -> Spec:
    """An Ultralytics model file's composed YAML as a spec (see the module's docstring)."""
    return ModelReader(source, limits, scale, imgsz).read(node, default_name)


def check_options(scale: str | None, imgsz: int | None, source: str) -> None:
    """--scale and --imgsz apply to Ultralytics model files only."""
    given = [f"--scale {scale}"] if scale else []
    given += [f"--imgsz {imgsz}"] if imgsz is not None else []
    if given:
        raise UsageError(
            f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} to Ultralytics model files (backbone:/head: rows) only",
            found=f"{source}: a cnncalc spec",
            hint="give the spec's input with --input C,H,W",
        )


__all__ = ["DEFAULT_IMGSZ", "LIBRARY", "YoloInfo", "YoloRow", "check_options", "guess_scale", "is_model_yaml", "read_model", "unified_path"]
