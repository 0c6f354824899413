"""What happened to each seed: outcome bars, one direct picture per outcome, per-seed metrics.

Built from ReportInput's DataFrames only; shared look and encoding live in plots.py.
"""
from __future__ import annotations

import matplotlib.colors
import numpy as np
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from gancheck.report import findings
from gancheck.report.data import ReportInput
from gancheck.report.figure_data import (BEYOND_COLUMNS, DRAW_BINS, DRAW_SDS, hist_edges,
                                         representatives)
from gancheck.report.target_view import density, target_of
from gancheck.report.labels import (LOG_METRICS, OUTCOME_COLOURS, OUTCOME_HATCHES, OUTCOME_LABELS,
                                    OUTCOME_ORDER, failed_value_note, metric_label, text_on)
from gancheck.report.plots import (PALETTE, TARGET_COLOUR, WIDTH, Figure, encode, facets,
                                   legend_above, new_figure, plotted_arms, style, wrap)
from gancheck.report.tables import arm_order, baseline_name

#: A log axis needs a floor for a metric of exactly 0 (a KS D of 0 is not reachable, but a
#: mean error of 0 is).
LOG_FLOOR = 1e-4


def outcome_figure(data: ReportInput, role: str = "arm") -> Figure | None:
    """One horizontal bar per arm (or control), split into its seeds' outcomes, in a fixed order."""
    outcomes = data.outcomes
    if outcomes.empty:
        return None
    names = [a for a in arm_order(data, role) if a in set(outcomes["arm"])]
    if not names:
        return None
    counts = outcomes.pivot_table(index="arm", columns="outcome", values="count", aggfunc="sum",
                                  fill_value=0).reindex(index=names, columns=list(OUTCOME_ORDER),
                                                        fill_value=0)
    totals = counts.sum(axis=1).replace(0, 1)
    base = baseline_name(data)
    unit = "replicates" if role == "control" else "seeds"
    with style():
        fig = new_figure(WIDTH, 0.27 * len(names) + 0.95)
        ax = fig.subplots()
        for y, name in enumerate(names):
            left = 0.0
            for outcome in OUTCOME_ORDER:
                count = int(counts.loc[name, outcome])
                if not count:
                    continue
                share = count / totals[name]
                colour = OUTCOME_COLOURS[outcome]
                # The hatch is drawn in the edge colour: a faint line of the text colour reads as
                # texture without hiding the count.
                ax.barh(y, share, left=left, height=0.72, color=colour,
                        edgecolor=(*matplotlib.colors.to_rgb(text_on(colour)), 0.45),
                        hatch=OUTCOME_HATCHES[outcome] or None, linewidth=0)
                ax.barh(y, share, left=left, height=0.72, fill=False, edgecolor="white", linewidth=0.8)
                if share >= 0.045:  # room for the count inside the segment
                    ax.text(left + share / 2, y, str(count), ha="center", va="center", fontsize=9,
                            color=text_on(colour), fontweight="bold",
                            bbox={"facecolor": colour, "edgecolor": "none", "pad": 0.5})
                left += share
            ax.text(1.01, y, f"n = {int(counts.loc[name].sum())}", va="center", fontsize=9)
        labels = [wrap(n, 34) + (" (baseline)" if n == base else "") for n in names]
        ax.set_yticks(range(len(names)), labels)
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.grid(False, axis="y")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_xlabel(f"share of {unit} (the count is written in each segment)")
        handles = [Patch(facecolor=OUTCOME_COLOURS[o], hatch=OUTCOME_HATCHES[o] or None,
                         edgecolor=(*matplotlib.colors.to_rgb(text_on(OUTCOME_COLOURS[o])), 0.45),
                         label=OUTCOME_LABELS[o]) for o in OUTCOME_ORDER]
        legend_above(fig, handles, [h.get_label() for h in handles], ncol=6)
        src = encode(fig)
    who = "control" if role == "control" else "arm"
    return Figure(f"outcomes_{role}", f"What happened to each {'replicate' if role == 'control' else 'seed'}",
                  f"Each bar is one {who}; each segment counts the {unit} with that outcome, named "
                  "by the decision list in Methods (the first that applies, in the order "
                  + ", ".join(OUTCOME_LABELS[o] for o in reversed(OUTCOME_ORDER)) + ").",
                  findings.outcomes(data, role) + f" Stacked bars of the outcome of every "
                  f"{unit[:-1]}, one bar per {who}, in the "
                  "order " + ", ".join(OUTCOME_LABELS[o] for o in OUTCOME_ORDER) + ".", src)


