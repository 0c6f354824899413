"""Diagnostic and control figures: QQ, p-value ECDFs, forest, factorial heatmap, spread, controls.

Built from ReportInput's DataFrames only; shared look and encoding live in plots.py.
"""
from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from gancheck.report.data import ReportInput
from gancheck.report.plots import (PALETTE, TARGET_COLOUR, WIDTH, Figure, axis_labels, encode,
                                   facets, legend_above, new_figure, normal_ppf, plotted_arms,
                                   style, target, wrap)
from gancheck.report.tables import (METRIC_LABELS, TEST_GROUPS, TEST_LABELS, arm_order,
                                    baseline_name, ordered_tests)

#: QQ lines are drawn at this many quantile levels per seed: a 2.4-inch panel shows no more.
QQ_LEVELS = 100
#: spread_ratio is 0 for an exactly collapsed generator; a log axis needs a floor to show it.
SPREAD_FLOOR = 1e-5
#: Line styles tell the test groups apart without relying on colour alone.
GROUP_STYLE = dict(zip(dict.fromkeys(TEST_GROUPS.values()), ("-", "--", "-.")))
BETTER, WORSE, NEUTRAL = PALETTE[0], PALETTE[3], "0.55"
#: The palette without its yellow, too faint for a thin line on white.
LINE_COLOURS = [c for i, c in enumerate(PALETTE) if i != 8]


def qq_figure(data: ReportInput) -> Figure | None:
    """Each seed's output quantiles against the target's, per arm."""
    names, note = plotted_arms(data, data.samples["arm"])
    if not names:
        return None
    mean, std = target(data)
    levels = (np.arange(QQ_LEVELS) + 0.5) / QQ_LEVELS
    theory = normal_ppf(levels, mean, std)
    lines = {}
    for (arm, _), rows in data.samples[data.samples["arm"].isin(names)].groupby(["arm", "seed"]):
        x = rows["value"].to_numpy(dtype=float)
        if x.size and np.all(np.isfinite(x)):
            lines.setdefault(arm, []).append(np.quantile(x, levels))
    # One square window, the target +/- 5 sd, shared by every panel: an arm far off target is
    # drawn at the window's edge rather than shrinking every other arm's lines to a dot.
    lo, hi = mean - 5 * std, mean + 5 * std
    with style():
        fig, axes = facets(len(names), panel_height=2.2)
        for ax, name in zip(axes, names):
            for quantiles in lines.get(name, []):
                ax.plot(theory, np.clip(quantiles, lo, hi), color=PALETTE[0], lw=1, alpha=0.5)
            ax.plot([lo, hi], [lo, hi], color=TARGET_COLOUR, ls="--", lw=1.2)
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.set_title(wrap(name))
        axis_labels(fig, f"quantile of the target N({mean:g}, {std:g}²) (data units)",
                    "quantile of G's output (data units)")
        src = encode(fig)
    return Figure("qq", "QQ plots against the target",
                  "One line per seed (its noise-draw-0 output vector); the dashed diagonal is a "
                  "perfect fit. A line steeper than the diagonal means too much spread, shifted "
                  "up means too high a mean, an S-shape means wrong tails. Diverged seeds are "
                  "left out; values beyond the axes are drawn at its edge." + note,
                  "Per-arm QQ plots of generator output against the target normal", src)


def _ecdf(ax, p: np.ndarray, **kwargs) -> None:
    p = np.sort(p)
    ax.step(np.concatenate([[0], p, [1]]), np.concatenate([[0], np.arange(1, p.size + 1) / p.size, [1]]),
            where="post", **kwargs)


