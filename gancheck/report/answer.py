"""The answer paragraph: the run's questions answered in words, generated from the results.

Nothing here is hard-coded about what a run found: every number, arm and direction comes from the
outcomes and comparisons tables, so the paragraph changes when the results do.
"""
from __future__ import annotations

import pandas as pd

from gancheck.report.data import ReportInput
from gancheck.report.labels import OUTCOME_LABELS, OUTCOME_ORDER, metric_label
from gancheck.report.plots_comparisons import ordered_factors
from gancheck.report.tables import (baseline_name, fmt_count, fmt_interval, fmt_p, fmt_rate,
                                    fmt_signed, holm_hits, is_better)
from gancheck.report.tables_comparisons import TEST_NAMES

#: At most this many arms are named per question; the tables hold the rest.
MAX_NAMED = 4


def _outcome(data: ReportInput, arm: str, outcome: str):
    rows = data.outcomes[(data.outcomes["arm"] == arm) & (data.outcomes["outcome"] == outcome)]
    return rows.iloc[0] if len(rows) else None


def _rate_text(row) -> str:
    return (f"{fmt_count(row['count'])} of {fmt_count(row['n'])} seeds "
            f"({fmt_rate(row['rate'])}, 95% CI {fmt_interval(row['ci_low'], row['ci_high'])})")


def _rest(data: ReportInput, arm: str, skip: tuple[str, ...]) -> str:
    rows = data.outcomes[(data.outcomes["arm"] == arm) & (data.outcomes["count"] > 0)
                         & ~data.outcomes["outcome"].isin(skip)]
    order = {o: i for i, o in enumerate(OUTCOME_ORDER)}
    rows = rows.assign(_o=rows["outcome"].map(order)).sort_values("_o")
    return ", ".join(f"{fmt_count(r['count'])} {OUTCOME_LABELS[r['outcome']]}" for _, r in rows.iterrows())


def _change(data: ReportInput, row: pd.Series) -> str:
    """"features=raw raises the collapsed rate to 1.00 (+0.83 [+0.52, +0.96]; Boschloo p < 0.001,
    Holm p = 0.003)"."""
    what = f"the {metric_label(row['metric'])}"
    verb = "raises" if row["difference"] > 0 else "lowers"
    level = ""
    if row["metric"].startswith("rate:"):
        outcome = row["metric"].split(":", 1)[1]
        arm_rate = _outcome(data, row["arm"], outcome) if outcome in OUTCOME_LABELS else None
        level = f" to {fmt_rate(arm_rate['rate'])}" if arm_rate is not None else ""
        fmt = lambda x: fmt_signed(x, 2)  # noqa: E731
    else:
        what = f"the median {metric_label(row['metric'])}"
        fmt = lambda x: fmt_signed(x, 3)  # noqa: E731
    test = TEST_NAMES.get(str(row.get("test", "")), str(row.get("test", "")))
    return (f"“{row['arm']}” {verb} {what}{level} ({fmt(row['difference'])} "
            f"{fmt_interval(row['ci_low'], row['ci_high'], fmt)}; {test} p {_p(row['pvalue'])}, "
            f"Holm p {_p(row['pvalue_holm'])})")


def _p(p) -> str:
    text = fmt_p(p)
    return text if text.startswith("<") else f"= {text}"


def answer(data: ReportInput) -> list[dict]:
    """[{question, answer}]: does the baseline learn the target, does it collapse, which factors
    change that, and whether the detectors work on the controls."""
    base = baseline_name(data)
    items = []
    on = _outcome(data, base, "on_target") if base and len(data.outcomes) else None
    if on is not None:
        rest = _rest(data, base, ("on_target",))
        items.append({"question": f"Does the baseline (“{base}”) learn the target?",
                      "answer": f"In {_rate_text(on)}." + (f" Its other seeds: {rest}." if rest else "")})
        collapsed = _outcome(data, base, "collapsed")
        stuck = _outcome(data, base, "stuck")
        if collapsed is not None:
            text = f"{_rate_text(collapsed)[0].upper()}{_rate_text(collapsed)[1:]} collapse"
            if stuck is not None and stuck["count"] > 0:
                text += f", and {fmt_count(stuck['count'])} more are stuck on nearly one value"
            items.append({"question": "Does it collapse?", "answer": text + "."})
    items.append({"question": "Which factors change that?", "answer": _factors(data)})
    trend = _trends(data)
    if trend:
        items.append({"question": "Along ordered factors:", "answer": trend})
    controls = _controls(data)
    if controls:
        items.append({"question": "Do the detectors work?", "answer": controls})
    return items


