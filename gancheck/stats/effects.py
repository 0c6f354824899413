"""Main effects and interactions (two-way, and three-way where three or more factors are
crossed) for designs that cross factors, any number of them.

Input: a tidy per-seed table with one column per factor, a block column (the seed), ``metric``
and ``value`` (0/1 for rate metrics, a number for the others). Output: one row per (metric, term)
with columns EFFECT_COLUMNS: ``metric, term, estimate, ci_low, ci_high, pvalue, method, units,
converged``.

Coding. Each factor's first level is its reference (a pandas Categorical's order, else the order
of first appearance: the seed's level comes first in our designs). Every other level l of factor
a gets a *centred* indicator 1(a = l) - 1/L_a, named ``a[l]``; an interaction column is the
product of two or three such columns, named ``a[l]:b[m]`` or ``a[l]:b[m]:c[n]``. With centred
indicators in a crossed, balanced design:
- ``a[l]`` estimates level l against the reference, *averaged over the levels of the other
  factors* (a main effect, not a simple effect at the other factors' references);
- ``a[l]:b[m]`` is the difference of differences: how much the effect of a = l (vs reference)
  changes when b = m instead of b's reference, averaged over the other factors;
- ``a[l]:b[m]:c[n]`` is how much that two-way interaction changes with c = n. Where the only
  successes are in one cell of a 2x2x2 design, this is the term that carries them.

Order. The model is always the full factorial one: every product of up to all k factors'
columns, so a k-factor crossing has one parameter per cell. Terms of up to MAX_ORDER factors
are reported; higher-order ones (the four-way terms of the factorial design's 2^4 or 6x5x4x2
crossing) are estimated but not reported, since no one reads a difference of differences of
differences of differences. They are not pooled: a rate's contrasts are those of the saturated
model, and a metric's residual is the seeds' own variation within cells, not a high-order
interaction taken for noise. In a full crossing with the same seeds in every cell, each term's
columns are orthogonal to every other term's (over the cells, the sum of a product of centred
columns factorises, and a centred column sums to 0), so a reported term's estimate is the same
whether or not the higher-order terms are in the model; only its error term would differ. The
cells must form a full crossing (every combination of levels run): with a combination missing,
some term is aliased with others and no contrast is defined, which is an error.

Rates (``units``: rate difference). Each term is a contrast of the cells' rates: the same
centred coding fitted to the cell rates (the coefficient of a saturated linear model on the
probability scale), so a main effect is an average difference of rates, an interaction a
difference of differences, and the three-way term a difference of those. Its interval is MOVER
(Zou & Donner 2008: the method of variance estimates recovery) built from each cell's Wilson
interval: for L = sum c_j p_j, the lower bound is L - sqrt(sum over c_j > 0 of c_j^2 (p_j - l_j)^2
+ sum over c_j < 0 of c_j^2 (u_j - p_j)^2), the upper bound alike. For two cells this is
Newcombe's hybrid score interval, the one comparisons.csv uses. The p-value inverts the
interval (the largest level at which it still excludes 0), so test and interval agree; where
it excludes 0 at every level (a very strong effect), p comes from Price & Bonett's adjusted
Wald statistic instead (`_adjusted_wald_pvalue`). Most
cells of a GAN ablation are 0/20 or 20/20, where a logistic model's estimate is infinite
(separation) and a log-odds contrast of zero-rate cells is undefined; Wilson's interval at 0/20
is [0, 0.16], so every term stays finite. The cells are treated as independent samples: the
analysis is marginal over seeds. Every seed runs every cell, so each term is a within-seed
contrast, whose variance a positive seed correlation can only shrink; the intervals err on the
wide side. (A fixed seed block in a logit, 20 nuisance parameters each estimated from 8
outcomes, would bias it: the incidental-parameter problem.) Method ``rate-mover-wilson``.

`firth_logistic` and `profile_interval` give the log-odds view for callers who want it:
Firth's penalised likelihood (Firth 1993; Heinze & Schemper 2002) is finite under separation,
and profile penalised-likelihood intervals and likelihood-ratio tests are the ones to use there.

Metrics (``units``: the metric's units, or ranks). Ordinary least squares with the seed as a
block (method ``ols-seed-block``): in a linear model a within-seed estimator has no such bias,
and it removes between-seed variation. ``ranks=True`` fits the same model to the metric's ranks
over all rows (``ols-ranks-seed-block``; rank 1 is the best value), robust to the heavy tails of
failed seeds (+inf there). Rank-transformed interactions are unreliable when main effects are
large (Conover & Iman's rank transform); read them as descriptive.

A fit that does not converge is marked ``converged`` False, with no estimate, interval or p.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["EFFECT_COLUMNS", "FirthFit", "firth_logistic", "profile_interval", "factorial_design",
           "effects"]

EFFECT_COLUMNS = ["metric", "term", "estimate", "ci_low", "ci_high", "pvalue", "method", "units",
                  "converged"]
#: Terms of up to this many factors are reported; higher-order ones are fitted, not reported
#: (module docstring, "Order").
MAX_ORDER = 3


# ---------------------------------------------------------------------------- Firth's logistic

@dataclass(frozen=True)
class FirthFit:
    """coef: estimates; cov: inverse Fisher information at coef; loglik: the (penalised, when
    penalised) log-likelihood; converged; iterations."""
    coef: np.ndarray
    cov: np.ndarray
    loglik: float
    converged: bool
    iterations: int


def _penalised_loglik(X, y, beta, penalise: bool) -> tuple[float, np.ndarray, np.ndarray]:
    eta = X @ beta
    p = 1 / (1 + np.exp(-eta))
    # log-likelihood written with logaddexp so |eta| of hundreds does not overflow.
    loglik = float(np.sum(y * eta - np.logaddexp(0, eta)))
    w = p * (1 - p)
    information = X.T @ (X * w[:, None])
    if penalise:
        sign, logdet = np.linalg.slogdet(information)
        loglik += 0.5 * logdet if sign > 0 else -np.inf
    return loglik, p, information


def firth_logistic(X, y, *, penalise: bool = True, max_iter: int = 200, tol: float = 1e-9,
                   fixed: tuple[int, float] | None = None) -> FirthFit:
    """Logistic regression of 0/1 ``y`` on the columns of ``X`` (include an intercept column).

    Penalised Newton-Raphson (Heinze & Schemper 2002, eq. 2): the score is modified to
    U*(b) = X'(y - p + h (1/2 - p)), h the diagonal of the hat matrix W^1/2 X I^-1 X' W^1/2, and
    each step I^-1 U* is halved until the penalised log-likelihood l(b) + log|I(b)|/2 does not
    fall. ``penalise=False`` gives the plain maximum-likelihood fit (for cross-checks).
    ``fixed=(j, value)`` holds coefficient j at value and maximises over the others (the
    profile likelihood; the penalty and h stay those of the full model, as in logistf)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    if X.ndim != 2 or X.shape[0] != y.size:
        raise ValueError(f"X must be 2-D with one row per outcome, got shape {X.shape} for "
                         f"{y.size} outcomes")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y must hold only 0 and 1 outcomes")
    if not np.isfinite(X).all():
        raise ValueError("X has non-finite values")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(f"X has rank {np.linalg.matrix_rank(X)} < {X.shape[1]} columns: some "
                         "terms cannot be estimated (aliased or empty cells)")
    free = np.ones(X.shape[1], dtype=bool)
    beta = np.zeros(X.shape[1])
    if fixed is not None:
        free[fixed[0]] = False
        beta[fixed[0]] = fixed[1]
    loglik, p, information = _penalised_loglik(X, y, beta, penalise)
    converged, iteration = False, 0
    for iteration in range(1, max_iter + 1):
        inverse = np.linalg.inv(information)
        residual = y - p
        if penalise:
            w = p * (1 - p)
            hat = np.einsum("ij,jk,ik->i", X, inverse, X) * w
            residual = residual + hat * (0.5 - p)
        step = np.zeros_like(beta)
        sub = information[np.ix_(free, free)]
        step[free] = np.linalg.solve(sub, X[:, free].T @ residual)
        for _ in range(60):   # step halving keeps every iterate an ascent of the objective
            candidate = beta + step
            new_loglik, new_p, new_information = _penalised_loglik(X, y, candidate, penalise)
            if new_loglik >= loglik - 1e-12:
                break
            step = step / 2
        beta, loglik, p, information = candidate, new_loglik, new_p, new_information
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    return FirthFit(beta, np.linalg.inv(information), float(loglik), converged, iteration)


