"""`bottleneck --plot FILE.svg|png`: the plot of `solve.plotdata`, drawn with matplotlib (the
optional extra `plot`: pip install 'cnncalc[plot]'), imported here only.

Every element carries an id in the SVG (matplotlib's `gid`), per count (`without-bias`,
`with-bias`, `macs`): `curve-`, `band-`, `baseline-`, `widths-` (the feasible integer widths,
one marker each) and `end-...-N` (an exact interval end, its line and its label `end-...-N-label`).
Text stays text in the SVG (searchable), and the file is the same from run to run.
"""

from __future__ import annotations

import os
from typing import Any

from cnncalc.errors import UsageError
from cnncalc.render.bottleneck import band_text, end_text
from cnncalc.render.numbers import count_text, fixed_text
from cnncalc.solve.plotdata import Curve, PlotData

FORMATS = (".svg", ".png")
EXTRA = "pip install 'cnncalc[plot]'"
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c")


def plot_format(path: str) -> str:
    """The plot's format from its file name ('svg' or 'png'); matplotlib checked to be there."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise UsageError("--plot writes SVG or PNG", expected="a file name ending in .svg or .png", found=repr(path))
    _matplotlib()
    return suffix[1:]


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UsageError("--plot needs matplotlib, which cnncalc installs with its optional extra 'plot'", hint=EXTRA) from None
    return matplotlib


def tag(curve: Curve) -> str:
    """The id suffix of a count's elements."""
    return "macs" if curve.metric == "macs" else "with-bias" if curve.bias else "without-bias"


def name(curve: Curve) -> str:
    return "MACs" if curve.metric == "macs" else "with bias" if curve.bias else "without bias"


def write_plot(data: PlotData, path: str, *, title: str, band: Any, polynomials: tuple[str, ...]) -> None:
    """Draw the plot into `path` (SVG or PNG, by its extension): on the left the whole range
    (the counts up to the baseline, the band, the baselines), on the right the band close up
    (the curves apart, the integer widths, the exact interval ends labelled)."""
    fmt = plot_format(path)
    matplotlib = _matplotlib()
    from matplotlib.figure import Figure

    settings = {"svg.fonttype": "none", "svg.hashsalt": "cnncalc", "font.size": 8}
    with matplotlib.rc_context(settings):
        figure = Figure(figsize=(12, 5.4), dpi=110)
        whole, close = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.25]})
        window = _window(data)
        for index, (curve, polynomial) in enumerate(zip(data.curves, polynomials)):
            colour, t, n = _COLOURS[index % len(_COLOURS)], tag(curve), name(curve)
            marker = {"marker": "o", "color": colour} if index % 2 == 0 else {"marker": "D", "facecolors": "none", "edgecolors": colour}
            whole.axhline(curve.baseline, color=colour, ls="--", lw=1, gid=f"baseline-{t}", label=f"baseline ({n}): {count_text(curve.baseline)}")
            for ax, prefix in ((whole, "overview-"), (close, "")):
                ax.axhspan(float(curve.lower), float(curve.upper), color=colour, alpha=0.10, lw=0, gid=f"{prefix}band-{t}",
                           label=f"band {band_text(band)} ({n}): {_count(curve.lower)} to {_count(curve.upper)}")  # fmt: skip
                ax.plot(curve.xs, curve.ys, color=colour, lw=1.4, gid=f"{prefix}curve-{t}", label=f"{n}: {polynomial}")
                if curve.points:
                    widths = [k for k, _ in curve.points]
                    ax.scatter(widths, [float(v) for _, v in curve.points], s=18, zorder=3, gid=f"{prefix}widths-{t}",
                               label=f"feasible {data.symbol} ({n}): {_widths_text(widths)}", **marker)  # fmt: skip
            for number, end in enumerate(curve.ends):
                assert end.value is not None
                close.axvline(end.value, color=colour, ls=":", lw=1, gid=f"end-{t}-{number}")
                upper_end = number % 2 == 1  # pieces give (lo, hi) ends in turn
                height = (0.06 + 0.11 * index) if upper_end else (0.95 - 0.11 * index)
                close.text(
                    end.value, height, f" {data.symbol} = {end_text(end)} \n ≈ {fixed_text(end.value)} ({n}) ", fontsize=7, color=colour,
                    transform=close.get_xaxis_transform(), gid=f"end-{t}-{number}-label", ha="left" if upper_end else "right",
                    va="bottom" if upper_end else "top",
                )  # fmt: skip
        whole.set_xlim(data.lo, data.hi)
        whole.set_ylim(bottom=0)
        whole.legend(loc="upper left", fontsize=6.5, framealpha=0.9)
        whole.set_title("the whole range", fontsize=9)
        if window is not None:
            (x0, x1), (y0, y1) = window
            close.set_xlim(x0, x1)
            close.set_ylim(y0, y1)
            from matplotlib.patches import Rectangle

            whole.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=0.8, ls="-", color="#555555", gid="zoom-area"))
        close.set_title(f"close up: the band {band_text(band)}, the integer widths and the exact interval ends", fontsize=9)
        metric = "MACs" if data.curves and data.curves[0].metric == "macs" else "parameters"
        for ax in (whole, close):
            ax.set_xlabel(f"{data.symbol} (width)")
            ax.set_ylabel(metric)
            ax.grid(True, lw=0.3, alpha=0.5)
        figure.suptitle(title, fontsize=10)
        figure.tight_layout()
        try:
            figure.savefig(path, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
        except OSError as exc:
            raise UsageError(f"cannot write the plot to {path!r}: {exc.strerror or exc}") from None


def _window(data: PlotData) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The close-up's widths and counts: around the interval ends (else the feasible widths),
    with room for the end labels; and the band with a margin. None with nothing to show."""
    xs = [float(e.value) for c in data.curves for e in c.ends if e.value is not None] or [float(k) for c in data.curves for k, _ in c.points]
    if not xs:
        return None
    span = max(max(xs) - min(xs), 1.0)
    x0, x1 = max(min(xs) - 0.6 * span, float(data.lo)), min(max(xs) + 0.6 * span, float(data.hi))
    low, high = min(float(c.lower) for c in data.curves), max(float(c.upper) for c in data.curves)
    margin = 0.4 * max(high - low, 1.0)
    return (x0, x1), (max(low - margin, 0.0), high + margin)


def _count(value: Any) -> str:
    """A band end as a count: an integer with separators, else one decimal (29,491.2)."""
    return count_text(int(value)) if value == int(value) else f"{float(value):,.1f}"


def _widths_text(widths: list[int]) -> str:
    if len(widths) > 2 and widths == list(range(widths[0], widths[-1] + 1)):
        return f"{widths[0]}..{widths[-1]}"
    return ", ".join(map(str, widths[:8])) + (", ..." if len(widths) > 8 else "")