def pvalue_ecdf_figure(data: ReportInput, role: str = "arm") -> Figure | None:
    """ECDF of each test's p-values over seeds, one panel per arm (or control)."""
    scores = data.scores
    names, note = plotted_arms(data, scores["arm"], role)
    if not names:
        return None
    tests = ordered_tests(scores["test"])
    colours = dict(zip(tests, itertools.cycle(LINE_COLOURS)))
    with style():
        fig, axes = facets(len(names), panel_height=2.3)
        for ax, name in zip(axes, names):
            rows = scores[scores["arm"] == name]
            for test in tests:
                p = rows.loc[rows["test"] == test, "pvalue"].to_numpy(dtype=float)
                p = p[np.isfinite(p)]
                if p.size:
                    _ecdf(ax, p, color=colours[test], lw=1.3, label=test,
                          ls=GROUP_STYLE.get(TEST_GROUPS.get(test), ":"))
            ax.plot([0, 1], [0, 1], color=TARGET_COLOUR, lw=1, ls=":", label="uniform (H0 true)")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
            ax.set_title(wrap(name))
        unit = "replicates" if role == "control" else "seeds"
        axis_labels(fig, "p-value", f"fraction of {unit} with a smaller p-value")
        legend_above(fig, *axes[0].get_legend_handles_labels(), ncol=6)
        src = encode(fig)
    who = "control" if role == "control" else "arm"
    return Figure(f"pvalue_ecdf_{role}", f"p-values per test and {who}",
                  "Empirical CDF of each test's p-values over seeds (solid: exact-target tests; "
                  "dashed: shape-only tests; dash-dot: moment tests), against the uniform "
                  "diagonal that p-values follow when "
                  "the output really is the target. Curves far above the diagonal mean frequent "
                  "rejections; p-values of rows that could not be scored are left out." + note,
                  f"Per-{who} ECDFs of test p-values against the uniform distribution", src)


def forest_figure(data: ReportInput) -> Figure | None:
    """Each arm's difference from the baseline per metric, with its CI; colour marks Holm."""
    comparisons = data.comparisons
    if comparisons.empty:
        return None
    metrics = [m for m in METRIC_LABELS if m in set(comparisons["metric"])]
    metrics += sorted(set(comparisons["metric"]) - set(metrics))
    names, note = plotted_arms(data, comparisons["arm"])
    comparisons = comparisons[comparisons["arm"].isin(names)]
    ncols = min(3, len(metrics))
    nrows = -(-len(metrics) // ncols)
    height = 0.32 * len(names) + 1.2
    with style():
        fig = new_figure(WIDTH, height * nrows + 0.5)
        axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False).ravel()
        for ax in axes[len(metrics):]:
            ax.set_visible(False)
        y = {name: i for i, name in enumerate(names)}
        for ax, metric in zip(axes, metrics):
            rows = comparisons[comparisons["metric"] == metric]
            for _, row in rows.iterrows():
                reject = bool(row["reject_holm"])
                colour = NEUTRAL if not reject else (BETTER if row["difference"] < 0 else WORSE)
                yy = y[row["arm"]]
                ax.plot([row["ci_low"], row["ci_high"]], [yy, yy], color=colour, lw=2)
                ax.plot(row["difference"], yy, "o" if reject else "D", color=colour,
                        mfc=colour if reject else "white", ms=6)
            ax.axvline(0, color=TARGET_COLOUR, lw=1, ls="--")
            ax.set_title(f"{METRIC_LABELS.get(metric, metric)}\n(arm − baseline; lower is better)")
            ax.set_xlabel("difference of medians (metric's units)")
        axes[0].set_yticks(range(len(names)), [wrap(n, 34) for n in names])
        axes[0].set_ylim(len(names) - 0.5, -0.5)
        for i, ax in enumerate(axes[: len(metrics)]):
            if i % ncols == 0:
                ax.tick_params(labelleft=True)
        handles = [Line2D([], [], color=c, marker=m, mfc=f, lw=2, label=t) for c, m, f, t in (
            (BETTER, "o", BETTER, "better than baseline (Holm)"),
            (WORSE, "o", WORSE, "worse than baseline (Holm)"),
            (NEUTRAL, "D", "white", "no difference detected"))]
        legend_above(fig, handles, [h.get_label() for h in handles])
        src = encode(fig)
    return Figure("forest", "Effects versus the baseline",
                  "Difference of per-seed medians (arm − baseline) with its confidence interval, "
                  "per metric; every metric is an error, so left of the dashed zero line is better. "
                  "Filled circles: significant after Holm's correction over all arms × metrics." + note,
                  "Forest plots of each arm's difference from the baseline per metric", src)