def profile_interval(X, y, fit: FirthFit, j: int, *, confidence: float = 0.95,
                     ) -> tuple[float, float, float, bool]:
    """(ci_low, ci_high, pvalue, converged) for coefficient j: the profile penalised-likelihood
    interval {b : 2 (l*(fit) - max l* with beta_j = b) <= chi2_1(confidence)} and the penalised
    likelihood-ratio test of beta_j = 0 (Heinze & Schemper 2002)."""
    from scipy import optimize
    cut = stats.chi2.ppf(confidence, 1)
    ok = [True]

    def deviance(value: float) -> float:
        profile = firth_logistic(X, y, fixed=(j, value))
        ok[0] &= profile.converged
        return 2 * (fit.loglik - profile.loglik)

    bounds = []
    for direction in (-1.0, 1.0):
        width = 1.0
        while deviance(fit.coef[j] + direction * width) < cut:
            width *= 2
            if width > 1e3:   # the penalised likelihood always falls off; this is a guard
                ok[0] = False
                break
        edge = fit.coef[j] + direction * width
        bounds.append(optimize.brentq(lambda b: deviance(b) - cut, *sorted((fit.coef[j], edge)),
                                      xtol=1e-8) if ok[0] else np.nan)
    statistic = max(0.0, deviance(0.0))
    return bounds[0], bounds[1], float(stats.chi2.sf(statistic, 1)), ok[0]


