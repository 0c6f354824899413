"""The seed's own figures, done properly, and the helpers every report figure shares.

Every figure is built from ReportInput's DataFrames only and comes back as a ``Figure`` whose
``src`` is a base64 PNG data URI, so the page stays one self-contained file. Figures are drawn
under a local rc context (no global seaborn theme).

Figures are ``matplotlib.figure.Figure`` objects made without pyplot: they render with Agg
whatever backend the caller's session uses, are never registered with pyplot's figure manager
(so a report cannot leak open figures into a notebook or a long run), and are freed once encoded.
"""
from __future__ import annotations

import base64
import functools
import io
import re
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure as MplFigure
from PIL import Image
from scipy.special import ndtri

from gancheck.report import findings
from gancheck.report.data import ReportInput
from gancheck.report.figure_data import hist_edges, target
from gancheck.report.target_view import arm_words, density, target_of
from gancheck.report.labels import OUTCOME_COLOURS, OUTCOME_LABELS, OUTCOME_ORDER
from gancheck.report.tables import arm_order, baseline_name

#: Figures are drawn 8 inches wide and shown at 96 CSS px per inch (768 px: they fit an 800-px
#: window at full size, so 9-pt text stays 12 px), rendered at 1.5 times that (144 dpi): sharp
#: enough on high-density screens, and it keeps the largest design's page under 1.5 MB.
CSS_DPI = 96
DPI = 1.5 * CSS_DPI
WIDTH = 8.0
#: Tints of each drawing colour (its share against white) in the PNGs' fixed palette: enough
#: for antialiased edges, few enough to compress well.
TINTS = (1.0, 0.7, 0.45, 0.25)
MAX_COLUMNS = 4
#: Per-arm figures show at most this many arms (5 rows of 4 panels): a full factorial design
#: (240 arms) would otherwise make 60-row figures of tens of MB.
MAX_ARMS_PLOTTED = 20
#: Okabe-Ito via seaborn's "colorblind": distinguishable under the common colour-vision deficiencies.
PALETTE = sns.color_palette("colorblind")
TARGET_COLOUR = "black"


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    caption: str
    alt: str
    src: str  # data:image/png;base64,...
    width: int = int(WIDTH * CSS_DPI)  # CSS px: the PNG holds 1.5 times as many


@contextmanager
def style():
    """Seaborn's whitegrid look at a legible size, without touching global state.

    ``text.parse_math`` is off because arm names come from users: a "$" in one would otherwise
    be parsed as mathtext and could abort the whole report.
    """
    rc = {**sns.axes_style("whitegrid"), **sns.plotting_context("paper", font_scale=1.0),
          "font.size": 9, "axes.labelsize": 9, "xtick.labelsize": 9, "ytick.labelsize": 9,
          "legend.fontsize": 9, "lines.linewidth": 1.2,
          "text.parse_math": False, "axes.titlesize": 9, "figure.titlesize": 10,
          "figure.constrained_layout.h_pad": 0.06,
          "axes.prop_cycle": matplotlib.cycler(color=PALETTE)}
    with matplotlib.rc_context(rc):
        yield


@functools.lru_cache(maxsize=1)
def _palette_image() -> Image.Image:
    """A fixed PNG palette: every outcome colour and every figure colour exactly, their tints
    against white, greys, and cividis steps for heatmaps. A palette chosen per image (median
    cut) shifted the outcome colours, so that "off target" read as tan in one figure and rose in
    the next; with a fixed one, each outcome has one colour in every figure."""
    bases = [*OUTCOME_COLOURS.values(), *PALETTE, (0.35, 0.35, 0.35)]
    colours = [tuple(round(255 * (t * c + (1 - t))) for c in matplotlib.colors.to_rgb(b))
               for b in bases for t in TINTS]
    colours += [(g, g, g) for g in range(0, 256, 17)]
    cividis = matplotlib.colormaps["cividis"]
    colours += [tuple(round(255 * c) for c in cividis(x)[:3]) for x in np.linspace(0, 1, 24)]
    colours = list(dict.fromkeys(colours))[:256]
    flat = [v for c in colours for v in c] + [0, 0, 0] * (256 - len(colours))
    image = Image.new("P", (1, 1))
    image.putpalette(flat)
    return image