def _split_window(draws: pd.DataFrame, columns: list[str], exact: bool):
    """The draws with a finite value, split at the window's edges: (inside, total, below,
    above). inside: each draw's counts per bin of its values inside the window; total: each
    draw's number of finite values; below, above: how many values, over all these draws, lay
    beyond each side. exact: draws has figure_data's counts of those; folders published before
    it counted them have only the end bins, which hold them: then below/above are their counts."""
    counts = draws[columns].to_numpy(dtype=float)
    keep = counts.sum(axis=1) > 0  # draws with no finite value are not drawn
    inside, total = counts[keep], counts[keep].sum(axis=1)
    if exact:
        below, above = (draws[c].to_numpy(dtype=float)[keep] for c in BEYOND_COLUMNS)
        inside[:, 0] -= below
        inside[:, -1] -= above
    else:
        below, above = inside[:, 0], inside[:, -1]
    return inside, total, int(below.sum()), int(above.sum())


def _beyond_words(count: int, total: int, side: str, bins: np.ndarray, exact: bool) -> str:
    """ "4,000 of 4,000 values > 9.62", in lines narrow enough to sit beside the target curve:
    what one side of a left panel leaves out. Without the counts of values beyond (exact
    False), what the end bin holds, where they were clipped to."""
    low = side == "below"
    edge = bins[0] if low else bins[-1]
    if exact:
        return f"{count:,} of {total:,} values\n{'<' if low else '>'} {edge:.3g}"
    return (f"{count:,} of {total:,} values\n{'≤' if low else '≥'} {bins[1] if low else bins[-2]:.3g} "
            f"(in the end bin,\nwith any beyond {edge:.3g})")


def _coordinate_limits(m: np.ndarray, s: np.ndarray, lo: float, hi: float) -> tuple[float, float, bool]:
    """The right panel's y limits: the window, widened to hold every coordinate's mean ± sd
    where one lies beyond it (clipped onto the frame, a far-off seed's line was invisible)."""
    values = np.concatenate([m, m - s, m + s])
    values = values[np.isfinite(values)]
    if not values.size or (values.min() >= lo and values.max() <= hi):
        return lo, hi, False
    low, high = min(lo, values.min()), max(hi, values.max())
    pad = 0.04 * (high - low)  # on the widened side only: the other keeps the window's edge
    return low - pad * (low < lo), high + pad * (high > hi), True


