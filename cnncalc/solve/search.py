"""`cnncalc solve`: every integer assignment of the free symbols that meets the constraints, exactly.

The problem arrives as data: the constraints as comparisons of exact values (ints, Fractions,
sympy expressions of the free symbols) joined by and/or/not (`cnncalc.spec.expr.relations`), the
network's validity conditions, the ranges, and an optional objective. This module decides, for
each symbol, the integers to search, and then one of two exact methods:

- "roots": one symbol and every compared value a polynomial in it: the real solution set from
  the exact real roots of each comparison (`roots.real_roots`: surds, or sympy's roots beyond
  degree 2), the integer solutions from exact integer root isolation (`integers.integer_runs`),
  unbounded ranges allowed; the validity conditions cut the runs (`validity.Checks`).
- "evaluation": anything else (several symbols, floor/ceil/max metrics): every point of the
  finite grid is tested by Python code generated from the expressions (`codegen`), in exact
  integer arithmetic, with the validity conditions among the tests.

A symbol's range is `--range`, else derived and said so: from the validity conditions (a
padding at most half the kernel, a group count dividing the channels), or from a comparison
`g <= 0` whose `g` provably never decreases in any symbol (`validity.nondecreasing`), as the
largest value with the other symbols at their lowest. Without either, the search asks for a
range (exit 2). It returns numbers (`SolveResult`); `cnncalc.render.solve` writes them out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy

from cnncalc.conditions import Condition
from cnncalc.errors import LimitError, UsageError
from cnncalc.solve import codegen
from cnncalc.solve.band import Bound
from cnncalc.solve.integers import horner, integer_runs, stepped
from cnncalc.solve.rational import as_fraction
from cnncalc.solve.results import Piece, Row, Run
from cnncalc.solve.roots import rational_approx, real_roots, solution_pieces
from cnncalc.solve.validity import Checks, first_true, nondecreasing

MAX_POINTS = 20_000_000  # grid points the evaluation method may visit (about 10 s)
MAX_OBJECTIVE_POINTS = 5_000_000  # feasible points an objective is evaluated at
DEFAULT_LIMIT = 50  # points listed unless --limit says otherwise (counts are always complete)
_KINDS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
_NEGATED = {"lt": "ge", "le": "gt", "gt": "le", "ge": "lt", "eq": "ne", "ne": "eq"}
_SIGN_OK = {
    "lt": lambda s: s < 0, "le": lambda s: s <= 0, "gt": lambda s: s > 0, "ge": lambda s: s >= 0,
    "eq": lambda s: s == 0, "ne": lambda s: s != 0,
}


@dataclass(frozen=True)
class Comparison:
    """One comparison as written (`0.4*plain.params <= bottleneck.params`), both sides exact."""

    text: str
    op: str
    lhs: Any
    rhs: Any

    @property
    def difference(self) -> Any:
        return _simplest(sympy.expand(_sym(self.lhs) - _sym(self.rhs)))


@dataclass(frozen=True)
class Objective:
    """--maximize/--minimize EXPR (one value), or --pareto A,B (two, each minimized)."""

    sense: str  # "max", "min" or "pareto"
    texts: tuple[str, ...]
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Question:
    """A solve problem, as data."""

    relations: tuple[Any, ...]  # one relation tree per --where (expr.relations, values exact)
    comparisons: tuple[Comparison, ...]  # every comparison of the trees, as written
    conditions: tuple[Condition, ...]  # the network's validity conditions
    ranges: dict[str | None, tuple[int, int | None]]
    steps: dict[str | None, int]  # --multiple-of: per symbol, or None for every symbol
    objective: Objective | None = None
    limit: int = DEFAULT_LIMIT
    extra_symbols: tuple[Any, ...] = ()  # symbols the problem has besides those of the constraints


@dataclass(frozen=True)
class Derived:
    """How a symbol's searched range was found: given, from the conditions, or from a constraint."""

    name: str
    how: str  # "given", "conditions", "constraint", "roots" (unbounded, solved exactly)
    detail: str = ""


@dataclass(frozen=True)
class Optimum:
    sense: str
    texts: tuple[str, ...]
    value: Any  # the optimal value (max/min), None for pareto
    points: tuple[tuple[int, ...], ...]  # the optimal points (ties), or the Pareto front, listed to the limit
    values: tuple[tuple[Any, ...], ...]  # each listed point's objective values
    count: int  # all of them


