"""Graphviz's `dot` program, the one place cnncalc runs another program: DOT text laid out and
drawn as SVG, PNG or PDF. Imported only by `cnncalc draw` for those formats.

The program is found on PATH and run without a shell, with a fixed argument list (`dot -Tsvg`);
the DOT text goes in on standard input. Without it, the error says how to install it.
"""

from __future__ import annotations

import shutil
import subprocess

from cnncalc.errors import CnncalcError, UsageError, clip

FORMATS = ("svg", "png", "pdf")
INSTALL = (
    "install Graphviz, the package named graphviz (Debian/Ubuntu: apt-get install graphviz; Homebrew: brew install graphviz;"
    " conda: conda install -c conda-forge graphviz), or write -f dot or -f tikz, which need no program"
)


def run_dot(text: str, fmt: str, asked: str | None = None) -> bytes:
    """The drawing of DOT `text` in `fmt` (svg, png or pdf), as Graphviz's `dot` writes it;
    `asked`: the format the user asked for, if another (html holds an SVG)."""
    if fmt not in FORMATS:
        raise ValueError(f"not a Graphviz output format here: {fmt!r}")
    program = shutil.which("dot")
    if program is None:
        raise UsageError(f"-f {asked or fmt} needs Graphviz's dot program to lay the diagram out, and there is no dot on PATH", hint=INSTALL)
    try:
        done = subprocess.run([program, f"-T{fmt}"], input=text.encode("utf-8"), capture_output=True, check=False)
    except OSError as exc:
        raise UsageError(f"cannot run Graphviz's dot program ({program}): {exc.strerror or exc}", hint=INSTALL) from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip() or "no message"
        raise CnncalcError(f"Graphviz's dot program failed (exit status {done.returncode}): {clip(message, 300)}")
    return done.stdout
