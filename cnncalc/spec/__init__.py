"""Spec loading: YAML text -> a validated `Spec` of layer calls and block templates.

One job a module:

- `nodes`: YAML text -> composed nodes with their places, under resource guards;
- `model`: the spec model (`Spec`, `Block`, `LayerCall`, `Arg`, `Limits`);
- `reader`: composed nodes -> the model, checking the structure;
- `checks`: argument names, inputs and block cycles checked; text arguments parsed;
- `inline`: PyTorch constructor calls (`Conv2d(3, 64, 7)`) -> layer calls;
- `expr`: the whitelist expression parser;
- `zoo`: loading from text, a file, standard input or a shipped model's name.
"""

from cnncalc.errors import CnncalcError, LimitError, Position, SpecError
from cnncalc.spec.checks import did_you_mean
from cnncalc.spec.expr import Expr
from cnncalc.spec.inline import call_from_text, inline_calls
from cnncalc.spec.model import INPUT_NAME, META_KEYS, Arg, Block, LayerCall, Limits, Spec
from cnncalc.spec.nodes import MAX_YAML_DEPTH, compose
from cnncalc.spec.zoo import decode, load_path, load_text

__all__ = [
    "INPUT_NAME",
    "MAX_YAML_DEPTH",
    "META_KEYS",
    "Arg",
    "Block",
    "CnncalcError",
    "Expr",
    "LayerCall",
    "LimitError",
    "Limits",
    "Position",
    "Spec",
    "SpecError",
    "call_from_text",
    "compose",
    "decode",
    "did_you_mean",
    "inline_calls",
    "load_path",
    "load_text",
]
