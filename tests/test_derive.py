"""Tests for cnncalc.derive: the entry point ``derive`` and the package as a whole."""

from __future__ import annotations

import ast
import dataclasses
import io
import tokenize
from pathlib import Path

import pytest

from cnncalc import derive as dmod
from cnncalc.derive import BN, CHECK_TARGETS, TOPICS, Derivation, check_formula, derive
from cnncalc.errors import UsageError
from cnncalc.render import derive as rmod
from cnncalc.render.derive import FORMATS, render, step_prose

# --- API basics --------------------------------------------------------------


def test_topics_and_formats() -> None:
    assert TOPICS == ("bn", "softmax-ce")
    assert set(FORMATS) == {"text", "latex", "markdown", "json"}
    assert set(CHECK_TARGETS) == set(TOPICS)


def test_unknown_topic_format_and_target_raise() -> None:
    with pytest.raises(ValueError):
        derive("dropout")
    with pytest.raises(ValueError):
        render(Derivation("bn", "t", ()), "pdf")
    with pytest.raises(ValueError):
        check_formula("bn", "nope", BN.gamma)
    with pytest.raises(ValueError):
        check_formula("resnet", "dx", BN.gamma)


def test_bad_arguments_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown topic 'dropout'"):
        derive("dropout")
    with pytest.raises(UsageError, match="unknown bn check target 'nope'"):
        check_formula("bn", "nope", BN.gamma)
    with pytest.raises(UsageError, match="unknown topic 'resnet'"):
        check_formula("resnet", "dx", BN.gamma)


def test_derivations_carry_their_notation_and_size(bn: Derivation, sm: Derivation) -> None:
    assert (bn.topic, bn.size_symbol, sm.topic, sm.size_symbol) == ("bn", "m", "softmax-ce", "n")
    assert bn.notation.startswith("g_i = dl/dy_i") and sm.notation.startswith("z: logits")
    assert bn.title.startswith("Batch normalization") and sm.title.startswith("Softmax and cross-entropy")
    assert [c.name for c in bn.checks][-1] == "dy_i/dx_k (Jacobian)" and bn.seed == 0
    assert set(bn.results) >= {"dx", "dx_compact", "dvar", "dmu", "dgamma", "dbeta", "jacobian"}
    assert set(sm.results) >= {"jacobian", "weights", "dist", "onehot"}


def test_results_are_frozen(bn: Derivation) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        bn.title = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        bn.steps[0].title = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        bn.checks[0].ok = False  # type: ignore[misc]


def test_explain_adds_steps_and_prose(bn: Derivation, bn_explained: Derivation, sm: Derivation,
                                      sm_explained: Derivation) -> None:
    for compact, full in ((bn, bn_explained), (sm, sm_explained)):
        assert len(full.steps) > len(compact.steps)
        assert {s.title for s in compact.steps} <= {s.title for s in full.steps}
        assert all(step_prose(s) for s in full.steps)
        assert sum(bool(step_prose(s)) for s in compact.steps) < len(compact.steps)
        assert len(render(full, "text")) > len(render(compact, "text"))
    assert any("chain rule" in step_prose(s) for s in bn_explained.steps)


# --- hygiene -----------------------------------------------------------------


def test_module_never_parses_strings_into_expressions() -> None:
    sources = sorted(Path(dmod.__file__).parent.glob("*.py")) + [Path(rmod.__file__)]
    for path in sources:
        source = path.read_text(encoding="utf-8")
        names = {tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.NAME}
        assert not names & {"eval", "exec", "sympify", "parse_expr", "lambdify", "S_"}, path
        assert "sympify" not in source, path


def test_package_imports_only_the_foundation_and_prints_nothing() -> None:
    for path in sorted(Path(dmod.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cnncalc"):
                assert node.module == "cnncalc.errors" or node.module.startswith("cnncalc.derive"), (path, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("cnncalc") for a in node.names), path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"print", "open"}, path


def test_every_module_is_at_most_500_lines() -> None:
    for path in sorted(Path(dmod.__file__).parent.glob("*.py")) + [Path(rmod.__file__)]:
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 500, path
