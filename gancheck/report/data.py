"""ReportInput: everything a report shows, as tidy DataFrames (plots and page never touch torch or SQLite).

Built from a run's store by ``gancheck.report.collect.load_report_input``; built by hand in tests.
Column schemas (one row per ...):

arms            arm: the arm's name. factor, level: what the arm changes (baseline: "baseline", "seed").
                is_baseline: bool. role: "arm" | "control". factors_json: JSON {factor: level} (factorial
                designs cross several). config_json: the arm's full GANConfig as JSON ("" for controls).
members         (arm, seed): kind ("member" | "control"), status ("done" | "diverged"), diverged_epoch
                (float, NaN if none), wall_s, spread_ratio, fixed_share, fixed_share_low,
                fixed_share_high, diversity_pvalue, collapsed (bool), heterogeneous (bool),
                outcome (one of gancheck.stats.outcomes.OUTCOMES, by its decision list).
scores          (arm, seed, test): kind, group, hypothesis, statistic, pvalue, reject, reject_rate,
                status, k, n. The generator-level verdict of gancheck.judge on all K noise draws of
                the member (statistic: median over draws for the per-draw tests).
samples         (arm, seed, index): value. One output vector (noise draw 0) of each member.
previews        (arm, seed, draw, index): value. The first few noise draws of each member, to
                picture collapse (several draws overlaid).
coordinates     (arm, seed, index): mean, sd. Per output coordinate, the mean and sd across all K
                noise draws of the member (a collapsed generator has sd near 0).
history         (arm, seed, epoch): g_mean, g_std (G's batch mean and std at the epoch's last G step,
                as the seed prints them), d_loss, g_loss.
pass_rates      (arm, test): n, count (generators that pass the test at generator level), rate,
                ci_low, ci_high (Wilson). Includes controls.
outcomes        (arm, outcome): count, n, rate, ci_low, ci_high (Wilson); every outcome listed for
                every arm, zero counts included. Includes controls.
collapse_rates  (arm,): n, count (members flagged collapsed by diversity), rate, ci_low, ci_high.
metrics         (arm, seed, metric): value. Per-seed metrics, lower is better, +inf for a member
                whose output is broken (never dropped): ks_statistic, ad_statistic (median over
                draws), abs_mean_error, abs_std_error (|median over draws of the error|),
                fixed_share (diversity's ICC).
rates           (arm, seed, metric): value, 0/1. Per-seed rates: "rate:<outcome>" for each outcome,
                and "rate:collapse_flag" (diversity's flag).
metric_summary  (arm, metric): n, median, ci_low, ci_high (order-statistic interval).
comparisons     (arm, metric) vs the baseline: baseline, test ("boschloo" for rates, "sign" for
                metrics), n, n_baseline, difference (rate difference, or median of paired
                differences), ci_low, ci_high (95%, unadjusted), statistic, pvalue,
                prob_improvement, prob_improvement_low, prob_improvement_high, pvalue_holm,
                reject_holm. Rate metrics are named "rate:<outcome>" and "rate:collapse_flag".
equivalence     (arm): n, count, share, ci_low, ci_high, interval: the share of the arm's seeds
                individually shown within the tolerance, with its Wilson interval
                (gancheck.runs.verdicts.equivalence). The same share is the outcome table's
                on-target column, so the page shows no equivalence section for it; only a table
                of TOST rows (a ``quantity`` column: estimate, ci_low, ci_high, margin, pvalue,
                equivalent) gets one (tables_comparisons.equivalence_rows).
settling        (arm, metric) with metric in {g_mean, g_std}: n, settled_rate, median_epoch, stays_rate.
effects         (metric, term): estimate, ci_low, ci_high, pvalue, method. Only for designs that
                cross factors; empty otherwise.
outputs         (arm, seed): n, mean, sd, q0..q99, h0..h39: what the figures draw of each seed's
                output vector (gancheck.report.figure_data, which builds it from samples).
draw_counts     (arm, seed, draw): h0..h35, histogram counts of the noise draws of the seeds
                drawn directly (built from previews).
provenance      dict: name, design, preset, command, seeds (list), num_epochs, n_draws, device,
                versions (dict), git_commit, started, finished, wall_s, alpha, target_mean, target_std,
                invocations (list of dicts).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


def _empty() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass
class ReportInput:
    arms: pd.DataFrame
    members: pd.DataFrame
    scores: pd.DataFrame
    samples: pd.DataFrame
    history: pd.DataFrame
    pass_rates: pd.DataFrame
    collapse_rates: pd.DataFrame
    metric_summary: pd.DataFrame
    comparisons: pd.DataFrame
    settling: pd.DataFrame
    provenance: dict = field(default_factory=dict)
    outcomes: pd.DataFrame = field(default_factory=_empty)
    metrics: pd.DataFrame = field(default_factory=_empty)
    rates: pd.DataFrame = field(default_factory=_empty)
    equivalence: pd.DataFrame = field(default_factory=_empty)
    previews: pd.DataFrame = field(default_factory=_empty)
    coordinates: pd.DataFrame = field(default_factory=_empty)
    effects: pd.DataFrame = field(default_factory=_empty)
    outputs: pd.DataFrame = field(default_factory=_empty)
    draw_counts: pd.DataFrame = field(default_factory=_empty)
