"""A synthetic ReportInput, fabricated with numpy/scipy in the schema of gancheck/report/data.py.

Nothing is trained. Each member is a kind of generator drawn from its arm's mix of behaviours
(healthy, wrong shape, off target, collapsed, stuck, diverged); its K noise draws are judged
test by test, its outcome comes from the real decision list (gancheck.stats.outcomes.classify),
its comparisons from the real gancheck.stats.comparisons, so the report sees every outcome,
Holm rejections both ways and controls of every kind. Statistics are computed honestly where
scipy has a one-line test; the exceptions are marked "stand-in" below. ``fast=True`` replaces
the scoring by drawn p-values (sized for the 5 MB test of the full design only).
"""
from __future__ import annotations

import json
from unittest import mock
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.diagnostic import normal_ad

from gancheck.report.data import ReportInput
from gancheck.runs.controls import CONTROLS, draw_control
from gancheck.runs.provenance import Host, Invocation, Provenance
from gancheck.stats.aggregate import settling, wilson_interval
from gancheck.stats.comparisons import compare_to_baseline, median_ci
from gancheck.stats import outcomes as outcomes_module
from gancheck.stats.outcomes import OUTCOMES, classify, outcome_table

TARGET_MEAN, TARGET_STD, ALPHA, N_VALUES = 4.0, 1.25, 0.05, 500
SCORE_TESTS = {"ks": "simple", "ad": "simple", "cvm": "simple", "shapiro": "composite",
               "ad_normal": "composite", "mean": "simple", "std": "simple", "skew": "composite",
               "kurtosis": "composite"}
DIVERSITY_TESTS = ("fixed_coordinates", "reused_values", "heterogeneity")
GROUPS = {"ks": "fit", "ad": "fit", "cvm": "fit", "shapiro": "shape", "ad_normal": "shape",
          "mean": "moments", "std": "moments", "skew": "moments", "kurtosis": "moments",
          **dict.fromkeys(DIVERSITY_TESTS, "diversity")}
METRICS = ("ks_statistic", "ad_statistic", "abs_mean_error", "abs_std_error", "fixed_share")
SCRIPT_ARM = "<script>alert(1)</script>"
#: Equivalence margins of the fabricated TOST rows (data units).
MARGINS = {"mean": 0.1, "std": 0.1}
N_PREVIEWS = 3


@dataclass
class FakeArm:
    """One fabricated arm: each seed's generator behaves as ``kind`` with probability mix[kind]."""

    name: str
    factors: dict
    mix: dict = field(default_factory=lambda: {"healthy": 1.0})
    mean_shift: float = 0.0  # of its healthy generators
    diverge_seed: int | None = None  # this seed's member diverges
    config: dict = field(default_factory=dict)


def default_arms() -> list[FakeArm]:
    return [
        FakeArm("baseline", {"baseline": "seed", "step_ratio": "20:20"}, diverge_seed=2,
                mix={"healthy": 0.35, "stuck": 0.3, "collapsed": 0.15, "off_target": 0.2}),
        FakeArm("g_hidden_size=200", {"g_hidden_size": "200"}, config={"g_hidden_size": 200},
                mix={"healthy": 0.95, "wrong_shape": 0.05}),
        FakeArm("features=raw", {"features": "raw"}, config={"features": "raw"},
                mix={"collapsed": 1.0}),
        # Hostile names and levels: the report must show them as text, never as markup.
        FakeArm(SCRIPT_ARM, {"name": "<i>level</i>"}, mean_shift=0.05,
                config={"features": "<img src=x onerror=alert(2)>"}),
        # An ordered factor (D:G steps): the report draws its levels as a trend.
        FakeArm("step_ratio=30:10", {"step_ratio": "30:10"}, config={"d_steps": 30, "g_steps": 10},
                mix={"healthy": 0.7, "collapsed": 0.3}),
        FakeArm("step_ratio=10:30", {"step_ratio": "10:30"}, config={"d_steps": 10, "g_steps": 30},
                mix={"healthy": 0.2, "stuck": 0.5, "collapsed": 0.3}),
    ]


def factorial_arms() -> list[FakeArm]:
    arms = []
    for features in ("moments", "raw"):
        for hidden in (5, 200):
            healthy = (0.8 if features == "moments" else 0.3) + (0.15 if hidden == 200 else 0.0)
            arms.append(FakeArm(f"features={features},g_hidden_size={hidden}",
                                {"features": features, "g_hidden_size": str(hidden)},
                                mix={"healthy": healthy, "collapsed": 1 - healthy},
                                config={"features": features, "g_hidden_size": hidden}))
    return arms


