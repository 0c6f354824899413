"""Arms against the baseline: forest plots of rates and metrics, and ordered factors as trends.

Intervals and marks are both unadjusted (the 95% interval and the row's test at α), and the
Holm-adjusted p-value is printed beside every row that survives Holm. They are not dual: a rate's
interval (Newcombe) and test (Boschloo) are computed apart, and 10 of 20 seeds against 4 of 20
gives an interval just above 0 with p = 0.053. The captions say so; the mark is the test's.
"""
from __future__ import annotations

import functools
import json
import re
from typing import Callable

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.textpath import TextPath
from matplotlib.ticker import FuncFormatter, Locator, MaxNLocator

from gancheck.report import findings
from gancheck.report.data import ReportInput
from gancheck.report.labels import LOG_METRICS, OUTCOME_COLOURS, OUTCOME_ORDER, metric_label
from gancheck.report.plots import (PALETTE, TARGET_COLOUR, WIDTH, Figure, encode, legend_above,
                                   new_figure, plotted_arms, style, wrap)
from gancheck.report.tables import baseline_name, fmt_p

BETTER, WORSE, NEUTRAL = PALETTE[0], PALETTE[3], "0.55"
#: Rates where a higher value is the good direction; every other rate and metric is an error.
HIGHER_IS_BETTER = frozenset({"rate:on_target"})
TREND_OUTCOMES = ("on_target", "collapsed", "stuck")


def better_direction(metric: str) -> int:
    return 1 if metric in HIGHER_IS_BETTER else -1


def comparison_panels(data: ReportInput, kind: str) -> list[str]:
    """The rate rows (kind "rates") or metric rows ("metrics") worth a panel, in reading order."""
    comparisons = data.comparisons
    if comparisons.empty:
        return []
    present = list(dict.fromkeys(comparisons["metric"]))
    if kind == "rates":
        # Outcomes no seed of any arm had would be panels of zeros: left to the table.
        seen = set(data.outcomes.loc[data.outcomes["count"] > 0, "outcome"]) if len(data.outcomes) else set()
        order = [f"rate:{o}" for o in OUTCOME_ORDER if o in seen or not seen] + ["rate:collapse_flag"]
        return [m for m in order if m in present]
    order = ["ks_statistic", "ad_statistic", "abs_mean_error", "abs_std_error", "fixed_share"]
    metrics = [m for m in present if not m.startswith("rate:")]
    return [m for m in order if m in metrics] + sorted(set(metrics) - set(order))


