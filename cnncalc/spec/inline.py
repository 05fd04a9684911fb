"""Inline layer calls: PyTorch constructor calls such as `nn.Conv2d(3, 64, 7, stride=2)`.

They come from the command line (`--input SHAPE LAYER...`) and from a spec's layer list written
as a call. Python's parser reads the text (nothing is executed); literals stay literals, a quoted
string is a word the layer takes as it is, and anything else must pass the expression whitelist.
"""

from __future__ import annotations

import ast
from collections.abc import Container

from cnncalc.errors import LimitError, Position, SpecError, quoted
from cnncalc.layers import KINDS, Param, lookup
from cnncalc.spec import expr
from cnncalc.spec.checks import call_refs, check_call_args, did_you_mean, expression, ref_arg, takes_text
from cnncalc.spec.model import META_KEYS, Arg, LayerCall, Value


def inline_calls(texts: list[str]) -> tuple[LayerCall, ...]:
    """Layer calls given on the command line (`--input SHAPE LAYER...`), parsed and checked as a spec's are."""
    calls = tuple(call_from_text(text, Position(f"<layer {i + 1}>", 1, 1), f"layer[{i}]") for i, text in enumerate(texts))
    for call in calls:
        kind = lookup(call.kind)
        assert kind is not None  # call_from_text knows no blocks here
        if kind.inputs > 1:
            raise SpecError(
                f"{call.kind} needs several inputs and cannot be used inline",
                position=call.position,
                path=f"{call.path} ({call.kind})",
                expected="a layer with one input",
                hint="write a spec file with 'from:' to merge branches",
            )
        check_call_args(call, {})
        if call.refs:
            ref = min(call.refs)
            raise SpecError(
                f"{quoted(ref)}: layers given on the command line cannot read a node's shape",
                position=ref_arg(call, ref).position,
                path=f"{call.path} ({call.kind})",
                expected="numbers, names and expressions over them",
                hint="write a spec file (node shapes such as input.spatial work in its layer lists)",
            )
    return calls


def call_from_text(text: str, position: Position, path: str, block_names: Container[str] = frozenset()) -> LayerCall:
    """A PyTorch constructor call such as `nn.Conv2d(3, 64, 7, stride=2)`, parsed safely."""
    if len(text) > expr.MAX_EXPRESSION_LENGTH:
        raise LimitError("layer call too long", position=position, expected=f"at most {expr.MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise SpecError(f"invalid layer call {quoted(text)}: {exc.msg}", position=position, path=path) from None
    except (RecursionError, MemoryError, ValueError):
        raise LimitError("layer call too deeply nested", position=position, path=path) from None
    if not isinstance(tree, ast.Call):
        raise SpecError(
            f"not a layer call: {quoted(text)}",
            position=position,
            path=path,
            expected="a PyTorch constructor call like Conv2d(3, 64, kernel_size=3)",
        )
    func = tree.func
    dotted: list[str] = []
    while isinstance(func, ast.Attribute):
        dotted.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        raise SpecError(f"not a layer name in {quoted(text)}", position=position, path=path)
    dotted.append(func.id)
    dotted.reverse()
    if dotted[:-1] not in ([], ["nn"], ["torch", "nn"]):
        raise SpecError(
            f"{quoted('.'.join(dotted))} is not a layer name",
            position=position,
            path=path,
            expected="Name(...), nn.Name(...) or torch.nn.Name(...)",
        )
    kind_name = dotted[-1]
    is_block = kind_name in block_names
    kind = lookup(kind_name)
    if kind is None and not is_block:
        raise SpecError(
            f"unknown layer type {quoted(kind_name)}",
            position=position,
            path=path,
            expected="a PyTorch layer name",
            found=quoted(kind_name),
            hint=did_you_mean(kind_name, list(KINDS)),
        )
    for node in tree.args:
        if isinstance(node, ast.Starred):
            raise SpecError("starred arguments are not allowed", position=position, path=path)
    if kind is not None and kind.ignores_args:
        # nn.Identity(*args, **kwargs) takes anything and ignores it; keep only cnncalc's meta keys.
        tree.args = []
        tree.keywords = [k for k in tree.keywords if k.arg in META_KEYS]
    params = {p.name: p for p in kind.params} if kind is not None else {}
    names = [p.name for p in kind.params if not p.keyword] if kind is not None else []
    if len(tree.args) > len(names) and not is_block:
        raise SpecError(
            f"{kind_name} takes at most {len(names)} positional arguments",
            position=position,
            path=path,
            expected=f"{kind_name}({', '.join(names)})",
            found=f"{len(tree.args)} positional arguments",
        )
    if is_block and tree.args:
        raise SpecError("block calls take keyword arguments only", position=position, path=path)
    where = f"{path} ({kind_name})"
    pairs: list[tuple[str, Arg]] = []
    for name, node in zip(names, tree.args):
        pairs.append((name, _arg_from_ast(node, text, position, where, params.get(name))))
    for keyword in tree.keywords:
        if keyword.arg is None:
            raise SpecError("** arguments are not allowed", position=position, path=path)
        if any(keyword.arg == n for n, _ in pairs):
            raise SpecError(f"{kind_name} got multiple values for argument {quoted(keyword.arg)}", position=position, path=path)
        pairs.append((keyword.arg, _arg_from_ast(keyword.value, text, position, where, params.get(keyword.arg))))
    call_name: str | None = None
    sources: tuple[str, ...] = ()
    repeat: Arg | None = None
    args: list[tuple[str, Arg]] = []
    for key, arg in pairs:
        if key == "name" and isinstance(arg.raw, str):
            call_name = str(arg.raw)
        elif key == "from":
            values = arg.raw if isinstance(arg.raw, tuple) else (arg,)
            sources = tuple(str(v.raw) for v in values)
        elif key == "repeat":
            repeat = arg
        else:
            args.append((key, arg))
    return LayerCall(kind_name, tuple(args), call_name, sources, repeat, position, path, is_block, call_refs(args, repeat), False)


def _arg_from_ast(node: ast.expr, text: str, position: Position, path: str, param: Param | None) -> Arg:
    """An inline-call argument: literals stay literals, a quoted string is a word; anything else
    is checked as an expression now, so that errors point at the call, and kept parsed unless
    it is a word `param` takes as it is (`Upsample(mode=bilinear)`)."""
    # the column of this argument inside the call, so that errors point at it
    position = Position(position.file, position.line, position.column + node.col_offset)
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (int, float, str))):
        value = node.value
        if isinstance(value, int) and value.bit_length() > expr.MAX_RESULT_BITS:
            raise LimitError("integer too large", position=position, path=path, expected=f"a value below 2**{expr.MAX_RESULT_BITS}", found=f"about 2**{value.bit_length()}")
        return Arg(value, position)  # a quoted string is a keyword like 'same' or 'bilinear', never an expression
    if isinstance(node, (ast.Tuple, ast.List)):
        if isinstance(node.ctx, ast.Load) and any(isinstance(e, (ast.Tuple, ast.List)) for e in node.elts):
            raise SpecError("nested tuples are not allowed in an argument", position=position, path=path, expected="a flat tuple of values")
        return Arg(tuple(_arg_from_ast(e, text, position, path, param) for e in node.elts), position)
    segment = ast.get_source_segment(text.strip(), node) or ast.unparse(node)
    parsed = expression(segment, position, path)  # the whitelist check, whatever the parameter
    raw: Value = segment if takes_text(param, segment) else parsed
    return Arg(raw, position)