def full_design_arms(n_arms: int = 20) -> list[FakeArm]:
    """As many arms as the full default design (about 20): the size test's worst case."""
    arms = default_arms()[:1]
    for i in range(1, n_arms):
        healthy = 0.2 + 0.7 * (i % 5) / 4
        arms.append(FakeArm(f"factor_{i % 5}=level_{i}", {f"factor_{i % 5}": f"level_{i}"},
                            mix={"healthy": healthy, "collapsed": (1 - healthy) / 2,
                                 "stuck": (1 - healthy) / 2}, config={"g_hidden_size": 5 + i}))
    return arms


# ------------------------------------------------------------------------------- generators

def draw_generator(rng, kind: str, k: int, shift: float = 0.0) -> np.ndarray:
    """(k, n) noise draws of a generator that behaves as ``kind``."""
    mean, std = TARGET_MEAN + shift, TARGET_STD
    if kind == "healthy":
        return rng.normal(mean, std, (k, N_VALUES))
    if kind == "wrong_shape":  # right mean and std, two modes
        signs = rng.choice([-1.0, 1.0], size=(k, N_VALUES))
        return mean + std * (0.8 * signs + 0.6 * rng.standard_normal((k, N_VALUES)))
    if kind == "off_target":
        return rng.normal(mean + 0.6, 0.8 * std, (k, N_VALUES))
    if kind == "collapsed":  # one vector, re-emitted with a little noise
        return rng.normal(mean, std, (1, N_VALUES)) + rng.normal(0, 0.05 * std, (k, N_VALUES))
    if kind == "stuck":  # (nearly) one number
        return rng.normal(0.02, 0.01, (k, N_VALUES))
    if kind == "diverged":
        return np.full((k, N_VALUES), np.nan)
    raise ValueError(kind)


def score_draws(x: np.ndarray) -> dict:
    """test -> (statistics, p-values), one per draw (row of x); std's statistic is s - target
    std and mean's the error (as gancheck.judge reports them, which outcomes.classify reads)."""
    n = x.shape[1]
    ks = stats.kstest(x, "norm", args=(TARGET_MEAN, TARGET_STD), axis=1)
    cvm = stats.cramervonmises(x, "norm", args=(TARGET_MEAN, TARGET_STD), axis=1)
    a2, a2_p = normal_ad(x, axis=1)
    z_mean = (x.mean(axis=1) - TARGET_MEAN) / (TARGET_STD / np.sqrt(n))
    chi = (n - 1) * x.var(axis=1, ddof=1) / TARGET_STD**2
    chi_p = 2 * np.minimum(stats.chi2.cdf(chi, n - 1), stats.chi2.sf(chi, n - 1))
    return {
        "ks": (ks.statistic, ks.pvalue),
        # stand-in: scipy has no known-parameter AD; a scaled CvM statistic and its p.
        "ad": (cvm.statistic * 5.0, cvm.pvalue),
        "cvm": (cvm.statistic, cvm.pvalue),
        "shapiro": tuple(stats.shapiro(x, axis=1)),
        "ad_normal": (a2, a2_p),
        "mean": (x.mean(axis=1) - TARGET_MEAN, 2 * stats.norm.sf(np.abs(z_mean))),
        "std": (x.std(axis=1, ddof=1) - TARGET_STD, chi_p),
        "skew": tuple(stats.skewtest(x, axis=1)),
        "kurtosis": tuple(stats.kurtosistest(x, axis=1)),
    }


def diversity_rows(draws: np.ndarray) -> tuple[dict, dict]:
    """test -> (statistic, p) for the diversity tests, and the fixed share with its 95% CI."""
    k, n = draws.shape
    # Coordinate memorisation: one-way ANOVA, coordinates as groups, draws as replicates; ICC(1)
    # and its F-based interval (Shrout & Fleiss 1979).
    msb = k * draws.mean(axis=0).var(ddof=1)
    msw = draws.var(axis=0, ddof=1).mean()
    df1, df2 = n - 1, n * (k - 1)
    f = msb / msw
    icc = lambda F: (F - 1) / (F + k - 1)  # noqa: E731
    share = {"fixed_share": icc(f), "fixed_share_low": icc(f / stats.f.ppf(0.975, df1, df2)),
             "fixed_share_high": icc(f * stats.f.ppf(0.975, df2, df1))}
    pair_p = [stats.ks_2samp(draws[i], draws[i + 1]).pvalue for i in range(k - 1)]
    pair_d = [stats.ks_2samp(draws[i], draws[i + 1]).statistic for i in range(k - 1)]
    rows = {
        "fixed_coordinates": (share["fixed_share"], stats.f.sf(f, df1, df2)),
        # stand-in: KS of the pairwise p-values against U(0, 1), one-sided towards too-alike pairs.
        "reused_values": (float(np.median(pair_d)),
                          stats.kstest(pair_p, "uniform", alternative="less").pvalue),
        "heterogeneity": tuple(stats.f_oneway(*draws)),
    }
    return rows, share


