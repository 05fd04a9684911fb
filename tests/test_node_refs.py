"""Node shape references (`enc3.spatial`, `input.channels`) wired through the reader and the
evaluator: `LayerCall.refs`, the reader's checks of the names, and the shapes bound per call
(per sample, the batch left out; the parser and evaluator of the forms are tested in test_expr)."""

from __future__ import annotations

import textwrap

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]

from cnncalc.analysis.evaluate import Evaluation, evaluate_inline, evaluate_spec
from cnncalc.errors import SpecError
from cnncalc.spec import Limits, Spec, load_text
from cnncalc.spec.reader import Reader


def _load(text: str) -> Spec:
    return load_text(textwrap.dedent(text), "t.yaml", Limits())


def _run(text: str, **overrides: object) -> Evaluation:
    (evaluation,) = evaluate_spec(_load(text), overrides=overrides)
    return evaluation


def _outputs(evaluation: Evaluation) -> list[tuple[object, ...]]:
    return [row.output[1:] for row in evaluation.rows]


UP = """
name: t
input: [3, 32, 30]
layers:
  - Conv2d: {out_channels: 8, kernel_size: 3, name: a}
  - MaxPool2d: {kernel_size: 2}
  - Upsample: {size: a.spatial}
  - Conv2d: {out_channels: "input.channels * a.height", kernel_size: 1}
"""


def test_refs_are_read_from_arguments() -> None:
    spec = _load(UP)
    assert spec.layers is not None
    assert [call.refs for call in spec.layers] == [frozenset(), frozenset(), {"a"}, {"input", "a"}]


def test_refs_in_lists_repeat_and_inline_text() -> None:
    spec = _load(
        """
        name: t
        input: [3, 32, 30]
        layers:
          - Conv2d: {out_channels: 8, kernel_size: 3, name: a}
          - Upsample: {size: [a.height, input.width]}
          - ReLU: {repeat: "a.channels // 4"}
          - "Conv2d(8, a.channels, 1)"
        """
    )
    assert spec.layers is not None
    assert [call.refs for call in spec.layers[1:]] == [{"a", "input"}, {"a"}, {"a"}]


def test_the_plain_short_cut_leaves_references_to_the_general_path() -> None:
    text = textwrap.dedent(UP)
    reader = Reader("t.yaml", Limits())
    top = yaml.compose(text, Loader=yaml.SafeLoader)
    layers = next(value for key, value in top.value if key.value == "layers")
    assert reader.plain_layer(layers.value[1], "layers[1]", set()) is not None  # MaxPool2d: {kernel_size: 2}
    assert reader.plain_layer(layers.value[2], "layers[2]", set()) is None  # Upsample: {size: a.spatial}


def test_shapes_are_per_sample() -> None:
    evaluation = _run(UP)
    assert _outputs(evaluation) == [(8, 30, 28), (8, 15, 14), (8, 30, 28), (90, 30, 28)]


def test_batch_is_left_out() -> None:
    evaluation = _run(
        """
        name: t
        input: [3, 20, 10]
        batch: 4
        layers:
          - Conv2d: {out_channels: "input.shape[0] + len_", kernel_size: 1}
          - Upsample: {size: "input.shape[-2:]", mode: nearest}
          - Conv2d: {out_channels: "input.shape[1]", kernel_size: 1}
        """,
        len_=0,
    )
    assert [row.output for row in evaluation.rows] == [(4, 3, 20, 10), (4, 3, 20, 10), (4, 20, 20, 10)]


def test_block_call_arguments_read_the_callers_nodes() -> None:
    evaluation = _run(
        """
        name: t
        input: [3, 32, 30]
        blocks:
          up:
            args: {size: null}
            layers:
              - Upsample: {size: size}
              - Conv2d: {out_channels: 4, kernel_size: 1, name: c}
              - Conv2d: {out_channels: "c.channels * 2", kernel_size: 1}
        layers:
          - Conv2d: {out_channels: 8, kernel_size: 3, name: a}
          - MaxPool2d: {kernel_size: 2}
          - up: {size: a.spatial}
          - Conv2d: {out_channels: 2, kernel_size: 1, repeat: "a.channels // 4"}
        """
    )
    assert _outputs(evaluation) == [(8, 30, 28), (8, 15, 14), (8, 30, 28), (4, 30, 28), (8, 30, 28), (2, 30, 28), (2, 30, 28)]


def test_a_block_reads_its_own_input() -> None:
    evaluation = _run(
        """
        name: t
        input: [3, 17, 17]
        blocks:
          down_up:
            layers:
              - MaxPool2d: {kernel_size: 2}
              - Upsample: {size: input.spatial}
        layers:
          - Conv2d: {out_channels: 4, kernel_size: 2}
          - down_up
        """
    )
    assert _outputs(evaluation) == [(4, 16, 16), (4, 8, 8), (4, 16, 16)]


