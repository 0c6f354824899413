"""The verdict box: the run's answer in four lines, generated from its outcomes and comparisons.

1. the baseline's on-target rate with its interval (and what the baseline is);
2. the best arm's rate with its interval, and whether it differs from the baseline;
3. which parts are necessary: the arms that change one design factor and whose on-target rate
   differs from the baseline's in the primary comparisons (an arm that changes several, such as
   another config on another target, is named but its difference is put on no one factor);
4. the mechanism, where the run measured one: how the failing seeds fail, and which arm removes
   a failure mode.

Nothing is hard-coded about what a run found: when the results change, the lines change.
"""
from __future__ import annotations

import json

import pandas as pd

from gancheck.report.data import ReportInput
from gancheck.report.labels import OUTCOME_LABELS, OUTCOME_ORDER
from gancheck.report.tables import (arm_order, baseline_name, fmt_count, fmt_interval, fmt_p,
                                    fmt_rate, fmt_signed)

PRIMARY_METRIC = "rate:on_target"

#: The outcome of a generator nothing was shown about (gancheck.stats.decision): not a failure.
UNDECIDED = "undecided"


def _outcome(data: ReportInput, arm: str, outcome: str):
    if data.outcomes.empty:
        return None
    rows = data.outcomes[(data.outcomes["arm"] == arm) & (data.outcomes["outcome"] == outcome)]
    return rows.iloc[0] if len(rows) else None


def rate_text(row, unit: str = "seeds") -> str:
    """"0 of 20 seeds (0.00, 95% CI [0.00, 0.16])"."""
    return (f"{fmt_count(row['count'])} of {fmt_count(row['n'])} {unit} ({fmt_rate(row['rate'])}, "
            f"95% CI {fmt_interval(row['ci_low'], row['ci_high'])})")


def primary(data: ReportInput) -> pd.DataFrame:
    """The primary comparisons: the ``family == "primary"`` rows where comparisons.csv marks
    families, else every arm's on-target-rate row (Holm p then over the whole table)."""
    frame = data.comparisons
    if frame.empty:
        return frame
    if "family" in frame.columns:
        rows = frame[frame["family"].astype(str) == "primary"]
        if len(rows):
            return rows
    return frame[frame["metric"] == PRIMARY_METRIC]


def _holm(row) -> str:
    p = fmt_p(row.get("pvalue_holm"))
    return f"Holm p {p}" if p.startswith("<") else f"Holm p = {p}"


def _significant(row) -> bool:
    return bool(row.get("reject_holm", False)) if pd.notna(row.get("reject_holm", False)) else False


def _failures(data: ReportInput, arm: str) -> list[tuple[str, int]]:
    rows = data.outcomes[(data.outcomes["arm"] == arm) & (data.outcomes["outcome"] != "on_target")
                         & (data.outcomes["count"] > 0)]
    order = {o: i for i, o in enumerate(OUTCOME_ORDER)}
    rows = rows.assign(_o=rows["outcome"].map(order)).sort_values("_o")
    return [(str(o), int(c)) for o, c in zip(rows["outcome"], rows["count"])]


def _failure_text(failures) -> str:
    return ", ".join(f"{c} {OUTCOME_LABELS.get(o, o)}" for o, c in failures)


def baseline_settings(data: ReportInput) -> str:
    """What the baseline is: its configuration's differences from GANConfig's defaults (the
    seed's setup), "the seed's configuration" when there are none; "" if none was stored."""
    from gancheck.report.model_text import baseline_config
    config = baseline_config(data)
    if not config:
        return ""
    try:
        from gancheck.config import GANConfig
        defaults = GANConfig().to_dict()
    except Exception:  # noqa: BLE001 - without the config class the page names no settings
        return ""
    changed = [f"{k}={config[k]}" for k in sorted(config) if k in defaults and config[k] != defaults[k]
               and k not in ("num_epochs",)]
    return ("the seed's configuration changed to " + ", ".join(changed)) if changed else "the seed's configuration"