@dataclass(frozen=True)
class SolveResult:
    symbols: tuple[str, ...]
    comparisons: tuple[Comparison, ...]
    conditions: tuple[Condition, ...]
    bounds: tuple[Bound, ...]  # the integers searched per symbol (hi None: unbounded, roots only)
    steps: tuple[int, ...]
    derived: tuple[Derived, ...]
    method: str  # "roots" or "evaluation"
    points_searched: int | None  # grid points tested (evaluation), None for roots
    pieces: tuple[Piece, ...]  # roots: the real solution set
    roots: tuple[tuple[str, tuple[Any, ...]], ...]  # roots: each comparison's boundary roots
    rows: tuple[Row, ...]  # feasible runs of the last symbol per value of the others (every row; render lists `limit`)
    row_count: int
    listed: tuple[tuple[int, ...], ...]
    total: int | None  # every feasible point (None: unbounded)
    optimum: Optimum | None

    @property
    def truncated(self) -> bool:
        return self.total is None or self.total > len(self.listed)

    @property
    def empty(self) -> bool:
        return self.total == 0


# ----------------------------------------------------------------------------- values


def _sym(value: Any) -> Any:
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, bool):
        return sympy.Integer(int(value))
    if isinstance(value, int):
        return sympy.Integer(value)
    return value


def _simplest(value: Any) -> Any:
    """A sympy number as an int or Fraction; expressions stay sympy."""
    if isinstance(value, sympy.Basic) and value.is_Number:
        if value.is_Integer:
            return int(value)
        if value.is_Rational:
            return Fraction(int(value.p), int(value.q))
    return value


def natural(symbols: Iterable[Any]) -> tuple[Any, ...]:
    """Symbols in natural order: k2 before k10."""

    def key(s: Any) -> list[Any]:
        return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", s.name)]

    return tuple(sorted(set(symbols), key=key))


# ----------------------------------------------------------------------------- relations as checks


def checks_of(relation: Any, negate: bool = False) -> Any:
    """A relation tree (`expr.relations`) as a check tree for `codegen`, negations pushed into the
    comparisons; each comparison is `lhs - rhs OP 0`."""
    kind = relation[0]
    if kind == "cmp":
        _, op, lhs, rhs, _text = relation
        check = _KINDS[op]
        return (_NEGATED[check] if negate else check, _simplest(sympy.expand(_sym(lhs) - _sym(rhs))))
    if kind == "not":
        return checks_of(relation[1], not negate)
    if kind == "const":
        return ("any", []) if relation[1] is negate else ("all", [])
    joined = "all" if (kind == "and") is not negate else "any"
    return (joined, [checks_of(part, negate) for part in relation[1]])


def comparisons_of(relation: Any) -> list[Comparison]:
    if relation[0] == "cmp":
        return [Comparison(relation[4], relation[1], relation[2], relation[3])]
    if relation[0] == "not":
        return comparisons_of(relation[1])
    if relation[0] == "const":
        return []
    return [c for part in relation[1] for c in comparisons_of(part)]


def conjuncts(check: Any) -> list[Any]:
    """A check tree's top-level conjunction, flattened."""
    if check[0] == "all":
        return [c for part in check[1] for c in conjuncts(part)]
    return [check]


def _leaves(check: Any) -> Iterator[tuple[str, Any]]:
    if check[0] in ("all", "any"):
        for part in check[1]:
            yield from _leaves(part)
    elif check[0] == "not":
        yield from _leaves(check[1])
    else:
        yield check


def condition_check(condition: Condition) -> tuple[str, Any]:
    """A validity condition as a check: difference >= 0, == 0, != 0, or an integer."""
    kind = {"ge": "ge", "eq": "eq", "ne": "ne", "int": "int"}[condition.kind]
    return (kind, _simplest(sympy.expand(_sym(condition.difference))) if kind != "int" else _simplest(_sym(condition.difference)))


def free_of(value: Any) -> set[Any]:
    return set(getattr(value, "free_symbols", ()))


# ----------------------------------------------------------------------------- ranges


def _given(question: Question, names: Sequence[str]) -> dict[str, Bound]:
    for name in list(question.ranges) + list(question.steps):
        if name is not None and name not in names:
            from cnncalc.spec import did_you_mean

            raise UsageError(
                f"--range or --multiple-of names {name!r}, which is not a free symbol of the problem",
                expected="one of " + (", ".join(names) or "(no free symbols)"),
                found=repr(name),
                hint=did_you_mean(name, names),
            )
    bounds = {}
    for name in names:
        explicit = name in question.ranges or None in question.ranges
        lo, hi = question.ranges.get(name, question.ranges.get(None, (1, None)))
        bounds[name] = Bound(name, lo, hi, explicit)
    return bounds


