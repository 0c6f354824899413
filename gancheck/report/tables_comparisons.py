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


def comparison_rows(data: ReportInput, metrics=None) -> dict:
    """Arm-vs-baseline rows (all, or of ``metrics``), arms in design order, then metric order."""
    frame = data.comparisons
    if frame.empty:
        return {"rows": [], "has_mde": False}
    if metrics is not None:
        frame = frame[frame["metric"].isin(metrics)]
    order = {a: i for i, a in enumerate(arm_order(data))}
    metric_order = {m: i for i, m in enumerate(dict.fromkeys(
        [*KEY_METRICS, *sorted(m for m in frame["metric"] if m.startswith("rate:")),
         *sorted(m for m in frame["metric"] if not m.startswith("rate:"))]))}
    frame = frame.assign(_a=frame["arm"].map(order).fillna(1e9), _m=frame["metric"].map(metric_order))
    has_mde = "mde" in frame.columns
    rows = []
    for _, r in frame.sort_values(["_a", "_m"], kind="stable").iterrows():
        fmt = _difference_format(r["metric"])
        holm = bool(r.get("reject_holm", False))
        rows.append({
            "arm": r["arm"], "metric": metric_label(r["metric"]),
            "test": TEST_NAMES.get(str(r.get("test", "")), str(r.get("test", MISSING))),
            "n": f"{fmt_count(r['n'])} vs {fmt_count(r['n_baseline'])}",
            "difference": fmt(r["difference"]), "ci": fmt_interval(r["ci_low"], r["ci_high"], fmt),
            "p": fmt_p(r["pvalue"]), "p_holm": fmt_p(r.get("pvalue_holm")),
            "holm": holm,
            "direction": ("better" if is_better(r["metric"], r["difference"]) else "worse") if holm else "",
            "pi": fmt_rate(r.get("prob_improvement")),
            "pi_ci": fmt_interval(r.get("prob_improvement_low"), r.get("prob_improvement_high")),
            "mde": fmt(r["mde"]) if has_mde else "",
        })
    return {"rows": rows, "has_mde": has_mde}


def family(data: ReportInput) -> dict:
    """The Holm family: how many rows, how many tested, how many significant."""
    frame = data.comparisons
    if frame.empty:
        return {"size": 0, "tested": 0, "significant": 0}
    tested = frame["pvalue"].map(finite)
    return {"size": len(frame), "tested": int(tested.sum()),
            "significant": int(frame["reject_holm"].astype(bool).sum())}


def equivalence_rows(data: ReportInput) -> list[dict]:
    frame = data.equivalence
    if frame.empty:
        return []
    order = {a: i for i, a in enumerate(arm_order(data))}
    frame = frame.assign(_a=frame["arm"].map(order).fillna(1e9)).sort_values(["_a", "quantity"], kind="stable")
    fmt = lambda x: fmt_signed(x, 3)  # noqa: E731
    return [{"arm": r["arm"], "quantity": str(r["quantity"]), "estimate": fmt(r["estimate"]),
             "ci": fmt_interval(r["ci_low"], r["ci_high"], fmt), "margin": f"± {float(r['margin']):.3f}",
             "p": fmt_p(r["pvalue"]), "equivalent": bool(r["equivalent"])} for _, r in frame.iterrows()]


def effect_rows(data: ReportInput) -> list[dict]:
    frame = data.effects
    if frame is None or frame.empty:
        return []
    rows = []
    for _, r in frame.iterrows():
        fmt = _difference_format(str(r["metric"]))
        rows.append({"metric": metric_label(str(r["metric"])), "term": str(r["term"]),
                     "estimate": fmt(r["estimate"]), "ci": fmt_interval(r["ci_low"], r["ci_high"], fmt),
                     "p": fmt_p(r["pvalue"]), "method": str(r.get("method", MISSING))})
    return rows


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
