"""docs/layers.md is generated from the layer registry and must be current."""

from __future__ import annotations

import subprocess
import sys

from markdown_it import MarkdownIt

from cnncalc.layers import KINDS
from cnncalc.layers.docs import markdown, signature

from .conftest import ROOT

DOC = ROOT / "docs" / "layers.md"


def test_docs_layers_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == markdown(), "docs/layers.md is stale: run python tools/gen_layer_docs.py"


def test_the_tool_checks_it() -> None:
    done = subprocess.run([sys.executable, "tools/gen_layer_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_one_table_row_per_kind() -> None:
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown())
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == len(KINDS) + 1  # and the header
    cells = [t.children[0].content for t in tokens if t.type == "inline" and t.children and t.children[0].type == "code_inline"]
    assert set(KINDS) <= set(cells)


def test_signatures_show_pytorch_defaults() -> None:
    assert signature(KINDS["LPPool2d"]) == "LPPool2d(norm_type, kernel_size, stride=None, ceil_mode=False)"
    assert signature(KINDS["Conv2d"]).startswith("Conv2d(in_channels†, out_channels, kernel_size, stride=1, padding=0,")
    assert signature(KINDS["BatchNorm2d"]).endswith("device=None, dtype=None, *, bias=True)")  # keyword-only bias
    assert signature(KINDS["Identity"]) == "Identity(*args, **kwargs)"
