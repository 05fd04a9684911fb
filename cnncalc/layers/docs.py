"""docs/layers.md, written from the registry: every layer kind with its family, signature,
parameter rule and cheap-op rule, as the family modules declare them.

`python tools/gen_layer_docs.py` writes the file; tests/test_docs_layers.py fails when it is
not current. Not imported by the command line.
"""

from __future__ import annotations

from cnncalc.layers import FAMILIES, KINDS, LayerKind
from cnncalc.layers.base import REQUIRED, Param

TITLE = "# Layer kinds"
INTRO = """\
Generated from cnncalc's layer registry (`cnncalc/layers/`, one module per family) by
`python tools/gen_layer_docs.py`; do not edit by hand (tests/test_docs_layers.py checks that
it is current).

The signature is PyTorch's, with its defaults; an argument marked † is inferred from the
incoming shape when omitted. Parameters count the learnable weights (C = channels, the input's
dim 1 for 2-D and 3-D norms); the cheap ops are the elementary operations `cnncalc cost` counts
apart from MACs, by kind (one MAC = one multiply-accumulate). "Saved for backward" is what
autograd keeps of the layer in a training forward pass, as `cnncalc cost --train` counts it
(measured with torch's saved_tensors_hooks; parameters are the weights line, not counted here;
N = batch; see docs/conventions.md, training memory).

Aliases: {aliases}.
"""


def _param(param: Param) -> str:
    mark = "†" if param.inferred else ""
    if param.default is REQUIRED or param.inferred:
        return param.name + mark
    return f"{param.name}={param.default!r}{mark}"


def signature(kind: LayerKind) -> str:
    """The kind's constructor call with PyTorch's defaults: `Conv2d(in_channels†, ..., bias=True)`."""
    if kind.ignores_args:
        return f"{kind.name}(*args, **kwargs)"
    parts: list[str] = []
    for param in kind.params:
        if param.keyword and "*" not in parts:
            parts.append("*")
        parts.append(_param(param))
    return f"{kind.name}({', '.join(parts)})"


def _row(kind: LayerKind) -> str:
    ops = f"{kind.op_kind}: {kind.ops_doc}" if kind.op_kind else "-"
    cells = (f"`{kind.name}`", kind.family, f"`{signature(kind)}`", kind.origin, kind.params_doc, kind.macs_doc, ops, kind.saves_doc or "not modelled")
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown() -> str:
    """The whole of docs/layers.md."""
    from cnncalc.layers import ALIASES

    aliases = ", ".join(f"`{alias}` = `{name}`" for alias, name in ALIASES.items())
    lines = [TITLE, "", INTRO.format(aliases=aliases)]
    lines += [
        "| kind | family | signature | from | parameters | MACs | cheap ops | saved for backward |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for family in FAMILIES:
        lines += [_row(kind) for kind in KINDS.values() if kind.family == family.FAMILY]
    return "\n".join(lines) + "\n"