def encode(fig: MplFigure) -> str:
    """PNG data URI of ``fig`` at 1.5x, reduced to the fixed palette (_palette_image).

    Rendered by Agg (savefig picks it for raw RGBA on a bare Figure, as for PNG). The palette
    keeps the largest design's page under 1.5 MB: a line drawing on white has few colours, and
    the quantised image is about a third of the size.
    """
    buffer = io.BytesIO()
    # Agg's raw pixels, not a PNG: the same pixels (the PNG was only decoded again here), without
    # compressing and decompressing a full-colour image, about 0.1 s per figure.
    fig.savefig(buffer, format="rgba", dpi=DPI)
    # Agg's canvas is the figure's size in inches times the dpi, truncated.
    size = int(fig.get_figwidth() * DPI), int(fig.get_figheight() * DPI)
    raw = buffer.getvalue()
    if len(raw) != 4 * size[0] * size[1]:
        raise RuntimeError(f"Agg drew {len(raw)} bytes for a {size[0]}x{size[1]} figure")
    fig.clear()  # drop the artists now rather than at the next garbage collection
    image = (Image.frombuffer("RGBA", size, raw, "raw", "RGBA", 0, 1).convert("RGB")
             .quantize(palette=_palette_image(), dither=Image.Dither.NONE))
    out = io.BytesIO()
    # No metadata: the same data gives byte-identical PNGs, so re-rendering gives the same page.
    image.save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def new_figure(width: float, height: float) -> MplFigure:
    # Constrained layout makes room for titles, shared axis labels and an outside legend, so
    # nothing overlaps whatever the arm names' lengths.
    return MplFigure(figsize=(width, height), layout="constrained")


def facets(n: int, *, panel_height: float, ncols: int = MAX_COLUMNS, sharex=True, sharey=True,
           extra_height: float = 1.0):
    """A grid of ``n`` panels, ``ncols`` wide at most, unused panels hidden."""
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig = new_figure(WIDTH, panel_height * nrows + extra_height)
    axes = fig.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    for i, ax in enumerate(flat[:n]):
        if i + ncols >= n:  # nothing visible below this panel: it must show its own x ticks
            ax.tick_params(labelbottom=True)
    return fig, flat[:n]


def axis_labels(fig: MplFigure, xlabel: str, ylabel: str) -> None:
    """One x and one y label for a grid of panels sharing their axes (repeating them per panel
    made neighbouring labels overlap)."""
    fig.supxlabel(xlabel, fontsize=9)
    # Wrapped to the figure's height so it is never clipped: 9 pt text runs ~11 characters per
    # inch, and titles, legend and x labels leave the label about two thirds of the height.
    fig.supylabel(textwrap.fill(ylabel, max(12, int(fig.get_figheight() * 7))), fontsize=9)


def legend_above(fig: MplFigure, handles, labels, ncol: int = 3) -> None:
    if handles:
        fig.legend(handles, labels, loc="outside upper center", ncol=min(ncol, len(labels)),
                   frameon=False)


def wrap(name: str, width: int = 24) -> str:
    """Arm names can be long ("features=raw,g_hidden_size=200"): wrap rather than overlap,
    after a comma where possible (factorial names join their factors with commas)."""
    lines = [""]
    for part in re.split(r"(?<=,)", str(name)):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(piece for line in lines
                     for piece in (textwrap.wrap(line, width, break_on_hyphens=False) or [line]))


def plotted_arms(data: ReportInput, present: Iterable[str], role: str = "arm") -> tuple[list[str], str]:
    """The arms (of ``role``, among ``present``) that get a panel, and a caption note if capped.

    Beyond MAX_ARMS_PLOTTED the baseline stays, with the arms of highest and lowest on-target
    rate, so a capped figure still shows both ends of the design.
    """
    present = set(present)
    names = [a for a in arm_order(data, role) if a in present]
    if len(names) <= MAX_ARMS_PLOTTED:
        return names, ""
    base = baseline_name(data)
    good = on_target_rates(data)
    # First the arms the verdict and the tables single out (the baseline, the best on-target
    # rate, every Holm-significant comparison), then alternately the highest and lowest
    # on-target rates; the caption names every arm left out, so no arm disappears silently.
    ranked = sorted((n for n in names if n != base), key=lambda n: -float(good.get(n, -1.0)))
    hits = holm_significant_arms(data)
    first = [base, *ranked[:1], *[n for n in names if n in hits]]
    rest = [x for pair in zip(ranked, reversed(ranked)) for x in pair]
    keep = list(dict.fromkeys(n for n in [*first, *rest] if n in names))[:MAX_ARMS_PLOTTED]
    chosen = [n for n in names if n in keep]
    left = [n for n in names if n not in keep]
    return chosen, (f" Showing {len(chosen)} of {len(names)} arms: the baseline, the best on-target "
                    "rate, the arms with a Holm-significant comparison, then the highest and lowest "
                    f"on-target rates. Left out: {', '.join(left)}; the tables and the CSV files "
                    "hold every arm.")


