"""Names a reader sees: test labels, groups, hypotheses and references; outcome and metric labels.

Tests are described by the statistics registry (``gancheck.stats.registry.REGISTRY``: one entry
per test with name, hypothesis, label, group, order, description, reference), and by the local
table ``FALLBACK`` below for a test the registry does not know (a run scored by another version).
``describe(test)`` is the one door the report goes through.

Words the page uses for things the code names otherwise (the collapse flag, failed seeds'
metric value, factorial effects' terms and methods) are declared here too, once.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterable

from gancheck.stats.outcomes import OUTCOMES


@dataclass(frozen=True)
class TestInfo:
    name: str
    label: str
    group: str
    order: int
    hypothesis: str      # "simple" (the target exactly) | "composite" (any location/scale) | ...
    description: str     # what the test asks, in one sentence (for a normal target)
    reference: str = ""  # where the test is from (FALLBACK's descriptions carry theirs)


#: Group key -> the question a reader asks; tables and figures group tests in this order.
GROUP_QUESTIONS = {
    "fit": "Is it the target exactly?",
    "shape": "Is the shape normal?",
    "moments": "Are its moments the target's?",
    "diversity": "Do its noise draws vary independently?",
}
#: Where some target is not a normal, a group's question in words true of every target (the
#: shape tests then test the target's own skewness and kurtosis, gancheck.stats.gof_target).
OTHER_TARGET_QUESTIONS = {"shape": "Is the shape the target's?"}

#: For a test the registry does not know (a run scored by another version of gancheck).
FALLBACK = {t.name: t for t in (
    TestInfo("ks", "KS", "fit", 10, "simple",
             "Kolmogorov–Smirnov: largest gap between the sample's CDF and the target's; exact "
             "p-value (Marsaglia, Tsang & Wang 2003)."),
    TestInfo("ad", "AD", "fit", 20, "simple",
             "Anderson–Darling with the target's mean and std given (not estimated): weights the "
             "tails (Anderson & Darling 1954; p-values of Marsaglia & Marsaglia 2004)."),
    TestInfo("cvm", "CvM", "fit", 30, "simple",
             "Cramér–von Mises: mean squared gap between the sample's CDF and the target's "
             "(Csörgő & Faraway 1996)."),
    TestInfo("shapiro", "Shapiro–Wilk", "shape", 40, "composite",
             "Shapiro–Wilk: is the shape normal at some location and scale? (Shapiro & Wilk 1965; "
             "Royston 1995)."),
    TestInfo("ad_normal", "AD (est.)", "shape", 50, "composite",
             "Anderson–Darling with mean and std estimated from the sample: normal shape at any "
             "location and scale (Stephens 1974)."),
    TestInfo("mean", "mean", "moments", 60, "simple",
             "z-test of the sample mean against the target mean, with the target std known."),
    TestInfo("std", "std", "moments", 70, "simple",
             "χ² test of the sample variance against the target variance."),
    TestInfo("skew", "skew", "moments", 80, "composite",
             "D'Agostino's test of zero skewness (D'Agostino 1970)."),
    TestInfo("kurtosis", "kurtosis", "moments", 90, "composite",
             "Anscombe–Glynn test of normal kurtosis (Anscombe & Glynn 1983)."),
    TestInfo("fixed_coordinates", "fixed coordinates", "diversity", 100, "any distribution",
             "Coordinate memorisation: one-way ANOVA with the output coordinates as groups and "
             "the noise draws as replicates; the intraclass correlation ICC(1) is the share of "
             "variance fixed per coordinate (Shrout & Fleiss 1979), with a permutation null."),
    TestInfo("reused_values", "reused values", "diversity", 110, "any distribution",
             "Value memorisation: pairs of noise draws whose two-sample KS statistics are smaller "
             "than their distribution-free null allows, i.e. the same values in another order."),
    TestInfo("heterogeneity", "heterogeneity", "diversity", 120, "any distribution",
             "Draws from different distributions: the draws' means vary more than the "
             "within-draw variance allows (one-way ANOVA with draws as groups)."),
)}

_KNOWN_LABELS = {"diverged": "diverged", "stuck": "stuck", "collapsed": "collapsed",
                 "off_target": "off target", "wrong_shape": "wrong shape", "undecided": "undecided",
                 "on_target": "on target"}
#: Every outcome gancheck.stats.outcomes defines, labelled (a new outcome reads as its name).
OUTCOME_LABELS = {o: _KNOWN_LABELS.get(o, o.replace("_", " ")) for o in OUTCOMES}

#: The outcome each control plants (gancheck.runs.controls): the null is on target; a shifted
#: mean or a wrong sd is off target; heavy tails and two modes keep the mean and sd but not the
#: shape; one repeated vector is collapsed. A control not listed plants nothing named.
CONTROL_PLANTED = {"null": "on_target", "mean_shift": "off_target", "wrong_std": "off_target",
                   "heavy_tails": "wrong_shape", "bimodal": "wrong_shape", "collapsed": "collapsed"}

#: One line per outcome in plain words, for the verdict box's key (the full rules are Methods'
#: decision list, read from gancheck.stats.outcomes; an outcome not listed here is defined by
#: its rule's first clause; on target is defined by the tolerance, Methods' how_judged).
PLAIN_DEFINITIONS = {
    "diverged": "training blew up: the output is not finite",
    "stuck": "the output is nearly one number, whatever the noise",
    "collapsed": "different noise gives back the same memorised output (the same coordinates or "
                 "the same values reordered), so the generator does not sample",
    "off_target": "it samples, but at the wrong mean or spread",
    "wrong_shape": "right mean and spread, but some other test rejects (tails, shape, draws that differ)",
    "memorised": "part of its output is the same in every noise draw (some coordinates fixed, or "
                 "values reused), too little to call it collapsed",
    "undecided": "its draws show neither that it is within the tolerance nor that it is outside "
                 "it; more draws would decide",
}

#: Eight colours from Paul Tol's schemes that stay at least 28 CIE76 Delta E apart from each
#: other and from the white page for normal vision and under simulated protanopia, deuteranopia
#: and tritanopia (tests/report/test_colours.py checks it; gancheck.report.colours simulates).
OUTCOME_PALETTE = ("#4477AA", "#EECC66", "#EE6677", "#882255", "#997700", "#000000", "#66CCEE",
                   "#332288")
_KNOWN_COLOURS = {"on_target": "#4477AA", "wrong_shape": "#EECC66", "off_target": "#EE6677",
                  "collapsed": "#882255", "stuck": "#997700", "diverged": "#000000",
                  "undecided": "#66CCEE"}
#: Hatching per outcome (matplotlib's patterns), the second cue beside colour; the page uses the
#: same patterns in its swatches.
_KNOWN_HATCHES = {"on_target": "", "wrong_shape": "..", "off_target": "//", "collapsed": "xx",
                  "stuck": "--", "diverged": "", "undecided": "\\\\"}
_SPARE_HATCHES = ("++", "oo", "||")


def _assigned(known: dict, spare) -> dict:
    """Known outcomes keep their entry; any other outcome takes the next unused spare."""
    free = [c for c in spare if c not in known.values()]
    out = {}
    for o in OUTCOMES:
        out[o] = known[o] if o in known else (free.pop(0) if free else "#BBBBBB")
    return out


#: One fixed colour per outcome, used by every figure and table of the page.
OUTCOME_COLOURS = _assigned(_KNOWN_COLOURS, OUTCOME_PALETTE)
OUTCOME_HATCHES = _assigned(_KNOWN_HATCHES, _SPARE_HATCHES)
#: Bars, legends and tables read from the good end: on target first, diverged last.
OUTCOME_ORDER = tuple(reversed(OUTCOMES))


def text_on(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (WCAG relative luminance)."""
    from gancheck.report.colours import linear, srgb
    luminance = float(linear(srgb(colour)) @ (0.2126, 0.7152, 0.0722))
    return "black" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "white"


