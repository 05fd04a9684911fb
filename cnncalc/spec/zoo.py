"""Loading a spec: from YAML text, a file, standard input or the name of a shipped model (the zoo).

Shipped specs are found by name in an installed package's `zoo/` or a checkout's `configs/`;
`cnncalc.analysis.zoo` evaluates them for the `zoo` listing.
"""

from __future__ import annotations

import os

import yaml  # type: ignore[import-untyped, unused-ignore]  # (see spec.nodes)

from cnncalc.errors import LimitError, Position, SpecError
from cnncalc.spec.model import Limits, Spec
from cnncalc.spec.nodes import compose
from cnncalc.spec.reader import Reader


def load_text(text: str, source: str = "<spec>", limits: Limits = Limits()) -> Spec:
    """Parse and validate a spec from YAML text."""
    if len(text) > limits.max_bytes:
        raise LimitError("spec file too large", position=Position(source, 1, 1), expected=f"at most {limits.max_bytes} bytes", found=f"{len(text)} bytes")
    stem = source.rsplit("/", 1)[-1].rsplit(".", 1)[0] if source not in ("-", "<stdin>") else "stdin"
    node = compose(text, source, limits)
    if isinstance(node, yaml.MappingNode) and any(isinstance(k, yaml.ScalarNode) and k.value == "backbone" for k, _ in node.value):
        from cnncalc.spec.ultralytics import read_model  # an Ultralytics model file (backbone:/head: rows)

        return read_model(node, source, stem, limits, limits.scale, limits.imgsz)
    if limits.scale is not None or limits.imgsz is not None:
        from cnncalc.spec.ultralytics import check_options

        check_options(limits.scale, limits.imgsz, source)
    return Reader(source, limits).spec(node, stem)


def load_path(path: str, limits: Limits = Limits(), stdin_text: str | bytes | None = None) -> Spec:
    """Read and validate a spec file (`-` reads `stdin_text`), with clear errors for bad files."""
    if path == "-":
        if isinstance(stdin_text, bytes):
            return load_text(decode(stdin_text, "<stdin>"), "<stdin>", limits)
        return load_text(stdin_text or "", "<stdin>", limits)
    if not os.path.exists(path) and path.endswith((".yaml", ".yml")):
        from cnncalc.spec.ultralytics import guess_scale, unified_path

        unified = unified_path(path)  # yolov8n.yaml -> yolov8.yaml at scale n, as Ultralytics reads it
        if unified != path and os.path.isfile(unified) and guess_scale(path):
            spec = load_path(unified, limits._replace(scale=limits.scale or guess_scale(path)), stdin_text)
            return spec._replace(name=os.path.basename(path).rsplit(".", 1)[0], source=path)
    if os.path.isdir(path):
        raise SpecError("is a directory, not a spec file", position=Position(path, 1, 1), expected="a YAML file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except FileNotFoundError:
        raise SpecError(
            "no such file",
            position=Position(path, 1, 1),
            expected="a YAML spec file, '-' or the name of a shipped model",
            found="nothing at this path",
            hint="check the path; 'cnncalc zoo' lists the shipped models",
        ) from None
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror}", position=Position(path, 1, 1)) from None
    return load_text(decode(data, path), path, limits)


def decode(data: bytes, path: str) -> str:
    """Spec bytes as text: refuses binary files and invalid UTF-8 (naming the place), drops a BOM."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpecError("the file is UTF-16 text", position=Position(path, 1, 1), expected="UTF-8 text", found="a UTF-16 byte-order mark", hint="save the file as UTF-8")
    if b"\x00" in data[:8192]:
        raise SpecError("this is a binary file, not a YAML spec", position=Position(path, 1, 1), expected="a YAML text file", found="NUL bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            "the file is not valid UTF-8",
            position=Position(path, line, column),
            found=f"byte 0x{data[exc.start]:02x}",
            expected="UTF-8 text",
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


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