def _step(question: Question, name: str) -> int:
    return question.steps.get(name, question.steps.get(None, 1))


def derive_bounds(
    symbols: tuple[Any, ...], bounds: dict[str, Bound], tops: Sequence[Any], conditions: Sequence[Condition]
) -> tuple[dict[str, Bound], list[Derived]]:
    """Each symbol's searched range: given, else from its own validity conditions, else from a
    constraint `g <= 0` (or `g < 0`) with `g` never decreasing in any symbol."""
    derived: list[Derived] = []
    out = dict(bounds)
    for s in symbols:
        b = out[s.name]
        alone = Checks([c for c in conditions if c.symbols and c.symbols <= {s}], s)
        lo = max(b.lo, alone.low)
        hi = b.hi
        how = "given" if b.hi is not None else ""
        if alone.high is not None and (hi is None or alone.high < hi):
            hi = alone.high
            how = how or "conditions"
        out[s.name] = Bound(s.name, lo, hi, b.explicit)
        if how:
            derived.append(Derived(s.name, how))
    growing = []
    for check in tops:
        kind, value = check
        if kind in ("le", "lt"):
            g = value
        elif kind in ("ge", "gt"):
            g = _simplest(-_sym(value))
        else:
            continue
        if isinstance(g, sympy.Basic) and g.free_symbols and all(nondecreasing(g, t) for t in g.free_symbols):
            growing.append((g, kind in ("lt", "gt")))
    for s in symbols:
        if out[s.name].hi is not None:
            continue
        best: int | None = None
        for g, strict in growing:
            if s not in g.free_symbols:
                continue
            others = {t: out[t.name].lo for t in g.free_symbols if t != s}
            at = codegen.value_function([s], [g.xreplace({t: sympy.Integer(v) for t, v in others.items()})])

            def fails(k: int, at: Any = at, strict: bool = strict) -> bool:
                v = at(k)[0]
                return bool(v >= 0) if strict else bool(v > 0)

            first_bad = first_true(fails, out[s.name].lo, None)
            if first_bad is not None and (best is None or first_bad - 1 < best):
                best = first_bad - 1
        if best is not None:
            b = out[s.name]
            out[s.name] = Bound(s.name, b.lo, best, b.explicit)
            derived.append(Derived(s.name, "constraint"))
    return out, derived


# ----------------------------------------------------------------------------- the real solution set (one symbol)


def _coefficients(value: Any, s: Any) -> list[Fraction] | None:
    """Ascending exact coefficients of a polynomial in s, or None."""
    if not isinstance(value, sympy.Basic):
        return [Fraction(value)]
    if not value.free_symbols <= {s}:
        return None
    try:
        poly = sympy.Poly(value, s)
    except sympy.PolynomialError:
        return None
    coeffs = poly.all_coeffs()
    if not all(c.is_Rational for c in coeffs):
        return None
    return [as_fraction(c) for c in reversed(coeffs)]


def _truth(check: Any, sign_of: Any) -> bool:
    kind = check[0]
    if kind == "all":
        return all(_truth(c, sign_of) for c in check[1])
    if kind == "any":
        return any(_truth(c, sign_of) for c in check[1])
    if kind == "not":
        return not _truth(check[1], sign_of)
    ok: bool = _SIGN_OK[kind](sign_of(id(check)))
    return ok


def real_set(tree: Any, s: Any, polys: dict[int, list[Fraction]], bound: Bound) -> tuple[tuple[Piece, ...], list[tuple[int, tuple[Any, ...]]]]:
    """The real solution set of a check tree whose values are polynomials in s, ends exact; and
    each leaf's real roots. The domain is (0, oo), or [lo, hi] for an explicit --range."""
    leaves = list(_leaves(tree))
    roots = [(id(leaf), real_roots(polys[id(leaf)], s)) for leaf in leaves]
    at_root: dict[int, set[Fraction]] = {key: {rational_approx(r) for r in found} for key, found in roots}
    points: dict[Fraction, Any] = {}
    lo_closed = bound.explicit
    d_lo = Fraction(bound.lo) if lo_closed else Fraction(0)
    d_hi = None if bound.hi is None or not bound.explicit else Fraction(bound.hi)
    for _, found in roots:
        for r in found:
            approx = rational_approx(r)
            if approx > d_lo and (d_hi is None or approx < d_hi):
                points.setdefault(approx, r)

    def feasible(x: Fraction, exact_root: bool = False) -> bool:
        def sign(key: int) -> int:
            if exact_root and x in at_root[key]:
                return 0
            v: Fraction = horner(polys[key], x)
            return int(v > 0) - int(v < 0)

        return _truth(tree, sign)

    return solution_pieces(sorted(points.items()), d_lo, lo_closed, d_hi, feasible, lambda root: feasible(root, True)), roots