def factors_of(data: ReportInput) -> tuple[list[str], pd.DataFrame]:
    """The factors a factorial design crosses, and each arm's levels; ([], empty) otherwise.

    A design is factorial when some arm changes two or more factors from the baseline's levels
    (a one-factor design records every factor for every arm, but changes one at a time).
    """
    arms = data.arms[data.arms["role"] == "arm"]
    parsed = {row.arm: {k: str(v) for k, v in json.loads(row.factors_json or "{}").items()}
              for row in arms.itertuples()}
    base = parsed.get(baseline_name(data), {})
    changes = [{k for k, v in f.items() if base.get(k) != v} if base else set(f) for f in parsed.values()]
    if not any(len(c) >= 2 for c in changes):
        return [], pd.DataFrame()
    levels = pd.DataFrame([{"arm": a, **f} for a, f in parsed.items() if f])
    names = [k for k in dict.fromkeys(k for f in parsed.values() for k in f)
             if levels[k].nunique() >= 2]
    return names, levels


def heatmap_figure(data: ReportInput, test: str = "ks") -> Figure | None:
    """Factor × factor grid of the KS pass rate and the collapse rate, when the design is factorial."""
    factors, levels = factors_of(data)
    if len(factors) < 2:
        return None
    pass_rate = data.pass_rates.loc[data.pass_rates["test"] == test, ["arm", "rate"]]
    collapse = data.collapse_rates[["arm", "rate"]]
    label = TEST_LABELS.get(test, test)
    frames = {f"{label} pass rate (higher is better)": levels.merge(pass_rate, on="arm"),
              "collapse rate (lower is better)": levels.merge(collapse, on="arm")}
    # Every pair of up to 4 factors (6 rows); a wider design shows its first 6 pairs.
    pairs = list(itertools.combinations(factors, 2))[:6]
    with style():
        fig = new_figure(WIDTH, 3.4 * len(pairs) + 0.3)
        axes = fig.subplots(len(pairs), 2, squeeze=False)
        for row, (fa, fb) in zip(axes, pairs):
            for ax, (title, frame) in zip(row, frames.items()):
                # Cells average over any further factors' levels (one arm per cell when there are two).
                grid = frame.dropna(subset=[fa, fb]).pivot_table(index=fa, columns=fb, values="rate",
                                                                   aggfunc="mean")
                # Levels in the design's order, not sorted as strings ("200" before "5").
                grid = grid.reindex(index=list(dict.fromkeys(levels[fa].dropna())),
                                    columns=list(dict.fromkeys(levels[fb].dropna())))
                sns.heatmap(grid, ax=ax, vmin=0, vmax=1, cmap="cividis", annot=True, fmt=".2f",
                            linewidths=1, linecolor="white",
                            cbar_kws={"label": "rate (fraction of seeds)"})
                ax.set_title(title)
                ax.set_xlabel(fb)
                ax.set_ylabel(fa)
                ax.tick_params(axis="y", rotation=0)
        src = encode(fig)
    return Figure("heatmap", "Factor × factor",
                  f"Each cell is the fraction of seeds that pass {test} (left) or collapse (right) "
                  "for one combination of factor levels; with more than two factors a cell averages "
                  "over the others.", "Heatmaps of pass rate and collapse rate over factor levels",
                  src)