# ---------------------------------------------------------------------------- design

def _levels(column: pd.Series) -> list:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return [level for level in column.cat.categories if (column == level).any()]
    return list(pd.unique(column))


def _centred_indicators(column: pd.Series, name: str) -> dict[str, np.ndarray]:
    levels = _levels(column)
    return {f"{name}[{level}]": (column == level).to_numpy(dtype=float) - 1 / len(levels)
            for level in levels[1:]}


def factorial_design(table: pd.DataFrame, factors: Sequence[str], *,
                     block: str | None = "seed") -> tuple[np.ndarray, list[str], int]:
    """The full factorial model matrix: intercept, centred indicators of every factor's
    non-reference levels, their products over every subset of two or more factors, and, with
    ``block``, centred block indicators.

    Returns (X, column names, number of reported columns): the first column is the intercept,
    the next ones are the terms of up to MAX_ORDER factors (the ones to report), then the
    higher-order terms, and the block columns come last. A factor with a single level
    contributes nothing."""
    main = {factor: _centred_indicators(table[factor], factor) for factor in factors}
    columns: dict[str, np.ndarray] = {"(intercept)": np.ones(len(table))}
    reported = 1
    for order in range(1, len(factors) + 1):
        for group in itertools.combinations(factors, order):
            for parts in itertools.product(*(main[f].items() for f in group)):
                columns[":".join(name for name, _ in parts)] = np.prod([c for _, c in parts], axis=0)
        if order <= MAX_ORDER:
            reported = len(columns)
    if block is not None:
        columns.update({f"{block}={key}": value for key, value in
                        _centred_indicators(table[block], block).items()})
    return np.column_stack(list(columns.values())), list(columns), reported


# ---------------------------------------------------------------------------- effects

def _check_table(table, factors, block) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    if isinstance(factors, str) or not factors:
        raise ValueError(f"factors must be a non-empty list of column names, got {factors!r}")
    needed = [*factors, "metric", "value"] + ([block] if block is not None else [])
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"table is missing columns {missing}; it has {list(table.columns)}")


def _rows(metric: str, names, estimate, low, high, pvalue, method: str, units: str,
          converged) -> list[dict]:
    converged = np.broadcast_to(np.asarray(converged, dtype=bool), (len(names),))
    return [{"metric": metric, "term": name, "estimate": float(e) if ok else np.nan,
             "ci_low": float(lo) if ok else np.nan, "ci_high": float(hi) if ok else np.nan,
             "pvalue": float(p) if ok else np.nan, "method": method, "units": units,
             "converged": bool(ok)}
            for name, e, lo, hi, p, ok in zip(names, estimate, low, high, pvalue, converged)]