def _line_baseline(data: ReportInput, base: str, tolerance: str) -> str:
    on = _outcome(data, base, "on_target")
    settings = baseline_settings(data)
    what = f"The baseline, “{base}”" + (f" ({settings})" if settings else "")
    if on is None:
        return f"{what}, has no outcomes recorded."
    from gancheck.report.target_view import arm_words
    target = arm_words(data).get(base, "")
    text = f"{what}, is on target ({target + ': ' if target else ''}{tolerance}) in {rate_text(on)}."
    failures = _failures(data, base)
    if failures:
        text += f" Its other seeds: {_failure_text(failures)}."
    return text


def _line_best(data: ReportInput, base: str) -> str:
    arms = [a for a in arm_order(data) if a != base]
    rows = [(a, _outcome(data, a, "on_target")) for a in arms]
    rows = [(a, r) for a, r in rows if r is not None]
    if not rows:
        return "This run has no other arm to compare with the baseline."
    best_rate = max(float(r["rate"]) for _, r in rows)
    best = [(a, r) for a, r in rows if float(r["rate"]) == best_rate]
    arm, row = best[0]
    base_row = _outcome(data, base, "on_target")
    if base_row is not None and best_rate <= float(base_row["rate"]) and best_rate == 0:
        return (f"No arm reaches the target: all {len(rows)} arms are on target in 0 of their "
                f"seeds, like the baseline, so no arm is better.")
    tie = f" (tied with {len(best) - 1} other arm{'s' if len(best) > 2 else ''})" if len(best) > 1 else ""
    from gancheck.report.target_view import arm_words
    targets = arm_words(data)
    own = f" (its target: {targets[arm]})" if targets.get(arm, "") != targets.get(base, "") else ""
    text = f"The best of the other arms, “{arm}”{own}{tie}, is on target in {rate_text(row)}"
    comparison = primary(data)
    comparison = comparison[comparison["arm"] == arm] if len(comparison) else comparison
    if len(comparison):
        c = comparison.iloc[0]
        verdict = "significantly better than the baseline" if _significant(c) and c["difference"] > 0 \
            else ("significantly worse than the baseline" if _significant(c)
                  else "not significantly different from the baseline")
        fmt = lambda x: fmt_signed(x, 2)  # noqa: E731
        text += (f": {fmt(c['difference'])} {fmt_interval(c['ci_low'], c['ci_high'], fmt)} against "
                 f"the baseline, {_holm(c)}, {verdict}")
    return text + "."


def _config_but_target(data: ReportInput, arm: str) -> dict:
    """The arm's recorded config without the fields that say its target."""
    rows = data.arms[data.arms["arm"] == arm] if len(data.arms) and "config_json" in data.arms else data.arms.iloc[:0]
    try:
        config = dict(json.loads(rows["config_json"].iloc[0])) if len(rows) else {}
    except (TypeError, ValueError):
        return {}
    return {k: v for k, v in config.items() if k not in ("target", "data_mean", "data_std")}


def transfer_arms(data: ReportInput, base: str) -> list[str]:
    """The arms that train the baseline's own configuration on another target (design order)."""
    from gancheck.report.target_view import arm_words
    targets = arm_words(data)
    own = _config_but_target(data, base)
    return [a for a in arm_order(data) if a != base and targets.get(a) != targets.get(base)
            and own and _config_but_target(data, a) == own]


def _line_transfer(data: ReportInput, base: str, arms: list[str]) -> str:
    from gancheck.report.target_view import arm_words
    targets = arm_words(data)
    rows = primary(data)
    fmt = lambda x: fmt_signed(x, 2)  # noqa: E731
    parts = []
    for arm in arms:
        rate = _outcome(data, arm, "on_target")
        if rate is None:
            continue
        text = f"“{arm}” {rate_text(rate)}"
        found = rows[rows["arm"] == arm] if len(rows) else rows
        if len(found):
            c = found.iloc[0]
            shown = ("lower than on the baseline's target" if c["difference"] < 0 else "higher") \
                if _significant(c) else "not shown to differ"
            text += f": {fmt(c['difference'])} {fmt_interval(c['ci_low'], c['ci_high'], fmt)}, {_holm(c)}, {shown}"
        failures = _failures(data, arm)
        if failures:
            text += f" (its other seeds: {_failure_text(failures)})"
        parts.append(text)
    return (f"The baseline's configuration on the other targets (named in the title), against "
            f"its {targets.get(base, '')}: " + "; ".join(parts) + ".")


