"""The report's tables as plain rows of rounded strings: the only place numbers get rounded.

The template lays these rows out and escapes every string; nothing here emits markup.
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Iterable

import numpy as np
import pandas as pd

from gancheck.report.data import ReportInput

#: Score tests in reading order: exact-target tests, shape-only tests, moment tests.
TEST_ORDER = ("ks", "ad", "cvm", "shapiro", "ad_normal", "mean", "std", "skew", "kurtosis")
TEST_LABELS = {"ks": "KS", "ad": "AD", "cvm": "CvM", "shapiro": "Shapiro–Wilk",
               "ad_normal": "AD (est.)", "mean": "mean", "std": "std", "skew": "skew",
               "kurtosis": "kurtosis"}
TEST_GROUPS = {"ks": "Is it the target exactly?", "ad": "Is it the target exactly?",
               "cvm": "Is it the target exactly?", "shapiro": "Is the shape normal?",
               "ad_normal": "Is the shape normal?", "mean": "Are its moments the target's?",
               "std": "Are its moments the target's?", "skew": "Are its moments the target's?",
               "kurtosis": "Are its moments the target's?"}
METRIC_LABELS = {"ks_statistic": "KS statistic D", "ad_statistic": "AD statistic A²",
                 "abs_mean_error": "|mean − target|", "abs_std_error": "|std − target|",
                 "collapse_gap": "collapse gap |1 − spread|"}
#: Shorter names where space is tight (the verdict table's last column).
METRIC_SHORT = {"ks_statistic": "KS D", "ad_statistic": "AD A²", "abs_mean_error": "mean error",
                "abs_std_error": "std error", "collapse_gap": "collapse gap"}
MISSING = "–"


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
            elif dtype == object and frame[column].map(_is_flag).all():
                frame[column] = frame[column].map(lambda v: bool(v) if v is not pd.NA else False)
        return frame

    changes = {f.name: plain(getattr(data, f.name)) for f in dataclasses.fields(data)
               if isinstance(getattr(data, f.name), pd.DataFrame)}
    return dataclasses.replace(data, **changes)


def ordered_tests(tests: Iterable[str]) -> list[str]:
    present = set(tests)
    return [t for t in TEST_ORDER if t in present] + sorted(present - set(TEST_ORDER))


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt_rate(x) -> str:
    return f"{float(x):.2f}" if _finite(x) else MISSING


def fmt_interval(lo, hi, fmt=fmt_rate) -> str:
    return f"[{fmt(lo)}, {fmt(hi)}]" if _finite(lo) and _finite(hi) else ""


def fmt_num(x, digits: int = 3) -> str:
    return f"{float(x):.{digits}g}" if _finite(x) else MISSING


def fmt_count(x) -> str:
    return str(int(round(float(x)))) if _finite(x) else MISSING


def fmt_seconds(s) -> str:
    if not _finite(s):
        return MISSING
    minutes, seconds = divmod(int(round(float(s))), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s"


def shade(goodness: float) -> str:
    """A light-to-mid blue for 0 → 1 "goodness": one hue varying in lightness reads the same to
    colour-blind readers, and dark text stays legible on every step."""
    if not _finite(goodness):
        return ""
    g = min(max(float(goodness), 0.0), 1.0)
    low, high = (247, 251, 255), (107, 174, 214)  # ColorBrewer Blues, steps 1 and 5
    r, gr, b = (round(lo + g * (hi - lo)) for lo, hi in zip(low, high))
    return f"background-color: rgb({r}, {gr}, {b})"


def _rate_cell(row, goodness=None) -> dict:
    if row is None:
        return {"rate": MISSING, "ci": "", "title": "no rows", "style": ""}
    return {"rate": fmt_rate(row["rate"]), "ci": fmt_interval(row["ci_low"], row["ci_high"]),
            "title": f"{fmt_count(row['count'])} of {fmt_count(row['n'])} seeds",
            "style": shade(row["rate"] if goodness is None else goodness)}


def arm_order(data: ReportInput, role: str = "arm") -> list[str]:
    arms = data.arms[data.arms["role"] == role]
    base = arms["is_baseline"].astype(bool)
    return list(dict.fromkeys(pd.concat([arms[base], arms[~base]])["arm"]))


def baseline_name(data: ReportInput) -> str | None:
    base = data.arms[data.arms["is_baseline"].astype(bool)]
    return str(base["arm"].iloc[0]) if len(base) else None


def differences(data: ReportInput, arm: str) -> dict:
    """Holm-significant metrics of one arm vs the baseline, split by direction (lower is better)."""
    if arm == baseline_name(data):
        return {"kind": "baseline", "better": [], "worse": []}
    rows = data.comparisons[data.comparisons["arm"] == arm] if len(data.comparisons) else data.comparisons
    if rows.empty:
        return {"kind": "untested", "better": [], "worse": []}
    hits = rows[rows["reject_holm"].astype(bool)]
    better = [METRIC_SHORT.get(m, m) for m in hits.loc[hits["difference"] < 0, "metric"]]
    worse = [METRIC_SHORT.get(m, m) for m in hits.loc[hits["difference"] > 0, "metric"]]
    return {"kind": "differs" if better or worse else "none", "better": better, "worse": worse}


def verdict(data: ReportInput) -> dict:
    """Section 1: per arm, pass rates with Wilson intervals, collapse, divergence, vs baseline."""
    names = arm_order(data)
    tests = ordered_tests(data.pass_rates.loc[data.pass_rates["arm"].isin(names), "test"])
    rates = data.pass_rates.set_index(["arm", "test"])
    collapse = data.collapse_rates.set_index("arm")
    groups: list[dict] = []
    for test in tests:
        label = TEST_GROUPS.get(test, "Other tests")
        if groups and groups[-1]["label"] == label:
            groups[-1]["span"] += 1
        else:
            groups.append({"label": label, "span": 1})
    rows = []
    for name in names:
        members = data.members[data.members["arm"] == name]
        diverged = int((members["status"] == "diverged").sum()) if len(members) else 0
        rows.append({
            "arm": name, "is_baseline": name == baseline_name(data),
            "seeds": str(len(members)) if len(members) else MISSING,
            "cells": [_rate_cell(rates.loc[(name, t)] if (name, t) in rates.index else None)
                      for t in tests],
            "collapse": _rate_cell(collapse.loc[name] if name in collapse.index else None,
                                   goodness=(1 - collapse.loc[name, "rate"]
                                             if name in collapse.index else None)),
            "diverged": f"{diverged} of {len(members)}" if len(members) else MISSING,
            "differs": differences(data, name),
        })
    return {"groups": groups, "tests": [TEST_LABELS.get(t, t) for t in tests], "rows": rows,
            "headline": headline(data, names)}


def headline(data: ReportInput, names: list[str]) -> list[str]:
    """Two or three sentences a reader can take in at a glance."""
    lines = []
    base = baseline_name(data)
    rates = data.pass_rates
    ks = rates[rates["test"] == "ks"].set_index("arm")
    collapse = data.collapse_rates.set_index("arm")
    if base in ks.index:
        row = ks.loc[base]
        text = (f"Baseline “{base}” passes KS in {fmt_count(row['count'])} of "
                f"{fmt_count(row['n'])} seeds "
                f"(rate {fmt_rate(row['rate'])}, 95% CI {fmt_interval(row['ci_low'], row['ci_high'])})")
        if base in collapse.index:
            c = collapse.loc[base]
            text += (f" and collapses in {fmt_count(c['count'])} of {fmt_count(c['n'])} "
                     f"({fmt_rate(c['rate'])}, {fmt_interval(c['ci_low'], c['ci_high'])})")
        lines.append(text + ".")
    others = [n for n in names if n != base]
    if others:
        diffs = {n: differences(data, n) for n in others}
        better = [n for n, d in diffs.items() if d["better"] and not d["worse"]]
        worse = [n for n, d in diffs.items() if d["worse"] and not d["better"]]
        mixed = [n for n, d in diffs.items() if d["better"] and d["worse"]]
        text = (f"{len(better) + len(worse) + len(mixed)} of {len(others)} arms differ from the "
                "baseline after Holm's correction")
        parts = [f"{label}: {', '.join(group)}" for label, group in
                 (("better", better), ("worse", worse), ("mixed", mixed)) if group]
        lines.append(text + (" (" + "; ".join(parts) + ")." if parts else "."))
    ranked = ks[ks.index.isin(names)].sort_values(["rate", "ci_low"], ascending=False)
    # Naming a "best" arm only means something when the arms' rates differ.
    if len(ranked) > 1 and ranked["rate"].max() > ranked["rate"].min():
        top = ranked.iloc[0]
        lines.append(f"Highest KS pass rate: “{ranked.index[0]}”, {fmt_rate(top['rate'])} "
                     f"{fmt_interval(top['ci_low'], top['ci_high'])}.")
    return lines


def controls(data: ReportInput) -> dict:
    """Section 4: per test, each control's rejection rate (1 − pass rate, interval flipped)."""
    names = arm_order(data, "control")
    rates = data.pass_rates[data.pass_rates["arm"].isin(names)].set_index(["arm", "test"])
    names = [n for n in names if n in rates.index.get_level_values("arm")]
    rows = []
    for test in ordered_tests(rates.index.get_level_values("test")):
        cells = []
        for name in names:
            if (name, test) not in rates.index:
                cells.append({"rate": MISSING, "ci": "", "title": ""})
                continue
            r = rates.loc[(name, test)]
            cells.append({"rate": fmt_rate(1 - r["rate"]),
                          "ci": fmt_interval(1 - r["ci_high"], 1 - r["ci_low"]),
                          "title": f"{fmt_count(r['n'] - r['count'])} of {fmt_count(r['n'])} rejected"})
        rows.append({"test": TEST_LABELS.get(test, test), "cells": cells})
    n = data.scores.loc[data.scores["arm"].isin(names), "n"]
    return {"controls": names, "rows": rows,
            "n_values": ", ".join(fmt_count(v) for v in sorted(set(n.dropna()))) or MISSING}