METRIC_LABELS = {"ks_statistic": "KS statistic D", "ad_statistic": "AD statistic A²",
                 "abs_mean_error": "|mean − target|", "abs_std_error": "|std − target|",
                 "fixed_share": "fixed share (ICC)"}
#: What each per-seed metric is, in the words the page defines it with (gancheck.runs.verdicts
#: computes them: the statistics of the generator's judge rows, over its K noise draws).
METRIC_DEFINITIONS = {
    "ks_statistic": "the median over the seed's noise draws of each draw's Kolmogorov-Smirnov distance "
                    "to the target's CDF",
    "ad_statistic": "the median over its draws of each draw's Anderson-Darling A² against the target",
    "abs_mean_error": "|median over its draws of (draw mean − target mean)|, in the target's units",
    "abs_std_error": "|median over its draws of (draw sd − target sd)|, in the target's units",
    "fixed_share": "the share of the output's variance that is the same in every draw (intraclass "
                   "correlation of each output position across draws)",
}
#: Metrics whose values span orders of magnitude: drawn on a log axis.
LOG_METRICS = frozenset({"ks_statistic", "ad_statistic", "abs_mean_error", "abs_std_error"})


def _registry_entries() -> dict:
    """name -> registry entry (imported here, on first use, so a test can stand in another)."""
    from gancheck.stats.registry import REGISTRY
    entries = REGISTRY.values() if isinstance(REGISTRY, dict) else REGISTRY
    return {str(_field(e, "name")): e for e in entries}


def _field(entry, name: str, default=None):
    return entry.get(name, default) if isinstance(entry, dict) else getattr(entry, name, default)