def _check_crossing(table: pd.DataFrame, factors, what: str) -> None:
    """Every combination of the factors' levels must occur in ``table`` (module docstring,
    "Order"); ``what`` names the table in the error."""
    cells = table[list(factors)].drop_duplicates()
    expected = int(np.prod([len(_levels(table[f])) for f in factors]))
    if len(cells) < expected:
        present = set(map(tuple, cells.astype(object).to_numpy()))
        missing = next(combo for combo in itertools.product(*(_levels(table[f]) for f in factors))
                       if combo not in present)
        example = ", ".join(f"{f}={level}" for f, level in zip(factors, missing))
        raise ValueError(f"factors {list(factors)}: the cells do not form a full crossing in {what} "
                         f"({len(cells)} of {expected} combinations of levels; none with {example})")


def _cell_contrasts(group: pd.DataFrame, factors):
    """(cell keys, contrast matrix C, term names): row t of C gives reported term t's weights on
    the cell rates (the centred coding of the saturated model fitted to one row per cell)."""
    _check_crossing(group, factors, f"metric {group['metric'].iloc[0]!r}")
    cells = group[list(factors)].drop_duplicates().reset_index(drop=True)
    X, names, reported = factorial_design(cells, factors, block=None)
    # square (one parameter per cell) and invertible in a full crossing
    return cells, np.linalg.inv(X)[1:reported], names[1:reported]


def mover_interval(weights, rates, lows, highs) -> tuple[float, float]:
    """MOVER interval of sum(weights * rates) from each rate's interval (module docstring)."""
    weights, rates, lows, highs = (np.asarray(v, dtype=float) for v in (weights, rates, lows, highs))
    estimate = float(weights @ rates)
    plus, minus = weights > 0, weights < 0
    down = np.sqrt(np.sum((weights[plus] * (rates[plus] - lows[plus])) ** 2)
                   + np.sum((weights[minus] * (highs[minus] - rates[minus])) ** 2))
    up = np.sqrt(np.sum((weights[plus] * (highs[plus] - rates[plus])) ** 2)
                 + np.sum((weights[minus] * (rates[minus] - lows[minus])) ** 2))
    return estimate - down, estimate + up


def _adjusted_wald_pvalue(weights, hits, n) -> float:
    """Two-sided p of the contrast from Price & Bonett's (2004) adjusted Wald statistic: 2/m
    successes and 4/m trials added to each of the m cells the contrast uses. Used only where the
    MOVER interval excludes 0 at every level (its half-width is bounded, since each Wilson bound
    stays in [0, 1]), so the inverted p would be 0; this p is then far below any level used."""
    used = weights != 0
    m = int(used.sum())
    rate = (hits + 2 / m) / (n + 4 / m)
    variance = float(np.sum(weights[used] ** 2 * rate[used] * (1 - rate[used]) / (n[used] + 4 / m)))
    return float(2 * stats.norm.sf(abs(weights @ rate) / np.sqrt(variance)))