def _factors(data: ReportInput) -> str:
    hits = holm_hits(data)
    total = len(data.comparisons)
    if hits.empty:
        return (f"No arm differs from the baseline on any outcome rate or metric after Holm's "
                f"correction over {total} comparisons; that is not evidence of no effect (see "
                "Methods for the smallest effect this run could detect).") if total else \
            "This run compares no arms with the baseline."
    hits = hits.assign(_key=~hits["metric"].isin(["rate:on_target", "rate:collapsed"]))
    hits = hits.sort_values(["_key", "pvalue_holm"], kind="stable")
    key = hits[~hits["_key"]]
    named = [_change(data, row) for _, row in key.head(MAX_NAMED).iterrows()]
    better = sum(is_better(m, d) for m, d in zip(hits["metric"], hits["difference"]))
    text = (f"{len(hits)} of {total} comparisons with the baseline are significant after Holm's "
            f"correction ({better} better, {len(hits) - better} worse). ")
    if named:
        text += "On the on-target and collapse rates: " + "; ".join(named) + "."
    others = hits[hits["_key"]]
    if len(others):
        listed = [f"“{r['arm']}” on {metric_label(r['metric'])} "
                  f"({'better' if is_better(r['metric'], r['difference']) else 'worse'})"
                  for _, r in others.head(MAX_NAMED).iterrows()]
        more = len(others) - len(listed)
        text += (" Also: " + "; ".join(listed) + (f"; and {more} more in the comparisons table" if more else "")
                 + ".")
    return text.strip()


def _trends(data: ReportInput) -> str:
    parts = []
    for factor, levels in ordered_factors(data).items():
        steps = []
        for _, level, arm in levels:
            row = _outcome(data, arm, "on_target")
            if row is not None:
                steps.append(f"{fmt_rate(row['rate'])} at {level}")
        if steps:
            parts.append(f"the on-target rate along {factor} runs " + " → ".join(steps))
    return ("; ".join(parts)[0].upper() + "; ".join(parts)[1:] + " (the trend figure has the intervals).") if parts else ""


def _controls(data: ReportInput) -> str:
    """The null control's on-target share and each departure's share named as its own failure."""
    expect = {"control:null": "on_target", "control:collapsed": "collapsed"}
    parts = []
    for arm, outcome in expect.items():
        row = _outcome(data, arm, outcome) if len(data.outcomes) else None
        if row is not None:
            parts.append(f"{fmt_count(row['count'])} of {fmt_count(row['n'])} replicates of the "
                         f"{arm.removeprefix('control:')} control are named {OUTCOME_LABELS[outcome]}")
    others = [a for a in data.arms.loc[data.arms["role"] == "control", "arm"] if a not in expect]
    caught = []
    for arm in others:
        rows = data.outcomes[data.outcomes["arm"] == arm]
        if len(rows):
            good = rows.loc[rows["outcome"] == "on_target", "rate"]
            caught.append(1 - float(good.iloc[0]) if len(good) else float("nan"))
    if caught:
        share = (f"{fmt_rate(min(caught))} of their replicates each" if min(caught) == max(caught)
                 else f"{fmt_rate(min(caught))} to {fmt_rate(max(caught))} of their replicates")
        parts.append(f"the other {len(caught)} departures are named as a failure in {share}")
    return ("; ".join(parts)[0].upper() + "; ".join(parts)[1:] + ".") if parts else ""