def judge(draws: np.ndarray, rng, fast: bool = False, kind: str = "healthy") -> tuple[pd.DataFrame, dict]:
    """gancheck.judge-shaped rows for one generator's (K, n) draws, and its diversity summary."""
    k, n = draws.shape
    if not np.all(np.isfinite(draws)):
        rows = [dict(test=t, statistic=np.nan, pvalue=np.nan, reject=True, reject_rate=1.0,
                     status="non-finite values") for t in GROUPS]
        return pd.DataFrame(rows), dict(fixed_share=np.nan, fixed_share_low=np.nan,
                                        fixed_share_high=np.nan, diversity_pvalue=np.nan,
                                        collapsed=pd.NA, heterogeneous=pd.NA, spread_ratio=np.nan)
    if fast:  # drawn p-values: healthy generators pass, the others fail the tests they would
        bad = {"healthy": set(), "wrong_shape": {"ks", "shapiro", "ad_normal", "kurtosis"},
               "off_target": {"ks", "ad", "cvm", "mean", "std"},
               "collapsed": {"fixed_coordinates", "reused_values"},
               "stuck": set(GROUPS)}.get(kind, set())
        per = {t: (rng.uniform(0, 0.3), rng.uniform() * (1e-6 if t in bad else 1.0)) for t in GROUPS}
        per["std"] = ((0.01 - TARGET_STD) if kind == "stuck" else 0.0, per["std"][1])
        rates = {t: float(per[t][1] < ALPHA) for t in GROUPS}
        share = {"fixed_share": 0.97 if kind == "collapsed" else 0.0,
                 "fixed_share_low": 0.9 if kind == "collapsed" else -0.01,
                 "fixed_share_high": 0.99 if kind == "collapsed" else 0.01}
    else:
        per, rates = {}, {}
        for t, (statistic, p) in score_draws(draws).items():
            rejections = int((p < ALPHA).sum())
            # Generator-level p: the rejection count against Binomial(K, alpha) (a simple stand-in
            # for gancheck.judge's generator-level test); the statistic is the median over draws.
            per[t] = (float(np.median(statistic)),
                      stats.binomtest(rejections, k, ALPHA, alternative="greater").pvalue)
            rates[t] = rejections / k
        div, share = diversity_rows(draws)
        per.update(div)
        rates.update({t: float(div[t][1] < ALPHA) for t in DIVERSITY_TESTS})
    rows = pd.DataFrame([dict(test=t, statistic=float(s), pvalue=float(p), reject=bool(p < ALPHA),
                              reject_rate=rates[t], status="ok") for t, (s, p) in per.items()])
    # stand-in materiality rule: memorisation significant and at least half the variance fixed.
    memorised = per["fixed_coordinates"][1] < ALPHA and share["fixed_share"] >= 0.5
    summary = dict(**share, diversity_pvalue=min(per["fixed_coordinates"][1], per["reused_values"][1]),
                   collapsed=bool(memorised or per["reused_values"][1] < ALPHA / 10),
                   heterogeneous=bool(per["heterogeneity"][1] < ALPHA),
                   spread_ratio=float(draws.std(axis=0).mean() / TARGET_STD))
    return rows, summary


# ------------------------------------------------------------------------------- the fixture

def _holm(pvalues: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down adjusted p-values (Holm 1979), NaN left out, as gancheck's holm."""
    adjusted = np.full(pvalues.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(pvalues))
    order = tested[np.argsort(pvalues[tested], kind="stable")]
    m = order.size
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(pvalues[order] * (m - np.arange(m))))
    return adjusted, np.nan_to_num(adjusted, nan=1.0) <= alpha


