"""The derivation model: steps, check results and derivations as frozen records.

A derivation is data: sympy expressions and prose fragments.  Turning it into
text, LaTeX, markdown or JSON is the business of :mod:`cnncalc.render.derive`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple, TypeAlias

import mpmath
import sympy as sp

__all__ = ["CheckResult", "Derivation", "Fragment", "PlannedCheck", "Step", "Topic", "worst_check"]

#: A piece of prose: words, or a sympy expression set as math.
Fragment: TypeAlias = "str | sp.Basic"


@dataclass(frozen=True)
class Step:
    """One step of a derivation: a titled equation chain with optional prose.

    ``parts`` is the chain ``parts[0] = parts[1] = ...`` (empty: prose only);
    ``prose`` the explanation, words and expressions in reading order (empty
    in the compact output when the step needs no words).
    """

    section: str
    title: str
    parts: tuple[sp.Basic, ...] = field(default=(), repr=False)
    prose: tuple[Fragment, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a finite-difference check of one derived gradient.

    ``max_abs_error`` and ``tolerance`` are decimal strings (exact as printed:
    the error is computed at 60 digits and may be far below a float's range).
    """

    name: str
    max_abs_error: str
    points: int
    ok: bool
    tolerance: str

    @property
    def error(self) -> float:
        """``max_abs_error`` as a float (0.0 if it underflows)."""
        return float(self.max_abs_error)


def _magnitude(result: CheckResult) -> mpmath.mpf:
    error = mpmath.mpf(result.max_abs_error)
    return mpmath.inf if mpmath.isnan(error) else error


def worst_check(name: str, results: Sequence[CheckResult], points: int) -> CheckResult:
    """One result for many: the largest error (NaN counts as largest), ok only if all are."""
    worst = max(results, key=_magnitude)
    return CheckResult(name=name, max_abs_error=worst.max_abs_error, points=points,
                       ok=all(r.ok for r in results), tolerance=worst.tolerance)


@dataclass(frozen=True)
class Derivation:
    """A complete derivation: steps, optional checks, and the key results.

    ``results`` maps result names (``"dx_compact"``, ``"dvar"``, ...) to the
    sympy expressions that were printed, for programmatic use and tests.
    ``notation`` says what the symbols mean; ``size_symbol`` names the size
    (``"m"`` values in a batch, ``"n"`` classes) that the checks vary.
    """

    topic: str
    title: str
    steps: tuple[Step, ...]
    checks: tuple[CheckResult, ...] = ()
    explain: bool = False
    seed: int = 0
    results: Mapping[str, sp.Expr] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False, hash=False
    )
    notation: str = ""
    size_symbol: str = "m"

    @property
    def ok(self) -> bool:
        """True when every check passed (vacuously true without checks)."""
        return all(c.ok for c in self.checks)

    @property
    def max_abs_error(self) -> str | None:
        """The largest error over all checks ("nan" if any is NaN), or None without checks."""
        if not self.checks:
            return None
        return worst_check("all", self.checks, 0).max_abs_error


class PlannedCheck(NamedTuple):
    """One numeric check a topic runs with ``check=True``."""

    result: str  # the key of the checked formula in Derivation.results
    target: str  # the gradient target of cnncalc.derive.graphs it is checked as
    name: str  # the check's name in the output


class Topic(NamedTuple):
    """A derivation topic: what ``derive(name)`` derives, and how it is checked and introduced."""

    name: str
    title: str
    notation: str
    size_symbol: str
    derive: Callable[[bool], tuple[tuple[Step, ...], dict[str, sp.Expr]]]  # explain -> (steps, results)
    checks: tuple[PlannedCheck, ...]
