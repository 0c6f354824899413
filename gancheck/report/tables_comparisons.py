"""Comparison, equivalence and factorial-effect tables, as rows of fixed-format strings."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from gancheck.report.data import ReportInput
from gancheck.report.labels import (EFFECT_METHODS, metric_label, term_label, term_parts,
                                    units_label)
from gancheck.report.tables import (METRIC_DECIMALS, MISSING, arm_order, baseline_name, finite,
                                    fmt_count, fmt_fixed, fmt_interval, fmt_p, fmt_rate, fmt_signed,
                                    is_better)
from gancheck.stats.comparisons import holm

TEST_NAMES = {"boschloo": "Boschloo", "sign": "sign test (paired)"}
#: Rows shown outside the collapsed full table: the questions the answer paragraph is about.
KEY_METRICS = ("rate:on_target", "rate:collapsed")


def _difference_format(metric: str):
    decimals = 2 if metric.startswith("rate:") else METRIC_DECIMALS.get(metric, 3)
    return lambda x: fmt_signed(x, decimals)


#: Slack for "a rate that far from the baseline's stays in [0, 1]": the mde comes off a grid.
_RATE_SLACK = 1e-9


@dataclass(frozen=True)
class Detectable:
    """One row's smallest detectable effect in words: ``cell`` for the table (signed, its scale
    readable from the cell alone), ``sentence`` for Methods (the size first)."""

    cell: str
    sentence: str


def _baseline_rates(data: ReportInput) -> dict:
    """metric -> the baseline's observed rate: the rate each rate row's ``mde`` is measured from
    (gancheck.stats.comparisons takes it from the same per-seed 0/1 table)."""
    base = baseline_name(data)
    if data.rates.empty or base is None:
        return {}
    rows = data.rates[data.rates["arm"] == base]
    return pd.to_numeric(rows["value"], errors="coerce").groupby(rows["metric"]).mean().to_dict()


def _rate_detectable(gap: float, base) -> Detectable:
    """A rate row's mde is a size, |arm - baseline|, searched on both sides of the baseline's
    rate. Its direction follows from [0, 1]: a drop where no rate lies that far above the
    baseline's (0.53 from 0.85), a rise where none lies that far below, "±" where both do (then
    at least one of the two reaches the power); no direction where the baseline's rate is
    unknown or leaves no rate that far."""
    size = fmt_fixed(gap, 2)
    up = down = False
    if finite(base):
        base = float(base)
        up, down = base + gap <= 1 + _RATE_SLACK, base - gap >= -_RATE_SLACK
    if not (up or down):  # no baseline rate, or one this mde was not measured from
        return Detectable(size, f"{size} (rate difference, either way)")
    start = fmt_rate(base)
    if down and not up:
        return Detectable(f"−{size} ({start} → {fmt_rate(base - gap)})",
                          f"{size}, a drop from the baseline's {start} to {fmt_rate(base - gap)} "
                          "(a rise that large is impossible)")
    if up and not down:
        return Detectable(f"+{size} ({start} → {fmt_rate(base + gap)})",
                          f"{size}, a rise from the baseline's {start} to {fmt_rate(base + gap)} "
                          "(a drop that large is impossible)")
    ends = f"{fmt_rate(base - gap)} or {fmt_rate(base + gap)}"
    return Detectable(f"±{size} ({start} → {ends})",
                      f"{size} up or down from the baseline's {start} (to {ends}; at least one "
                      "of the two)")


def _probability_detectable(q: float) -> Detectable:
    """A metric row's mde is not a difference in the metric's units but the smallest probability
    q that a seed of the arm beats the same seed of the baseline which the two-sided sign test
    detects; 1 - q (the arm worse) is detected alike, so both are named."""
    high, low = fmt_fixed(q, 3), fmt_fixed(1 - q, 3)
    return Detectable(f"P(better) ≥ {high} or ≤ {low}",
                      f"P(a seed of the arm beats the same seed of the baseline) of {high} or "
                      f"more, or {low} or less (paired sign test)")


#: Each test's mde in words, keyed as gancheck.stats.comparisons.MDE_SCALES (its scale).
_DETECTABLE = {"boschloo": lambda value, base: _rate_detectable(value, base),
               "sign": lambda value, base: _probability_detectable(value)}


def detectable(row, base_rates: dict) -> Detectable:
    """The row's ``mde`` in words, on the scale its test measures it (comparisons.csv's
    ``mde_scale``: a rate difference for Boschloo's test, P(arm better on a seed) for the
    sign test); a test without words here gets the number and its ``mde_scale``."""
    value = row.get("mde")
    if not finite(value):
        return Detectable(MISSING, MISSING)
    words = _DETECTABLE.get(str(row.get("test", "")))
    if words:
        return words(float(value), base_rates.get(row["metric"]))
    scale = row.get("mde_scale")
    text = fmt_fixed(value, 3) + (f" ({scale})" if isinstance(scale, str) and scale else "")
    return Detectable(text, text)


def comparison_rows(data: ReportInput, metrics=None, frame: pd.DataFrame | None = None) -> dict:
    """Arm-vs-baseline rows (all, of ``metrics``, or those of ``frame``), arms in design order,
    then metric order."""
    frame = data.comparisons if frame is None else frame
    if frame.empty:
        return {"rows": [], "has_mde": False}
    if metrics is not None:
        frame = frame[frame["metric"].isin(metrics)]
    order = {a: i for i, a in enumerate(arm_order(data))}
    metric_order = {m: i for i, m in enumerate(dict.fromkeys(
        [*KEY_METRICS, *sorted(m for m in frame["metric"] if m.startswith("rate:")),
         *sorted(m for m in frame["metric"] if not m.startswith("rate:"))]))}
    frame = frame.assign(_a=frame["arm"].map(order).fillna(1e9), _m=frame["metric"].map(metric_order))
    # A column of dashes says nothing: shown only where some row has a smallest detectable effect.
    has_mde = "mde" in frame.columns and pd.to_numeric(frame["mde"], errors="coerce").notna().any()
    base_rates = _baseline_rates(data) if has_mde else {}
    rows = []
    for _, r in frame.sort_values(["_a", "_m"], kind="stable").iterrows():
        fmt = _difference_format(r["metric"])
        holm = bool(r.get("reject_holm", False))
        rows.append({
            "arm": r["arm"], "metric": metric_label(r["metric"]),
            "test": TEST_NAMES.get(str(r.get("test", "")), str(r.get("test", MISSING))),
            "n": f"{fmt_count(r['n'])} vs {fmt_count(r['n_baseline'])}",
            "family": str(r.get("family", "")) if pd.notna(r.get("family", "")) else "",
            "difference": fmt(r["difference"]), "ci": fmt_interval(r["ci_low"], r["ci_high"], fmt),
            "p": fmt_p(r["pvalue"]), "p_holm": fmt_p(r.get("pvalue_holm")),
            "holm": holm,
            "direction": ("better" if is_better(r["metric"], r["difference"]) else "worse") if holm else "",
            "pi": fmt_rate(r.get("prob_improvement")),
            "pi_ci": fmt_interval(r.get("prob_improvement_low"), r.get("prob_improvement_high")),
            "mde": detectable(r, base_rates).cell if has_mde else "",
        })
    rates = frame["metric"].astype(str).str.startswith("rate:")
    scale = ("arm − baseline" if rates.all() else "P(arm better on a seed)" if not rates.any()
             else "rates: arm − baseline; metrics: P(arm better on a seed)")
    return {"rows": rows, "has_mde": has_mde, "has_family": "family" in frame.columns, "mde_scale": scale}


def family(data: ReportInput) -> dict:
    """The Holm family: how many rows, how many tested, how many significant."""
    frame = data.comparisons
    if frame.empty:
        return {"size": 0, "tested": 0, "significant": 0}
    tested = frame["pvalue"].map(finite)
    return {"size": len(frame), "tested": int(tested.sum()),
            "significant": int(frame["reject_holm"].astype(bool).sum())}


def equivalence_rows(data: ReportInput) -> list[dict]:
    """TOST rows (arm, quantity, estimate, interval, margin, p, equivalent) where the table holds
    them (a ``quantity`` column); none otherwise.

    A run's equivalence.csv holds each arm's share of seeds individually shown within the
    tolerance (gancheck.runs.verdicts.equivalence): the margins and the two one-sided tests are
    applied per generator, inside the on-target outcome, so such a table has no margin, TOST p or
    verdict per row, and its share and Wilson interval are the on-target column of the outcome
    table. Shown under the TOST header it was a grid of dashes, so it is not shown."""
    frame = data.equivalence
    if frame.empty or "quantity" not in frame.columns:
        return []
    order = {a: i for i, a in enumerate(arm_order(data))}
    frame = frame.assign(_a=frame["arm"].map(order).fillna(1e9))
    fmt = lambda x: fmt_signed(x, 3)  # noqa: E731
    return [{"arm": r["arm"], "quantity": str(r["quantity"]), "estimate": fmt(r["estimate"]),
             "ci": fmt_interval(r["ci_low"], r["ci_high"], fmt),
             "margin": f"± {fmt_fixed(r['margin'], 3)}" if finite(r.get("margin")) else MISSING,
             "p": fmt_p(r.get("pvalue")),
             "equivalent": "yes" if bool(r.get("equivalent", False)) else "not shown"}
            for _, r in frame.sort_values(["_a", "quantity"], kind="stable").iterrows()]


def effect_units(metric: str, method: str, units=None) -> str:
    """The scale an effect is on: the table's own ``units`` where it has them, else the
    method's (Firth logistic: log-odds; rank OLS: ranks; OLS: the metric's units)."""
    if isinstance(units, str) and units.strip():
        return units
    method = str(method)
    if method.startswith("firth") or metric.startswith("rate:"):
        return "log-odds"
    if "ranks" in method:
        return "ranks over all seeds"
    return "metric units"


def _term_sentence(term: str, estimate: str, units: str, ci: str, p: str, p_holm: str, family: int,
                   references: dict | None = None) -> str:
    """One sentence per term: a main effect against the reference level (the baseline's, named
    where ``references`` knows it), or how an effect changes with another factor's level
    (the term's factors as labels.term_parts words them)."""
    parts = term_parts(term)
    named = [words for _, words in parts]
    if len(named) == 1:
        reference = (references or {}).get(parts[0][0])
        against = f"against {reference} (the baseline's level)" if reference else "against its reference level"
        what = f"{named[0]} {against}, averaged over the other factors"
    else:
        what = (f"how the effect of {named[0]} changes when " + " and ".join(named[1:])
                + " (a difference of differences)")
    equals = lambda text: text if text.startswith("<") else "= " + text  # noqa: E731
    return f"{what}: {estimate} {units} {ci}, p {equals(p)} (Holm over its {family} terms: p {equals(p_holm)})."


def _baseline_levels(data: ReportInput) -> dict:
    """factor -> the baseline arm's level, from arms.csv's factors_json ({} if not recorded)."""
    import json
    base = data.arms[data.arms["is_baseline"].astype(bool)] if len(data.arms) else data.arms
    if base.empty or "factors_json" not in base:
        return {}
    try:
        return {str(k): str(v) for k, v in json.loads(base["factors_json"].iloc[0] or "{}").items()}
    except (TypeError, ValueError):
        return {}


def effect_rows(data: ReportInput) -> list[dict]:
    """Every effect row, the on-target rate's first (its sentences lead the section); term,
    method and scale in the words gancheck.report.labels gives them."""
    frame = data.effects
    if frame is None or frame.empty:
        return []
    frame = frame.assign(_first=frame["metric"] != "rate:on_target").sort_values("_first", kind="stable")
    # Each rate or metric's terms are one family: a factorial design tests them all at once, so
    # a term's own p overstates it (the remedies design's 7 terms of the on-target rate).
    pvalues = pd.to_numeric(frame["pvalue"], errors="coerce")
    holm_p = pvalues.groupby(frame["metric"], sort=False).transform(lambda p: holm(p.to_numpy(), 0.05)[0])
    family = pvalues.groupby(frame["metric"], sort=False).transform("size")
    references = _baseline_levels(data)
    rows = []
    for index, r in frame.iterrows():
        metric = str(r["metric"])
        fmt = _difference_format(metric)
        units = units_label(effect_units(metric, r.get("method", ""), r.get("units")))
        method = str(r.get("method", MISSING))
        converged = r.get("converged", True)
        converged = True if converged is None or (isinstance(converged, float) and pd.isna(converged)) \
            else bool(converged)
        estimate, ci, p = fmt(r["estimate"]), fmt_interval(r["ci_low"], r["ci_high"], fmt), fmt_p(r["pvalue"])
        p_holm = fmt_p(holm_p[index])
        sentence = _term_sentence(str(r["term"]), estimate, units, ci, p, p_holm, int(family[index]), references)
        if not converged:
            sentence += " The fit did not converge: read this row as unreliable."
        rows.append({"metric": metric_label(metric), "term": term_label(r["term"]), "estimate": estimate,
                     "ci": ci, "p": p, "p_holm": p_holm, "units": units, "converged": converged,
                     "method": EFFECT_METHODS.get(method, method), "sentence": sentence})
    return rows


def interval_adjustment(data: ReportInput) -> str:
    """How comparisons' intervals are adjusted, from a column that says so ("" when none does)."""
    frame = data.comparisons
    for column in frame.columns:
        if "adjust" in column.lower() and len(frame):
            values = frame[column].dropna().astype(str).unique()
            if len(values) == 1 and values[0].lower() in ("true", "holm", "1"):
                return "Holm-adjusted"
            if len(values) == 1 and values[0].lower() in ("false", "none", "0", ""):
                return "unadjusted"
            return "see the interval_adjusted column"
    return "unadjusted"


def mde_summary(data: ReportInput) -> list[str]:
    """Sentences on the smallest effect the run could detect, from comparisons' ``mde`` column
    (filled by the aggregation when it computes one), each on its own scale and, for rates, in
    its direction (``detectable``); empty when the run did not compute it."""
    frame = data.comparisons
    if frame.empty or "mde" not in frame.columns:
        return []
    base_rates = _baseline_rates(data)
    lines = []
    for metric, group in frame.groupby("metric", sort=False):
        group = group.assign(mde=pd.to_numeric(group["mde"], errors="coerce")).dropna(subset=["mde"])
        if group.empty:
            continue
        typical = group.iloc[(group["mde"] - group["mde"].median()).abs().argsort().iloc[0]]
        low, high = group["mde"].min(), group["mde"].max()
        decimals = 2 if typical.get("test") == "boschloo" else 3  # as the sentence's size
        spread = ("" if low == high else
                  f" (from {fmt_fixed(low, decimals)} to {fmt_fixed(high, decimals)} over arms)")
        lines.append(f"{metric_label(str(metric))}: {detectable(typical, base_rates).sentence}{spread}")
    return lines
