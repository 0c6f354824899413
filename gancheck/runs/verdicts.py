"""The choices that turn stored verdicts into per-seed tables: one outcome per member, the per-seed
metrics and rates that arms are compared on, and the equivalence margins.

This is where gancheck decides what matters about a trained generator; gancheck.stats only
provides the tests. Every table is long form, one row per (arm, seed, ...).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from gancheck.runs.store import Store

from gancheck.stats.outcomes import OUTCOMES

MEMBER_COLUMNS = ["arm", "seed", "kind", "status", "diverged_epoch", "wall_s", "spread_ratio",
                  "fixed_share", "fixed_share_low", "fixed_share_high", "diversity_pvalue",
                  "collapsed", "heterogeneous"]
#: A member's stored verdict (gancheck.verdict): outcome, whether a test detected a departure, why.
VERDICT_FIELDS = ["outcome", "detected", "reason"]
SCORE_COLUMNS = ["arm", "seed", "kind", "test", "group", "hypothesis", "statistic", "pvalue", "reject",
                 "reject_rate", "status", "k", "n"]
#: Per-seed metrics, lower is better: (metric, judge test whose statistic it is, transform).
#: ks and ad: the median over draws of D and A²; mean and std: |median over draws of the error|.
METRIC_SOURCES = (("ks_statistic", "ks", float), ("ad_statistic", "ad", float),
                  ("abs_mean_error", "mean", abs), ("abs_std_error", "std", abs))
#: The diversity ICC: the share of the output's variance fixed per coordinate across draws.
FIXED_SHARE = "fixed_share"
METRICS = tuple(name for name, _, _ in METRIC_SOURCES) + (FIXED_SHARE,)
#: Rates compared between arms: each outcome, and diversity's collapse flag on its own (an arm
#: can shift seeds between "stuck" and "collapsed" without changing the flag, or the reverse).
RATES = tuple(f"rate:{o}" for o in OUTCOMES) + ("rate:collapse_flag",)
HIGHER_IS_BETTER = frozenset({"rate:on_target"})
#: The outcome that says a generator was shown within the declared tolerance: an arm's
#: equivalence statement is the share of its seeds with this outcome.
WITHIN_TOLERANCE = "on_target"
#: Failed members: outcomes whose generator does not do its job whatever its per-seed metrics
#: say. A stuck generator's fixed share is about 0 (nothing is fixed across draws when nothing
#: varies), and a collapsed one may match the target's moments and shape well; a measured value
#: would flatter them. So every per-seed metric of a failed member is FAILED_VALUE, the worst
#: value of every metric (all are lower-is-better), measured or not: it ranks below every
#: working seed in every comparison, and is never dropped. Any memorisation outcome the
#: decision list adds beside "collapsed" belongs here too.
FAILED_OUTCOMES = tuple(o for o in OUTCOMES if o in ("diverged", "stuck") or "collapse" in o
                        or "memoris" in o)
FAILED_VALUE = np.inf
#: The Holm families of comparisons.csv, declared here once (gancheck.stats.comparisons runs
#: Holm within each): PRIMARY, the question a run asks first (does the arm change how often
#: the GAN learns the target?), one row per arm; the other RATES are secondary; the per-seed
#: METRICS are descriptive. Sequential runs stop on the PRIMARY family too.
PRIMARY = ("rate:on_target",)


def stored_results(store: Store, provenance: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The arms, members and scores of the design as last run (older leftovers are ignored)."""
    arms = store.read_table("arms")
    raw = store.read_table("members")
    seeds = set(provenance.get("seeds", []))
    reps = set(range(int(provenance.get("control_reps", 0))))
    digest = dict(zip(arms["arm"], arms["digest"]))
    keep = raw["arm"].map(digest).eq(raw["digest"]) & np.where(
        raw["kind"].eq("control"), raw["seed"].isin(reps), raw["seed"].isin(seeds))
    raw = raw[keep].sort_values(["arm", "seed"], kind="stable").reset_index(drop=True)
    # Rows are stored in the order tasks finished, which varies from run to run; sorting (stably,
    # keeping each member's tests in scoring order) makes the same results give the same CSVs.
    scores = (store.read_table("scores").rename(columns={"test_group": "group"})
              .merge(raw[["arm", "seed"]], on=["arm", "seed"])
              .sort_values(["arm", "seed"], kind="stable").reset_index(drop=True))
    scores["reject"] = scores["reject"].astype(bool)
    # Each member's verdict was decided where its draws were (the draws are not stored); a store
    # written before verdicts were stored has none, and its members read as undecided.
    verdicts = store.read_table("verdicts")[["arm", "seed", *VERDICT_FIELDS]]
    raw = raw.drop(columns=[c for c in VERDICT_FIELDS if c in raw.columns]).merge(
        verdicts, on=["arm", "seed"], how="left")
    return arms, raw, scores[SCORE_COLUMNS]