def spread_figure(data: ReportInput) -> Figure | None:
    """spread_ratio per member, per arm, on a log axis: ~1 is healthy, ~0 is collapsed."""
    members = data.members
    names, note = plotted_arms(data, members["arm"])
    if not names or "spread_ratio" not in members.columns:
        return None
    # Jitter from a fixed generator: the same data must give the same picture (and page).
    rng = np.random.default_rng(0)
    with style():
        fig = new_figure(WIDTH * 0.75, 0.42 * len(names) + 1.4)
        ax = fig.subplots()
        ax.set_xscale("log")
        for y, name in enumerate(names):
            rows = members[members["arm"] == name]
            spread = rows["spread_ratio"].to_numpy(dtype=float)
            finite = np.isfinite(spread)
            # collapsed is nullable (unknown for a diverged member): unknown is not collapsed.
            collapsed = rows["collapsed"].astype("boolean").fillna(False).to_numpy(dtype=bool)[finite]
            spread = np.clip(spread[finite], SPREAD_FLOOR, None)
            if spread.size == 0:
                continue
            # Drawn with matplotlib rather than seaborn's boxplot, which passes a keyword that
            # matplotlib 3.11 deprecates (vert=).
            ax.boxplot([spread], positions=[y], orientation="horizontal", widths=0.6,
                       showfliers=False, patch_artist=True, medianprops={"color": "0.3"},
                       boxprops={"facecolor": "0.92", "edgecolor": "0.5"},
                       whiskerprops={"color": "0.5"}, capprops={"color": "0.5"})
            jitter = rng.uniform(-0.2, 0.2, spread.size)
            for flag, colour, marker, label in ((False, PALETTE[0], "o", "not collapsed"),
                                                (True, PALETTE[3], "s", "collapsed")):
                pick = collapsed == flag
                ax.scatter(spread[pick], y + jitter[pick], s=22, color=colour, marker=marker,
                           alpha=0.85, label=label, zorder=3)
        ax.axvline(1.0, color=TARGET_COLOUR, ls="--", lw=1.2, label="independent draws (1)")
        ax.set_yticks(range(len(names)), [wrap(n, 34) for n in names])
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_xlabel("spread ratio across noise draws (÷ target std; log scale, unitless)")
        # Log ticks as plain numbers: the default formatter writes mathtext, which the report's
        # style turns off (see plots.style).
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))  # one entry per label, not one per arm
        ax.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False)
        src = encode(fig)
    return Figure("spread", "Spread across noise draws (collapse)",
                  "One point per seed: the mean per-coordinate standard deviation across noise draws "
                  "of one trained generator, divided by the target std (squares: flagged collapsed). "
                  "Independent draws give about 1; a generator that ignores its noise gives about 0 "
                  f"(drawn at {SPREAD_FLOOR:g}). Boxes span the quartiles over seeds." + note,
                  "Strip plot of spread ratio per arm", src)


def control_rejection_figure(data: ReportInput) -> Figure | None:
    """Observed rejection rate of every test per control (1 − pass rate, Wilson interval flipped)."""
    controls = arm_order(data, "control")
    rates = data.pass_rates[data.pass_rates["arm"].isin(controls)]
    if rates.empty:
        return None
    alpha = float(data.provenance.get("alpha", 0.05))
    tests = ordered_tests(rates["test"])
    controls = [c for c in controls if c in set(rates["arm"])]
    with style():
        fig, axes = facets(len(controls), panel_height=0.28 * len(tests) + 1.0, ncols=3,
                           sharex=True, sharey=True)
        for ax, name in zip(axes, controls):
            rows = rates[rates["arm"] == name].set_index("test")
            for i, test in enumerate(tests):
                if test not in rows.index:
                    continue
                row = rows.loc[test]
                ax.plot([1 - row["ci_high"], 1 - row["ci_low"]], [i, i], color=PALETTE[0], lw=2)
                ax.plot(1 - row["rate"], i, "o", color=PALETTE[0], ms=5)
            ax.axvline(alpha, color=TARGET_COLOUR, ls="--", lw=1.1)
            null = is_null_control(name)
            ax.set_title(f"{wrap(name)}\n({'type-I error: should sit near α' if null else 'power'})")
            ax.set_xlim(-0.02, 1.02)
        axes[0].set_yticks(range(len(tests)), tests)
        axes[0].set_ylim(len(tests) - 0.5, -0.5)
        for ax in axes:
            ax.set_xlabel("rejection rate (fraction of replicates)")
        src = encode(fig)
    return Figure("control_rejection", "Type-I error and power at this run's n",
                  "Fraction of control samples each test rejects, with its Wilson 95% interval. "
                  f"The dashed line is α = {alpha:g}: the null control should straddle it; the "
                  "shifted controls show each test's power to see that shift.",
                  "Per-control rejection rates of every test with Wilson intervals", src)


def is_null_control(name: str) -> bool:
    """Controls are named "control:<what>"; the one drawn from the target itself says "null"."""
    return "null" in str(name).lower()


def diagnostic_figures(data: ReportInput) -> list[Figure]:
    figures = [qq_figure(data), pvalue_ecdf_figure(data), forest_figure(data),
               heatmap_figure(data), spread_figure(data)]
    return [f for f in figures if f is not None]


def control_figures(data: ReportInput) -> list[Figure]:
    figures = [control_rejection_figure(data), pvalue_ecdf_figure(data, "control")]
    return [f for f in figures if f is not None]
