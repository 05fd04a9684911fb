"""Injection: nothing a spec, an option or an inline call holds is ever executed.

Every payload would, if Python ran it, create a marker file. Each is fed through every
channel a user controls (a YAML argument, a variable, a repeat count, a block argument's
default, --set, an inline layer call, layer/block/argument names); each run must exit 2
and leave no marker. A source scan checks that the package never calls eval, exec, compile,
__import__, sympify or parse_expr, and that YAML is only read with a safe loader.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.cli import main

from .conftest import ROOT

# {m} is the marker file's path; each payload would create it if it were executed.
PAYLOADS = [
    "__import__('os').system('touch {m}')",
    "__import__('subprocess').call(['touch', '{m}'])",
    "__import__('pathlib').Path('{m}').touch()",
    "open('{m}', 'w')",
    "exec(\"open('{m}', 'w')\")",
    "eval(\"open('{m}', 'w')\")",
    "exec(compile(\"open('{m}', 'w')\", 'x', 'exec'))",
    "__builtins__.open('{m}', 'w')",
    "__builtins__['open']('{m}', 'w')",
    "globals()['__builtins__'].open('{m}', 'w')",
    "getattr(__import__('os'), 'system')('touch {m}')",
    "os.system('touch {m}')",
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()._module.__builtins__['open']('{m}', 'w')",
    "[c for c in ().__class__.__mro__[1].__subclasses__() if c.__name__ == '_wrap_close'][0].__init__.__globals__['system']('touch {m}')",
    "(lambda: open('{m}', 'w'))()",
    "f\"{{open('{m}', 'w')}}\"",
    "(x := open('{m}', 'w'))",
    "open('{m}', 'w') if 1 else 2",
    "[open('{m}', 'w') for _ in [1]][0]",
    "{{open('{m}', 'w')}}",
    "{{'k': open('{m}', 'w')}}",
    "max(1, open('{m}', 'w'))",
    "int(__import__('os').system('touch {m}'))",
    "make_divisible(open('{m}', 'w'))",
    "ceil(x=open('{m}', 'w'))",
    "min(*[open('{m}', 'w')])",
    "max(**{{'x': open('{m}', 'w')}})",
    "\uff4f\uff50\uff45\uff4e('{m}', 'w')",  # fullwidth 'open': Python folds it to open (NFKC)
    "__\uff49\uff4d\uff50\uff4f\uff52\uff54__('os').system('touch {m}')",  # fullwidth 'import' folds too
    "1; __import__('os').system('touch {m}')",
    "1\n__import__('os').system('touch {m}')",
    "sympy.sympify(\"__import__('os').system('touch {m}')\")",
    "max.__self__.open('{m}', 'w')",
    "setattr(__builtins__, 'k', open('{m}', 'w'))",
]

TAGS = [
    "!!python/object/apply:os.system ['touch {m}']",
    "!!python/object/apply:subprocess.call [['touch', '{m}']]",
    "!!python/object/new:subprocess.Popen [['touch', '{m}']]",
    "!!python/name:os.system",
    "!!python/module:os",
]


def _yaml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def _spec_with(channel: str, payload: str) -> str:
    value = _yaml_string(payload)
    if channel == "argument":
        return f"input: [3, 8, 8]\nlayers:\n  - Conv2d: {{out_channels: {value}, kernel_size: 3}}\n"
    if channel == "variable":
        return f"input: [3, 8, 8]\nvars: {{w: {value}}}\nlayers:\n  - Conv2d: {{out_channels: w, kernel_size: 3}}\n"
    if channel == "repeat":
        return f"input: [3, 8, 8]\nlayers:\n  - ReLU: {{repeat: {value}}}\n"
    if channel == "input":
        return f"input: [3, {value}, 8]\nlayers: [ReLU]\n"
    if channel == "block-default":
        return (
            "input: [3, 8, 8]\nblocks:\n  b:\n"
            f"    args: {{out: {value}}}\n    layers:\n      - Conv2d: {{out_channels: out, kernel_size: 1}}\n"
            "layers: [b]\n"
        )
    if channel == "block-call":
        return (
            "input: [3, 8, 8]\nblocks:\n  b:\n    args: {out: null}\n"
            "    layers:\n      - Conv2d: {out_channels: out, kernel_size: 1}\n"
            f"layers:\n  - b: {{out: {value}}}\n"
        )
    if channel == "inline-in-spec":
        call = _yaml_string(f"Conv2d(3, 16, 3, stride={payload})")
        return f"input: [3, 8, 8]\nlayers:\n  - {call}\n"
    raise AssertionError(channel)


SPEC_CHANNELS = ["argument", "variable", "repeat", "input", "block-default", "block-call", "inline-in-spec"]


def _invoke(runner: CliRunner, args: list[str], stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(main, args, input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr


def test_there_are_enough_payloads() -> None:
    """The suite holds 30+ distinct payloads."""
    assert len(set(PAYLOADS)) >= 30


def test_every_payload_is_live(tmp_path: Path) -> None:
    """Each payload really creates its marker when Python executes it (so the suite can fail).

    Run in a child process, as exec() with the names a careless evaluator might expose.
    """
    script = textwrap.dedent(
        """
        import builtins, json, math, os, sys
        import sympy
        payloads, folder = json.loads(sys.argv[1]), sys.argv[2]
        dead = []
        for i, payload in enumerate(payloads):
            marker = os.path.join(folder, f"m{i}")
            for builtins_view in (builtins, vars(builtins)):
                names = {"os": os, "sympy": sympy, "ceil": math.ceil, "make_divisible": lambda *a: a, "__builtins__": builtins_view}
                try:
                    exec(payload.format(m=marker), names)
                except Exception:
                    pass
            if not os.path.exists(marker):
                dead.append(payload)
        print(json.dumps(dead))
        """
    )
    result = subprocess.run([sys.executable, "-c", script, json.dumps(PAYLOADS), str(tmp_path)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("channel", SPEC_CHANNELS)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_in_a_spec_is_refused(runner: CliRunner, tmp_path: Path, channel: str, payload: str) -> None:
    """A payload wherever a spec holds a value: exit 2, a located message, no marker."""
    marker = tmp_path / "marker"
    spec = tmp_path / "spec.yaml"
    spec.write_text(_spec_with(channel, payload.format(m=marker)))
    code, stderr = _invoke(runner, ["params", str(spec)])
    assert not marker.exists()
    assert code == 2, stderr
    assert stderr.startswith(f"Error: {spec}:"), stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_in_set_is_refused(runner: CliRunner, tmp_path: Path, payload: str) -> None:
    """--set NAME=payload: refused as an option error (exit 2), no marker."""
    marker = tmp_path / "marker"
    code, stderr = _invoke(runner, ["shape", str(ROOT / "configs" / "resnet_block_bottleneck.yaml"), "--set", "k=" + payload.format(m=marker)])
    assert not marker.exists()
    assert code == 2, stderr
    assert "--set" in stderr


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_in_an_inline_call_is_refused(runner: CliRunner, tmp_path: Path, payload: str) -> None:
    """`cnncalc shape --input 3,8,8 "Conv2d(3, 16, payload)"`, and the payload as the call itself."""
    marker = tmp_path / "marker"
    text = payload.format(m=marker)
    for call in (f"Conv2d(3, 16, {text})", f"nn.Conv2d(3, 16, 3, padding={text})", text):
        code, stderr = _invoke(runner, ["shape", "--input", "3,8,8", call])
        assert not marker.exists()
        assert code == 2, (call, stderr)
        assert stderr.startswith("Error: <layer 1>:1:"), stderr


@pytest.mark.parametrize(
    "template",
    [
        "input: [3, 8, 8]\nlayers:\n  - {p}: {{out_channels: 4}}\n",  # as a layer type
        "input: [3, 8, 8]\nlayers:\n  - {p}\n",  # as a bare layer
        "input: [3, 8, 8]\nlayers:\n  - Conv2d: {{{p}: 1, out_channels: 4, kernel_size: 1}}\n",  # as an argument name
        "input: [3, 8, 8]\nblocks:\n  {p}: [ReLU]\nlayers:\n  - {p}\n",  # as a block name
        "input: [3, 8, 8]\nblocks:\n  b: {{args: {{{p}: 1}}, layers: [ReLU]}}\nlayers: [b]\n",  # as a block argument
        "input: [3, 8, 8]\nvars: {{{p}: 1}}\nlayers: [ReLU]\n",  # as a variable name
        "input: [3, 8, 8]\nlayers:\n  - ReLU: {{name: a}}\n  - ReLU: {{from: {p}}}\n",  # as a 'from' name
    ],
)
@pytest.mark.parametrize("payload", PAYLOADS[:6] + PAYLOADS[12:13])
def test_payload_as_a_name_is_refused(runner: CliRunner, tmp_path: Path, template: str, payload: str) -> None:
    """Layer types, block, argument, variable and node names are names, never code."""
    marker = tmp_path / "marker"
    spec = tmp_path / "spec.yaml"
    spec.write_text(template.format(p=_yaml_string(payload.format(m=marker))))
    code, stderr = _invoke(runner, ["params", str(spec)])
    assert not marker.exists()
    assert code == 2, stderr
    assert stderr.startswith(f"Error: {spec}:"), stderr


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("where", ["argument", "document", "stdin"])
def test_python_yaml_tags_are_refused(runner: CliRunner, tmp_path: Path, tag: str, where: str) -> None:
    """YAML tags that PyYAML's unsafe loaders would construct: refused, nothing constructed."""
    marker = tmp_path / "marker"
    value = tag.format(m=marker)
    text = f"{value}\n" if where == "document" else f"input: [3, 8, 8]\nlayers:\n  - Conv2d: {{out_channels: {value}, kernel_size: 3}}\n"
    if where == "stdin":
        code, stderr = _invoke(runner, ["shape", "-"], stdin=text)
        source = "<stdin>"
    else:
        spec = tmp_path / "spec.yaml"
        spec.write_text(text)
        code, stderr = _invoke(runner, ["shape", str(spec)])
        source = str(spec)
    assert not marker.exists()
    assert code == 2, stderr
    assert stderr.startswith(f"Error: {source}:"), stderr
    assert "YAML tag" in stderr


