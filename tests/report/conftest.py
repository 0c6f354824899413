"""A synthetic ReportInput, fabricated with numpy/scipy in the schema of gancheck/report/data.py.

Nothing is trained: each "member" is a normal sample whose mean/sd drift per arm, so the report
sees realistic shapes (passes and failures, collapse, a diverged member, Holm rejections both
ways, controls with a null and two shifts) in well under a second. The statistics are computed
honestly where scipy has a one-line test; the exceptions are marked "stand-in" below.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.diagnostic import normal_ad
from statsmodels.stats.multitest import multipletests

from gancheck.report.data import ReportInput

TARGET_MEAN, TARGET_STD, ALPHA, N_VALUES = 4.0, 1.25, 0.05, 500
TESTS = {"ks": "simple", "ad": "simple", "cvm": "simple", "shapiro": "composite",
         "ad_normal": "composite", "mean": "simple", "std": "simple", "skew": "simple",
         "kurtosis": "simple"}
METRICS = ("ks_statistic", "ad_statistic", "abs_mean_error", "abs_std_error", "collapse_gap")
SCRIPT_ARM = "<script>alert(1)</script>"


@dataclass
class FakeArm:
    """How one fabricated arm behaves: its output is N(4 + mean_shift, 1.25 * std_scale)."""

    name: str
    factors: dict
    mean_shift: float = 0.0
    std_scale: float = 1.0
    p_collapse: float = 0.8
    diverge_seed: int | None = None  # this seed's member diverges
    config: dict = field(default_factory=dict)


def default_arms() -> list[FakeArm]:
    return [
        FakeArm("baseline", {"baseline": "seed"}, mean_shift=0.05, std_scale=1.02, p_collapse=1.0,
                diverge_seed=2),
        FakeArm("g_hidden_size=200", {"g_hidden_size": "200"}, mean_shift=0.0, std_scale=1.0,
                p_collapse=0.0, config={"g_hidden_size": 200}),
        FakeArm("features=raw", {"features": "raw"}, mean_shift=0.6, std_scale=0.7, p_collapse=1.0,
                config={"features": "raw"}),
        # Hostile names and levels: the report must show them as text, never as markup.
        FakeArm(SCRIPT_ARM, {"name": "<i>level</i>"}, mean_shift=0.1, std_scale=1.1,
                config={"features": "<img src=x onerror=alert(2)>"}),
    ]


def factorial_arms() -> list[FakeArm]:
    arms = []
    for features in ("moments", "raw"):
        for hidden in (5, 200):
            shift = (0.4 if features == "raw" else 0.05) - (0.04 if hidden == 200 else 0.0)
            arms.append(FakeArm(f"features={features},g_hidden_size={hidden}",
                                {"features": features, "g_hidden_size": str(hidden)},
                                mean_shift=shift, std_scale=0.85 if features == "raw" else 1.0,
                                p_collapse=0.9 if hidden == 5 else 0.3,
                                config={"features": features, "g_hidden_size": hidden}))
    return arms


def full_design_arms(n_arms: int = 15) -> list[FakeArm]:
    """As many arms as the full default design (about 15): the size test's worst case."""
    arms = default_arms()[:1]
    for i in range(1, n_arms):
        arms.append(FakeArm(f"factor_{i % 5}=level_{i}", {f"factor_{i % 5}": f"level_{i}"},
                            mean_shift=0.05 * (i % 4), std_scale=1 + 0.05 * (i % 3 - 1),
                            p_collapse=(i % 5) / 4, config={"g_hidden_size": 5 + i}))
    return arms


# Controls are samples drawn straight from a known distribution: the null gives the tests' type-I
# error, the shifts their power (the shifts STATISTICS.md quotes power for at n = 500).
CONTROLS = {"control:null": (0.0, 1.0), "control:mean_shift": (0.15, 1.0),
            "control:std_shift": (0.0, 1.1)}