def member_table(raw: pd.DataFrame, scores: pd.DataFrame, *, target_std: float,
                 alpha: float) -> pd.DataFrame:
    """The stored members' MEMBER_COLUMNS, flags as nullable booleans, with their outcome."""
    members = raw[MEMBER_COLUMNS + [c for c in VERDICT_FIELDS if c in raw.columns]].copy()
    for flag in ("collapsed", "heterogeneous"):
        members[flag] = members[flag].astype("boolean")
    return with_outcomes(members, scores, target_std=target_std, alpha=alpha)


def with_outcomes(members: pd.DataFrame, scores: pd.DataFrame, *, target_std: float,
                  alpha: float) -> pd.DataFrame:
    """``members`` with its stored verdict: ``outcome`` (gancheck.stats.decision's list, against
    the tolerance in the run's record), ``detected`` (some single test detected a departure,
    whatever the tolerance) and ``reason``. A member without a stored verdict (an older store)
    is ``undecided``; a diverged member is ``diverged`` whatever was stored. ``scores``,
    ``target_std`` and ``alpha`` are kept for callers; the verdict needed the draws, so it was
    decided when the member ran."""
    members = members.copy()
    outcome = members["outcome"] if "outcome" in members.columns else pd.Series(np.nan, index=members.index)
    reason = members["reason"] if "reason" in members.columns else pd.Series(np.nan, index=members.index)
    detected = members["detected"] if "detected" in members.columns else pd.Series(np.nan, index=members.index)
    missing = outcome.isna()
    members["outcome"] = outcome.where(~missing, "undecided").astype(object)
    members["reason"] = reason.where(~missing, "no verdict stored for this member").astype(object)
    members["detected"] = detected.astype("boolean")
    diverged = members["status"].eq("diverged")
    members.loc[diverged, "outcome"] = "diverged"
    return members


