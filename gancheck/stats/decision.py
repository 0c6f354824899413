"""The ordered decision list: one outcome per generator, inside one alpha budget.

The first rule that holds names the generator:

1. ``diverged``: its output holds NaN or inf (or values too large to square), or the caller says
   training diverged. No test: a fact about the output.
2. ``stuck``: nearly constant output: the median within-draw sd is below STUCK_SD_SHARE of the
   target sd (1%), or a draw is constant, in either case where chance could not make the draws
   constant (rounded data make small draws, or the draws of a target far narrower than the
   rounding, constant by chance: constant_draws_pvalue; such draws leave the generator
   undecided, since they cannot be tested). A narrow but working generator is a scale error
   (rule 5), not stuck.
3. ``collapsed``: the fixed share of its output (variance fixed per coordinate across draws) is
   shown above the tolerance's collapse share.
4. ``memorised``: partial memorisation: the fixed share shown above the tolerance's fixed share
   (but not above the collapse share), or values repeated across draws shown above the
   tolerance's ratio of chance repeats.
5. ``off_target``: the mean shown outside its band; or the sd or the KS distance shown outside
   its band while the composite shape tests (Shapiro-Wilk, Anderson-Darling with estimated parameters, skewness,
   kurtosis: location- and scale-free) do not reject at SHAPE_GUARD_SHARE of alpha (Holm), so
   the law is normal but of the wrong scale.
6. ``wrong_shape``: a tail share shown outside its band, or the sd or the KS distance shown
   outside while the shape tests reject (heavy tails inflate the sd: that is a shape error).
7. ``on_target``: every band shown within: mean, sd, KS distance, both tails (two one-sided tests
   each, at level alpha) and the fixed share shown below the tolerance's fixed share; with no
   departure shown. Repeated values are a screen only: where chance gives almost none (float64
   or float32 output) their absence cannot be shown at a level, so they block on_target only
   when shown above their ratio.
8. ``undecided``: none of the above is shown; more draws would decide (or, where some test met
   values written too coarsely for it, values written to more digits).

The alpha budget (why a generator exactly on target is named a departure in at most alpha of
cases, by construction, at any K and n):
- The departure rules 3 to 6 rest on six "shown outside" tests: fixed share, repeats, mean, sd,
  KS distance (itself Bonferroni over its grid points), tails (Bonferroni over the two sides).
  Holm's step-down procedure at level alpha over these six p-values controls the chance of ANY
  false "outside" at alpha (family-wise). Collapse is a stricter reading of the fixed-share test
  at the same Holm level, so it spends no extra alpha. A generator inside every band (a perfect
  one above all) is therefore a departure in at most alpha of cases.
- ``on_target`` is an intersection-union test: it holds only if EVERY band's equivalence test
  rejects "outside" at level alpha, so a generator outside some band is called on target in at
  most alpha of cases, with no correction (Berger 1982, Technometrics 24).
- The labels between departures (rule 5 against 6) use the shape tests only to NAME a departure
  already shown; they add no departures and spend no alpha. They are read at a fifth of alpha,
  so a normal generator of the wrong scale is misnamed wrong_shape in at most alpha / 5 of cases
  (at alpha itself, 9 of 200 sd-1.3 controls were), while heavy tails, whose shape tests give
  p-values near 0, are still named.
- Rules 1 and 2 are not tests: a perfect generator never emits NaN, its within-draw sd is not
  below 1% of the target's at n >= 3 except with negligible probability, and its draws are
  constant as often as chance makes them with probability under STUCK_CHANCE (1e-6).
Each test's own level holds as stated in gancheck.stats.criteria (t on K - 1 df over per-draw
statistics), gancheck.stats.diversity (F test of the fixed share) and gancheck.stats.repeats.

Any target (gancheck.targets): the list, its order and its alpha budget stay the same; only
what the bands and the shape tests are measured against changes. The bands sit around the
target's own mean, sd, CDF and tail quantiles (gancheck.stats.criteria). The shape tests that
separate rule 5 from rule 6 are those of the registry's shape group that apply to the target:
for a normal, Shapiro-Wilk, A² with estimated parameters, skewness and kurtosis; for any other
target, skewness and kurtosis against the target's own, with nulls simulated from it (both are
location- and scale-free, so they ask "the target's shape, at whatever location and scale"). A
KS or sd departure with the target's shape intact is then a location/scale error (off_target),
with the shape rejected a shape error (wrong_shape). Where no shape test applies (a target whose
fourth moment is infinite, such as t with 4 or fewer df), nothing can show the shape wrong at a
level, so KS and sd departures are named off_target and only the tail band names wrong_shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import special, stats

from gancheck.stats import gof, repeats
from gancheck.stats.comparisons import holm
from gancheck.stats.criteria import COLUMNS as CRITERIA_COLUMNS, CriterionTest
from gancheck.stats.diversity import DiversityResult
from gancheck.stats.tolerance import Tolerance

OUTCOMES = ("diverged", "stuck", "collapsed", "memorised", "off_target", "wrong_shape", "undecided",
            "on_target")
DEPARTURES = ("collapsed", "memorised", "off_target", "wrong_shape")
#: Within-draw sd below this share of the target sd is "stuck" (rule 2).
STUCK_SD_SHARE = 0.01
#: The six "shown outside" tests whose p-values share the alpha budget (Holm).
SLOTS = ("fixed_share", "repeats", "mean", "std", "ks", "tail")
SHAPE_GROUP = "shape"
#: The shape tests name a scale departure a shape error at this share of alpha (rule 5).
SHAPE_GUARD_SHARE = 0.2


@dataclass(frozen=True)
class Decision:
    outcome: str
    reason: str
    detected: bool  # some test of judge() detected a departure (Holm at alpha), tolerance aside


def decide(*, criteria: list[CriterionTest] | None, div: DiversityResult | None, judged: pd.DataFrame,
           within_sd: float, std: float, tolerance: Tolerance, alpha: float,
           diverged: bool = False, broken: str | None = None, shape: str = "normality",
           constant_by_chance: float = 0.0) -> Decision:
    """The outcome of one generator (module docstring for the rules).

    criteria: the band tests (None when the draws could not be tested); div: diversity's result;
    judged: judge()'s table; within_sd: median within-draw sd; broken: why the draws could not be
    tested, if they could not (NaN and inf are ``diverged``, a constant sample ``stuck``);
    shape: what the shape tests test, in words (a target other than a normal: "the target's
    shape", read by the skewness and kurtosis tests against the target's own);
    constant_by_chance: where some draws are constant, constant_draws_pvalue() when it is at
    least STUCK_CHANCE (then they do not make the generator stuck), else 0.
    """
    found = detected(judged, alpha)
    if diverged or broken in ("non-finite values", "values too large"):
        return Decision("diverged", "the output holds non-finite or huge values", True)
    # Draws constant as often as the data's resolution makes them (one decimal of a target far
    # narrower than 0.1 is one value throughout) make the median sd 0 by chance, not by sticking.
    if np.isfinite(within_sd) and within_sd < STUCK_SD_SHARE * std and not constant_by_chance:
        return Decision("stuck", f"the output is nearly constant (median within-draw sd "
                                 f"{within_sd:.3g}, below {STUCK_SD_SHARE:.0%} of the target sd)", True)
    if broken == "constant sample" and not constant_by_chance:
        return Decision("stuck", "a noise draw's output is constant (every value the same)", True)
    if broken == "constant sample":
        return Decision("undecided", "the draws cannot be judged: constant draws, as many as chance "
                                     "makes at the data's resolution "
                                     f"(p = {constant_by_chance:.3g})", found)
    if broken is not None or criteria is None or div is None:
        return Decision("undecided", f"the draws cannot be judged ({broken})", found)
    by_name = {c.criterion: c for c in criteria}
    pvalues = {"fixed_share": div.memorised_pvalue, "repeats": div.values_pvalue,
               **{name: by_name[name].p_outside for name in ("mean", "std", "ks", "tail")}}
    rejected, level = holm_levels(np.array([pvalues[s] for s in SLOTS], dtype=float), alpha)
    shown = dict(zip(SLOTS, rejected))
    levels = dict(zip(SLOTS, level))
    if shown["fixed_share"] and div.collapse_pvalue < levels["fixed_share"]:
        return Decision("collapsed", f"fixed share {div.fixed_share:.3f} shown above the collapse share "
                                     f"{tolerance.collapse:g} (p = {div.collapse_pvalue:.3g})", True)
    if shown["fixed_share"]:
        return Decision("memorised", f"fixed share {div.fixed_share:.3f} shown above {tolerance.fixed_share:g} "
                                     f"(p = {div.memorised_pvalue:.3g})", True)
    if shown["repeats"]:
        return Decision("memorised", f"{div.repeats_count} repeated values across draws against "
                                     f"{div.repeats_expected:.3g} by chance at the data's resolution "
                                     f"(p = {div.values_pvalue:.3g})", True)
    shape_rejects = _shape_rejects(judged, alpha)
    # A normal law of the wrong location or scale can leave the KS band while inside both moment
    # bands (the tolerance's ks docstring); only a rejecting shape test makes that a shape error.
    scale_like = [name for name in ("mean", "std", "ks") if shown[name] and (name == "mean" or not shape_rejects)]
    if scale_like:
        return Decision("off_target", _outside(by_name[scale_like[0]], std), True)
    for name in ("ks", "tail", "std"):
        if shown[name]:
            return Decision("wrong_shape", _outside(by_name[name], std)
                            + (f" with the shape tests rejecting {shape}" if name == "std" else ""), True)
    within = {c.criterion: c.p_within for c in criteria}
    within["fixed_share"] = div.fixed_within_pvalue
    open_ = [name for name, p in within.items() if not p < alpha]
    if not open_:
        return Decision("on_target", f"shown within every band of the tolerance (largest p = "
                                     f"{max(within.values()):.3g})", found)
    words = ", ".join(f"{name} (p = {within[name]:.3g})" for name in open_)
    # Values written on a grid too coarse for some test (ties) may keep a band open at any K: the
    # values as written sit off the target by up to half a cell (two digits of N(10, 2): the KS
    # band, p = 1 at K = 100). Then finer-written values decide, not more draws alone.
    coarse = judged is not None and not judged.empty and judged["status"].astype(str).eq(gof.TIES).any()
    remedy = "more draws, or values written to more digits, would decide" if coarse else "more draws would decide"
    return Decision("undecided", f"not shown within the tolerance on {words}, nor outside it; {remedy}", found)


def decide_on_draws(draws, *, judged: pd.DataFrame, div: DiversityResult | None,
                    bands: Callable[[np.ndarray], list[CriterionTest]], std: float, tolerance: Tolerance,
                    alpha: float, diverged: bool = False, shape: str = "normality",
                    cell_mass: Callable[[float], float] | None = None) -> tuple[Decision, pd.DataFrame]:
    """What a verdict does once its draws are judged, against a formula or a sample alike: name
    broken draws, take the within-draw sd, run the band tests (``bands`` of the finite (K, n)
    draws), then the decision list. ``cell_mass``: the target's largest probability in one
    interval of a given width (constant_draws_pvalue). Returns the decision and the band tests'
    table."""
    broken = None if div is not None and div.status == gof.OK else (div.status if div else gof.NOT_2D)
    tests, within_sd, by_chance = None, float("nan"), 0.0
    if broken is None or broken == gof.CONSTANT:
        x = np.asarray(draws, dtype=float)
        sds = x.std(axis=1, ddof=1)
        within_sd = float(np.median(sds))
        if (sds == 0).any():  # some draws constant, or all (diversity's status is then CONSTANT)
            broken = gof.CONSTANT
            p = constant_draws_pvalue(x, sds == 0, cell_mass)
            by_chance = p if p >= STUCK_CHANCE else 0.0
        if broken is None:
            tests = bands(x)
    decision = decide(criteria=tests, div=div, judged=judged, within_sd=within_sd, std=std,
                      tolerance=tolerance, alpha=alpha, diverged=diverged, broken=broken, shape=shape,
                      constant_by_chance=by_chance)
    table = pd.DataFrame([vars(t) for t in tests] if tests else [], columns=list(CRITERIA_COLUMNS))
    return decision, table


#: A constant draw makes a generator stuck unless chance makes that many constant draws with at
#: least this probability (constant_draws_pvalue): negligible, so rule 2 still spends no alpha.
STUCK_CHANCE = 1e-6


def constant_draws_pvalue(x: np.ndarray, constant: np.ndarray,
                          cell_mass: Callable[[float], float] | None = None) -> float:
    """P(at least as many constant draws as seen), were each of the K draws n values drawn
    independently from the values of the draws that are not constant.

    A continuous output never repeats a value within a draw, let alone n times, but rounded data
    do: three values of N(4, 1.25) written to 1 decimal are all equal with probability about
    6e-4 (sum over cells of p³), so about 6% of generators of 100 such draws hold one. Each
    draw is constant with probability q = sum over values v of C(m_v, n) / C(M, n) (m_v of the M
    other values equal v: drawing n of them without replacement, the unbiased estimate of
    sum p_v^n), so the count is Bin(K, q).

    The varying draws are not a fair sample where most draws are constant: they were picked for
    varying (exponential draws of scale 0.01 at one decimal are 0.0 but for a rare 0.1, and the
    draws holding a 0.1 gave q = 0: stuck). So the target says what chance gives as well
    (``cell_mass``: its largest probability in one interval of a given width): a perfect
    generator written at the data's resolution, cells no wider than the widest among the
    constant values, makes a draw constant with probability sum of p_j^n <= (largest p)^(n - 1),
    and the larger of the two p-values is returned. Every value of N(-0.02, 0.003) written to one
    decimal is -0.0 (q near 1: chance), while a float32 output stuck on one number has cells of
    2^-21 (q near 0: stuck). Without ``cell_mass`` and without varying draws, p = 1."""
    k, n = x.shape
    seen = int(constant.sum())
    by_target = 0.0
    if cell_mass is not None:
        q = cell_mass(float(repeats.value_cells(x)[0][constant].max())) ** (n - 1)
        by_target = float(stats.binom.sf(seen - 1, k, min(q, 1.0)))
    others = x[~constant].ravel()
    if others.size < n:
        return by_target if cell_mass is not None else 1.0   # no draw left to say what chance gives
    _, counts = np.unique(others, return_counts=True)
    counts = counts[counts >= n].astype(float)
    total = float(others.size)
    log_q = (special.gammaln(counts + 1) - special.gammaln(counts - n + 1)
             - special.gammaln(total + 1) + special.gammaln(total - n + 1))
    q = float(np.exp(log_q).sum())
    return max(by_target, float(stats.binom.sf(seen - 1, k, min(q, 1.0))))


def holm_levels(pvalues: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down: (rejected, the level each p-value was compared with, alpha / (m - i))."""
    m = pvalues.size
    order = np.argsort(pvalues, kind="stable")
    rejected = np.zeros(m, dtype=bool)
    level = np.empty(m)
    going = True
    for step, i in enumerate(order):
        level[i] = alpha / (m - step)
        going = going and bool(pvalues[i] < level[i])
        rejected[i] = going
    return rejected, level


def detected(judged: pd.DataFrame, alpha: float) -> bool:
    """Some judge() test rejected (Holm at alpha over its tested rows), or a row is broken."""
    if judged is None or judged.empty:
        return True
    status = judged["status"].astype(str)
    tested = status.eq("ok").to_numpy()
    pvalues = np.where(tested, judged["pvalue"].to_numpy(dtype=float), np.nan)
    _, rejected = holm(pvalues, alpha)
    return bool((rejected | (~tested & judged["reject"].astype(bool).to_numpy())).any())


def _shape_rejects(judged: pd.DataFrame, alpha: float) -> bool:
    rows = judged[(judged["group"] == SHAPE_GROUP) & (judged["status"] == "ok")]
    if rows.empty:
        return False
    _, rejected = holm(rows["pvalue"].to_numpy(dtype=float), SHAPE_GUARD_SHARE * alpha)
    return bool(rejected.any())


def _outside(c: CriterionTest, std: float) -> str:
    unit = {"mean": "mean error", "std": "sd error", "ks": "KS distance", "tail": "tail share"}[c.criterion]
    return (f"{unit} {c.estimate:.3g} shown outside the tolerance band [{c.band_low:.3g}, "
            f"{c.band_high:.3g}] (p = {c.p_outside:.3g})")


def describe(tolerance: Tolerance, alpha: float) -> str:
    """The decision list and its alpha budget in plain sentences, for a report's Methods."""
    return (
        f"Each generator is judged on all its noise draws, with the draw as the independent unit, "
        f"and gets the first of these outcomes that holds. diverged: its output holds non-finite "
        f"values. stuck: its output is nearly constant (median within-draw sd below "
        f"{STUCK_SD_SHARE:.0%} of the target sd). collapsed: the share of its output fixed across "
        f"draws is shown above {tolerance.collapse:g}. memorised: that share is shown above "
        f"{tolerance.fixed_share:g}, or values repeat across draws more than {tolerance.repeats:g} "
        f"times as often as the data's resolution gives by chance. off_target: its mean is shown "
        f"outside its band; or its sd, or its distance to the target, is shown outside its band "
        f"while no shape test shows that its shape differs from the target's. wrong_shape: a tail "
        f"share is shown outside its band; or its sd, or its distance to the target, is shown "
        f"outside its band while the shape tests show that its shape differs. on_target: every "
        f"band is shown within, each "
        f"by two one-sided tests at level {alpha:g}. undecided: neither within nor outside is "
        f"shown; more draws would decide. "
        f"The six tests that can show a departure share one budget of {alpha:g} (Holm), so a "
        f"generator inside every band is named a departure in at most {alpha:g} of cases; on_target "
        f"needs every band's test, so a generator outside some band is on target in at most "
        f"{alpha:g} of cases. A separate column says whether any single test detected a departure, "
        f"whatever the tolerance. {tolerance.describe()}")
