"""Names a reader sees: test labels, groups, hypotheses and references; outcome and metric labels.

Tests are described by the statistics registry (``gancheck.stats.registry.REGISTRY``: one entry
per test with name, hypothesis, label, group, order, description) when it is importable, and by
the local table ``FALLBACK`` below otherwise. ``describe(test)`` is the one door the report goes
through, so switching to the registry alone is a one-line change in ``_registry_entries``.
"""
from __future__ import annotations

import functools
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
    description: str     # what the test asks, in one sentence, with its reference


#: Group key -> the question a reader asks; tables and figures group tests in this order.
GROUP_QUESTIONS = {
    "fit": "Is it the target exactly?",
    "shape": "Is the shape normal?",
    "moments": "Are its moments the target's?",
    "diversity": "Do its noise draws vary independently?",
}

#: Used until gancheck.stats.registry lands (and for any test the registry does not know).
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
    TestInfo("skew", "skew", "moments", 80, "simple",
             "D'Agostino's test of zero skewness (D'Agostino 1970)."),
    TestInfo("kurtosis", "kurtosis", "moments", 90, "simple",
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
#: Metrics whose values span orders of magnitude: drawn on a log axis.
LOG_METRICS = frozenset({"ks_statistic", "ad_statistic", "abs_mean_error", "abs_std_error"})


def _registry_entries() -> dict:
    """name -> registry entry, or {} while gancheck.stats.registry does not exist."""
    try:
        from gancheck.stats.registry import REGISTRY
    except ImportError:
        return {}
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
                    str(pick("description", local.description if local else "")))


def group_question(group: str) -> str:
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