def _finite_extent(rows: pd.DataFrame) -> tuple[float, float]:
    values = rows[["difference", "ci_low", "ci_high"]].to_numpy(dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return -1.0, 1.0
    lo, hi = min(values.min(), 0.0), max(values.max(), 0.0)
    pad = 0.08 * ((hi - lo) or 1.0)
    return lo - pad, hi + pad


def forest_figure(data: ReportInput, kind: str = "rates") -> Figure | None:
    """Each arm's difference from the baseline with its 95% interval, one panel per rate/metric."""
    panels = comparison_panels(data, kind)
    if not panels:
        return None
    comparisons = data.comparisons
    names, note = plotted_arms(data, comparisons["arm"])
    names = [n for n in names if n != baseline_name(data)]
    if not names:
        return None
    alpha = float(data.provenance.get("alpha", 0.05))
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    height = 0.26 * len(names) + 0.85
    y = {name: i for i, name in enumerate(names)}
    with style():
        fig = new_figure(WIDTH, height * nrows + 0.6)
        axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False).ravel()
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        for ax, metric in zip(axes, panels):
            rows = comparisons[(comparisons["metric"] == metric) & comparisons["arm"].isin(y)]
            # Room beyond ±1 for the labels "-1" and "1" inside the panel (FittingTicks).
            lo, hi = (-1.1, 1.1) if kind == "rates" else _finite_extent(rows)
            symlog = kind == "metrics" and metric in LOG_METRICS
            if symlog:
                finite = np.abs(rows["difference"].to_numpy(dtype=float))
                finite = finite[np.isfinite(finite) & (finite > 0)]
                threshold = float(np.quantile(finite, 0.25)) if finite.size else 1e-3
                ax.set_xscale("symlog", linthresh=max(threshold, 1e-6))
                lo, hi = lo * 2.5, hi * 2.5
            for _, row in rows.iterrows():
                p = float(row["pvalue"]) if pd.notna(row["pvalue"]) else np.nan
                difference = float(row["difference"])
                significant = np.isfinite(p) and p < alpha
                good = np.sign(difference) == better_direction(metric)
                colour = NEUTRAL if not significant else (BETTER if good else WORSE)
                yy = y[row["arm"]]
                low = np.clip(float(row["ci_low"]), lo, hi) if pd.notna(row["ci_low"]) else np.nan
                high = np.clip(float(row["ci_high"]), lo, hi) if pd.notna(row["ci_high"]) else np.nan
                ax.plot([low, high], [yy, yy], color=colour, lw=1.8)
                if np.isfinite(difference):
                    ax.plot(difference, yy, "o", color=colour, mfc=colour if significant else "white", ms=5)
                else:  # +inf or -inf: every paired seed failed on one side
                    ax.plot(hi if difference > 0 else lo, yy, ">" if difference > 0 else "<", color=colour, ms=6)
            ax.axvline(0, color=TARGET_COLOUR, lw=1, ls="--")
            ax.set_xlim(lo, hi)
            ax.set_title(metric_label(metric) + (" (symlog axis)" if symlog else ""))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_major_locator(FittingTicks(
                decade_groups(ax.xaxis.get_transform().linthresh) if symlog else round_groups))
        fig.supxlabel("rate difference, arm − baseline" if kind == "rates"
                      else "median of the paired differences, arm − baseline (metric's units)", fontsize=9)
        axes[0].set_yticks(range(len(names)), [wrap(n, 26) for n in names])
        axes[0].set_ylim(len(names) - 0.5, -0.5)
        for i, ax in enumerate(axes[: len(panels)]):
            ax.tick_params(labelleft=i % ncols == 0)
        handles = [Line2D([], [], color=c, marker="o", mfc=f, lw=1.8, label=t) for c, f, t in (
            (BETTER, BETTER, f"better than baseline (p < {alpha:g})"),
            (WORSE, WORSE, f"worse than baseline (p < {alpha:g})"),
            (NEUTRAL, "white", "no difference detected"))]
        legend_above(fig, handles, [h.get_label() for h in handles])
        src = encode(fig)
    if kind == "rates":
        title, how = "Rates against the baseline", ("difference of the two rates (arm − baseline) "
                                                    "with Newcombe's 95% interval; Boschloo's exact test")
    else:
        title, how = "Error metrics against the baseline", (
            "median of the per-seed differences (arm − baseline, seeds paired) with its "
            "order-statistic 95% interval; the sign test. KS D, A² and the moment errors are on "
            "symmetric log axes")
    return Figure(f"forest_{kind}", title,
                  f"Per arm: the {how}. Intervals and filled marks are both unadjusted (a filled "
                  f"mark is the test's p < {alpha:g}; the interval is computed apart, so near p = "
                  f"{alpha:g} it can just exclude 0 while the mark is hollow, or the reverse); rows that stay "
                  "significant after Holm's correction are listed, with their Holm-adjusted p, in "
                  "the comparisons tables. Triangles at an edge: the difference or bound is beyond the "
                  "axis (infinite when failed seeds count as +∞)." + note,
                  findings.forest(data, kind) + f" Forest plots of each arm's {kind} difference "
                  "from the baseline with 95% intervals.",
                  src)


