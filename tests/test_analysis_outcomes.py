"""cnncalc.analysis.outcomes: one layer's arguments bound and its outcome computed, bounded, reused."""

from __future__ import annotations

from typing import Any

import pytest

from cnncalc.analysis.outcomes import Outcomes, layer_args
from cnncalc.errors import LimitError, ShapeError, SpecError
from cnncalc.layers import KINDS
from cnncalc.spec import Arg, LayerCall, Position, expr

HERE = Position("t.yaml", 3, 5)


def _conv(**args: Any) -> LayerCall:
    return LayerCall("Conv2d", tuple((k, Arg(v, HERE)) for k, v in args.items()), None, (), None, HERE, "layers[0]", False, frozenset(), False)


def test_layer_args_fill_defaults_and_bind_expressions() -> None:
    args = layer_args(KINDS["Conv2d"], _conv(out_channels=expr.parse("2 * c"), kernel_size=3), {"c": 4}, "p")
    assert args["out_channels"] == 8 and args["kernel_size"] == 3 and args["stride"] == 1


def test_a_missing_argument_is_refused() -> None:
    with pytest.raises(SpecError, match="missing argument 'kernel_size'"):
        layer_args(KINDS["Conv2d"], _conv(out_channels=8), {}, "p")


def test_outcomes_are_reused_for_the_same_layer_on_the_same_inputs() -> None:
    outcomes = Outcomes(explain=False, training=False)
    kind, call, inputs = KINDS["Conv2d"], _conv(out_channels=8, kernel_size=3), ((1, 3, 8, 8),)
    found = outcomes.outcome(kind, call, {}, inputs, "layers[0]")
    assert found[0].output == (1, 8, 6, 6) and dict(found[1])["kernel_size"] == 3
    assert outcomes.outcome(kind, call, {}, inputs, "layers[9]") is found
    assert len(outcomes.cache) == 2  # by its literal arguments, and by its bound ones
    computed = _conv(out_channels=expr.parse("8"), kernel_size=3)  # not literal: found by its bound values
    assert outcomes.outcome(kind, computed, {}, inputs, "layers[1]") is found


def test_nothing_is_reused_with_explanations() -> None:
    outcomes = Outcomes(explain=True, training=False)
    kind, call, inputs = KINDS["Conv2d"], _conv(out_channels=8, kernel_size=3), ((1, 3, 8, 8),)
    first = outcomes.outcome(kind, call, {}, inputs, "layers[0]")
    assert outcomes.cache == {}
    assert outcomes.outcome(kind, call, {}, inputs, "layers[0]") is not first


def test_layer_errors_are_placed_at_the_call() -> None:
    outcomes = Outcomes(explain=False, training=False)
    with pytest.raises(ShapeError) as caught:
        outcomes.outcome(KINDS["Conv2d"], _conv(out_channels=8, kernel_size=9), {}, ((1, 3, 8, 8),), "layers[4]")
    assert caught.value.position == HERE and caught.value.path == "layers[4] (Conv2d)"


def test_unbounded_sizes_are_refused() -> None:
    outcomes = Outcomes(explain=False, training=False)
    call = LayerCall("Linear", (("out_features", Arg(2**16_400, HERE)),), None, (), None, HERE, "layers[0]", False, frozenset(), False)
    with pytest.raises(LimitError, match="too large"):
        outcomes.outcome(KINDS["Linear"], call, {}, ((1, 4),), "layers[0]")
