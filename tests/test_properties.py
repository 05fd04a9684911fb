"""Property-based tests: random valid stacks are computed right; random broken input never crashes.

Profiles (tests/conftest.py): "ci" is the default (about 200 examples over these tests);
HYPOTHESIS_PROFILE=thorough runs over 10,000. Everything runs in-process through CliRunner.

- Valid sequential stacks of Conv2d / pooling / BatchNorm / activations / Flatten / Linear,
  with sizes drawn so that PyTorch accepts them: exit 0, every layer's output shape and
  parameter count equal the ones computed here from PyTorch's formulas, and the rows add up
  to the total.
- Mutated specs (deleted keys, swapped types, random strings and numbers, truncated or
  garbled bytes) and random inline calls / --set values: exit 0, 1 or 2, never an uncaught
  exception, and every exit 2 names a file:line:column.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.cli import main

from .conftest import CONFIGS

POSITIONED = re.compile(r"^Error: (<stdin>|<layer \d+>):\d+:\d+: ")
ACTIVATIONS = ["ReLU", "ReLU6", "GELU", "SiLU", "Tanh", "Sigmoid", "LeakyReLU", "ELU", "Hardswish", "Identity", "Dropout"]
RUNNER = CliRunner()


def _invoke(args: list[str], stdin: str | bytes | None = None) -> Any:
    result = RUNNER.invoke(main, args, input=stdin)
    # an uncaught exception would surface here as something other than SystemExit
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def _check_outcome(result: Any) -> None:
    stderr = result.stderr
    assert result.exit_code in (0, 1, 2), (result.exit_code, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    if result.exit_code == 2:
        error = re.sub(r"^(Warning: .*\n)+", "", stderr)  # a --set the calls never read is warned about first
        assert POSITIONED.match(error) or error.startswith("Usage:"), stderr


# ----------------------------------------------------------------------------- valid stacks


def _conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _pool_out(size: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    if not ceil_mode:
        return (size + 2 * p - k) // s + 1
    out = -(-(size + 2 * p - k) // s) + 1
    if (out - 1) * s >= size + p:  # PyTorch drops a last window that starts in the right padding
        out -= 1
    return out


def _number(draw: Any, value: int, names: dict[str, int]) -> str:
    """An int argument written as a literal, an expression, or a variable."""
    form = draw(st.sampled_from(["literal", "literal", "expression", "variable"]))
    if form == "expression":
        return draw(st.sampled_from([f"{value}*1", f"({value})", f"{value + 1}-1", f"2*{value}//2", f'"max({value}, {max(value - 1, 0)})"']))
    if form == "variable":
        name = f"v{len(names)}"
        names[name] = value
        return name
    return str(value)


@st.composite
def stacks(draw: Any) -> tuple[str, list[tuple[list[int], int]]]:
    """A valid spec and, per row, the output shape and parameter count PyTorch would give."""
    c, h, w = draw(st.integers(1, 12)), draw(st.integers(1, 40)), draw(st.integers(1, 40))
    shape: list[int] = [c, h, w]
    names: dict[str, int] = {}
    lines: list[str] = []
    expected: list[tuple[list[int], int]] = []
    for _ in range(draw(st.integers(1, 12))):
        flat = len(shape) == 1
        kinds = ["Linear", "BatchNorm1d", "activation"] if flat else ["Conv2d", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm2d", "Adaptive", "activation", "Flatten"]
        kind = draw(st.sampled_from(kinds))
        if kind == "Conv2d":
            cin, hh, ww = shape
            groups = draw(st.sampled_from([g for g in range(1, cin + 1) if cin % g == 0]))
            out = groups * draw(st.integers(1, max(1, 16 // groups)))
            p, d, s = draw(st.integers(0, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
            k_max = min(7, (min(hh, ww) + 2 * p - 1) // d + 1)
            k = draw(st.integers(1, k_max))
            bias = draw(st.booleans())
            same = s == 1 and draw(st.integers(0, 5)) == 0
            args = [f"out_channels: {_number(draw, out, names)}", f"kernel_size: {_number(draw, k, names)}"]
            args += [f"stride: {s}", f"dilation: {d}", f"groups: {groups}", f"bias: {str(bias).lower()}"]
            args.append("padding: same" if same else f"padding: {_number(draw, p, names)}")
            if draw(st.booleans()):
                args.append(f"in_channels: {cin}")
            shape = [out, hh, ww] if same else [out, _conv_out(hh, k, s, p, d), _conv_out(ww, k, s, p, d)]
            expected.append((shape, out * (cin // groups) * k * k + (out if bias else 0)))
            lines.append(f"  - Conv2d: {{{', '.join(draw(st.permutations(args)))}}}")
        elif kind in ("MaxPool2d", "AvgPool2d"):
            cin, hh, ww = shape
            k = draw(st.integers(1, min(4, hh, ww)))
            p = draw(st.integers(0, k // 2))
            s = draw(st.one_of(st.none(), st.integers(1, 3)))
            ceil_mode = draw(st.booleans())
            stride = k if s is None else s
            args = [f"kernel_size: {k}", f"padding: {p}", f"ceil_mode: {str(ceil_mode).lower()}"] + ([] if s is None else [f"stride: {s}"])
            shape = [cin, _pool_out(hh, k, stride, p, ceil_mode), _pool_out(ww, k, stride, p, ceil_mode)]
            expected.append((shape, 0))
            lines.append(f"  - {kind}: {{{', '.join(args)}}}")
        elif kind == "Adaptive":
            size = draw(st.integers(1, 4))
            shape = [shape[0], size, size]
            expected.append((shape, 0))
            lines.append(f"  - AdaptiveAvgPool2d: {{output_size: {size}}}")
        elif kind in ("BatchNorm2d", "BatchNorm1d"):
            expected.append((list(shape), 2 * shape[0]))
            lines.append(draw(st.sampled_from([f"  - {kind}", f"  - {kind}: {{}}", f"  - {kind}: {{num_features: {shape[0]}}}"])))
        elif kind == "Flatten":
            shape = [math.prod(shape)]
            expected.append((shape, 0))
            lines.append(draw(st.sampled_from(["  - Flatten", "  - Flatten: null", "  - Flatten: {start_dim: 1}"])))
        elif kind == "Linear":
            out = draw(st.integers(1, 64))
            bias = draw(st.booleans())
            expected.append(([out], shape[0] * out + (out if bias else 0)))
            lines.append(f"  - Linear: {{out_features: {_number(draw, out, names)}, bias: {str(bias).lower()}}}")
            shape = [out]
        else:
            name = draw(st.sampled_from(ACTIVATIONS))
            repeat = draw(st.integers(1, 3))
            expected.extend([(list(shape), 0)] * repeat)
            lines.append(f"  - {name}: {{repeat: {repeat}}}" if repeat > 1 else draw(st.sampled_from([f"  - {name}", f"  - {name}: null"])))
    head = [f"input: [{c}, {h}, {w}]"]
    if names:
        head.append("vars: {" + ", ".join(f"{k}: {v}" for k, v in names.items()) + "}")
    return "\n".join(head + ["layers:"] + lines) + "\n", expected


@given(stacks())
def test_valid_stacks_add_up(case: tuple[str, list[tuple[list[int], int]]]) -> None:
    """Exit 0; each row's shape and params are PyTorch's; the rows add up to the total."""
    text, expected = case
    result = _invoke(["params", "-", "--format", "json"], text)
    assert result.exit_code == 0, (text, result.stderr)
    document = json.loads(result.stdout)
    rows = document["layers"]
    assert [(r["output"], r["params"]) for r in rows] == [(list(s), p) for s, p in expected], text
    assert sum(r["params"] for r in rows) == document["total"] == sum(p for _, p in expected)
    assert sum(r["bias_params"] for r in rows) == document["bias_params"]
    assert document["output"] == expected[-1][0]


# ----------------------------------------------------------------------------- mutated specs

CONFIG_TEXTS = [p.read_text() for p in sorted(CONFIGS.glob("*.yaml"))]

junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**30), 10**30),
        st.integers(-3, 70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
        st.sampled_from(["ReLU", "Conv2d", "same", "input", "k", "2*k", "from", "name", "repeat", "9**9**9", "__import__('os')", "[1, 2]", "1e999", "-1", "0"]),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["a", "out_channels", "kernel_size", "layers", "name", "from", "repeat", "args"]) | st.text(max_size=8), inner, max_size=4)),
    max_leaves=8,
)


def _slots(node: Any, found: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) in a loaded YAML document."""
    if isinstance(node, dict):
        for key in list(node):
            found.append((node, key))
            _slots(node[key], found)
    elif isinstance(node, list):
        for index in range(len(node)):
            found.append((node, index))
            _slots(node[index], found)
    return found


