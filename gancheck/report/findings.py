"""What each figure shows, in one sentence of numbers: its alt text, for a reader who cannot see
it (and a check, for one who can). Computed from the same tables the figure draws."""
from __future__ import annotations

import numpy as np
import pandas as pd

from gancheck.report.data import ReportInput
from gancheck.report.labels import OUTCOME_LABELS, OUTCOME_ORDER, metric_label
from gancheck.report.tables import arm_order, baseline_name, fmt_num, fmt_rate


def _count(data: ReportInput, arm: str, outcome: str) -> tuple[int, int]:
    rows = data.outcomes[(data.outcomes["arm"] == arm) & (data.outcomes["outcome"] == outcome)]
    return (int(rows["count"].iloc[0]), int(rows["n"].iloc[0])) if len(rows) else (0, 0)


def outcomes(data: ReportInput, role: str = "arm") -> str:
    names = [a for a in arm_order(data, role) if a in set(data.outcomes["arm"])]
    if not names:
        return "No outcomes recorded."
    parts = []
    for name in names[:6]:
        counts = data.outcomes[(data.outcomes["arm"] == name) & (data.outcomes["count"] > 0)]
        order = {o: i for i, o in enumerate(OUTCOME_ORDER)}
        counts = counts.assign(_o=counts["outcome"].map(order)).sort_values("_o")
        parts.append(f"{name}: " + ", ".join(f"{int(c)} {OUTCOME_LABELS.get(o, o)}"
                                            for o, c in zip(counts["outcome"], counts["count"])))
    on = sum(_count(data, n, "on_target")[0] for n in names)
    total = sum(int(data.outcomes.loc[data.outcomes["arm"] == n, "count"].sum()) for n in names)
    more = f"; and {len(names) - 6} more bars" if len(names) > 6 else ""
    return (f"Outcome counts per {'control' if role == 'control' else 'arm'}, {on} of {total} on "
            f"target in all: " + "; ".join(parts) + more + ".")


def representatives(picks) -> str:
    if not picks:
        return "No seed drawn."
    return "Drawn directly: " + "; ".join(f"{OUTCOME_LABELS.get(o, o)}: {a}, seed {s}" for o, a, s in picks) + "."


def _pooled(data: ReportInput, arm: str) -> tuple[float, float]:
    """Mean and (population) sd of an arm's seeds' output values pooled, from each seed's n,
    mean and sd (figure_data.outputs)."""
    rows = data.outputs[(data.outputs["arm"] == arm) & (data.outputs["n"] > 0)]
    n = rows["n"].to_numpy(dtype=float)
    if not n.sum():
        return float("nan"), float("nan")
    means, sds = rows["mean"].to_numpy(dtype=float), rows["sd"].to_numpy(dtype=float)
    mean = float((n * means).sum() / n.sum())
    return mean, float(np.sqrt((n * (sds ** 2 + (means - mean) ** 2)).sum() / n.sum()))


def output_spread(data: ReportInput, names: list[str], mean: float, std: float) -> str:
    """Pooled output mean and sd of the baseline and of the arm whose sd is nearest the target's."""
    base = baseline_name(data)
    stats = {n: _pooled(data, n) for n in names}
    finite = {n: v for n, v in stats.items() if np.isfinite(v[1])}
    if not finite:
        return "No finite output to show."
    text = ""
    if base in finite:
        m, s = finite[base]
        text = (f"Baseline output: mean {fmt_num(m)}, sd {fmt_num(s)} (target: mean {fmt_num(mean)}, "
                f"sd {fmt_num(std)})")
    near = min(finite, key=lambda n: abs(finite[n][1] - std) + abs(finite[n][0] - mean))
    if near != base:
        m, s = finite[near]
        text += ("; " if text else "") + f"nearest the target: {near}, mean {fmt_num(m)}, sd {fmt_num(s)}"
    return text + "."


def history(data: ReportInput, metric: str, goal: float) -> str:
    base = baseline_name(data)
    rows = data.history[data.history["arm"] == base]
    if rows.empty or metric not in rows:
        return f"Curves of G's batch {metric.removeprefix('g_')} per seed."
    last = rows[rows["epoch"] == rows["epoch"].max()][metric].astype(float)
    last = last[np.isfinite(last)]
    value = fmt_num(float(np.median(last))) if len(last) else "not finite"
    return (f"At the last epoch the baseline's median G batch {metric.removeprefix('g_')} is {value} "
            f"(target {fmt_num(goal)}), over {len(last)} seeds.")


