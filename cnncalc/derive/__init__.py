"""Symbolic derivations for ``cnncalc derive``: gradients derived with sympy and checked.

Two topics are derived with sympy, by differentiating through the
computational graph rather than by typing in known answers:

* ``bn``: batch normalisation over a mini-batch of ``m`` values, forward
  pass and backward pass (dl/dxhat, dl/dsigma^2, dl/dmu, dl/dx_i,
  dl/dgamma, dl/dbeta in terms of the upstream gradients g_i = dl/dy_i),
  the compact form of dl/dx_i, and why the layer is differentiable.
* ``softmax-ce``: softmax followed by cross-entropy, dL/dz_t for a one-hot
  target and for any target distribution.

Every derived gradient can be checked (``check=True``) against central
finite differences at 60 significant digits (mpmath) for m = 2..6.

The package is a separate product beside the network calculator: it imports
only the foundation (:mod:`cnncalc.errors`), and the CLI imports it lazily,
for the ``derive`` command only.  It is not the only user of sympy (symbolic
shapes and the bottleneck solver use it too), but the only one of mpmath.
It is pure: it prints nothing and touches no files; :mod:`cnncalc.render.derive`
turns a :class:`Derivation` into text.  No string is ever parsed into an
expression here; every expression is built from sympy symbols.

Modules: :mod:`.model` (the records), :mod:`.symbols` (symbols and labels),
:mod:`.algebra` (sympy helpers), :mod:`.drafts` (steps in textbook order),
:mod:`.numeric` (expressions evaluated with mpmath), :mod:`.graphs` (the
forward graphs at a concrete size), :mod:`.checks` (the checks),
:mod:`.bn` and :mod:`.softmax` (one derivation each).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cnncalc.derive import bn, softmax
from cnncalc.derive.checks import (
    CHECK_DPS,
    CHECK_SIZES,
    CHECK_STEP,
    CHECK_TARGETS,
    CHECK_TOLERANCE,
    POINTS_PER_SIZE,
    check_formula,
    check_gradient,
    concrete_differences,
)
from cnncalc.derive.model import CheckResult, Derivation, Step, Topic
from cnncalc.derive.numeric import numeric
from cnncalc.derive.symbols import BN, SOFTMAX
from cnncalc.errors import UsageError

__all__ = [
    "BN",
    "CHECK_DPS",
    "CHECK_SIZES",
    "CHECK_STEP",
    "CHECK_TARGETS",
    "CHECK_TOLERANCE",
    "POINTS_PER_SIZE",
    "SOFTMAX",
    "TOPICS",
    "CheckResult",
    "Derivation",
    "Step",
    "check_formula",
    "check_gradient",
    "concrete_differences",
    "derive",
    "numeric",
]

_TOPICS: Mapping[str, Topic] = MappingProxyType({t.name: t for t in (bn.TOPIC, softmax.TOPIC)})
#: The topics ``derive`` knows.
TOPICS: tuple[str, ...] = tuple(_TOPICS)


def derive(topic: str, *, check: bool = False, seed: int = 0, explain: bool = False) -> Derivation:
    """Derive ``topic`` ("bn" or "softmax-ce") with sympy.

    ``explain`` keeps every intermediate step and the prose; otherwise only
    the key results.  ``check`` adds finite-difference checks of each derived
    gradient at random points (``seed``), sizes 2..6, 60 digits.
    """
    if topic not in _TOPICS:
        raise UsageError(f"unknown topic {topic!r}; expected one of {TOPICS}")
    plan = _TOPICS[topic]
    steps, results = plan.derive(explain)
    checks: tuple[CheckResult, ...] = ()
    if check:
        checks = tuple(check_formula(topic, c.target, results[c.result], seed=seed, name=c.name) for c in plan.checks)
    return Derivation(topic=topic, title=plan.title, steps=steps, checks=checks, explain=explain, seed=seed,
                      results=MappingProxyType(results), notation=plan.notation, size_symbol=plan.size_symbol)