@st.composite
def mutated_documents(draw: Any) -> str:
    """A valid spec (generated or shipped), its loaded structure changed in one to three places."""
    base = draw(st.one_of(stacks().map(lambda case: case[0]), st.sampled_from(CONFIG_TEXTS)))
    document = yaml.safe_load(base)
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(document, [])
        if not slots:
            break
        container, key = slots[draw(st.integers(0, len(slots) - 1))]
        action = draw(st.sampled_from(["delete", "replace", "replace", "rename", "insert", "swap-type", "duplicate"]))
        if action == "delete":
            del container[key]
        elif action == "replace":
            container[key] = draw(junk)
        elif action == "rename" and isinstance(container, dict):
            new_key = draw(st.sampled_from(["Conv2D", "kernel_sise", "layer", "input", "from", "name", "repeat", "blocks", "args"]) | st.text(max_size=10))
            container[new_key] = container.pop(key)
        elif action == "insert":
            if isinstance(container, dict):
                container[draw(st.text(max_size=10))] = draw(junk)
            else:
                container.insert(key, draw(junk))
        elif action == "swap-type":
            value = container[key]
            container[key] = list(value.items()) if isinstance(value, dict) else {"x": value} if not isinstance(value, list) else dict(enumerate(value))
        elif action == "duplicate" and isinstance(container, list):
            container.insert(key, container[key])
    return yaml.safe_dump(document, default_flow_style=draw(st.sampled_from([None, True, False])), allow_unicode=draw(st.booleans()))