def test_symbolic_sizes_flow_through_references() -> None:
    text = """
        name: t
        input: [3, H, W]
        layers:
          - Conv2d: {out_channels: 8, kernel_size: 3}
          - MaxPool2d: {kernel_size: 2}
          - Upsample: {size: input.spatial}
        """
    evaluation = _run(text)
    h, w = evaluation.output[2:]
    assert (str(h), str(w)) == ("H", "W")
    assert _run(text, H=64, W=48).output == (1, 8, 64, 48)


@pytest.mark.parametrize(
    ("entry", "words", "column"),
    [
        ("Upsample: {size: b.spatial}", "'b' is not a node above this layer: it is defined later, at line 6", 22),
        ("Upsample: {size: c.spatial, name: c}", "it is this layer's own output", 22),
        ("Upsample: {size: zz.spatial}", "'zz' is not a node above this layer", 22),
        ("Upsample: {size: [a.height, zz.width]}", "'zz' is not a node above this layer", 33),
        ("Upsample: {size: [a.height, aa.width]}", "did you mean 'a'", 33),
        ('"Upsample(size=q.spatial)"', "'q' is not a node above this layer", 20),
        ("ReLU: {repeat: q.channels}", "'q' is not a node above this layer", 20),
    ],
)
def test_unknown_nodes_are_refused_where_written(entry: str, words: str, column: int) -> None:
    text = f"name: t\ninput: [3, 32, 30]\nlayers:\n  - Conv2d: {{out_channels: 8, kernel_size: 3, name: a}}\n  - {entry}\n  - ReLU: {{name: b}}\n"
    with pytest.raises(SpecError, match=words) as caught:
        load_text(text, "t.yaml", Limits())
    assert caught.value.position is not None
    assert (caught.value.position.line, caught.value.position.column) == (5, column)
    assert "layers[1]" in (caught.value.path or "")


def test_a_block_list_sees_only_its_own_nodes() -> None:
    with pytest.raises(SpecError, match="'a' is not a node above this layer"):
        _load(
            """
            name: t
            input: [3, 8, 8]
            blocks:
              b:
                layers:
                  - Upsample: {size: a.spatial}
            layers:
              - ReLU: {name: a}
              - b
            """
        )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: t\ninput: [3, a.height]\nlayers: [ReLU]\n", "the input shape cannot read a node's shape"),
        ("name: t\ninput: [3, 5]\nvars: {q: b.width}\nlayers: [ReLU]\n", "a variable cannot read a node's shape"),
        ("name: t\ninput: [3, 5]\nbatch: input.channels\nlayers: [ReLU]\n", "the batch size cannot read a node's shape"),
        (
            "name: t\ninput: [3, 5]\nblocks:\n  u:\n    args: {s: input.spatial}\n    layers: [ReLU]\nlayers: [u]\n",
            "a block argument's default cannot read a node's shape",
        ),
    ],
)
def test_references_outside_layer_lists_are_refused(text: str, words: str) -> None:
    with pytest.raises(SpecError, match=words) as caught:
        load_text(text, "t.yaml", Limits())
    assert caught.value.position is not None


def test_command_line_layers_cannot_read_nodes() -> None:
    with pytest.raises(SpecError, match="layers given on the command line cannot read a node's shape"):
        evaluate_inline(["Upsample(size=input.spatial)"], (1, 3, 8, 8))


def test_a_pool_over_a_nodes_whole_length() -> None:
    """`F.avg_pool1d(x, x.shape[-1])` (an M5 audio net's head): the kernel read from the node."""
    evaluation = _run(
        """
        name: t
        input: [1, 8000]
        layers:
          - Conv1d: {out_channels: 32, kernel_size: 80, stride: 16, name: feat}
          - AvgPool1d: {kernel_size: feat.length}
          - Conv1d: {out_channels: 4, kernel_size: 1}
        """
    )
    assert _outputs(evaluation) == [(32, 496), (32, 1), (4, 1)]


def test_a_node_missing_at_evaluation_is_a_located_error() -> None:
    """The reader refuses unknown nodes; should a call reach the evaluator with one all the same
    (arguments parsed after reading), the expression's own located error is raised, no KeyError."""
    from cnncalc.analysis.expand import node_shapes

    assert node_shapes({"k": 1}, frozenset({"a", "b"}), {"a": (1, 3, 4, 5)}) == {"k": 1, "@a": (3, 4, 5)}
