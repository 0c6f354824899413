"""The report's tables as plain rows of rounded strings: the only place numbers get rounded.

Every column has one fixed format (rates 2 decimals, p-values 3 decimals or "< 0.001", each
metric its own decimals), so a column reads down without changing shape. The template lays these
rows out and escapes every string; nothing here emits markup.
"""
from __future__ import annotations

import dataclasses
import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from gancheck.report.data import ReportInput
from gancheck.report.labels import (METRIC_DEFINITIONS, OUTCOME_LABELS, OUTCOME_ORDER, describe,
                                    group_question, metric_label, ordered_tests)

MISSING = "–"
#: Decimals per metric (values of one metric share one format down a column).
METRIC_DECIMALS = {"ks_statistic": 3, "ad_statistic": 2, "abs_mean_error": 3, "abs_std_error": 3,
                   "fixed_share": 2}


def _is_flag(value) -> bool:
    return isinstance(value, (bool, np.bool_)) or value is pd.NA


def normalised(data: ReportInput) -> ReportInput:
    """A copy whose nullable columns (Int64, Float64, boolean: what SQLite round trips give) are
    plain numpy ones: NA numbers become NaN, NA flags become False (not collapsed, not
    significant), so comparisons and plotting need no NA cases."""
    def plain(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for column, dtype in frame.dtypes.items():
            if isinstance(dtype, pd.BooleanDtype):
                frame[column] = frame[column].fillna(False).astype(bool)
            elif (isinstance(dtype, pd.api.extensions.ExtensionDtype)
                  and pd.api.types.is_numeric_dtype(dtype)):
                frame[column] = frame[column].astype("float64")
            elif dtype == object and len(frame) and frame[column].map(_is_flag).all():
                frame[column] = frame[column].map(lambda v: bool(v) if v is not pd.NA else False)
        return frame

    changes = {f.name: plain(getattr(data, f.name)) for f in dataclasses.fields(data)
               if isinstance(getattr(data, f.name), pd.DataFrame)}
    return dataclasses.replace(data, **changes)


# ------------------------------------------------------------------------------ formats

def finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _decimal_half_up(x: float, decimals: int) -> Decimal | float:
    """x rounded to ``decimals`` places, halves away from zero, read at 12 significant digits.

    Formatting the float itself rounds by its binary value: an effect of 0.475 computed as
    0.47499999999999998 printed 0.47, one computed as 0.47500000000000003 printed 0.48, so equal
    figures on one page read differently. At 12 digits both are 0.475, which rounds to 0.48.
    Beyond 1e15 no decimal is shown anyway, and the float is formatted as it is."""
    if abs(x) >= 1e15:
        return x
    return Decimal(f"{x:.12g}").quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def fmt_rate(x) -> str:
    return f"{_decimal_half_up(float(x), 2):.2f}" if finite(x) else MISSING


def fmt_fixed(x, decimals: int = 3) -> str:
    if finite(x):
        text = f"{_decimal_half_up(float(x), decimals):,.{decimals}f}"
        # "-0.00" reads as a negative value: a number that rounds to zero has no sign.
        return text.lstrip("-") if float(text.replace(",", "")) == 0 else text
    if x is not None and not pd.isna(x) and np.isinf(float(x)):
        return "+∞" if float(x) > 0 else "−∞"
    return MISSING


def fmt_signed(x, decimals: int = 2) -> str:
    text = fmt_fixed(x, decimals)
    return ("+" + text) if finite(x) and float(x) > 0 else text.replace("-", "−", 1)


def fmt_interval(lo, hi, fmt=fmt_rate) -> str:
    if pd.isna(lo) or pd.isna(hi):
        return ""
    return f"[{fmt(lo)}, {fmt(hi)}]"


def fmt_num(x, digits: int = 3) -> str:
    return f"{float(x):.{digits}g}" if finite(x) else MISSING


def fmt_p(p) -> str:
    """p-values with three decimals; below 0.001 as "< 0.001" (the exact value is in the CSV)."""
    if not finite(p):
        return MISSING
    return "< 0.001" if float(p) < 0.001 else fmt_fixed(p, 3)


def fmt_count(x) -> str:
    return str(int(round(float(x)))) if finite(x) else MISSING


def fmt_seconds(s) -> str:
    if not finite(s):
        return MISSING
    minutes, seconds = divmod(int(round(float(s))), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s"


def metric_format(metric: str):
    decimals = METRIC_DECIMALS.get(metric, 3)
    return lambda x: fmt_fixed(x, decimals)


def shade(goodness: float) -> str:
    """A light-to-mid blue for 0 → 1 "goodness": one hue varying in lightness reads the same to
    colour-blind readers, and dark text stays legible on every step."""
    if not finite(goodness):
        return ""
    g = min(max(float(goodness), 0.0), 1.0)
    low, high = (247, 251, 255), (107, 174, 214)  # ColorBrewer Blues, steps 1 and 5
    r, gr, b = (round(lo + g * (hi - lo)) for lo, hi in zip(low, high))
    return f"background-color: rgb({r}, {gr}, {b})"


def rate_cell(row, goodness=None, unit: str = "seeds") -> dict:
    if row is None:
        return {"rate": MISSING, "ci": "", "count": "", "title": "no rows", "style": ""}
    return {"rate": fmt_rate(row["rate"]), "ci": fmt_interval(row["ci_low"], row["ci_high"]),
            "count": f"{fmt_count(row['count'])}/{fmt_count(row['n'])}",
            "title": f"{fmt_count(row['count'])} of {fmt_count(row['n'])} {unit}",
            "style": shade(row["rate"] if goodness is None else goodness)}


# ------------------------------------------------------------------------------ arms

def arm_order(data: ReportInput, role: str = "arm") -> list[str]:
    arms = data.arms[data.arms["role"] == role]
    base = arms["is_baseline"].astype(bool)
    return list(dict.fromkeys(pd.concat([arms[base], arms[~base]])["arm"]))


def baseline_name(data: ReportInput) -> str | None:
    base = data.arms[data.arms["is_baseline"].astype(bool)]
    return str(base["arm"].iloc[0]) if len(base) else None


def holm_hits(data: ReportInput, arm: str | None = None) -> pd.DataFrame:
    """Comparison rows significant after Holm's correction (of one arm, if given)."""
    rows = data.comparisons
    if rows.empty or "reject_holm" not in rows:
        return rows
    rows = rows[rows["reject_holm"].astype(bool)]
    return rows if arm is None else rows[rows["arm"] == arm]


def is_better(metric: str, difference: float) -> bool:
    """Lower is better for every metric and rate except the on-target rate."""
    return difference > 0 if metric == "rate:on_target" else difference < 0


def differences(data: ReportInput, arm: str) -> dict:
    """Holm-significant rows of one arm vs the baseline, split by direction."""
    if arm == baseline_name(data):
        return {"kind": "baseline", "better": [], "worse": []}
    if data.comparisons.empty or arm not in set(data.comparisons["arm"]):
        return {"kind": "untested", "better": [], "worse": []}
    hits = holm_hits(data, arm)
    better = [metric_label(m) for m, d in zip(hits["metric"], hits["difference"]) if is_better(m, d)]
    worse = [metric_label(m) for m, d in zip(hits["metric"], hits["difference"]) if not is_better(m, d)]
    return {"kind": "differs" if better or worse else "none", "better": better, "worse": worse}


def outcome_rows(data: ReportInput, role: str = "arm") -> dict:
    """Per arm (or control): each outcome's rate with its Wilson interval, and the differences."""
    outcomes = data.outcomes.set_index(["arm", "outcome"]) if len(data.outcomes) else None
    rows = []
    unit = "replicates" if role == "control" else "seeds"
    for name in arm_order(data, role):
        members = data.members[data.members["arm"] == name]
        cells = []
        for outcome in OUTCOME_ORDER:
            row = outcomes.loc[(name, outcome)] if outcomes is not None and (name, outcome) in outcomes.index else None
            good = None if row is None else (row["rate"] if outcome == "on_target" else 1 - row["rate"])
            cells.append(rate_cell(row, goodness=good if outcome == "on_target" else None, unit=unit)
                         | ({"style": ""} if outcome != "on_target" else {}))
        rows.append({"arm": name, "is_baseline": name == baseline_name(data),
                     "seeds": str(len(members)) if len(members) else MISSING, "cells": cells,
                     "differs": differences(data, name)})
    return {"outcomes": [OUTCOME_LABELS[o] for o in OUTCOME_ORDER], "rows": rows}


def test_rows(data: ReportInput, role: str = "arm", rejection: bool = False, *,
              normal: bool = True) -> dict:
    """Per arm (or control), each test's pass rate (or rejection rate) at generator level, under
    each group's question; ``normal`` False where some target is not a normal (the questions then
    hold for any target: labels.group_question)."""
    names = arm_order(data, role)
    rates = data.pass_rates[data.pass_rates["arm"].isin(names)]
    tests = ordered_tests(rates["test"])
    table = rates.set_index(["arm", "test"])
    groups: list[dict] = []
    for test in tests:
        label = group_question(describe(test).group, normal=normal)
        if groups and groups[-1]["label"] == label:
            groups[-1]["span"] += 1
        else:
            groups.append({"label": label, "span": 1})
    rows = []
    for name in names:
        cells = []
        for test in tests:
            row = table.loc[(name, test)] if (name, test) in table.index else None
            if row is not None and rejection:
                n, count = row["n"], row["n"] - row["count"]
                row = {"rate": 1 - row["rate"], "ci_low": 1 - row["ci_high"], "ci_high": 1 - row["ci_low"],
                       "n": n, "count": count}
            cell = rate_cell(row, unit="replicates rejected" if rejection else "generators pass")
            cells.append(cell | ({"style": ""} if rejection else {}))
        rows.append({"arm": name, "cells": cells})
    return {"groups": groups, "tests": [describe(t).label for t in tests],
            "test_names": tests, "rows": rows}


def controls(data: ReportInput) -> dict:
    """Every test, the diversity tests included, on every control: rejection rates; the
    controls' definitions; and each control's collapse-flag rate."""
    from gancheck.runs.controls import CONTROL_DESCRIPTIONS
    names = arm_order(data, "control")
    table = test_rows(data, "control", rejection=True)
    # Transposed: one row per test, one column per control (tests outnumber controls).
    by_test = []
    for j, label in enumerate(table["tests"]):
        test = table["test_names"][j]
        by_test.append({"test": label, "group": group_question(describe(test).group),
                        "cells": [row["cells"][j] for row in table["rows"]]})
    collapse = data.collapse_rates.set_index("arm")
    flags = [rate_cell(collapse.loc[n] if n in collapse.index else None, unit="replicates flagged")
             | {"style": ""} for n in names]
    definitions = [{"control": n, "definition": _shipped(CONTROL_DESCRIPTIONS.get(
        n.removeprefix("control:"), "not described"))} for n in names]
    n = data.scores.loc[data.scores["arm"].isin(names), "n"]
    return {"controls": names, "short": [n.removeprefix("control:") for n in names], "rows": by_test,
            "collapse": flags, "definitions": definitions,
            "n_values": ", ".join(fmt_count(v) for v in sorted(set(n.dropna()))) or MISSING}


def control_outcomes(data: ReportInput) -> dict:
    """Per control: the outcome it plants, the share of replicates named so (Wilson interval),
    and every outcome's count, for the outcomes any control received."""
    from gancheck.report.labels import CONTROL_PLANTED
    names = arm_order(data, "control")
    frame = data.outcomes[data.outcomes["arm"].isin(names)] if len(data.outcomes) else data.outcomes
    if frame.empty:
        return {"outcomes": [], "rows": []}
    table = frame.set_index(["arm", "outcome"])
    present = [o for o in OUTCOME_ORDER if (frame.loc[frame["outcome"] == o, "count"] > 0).any()]
    rows = []
    for name in names:
        planted = CONTROL_PLANTED.get(name.removeprefix("control:"))
        hit = table.loc[(name, planted)] if planted and (name, planted) in table.index else None
        counts = [fmt_count(table.loc[(name, o), "count"]) if (name, o) in table.index else MISSING
                  for o in present]
        total = frame.loc[frame["arm"] == name, "count"].sum()
        rows.append({"control": name.removeprefix("control:"),
                     "planted": OUTCOME_LABELS.get(planted, "nothing named") if planted else "nothing named",
                     "named": rate_cell(hit, unit="replicates") | {"style": ""}, "counts": counts,
                     "n": fmt_count(total)})
    return {"outcomes": present, "rows": rows}


def _shipped(text: str) -> str:
    """A description as the page may show it: names of planning notes that do not ship with the
    package (a planning note's file name before "power KS 0.63") read as what they are ("planned power KS 0.63")."""
    import re
    return re.sub(r"\b[A-Z]+\.md\s+", "planned ", str(text))


def metric_summary(data: ReportInput) -> dict:
    """Per arm, each metric's median over seeds with its order-statistic interval."""
    frame = data.metric_summary
    order = list(METRIC_DECIMALS)
    metrics = [m for m in order if m in set(frame["metric"])] + sorted(set(frame["metric"]) - set(order))
    table = frame.set_index(["arm", "metric"])
    rows = []
    for name in arm_order(data):
        cells = []
        for m in metrics:
            r = table.loc[(name, m)] if (name, m) in table.index else None
            fmt = metric_format(m)
            cells.append({"value": fmt(r["median"]) if r is not None else MISSING,
                          "ci": fmt_interval(r["ci_low"], r["ci_high"], fmt) if r is not None else ""})
        rows.append({"arm": name, "cells": cells})
    return {"metrics": [metric_label(m) for m in metrics], "rows": rows,
            "definitions": [f"{metric_label(m)}: {METRIC_DEFINITIONS[m]}" for m in metrics if m in METRIC_DEFINITIONS],
            "floor": noise_floor_text(data)}


def noise_floor_text(data: ReportInput) -> str:
    """What a perfect generator scores on the distance metrics at the run's draw size n: their
    null medians, from the distributions the p-values use (scipy's kstwo, Marsaglia &
    Marsaglia's A² as gancheck.stats.ad_pvalue computes it). '' where n is not one number."""
    sizes = pd.to_numeric(data.scores.get("n", pd.Series(dtype=float)), errors="coerce").dropna().unique()
    if len(sizes) != 1 or sizes[0] < 2:
        return ""
    from scipy import optimize, stats

    from gancheck.stats.ad_pvalue import ad_pvalue
    n = int(sizes[0])
    d = float(stats.kstwo(n).median())
    a2 = optimize.brentq(lambda a: float(ad_pvalue(np.array([a]), n)[0]) - 0.5, 0.05, 20.0)
    return (f"Even a generator that draws exactly from the target scores about {d:.3f} in KS D and "
            f"{a2:.2f} in A² at n = {n:,} values a draw (their medians when the target is true): "
            "the floor these medians are read against.")


def settling(data: ReportInput) -> list[dict]:
    table = data.settling.set_index(["arm", "metric"]) if len(data.settling) else pd.DataFrame()
    rows = []
    for name in arm_order(data):
        row = {"arm": name}
        for metric in ("g_mean", "g_std"):
            r = table.loc[(name, metric)] if (name, metric) in table.index else None
            row[metric] = {"settled": fmt_rate(r["settled_rate"]) if r is not None else MISSING,
                           "epoch": fmt_fixed(r["median_epoch"], 0) if r is not None else MISSING,
                           "stays": fmt_rate(r["stays_rate"]) if r is not None else MISSING}
        rows.append(row)
    return rows
