"""Python statements laid out as `ruff format` (black's style) lays them out, for `cnncalc export`.

Only what the exported code holds: a statement is a prefix (`self.conv = `, `return `), a call
tree and a suffix. A statement that fits in the line length is one line; otherwise the outermost
brackets open: their content on one indented line when it fits (no trailing comma), else one
item per line with a trailing comma, each item laid out the same way.
"""

from __future__ import annotations

from typing import NamedTuple

LINE_LENGTH = 88  # ruff format's default
INDENT = "    "


class Call(NamedTuple):
    """A call (or a bracketed list when `func` is "[" or "("): `func(item, item, ...)`."""

    func: str
    items: tuple[Call | str, ...]

    def flat(self) -> str:
        inner = ", ".join(item if isinstance(item, str) else item.flat() for item in self.items)
        if self.func == "[":
            return f"[{inner}]"
        if self.func == "(":
            return f"({inner}{',' if len(self.items) == 1 else ''})"
        return f"{self.func}({inner})"


Part = Call | str


def flat(part: Part) -> str:
    return part if isinstance(part, str) else part.flat()


def operands(text: str) -> list[str]:
    """A sum's operands at the top level (`a + f(b + c)` gives `a`, `f(b + c)`)."""
    found, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(" + ", i):
            found.append(text[start:i])
            start = i + 3
    return [*found, text[start:]]


def statement(prefix: str, part: Part, indent: int, suffix: str = "", *, item: bool = False) -> list[str]:
    """The lines of `prefix + part + suffix` at `indent` levels, laid out as ruff format does
    (`item`: the part is an argument inside brackets, where a long sum splits without parentheses)."""
    pad = INDENT * indent
    line = pad + prefix + flat(part) + suffix
    if len(line) <= LINE_LENGTH:
        return [line]
    if isinstance(part, str):
        terms = operands(part)
        if len(terms) == 1:
            return [line]
        if item:
            return [pad + prefix + terms[0]] + [pad + "+ " + t for t in terms[1:-1]] + [pad + "+ " + terms[-1] + suffix]
        inner = INDENT * (indent + 1)
        if len(inner + part) <= LINE_LENGTH:
            return [pad + prefix + "(", inner + part, pad + ")" + suffix]
        return [pad + prefix + "(", inner + terms[0], *(inner + "+ " + t for t in terms[1:]), pad + ")" + suffix]
    if not part.items:
        return [line]
    opening = {"[": "[", "(": "("}.get(part.func, part.func + "(")
    closing = {"[": "]"}.get(part.func, ")")
    inner_pad = INDENT * (indent + 1)
    joined = ", ".join(flat(item) for item in part.items)
    if len(inner_pad + joined) <= LINE_LENGTH and not (part.func == "(" and len(part.items) == 1):
        return [pad + prefix + opening, inner_pad + joined, pad + closing + suffix]
    if len(part.items) == 1 and part.func not in ("[", "("):
        return [pad + prefix + opening, *statement("", part.items[0], indent + 1, item=True), pad + closing + suffix]
    lines = [pad + prefix + opening]
    for element in part.items:
        lines += statement("", element, indent + 1, ",", item=True)
    return [*lines, pad + closing + suffix]