def representative_figure(data: ReportInput) -> Figure | None:
    """Per outcome, one seed drawn directly: a few noise draws overlaid, and each output
    coordinate's mean ± sd across all draws against the target."""
    picks = representatives(data)
    if not picks or (data.draw_counts.empty and data.coordinates.empty):
        return None
    bins = hist_edges(data, DRAW_SDS, DRAW_BINS)
    lo, hi = bins[0], bins[-1]
    grid = np.linspace(lo, hi, 200)
    columns = [f"h{i}" for i in range(DRAW_BINS)]
    exact = set(BEYOND_COLUMNS) <= set(data.draw_counts.columns)
    clipped, widened = [], []
    with style():
        fig = new_figure(WIDTH, 1.45 * len(picks) + 0.7)
        axes = fig.subplots(len(picks), 2, squeeze=False)
        for (outcome, arm, seed), (left, right) in zip(picks, axes):
            colour = OUTCOME_COLOURS[outcome]
            who = f"{OUTCOME_LABELS[outcome]}: {wrap(arm, 40)}, seed {seed}"
            draws = data.draw_counts[(data.draw_counts["arm"] == arm) & (data.draw_counts["seed"] == seed)]
            inside, total, below, above = _split_window(draws, columns, exact)
            for i, (row, n) in enumerate(zip(inside, total)):
                if row.sum():  # a draw wholly beyond the window has no line: the arrow counts it
                    # Scaled by all the draw's values: what lies beyond is missing, not spread.
                    left.stairs(row / (n * np.diff(bins)), bins, lw=1.1, color=colour,
                                ls=("-", "--", ":", "-.")[i % 4])
            beyond = {side: _beyond_words(count, int(total.sum()), side, bins, exact)
                      for side, count in (("below", below), ("above", above)) if count}
            for j, (side, words) in enumerate(beyond.items()):
                low = side == "below"
                # Clear of the end bin (old folders draw the values clipped into it there).
                left.text(0.07 if low else 0.93, 0.72 - 0.4 * j,
                          f"← {words}" if low else f"{words} →", transform=left.transAxes,
                          ha="left" if low else "right", va="center", fontsize=8, color=colour,
                          # See-through: the target curve may run behind it.
                          bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": colour, "pad": 2,
                                "lw": 0.8})
            if beyond:
                clipped.append(f"{OUTCOME_LABELS[outcome]} ({arm}, seed {seed}): "
                               + " and ".join(beyond.values()).replace("\n", " "))
            own = target_of(data, arm)
            left.plot(grid, density(own, grid), color=TARGET_COLOUR, lw=1, ls="--")
            if not len(inside):
                left.text(0.5, 0.8, "no finite output", transform=left.transAxes, ha="center",
                          bbox={"facecolor": "white", "edgecolor": "none"})
            # A little beyond the window, so that an end bin's edge is not drawn on the frame.
            left.set_xlim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
            drawn = len(inside)
            left.set_title(f"{who}\n{drawn} noise draws overlaid" if drawn else f"{who}\noutput not finite",
                           loc="left")
            coords = data.coordinates[(data.coordinates["arm"] == arm) & (data.coordinates["seed"] == seed)]
            # Finite ones only, sorted by mean (figure_data).
            ylo, yhi, wide = lo, hi, False
            if len(coords):
                x = np.arange(len(coords))
                m, s = coords["mean"].to_numpy(dtype=float), coords["sd"].to_numpy(dtype=float)
                ylo, yhi, wide = _coordinate_limits(m, s, lo, hi)
                right.fill_between(x, m - s, m + s, color=colour, alpha=0.35, lw=0)
                right.plot(x, m, color=colour, lw=1.2)
            else:
                right.text(0.5, 0.8, "no finite output", transform=right.transAxes, ha="center",
                           bbox={"facecolor": "white", "edgecolor": "none"})
                right.set_xlim(0, max(1, int(data.coordinates["index"].max()) + 1 if len(data.coordinates) else 1))
            right.axhline(own.mean, color=TARGET_COLOUR, lw=1, ls="--")
            for bound in (own.mean - own.std, own.mean + own.std):
                right.axhline(bound, color=TARGET_COLOUR, lw=0.7, ls=":")
            right.set_ylim(ylo, yhi)
            if wide:
                # Squeezed by the widened axis, the target's three lines need their name.
                right.annotate("target mean ± sd", (0.01, own.mean + own.std), xycoords=("axes fraction", "data"),
                               xytext=(0, 2), textcoords="offset points", va="bottom", fontsize=8)
                widened.append(f"{OUTCOME_LABELS[outcome]} ({arm}, seed {seed}): coordinate means "
                               f"{m.min():.3g} to {m.max():.3g}")
            right.set_title("each coordinate: mean ± sd across all draws\n(coordinates sorted by mean"
                            + ("; axis widened)" if wide else ")"), loc="left")
        axes[-1][0].set_xlabel("value (data units)")
        axes[-1][1].set_xlabel("output coordinate, sorted by its mean over draws")
        for left, right in axes:  # each row has its own scale: every row says what its axes hold
            left.set_ylabel("density", fontsize=8)
            right.set_ylabel("value", fontsize=8)
        src = encode(fig)
    window = f"the target mean ± {DRAW_SDS:g} target sd ({lo:.3g} to {hi:.3g})"
    if not clipped:
        cut = f" The left panels show {window}; no drawn value lies beyond it."
    elif exact:
        cut = (f" The left panels show only {window}; values beyond it are not drawn but counted "
               "by an arrow at the panel's edge: " + "; ".join(clipped) + ".")
    else:  # folders published before draw_counts counted them (figure_data)
        cut = (f" The left panels show only {window}; values beyond it are clipped into the end "
               "bins, and an arrow at the panel's edge counts what such a bin holds: "
               + "; ".join(clipped) + ".")
    if widened:
        cut += (" A right panel's axis spans the same window, widened where a coordinate lies "
                "beyond it, to hold them all: " + "; ".join(widened) + ".")
    return Figure("representatives", "One seed of each outcome, drawn directly",
                  "Left: a few noise draws of one generator overlaid (each line one draw), against "
                  f"the target density (dashed). Right: for each of the output's coordinates, its "
                  "mean (line) ± sd (band) across all the member's noise draws, coordinates sorted "
                  "by mean; dashed: the target mean, dotted: ± one target sd. A healthy generator's "
                  "band covers the dotted lines at every coordinate; a collapsed one has no band "
                  "(each coordinate is fixed) and its means trace the target's quantiles; a stuck "
                  "one is a flat line. Picked: the baseline's first seed with each outcome, else "
                  "the first arm's." + cut,
                  findings.representatives(picks) + " For one seed of each outcome, overlaid "
                  "histograms of several noise draws and "
                  "per-coordinate mean and sd across draws against the target." + cut, src)