# ----------------------------------------------------------------------------- integer runs (one symbol, polynomial)

Span = tuple[int, int | None]


def _leaf_runs(kind: str, coeffs: list[Fraction], lo: int, hi: int | None) -> list[Span]:
    """The integers n in [lo, hi] with P(n) OP 0, exactly (P's values at integers lie in (1/q)Z)."""
    q = math.lcm(*(c.denominator for c in coeffs))
    tick = Fraction(1, q)
    negated = [-c for c in coeffs]
    if kind == "le":
        return integer_runs(coeffs, None, Fraction(0), lo, hi)
    if kind == "lt":
        return integer_runs(coeffs, None, -tick, lo, hi)
    if kind == "ge":
        return integer_runs(negated, None, Fraction(0), lo, hi)
    if kind == "gt":
        return integer_runs(negated, None, -tick, lo, hi)
    if kind == "eq":
        return integer_runs(coeffs, Fraction(0), Fraction(0), lo, hi)
    return _union(integer_runs(coeffs, None, -tick, lo, hi), integer_runs(negated, None, -tick, lo, hi))


def _intersect(a: list[Span], b: list[Span]) -> list[Span]:
    out: list[Span] = []
    for x0, x1 in a:
        for y0, y1 in b:
            first = max(x0, y0)
            last = x1 if y1 is None else (y1 if x1 is None else min(x1, y1))
            if last is None or first <= last:
                out.append((first, last))
    return sorted(out)


def _union(a: list[Span], b: list[Span]) -> list[Span]:
    out: list[Span] = []
    for first, last in sorted(a + b):
        if out and (out[-1][1] is None or out[-1][1] + 1 >= first):
            prev_first, prev_last = out[-1]
            out[-1] = (prev_first, None if prev_last is None or last is None else max(prev_last, last))
        else:
            out.append((first, last))
    return out


def _complement(a: list[Span], lo: int, hi: int | None) -> list[Span]:
    out: list[Span] = []
    at: int | None = lo
    for first, last in a:
        if at is not None and first > at:
            out.append((at, first - 1))
        at = None if last is None else last + 1
    if at is not None and (hi is None or at <= hi):
        out.append((at, hi))
    return out


def _tree_runs(check: Any, polys: dict[int, list[Fraction]], lo: int, hi: int | None) -> list[Span]:
    kind = check[0]
    if kind == "all":
        runs: list[Span] = [(lo, hi)]
        for part in check[1]:
            runs = _intersect(runs, _tree_runs(part, polys, lo, hi))
        return runs
    if kind == "any":
        found: list[Span] = []
        for part in check[1]:
            found = _union(found, _tree_runs(part, polys, lo, hi))
        return found
    if kind == "not":
        return _complement(_tree_runs(check[1], polys, lo, hi), lo, hi)
    return _leaf_runs(kind, polys[id(check)], lo, hi)


# ----------------------------------------------------------------------------- the solver


def solve(question: Question) -> SolveResult:
    """Every feasible integer point, the optimum with its ties, or the Pareto front."""
    trees = [checks_of(r) for r in question.relations]
    tree = ("all", trees)
    values = [v for leaf in _leaves(tree) for v in [leaf[1]]]
    objective_values = list(question.objective.values) if question.objective else []
    found: set[Any] = set(question.extra_symbols)
    for v in [*values, *objective_values]:
        found |= free_of(v)
    for c in question.conditions:
        found |= set(c.symbols)
    symbols = natural(found)
    names = tuple(s.name for s in symbols)
    if not symbols:
        raise UsageError(
            "nothing to solve for: the constraints hold no free symbol",
            expected="a spec with a free symbol (a width k, --input 3,H,W, --batch B)",
            hint="cnncalc params or cost answers questions without unknowns",
        )
    bounds = _given(question, names)
    tops = conjuncts(tree)
    conditions = tuple(question.conditions)
    bounds, derived = derive_bounds(symbols, bounds, tops, conditions)
    steps = tuple(_step(question, n) for n in names)
    polys: dict[int, list[Fraction]] = {}
    polynomial = len(symbols) == 1
    if polynomial:
        for leaf in _leaves(tree):
            coeffs = _coefficients(leaf[1], symbols[0])
            if coeffs is None:
                polynomial = False
                break
            polys[id(leaf)] = coeffs
    if polynomial:
        result = _by_roots(question, tree, symbols[0], bounds[names[0]], steps[0], polys, conditions, derived)
    else:
        result = _by_evaluation(question, tree, symbols, bounds, steps, conditions, derived)
    return result