@given(mutated_documents(), st.sampled_from(["shape", "params"]))
def test_mutated_specs_never_crash(text: str, command: str) -> None:
    """Deleted keys, swapped types, random values: exit 0/1/2, never a traceback."""
    _check_outcome(_invoke([command, "-"], text))


GARBAGE = st.one_of(
    st.binary(max_size=12),
    st.sampled_from([b"\x00", b"\xff", b"\t", b"[", b"]", b"{", b"}", b"&a ", b"*a", b"!!python/name:os.system ", b"<<: ", b"---\n", b"- ", b": ", b"'", b'"', b"#", b"\n  ", b"%YAML 1.1\n", b"9**9**9", b"2001-01-01", b"0x_"]),
)


@st.composite
def garbled_bytes(draw: Any) -> bytes:
    """A valid spec's bytes truncated, cut, spliced with garbage, or with lines moved."""
    data = draw(st.one_of(stacks().map(lambda case: case[0]), st.sampled_from(CONFIG_TEXTS))).encode()
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["truncate", "cut", "insert", "insert", "swap-lines", "overwrite"]))
        if action == "truncate":
            data = data[:at]
        elif action == "cut":
            data = data[:at] + data[at + draw(st.integers(1, 20)):]
        elif action == "insert":
            data = data[:at] + draw(GARBAGE) + data[at:]
        elif action == "overwrite":
            data = data[:at] + draw(GARBAGE) + data[at + 1:]
        else:
            lines = data.split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
    return data


@given(garbled_bytes(), st.sampled_from(["shape", "params"]))
def test_garbled_files_never_crash(data: bytes, command: str) -> None:
    """Truncated files, stray bytes, broken UTF-8, moved lines: exit 0/1/2 with a position."""
    _check_outcome(_invoke([command, "-"], data))


LAYER_NAMES = st.sampled_from(["Conv2d", "nn.Conv2d", "MaxPool2d", "Linear", "BatchNorm2d", "ReLU", "Flatten", "Upsample", "Add", "AvgPool2d", "ConvTranspose2d", "Conv2D", "os.system", "x"])
ARG_TEXT = st.one_of(
    st.integers(-5, 40).map(str),
    st.sampled_from(["k", "2*k", "(3, 3)", "'same'", "True", "None", "9**9**9", "1/0", "__import__('os')", "[1, [2]]", "3.5", "-1", "10**5000", "x.y", "lambda: 1"]),
    st.text(max_size=6),
)


@given(
    st.lists(st.tuples(LAYER_NAMES, st.lists(st.tuples(st.sampled_from([None, "stride", "padding", "bias", "kernel_size", "out_features", "repeat", "groups", "foo"]), ARG_TEXT), max_size=4)), min_size=1, max_size=3),
    st.sampled_from(["3,16,16", "1,3,8,8", "16", "4x4x4x4x4"]),
    st.lists(st.tuples(st.sampled_from(["k", "w", "__x", ""]), ARG_TEXT), max_size=2),
)
def test_random_inline_calls_never_crash(calls: list[Any], shape: str, sets: list[tuple[str, str]]) -> None:
    """`cnncalc shape --input SHAPE CALL...` with random calls and --set values: exit 0/1/2."""
    texts = [f"{name}(" + ", ".join(a if key is None else f"{key}={a}" for key, a in args) + ")" for name, args in calls]
    options = [item for key, value in sets for item in ("--set", f"{key}={value}")]
    _check_outcome(_invoke(["shape", "--input", shape, *options, *texts]))


def test_the_config_corpus_is_not_empty() -> None:
    """The mutation tests start from the shipped configs too."""
    assert len(CONFIG_TEXTS) >= 5 and all(isinstance(yaml.safe_load(t), dict) for t in CONFIG_TEXTS)
