"""The shipped specs (the model zoo): found by name from an installed package or a checkout."""

from __future__ import annotations

import os

from .spec import Limits, Spec, load_path


def zoo_dirs() -> list[str]:
    """Where shipped specs live: the installed package's `zoo/`, else the checkout's `configs/`."""
    here = os.path.dirname(os.path.abspath(__file__))
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


def load_spec(source: str, limits: Limits = Limits(), stdin_text: str | None = None) -> Spec:
    """Load a spec given as a path, '-' or a zoo name."""
    return load_path(resolve(source), limits, stdin_text)