def per_seed_metrics(members: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """``[arm, seed, metric, value]`` for the GAN members (controls excluded). Every metric of a
    failed member (FAILED_OUTCOMES) is FAILED_VALUE, measured or not; a metric a working member
    could not measure stays NaN (not measured, left out)."""
    gan = members[members["kind"] == "member"]
    keys = gan[["arm", "seed", "outcome"]]
    parts = []
    for metric, test, transform in METRIC_SOURCES:
        rows = scores[(scores["test"] == test) & (scores["status"] == "ok")]
        values = rows.set_index(["arm", "seed"])["statistic"].astype(float).map(transform)
        part = keys.assign(metric=metric)
        part["value"] = [values.get((a, s), np.nan) for a, s in zip(part["arm"], part["seed"])]
        parts.append(part)
    parts.append(keys.assign(metric=FIXED_SHARE, value=gan[FIXED_SHARE].astype(float).to_numpy()))
    table = pd.concat(parts, ignore_index=True)
    table.loc[table["outcome"].isin(FAILED_OUTCOMES), "value"] = FAILED_VALUE
    return (table.drop(columns="outcome")
            .sort_values(["arm", "seed", "metric"], kind="stable", ignore_index=True))


def per_seed_rates(members: pd.DataFrame) -> pd.DataFrame:
    """``[arm, seed, metric, value]``, value 0/1: each outcome, and the collapse flag."""
    gan = members[members["kind"] == "member"]
    parts = [gan[["arm", "seed"]].assign(metric=f"rate:{o}", value=(gan["outcome"] == o).astype(float))
             for o in OUTCOMES]
    parts.append(gan[["arm", "seed"]].assign(metric="rate:collapse_flag",
                                             value=gan["collapsed"].astype(float)))
    return pd.concat(parts, ignore_index=True)


def equivalence(members: pd.DataFrame, scores: pd.DataFrame, *, target_std: float,
                alpha: float) -> pd.DataFrame:
    """Per arm ``[arm, n, count, share, ci_low, ci_high, interval]``: the share of its seeds
    individually shown within the tolerance (outcome WITHIN_TOLERANCE), with a Wilson
    interval (gancheck.stats.equivalence.share_within). ``scores``, ``target_std`` and
    ``alpha`` are kept for callers: each outcome already used them."""
    from gancheck.stats.equivalence import SHARE_COLUMNS, share_within
    gan = members[members["kind"] == "member"]
    rows = [{"arm": arm, **share_within((group["outcome"] == WITHIN_TOLERANCE).to_numpy())}
            for arm, group in gan.groupby("arm", sort=True)]
    return pd.DataFrame(rows, columns=["arm", *SHARE_COLUMNS])


#: Rates whose factorial effects are estimated (contrasts of cell rates): on target, and collapse.
EFFECT_RATES = ("rate:on_target", "rate:collapse_flag")


def crossed_factors(arms: pd.DataFrame) -> list[str]:
    """The factors a design crosses (some arm changes two or more of them at once), else []: a
    one-factor-at-a-time design has no interactions to estimate."""
    import json
    rows = arms[arms["role"] == "arm"]
    if rows.empty:
        return []
    levels = pd.DataFrame([json.loads(text) for text in rows["factors_json"]])
    varying = [f for f in levels.columns if levels[f].nunique() > 1]
    base = rows["is_baseline"].astype(bool).to_numpy()
    if not base.any() or len(varying) < 2:
        return []
    changed = (levels[varying] != levels[varying][base].iloc[0]).sum(axis=1)
    if not (changed >= 2).any():
        return []
    # Interactions are estimable only where every combination of levels was run (a full
    # crossing); arms that change several factors in some other pattern (the fix design's
    # leave-one-out arms) give rates and comparisons, not effects.
    combinations = levels[varying].drop_duplicates()
    return varying if len(combinations) == levels[varying].nunique().prod() else []


def factor_effects(arms: pd.DataFrame, metrics: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """Main effects and interactions of the crossed factors, however many, up to three-way
    (gancheck.stats.effects: higher-order terms are fitted, not reported), on every per-seed
    metric (OLS on ranks with the seed as a block, so a failed member's +inf counts as the worst
    rank) and on EFFECT_RATES (rate differences); an empty frame for designs that cross nothing."""
    import json

    from gancheck.stats.effects import effects
    factors = crossed_factors(arms)
    if not factors:
        return pd.DataFrame()
    levels = pd.DataFrame([{"arm": arm, **json.loads(text)} for arm, text in
                           arms.loc[arms["role"] == "arm", ["arm", "factors_json"]].itertuples(index=False)])
    # The baseline's level of each factor is the reference, so a term reads "this level against
    # the seed's" (gancheck.stats.effects takes the first category as the reference).
    base = arms.loc[arms["is_baseline"].astype(bool), "arm"]
    base_levels = levels.set_index("arm").loc[base.iloc[0]] if len(base) else None
    for factor in factors:
        order = list(pd.unique(levels[factor]))
        if base_levels is not None:
            order = [base_levels[factor]] + [v for v in order if v != base_levels[factor]]
        levels[factor] = pd.Categorical(levels[factor], categories=order)
    table = pd.concat([metrics, rates[rates["metric"].isin(EFFECT_RATES)]], ignore_index=True)
    table = table.merge(levels[["arm", *factors]], on="arm")
    return effects(table, factors, rate_metrics=[m for m in EFFECT_RATES if m in set(table["metric"])],
                   ranks=True)