class FittingTicks(Locator):
    """The candidate ticks whose labels fit the panel, placed when the axis is drawn, where its
    width is known.

    ``groups(lo, hi)`` gives the candidates within the axis as groups, in priority order; a
    group is kept whole if each of its labels lies inside the panel (where it cannot meet the
    next panel's) and clears the kept ones by ``gap`` ems, else dropped whole. On a symlog
    axis every decade gets the same width, so on a panel a third of the figure wide the labels
    of all of them ran into one another ("-0.1-0.010.001 0 0.0010.01 0.1"); a linear panel's
    label at its edge ran into the next panel's.
    """

    def __init__(self, groups: Callable[[float, float], list[list[float]]], gap: float = 0.5):
        self.groups, self.gap = groups, gap
        # Read now, under the figure's style(): the axis is drawn after it has been left.
        self.points = FontProperties(size=matplotlib.rcParams["xtick.labelsize"]).get_size_in_points()

    def __call__(self):
        return self.tick_values(*self.axis.get_view_interval())

    def tick_values(self, vmin, vmax):
        lo, hi = sorted((vmin, vmax))
        groups = self.groups(lo, hi)
        if self.axis is None:  # not on an axis yet: nothing to measure against
            return sorted(t for group in groups for t in group)
        axes, formatter = self.axis.axes, self.axis.get_major_formatter()
        pixels = axes.figure.dpi / 72  # per point
        gap = self.gap * self.points * pixels
        kept: list[tuple[float, float, float]] = []  # (tick, centre, half width), in pixels

        def clears(box, others) -> bool:
            return all(abs(box[1] - other[1]) >= box[2] + other[2] + gap for other in others)

        for group in groups:
            boxes = []
            for tick in group:
                centre = axes.transData.transform((tick, 0))[0]
                width = _label_width(formatter(tick, 0), self.points)
                boxes.append((tick, centre, width * pixels / 2))
            inside = all(axes.bbox.x0 <= c - h and c + h <= axes.bbox.x1 for _, c, h in boxes)
            if inside and all(clears(box, kept + boxes[:i]) for i, box in enumerate(boxes)):
                kept += boxes
        return sorted(t for t, _, _ in kept)


@functools.lru_cache(maxsize=1024)
def _label_width(text: str, points: float) -> float:
    """A tick label's width in points. Cached: a figure's layout asks the locator for its ticks
    hundreds of times, and laying out the text was most of a report's figure time."""
    return TextPath((0, 0), text, size=points).get_extents().width


def decade_groups(linthresh: float) -> Callable[[float, float], list[list[float]]]:
    """A symlog axis's candidates: 0, then each decade beyond the linear zone as the pair
    ±10^d, outermost first."""
    def groups(lo: float, hi: float) -> list[list[float]]:
        first = int(np.ceil(np.log10(linthresh)))
        last = int(np.floor(np.log10(max(abs(lo), abs(hi), linthresh))))
        return _paired([10.0 ** d for d in range(last, first - 1, -1)], lo, hi)
    return groups


def round_groups(lo: float, hi: float) -> list[list[float]]:
    """A linear axis's candidates: matplotlib's round numbers within lo..hi, one by one, 0 and
    every other step first, then those between, so that the labels that fit stay evenly
    spaced. Unpaired: evenly spaced labels that stop short of one edge read as they are."""
    ticks = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    step = float(ticks[1] - ticks[0])
    steps = {float(t): round(t / step) for t in ticks if lo <= t <= hi}
    return [[t] for t in sorted(steps, key=lambda t: (steps[t] % 2, abs(steps[t])))]


def _paired(magnitudes: list[float], lo: float, hi: float) -> list[list[float]]:
    """[[0], [-m, m], ...] within lo..hi. A pair is kept or dropped together (FittingTicks),
    so that a label is missing on one side only where the axis ends ("-0.01, 0, 0.001" read as
    a typo)."""
    return [[t for t in group if lo <= t <= hi] for group in [[0.0], *([-m, m] for m in magnitudes)]]


# --------------------------------------------------------------------------------- trends