def holm_significant_arms(data: ReportInput) -> set:
    rows = data.comparisons
    if rows.empty or "reject_holm" not in rows:
        return set()
    return set(rows.loc[rows["reject_holm"].astype(bool), "arm"])


def on_target_rates(data: ReportInput) -> pd.Series:
    """arm -> on-target rate (the outcomes table), or the KS pass rate for older inputs."""
    if len(data.outcomes):
        rows = data.outcomes[data.outcomes["outcome"] == "on_target"]
        return rows.set_index("arm")["rate"]
    return data.pass_rates[data.pass_rates["test"] == "ks"].set_index("arm")["rate"]


def member_outcomes(data: ReportInput) -> dict:
    """(arm, seed) -> outcome, for members that have one."""
    if "outcome" not in data.members.columns:
        return {}
    members = data.members.dropna(subset=["outcome"])
    return dict(zip(zip(members["arm"], members["seed"]), members["outcome"].astype(str)))


def target_words(data: ReportInput) -> str:
    from gancheck.report.target_view import target_text
    return target_text(data)


def target_label(data: ReportInput) -> str:
    """The legend's name for the dashed target curve: the target, or "each arm's target"."""
    return "each arm's target" if len(set(arm_words(data).values())) > 1 else f"target {target_words(data)}"


