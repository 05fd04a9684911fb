"""A derivation of ``cnncalc derive`` as text, LaTeX, markdown or JSON.

The sympy printers live here: plain-text one-line chains (x_j, delta_ij,
sum_{j=1..m}), LaTeX, and sympy's 2-D pretty printer in ASCII or Unicode,
each spelling the derivative labels (dl/dx_i, ∂l/∂xᵢ, \\frac{\\partial l}{...})
its own way.  :func:`render` is the one entry point the CLI calls.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Sequence

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import pretty_use_unicode
from sympy.printing.pretty.stringpict import prettyForm
from sympy.printing.str import StrPrinter

from cnncalc.derive.checks import CHECK_DPS, CHECK_SIZES, CHECK_STEP, POINTS_PER_SIZE
from cnncalc.derive.model import Derivation, Fragment, Step
from cnncalc.derive.symbols import PartialLabel
from cnncalc.errors import UsageError

__all__ = ["FORMATS", "render", "step_expr", "step_latex", "step_pretty", "step_prose"]

FORMATS: tuple[str, ...] = ("text", "latex", "markdown", "json")

# --- printers ---------------------------------------------------------------------


def _indexed_name(e: sp.Indexed) -> str:
    return f"{e.base.label}_{''.join(str(ix) for ix in e.indices)}"


class _Pretty(PrettyPrinter):  # type: ignore[misc]  # sympy is untyped
    def _print_Indexed(self, e: sp.Indexed) -> prettyForm:
        return self._print(sp.Symbol(_indexed_name(e)))

    def _print_KroneckerDelta(self, e: sp.KroneckerDelta) -> prettyForm:
        if self._use_unicode:
            return super()._print_KroneckerDelta(e)
        return prettyForm(f"delta_{e.args[0]}{e.args[1]}")

    def _print_PartialLabel(self, e: PartialLabel) -> prettyForm:
        return prettyForm(e.spelling.unicode if self._use_unicode else e.spelling.ascii)


class _Str(StrPrinter):  # type: ignore[misc]  # sympy is untyped
    printmethod = "_cnncalc_str"  # bypass Indexed._sympystr (x[j]): print x_j

    def _print_Indexed(self, e: sp.Indexed) -> str:
        return _indexed_name(e)

    def _print_PartialLabel(self, e: PartialLabel) -> str:
        return e.spelling.ascii

    def _print_KroneckerDelta(self, e: sp.KroneckerDelta) -> str:
        return f"delta_{e.args[0]}{e.args[1]}"

    def _print_Equality(self, e: sp.Eq) -> str:
        return f"{self._print(e.lhs)} = {self._print(e.rhs)}"

    def _print_MatrixBase(self, e: sp.MatrixBase) -> str:
        if e.cols == 1:
            return "(" + ", ".join(self._print(a) for a in e) + ")^T"
        return "[" + "; ".join(", ".join(self._print(a) for a in e.row(r)) for r in range(e.rows)) + "]"

    _print_ImmutableDenseMatrix = _print_MatrixBase
    _print_MutableDenseMatrix = _print_MatrixBase

    def _print_Sum(self, e: sp.Sum) -> str:
        body = self._print(e.function)
        if not (e.function.is_Atom or isinstance(e.function, sp.Indexed)):
            body = f"({body})"
        for var, lo, hi in reversed(e.limits):
            body = f"sum_{{{var}={self._print(lo)}..{self._print(hi)}}} {body}"
        return str(body)


class _Latex(LatexPrinter):  # type: ignore[misc]  # sympy is untyped
    def _print_PartialLabel(self, e: PartialLabel) -> str:
        return e.spelling.latex


def _tex(e: sp.Basic) -> str:
    return str(_Latex({"order": "none"}).doprint(e))


def _txt(e: sp.Basic) -> str:
    return str(_Str({"order": "none"}).doprint(e))


_MAX_WIDTH = 100


def _pretty_chain(parts: Sequence[sp.Basic], use_unicode: bool, max_width: int = _MAX_WIDTH) -> str:
    """Draw ``parts[0] = parts[1] = ...``; one '= part' per row when too wide."""
    printer = _Pretty({"use_unicode": use_unicode, "wrap_line": False, "order": "none"})
    flag = pretty_use_unicode(use_unicode)
    try:
        forms = [printer._print(p) for p in parts]
        out = forms[0]
        for form in forms[1:]:
            out = prettyForm(*out.right(" = ", form))
        if out.width() <= max_width or len(forms) <= 2:
            return str(out.render(wrap_line=False))
        rows = [prettyForm(*forms[0].right(" = ", forms[1]))]
        pad = " " * forms[0].width()
        rows += [prettyForm(*prettyForm(pad).right(" = ", form)) for form in forms[2:]]
        return "\n".join(r.render(wrap_line=False) for r in rows)
    finally:
        pretty_use_unicode(flag)


def _prose_math(prose: Sequence[Fragment], escape: Callable[[str], str]) -> str:
    return "".join(escape(f) if isinstance(f, str) else f"${_tex(f)}$" for f in prose)


_TEX_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
}


def _tex_escape(s: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in s)


def _md_escape(s: str) -> str:
    return s.replace("*", r"\*").replace("_", r"\_")


# --- one step ---------------------------------------------------------------------


def step_prose(step: Step) -> str:
    """The step's prose in plain text (math in the one-line text form)."""
    return "".join(f if isinstance(f, str) else _txt(f) for f in step.prose)


def step_expr(step: Step) -> str:
    """The step's equation chain on one line of plain text: ``dl/dx_i = ...``."""
    return " = ".join(_txt(p) for p in step.parts)


def step_latex(step: Step) -> str:
    """The step's equation chain on one line of LaTeX."""
    return " = ".join(_tex(p) for p in step.parts)