def level_value(level: str) -> float | None:
    """A number to order a factor's levels by: "200" -> 200, "30:10" -> 3 (a ratio), else None."""
    text = str(level).strip()
    ratio = re.fullmatch(r"(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)", text)
    if ratio:
        num, den = map(float, ratio.groups())
        return num / den if den else None
    try:
        return float(text)
    except ValueError:
        return None


def ordered_factors(data: ReportInput) -> dict[str, list[tuple[float, str, str]]]:
    """factor -> [(order value, level, arm)] for factors whose levels are numbers or ratios,
    with at least three levels counting the baseline's; one-factor-at-a-time arms only."""
    arms = data.arms[data.arms["role"] == "arm"]
    base = baseline_name(data)
    parsed = {row.arm: json.loads(row.factors_json or "{}") for row in arms.itertuples()}
    base_levels = parsed.get(base, {})
    found: dict[str, list] = {}
    for row in arms.itertuples():
        if row.arm == base:
            continue
        changed = {k: v for k, v in parsed[row.arm].items() if base_levels.get(k) != v
                   and k not in ("baseline",)}
        if len(changed) != 1:
            continue
        (factor, level), = changed.items()
        value = level_value(level)
        if value is not None:
            found.setdefault(factor, []).append((value, str(level), row.arm))
    trends = {}
    for factor, levels in found.items():
        if factor in base_levels and level_value(base_levels[factor]) is not None:
            levels.append((level_value(base_levels[factor]), str(base_levels[factor]), base))
        if len(levels) >= 3 and len({v for v, _, _ in levels}) == len(levels):
            trends[factor] = sorted(levels)
    return trends


def trend_figure(data: ReportInput) -> Figure | None:
    """For each ordered factor, the outcome rates across its levels, in order."""
    trends = ordered_factors(data)
    if not trends or data.outcomes.empty:
        return None
    rates = data.outcomes.set_index(["arm", "outcome"])
    base = baseline_name(data)
    with style():
        fig = new_figure(WIDTH, 2.5 * len(trends) + 0.5)
        axes = fig.subplots(len(trends), 1, squeeze=False).ravel()
        for ax, (factor, levels) in zip(axes, trends.items()):
            x = np.arange(len(levels))
            for j, outcome in enumerate(TREND_OUTCOMES):
                keys = [(arm, outcome) for _, _, arm in levels]
                if not all(k in rates.index for k in keys):
                    continue
                r = rates.loc[keys]
                offset = (j - 1) * 0.06  # side by side, so intervals do not hide each other
                ax.errorbar(x + offset, r["rate"], yerr=[r["rate"] - r["ci_low"], r["ci_high"] - r["rate"]],
                            color=OUTCOME_COLOURS[outcome], marker="os^"[j], ms=5, lw=1.4, capsize=3,
                            label=f"{outcome.replace('_', ' ')} rate")
            ax.set_xticks(x, [f"{level}\n(baseline)" if arm == base else level for _, level, arm in levels])
            ax.set_ylim(-0.03, 1.03)
            ax.set_xlabel(f"{factor} (levels in increasing order)")
            ax.set_ylabel("share of seeds")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
            ax.set_title(f"{factor}: outcome rates across its ordered levels", loc="left")
        legend_above(fig, *axes[0].get_legend_handles_labels(), ncol=3)
        src = encode(fig)
    return Figure("trend", "Ordered factors as trends",
                  "For each factor whose levels are ordered (numbers, or ratios such as D:G steps "
                  "ordered by D/G), the on-target, collapsed and stuck rates at each level with "
                  "Wilson 95% intervals; the baseline's level is marked. Only the arms that change "
                  "this factor alone are drawn.",
                  findings.trend(data, trends), src)


def comparison_figures(data: ReportInput) -> list[Figure]:
    figures = [forest_figure(data, "rates"), forest_figure(data, "metrics"), trend_figure(data)]
    return [f for f in figures if f is not None]
