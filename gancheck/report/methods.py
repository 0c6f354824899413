"""The Methods section: the tests and their references, the outcome decision list, the collapse
rule, the unit of analysis, the multiplicity families, the smallest detectable effect, the model
and its training (model_text), and the run's limitations. Texts come from where the rules live
(the test registry, the docstrings of gancheck.stats.outcomes and gancheck.stats.diversity, the
families and tests of gancheck.stats.comparisons); counts and limits from the run itself."""
from __future__ import annotations

import json
import math
import re

import pandas as pd

from gancheck.report import model_text
from gancheck.report.data import ReportInput
from gancheck.report.labels import (OUTCOME_LABELS, describe, group_question, metric_label,
                                    null_hypothesis, ordered_tests)
from gancheck.report.plots_diagnostics import factors_of
from gancheck.report.tables import fmt_count, fmt_rate
from gancheck.report.tables_comparisons import family, mde_summary
from gancheck.report.target_view import other_target, subtitle, targets
from gancheck.runs.provenance import Provenance
from gancheck.stats import diversity
from gancheck.stats import outcomes as outcomes_module
from gancheck.stats.aggregate import wilson_interval
from gancheck.stats.comparisons import FAMILIES
from gancheck.stats.outcomes import OUTCOMES

#: What each Holm family of gancheck.stats.comparisons holds (its FAMILIES); the primary family's
#: rates are read from the run ("{primary}").
FAMILY_WORDS = {"primary": "each arm's {primary} against the baseline's, the question the run is for",
                "secondary": "the other outcome rates and the collapse flag",
                "descriptive": "the per-seed error metrics"}
#: Each test of gancheck.stats.comparisons (its ``test`` column) in words: what it compares, the
#: test, the interval of its difference, and the interval of its prob_improvement
#: (gancheck.stats.improvement).
TEST_WORDS = {
    "boschloo": {"what": "rates", "test": "Boschloo's exact test",
                 "difference": "Newcombe's hybrid score interval of the rate difference",
                 "improvement": "Newcombe's interval of the rate difference mapped onto that scale "
                                "(the same interval as the difference's)"},
    "sign": {"what": "metrics", "test": "the sign test on seeds paired across arms",
             "difference": "the order-statistic interval of the median paired difference",
             "improvement": "a score-type interval under the binormal model with DeLong's paired "
                            "variance (Hanley & McNeil 1982; DeLong et al. 1988)"},
}
#: What the sign test's ties mean for a reader (gancheck.stats.comparisons.sign_test).
SIGN_TIES = (" The sign test asks whether the median per-seed difference is 0, and two failed seeds "
             "tie (a difference of 0): where many seeds tie it cannot reject, even when every untied "
             "seed favours one arm; P(arm better) counts ties half and still shows such a difference.")
#: decision.describe() also serves the command line's verdict, which prints whether any single
#: test detected a departure; the page shows no such flag, so sentences about it stay off it.
NOT_ON_PAGE = "any single test detected"


def how_judged(data: ReportInput) -> dict:
    """Methods' "How a generator is judged": {tolerance: a short phrase for the verdict box,
    text: the paragraph}. The one place the page says what "on target" allows."""
    from gancheck.stats import decision
    from gancheck.stats.tolerance import Tolerance
    alpha = float(data.provenance.get("alpha", 0.05))
    # The run record states the tolerance its verdicts used; a run recorded before tolerances
    # were declared was judged without one, and says so rather than borrowing today's default.
    recorded = data.provenance.get("tolerance")
    if not recorded:
        return {"tolerance": f"no test rejects at α = {alpha:g} after Holm's correction over its own tests",
                "text": ("This run was judged before verdicts had a declared tolerance: a generator "
                         "was on target when none of its tests rejected after Holm's correction at "
                         f"α = {alpha:g}.")}
    tolerance = Tolerance(**recorded)
    return {"tolerance": (f"{_moment_bands(tolerance, data)}, KS distance at most {tolerance.ks:g}, "
                          f"at most {100 * tolerance.tail:g}% of values in each far tail, under "
                          f"{100 * tolerance.fixed_share:g}% of the variance fixed across draws, repeated "
                          f"values at most {tolerance.repeats:g} times chance; all shown at α = {alpha:g}"),
            "text": on_page(decision.describe(tolerance, alpha))}