@functools.lru_cache(maxsize=None)
def describe(test: str) -> TestInfo:
    """The label, group, order, hypothesis and description of ``test`` (registry first)."""
    entry = _registry_entries().get(test)
    local = FALLBACK.get(test)
    if entry is None:
        return local or TestInfo(test, test, "other", 10_000, "", "")
    pick = lambda name, default: _field(entry, name, default)  # noqa: E731
    return TestInfo(test, str(pick("label", local.label if local else test)),
                    str(pick("group", local.group if local else "other")),
                    int(pick("order", local.order if local else 10_000)),
                    str(pick("hypothesis", local.hypothesis if local else "")),
                    str(pick("description", local.description if local else "")),
                    str(pick("reference", "")))


def null_hypothesis(test: str, target=None) -> str:
    """The test's null in words for ``target`` (a gancheck Target; None or a normal: the normal
    wording): the registry's description for that target, else describe()'s."""
    from gancheck.stats.registry import describe_for
    entry = _registry_entries().get(test)
    return describe_for(entry, target) if entry is not None else describe(test).description


def group_question(group: str, *, normal: bool = True) -> str:
    """The question a group of tests answers; ``normal`` False where some target is not a normal."""
    if not normal and group in OTHER_TARGET_QUESTIONS:
        return OTHER_TARGET_QUESTIONS[group]
    return GROUP_QUESTIONS.get(group, group.replace("_", " ").capitalize() or "Other tests")


def ordered_tests(tests: Iterable[str]) -> list[str]:
    """Tests present, by the registry's order (then by name)."""
    return sorted(set(map(str, tests)), key=lambda t: (describe(t).order, t))


def metric_label(metric: str) -> str:
    """"rate:on_target" -> "on-target rate"; "ks_statistic" -> "KS statistic D"."""
    if metric.startswith("rate:"):
        what = metric.split(":", 1)[1]
        if what == "collapse_flag":
            return "collapse-flag rate"
        return f"{OUTCOME_LABELS.get(what, what.replace('_', ' ')).replace(' ', '-')} rate"
    return METRIC_LABELS.get(metric, metric)


#: The collapse flag (members.csv's ``collapsed``, the rate "rate:collapse_flag"), in plain words:
#: gancheck.stats.diversity's own call, made apart from the decision list (collapsed =
#: collapse_pvalue < alpha / 2, and True for draws it cannot test).
COLLAPSE_FLAG = ("The collapse flag is the diversity test's own call, made apart from the decision "
                 "list: it is raised when the share of a seed's output that stays fixed across noise "
                 "draws is shown above the collapse share, or when the draws cannot be tested at all "
                 "(constant or not finite). Every collapsed seed carries it, and so do most stuck and "
                 "diverged ones, which the decision list names first; so its rate can be higher than "
                 "the collapsed rate.")


def failed_value_note() -> str:
    """What +∞ in a per-seed metric means: a failed seed (gancheck.runs.verdicts.FAILED_OUTCOMES)
    counts as the worst value whatever its output, which may well be finite."""
    from gancheck.runs.verdicts import FAILED_OUTCOMES
    names = [OUTCOME_LABELS.get(o, o) for o in FAILED_OUTCOMES]
    listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)
    return f"a failed seed ({listed}) counts as the worst value, +∞"


#: Factorial effects' methods (gancheck.stats.effects' ``method`` column), in words.
EFFECT_METHODS = {
    "rate-mover-wilson": "contrast of cell rates, MOVER interval from Wilson's (Zou & Donner 2008)",
    "ols-seed-block": "least squares, seed as block",
    "ols-ranks-seed-block": "least squares on ranks over all seeds, seed as block",
}


#: A ":" that joins two of a term's factors, not one inside a level ("step_ratio[30:10]").
_TERM_JOIN = re.compile(r":(?![^\[]*\])")


def term_parts(term: str) -> list[tuple[str, str]]:
    """An effect's term as (factor, words) pairs, one per factor it names:
    "config[seed config]:target[bimodal]" -> [("config", "config = seed config"),
    ("target", "target = bimodal")]. gancheck.stats.effects names each factor[level] and joins
    them by ":", which a level may hold too; a part without a level is its own words."""
    parts = []
    for part in filter(None, _TERM_JOIN.split(str(term))):
        factor, bracket, level = part.partition("[")
        parts.append((factor, f"{factor} = {level.rstrip(']')}" if bracket else part))
    return parts


def term_label(term: str) -> str:
    """An effect's term in words: "config[seed config]:target[bimodal]" ->
    "config = seed config × target = bimodal"."""
    return " × ".join(words for _, words in term_parts(term))


def units_label(units: str) -> str:
    """An effect's scale with metric names in words ("ranks of abs_mean_error ..." ->
    "ranks of |mean − target| ...")."""
    return re.sub(r"\b(" + "|".join(map(re.escape, METRIC_LABELS)) + r")\b",
                  lambda m: METRIC_LABELS[m.group(1)], str(units))

