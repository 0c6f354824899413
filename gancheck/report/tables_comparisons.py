"""Comparison, equivalence and factorial-effect tables, as rows of fixed-format strings."""
from __future__ import annotations

import pandas as pd

from gancheck.report.data import ReportInput
from gancheck.report.labels import metric_label
from gancheck.report.tables import (METRIC_DECIMALS, MISSING, arm_order, finite, fmt_count,
                                    fmt_interval, fmt_p, fmt_rate, fmt_signed, is_better)

TEST_NAMES = {"boschloo": "Boschloo", "sign": "sign test (paired)"}
#: Rows shown outside the collapsed full table: the questions the answer paragraph is about.
KEY_METRICS = ("rate:on_target", "rate:collapsed")


def _difference_format(metric: str):
    decimals = 2 if metric.startswith("rate:") else METRIC_DECIMALS.get(metric, 3)
    return lambda x: fmt_signed(x, decimals)


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
            "mde": fmt(r["mde"]) if has_mde else "",
        })
    return {"rows": rows, "has_mde": has_mde, "has_family": "family" in frame.columns}


def family(data: ReportInput) -> dict:
    """The Holm family: how many rows, how many tested, how many significant."""
    frame = data.comparisons
    if frame.empty:
        return {"size": 0, "tested": 0, "significant": 0}
    tested = frame["pvalue"].map(finite)
    return {"size": len(frame), "tested": int(tested.sum()),
            "significant": int(frame["reject_holm"].astype(bool).sum())}


def equivalence_rows(data: ReportInput) -> list[dict]:
    """TOST rows (arm, quantity, estimate, interval, margin), or, where the table holds each
    arm's share of seeds within the tolerance (no ``quantity`` column), that share."""
    frame = data.equivalence
    if frame.empty:
        return []
    order = {a: i for i, a in enumerate(arm_order(data))}
    frame = frame.assign(_a=frame["arm"].map(order).fillna(1e9))
    rows = []
    if "quantity" in frame.columns:
        fmt = lambda x: fmt_signed(x, 3)  # noqa: E731
        for _, r in frame.sort_values(["_a", "quantity"], kind="stable").iterrows():
            rows.append({"arm": r["arm"], "quantity": str(r["quantity"]), "estimate": fmt(r["estimate"]),
                         "ci": fmt_interval(r["ci_low"], r["ci_high"], fmt),
                         "margin": f"± {float(r['margin']):.3f}" if finite(r.get("margin")) else MISSING,
                         "p": fmt_p(r.get("pvalue")),
                         "equivalent": "yes" if bool(r.get("equivalent", False)) else "not shown"})
        return rows
    value = next((c for c in ("rate", "share", "estimate") if c in frame.columns), None)
    for _, r in frame.sort_values("_a", kind="stable").iterrows():
        count = (f" ({fmt_count(r['count'])} of {fmt_count(r['n'])})"
                 if "count" in frame.columns and "n" in frame.columns else "")
        rows.append({"arm": r["arm"], "quantity": "share of seeds within the tolerance",
                     "estimate": (fmt_rate(r[value]) if value else MISSING) + count,
                     "ci": fmt_interval(r.get("ci_low"), r.get("ci_high")),
                     "margin": MISSING, "p": fmt_p(r.get("pvalue")), "equivalent": MISSING})
    return rows


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


def _term_sentence(term: str, estimate: str, units: str, ci: str, p: str,
                   references: dict | None = None) -> str:
    """One sentence per term: a main effect against the reference level (the baseline's, named
    where ``references`` knows it), or how an effect changes with another factor's level
    (factor[level] names, joined by ":")."""
    parts = [t for t in term.split(":") if t]
    named = [f"{t.split('[', 1)[0]} = {t.split('[', 1)[1].rstrip(']')}" if "[" in t else t for t in parts]
    if len(named) == 1:
        reference = (references or {}).get(parts[0].split("[", 1)[0])
        against = f"against {reference} (the baseline's level)" if reference else "against its reference level"
        what = f"{named[0]} {against}, averaged over the other factors"
    else:
        what = (f"how the effect of {named[0]} changes when " + " and ".join(named[1:])
                + " (a difference of differences)")
    return f"{what}: {estimate} {units} {ci}, p {p if p.startswith('<') else '= ' + p}."


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
    """Every effect row, the on-target rate's first (its sentences lead the section)."""
    frame = data.effects
    if frame is None or frame.empty:
        return []
    frame = frame.assign(_first=frame["metric"] != "rate:on_target").sort_values("_first", kind="stable")
    references = _baseline_levels(data)
    rows = []
    for _, r in frame.iterrows():
        metric = str(r["metric"])
        fmt = _difference_format(metric)
        units = effect_units(metric, r.get("method", ""), r.get("units"))
        converged = r.get("converged", True)
        converged = True if converged is None or (isinstance(converged, float) and pd.isna(converged)) \
            else bool(converged)
        estimate, ci, p = fmt(r["estimate"]), fmt_interval(r["ci_low"], r["ci_high"], fmt), fmt_p(r["pvalue"])
        sentence = _term_sentence(str(r["term"]), estimate, units, ci, p, references)
        if not converged:
            sentence += " The fit did not converge: read this row as unreliable."
        rows.append({"metric": metric_label(metric), "term": str(r["term"]), "estimate": estimate,
                     "ci": ci, "p": p, "units": units, "converged": converged,
                     "method": str(r.get("method", MISSING)), "sentence": sentence})
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
    (filled by the aggregation when it computes one); empty when the run did not compute it."""
    frame = data.comparisons
    if frame.empty or "mde" not in frame.columns:
        return []
    lines = []
    for metric, group in frame.groupby("metric", sort=False):
        values = pd.to_numeric(group["mde"], errors="coerce").dropna()
        if len(values):
            fmt = _difference_format(str(metric))
            lines.append(f"{metric_label(str(metric))}: {fmt(values.median()).lstrip('+')}"
                         + (f" (from {fmt(values.min()).lstrip('+')} to {fmt(values.max()).lstrip('+')} over arms)"
                            if values.min() != values.max() else ""))
    return lines