def wilson(count: np.ndarray, n: np.ndarray, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    p = count / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def score_sample(x: np.ndarray) -> list[dict]:
    """One row per test, in gancheck.score's columns (without arm/seed/kind)."""
    if not np.all(np.isfinite(x)):
        return [dict(test=t, hypothesis=h, statistic=np.nan, pvalue=np.nan, reject=True,
                     status="non-finite values", n=len(x)) for t, h in TESTS.items()]
    n = len(x)
    ks = stats.kstest(x, "norm", args=(TARGET_MEAN, TARGET_STD))
    cvm = stats.cramervonmises(x, "norm", args=(TARGET_MEAN, TARGET_STD))
    sw = stats.shapiro(x)
    a2, a2_p = normal_ad(x)
    z_mean = (x.mean() - TARGET_MEAN) / (TARGET_STD / np.sqrt(n))
    chi = (n - 1) * x.var(ddof=1) / TARGET_STD**2
    chi_p = 2 * min(stats.chi2.cdf(chi, n - 1), stats.chi2.sf(chi, n - 1))
    sk, ku = stats.skewtest(x), stats.kurtosistest(x)
    values = {
        "ks": (ks.statistic, ks.pvalue),
        # stand-in: scipy has no known-parameter AD; the Cramér-von Mises p is its closest kin.
        "ad": (cvm.statistic * 5.0, cvm.pvalue),
        "cvm": (cvm.statistic, cvm.pvalue),
        "shapiro": (sw.statistic, sw.pvalue),
        "ad_normal": (a2, a2_p),
        "mean": (z_mean, 2 * stats.norm.sf(abs(z_mean))),
        "std": (chi, chi_p),
        "skew": (sk.statistic, sk.pvalue),
        "kurtosis": (ku.statistic, ku.pvalue),
    }
    return [dict(test=t, hypothesis=TESTS[t], statistic=float(s), pvalue=float(p),
                 reject=bool(p < ALPHA), status="ok", n=n) for t, (s, p) in values.items()]


def _history(rng, arm: FakeArm, seed: int, epochs: np.ndarray) -> pd.DataFrame:
    """G's batch mean/std per epoch: an overshoot then a noisy settle (the seed's log shows the
    mean overshooting to ~7.8 near epoch 250 of 2001, then settling near 4)."""
    t = epochs / max(epochs[-1], 1)
    final_mean, final_std = TARGET_MEAN + arm.mean_shift, TARGET_STD * arm.std_scale
    overshoot = 3.5 * np.exp(-((t - 0.12) / 0.05) ** 2)
    g_mean = final_mean + (0.1 - final_mean) * np.exp(-t / 0.04) + overshoot
    g_mean = g_mean + rng.normal(0, 0.2, len(t))
    g_std = final_std + (0.05 - final_std) * np.exp(-t / 0.1) + rng.normal(0, 0.05, len(t))
    frame = pd.DataFrame({"arm": arm.name, "seed": seed, "epoch": epochs, "g_mean": g_mean,
                          "g_std": np.abs(g_std), "d_loss": 1.386 + rng.normal(0, 0.02, len(t)),
                          "g_loss": 0.693 + rng.normal(0, 0.02, len(t))})
    if arm.diverge_seed == seed:
        frame.loc[frame.epoch > epochs[len(epochs) // 2], ["g_mean", "g_std"]] = np.inf
    return frame


def _metric_rows(arm_name: str, seed: int, x: np.ndarray, scored: list[dict], spread: float):
    by_test = {r["test"]: r for r in scored}
    finite = np.all(np.isfinite(x))
    values = {
        "ks_statistic": by_test["ks"]["statistic"],
        "ad_statistic": by_test["ad"]["statistic"],
        "abs_mean_error": abs(x.mean() - TARGET_MEAN) if finite else np.nan,
        "abs_std_error": abs(x.std() - TARGET_STD) if finite else np.nan,
        "collapse_gap": abs(1.0 - spread),
    }
    return [dict(arm=arm_name, seed=seed, metric=m, value=v) for m, v in values.items()]


def _bootstrap_median_ci(rng, values: np.ndarray, reps: int = 400) -> tuple[float, float]:
    boots = np.median(rng.choice(values, size=(reps, len(values))), axis=1)
    return tuple(np.quantile(boots, [0.025, 0.975]))


COMPARISON_COLUMNS = ["arm", "metric", "baseline", "n", "n_baseline", "difference", "ci_low",
                      "ci_high", "statistic", "pvalue", "prob_improvement", "pvalue_holm",
                      "reject_holm"]


def make_report_input(*, arms: list[FakeArm] | None = None, n_seeds: int = 5, n_epochs: int = 60,
                      n_control_reps: int = 40, controls: dict | None = None,
                      random_state: int = 0) -> ReportInput:
    rng = np.random.default_rng(random_state)
    arms = default_arms() if arms is None else arms
    controls = CONTROLS if controls is None else controls
    seeds = list(range(n_seeds))
    epochs = np.arange(n_epochs)
    arm_rows, member_rows, score_rows, sample_frames, history_frames, metric_rows = \
        [], [], [], [], [], []
    base_config = {"data_mean": TARGET_MEAN, "data_std": TARGET_STD, "g_hidden_size": 5,
                   "features": "moments", "num_epochs": n_epochs, "lr_schedule": "seed_cosine"}
    for i, arm in enumerate(arms):
        factor, level = next(iter(arm.factors.items()))
        arm_rows.append(dict(arm=arm.name, factor=factor, level=level, is_baseline=i == 0,
                             role="arm", factors_json=json.dumps(arm.factors),
                             config_json=json.dumps({**base_config, **arm.config}, sort_keys=True)))
        for seed in seeds:
            mean = TARGET_MEAN + arm.mean_shift + rng.normal(0, 0.05)
            sd = TARGET_STD * arm.std_scale * (1 + rng.normal(0, 0.03))
            x = rng.normal(mean, sd, N_VALUES)
            diverged = arm.diverge_seed == seed
            if diverged:
                x[:] = np.nan
            collapsed = bool(rng.random() < arm.p_collapse)
            # A collapsed G emits (nearly) the same vector for every noise draw: spread ~ 0.
            spread = 10 ** rng.uniform(-4, -1.5) if collapsed else rng.uniform(0.85, 1.05)
            member_rows.append(dict(arm=arm.name, seed=seed,
                                    status="diverged" if diverged else "done",
                                    diverged_epoch=float(n_epochs // 2) if diverged else np.nan,
                                    wall_s=rng.uniform(20, 40), spread_ratio=spread,
                                    diversity_pvalue=1e-12 if collapsed else rng.uniform(),
                                    # unknown for a diverged member, as the store records it
                                    collapsed=pd.NA if diverged else collapsed))
            scored = score_sample(x)
            score_rows += [dict(arm=arm.name, seed=seed, kind="member", **r) for r in scored]
            metric_rows += _metric_rows(arm.name, seed, x, scored, spread)
            sample_frames.append(pd.DataFrame({"arm": arm.name, "seed": seed,
                                               "index": np.arange(N_VALUES), "value": x}))
            history_frames.append(_history(rng, arm, seed, epochs))
    for name, (shift, scale) in controls.items():
        arm_rows.append(dict(arm=name, factor="control", level=name.split(":", 1)[1],
                             is_baseline=False, role="control", factors_json="{}", config_json=""))
        for rep in range(n_control_reps):
            x = rng.normal(TARGET_MEAN + shift, TARGET_STD * scale, N_VALUES)
            score_rows += [dict(arm=name, seed=rep, kind="control", **r) for r in score_sample(x)]

    scores = pd.DataFrame(score_rows)
    members = pd.DataFrame(member_rows)
    members["collapsed"] = members["collapsed"].astype("boolean")
    metrics = pd.DataFrame(metric_rows)

    passed = scores.assign(passed=(scores.status == "ok") & ~scores.reject)
    pass_rates = passed.groupby(["arm", "test"], sort=False).agg(
        n=("passed", "size"), count=("passed", "sum")).reset_index()
    pass_rates["rate"] = pass_rates["count"] / pass_rates["n"]
    pass_rates["ci_low"], pass_rates["ci_high"] = wilson(pass_rates["count"], pass_rates["n"])

    collapse_rates = members.groupby("arm", sort=False).agg(
        n=("collapsed", "count"), count=("collapsed", "sum")).reset_index()
    collapse_rates["rate"] = collapse_rates["count"] / collapse_rates["n"]
    collapse_rates["ci_low"], collapse_rates["ci_high"] = wilson(collapse_rates["count"],
                                                                 collapse_rates["n"])

    summary_rows = []
    for (arm_name, metric), group in metrics.dropna().groupby(["arm", "metric"], sort=False):
        lo, hi = _bootstrap_median_ci(rng, group.value.to_numpy())
        summary_rows.append(dict(arm=arm_name, metric=metric, n=len(group),
                                 median=group.value.median(), ci_low=lo, ci_high=hi))

    baseline = arms[0].name
    comparison_rows = []
    for arm in arms[1:]:
        for metric in METRICS:
            a = metrics.query("arm == @arm.name and metric == @metric").value.dropna().to_numpy()
            b = metrics.query("arm == @baseline and metric == @metric").value.dropna().to_numpy()
            u = stats.mannwhitneyu(a, b)
            # stand-in: Welch's p instead of the exact Mann-Whitney p, which cannot go below
            # 0.0079 with 5 seeds per arm (STATISTICS.md), so Holm could never reject here.
            p = stats.ttest_ind(a, b, equal_var=False).pvalue
            diffs = [np.median(rng.choice(a, len(a))) - np.median(rng.choice(b, len(b)))
                     for _ in range(300)]
            comparison_rows.append(dict(
                arm=arm.name, metric=metric, baseline=baseline, n=len(a), n_baseline=len(b),
                difference=np.median(a) - np.median(b), ci_low=np.quantile(diffs, 0.025),
                ci_high=np.quantile(diffs, 0.975), statistic=u.statistic,
                pvalue=p if np.isfinite(p) else 1.0,
                prob_improvement=float(np.mean(a[:, None] < b[None, :]))))
    comparisons = pd.DataFrame(comparison_rows, columns=COMPARISON_COLUMNS[:-2])
    if len(comparisons):
        comparisons["reject_holm"], comparisons["pvalue_holm"], *_ = multipletests(
            comparisons.pvalue.to_numpy(), alpha=ALPHA, method="holm")
    else:  # a single-arm run compares nothing
        comparisons = pd.DataFrame(columns=COMPARISON_COLUMNS)

    history = pd.concat(history_frames, ignore_index=True)
    settling_rows = []
    for (arm_name, seed), group in history.groupby(["arm", "seed"], sort=False):
        for metric, target, tol in (("g_mean", TARGET_MEAN, 0.25), ("g_std", TARGET_STD, 0.125)):
            inside = np.abs(group[metric].to_numpy() - target) < tol
            first = int(np.argmax(inside)) if inside.any() else -1
            settling_rows.append(dict(arm=arm_name, metric=metric, settled=first >= 0,
                                      epoch=first if first >= 0 else np.nan,
                                      stays=first >= 0 and inside[first:].mean() > 0.9))
    settling = pd.DataFrame(settling_rows).groupby(["arm", "metric"], sort=False).agg(
        n=("settled", "size"), settled_rate=("settled", "mean"), median_epoch=("epoch", "median"),
        stays_rate=("stays", "mean")).reset_index()

    provenance = dict(
        name="synthetic", design="ablation" if len(arms) < 5 else "factorial", preset="quick",
        command="python -m experiments.ablate --preset quick --seeds 5 --out 'reports/<x>&y'",
        seeds=seeds, num_epochs=n_epochs, n_draws=8, device="cpu",
        versions={"python": "3.11.2", "torch": "2.13.0+cpu", "scipy": "1.17.1",
                  "statsmodels": "0.15.0", "numpy": "2.4.6", "pandas": "3.1.1"},
        git_commit="0123456789abcdef0123456789abcdef01234567",
        started="2026-11-27T10:00:00+00:00", finished="2026-11-27T10:12:34+00:00",
        wall_s=754.2, alpha=ALPHA, target_mean=TARGET_MEAN, target_std=TARGET_STD)
    return ReportInput(arms=pd.DataFrame(arm_rows), members=members, scores=scores,
                       samples=pd.concat(sample_frames, ignore_index=True), history=history,
                       pass_rates=pass_rates, collapse_rates=collapse_rates,
                       metric_summary=pd.DataFrame(summary_rows), comparisons=comparisons,
                       settling=settling, provenance=provenance)


@pytest.fixture(scope="session")
def report_input() -> ReportInput:
    return make_report_input()


@pytest.fixture(scope="session")
def factorial_input() -> ReportInput:
    return make_report_input(arms=factorial_arms(), random_state=1)


@pytest.fixture(scope="session")
def rendered(report_input, tmp_path_factory):
    """The default synthetic report, rendered once per session (render is deterministic)."""
    from gancheck.report.render import render
    return render(report_input, tmp_path_factory.mktemp("report"))


@pytest.fixture(autouse=True)
def _close_figures():
    # A failing plot must not leak open figures into the next test (seaborn's conftest does this).
    yield
    plt.close("all")
