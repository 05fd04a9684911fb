"""Every single-layer case recorded from real PyTorch agrees: output shape, error or not, params."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cnncalc.analysis.evaluate import evaluate_inline
from cnncalc.errors import CnncalcError

DATA = Path(__file__).parent / "data"
FILES = ["shape_cases_public.jsonl", "shape_cases_torch.jsonl", "lppool_cases_torch.jsonl", "sizes_cases_torch.jsonl"]


def _cases() -> list[Any]:
    cases = []
    for name in FILES:
        path = DATA / name
        if path.exists():
            for line in path.read_text().splitlines():
                case = json.loads(line)
                cases.append(pytest.param(case, id=f"{name.split('.')[0]}-{case['id']}-{case['layer']}"))
    return cases


def _literal(value: Any) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def layer_call(case: dict[str, Any]) -> str:
    """The case as the PyTorch constructor call a user would type."""
    kwargs = ", ".join(f"{k}={_literal(v)}" for k, v in case["kwargs"].items())
    return f"nn.{case['layer']}({kwargs})"


CASES = _cases()


def test_reference_files_are_present() -> None:
    assert len(CASES) >= 1000
    lppool = [c for c in CASES if c.id.startswith("lppool_cases_torch-")]
    assert len(lppool) == 171  # LPPool1d/2d from torch 2.14.1, 57 of them raise
    assert sum(c.values[0]["error"] for c in lppool) == 57


@pytest.mark.parametrize("case", CASES)
def test_case_agrees_with_pytorch(case: dict[str, Any]) -> None:
    call = layer_call(case)
    shape = tuple(case["input_shape"])
    # The reference runs modules in eval mode unless the case says train_mode (batch statistics).
    training = bool(case.get("train_mode"))
    if case["error"]:
        with pytest.raises(CnncalcError):
            evaluate_inline([call], shape, training=training)
        return
    if 0 in case["output_shape"]:
        # PyTorch returns an empty tensor here; a design tool may (and cnncalc does) call it an error.
        with pytest.raises(CnncalcError, match="too small"):
            evaluate_inline([call], shape, training=training)
        return
    result = evaluate_inline([call], shape, training=training)
    assert list(result.output) == case["output_shape"], call
    assert result.params == case["param_count"], call
    if "param_count_without_bias" in case:
        assert result.params - result.bias == case["param_count_without_bias"], call
    if "buffer_count" in case:
        assert result.buffers == case["buffer_count"], call