#: How an arm's ``factor`` (arms.csv) joins the design factors it changes from the baseline
#: ("config+target"): experiments.designs names every arm so.
FACTOR_JOIN = "+"


def changed_factors(data: ReportInput, arm: str) -> list[str]:
    """The design factors ``arm`` changes from the baseline, as its ``factor`` in arms.csv
    names them (the fix design's "fix" is one factor, whatever settings it carries); one
    unnamed factor where the arm records none."""
    rows = data.arms[data.arms["arm"] == arm] if len(data.arms) and "factor" in data.arms else data.arms.iloc[:0]
    factor = rows["factor"].iloc[0] if len(rows) else None
    if not isinstance(factor, str) or not factor.strip():
        return [""]
    return [f.strip() for f in factor.split(FACTOR_JOIN) if f.strip()] or [""]


def _cited(rows: pd.DataFrame) -> list[str]:
    return [f"“{r['arm']}” ({fmt_signed(r['difference'], 2)}, {_holm(r)})" for _, r in rows.iterrows()]


def _line_several(data: ReportInput, hits: pd.DataFrame) -> str:
    """The arms that differ from the baseline while changing several factors at once: named, but
    put on no single factor (the transfer design's "seed config on bimodal" changes the config
    and the target; in a transfer run the fix itself was 0 of 20 on bimodal)."""
    if hits.empty:
        return ""
    cited = [f"“{r['arm']}” ({' and '.join(changed_factors(data, r['arm']))}: "
             f"{fmt_signed(r['difference'], 2)}, {_holm(r)})" for _, r in hits.iterrows()]
    where = (" The factorial effects separate them." if data.effects is not None and len(data.effects)
             else "")
    return (" Arms that change several factors at once differ too, and their differences are put on "
            "none of those factors alone: " + "; ".join(cited) + "." + where)


def _line_necessary(data: ReportInput, exclude: tuple[str, ...] = ()) -> str:
    """What matters, read only from arms that change one factor from the baseline: a difference
    of an arm that changes two (a setting and the target) cannot be put on either."""
    rows = primary(data)
    family_size = int(rows["pvalue"].notna().sum()) if "pvalue" in rows else len(rows)
    rows = rows[~rows["arm"].isin(exclude)] if len(rows) else rows   # said by the transfer line
    if rows.empty:
        return "The run made no comparison with the baseline, so it shows no part necessary."
    significant = rows[rows.apply(_significant, axis=1)]
    alone = significant["arm"].map(lambda a: len(changed_factors(data, a)) == 1).astype(bool)
    hits, several = significant[alone], _line_several(data, significant[~alone])
    if hits.empty:
        who = "No arm that changes one factor has an on-target rate that differs" if several \
            else "No arm's on-target rate differs"
        return (f"{who} from the baseline's after Holm's correction over {family_size} primary "
                "comparisons: this run shows no part necessary and no change helpful (not the same "
                "as showing that none is)." + several)
    worse, better = _cited(hits[hits["difference"] < 0]), _cited(hits[hits["difference"] > 0])
    parts = []
    if worse:
        parts.append("the baseline's setting is necessary wherever an arm that changes it alone "
                     "lowers the on-target rate: " + "; ".join(worse))
    if better:
        parts.append("changes that raise it: " + "; ".join(better))
    text = "; ".join(parts)
    rest = len(rows) - len(significant)
    tail = {0: "", 1: " The other arm is not shown to differ."}.get(
        rest, f" The other {rest} arms are not shown to differ.")
    return text[0].upper() + text[1:] + f" (Holm over {family_size} primary comparisons)." + several + tail


