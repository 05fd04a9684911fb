"""`bottleneck --plot`: the plot's data (curves, band, baselines, integer widths, exact ends) as
numbers, the drawn SVG's tagged elements, and the errors (one width only; matplotlib missing)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.analysis.evaluate import evaluate_spec
from cnncalc.cli import main
from cnncalc.render.bottleneck import end_text
from cnncalc.solve.band import parse_reduce
from cnncalc.solve.bottleneck import choose, solve_bottleneck
from cnncalc.solve.plotdata import plot_data
from cnncalc.spec import Limits
from cnncalc.spec.zoo import load_spec

from .conftest import CONFIGS, SEED

SVG = "{http://www.w3.org/2000/svg}"
TWO = str(CONFIGS / "bottleneck_two_widths.yaml")


def _seed(band: str = "0.5-0.6") -> object:
    evaluations = evaluate_spec(load_spec(SEED, Limits(), None), counts=frozenset(("params",)))
    base, cand = choose(evaluations, "params", None, None)
    return solve_bottleneck(base, cand, parse_reduce(band), metric="params", biases=(False, True), ranges={}, multiple_of=1, limit=None)


# The seed's counts as the README states them (9*k**2 + 128*k without bias; 73,728 and 73,856).
COUNTS = {False: lambda k: 9 * k**2 + 128 * k, True: lambda k: 9 * k**2 + 130 * k + 64}
BASELINES = {False: 73_728, True: 73_856}


def test_the_seed_plot_data() -> None:
    """Two curves (without and with bias) along 1..past the width where the count reaches the
    baseline; each band 40%-50% of its baseline; the seven widths 51..57 with exact counts."""
    data = plot_data(_seed())  # type: ignore[arg-type]
    assert data.symbol == "k" and data.lo == 1 and data.hi >= 84  # 9k^2 + 128k reaches 73,728 at k = 83.7
    assert [c.bias for c in data.curves] == [False, True]
    for curve in data.curves:
        count, baseline = COUNTS[curve.bias], BASELINES[curve.bias]
        assert curve.baseline == baseline
        assert (curve.lower, curve.upper) == (Fraction(2, 5) * baseline, Fraction(1, 2) * baseline)
        assert curve.xs[0] == 1 and curve.xs[-1] == data.hi and len(curve.xs) == len(curve.ys) > 100
        for x, y in zip(curve.xs, curve.ys):
            assert y == pytest.approx(count(x), rel=1e-12)
        assert curve.points == tuple((k, Fraction(count(k))) for k in range(51, 58))
        assert all(curve.lower <= v <= curve.upper for _, v in curve.points)
        assert count(50) < curve.lower and count(58) > curve.upper  # the neighbours are outside
        assert len(curve.ends) == 2 and all(count(e.value) == pytest.approx(float(b)) for e, b in zip(curve.ends, (curve.lower, curve.upper)))
    assert [end_text(e) for e in data.curves[0].ends] == ["-64/9 + 64*sqrt(1645)/45", "-64/9 + 64*sqrt(82)/9"]


def test_an_open_band_starts_at_zero() -> None:
    data = plot_data(_seed("0.5"))  # type: ignore[arg-type]
    assert all(c.lower == 0 and c.upper == Fraction(c.baseline, 2) for c in data.curves)
    assert [k for k, _ in data.curves[0].points] == list(range(1, 58))


def _plot(runner: CliRunner, path: Path, *args: str) -> bytes:
    result = runner.invoke(main, ["bottleneck", SEED, "--reduce", "0.5-0.6", "--plot", str(path), *args])
    assert result.exit_code == 0, result.stderr
    assert "51..57" in result.stdout  # the table is written as without --plot
    return path.read_bytes()


def _markers(group: ET.Element) -> list[ET.Element]:
    """The markers matplotlib draws for a scatter: one <use> of a shared marker each (filled),
    or one <path> each (hollow); the shared marker's own <path> (in <defs>, with an id) left out."""
    return [e for e in group.iter() if e.tag in (SVG + "use", SVG + "path") and e.get("id") is None]


def test_the_svg_tags_every_element(runner: CliRunner, tmp_path: Path) -> None:
    """Curves, bands, baselines, the seven widths per curve (one marker each) and the exact
    ends with their labels, found by id; the same file from run to run."""
    svg = _plot(runner, tmp_path / "seed.svg")
    root = ET.fromstring(svg)
    ids = {e.get("id"): e for e in root.iter() if e.get("id")}
    for tag in ("without-bias", "with-bias"):
        for element in ("curve", "band", "baseline", "overview-curve", "overview-band"):
            assert f"{element}-{tag}" in ids, (element, tag)
        assert len(_markers(ids[f"widths-{tag}"])) == 7
        for number in (0, 1):
            assert f"end-{tag}-{number}" in ids
    label = "".join(ids["end-without-bias-0-label"].itertext())
    assert "k = -64/9 + 64*sqrt(1645)/45" in label and "50.5722" in label
    text = "".join(root.itertext())
    assert "9*k**2 + 128*k" in text and "9*k**2 + 130*k + 64" in text and "baseline (with bias): 73,856" in text
    assert _plot(runner, tmp_path / "again.svg") == svg


def test_a_png_plot(runner: CliRunner, tmp_path: Path) -> None:
    assert _plot(runner, tmp_path / "seed.png").startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((SEED, "--plot", "seed.jpeg"), "--plot writes SVG or PNG"),
        ((TWO, "--plot", "two.svg"), "--plot draws the count against one width"),
    ],
)
def test_plot_errors(runner: CliRunner, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    spec, *rest = args
    result = runner.invoke(main, ["bottleneck", spec, "--reduce", "0.5-0.6", *[str(tmp_path / a) if a.endswith((".svg", ".jpeg")) else a for a in rest]])
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())


def test_without_matplotlib_the_error_names_the_extra(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """matplotlib hidden (an import of it fails): exit 2 before solving, naming the extra."""
    for module in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = runner.invoke(main, ["bottleneck", SEED, "--reduce", "0.5-0.6", "--plot", str(tmp_path / "seed.svg")])
    assert result.exit_code == 2 and result.stdout == ""
    assert "--plot needs matplotlib" in result.stderr and "pip install 'cnncalc[plot]'" in result.stderr
    assert not (tmp_path / "seed.svg").exists()