def _moment_bands(tolerance, data: ReportInput) -> str:
    """The mean and sd bands in a few words, and in the target's units where the run has one
    target with a finite sd (a reader checks "within 0.125" against a histogram more easily
    than "0.1 target sd")."""
    if tolerance.mean != tolerance.std:
        return f"mean within {tolerance.mean:g} and sd within {tolerance.std:g} target sd"
    units = ""
    run_targets = set(targets(data))
    if len(run_targets) == 1:
        band = tolerance.mean * next(iter(run_targets)).std
        units = f" (±{band:.3g})" if math.isfinite(band) and band > 0 else ""
    return f"mean and sd each within {tolerance.mean:g} target sd{units}"


def on_page(text: str) -> str:
    """``text`` without its sentences about what the page does not show (NOT_ON_PAGE)."""
    return " ".join(s for s in re.split(r"(?<=\.)\s+", text) if NOT_ON_PAGE not in s)


def _families_in(frame) -> list[str]:
    """The run's Holm families in FAMILIES' order (any other after them), or [] for a table
    written before families were declared (then all its rows are one family)."""
    if "family" not in frame.columns:
        return []
    found = list(dict.fromkeys(frame["family"].astype(str)))
    return [f for f in FAMILIES if f in found] + [f for f in found if f not in FAMILIES]


def _test_words(tests, key: str) -> list[str]:
    """TEST_WORDS[test][key] of each test present, in TEST_WORDS' order (a test without words: its name)."""
    present = set(map(str, tests))
    return ([TEST_WORDS[t][key] for t in TEST_WORDS if t in present]
            + [t for t in sorted(present) if t not in TEST_WORDS])


def families(data: ReportInput) -> str:
    """The comparison families, what each holds and tests with, and the α each spends."""
    frame = data.comparisons
    alpha = data.provenance.get("alpha", 0.05)
    if frame.empty:
        return ""
    found = _families_in(frame)
    if not found:
        return (f"All {len(frame)} comparisons with the baseline form one Holm family at "
                f"α = {alpha:g}; the primary question, each arm's on-target rate against the "
                "baseline's, is tested within it.")
    parts = []
    for name in found:
        rows = frame[frame["family"].astype(str) == name]
        primary = " and ".join(dict.fromkeys(metric_label(str(m)) for m in rows["metric"]))
        words = FAMILY_WORDS.get(name, "").format(primary=primary)
        how = "; ".join(filter(None, [words, *_test_words(rows["test"], "test")]))
        parts.append(f"{name} ({how}): {fmt_count(len(rows))} rows")
    count = {1: "one Holm family", 2: "two Holm families", 3: "three Holm families"}.get(
        len(found), f"{len(found)} Holm families")
    return (f"Comparisons with the baseline fall in {count}, each corrected on its own at "
            f"α = {alpha:g}: " + "; ".join(parts) + ".")


def improvement_interval(data: ReportInput) -> str:
    """How prob_improvement's interval is computed, for each kind of comparison the run makes."""
    frame = data.comparisons
    tests = frame["test"] if "test" in frame.columns else []
    present = set(map(str, tests))
    return "; ".join(f"for {TEST_WORDS[t]['what']}, {TEST_WORDS[t]['improvement']}"
                     for t in TEST_WORDS if t in present)


def decision_list() -> list[dict]:
    """The ordered outcome rules, read from gancheck.stats.outcomes' docstring (its numbered
    list), so the page says what the code does; names only if the docstring changes shape."""
    doc = outcomes_module.__doc__ or ""
    found = dict(re.findall(r"^\d+\.\s+``(\w+)``:\s*(.+?)(?=^\d+\.\s+``|^\S|\Z)", doc, re.M | re.S))
    return [{"outcome": OUTCOME_LABELS.get(o, o), "key": o,
             "rule": plain(found.get(o, "")) or "(see gancheck.stats.outcomes)"} for o in OUTCOMES]