def metric_summary(data: ReportInput) -> dict:
    """Per arm, each metric's median over seeds with its bootstrap interval."""
    frame = data.metric_summary
    metrics = [m for m in METRIC_LABELS if m in set(frame["metric"])]
    metrics += sorted(set(frame["metric"]) - set(metrics))
    table = frame.set_index(["arm", "metric"])
    rows = []
    for name in arm_order(data):
        cells = []
        for m in metrics:
            r = table.loc[(name, m)] if (name, m) in table.index else None
            cells.append({"value": fmt_num(r["median"]) if r is not None else MISSING,
                          "ci": fmt_interval(r["ci_low"], r["ci_high"], fmt_num) if r is not None else ""})
        rows.append({"arm": name, "cells": cells})
    return {"metrics": [METRIC_LABELS.get(m, m) for m in metrics], "rows": rows}


def settling(data: ReportInput) -> list[dict]:
    table = data.settling.set_index(["arm", "metric"])
    rows = []
    for name in arm_order(data):
        row = {"arm": name}
        for metric in ("g_mean", "g_std"):
            r = table.loc[(name, metric)] if (name, metric) in table.index else None
            row[metric] = {"settled": fmt_rate(r["settled_rate"]) if r is not None else MISSING,
                           "epoch": fmt_num(r["median_epoch"], 4) if r is not None else MISSING,
                           "stays": fmt_rate(r["stays_rate"]) if r is not None else MISSING}
        rows.append(row)
    return rows


