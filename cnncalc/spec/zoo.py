"""The shipped specs (the model zoo): found by name from an installed package or a checkout."""

from __future__ import annotations

import os
from typing import Any

from cnncalc.records import record
from cnncalc.spec import Limits, Spec, load_path


@record
class ZooEntry:
    """A shipped spec, evaluated: its name, file, input, output and totals."""

    name: str
    title: str
    input: tuple[Any, ...]
    output: tuple[Any, ...]
    params: Any
    buffers: Any
    macs: Any
    blocks: int


def zoo_dirs() -> list[str]:
    """Where shipped specs live: the installed package's `zoo/`, else the checkout's `configs/`."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the cnncalc package
    return [d for d in (os.path.join(here, "zoo"), os.path.join(os.path.dirname(here), "configs")) if os.path.isdir(d)]


def zoo_names() -> dict[str, str]:
    """Shipped spec name -> file path."""
    found: dict[str, str] = {}
    for directory in zoo_dirs():
        for entry in sorted(os.listdir(directory)):
            if entry.endswith((".yaml", ".yml")):
                found.setdefault(entry.rsplit(".", 1)[0], os.path.join(directory, entry))
    return found


def resolve(source: str) -> str:
    """A spec argument as a path: an existing file, '-', or a zoo name."""
    if source == "-" or os.path.exists(source) or os.sep in source or source.endswith((".yaml", ".yml")):
        return source
    return zoo_names().get(source, source)


def load_spec(source: str, limits: Limits = Limits(), stdin_text: str | bytes | None = None) -> Spec:
    """Load a spec given as a path, '-' or a zoo name."""
    return load_path(resolve(source), limits, stdin_text)


def zoo_entries() -> list[ZooEntry]:
    """Every shipped spec, evaluated (a blocks-only spec counts its blocks' rows together)."""
    from cnncalc.analysis.evaluate import evaluate_spec

    entries = []
    for name, path in zoo_names().items():
        spec = load_path(path)
        evaluations = evaluate_spec(spec)
        first, last = evaluations[0], evaluations[-1]
        entries.append(
            ZooEntry(
                name,
                spec.name,
                first.shown(first.input),
                last.shown(last.output),
                first.params if len(evaluations) == 1 else None,
                first.buffers if len(evaluations) == 1 else None,
                first.macs if len(evaluations) == 1 else None,
                len(evaluations) if spec.layers is None else 0,
            )
        )
    return entries