def _line_mechanism(data: ReportInput, base: str) -> str:
    # An undecided seed has not failed: nothing was shown outside its bands either way.
    every = _failures(data, base)
    undecided = sum(c for o, c in every if o == UNDECIDED)
    failures = [(o, c) for o, c in every if o != UNDECIDED]
    if not failures:
        return (f"The baseline's {undecided} {'seed' if undecided == 1 else 'seeds'} not on target "
                f"{'is' if undecided == 1 else 'are'} undecided: no band was shown outside, so no "
                "way of failing is shown; more draws would decide.") if undecided else ""
    total = sum(c for _, c in failures)
    main, count = max(failures, key=lambda f: f[1])  # the first in reading order on a tie
    label = OUTCOME_LABELS.get(main, main)
    if total == 1:
        text = f"The baseline's one seed that fails is {label}"
    elif count == total:
        text = f"All {total} of the baseline's seeds that fail are {label}"
    elif sum(c == count for _, c in failures) > 1:  # a tie: no outcome is the commonest
        text = (f"The baseline's {total} seeds that fail do so in several ways, none the "
                f"commonest: {_failure_text(failures)}")
    else:
        text = (f"Of the baseline's {total} seeds that fail, {count} "
                f"{'is' if count == 1 else 'are'} {label}, the commonest way")
    if undecided:
        text += f" ({undecided} more {'is' if undecided == 1 else 'are'} undecided, not failed)"
    frame = data.comparisons
    if not frame.empty and "reject_holm" in frame:
        lowered = frame[frame["metric"].isin([f"rate:{o}" for o, _ in failures])
                        & frame["reject_holm"].fillna(False).astype(bool) & (frame["difference"] < 0)]
        if len(lowered):
            r = lowered.sort_values("pvalue_holm", kind="stable").iloc[0]
            outcome = r["metric"].split(":", 1)[1]
            after = _outcome(data, r["arm"], outcome)
            before = _outcome(data, base, outcome)
            if after is not None and before is not None:
                text += (f"; “{r['arm']}” lowers the {OUTCOME_LABELS.get(outcome, outcome)} rate "
                         f"from {fmt_rate(before['rate'])} to {fmt_rate(after['rate'])} ({_holm(r)})")
                still = _outcome(data, r["arm"], "on_target")
                if still is not None and float(still["rate"]) <= float(_outcome(data, base, "on_target")["rate"]):
                    text += ", but its seeds fail otherwise: " + (_failure_text(_failures(data, r["arm"])) or "none")
    return text + "."


def verdict(data: ReportInput, tolerance: str) -> dict:
    """{lines: [{key, label, text}], outcomes: [outcome keys present]} for the verdict box.

    ``tolerance`` names what "on target" allows (from Methods' how_judged)."""
    base = baseline_name(data)
    if not base or data.outcomes.empty:
        return {"lines": [{"key": "none", "label": "Answer",
                           "text": "This run has no baseline with outcomes to report."}],
                "outcomes": []}
    lines = [{"key": "baseline", "label": "Baseline", "text": _line_baseline(data, base, tolerance)},
             {"key": "best", "label": "Best other arm", "text": _line_best(data, base)}]
    moved = transfer_arms(data, base)
    if moved:  # a design that moves the baseline's configuration to other targets: does it transfer?
        lines.append({"key": "transfer", "label": "Other targets", "text": _line_transfer(data, base, moved)})
    lines.append({"key": "necessary", "label": "What matters",
                  "text": _line_necessary(data, tuple(moved))})
    mechanism = _line_mechanism(data, base)
    if mechanism:
        lines.append({"key": "mechanism", "label": "Why", "text": mechanism})
    present = set(data.outcomes.loc[data.outcomes["count"] > 0, "outcome"]) | {"on_target"}
    return {"lines": lines, "outcomes": [o for o in OUTCOME_ORDER if o in present]}
