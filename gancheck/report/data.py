"""ReportInput: everything a report shows, as tidy DataFrames (plots and page never touch torch or SQLite).

Built from a run's store by ``gancheck.report.collect.load_report_input``; built by hand in tests.
Column schemas (one row per ...):

arms            arm: the arm's name. factor, level: what the arm changes (baseline: "baseline", "seed").
                is_baseline: bool. role: "arm" | "control". factors_json: JSON {factor: level} (factorial
                designs cross several). config_json: the arm's full GANConfig as JSON ("" for controls).
members         (arm, seed): status ("done" | "diverged"), diverged_epoch (float, NaN if none),
                wall_s, spread_ratio, diversity_pvalue, collapsed (bool).
scores          (arm, seed, test): kind ("member" | "control"), hypothesis, statistic, pvalue, reject,
                status, n. Exactly gancheck.score's columns plus arm/seed/kind.
samples         (arm, seed, index): value. One output vector (noise draw 0) of each member.
history         (arm, seed, epoch): g_mean, g_std (G's batch mean and std at the epoch's last G step,
                as the seed prints them), d_loss, g_loss.
pass_rates      (arm, test): n, count (passes), rate, ci_low, ci_high (Wilson). Includes controls.
collapse_rates  (arm,): n, count (collapsed), rate, ci_low, ci_high (Wilson).
metric_summary  (arm, metric): n, median, ci_low, ci_high (bootstrap). Metrics are per-seed numbers,
                lower is better: ks_statistic, ad_statistic, abs_mean_error, abs_std_error, collapse_gap.
comparisons     (arm, metric) vs the baseline: baseline, n, n_baseline, difference (median arm -
                median baseline), ci_low, ci_high, statistic (Mann-Whitney U), pvalue,
                prob_improvement, pvalue_holm, reject_holm.
settling        (arm, metric) with metric in {g_mean, g_std}: n, settled_rate, median_epoch, stays_rate.
provenance      dict: name, design, preset, command, seeds (list), num_epochs, n_draws, device,
                versions (dict), git_commit, started, finished, wall_s, alpha, target_mean, target_std.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


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