def _unbounded(names: Sequence[str], bounds: dict[str, Bound], polynomial_hint: bool) -> UsageError:
    missing = [n for n in names if bounds[n].hi is None]
    why = (
        "no --range, no bound from the validity conditions, and no constraint that bounds it (a constraint "
        "'metric <= budget' bounds a symbol when the metric provably grows with every symbol)"
    )
    return UsageError(
        f"cannot tell how far to search {', '.join(missing)}: {why}",
        expected=" ".join(f"--range {n}=A..B" for n in missing),
        found="an unbounded search" + (" over several symbols or a metric that is not a polynomial" if polynomial_hint else ""),
        hint=f"e.g. --range {missing[0]}=1..1024",
    )


def _by_roots(
    question: Question, tree: Any, s: Any, bound: Bound, step: int, polys: dict[int, list[Fraction]], conditions: tuple[Condition, ...], derived: list[Derived]
) -> SolveResult:
    pieces, roots = real_set(tree, s, polys, bound)
    spans = _tree_runs(tree, polys, bound.lo, bound.hi)
    runs = stepped(spans, step)
    checks = Checks([c for c in conditions if c.symbols <= {s}], s)
    runs = checks.restrict(runs, [50_000])
    if bound.hi is None and not any(d.name == s.name for d in derived):
        derived.append(Derived(s.name, "roots"))
    leaves = {id(leaf): leaf for leaf in _leaves(tree)}
    texts = _leaf_texts(question, tree)
    rows = (Row((), tuple(runs)),) if runs else ()
    listed, total = _listing(rows, question.limit)
    optimum = _optimize(question, (s,), rows, total) if question.objective else None
    return SolveResult(
        (s.name,), question.comparisons, conditions, (bound,), (step,), tuple(derived), "roots", None, pieces,
        tuple((texts.get(key, ""), found) for key, found in roots if key in leaves), rows, len(rows), listed, total, optimum,
    )


def _leaf_texts(question: Question, tree: Any) -> dict[int, str]:
    """Each leaf check's comparison as written (leaves come in the order of the comparisons;
    validity conditions are not leaves of the tree)."""
    leaves = list(_leaves(tree))
    return {id(leaf): c.text for leaf, c in zip(leaves, question.comparisons)}


