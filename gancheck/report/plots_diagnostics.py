"""Diagnostic and control figures: QQ, factorial heatmap, the controls' rejection rates.

Built from ReportInput's DataFrames only; shared look and encoding live in plots.py.
"""
from __future__ import annotations

import itertools
import json
import textwrap

import numpy as np
import pandas as pd
import seaborn as sns

from gancheck.report import findings
from gancheck.report.data import ReportInput
from gancheck.report.figure_data import quantile_levels
from gancheck.report.target_view import arm_words, target_of
from gancheck.report.plots import (PALETTE, TARGET_COLOUR, WIDTH, Figure, axis_labels, encode,
                                   facets, legend_above, new_figure, normal_ppf, plotted_arms,
                                   style, target, target_words, wrap)
from gancheck.report.labels import describe, group_question, ordered_tests
from gancheck.report.tables import arm_order, baseline_name


def qq_figure(data: ReportInput) -> Figure | None:
    """Each seed's output quantiles against the target's, per arm."""
    outputs = data.outputs
    names, note = plotted_arms(data, outputs["arm"]) if len(outputs) else ([], "")
    if not names:
        return None
    mean, std = target(data)
    levels = quantile_levels()
    columns = [f"q{i}" for i in range(len(levels))]
    lines = {}
    # Seeds whose output is not all finite have no quantiles (NaN): left out.
    for arm, rows in outputs[outputs["arm"].isin(names)].dropna(subset=columns[:1]).groupby("arm"):
        lines[arm] = list(rows[columns].to_numpy(dtype=float))
    # One square window, the target +/- 5 sd, shared by every panel: an arm far off target is
    # drawn at the window's edge rather than shrinking every other arm's lines to a dot.
    lo, hi = mean - 5 * std, mean + 5 * std
    with style():
        fig, axes = facets(len(names), panel_height=1.8)
        for ax, name in zip(axes, names):
            own = target_of(data, name)
            theory = (normal_ppf(levels, own.mean, own.std) if own.is_normal
                      else np.asarray(own.ppf(levels), dtype=float))
            for quantiles in lines.get(name, []):
                ax.plot(theory, np.clip(quantiles, lo, hi), color=PALETTE[0], lw=1, alpha=0.5)
            ax.plot([lo, hi], [lo, hi], color=TARGET_COLOUR, ls="--", lw=1.2)
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.set_title(wrap(name))
        shared = len(set(arm_words(data).values())) <= 1
        axis_labels(fig, f"quantile of the target {target_words(data)} (data units)" if shared
                    else "quantile of the arm's target (data units)",
                    "quantile of G's output (data units)")
        src = encode(fig)
    return Figure("qq", "QQ plots against the target",
                  "One line per seed (its noise-draw-0 output vector); the dashed diagonal is a "
                  "perfect fit. A line steeper than the diagonal means too much spread, shifted "
                  "up means too high a mean, an S-shape means wrong tails. Diverged seeds are "
                  "left out; values beyond the axes are drawn at their edges." + note,
                  findings.output_spread(data, names, mean, std) + " Per-arm QQ plots of "
                  "generator output against the target.", src)


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
    # Crossed means every combination of the factors' levels is an arm. A design that changes
    # several settings at once in some arms (the fix against the seed) is not crossed: a
    # factor-by-factor grid of it would put unrelated arms side by side.
    cells = levels[names].drop_duplicates()
    full = int(np.prod([levels[k].nunique() for k in names])) if names else 0
    if not names or len(cells) != full or cells.isna().any().any():
        return [], pd.DataFrame()
    return names, levels