def metrics(data: ReportInput) -> str:
    summary = data.metric_summary
    if summary.empty:
        return "Per-seed metrics."
    metric = "ks_statistic" if "ks_statistic" in set(summary["metric"]) else str(summary["metric"].iloc[0])
    rows = summary[summary["metric"] == metric].set_index("arm")["median"].astype(float)
    base = baseline_name(data)
    text = f"Median {metric_label(metric)}: baseline {fmt_num(rows.get(base, np.nan))}"
    rows = rows[[a for a in arm_order(data) if a in rows.index and a != base]]
    if len(rows):
        low = rows.idxmin()
        text += f"; the lowest (best) of the other arms' medians {low} at {fmt_num(rows[low])}"
    return text + "."


def forest(data: ReportInput, kind: str) -> str:
    frame = data.comparisons
    frame = frame[frame["metric"].str.startswith("rate:") == (kind == "rates")]
    if frame.empty:
        return "No comparisons."
    alpha = float(data.provenance.get("alpha", 0.05))
    p = pd.to_numeric(frame["pvalue"], errors="coerce")
    holm = int(frame["reject_holm"].astype(bool).sum()) if "reject_holm" in frame else 0
    return (f"{int((p < alpha).sum())} of {len(frame)} {'rate' if kind == 'rates' else 'metric'} "
            f"differences from the baseline have unadjusted p < {alpha:g}; {holm} stay significant "
            "after Holm's correction (listed in the comparisons table).")


def trend(data: ReportInput, trends: dict) -> str:
    parts = []
    for factor, levels in trends.items():
        steps = []
        for _, level, arm in levels:
            k, n = _count(data, arm, "on_target")
            steps.append(f"{fmt_rate(k / n) if n else '–'} at {level}")
        parts.append(f"on-target rate along {factor}: " + ", ".join(steps))
    return "; ".join(parts).capitalize() + "." if parts else "No ordered factor."


def controls(data: ReportInput, controls: list[str], alpha: float) -> str:
    rates = data.pass_rates[data.pass_rates["arm"].isin(controls)]
    if rates.empty:
        return "No controls."
    null = rates[rates["arm"].str.contains("null")]
    text = ""
    if len(null):
        rejected = 1 - null["rate"].astype(float)
        text = (f"On the null control the tests reject {fmt_rate(rejected.min())} to "
                f"{fmt_rate(rejected.max())} of replicates (α = {alpha:g})")
    departures = rates[~rates["arm"].str.contains("null")]
    if len(departures):
        best = (1 - departures["rate"].astype(float)).groupby(departures["arm"]).max()
        text += ("; " if text else "") + "the most powerful test per departure rejects " + ", ".join(
            f"{fmt_rate(v)} ({a.removeprefix('control:')})" for a, v in best.items())
    return text + "."


def heatmap(data: ReportInput, levels: pd.DataFrame) -> str:
    on = data.outcomes[data.outcomes["outcome"] == "on_target"].set_index("arm")["rate"]
    cells = levels.assign(rate=levels["arm"].map(on)).dropna(subset=["rate"])
    if cells.empty:
        return "No cells."
    low, high = cells.loc[cells["rate"].idxmin()], cells.loc[cells["rate"].idxmax()]
    return (f"On-target rate per cell from {fmt_rate(low['rate'])} ({low['arm']}) to "
            f"{fmt_rate(high['rate'])} ({high['arm']}).")


def control_outcomes(data: ReportInput) -> str:
    """What the controls' outcomes show: the null named on target, each planted departure named
    as planted, and where the decision list stays undecided or names something else."""
    from gancheck.report.labels import CONTROL_PLANTED
    names = arm_order(data, "control")
    if not names or data.outcomes.empty:
        return ""
    parts = []
    for name in names:
        short = name.removeprefix("control:")
        planted = CONTROL_PLANTED.get(short)
        rows = data.outcomes[(data.outcomes["arm"] == name) & (data.outcomes["count"] > 0)]
        if rows.empty:
            continue
        n = int(rows["n"].iloc[0])
        hit = int(rows.loc[rows["outcome"] == planted, "count"].sum()) if planted else 0
        others = [f"{int(c)} {OUTCOME_LABELS.get(o, o)}" for o, c in zip(rows["outcome"], rows["count"])
                  if o != planted]
        text = (f"{short}: {hit} of {n} {OUTCOME_LABELS.get(planted, planted)}" if planted
                else f"{short}: " + ", ".join(others))
        if planted and others:
            text += " (" + ", ".join(others) + ")"
        parts.append(text)
    return ("Each control is named by the same decision list as a trained generator, and should "
            "receive the outcome it plants: " + "; ".join(parts) + ". Replicates named otherwise are "
            "departures this n does not always resolve: an undecided replicate was shown neither "
            "within the tolerance nor outside it, even where single tests reject the exact target "
            "(the rejection rates below).")