def _rate_effects(group: pd.DataFrame, factors, block, confidence) -> list[dict]:
    from gancheck.stats.aggregate import wilson_interval
    from scipy import optimize
    measured = group["value"].notna()   # NaN: not measured (a flag a diverged seed never got)
    if not group.loc[measured, "value"].isin((0, 1)).all():
        raise ValueError(f"metric {group['metric'].iloc[0]!r}: a rate must hold only 0 and 1 "
                         "outcomes")
    cells, contrasts, names = _cell_contrasts(group, factors)
    group = group[measured]
    keyed = group.groupby(list(factors), sort=False, observed=True)["value"].agg(["sum", "count"])
    index = pd.MultiIndex.from_frame(cells) if len(factors) > 1 else pd.Index(cells[factors[0]])
    counts = keyed.reindex(index, fill_value=0)
    hits, n = counts["sum"].to_numpy(dtype=float), counts["count"].to_numpy(dtype=float)
    if (n == 0).any():   # a cell with nothing measured: no contrast is estimable
        nothing = [np.nan] * len(names)
        return _rows(group["metric"].iloc[0], names, nothing, nothing, nothing, nothing,
                     "rate-mover-wilson", "rate difference", False)
    rates = hits / n

    def interval(weights, level):
        low, high = wilson_interval(hits, n, confidence=level)
        return mover_interval(weights, rates, low, high)

    rows = {"estimate": [], "low": [], "high": [], "pvalue": []}
    for weights in contrasts:
        low, high = interval(weights, confidence)

        def margin(level, weights=weights):
            lo, hi = interval(weights, level)
            return lo if weights @ rates > 0 else -hi   # > 0 while the interval excludes 0
        estimate = float(weights @ rates)
        if estimate == 0 or margin(1e-9) <= 0:
            pvalue = 1.0
        elif margin(1 - 1e-12) > 0:
            pvalue = _adjusted_wald_pvalue(weights, hits, n)
        else:
            pvalue = 1 - optimize.brentq(margin, 1e-9, 1 - 1e-12, xtol=1e-12)
        rows["estimate"].append(estimate)
        rows["low"].append(low)
        rows["high"].append(high)
        rows["pvalue"].append(pvalue)
    return _rows(group["metric"].iloc[0], names, rows["estimate"], rows["low"], rows["high"],
                 rows["pvalue"], "rate-mover-wilson", "rate difference", True)


def _metric_effects(group: pd.DataFrame, factors, block, confidence, ranks: bool) -> list[dict]:
    import statsmodels.api as sm   # lazy: statsmodels' import is slow

    values = group["value"].to_numpy(dtype=float)
    metric = group["metric"].iloc[0]
    if np.isnan(values).any() or (not ranks and not np.isfinite(values).all()):
        raise ValueError(f"metric {metric!r} has non-finite values; give diverged seeds a finite "
                         "worst value, or use ranks=True (which ranks +inf last)")
    if ranks:
        values = stats.rankdata(values)
    _check_crossing(group, factors, f"metric {metric!r}")
    X, names, reported = factorial_design(group, factors, block=block)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(f"metric {metric!r}: the design has aliased terms (empty cells?)")
    method = "ols-ranks-seed-block" if ranks else "ols-seed-block"
    if block is None:
        method = method.replace("-seed-block", "")
    units = f"ranks of {metric} over all seeds (1 = best)" if ranks else f"{metric} units"
    if X.shape[0] <= X.shape[1]:
        # No residual df (one seed a cell): exact contrasts; no interval or p (statsmodels would divide by 0).
        estimate = np.linalg.lstsq(X, values, rcond=None)[0][1:reported]
        nan = np.full(estimate.size, np.nan)
        return _rows(metric, names[1:reported], estimate, nan, nan, nan, method, units, True)
    fit = sm.OLS(values, X).fit()
    interval = fit.conf_int(alpha=1 - confidence)[1:reported]
    converged = bool(np.isfinite(fit.params).all() and np.isfinite(fit.bse[1:reported]).all())
    return _rows(metric, names[1:reported], fit.params[1:reported], interval[:, 0],
                 interval[:, 1], fit.pvalues[1:reported], method, units, converged)


def effects(table: pd.DataFrame, factors: Sequence[str], *, rate_metrics: Sequence[str] = (),
            block: str | None = "seed", ranks: bool = False,
            confidence: float = 0.95) -> pd.DataFrame:
    """Main effects and interactions (up to MAX_ORDER factors) of ``factors``, per metric.

    Metrics named in ``rate_metrics`` are 0/1 per seed and get contrasts of the cell rates with
    MOVER intervals; every other metric gets OLS (on ranks with ``ranks=True``). Either way the
    model is the full factorial one, so ``factors`` must form a full crossing (ValueError
    otherwise). See the module docstring for the coding, the order and the intervals. Returns
    EFFECT_COLUMNS, sorted by metric then term order."""
    _check_table(table, factors, block)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    unknown = set(rate_metrics) - set(table["metric"])
    if unknown:
        raise ValueError(f"rate_metrics {sorted(unknown)} are not metrics of table")
    rows: list[dict] = []
    for metric, group in table.groupby("metric", sort=True):
        if metric in rate_metrics:
            rows += _rate_effects(group, factors, block, confidence)
        else:
            rows += _metric_effects(group, factors, block, confidence, ranks)
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)
