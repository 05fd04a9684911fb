"""Shared fixtures: a CliRunner and the paths of the shipped configs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
SEED = str(CONFIGS / "resnet_block_bottleneck.yaml")

os.environ.setdefault("TERM", "dumb")


@pytest.fixture
def runner() -> CliRunner:
    """A click test runner (stderr kept apart from stdout)."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click >= 8.2 always keeps them apart
        return CliRunner()


# The two derivations, computed once per session (tests/derive_shared.py caches them), for the
# derive tests of several modules; imported when first asked for (sympy is slow to import).
@pytest.fixture(scope="session")
def bn() -> Any:
    from .derive_shared import derivation

    return derivation("bn", check=True)


@pytest.fixture(scope="session")
def bn_explained() -> Any:
    from .derive_shared import derivation

    return derivation("bn", explain=True)


@pytest.fixture(scope="session")
def sm() -> Any:
    from .derive_shared import derivation

    return derivation("softmax-ce", check=True)


@pytest.fixture(scope="session")
def sm_explained() -> Any:
    from .derive_shared import derivation

    return derivation("softmax-ce", explain=True)


# Hypothesis profiles for tests/test_properties.py: "ci" (the default) runs about 200 examples
# in all; "thorough" (HYPOTHESIS_PROFILE=thorough) runs over 10,000 for a release check.
from hypothesis import HealthCheck, settings  # noqa: E402

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=50, deadline=None, suppress_health_check=_QUIET, print_blob=True)
settings.register_profile("thorough", max_examples=2_600, deadline=None, suppress_health_check=_QUIET, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