#: Provenance keys given their own rows (or sections) above the generic ones.
SHOWN_PROVENANCE = {"name", "design", "preset", "seeds", "num_epochs", "n_draws", "device",
                    "target_mean", "target_std", "alpha", "git_commit", "started", "finished",
                    "wall_s", "versions", "command"}


def value_text(value) -> str:
    """Provenance values as text: lists joined (arms may differ in epochs: [2001] or [60, 2001])."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, (list, tuple)):
        # Records (e.g. the invocations of a resumed run) are shown one per line, as JSON;
        # plain values are de-duplicated (arms may share an epoch count).
        if any(isinstance(v, (dict, list)) for v in value):
            return "\n".join(json.dumps(v, sort_keys=True) for v in value) or MISSING
        return ", ".join(str(v) for v in dict.fromkeys(value)) or MISSING
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def seeds_text(seeds) -> str:
    seeds = [int(s) for s in seeds or []]
    if not seeds:
        return MISSING
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]} ({len(seeds)} seeds)"
    return ", ".join(map(str, seeds)) + f" ({len(seeds)} seeds)"


def target_text(data: ReportInput) -> str:
    p = data.provenance
    return f"N({fmt_num(p.get('target_mean', 4.0), 6)}, {fmt_num(p.get('target_std', 1.25), 6)}²)"


def provenance(data: ReportInput) -> dict:
    """Section 5: the run, the software, and every arm's full config."""
    p = data.provenance
    get = lambda key: value_text(p.get(key))  # noqa: E731
    run = [("name", get("name")), ("design", get("design")), ("preset", get("preset")),
           ("seeds", seeds_text(p.get("seeds"))), ("epochs", get("num_epochs")),
           ("noise draws per member", get("n_draws")), ("device", get("device")),
           ("target", target_text(data)), ("α", get("alpha")),
           ("git commit", get("git_commit")), ("started", get("started")),
           ("finished", get("finished")), ("wall time", fmt_seconds(p.get("wall_s")))]
    # Whatever else the run recorded is shown too, under its own key: provenance is complete.
    run += [(str(k), value_text(v)) for k, v in sorted(p.items(), key=lambda kv: str(kv[0]))
            if k not in SHOWN_PROVENANCE]
    versions = sorted((str(k), str(v)) for k, v in (p.get("versions") or {}).items())
    base = baseline_name(data)
    configs = {}
    for row in data.arms.itertuples():
        try:
            configs[row.arm] = json.loads(row.config_json) if row.config_json else {}
        except json.JSONDecodeError:
            configs[row.arm] = {"config_json (unparsed)": row.config_json}
    base_config = configs.get(base, {})
    arms = []
    for row in data.arms.itertuples():
        config = configs[row.arm]
        if not config:  # a control: samples drawn directly, no GAN behind them
            arms.append({"arm": row.arm, "role": row.role, "factor": str(row.factor),
                         "level": str(row.level), "changed": None, "json": ""})
            continue
        changed = [f"{k}: {base_config.get(k, MISSING)} → {v}" for k, v in sorted(config.items())
                   if k in base_config and base_config[k] != v]
        changed += [f"{k}: {v} (not in baseline)" for k, v in sorted(config.items())
                    if k not in base_config]
        arms.append({"arm": row.arm, "role": row.role, "factor": str(row.factor), "level": str(row.level),
                     "changed": changed, "json": json.dumps(config, indent=2, sort_keys=True)})
    return {"run": run, "versions": versions, "command": str(p.get("command") or MISSING),
            "baseline": base, "baseline_config": sorted((k, json.dumps(v)) for k, v in base_config.items()),
            "arms": arms}
