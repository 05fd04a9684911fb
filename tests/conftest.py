"""Shared fixtures: a CliRunner and the paths of the shipped configs."""

from __future__ import annotations

import os
from pathlib import Path

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
