"""`cnncalc solve` set up: constraint text read by the whitelist parser, the metrics it names
computed once (symbolically), and the `search.Question` built from them.

Names in a constraint (see docs/grammar.md, "solve's metrics"):
- `BLOCK.metric` (`plain.params`): the metric of the spec's block BLOCK evaluated on its own;
- a bare metric (`params`, `macs`, `rf_h`): the network's (the spec's `layers:`), or with
  `--block NAME` that block's;
- any other name: a free symbol of the problem (of a metric, a validity condition, `--input
  3,H,W` or `--batch B`), or a name bound with `--set` (its value).
Everything else is a located error (`--where:N:COLUMN`, N counting the --where options), with a
did-you-mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cnncalc import arith
from cnncalc.analysis.evaluate import Evaluation, evaluate_spec
from cnncalc.analysis.validity import Stated
from cnncalc.conditions import Condition
from cnncalc.errors import ExprError, Position, UsageError, clip
from cnncalc.solve.metrics import metrics_of
from cnncalc.solve.search import DEFAULT_LIMIT, Comparison, Objective, Question, comparisons_of
from cnncalc.spec import Limits, did_you_mean, expr
from cnncalc.spec.model import Spec

NETWORK = ""  # the key of the network's (or --block's) metrics


@dataclass(frozen=True)
class Setup:
    """The problem as solve reads it: the metric values used (for --explain), the conditions."""

    spec_name: str
    question: Question
    metrics: tuple[tuple[str, Any], ...]  # ("bottleneck.params", 9*k**2 + 130*k + 64), ("params", ...)
    stated: tuple[Stated, ...]  # the validity conditions as the other commands state them
    wheres: tuple[str, ...]
    network: str  # what bare metrics read: the spec's name, or the --block


def _parse(text: str, option: str, index: int) -> expr.Expr:
    return expr.parse(text, Position(option, index, 1), metrics=True)


def build(
    spec: Spec,
    wheres: Sequence[str],
    *,
    maximize: str | None = None,
    minimize: str | None = None,
    pareto: str | None = None,
    ranges: Mapping[str | None, tuple[int, int | None]] | None = None,
    steps: Mapping[str | None, int] | None = None,
    block: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    input_shape: tuple[Any, ...] | None = None,
    limits: Limits = Limits(),
    dtype: str = "float32",
    optimizer: str = "sgd",
    mixed: bool = False,
    limit: int | None = None,
) -> Setup:
    if not wheres:
        raise UsageError("give at least one constraint", expected="--where CONSTRAINT, e.g. --where 'params <= 5M'")
    parsed = [(_parse(text, "--where", i + 1), "--where", i + 1) for i, text in enumerate(wheres)]
    chosen = [(s, t) for s, t in (("max", maximize), ("min", minimize), ("pareto", pareto)) if t is not None]
    if len(chosen) > 1:
        raise UsageError("give one objective", expected="--maximize, --minimize or --pareto", found=", ".join(f"--{s}" for s, _ in chosen))
    objective_parsed = [(_parse(t, f"--{'pareto' if s == 'pareto' else s + 'imize'}", 1), s) for s, t in chosen]
    every = [(p, Position(option, index, 1)) for p, option, index in parsed]
    every += [(p, Position(f"--{'pareto' if sense == 'pareto' else sense + 'imize'}", 1, 1)) for p, sense in objective_parsed]
    # Which metrics of which evaluation: the network's (bare names) and each named block's.
    wanted: dict[str, set[str]] = {}
    for p, where in every:
        for owner, name, column in expr.metric_names(p):
            if owner:
                _known_block(spec, owner, p, name, where._replace(column=1 + column))
                wanted.setdefault(owner, set()).add(name)
            elif name in expr.SOLVE_METRICS:
                wanted.setdefault(NETWORK, set()).add(name)
    if block is not None and block not in spec.blocks:
        raise UsageError(
            f"--block: no block named {block!r} in the spec", expected="one of " + (", ".join(spec.blocks) or "(no blocks)"),
            found=repr(block), hint=did_you_mean(block, list(spec.blocks)),
        )
    options: dict[str, Any] = {"overrides": dict(overrides or {}), "limits": limits, "counts": frozenset(("params", "macs")), "input_shape": input_shape}
    evaluations: dict[str, Evaluation] = {}
    network_name = block or spec.name
    if not wanted and block is None and spec.layers is None:
        wanted = {b: set() for b in spec.blocks}  # no metric named: the blocks give the symbols and conditions
    if NETWORK in wanted or not wanted:
        if block is None and spec.layers is None:
            bare = sorted(wanted.get(NETWORK, ()))
            raise UsageError(
                f"the spec has no network (no 'layers:') for the metric{'s' if len(bare) > 1 else ''} {', '.join(bare) or 'asked'}",
                expected="BLOCK.metric (" + ", ".join(f"{b}.{bare[0] if bare else 'params'}" for b in spec.blocks) + ") or --block NAME",
                found=", ".join(bare),
            )
        evaluations[NETWORK] = evaluate_spec(spec, blocks=(block,) if block else (), **options)[0]
    named = sorted(b for b in wanted if b != NETWORK)
    if named:
        for e in evaluate_spec(spec, blocks=tuple(named), **options):
            evaluations[e.name] = e
    env: dict[str, Any] = {}
    shown: list[tuple[str, Any]] = []
    for owner, names in wanted.items():
        values = metrics_of(evaluations[owner], names, dtype=dtype, optimizer=optimizer, mixed=mixed)
        for name in sorted(names, key=expr.SOLVE_METRICS.index):
            key = name if owner == NETWORK else expr.METRIC_KEY + owner + "." + name
            env[key] = values[name]
            shown.append((name if owner == NETWORK else f"{owner}.{name}", values[name]))
    # The free symbols: of the evaluations' metrics and conditions, the input and the batch.
    symbols: dict[str, Any] = {}
    conditions: dict[tuple[str, Any], Condition] = {}
    stated: list[Stated] = []
    for e in evaluations.values():
        for s in e.conditions:
            if s not in stated:
                stated.append(s)
            for c in s.conditions:
                conditions.setdefault((c.kind, c.difference), c)
                for sym in c.symbols:
                    symbols[sym.name] = sym
        for value in (e.params, e.macs, e.batch, *e.input):
            for sym in getattr(value, "free_symbols", ()):
                symbols[sym.name] = sym
    for value in env.values():
        for sym in getattr(value, "free_symbols", ()):
            symbols[sym.name] = sym
    for p, where in every:
        for owner, name, column in expr.metric_names(p):
            if owner or name in expr.SOLVE_METRICS:
                continue
            if name in symbols:
                env[name] = symbols[name]
            elif overrides and name in overrides and arith.is_number(overrides[name]):
                env[name] = overrides[name]  # a name bound with --set reads its value
            else:
                raise _unknown(p, name, where._replace(column=1 + column), sorted(symbols))
    relations = tuple(expr.relations(p, env, position=Position(option, index, 1)) for p, option, index in parsed)
    comparisons: list[Comparison] = [c for r in relations for c in comparisons_of(r)]
    objective = None
    if objective_parsed:
        p, sense = objective_parsed[0]
        value = expr.exact_value(p, env, position=Position(f"--{'pareto' if sense == 'pareto' else sense + 'imize'}", 1, 1))
        if sense == "pareto":
            if not isinstance(value, tuple) or len(value) != 2:
                raise ExprError(f"--pareto takes two objectives in expression {clip(str(p))!r}", position=Position("--pareto", 1, 1), expected="A,B such as params,macs")
            objective = Objective("pareto", tuple(_parts(str(p))), tuple(value))
        else:
            if isinstance(value, tuple):
                raise ExprError(f"--{sense}imize takes one objective", position=Position(f"--{sense}imize", 1, 1), expected="one expression such as k or params", found=repr(clip(str(p))))
            objective = Objective(sense, (str(p).strip(),), (value,))
    question = Question(
        relations, tuple(comparisons), tuple(conditions.values()), dict(ranges or {}), dict(steps or {}), objective,
        DEFAULT_LIMIT if limit is None else limit, tuple(symbols[n] for n in sorted(symbols) if _used_by_problem(symbols[n], env, conditions)),
    )
    return Setup(spec.name, question, tuple(shown), tuple(stated), tuple(wheres), network_name)


def _used_by_problem(sym: Any, env: Mapping[str, Any], conditions: Mapping[Any, Condition]) -> bool:
    """A symbol of the evaluated network counts when a used metric or a condition reads it; one
    only in, say, the MACs of a constraint on params is left out."""
    return any(sym in getattr(v, "free_symbols", ()) for v in env.values()) or any(sym in c.symbols for c in conditions.values())


def _parts(text: str) -> list[str]:
    """The two objectives of --pareto as written (split at the top-level comma)."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch in "(["
        depth -= ch in ")]"
        if ch == "," and depth == 0:
            return [text[:i].strip(), text[i + 1:].strip()]
    return [text.strip()]


def _known_block(spec: Spec, owner: str, parsed: expr.Expr, name: str, position: Position) -> None:
    if owner in spec.blocks:
        return
    raise ExprError(
        f"no block named {owner!r} for {owner}.{name} in expression {clip(str(parsed))!r}",
        position=position,
        expected="a block of the spec: " + (", ".join(spec.blocks) or "(the spec has no blocks)"),
        found=repr(owner),
        hint=did_you_mean(owner, list(spec.blocks)),
    )


def _unknown(parsed: expr.Expr, name: str, position: Position, symbols: list[str]) -> ExprError:
    known = list(expr.SOLVE_METRICS) + symbols
    return ExprError(
        f"unknown name {name!r} in expression {clip(str(parsed))!r}: neither a metric nor a free symbol of the spec",
        position=position,
        expected="a metric (" + ", ".join(expr.SOLVE_METRICS) + ")" + (", or a free symbol: " + ", ".join(symbols) if symbols else ""),
        found=repr(name),
        hint=did_you_mean(name, known),
    )