def heatmap_figure(data: ReportInput) -> Figure | None:
    """Factor × factor grid of the on-target and collapsed rates, when the design is factorial."""
    factors, levels = factors_of(data)
    # Only two crossed factors: each cell is then one arm. With a third factor a cell would
    # average arms (0 against 0.40 shows as 0.20); the per-arm table holds every cell instead.
    if len(factors) != 2 or data.outcomes.empty:
        return None
    rates = data.outcomes[["arm", "outcome", "rate"]]
    frames = {"on-target rate (higher is better)": levels.merge(rates[rates["outcome"] == "on_target"], on="arm"),
              "collapsed rate (lower is better)": levels.merge(rates[rates["outcome"] == "collapsed"], on="arm")}
    # Every pair of up to 4 factors (6 rows); a wider design shows its first 6 pairs.
    pairs = list(itertools.combinations(factors, 2))[:6]
    with style():
        fig = new_figure(WIDTH, 2.6 * len(pairs) + 0.3)
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
                            cbar_kws={"label": "rate (share of seeds)"})
                ax.set_title(title)
                ax.set_xlabel(fb)
                ax.set_ylabel(fa)
                ax.tick_params(axis="y", rotation=0)
        src = encode(fig)
    return Figure("heatmap", "Factor × factor",
                  "Each cell is the share of seeds on target (left) or collapsed (right) of the one "
                  "arm with that combination of factor levels; its count and interval are in the "
                  "per-arm table. The effects list gives each factor's effect with its interval.",
                  findings.heatmap(data, levels), src)


def control_rejection_figure(data: ReportInput) -> Figure | None:
    """Observed rejection rate of every test per control (1 − pass rate, Wilson interval flipped)."""
    controls = arm_order(data, "control")
    rates = data.pass_rates[data.pass_rates["arm"].isin(controls)]
    if rates.empty:
        return None
    alpha = float(data.provenance.get("alpha", 0.05))
    tests = ordered_tests(rates["test"])
    controls = [c for c in controls if c in set(rates["arm"])]
    groups = [describe(t).group for t in tests]
    with style():
        fig, axes = facets(len(controls), panel_height=0.17 * len(tests) + 0.75, ncols=3,
                           sharex=True, sharey=True, extra_height=0.6)
        for ax, name in zip(axes, controls):
            rows = rates[rates["arm"] == name].set_index("test")
            for i, test in enumerate(tests):
                if test not in rows.index:
                    continue
                row = rows.loc[test]
                colour = PALETTE[0] if groups[i] != "diversity" else PALETTE[3]
                ax.plot([1 - row["ci_high"], 1 - row["ci_low"]], [i, i], color=colour, lw=1.8)
                ax.plot(1 - row["rate"], i, "o", color=colour, ms=4)
            ax.axvline(alpha, color=TARGET_COLOUR, ls="--", lw=1.0)
            null = is_null_control(name)
            ax.set_title(f"{wrap(name.removeprefix('control:'))}\n"
                         f"({'type-I error' if null else 'power'})")
            ax.set_xlim(-0.02, 1.02)
        axes[0].set_yticks(range(len(tests)), [describe(t).label for t in tests])
        axes[0].set_ylim(len(tests) - 0.5, -0.5)
        axis_labels(fig, "rejection rate (share of replicates)", "")
        src = encode(fig)
    return Figure("control_rejection", "Type-I error and power of every test at this run's n",
                  "Share of control replicates each test rejects, with its Wilson 95% interval; "
                  "blue: tests of one sample against the target, red: the diversity tests across "
                  f"noise draws. The dashed line is α = {alpha:g}: on the null control every test "
                  "should straddle it; on each departure, the tests built to see it should reach 1.",
                  findings.controls(data, controls, alpha) + " Per-control rejection rates of "
                  "every test, the diversity tests included, with "
                  "Wilson intervals", src)


def is_null_control(name: str) -> bool:
    """Controls are named "control:<what>"; the one drawn from the target itself says "null"."""
    return "null" in str(name).lower()


def diagnostic_figures(data: ReportInput) -> list[Figure]:
    figures = [qq_figure(data), heatmap_figure(data)]
    return [f for f in figures if f is not None]


def control_figures(data: ReportInput) -> list[Figure]:
    figures = [control_rejection_figure(data)]
    return [f for f in figures if f is not None]