def _by_evaluation(
    question: Question, tree: Any, symbols: tuple[Any, ...], bounds: dict[str, Bound], steps: tuple[int, ...], conditions: tuple[Condition, ...],
    derived: list[Derived],
) -> SolveResult:
    names = [s.name for s in symbols]
    if any(bounds[n].hi is None for n in names):
        raise _unbounded(names, bounds, True)
    ranges = []
    for n, step in zip(names, steps):
        b = bounds[n]
        first = -(-b.lo // step) * step
        assert b.hi is not None
        ranges.append(range(first, b.hi + 1, step))
    size = math.prod(len(r) for r in ranges)
    if size > MAX_POINTS:
        raise LimitError(
            f"the search over {', '.join(names)} is too large",
            expected=f"at most {MAX_POINTS:,} points",
            found=f"{size:,}",
            hint="narrow it with --range NAME=A..B, --multiple-of N or --set NAME=VALUE",
        )
    checks = [*conjuncts(tree), *(condition_check(c) for c in conditions)]
    try:
        search = codegen.search_function(symbols, checks)
    except codegen.Unsupported as exc:
        raise UsageError(
            f"a metric or constraint holds an operation the exact evaluator does not take ({exc})",
            expected="arithmetic, floor, ceil, max, min, integer powers",
        ) from None
    out: list[tuple[tuple[int, ...], list[int]]] = []
    try:
        search(ranges, out)
    except ZeroDivisionError:
        raise UsageError("a metric divides by zero somewhere in the searched range", hint="narrow it with --range NAME=A..B") from None
    inner_step = steps[-1]
    all_rows = [Row(outer, _grouped(values, inner_step)) for outer, values in out]
    listed, total = _listing(all_rows, question.limit)
    optimum = _optimize(question, symbols, all_rows, total) if question.objective else None
    return SolveResult(
        tuple(names), question.comparisons, conditions, tuple(bounds[n] for n in names), steps, tuple(derived), "evaluation", size, (), (),
        tuple(all_rows), len(all_rows), listed, total, optimum,
    )


def _grouped(values: list[int], step: int) -> tuple[Run, ...]:
    """Sorted values of one progression grouped into maximal runs (a run per gap, not per value)."""
    if values[-1] - values[0] == (len(values) - 1) * step:
        return (Run(values[0], values[-1], step),)  # the common case: one run
    runs = []
    start = previous = values[0]
    for v in values[1:]:
        if v - previous != step:
            runs.append(Run(start, previous, step))
            start = v
        previous = v
    runs.append(Run(start, previous, step))
    return tuple(runs)


def _points(rows: Sequence[Row]) -> Iterator[tuple[int, ...]]:
    for row in rows:
        for run in row.runs:
            assert run.last is not None
            for v in range(run.first, run.last + 1, run.step):
                yield (*row.outer, v)


def _listing(rows: Sequence[Row], limit: int) -> tuple[tuple[tuple[int, ...], ...], int | None]:
    total: int | None = 0
    for row in rows:
        for run in row.runs:
            size = run.size
            total = None if size is None or total is None else total + size
    listed: list[tuple[int, ...]] = []
    for row in rows:
        for run in row.runs:
            for v in run.values(limit - len(listed)):
                listed.append((*row.outer, v))
        if len(listed) >= limit:
            break
    return tuple(listed), total


def _optimize(question: Question, symbols: tuple[Any, ...], rows: Sequence[Row], total: int | None) -> Optimum | None:
    objective = question.objective
    assert objective is not None
    if total is None:
        raise UsageError(
            f"the feasible set is unbounded, so --{'pareto' if objective.sense == 'pareto' else objective.sense + 'imize'} cannot visit it all",
            expected="a bounded search",
            hint=f"bound it with --range {symbols[0].name}=A..B or a constraint",
        )
    if total > MAX_OBJECTIVE_POINTS:
        raise LimitError("too many feasible points to optimize over", expected=f"at most {MAX_OBJECTIVE_POINTS:,}", found=f"{total:,}",
                         hint="narrow the search with --range or a tighter constraint")
    if total == 0:
        return Optimum(objective.sense, objective.texts, None, (), (), 0)
    try:
        value_at = codegen.value_function(symbols, objective.values)
    except codegen.Unsupported as exc:
        raise UsageError(f"the objective holds an operation the exact evaluator does not take ({exc})") from None
    limit = question.limit
    if objective.sense in ("max", "min"):
        try:
            best_of = codegen.best_function(symbols, objective.values[0], objective.sense)
        except codegen.Unsupported as exc:
            raise UsageError(f"the objective holds an operation the exact evaluator does not take ({exc})") from None
        runs = [(row.outer, [(run.first, run.last, run.step) for run in row.runs]) for row in rows]
        best, ties, count = best_of(runs, limit)
        return Optimum(objective.sense, objective.texts, best, tuple(ties), tuple((best,) for _ in ties), count)
    scored = sorted(((value_at(*p), p) for p in _points(rows)), key=lambda item: (item[0][0], item[0][1], item[1]))
    front: list[tuple[tuple[Any, ...], tuple[int, ...]]] = []
    best_b: Any = None
    for (a, b), point in scored:
        if best_b is None or b < best_b:
            front.append(((a, b), point))
            best_b = b
        elif front and (a, b) == front[-1][0]:
            front.append(((a, b), point))  # a tie with the last point of the front: not dominated
    return Optimum(
        "pareto", objective.texts, None, tuple(p for _, p in front[:limit]), tuple(v for v, _ in front[:limit]), len(front),
    )


def grid_size(bounds: Sequence[Bound], steps: Sequence[int]) -> int | None:
    sizes = []
    for b, step in zip(bounds, steps):
        if b.hi is None:
            return None
        first = -(-b.lo // step) * step
        sizes.append(max(0, (b.hi - first) // step + 1))
    return math.prod(sizes)