def robust_limits(values: np.ndarray, anchors: list[float], pad: float = 0.05):
    """Axis limits holding the 0.5-99.5 % of finite values and the anchors: one diverged member
    at 1e30 must not flatten every other curve."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        lo, hi = min(anchors), max(anchors)
    else:
        lo = min(np.quantile(finite, 0.005), *anchors)
        hi = max(np.quantile(finite, 0.995), *anchors)
    span = (hi - lo) or 1.0
    return lo - pad * span, hi + pad * span


def normal_ppf(p: np.ndarray, mean: float, std: float) -> np.ndarray:
    return mean + std * ndtri(p)


def histogram_figure(data: ReportInput) -> Figure | None:
    """G's output against the target density, per arm, pooled over seeds (the seed's bar chart)."""
    outputs = data.outputs
    names, note = plotted_arms(data, outputs["arm"]) if len(outputs) else ([], "")
    if not names:
        return None
    mean, std = target(data)
    # A fixed window of the target +/- 5 sd (the seed's chart used 0..8): one far-off arm must
    # not squeeze every other panel's histogram into a single bar. Values beyond the axis were
    # counted in the end bins (figure_data), so no mass silently disappears.
    bins = hist_edges(data)
    lo, hi = bins[0], bins[-1]
    grid = np.linspace(lo, hi, 200)
    columns = [f"h{i}" for i in range(len(bins) - 1)]
    # Once, not per panel: it reads every arm's recorded config (about 45 ms on the full design).
    label = target_label(data)
    with style():
        fig, axes = facets(len(names), panel_height=1.6)
        for ax, name in zip(axes, names):
            rows = outputs[outputs["arm"] == name]
            counts = rows[columns].to_numpy(dtype=float).sum(axis=0)
            n_values = int(rows["n"].sum())
            n_seeds = int((rows["n"] > 0).sum())
            if n_values:
                ax.hist(bins[:-1], bins=bins, weights=counts, density=True, color=PALETTE[0],
                        alpha=0.75, label="G's output (pooled over seeds)")
            ax.plot(grid, density(target_of(data, name), grid), color=TARGET_COLOUR, lw=1.6,
                    ls="--", label=label)
            ax.set_title(f"{wrap(name)}\n{n_seeds} seeds × {n_values // max(n_seeds, 1)} values")
            ax.set_xlim(lo, hi)
        axis_labels(fig, "value of G's output (data units)", "density (1 / data unit)")
        legend_above(fig, *axes[0].get_legend_handles_labels())
        src = encode(fig)
    return Figure("histogram", "G's output against the target",
                  "Histogram of one output vector (noise draw 0) per seed, pooled over seeds, "
                  "against the target density (dashed). Values outside the axis are counted "
                  "in the end bins." + note,
                  findings.output_spread(data, names, mean, std) + " Per-arm histograms of "
                  "generator output with the target density.",
                  src)


def history_figure(data: ReportInput, metric: str) -> Figure | None:
    """The seed's curve of G's batch mean (or std) per epoch: every seed as a thin line coloured
    by its outcome, under the median over seeds, per arm."""
    if metric not in data.history.columns:
        return None
    names, note = plotted_arms(data, data.history["arm"])
    if not names:
        return None
    mean, std = target(data)
    goal = mean if metric == "g_mean" else std
    word = "mean" if metric == "g_mean" else "standard deviation"
    # Already thinned to the epochs drawn (figure_data.thinned_history).
    history = data.history.loc[data.history["arm"].isin(names), ["arm", "seed", "epoch", metric]]
    # Diverged members hold inf: missing, so the median is over the live seeds and a line stops.
    values = history[metric].astype(float)
    history = history.assign(value=values.where(np.isfinite(values)))
    medians = history.groupby(["arm", "epoch"])["value"].median()
    ylo, yhi = robust_limits(history["value"].to_numpy(), [goal])
    outcome_of = member_outcomes(data)
    seen: dict[str, object] = {}
    with style():
        fig, axes = facets(len(names), panel_height=1.55)
        for ax, name in zip(axes, names):
            for seed, rows in history[history["arm"] == name].groupby("seed"):
                outcome = outcome_of.get((name, seed), "")
                failing = outcome not in ("on_target", "")
                # Every seed in its outcome's colour (the same colour as in every other figure);
                # failing seeds drawn in front.
                colour = OUTCOME_COLOURS.get(outcome, "0.6")
                line, = ax.plot(rows["epoch"], rows["value"].clip(ylo, yhi), color=colour,
                                lw=0.7 if failing else 0.5, alpha=0.9, zorder=3 if failing else 2)
                seen.setdefault(outcome or "no outcome", line)
            if name in medians.index.get_level_values("arm"):
                median = medians.loc[name]
                seen["median"] = ax.plot(median.index, median.to_numpy(), color="0.35", lw=2.2,
                                         ls=(0, (4, 1.5)), zorder=4)[0]
            own = target_of(data, name)
            seen["target"] = ax.axhline(own.mean if metric == "g_mean" else own.std,
                                        color=TARGET_COLOUR, ls="--", lw=1.0, zorder=1)
            ax.set_title(wrap(name))
            ax.set_ylim(ylo, yhi)
        axis_labels(fig, "epoch", f"G's batch {'std' if metric == 'g_std' else 'mean'} (data units)")
        order = ["median", "target", *[o for o in OUTCOME_ORDER if o in seen], "no outcome"]
        shared = len(set(arm_words(data).values())) <= 1
        labels = {"median": "median over seeds",
                  "target": f"target {word} {goal:g}" if shared else f"each arm's target {word}",
                  "no outcome": "seed", **{o: f"seed: {OUTCOME_LABELS[o]}" for o in OUTCOME_LABELS}}
        keys = [k for k in order if k in seen]
        legend_above(fig, [seen[k] for k in keys], [labels[k] for k in keys], ncol=4)
        src = encode(fig)
    return Figure(f"history_{metric}", f"G's batch {word} across epochs, every seed",
                  f"G's batch {word} at the last G step of each epoch (as the seed prints it). One "
                  "thin line per seed, coloured by the seed's outcome; the thick grey dashed "
                  "line is the median over seeds; dashed: the target. A diverged seed's line stops "
                  "where it diverged; values beyond the axis are drawn at its edge." + note,
                  findings.history(data, metric, goal) + f" Per-arm curves of every seed's batch "
                  f"{word} over epochs, coloured by outcome.", src)


def seed_figures(data: ReportInput) -> list[Figure]:
    """The seed's histogram and its two curves, every seed visible."""
    figures = [histogram_figure(data), history_figure(data, "g_mean"),
               history_figure(data, "g_std")]
    return [f for f in figures if f is not None]