def metric_figure(data: ReportInput) -> Figure | None:
    """Every seed's value of each per-seed metric, per arm: log axis where values span decades."""
    metrics = data.metrics
    if metrics.empty:
        return None
    names, note = plotted_arms(data, metrics["arm"])
    kinds = [m for m in ("ks_statistic", "ad_statistic", "abs_mean_error", "abs_std_error",
                         "fixed_share") if m in set(metrics["metric"])]
    kinds += sorted(set(metrics["metric"]) - set(kinds))
    if not names or not kinds:
        return None
    rng = np.random.default_rng(0)  # fixed jitter: the same data gives the same page
    outcome_of = {}
    if "outcome" in data.members.columns:
        outcome_of = dict(zip(zip(data.members["arm"], data.members["seed"]), data.members["outcome"]))
    with style():
        fig, axes = facets(len(kinds), panel_height=0.24 * len(names) + 0.9, ncols=3, sharex=False)
        for ax, metric in zip(axes, kinds):
            rows = metrics[(metrics["metric"] == metric) & metrics["arm"].isin(names)]
            values = rows["value"].to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            log = metric in LOG_METRICS and finite.size and (finite > 0).any()
            if log:
                ax.set_xscale("log")
                floor = max(LOG_FLOOR, np.nanmin(finite[finite > 0]) / 2)
                finite = np.clip(finite, floor, None)
            top = (np.max(finite) if finite.size else 1.0) * (3 if log else 1.08)
            bottom = np.min(finite) / 1.5 if log and finite.size else min(0.0, np.min(finite, initial=0))
            for y, name in enumerate(names):
                arm_rows = rows[rows["arm"] == name]
                v = arm_rows["value"].to_numpy(dtype=float)
                failed = ~np.isfinite(v)  # +inf: a failed seed (gancheck.runs.verdicts)
                shown = np.where(failed, top, np.clip(v, bottom, None) if log else v)
                colours = [OUTCOME_COLOURS.get(str(outcome_of.get((name, s), "")), PALETTE[0])
                           for s in arm_rows["seed"]]
                jitter = rng.uniform(-0.22, 0.22, v.size)
                ax.scatter(shown, y + jitter, s=11, c=colours, marker="o", lw=0, alpha=0.9, zorder=3)
                if failed.any():
                    ax.scatter(np.full(failed.sum(), top), y + jitter[failed], s=22, marker=">",
                               color=OUTCOME_COLOURS["diverged"], zorder=4)
                if (~failed).any() or failed.any():
                    median = np.median(np.where(failed, np.inf, v))
                    if np.isfinite(median):
                        ax.plot([median] * 2, [y - 0.35, y + 0.35], color=TARGET_COLOUR, lw=1.6, zorder=5)
            ax.set_xlim(bottom, top * (1.4 if log else 1.03))
            ax.set_title(metric_label(metric) + (" (log axis)" if log else ""))
            ax.set_yticks(range(len(names)), [wrap(n, 26) for n in names])
            ax.set_ylim(len(names) - 0.5, -0.5)
            if log:
                # Ticks at 1, 2 and 5 of each decade with plain labels, and no minor labels:
                # a range narrower than a decade otherwise gets overlapping mathtext minor labels.
                decades = np.log10(top * 1.4 / bottom) if bottom > 0 else 9.0
                subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
                ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs, numticks=12))
                if decades > 4:  # at most about four labels: every other decade
                    ax.xaxis.set_major_locator(LogLocator(base=100, subs=(1.0,), numticks=12))
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                ax.xaxis.set_minor_formatter(NullFormatter())
        for i, ax in enumerate(axes):
            ax.tick_params(labelleft=i % 3 == 0)
        present = [o for o in OUTCOME_ORDER if o in set(map(str, outcome_of.values()))]
        handles = [Patch(color=OUTCOME_COLOURS[o], label=f"seed: {OUTCOME_LABELS[o]}") for o in present]
        from matplotlib.lines import Line2D
        handles.append(Line2D([], [], color=TARGET_COLOUR, lw=1.6, label="median over seeds"))
        handles.append(Line2D([], [], color="black", marker=">", lw=0, label="failed seed (counted +∞)"))
        legend_above(fig, handles, [h.get_label() for h in handles], ncol=4)
        src = encode(fig)
    return Figure("metrics", "Every seed's error metrics",
                  "One dot per seed, coloured by its outcome; the bar is the median over seeds. "
                  "Every metric is an error (lower is better); KS D, A² and the moment errors are "
                  "on log axes, since failed seeds sit orders of magnitude above healthy ones. In "
                  f"every metric, {failed_value_note()} (the triangles at the right edge), whatever "
                  "values its output measured; it is never dropped." + note,
                  findings.metrics(data) + " Strip plots of every seed's error metrics per arm.", src)


def outcome_figures(data: ReportInput) -> dict[str, Figure | None]:
    return {"outcomes": outcome_figure(data), "representatives": representative_figure(data),
            "metrics": metric_figure(data), "control_outcomes": outcome_figure(data, "control")}