def _history(rng, output_mean: float, output_std: float, diverged: bool, epochs: np.ndarray) -> pd.DataFrame:
    """G's batch mean/std per epoch: an overshoot, then a noisy settle at the member's output."""
    t = epochs / max(epochs[-1], 1)
    final_mean = output_mean if np.isfinite(output_mean) else TARGET_MEAN
    final_std = output_std if np.isfinite(output_std) else TARGET_STD
    overshoot = 3.5 * np.exp(-((t - 0.12) / 0.05) ** 2)
    g_mean = final_mean + (0.1 - final_mean) * np.exp(-t / 0.04) + overshoot + rng.normal(0, 0.2, len(t))
    g_std = final_std + (0.05 - final_std) * np.exp(-t / 0.1) + rng.normal(0, 0.05, len(t))
    frame = pd.DataFrame({"epoch": epochs, "g_mean": g_mean, "g_std": np.abs(g_std),
                          "d_loss": 1.386 + rng.normal(0, 0.02, len(t)),
                          "g_loss": 0.693 + rng.normal(0, 0.02, len(t))})
    if diverged:
        frame.loc[frame.epoch > epochs[len(epochs) // 2], ["g_mean", "g_std"]] = np.inf
    return frame


def _member(rng, arm: str, seed: int, kind: str, draws: np.ndarray, member_kind: str, fast: bool,
            n_epochs: int | None = None):
    rows, summary = judge(draws, rng, fast=fast, kind=kind)
    diverged = kind == "diverged"
    # statsmodels' Holm runs gc.collect() on every call (0.2 s in a big test session): the same
    # step-down adjustment in numpy keeps the fixture fast. Oracle: statsmodels' multipletests.
    with mock.patch.object(outcomes_module, "holm", _holm):
        outcome = classify(rows, collapsed=bool(summary["collapsed"] is True), diverged=diverged,
                           target_std=TARGET_STD, alpha=ALPHA)
    member = dict(arm=arm, seed=seed, kind=member_kind, status="diverged" if diverged else "done",
                  diverged_epoch=float(n_epochs // 2) if diverged and n_epochs else np.nan,
                  wall_s=rng.uniform(20, 40), outcome=outcome, **summary)
    scores = rows.assign(arm=arm, seed=seed, kind=member_kind, group=rows["test"].map(GROUPS),
                         hypothesis=rows["test"].map(lambda t: SCORE_TESTS.get(t, "any distribution")),
                         k=draws.shape[0], n=draws.shape[1])
    return member, scores


def _metrics(arm: str, seed: int, scores: pd.DataFrame, member: dict) -> list[dict]:
    stat = scores.set_index("test")["statistic"]
    broken = member["outcome"] == "diverged"
    values = {"ks_statistic": stat["ks"], "ad_statistic": stat["ad"],
              "abs_mean_error": abs(stat["mean"]), "abs_std_error": abs(stat["std"]),
              "fixed_share": member["fixed_share"]}
    # A broken member counts as the worst value of every metric, never dropped (data.py).
    return [dict(arm=arm, seed=seed, metric=m, value=np.inf if broken else float(v))
            for m, v in values.items()]


def _rate_rows(members: pd.DataFrame) -> pd.DataFrame:
    gan = members[members["kind"] == "member"]
    parts = [gan.assign(metric=f"rate:{o}", value=(gan["outcome"] == o).astype(float)) for o in OUTCOMES]
    parts.append(gan.assign(metric="rate:collapse_flag",
                            value=gan["collapsed"].astype("boolean").astype("Float64").astype(float)))
    return pd.concat(parts)[["arm", "seed", "metric", "value"]]


def _proportions(frame: pd.DataFrame, by: list[str], flag: str) -> pd.DataFrame:
    table = frame.groupby(by, sort=False).agg(n=(flag, "count"), count=(flag, "sum")).reset_index()
    table["count"] = table["count"].astype(int)
    table["rate"] = table["count"] / table["n"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["count"].to_numpy(), table["n"].to_numpy())
    return table


def _equivalence(scores: pd.DataFrame) -> pd.DataFrame:
    """TOST on the per-seed mean and std errors (one-sample t, 90% interval), margins MARGINS."""
    rows = []
    gan = scores[(scores["kind"] == "member") & scores["test"].isin(["mean", "std"])]
    for (arm, quantity), group in gan.groupby(["arm", "test"], sort=False):
        e = group["statistic"].to_numpy(dtype=float)
        e = e[np.isfinite(e)]
        margin = MARGINS[quantity]
        if e.size < 2 or np.ptp(e) == 0:  # no spread: no t interval
            continue
        se = e.std(ddof=1) / np.sqrt(e.size)
        t_crit = stats.t.ppf(0.95, e.size - 1)
        p = max(stats.t.sf((e.mean() + margin) / se, e.size - 1),
                stats.t.cdf((e.mean() - margin) / se, e.size - 1))
        rows.append(dict(arm=arm, quantity=quantity, estimate=e.mean(), ci_low=e.mean() - t_crit * se,
                         ci_high=e.mean() + t_crit * se, margin=margin, pvalue=p, equivalent=p < ALPHA))
    return pd.DataFrame(rows)


def _effects(members: pd.DataFrame, metrics: pd.DataFrame, arms: list[FakeArm]) -> pd.DataFrame:
    """Main effects and the interaction of a 2 x 2 design, by OLS with HC3 errors."""
    import statsmodels.formula.api as smf
    levels = pd.DataFrame([{"arm": a.name, **a.factors} for a in arms])
    factors = [c for c in levels.columns if c != "arm"]
    if len(factors) < 2:
        return pd.DataFrame()
    on = members[members["kind"] == "member"].assign(value=lambda m: (m["outcome"] == "on_target") * 1.0)
    ks = metrics[(metrics["metric"] == "ks_statistic") & np.isfinite(metrics["value"])]
    rows = []
    formula = "value ~ " + " * ".join(f"C({f})" for f in factors)
    for metric, frame in (("rate:on_target", on), ("ks_statistic", ks)):
        fit = smf.ols(formula, data=frame.merge(levels, on="arm")).fit(cov_type="HC3")
        ci = fit.conf_int()
        for term in fit.params.index[1:]:
            name = ":".join(part.split("[")[0].removeprefix("C(").removesuffix(")") for part in term.split(":"))
            rows.append(dict(metric=metric, term=name, estimate=fit.params[term], ci_low=ci.loc[term, 0],
                             ci_high=ci.loc[term, 1], pvalue=fit.pvalues[term], method="OLS, HC3"))
    return pd.DataFrame(rows)


def make_report_input(*, arms: list[FakeArm] | None = None, n_seeds: int = 12, n_epochs: int = 60,
                      n_control_reps: int = 20, controls=None, n_draws: int = 3,
                      fast: bool = False, random_state: int = 0) -> ReportInput:
    rng = np.random.default_rng(random_state)
    arms = default_arms() if arms is None else arms
    controls = list(CONTROLS if controls is None else controls)
    seeds = list(range(n_seeds))
    epochs = np.arange(n_epochs)
    arm_rows, members, scores, metric_rows, samples, previews, coordinates, histories = ([] for _ in range(8))
    base_config = {"data_mean": TARGET_MEAN, "data_std": TARGET_STD, "g_hidden_size": 5,
                   "features": "moments", "num_epochs": n_epochs, "lr_schedule": "seed_cosine",
                   "d_steps": 20, "g_steps": 20}
    for i, arm in enumerate(arms):
        factor, level = next(iter(arm.factors.items()))
        arm_rows.append(dict(arm=arm.name, factor=factor, level=level, is_baseline=i == 0, role="arm",
                             factors_json=json.dumps(arm.factors),
                             config_json=json.dumps({**base_config, **arm.config}, sort_keys=True)))
        kinds, weights = zip(*arm.mix.items())
        for seed in seeds:
            kind = "diverged" if arm.diverge_seed == seed else str(rng.choice(kinds, p=np.divide(weights, sum(weights))))
            draws = draw_generator(rng, kind, n_draws, arm.mean_shift)
            member, scored = _member(rng, arm.name, seed, kind, draws, "member", fast, n_epochs)
            members.append(member)
            scores.append(scored)
            metric_rows += _metrics(arm.name, seed, scored, member)
            samples.append(pd.DataFrame({"arm": arm.name, "seed": seed, "index": np.arange(N_VALUES),
                                         "value": draws[0]}))
            previews.append(pd.DataFrame({"arm": arm.name, "seed": seed,
                                          "draw": np.repeat(np.arange(N_PREVIEWS), N_VALUES),
                                          "index": np.tile(np.arange(N_VALUES), N_PREVIEWS),
                                          "value": draws[:N_PREVIEWS].ravel()}))
            coordinates.append(pd.DataFrame({"arm": arm.name, "seed": seed, "index": np.arange(N_VALUES),
                                             "mean": draws.mean(axis=0), "sd": draws.std(axis=0, ddof=1)}))
            histories.append(_history(rng, float(draws.mean()), float(draws[0].std()), kind == "diverged",
                                      epochs).assign(arm=arm.name, seed=seed))
    for name in controls:
        arm_rows.append(dict(arm=f"control:{name}", factor="control", level=name, is_baseline=False,
                             role="control", factors_json="{}", config_json=""))
        for rep in range(n_control_reps):
            draws = draw_control(name, rep, max(2, n_draws // 2), N_VALUES, TARGET_MEAN, TARGET_STD)
            kind = {"null": "healthy", "collapsed": "collapsed", "mean_shift": "off_target",
                    "wrong_std": "off_target"}.get(name, "wrong_shape")
            # Controls get drawn p-values: hundreds of replicates would dominate the fixture's time.
            member, scored = _member(rng, f"control:{name}", rep, kind, draws, "control", True)
            members.append(member)
            scores.append(scored)

    members = pd.DataFrame(members)
    for flag in ("collapsed", "heterogeneous"):
        members[flag] = members[flag].astype("boolean")
    scores = pd.concat(scores, ignore_index=True)[
        ["arm", "seed", "kind", "test", "group", "hypothesis", "statistic", "pvalue", "reject",
         "reject_rate", "status", "k", "n"]]
    metrics = pd.DataFrame(metric_rows)
    history = pd.concat(histories, ignore_index=True)[["arm", "seed", "epoch", "g_mean", "g_std",
                                                       "d_loss", "g_loss"]]
    passed = scores.assign(passed=(scores.status == "ok") & ~scores.reject)
    summary_rows = []
    for (arm_name, metric), group in metrics.groupby(["arm", "metric"], sort=False):
        lo, hi = median_ci(group.value.to_numpy())
        summary_rows.append(dict(arm=arm_name, metric=metric, n=len(group), median=group.value.median(),
                                 ci_low=lo, ci_high=hi))
    baseline = arms[0].name
    rates = _rate_rows(members).reset_index(drop=True)
    comparisons = compare_to_baseline(metrics, rates, baseline, alpha=ALPHA,
                                      higher_is_better={"rate:on_target"})
    # The typed record a run writes (gancheck.runs.provenance), as the store holds it.
    invocation = Invocation(
        command="python -m experiments.ablate --preset quick --seeds 5 --out 'reports/<x>&y'",
        started="2026-11-27 10:00:00 UTC", git_commit="0123456789abcdef0123456789abcdef01234567",
        git_dirty=True, diff_sha256="ab" * 32, device="cpu", executor="2 local worker processes",
        workers=2, threads_per_worker=1, compile="eager: every arm (no C++ compiler)",
        computed=len(arms) * n_seeds, wall_s=754.2,
        host=Host("Intel(R) Xeon(R) <b>CPU</b> @ 2.20GHz", 2, "Debian GNU/Linux 12 (Linux 6.1.0)", "3.11.2"),
        versions={"python": "3.11.2", "torch": "2.13.0+cpu", "scipy": "1.17.1",
                  "statsmodels": "0.15.0", "numpy": "2.4.6", "pandas": "3.1.1"})
    provenance = Provenance(
        name="synthetic", design="ablation" if len(arms) < 7 else "factorial", preset="quick",
        command=invocation.command, seeds=seeds, num_epochs=[n_epochs], n_draws=n_draws,
        control_reps=n_control_reps, alpha=ALPHA, target_mean=TARGET_MEAN, target_std=TARGET_STD,
        baseline=baseline, design_spec={"factors": "one at a time"},
        started="2026-11-27 10:00:00 UTC", finished="2026-11-27 10:12:34 UTC", wall_s=754.2,
        finished_ok=True, invocations=[invocation]).to_dict()
    return ReportInput(
        arms=pd.DataFrame(arm_rows), members=members, scores=scores,
        samples=pd.concat(samples, ignore_index=True), history=history,
        pass_rates=_proportions(passed, ["arm", "test"], "passed"),
        collapse_rates=_proportions(members.dropna(subset=["collapsed"]).assign(
            collapsed=lambda m: m["collapsed"].astype(bool)), ["arm"], "collapsed"),
        metric_summary=pd.DataFrame(summary_rows), comparisons=comparisons,
        settling=settling(history, target_mean=TARGET_MEAN, target_std=TARGET_STD),
        provenance=provenance, outcomes=outcome_table(members), metrics=metrics,
        # rates.csv as a run publishes it (a published folder without it is refused as damaged).
        rates=rates, equivalence=_equivalence(scores), previews=pd.concat(previews, ignore_index=True),
        coordinates=pd.concat(coordinates, ignore_index=True),
        effects=_effects(members, metrics, arms) if len(arms) == 4 and "," in arms[0].name else pd.DataFrame())


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