def _calls(path: Path) -> list[tuple[str, str, int]]:
    """(name, 'attr' or 'name', line) of every call in the code; strings, comments and the
    definitions of methods (sympy's `Function.eval` hook) excluded."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(path.read_text()).readline) if t.type not in (tokenize.COMMENT, tokenize.NL)]
    return [
        (name.string, "attr" if before.string == "." else "name", name.start[0])
        for before, name, after in zip(tokens, tokens[1:], tokens[2:])
        if name.type == tokenize.NAME and after.string == "(" and before.string != "def"
    ]


PACKAGE = sorted((ROOT / "cnncalc").rglob("*.py"))


def test_the_scan_covers_every_package() -> None:
    assert {p.parent.name for p in PACKAGE} >= {"cnncalc", "spec", "layers", "analysis", "solve", "render", "derive"}


@pytest.mark.parametrize("path", PACKAGE, ids=lambda p: str(p.relative_to(ROOT / "cnncalc")))
def test_no_dynamic_code_in_the_package(path: Path) -> None:
    """No module calls eval, exec, compile, __import__, sympify or parse_expr (grep over code tokens)."""
    builtins = {"eval", "exec", "compile", "__import__", "breakpoint"}  # re.compile(...) is fine
    anywhere = {"sympify", "parse_expr", "import_module", "system", "popen", "S"}  # sympy.S("...") parses text too
    calls = [(name, line) for name, how, line in _calls(path) if name in anywhere or (name in builtins and how == "name")]
    if path.relative_to(ROOT / "cnncalc").as_posix() == "solve/codegen.py":
        # The one exception: solve's evaluator compiles the Python it generates from sympy's
        # tree (identifiers it makes up, checked before compiling; tests/test_solve_command.py,
        # TestGeneratedCode). No text from a spec or the command line reaches it.
        calls = [(name, line) for name, line in calls if name not in ("compile", "exec")]
    assert calls == [], f"{path.name}: {calls}"


@pytest.mark.parametrize("path", PACKAGE, ids=lambda p: str(p.relative_to(ROOT / "cnncalc")))
def test_yaml_is_read_with_a_safe_loader_only(path: Path) -> None:
    """PyYAML is only used through compose/parse with the (C)SafeLoader, never load/unsafe loaders."""
    text = path.read_text()
    for unsafe in ("yaml.load(", "yaml.load_all(", "yaml.unsafe_load", "yaml.full_load", "FullLoader", "UnsafeLoader", "yaml.Loader", "yaml.CLoader"):
        assert unsafe not in text, f"{path.name} uses {unsafe}"
    for line in text.splitlines():
        if "Loader=" in line:
            assert "Loader=_Loader" in line or "SafeLoader" in line, line


def test_the_loader_is_a_safe_one() -> None:
    """spec.nodes.SafeLoader is PyYAML's safe loader (C or Python)."""
    import yaml

    from cnncalc.spec import nodes

    assert nodes.SafeLoader in (yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