def step_pretty(step: Step, use_unicode: bool = False) -> str:
    """The step's equation chain drawn by sympy's 2-D pretty printer ("" without one)."""
    return _pretty_chain(step.parts, use_unicode) if step.parts else ""


def _aligned(parts: Sequence[sp.Basic]) -> str:
    tex = [_tex(p) for p in parts]
    if len(tex) <= 2:
        return " = ".join(tex)
    rows = [f"{tex[0]} &= {tex[1]}"] + [f"&= {t}" for t in tex[2:]]
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


# --- whole derivations ------------------------------------------------------------------


def _check_note(d: Derivation) -> str:
    return (f"central finite differences, {CHECK_DPS} significant digits, h = {CHECK_STEP}, seed {d.seed}, "
            f"{d.size_symbol} = {CHECK_SIZES[0]}..{CHECK_SIZES[-1]}, {POINTS_PER_SIZE} random points per size")


def _sections(steps: Sequence[Step]) -> list[tuple[str, list[tuple[int, Step]]]]:
    """Group consecutive steps by section, numbering the steps 1, 2, ... throughout."""
    out: list[tuple[str, list[tuple[int, Step]]]] = []
    for number, st in enumerate(steps, 1):
        if not out or out[-1][0] != st.section:
            out.append((st.section, []))
        out[-1][1].append((number, st))
    return out


def _verdict(d: Derivation) -> str:
    return "all checks passed" if d.ok else "SOME CHECKS FAILED"


def _render_text(d: Derivation, use_unicode: bool) -> str:
    lines = [d.title, "=" * len(d.title)]
    if d.notation:
        lines.append(d.notation)
    for section, steps in _sections(d.steps):
        lines += ["", section, "-" * len(section)]
        for number, st in steps:
            lines.append(f"{number}. {st.title}")
            if st.prose:
                lines += textwrap.wrap(step_prose(st), 78, initial_indent="  ", subsequent_indent="  ")
            if st.parts:
                lines += [("    " + row).rstrip() for row in step_pretty(st, use_unicode).splitlines()]
    if d.checks:
        lines += ["", "Checks", "------"]
        lines += textwrap.wrap(_check_note(d), 78, initial_indent="  ", subsequent_indent="  ")
        width = max(len(c.name) for c in d.checks)
        for c in d.checks:
            status = "ok" if c.ok else "FAIL"
            lines.append(f"  {c.name:<{width}}  max |error| = {c.max_abs_error:>8}  ({c.points} points)  {status}")
        lines.append(f"  largest error {d.max_abs_error} (tolerance {d.checks[0].tolerance}): {_verdict(d)}")
    return "\n".join(lines) + "\n"


def _render_markdown(d: Derivation) -> str:
    out = [f"## {_md_escape(d.title)}", ""]
    for section, steps in _sections(d.steps):
        out += [f"### {section}", ""]
        for number, st in steps:
            prose = _prose_math(st.prose, _md_escape)
            out += [f"**{number}. {_md_escape(st.title)}.** {prose}".rstrip(), ""]
            if st.parts:
                out += ["$$", _aligned(st.parts), "$$", ""]
    if d.checks:
        out += ["### Checks", "", f"_{_check_note(d)}_", "", "| gradient | max abs error | points | ok |",
                "|---|---|---|---|"]
        out += [f"| `{c.name}` | {c.max_abs_error} | {c.points} | {'yes' if c.ok else '**NO**'} |" for c in d.checks]
        out += ["", f"Largest error: {d.max_abs_error} ({_verdict(d)}).", ""]
    return "\n".join(out)


def _render_latex(d: Derivation) -> str:
    out = [f"% cnncalc derive {d.topic}", f"\\subsection*{{{_tex_escape(d.title)}}}", ""]
    for section, steps in _sections(d.steps):
        out += [f"\\subsubsection*{{{_tex_escape(section)}}}", ""]
        for number, st in steps:
            prose = _prose_math(st.prose, _tex_escape)
            out.append(f"\\paragraph{{{number}. {_tex_escape(st.title)}.}} {prose}".rstrip())
            if st.parts:
                out += ["\\begin{equation*}", _aligned(st.parts), "\\end{equation*}"]
            out.append("")
    if d.checks:
        out += ["\\subsubsection*{Checks}", _tex_escape(_check_note(d)) + ".", "",
                "\\begin{tabular}{lrrl}", "gradient & max abs error & points & ok \\\\ \\hline"]
        out += [f"\\texttt{{{_tex_escape(c.name)}}} & {c.max_abs_error} & {c.points} & {'yes' if c.ok else 'NO'} \\\\"
                for c in d.checks]
        out += ["\\end{tabular}", ""]
    return "\n".join(out)


def _render_json(d: Derivation) -> str:
    payload = {
        "topic": d.topic,
        "title": d.title,
        "steps": [{"title": s.title, "text": step_prose(s), "latex": step_latex(s), "expr": step_expr(s)}
                  for s in d.steps],
        "checks": [{"name": c.name, "max_abs_error": c.max_abs_error, "ok": c.ok} for c in d.checks],
        "ok": d.ok,
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


_RENDERERS: dict[str, Callable[[Derivation, bool], str]] = {
    "text": _render_text,
    "latex": lambda d, _: _render_latex(d),
    "markdown": lambda d, _: _render_markdown(d),
    "json": lambda d, _: _render_json(d),
}


def render(d: Derivation, fmt: str, *, use_unicode: bool = False) -> str:
    """Render a derivation as "text" (sympy pretty), "latex", "markdown" ($$ blocks) or "json"."""
    if fmt not in _RENDERERS:
        raise UsageError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    return _RENDERERS[fmt](d, use_unicode)