def plain(text: str) -> str:
    """Docstring text for the page: one line, no ``code`` marks, named constants by value."""
    def value(match):
        constant = getattr(outcomes_module, match.group(0), None)
        return f"{constant:g}" if isinstance(constant, (int, float)) else match.group(0)
    text = re.sub(r"``([^`]+)``", r"\1", " ".join(text.split()))
    return re.sub(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", value, text)


def holm_note() -> str:
    """The docstring's paragraph on what "rejects" means in the rules (Holm within a generator)."""
    doc = outcomes_module.__doc__ or ""
    match = re.search(r"^\"Rejects\".+?(?=\n\s*\n|\Z)", doc, re.M | re.S)
    return plain(match.group(0)) if match else ""


def collapse_rule() -> str:
    return " ".join(diversity.COLLAPSE_RULE.split())


def _null(test: str, found: list) -> str:
    """The test's null for the run's targets: the normal's words, another target's, or, where
    the run has both and they differ, each in turn."""
    normal = null_hypothesis(test) if any(t.is_normal for t in found) else ""
    other = next((null_hypothesis(test, t) for t in found if not t.is_normal), "")
    if normal and other and other != normal:
        return f"{normal} Other targets: {other[:1].lower()}{other[1:]}"
    return normal or other or "–"


def tests(data: ReportInput) -> list[dict]:
    """One row per test the run scored: label, question, null for the run's targets, reference."""
    present = ordered_tests(data.scores["test"]) if len(data.scores) else []
    found, normal = targets(data), other_target(data) is None
    return [{"label": describe(t).label, "name": t, "group": group_question(describe(t).group, normal=normal),
             "hypothesis": describe(t).hypothesis or "–", "description": _null(t, found),
             "reference": describe(t).reference} for t in present]


def unit_of_analysis(data: ReportInput) -> str:
    record = Provenance.from_dict(data.provenance)
    k = record.n_draws or (int(data.scores["k"].max()) if "k" in data.scores and len(data.scores) else 0)
    n = int(data.scores["n"].max()) if "n" in data.scores and len(data.scores) else 0
    seeds = len(record.seeds) or (data.members.groupby("arm").size().max() if len(data.members) else 0)
    return (f"The unit of analysis is one trained generator: one seed of one arm ({fmt_count(seeds)} "
            f"seeds per arm). Nested inside it are its {fmt_count(k) if k else 'K'} noise draws of "
            f"{fmt_count(n) if n else 'n'} values each; every test judges the generator on all its "
            "draws at once (one generator-level p-value per test), so draws are never counted as "
            "independent replicates. Rates across seeds carry Wilson 95% intervals; medians carry "
            "order-statistic intervals.")


def multiplicity(data: ReportInput) -> str:
    f = family(data)
    alpha = data.provenance.get("alpha", 0.05)
    if not f["size"]:
        return "This run compares no arms with the baseline, so no multiplicity correction applies."
    found = _families_in(data.comparisons)
    within = (f"Holm's correction runs within each family ({', '.join(found)}), never across them"
              if len(found) > 1 else "Holm's correction runs over the one family")
    tests = data.comparisons["test"] if "test" in data.comparisons.columns else []
    compared = "; ".join(f"{TEST_WORDS[t]['what']} by {TEST_WORDS[t]['test']}, with "
                         f"{TEST_WORDS[t]['difference']}" for t in TEST_WORDS if t in set(map(str, tests)))
    interval = improvement_interval(data)
    return (f"{within}: {fmt_count(f['size'])} rows in all ({fmt_count(f['tested'])} tested; "
            f"{fmt_count(f['significant'])} significant after Holm within their family at α = {alpha}). "
            "The figures draw unadjusted 95% intervals and mark p < α unadjusted; the interval and "
            "the test are computed apart, so near p = α one can just exclude 0 while the other "
            "does not (for rates, 10 of 20 seeds against 4 of 20: the interval is above 0, p = 0.053), "
            "and the mark is the test's. The Holm-adjusted p-value is printed beside every row, and only "
            "Holm-significant rows are called differences in the text."
            + (f" Comparisons: {compared}." if compared else "")
            + (SIGN_TIES if "sign" in set(map(str, tests)) else "")
            + " prob_improvement is P(arm better than baseline) over all pairs of seeds, ties "
              "counted half (Agarwal et al. 2021)"
            + (f"; its 95% interval is, {interval}." if interval else "."))


def limitations(data: ReportInput) -> list[str]:
    record = Provenance.from_dict(data.provenance)
    items = []
    factors, _ = factors_of(data)
    arms = data.arms[data.arms["role"] == "arm"]
    if len(arms) > 1 and not factors:
        items.append("Arms change one factor at a time from the baseline, so interactions between "
                     "factors are not measured: an effect seen here may not hold with other levels of "
                     "the other factors.")
    epochs = sorted({int(e) for e in record.num_epochs if str(e).strip() != ""})
    if epochs:
        text = " or ".join(map(str, epochs))
        items.append(f"Every generator trained for {text} epochs; arms that learn more slowly may "
                     "look worse here than with longer training.")
    seeds = len(record.seeds)
    if seeds:
        low, high = wilson_interval(seeds / 2, seeds)
        items.append(f"{seeds} seeds per arm: a rate is known to within about ±{fmt_rate((high - low) / 2)} "
                     "(the half-width of its 95% Wilson interval at a rate of 0.5)"
                     + _detectable_clause(data) + ".")
    configs = [json.loads(c) for c in arms["config_json"] if c]
    if configs and len({json.dumps(c, sort_keys=True) for c in configs}) < len(configs):
        items.append("Some arms share a configuration; their differences are seed noise.")
    items += [not_reproduced(i) for i in record.invocations if i.differed]
    items += [str(c) for c in record.caveats]
    if not record.caveats:
        items.append("Findings have not been replicated in an independent run unless stated "
                     "otherwise; treat single significant comparisons in a large family with care.")
    return items


def _detectable_clause(data: ReportInput) -> str:
    """How big a change in the on-target rate the primary comparisons could miss: the largest of
    their smallest detectable differences (80% power, comparisons.csv's ``mde``)."""
    frame = data.comparisons
    if frame.empty or "mde" not in frame.columns:
        return ""
    mde = pd.to_numeric(frame.loc[frame["metric"] == "rate:on_target", "mde"], errors="coerce").dropna()
    if mde.empty:
        return ""
    return (f"; the comparisons of on-target rates detect a difference with 80% power only from about "
            f"{fmt_rate(mde.max())}, so smaller differences are likely to be missed")


def not_reproduced(invocation) -> str:
    """The limitation an invocation records when finished members it trained again (to give the
    rest of their block its bits) came out with other numbers than stored."""
    shown = ", ".join(f"{arm} (seed {seed})" for arm, seed in invocation.differed[:3])
    more = f" and {len(invocation.differed) - 3} more" if len(invocation.differed) > 3 else ""
    return (f"The invocation started {invocation.started or 'later'} trained {invocation.retrained} finished "
            f"members again beside unfinished ones of their blocks, and {len(invocation.differed)} of them "
            f"({shown}{more}) came out with other numbers than stored: that machine does not "
            "reproduce the earlier invocation bit for bit (another kind of CPU or other library versions "
            "round otherwise). The members it trained are draws from the same distributions, not the "
            "numbers an uninterrupted run gives.")


def sequential(data: ReportInput) -> dict | None:
    """A sequential run's stopping rule, looks and per-arm decisions (gancheck.runs.sequential
    records them in the provenance's design_spec); None for a fixed design."""
    spec = Provenance.from_dict(data.provenance).design_spec.get("sequential")
    if not spec:
        return None
    rows = []
    for arm, by_metric in sorted(spec.get("decisions", {}).items()):
        for metric, d in sorted(by_metric.items()):
            rows.append({"arm": arm, "metric": metric, "verdict": d.get("verdict", ""),
                         "look": d.get("look", ""), "n": d.get("n", ""),
                         "evalue": f"{float(d.get('evalue', float('nan'))):.3g}",
                         "pvalue": f"{float(d.get('pvalue', float('nan'))):.3g}"})
    looks = spec.get("looks_planned", [])
    return {"rule": spec.get("rule", ""), "comparisons": spec.get("comparisons", ""),
            "looks": f"{spec.get('looks_taken', '?')} of {len(looks)} planned (seeds {', '.join(map(str, looks))})",
            "rows": rows}


def methods(data: ReportInput) -> dict:
    record = Provenance.from_dict(data.provenance)
    n_values = int(data.scores["n"].max()) if "n" in data.scores and len(data.scores) else 0
    return {"judged": how_judged(data), "families": families(data),
            "model": model_text.model(data, record.n_draws, n_values),
            "outcome_keys": list(OUTCOMES), "tests": tests(data), "tests_target": subtitle(data),
            "decision_list": decision_list(), "holm_note": holm_note(),
            "collapse_rule": collapse_rule(), "unit": unit_of_analysis(data),
            "multiplicity": multiplicity(data), "mde": mde_summary(data),
            "limitations": limitations(data), "sequential": sequential(data)}
