"""The one error hierarchy of cnncalc.

Every error raised by the core carries what a user needs to fix their input: the file, line
and column, the layer's path in the spec, what was expected and what was found. The CLI turns
them into exit codes in one place (`cli.main`).
"""

from __future__ import annotations

from typing import NamedTuple

EXIT_NO_ANSWER = 1
EXIT_BAD_INPUT = 2


class Position(NamedTuple):
    """A place in a spec file; line and column count from 1."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class CnncalcError(Exception):
    """Base of every error cnncalc reports to a user."""

    exit_code = EXIT_BAD_INPUT
    # The tensor shapes (batch first) the message prints, written as `layers.shape_text` writes
    # them: a spec's evaluation shows them without the batch (`Evaluator` rewrites the text).
    shapes: tuple[tuple[object, ...], ...] = ()

    def __init__(
        self,
        message: str,
        *,
        position: Position | None = None,
        path: str | None = None,
        expected: str | None = None,
        found: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.path = path
        self.expected = expected
        self.found = found
        self.hint = hint

    def located(self, position: Position | None, path: str | None) -> CnncalcError:
        """Fill in the position and layer path where the raiser could not know them."""
        if self.position is None:
            self.position = position
        if self.path is None:
            self.path = path
        return self

    def __str__(self) -> str:
        parts = []
        if self.position is not None:
            parts.append(f"{self.position}: ")
        if self.path:
            parts.append(f"{self.path}: ")
        # names and values quoted from the input are clipped: a 10,000-character key stays one line
        parts.append(clip(self.message, 400))
        if self.expected is not None or self.found is not None:
            detail = []
            if self.expected is not None:
                detail.append(f"expected {clip(self.expected, 300)}")
            if self.found is not None:
                detail.append(f"found {clip(self.found, 300)}")
            parts.append(" (" + ", ".join(detail) + ")")
        text = "".join(parts)
        if not text.endswith("."):
            text += "."
        if self.hint:
            text += f" Hint: {self.hint}"
        return text


def with_shapes(error: CnncalcError, *shapes: tuple[object, ...]) -> CnncalcError:
    """The error, noting the tensor shapes its text prints (see `CnncalcError.shapes`)."""
    error.shapes = (*error.shapes, *shapes)
    return error


class SpecError(CnncalcError, ValueError):
    """The spec (file, YAML, structure or an argument) is invalid: exit status 2."""


class ExprError(SpecError):
    """An expression is malformed or uses something outside the whitelist."""


class ShapeError(SpecError):
    """A layer cannot be applied to its input shape (PyTorch would raise)."""


class LimitError(SpecError):
    """The input exceeds a resource limit (layers, repeat, nesting, expression size)."""


class UsageError(CnncalcError, ValueError):
    """A command-line option is invalid."""


class NoAnswerError(CnncalcError):
    """The question is well posed but has no answer (e.g. no width fits): exit status 1."""

    exit_code = EXIT_NO_ANSWER


def clip(text: str, limit: int = 60) -> str:
    """`text` shortened for an error message: long input is quoted by its start only."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def quoted(text: str, limit: int = 60) -> str:
    """A token of the input as an error message quotes it: `repr` of its first line, clipped to
    `limit` characters, so that a message never carries more of a file than the token's start
    (a multi-line token, such as a YAML block scalar, is quoted by its first line)."""
    first, newline, _ = text.partition("\n")
    return repr(clip(first, limit) if not newline or len(first) > limit - 3 else first + "...")
