"""Main effects and two-way interactions for designs that cross factors.

Input: a tidy per-seed table with one column per factor, a block column (the seed), ``metric``
and ``value`` (0/1 for rate metrics, a number for the others). Output: one row per (metric, term)
with columns ``metric, term, estimate, ci_low, ci_high, pvalue, method`` (EFFECT_COLUMNS).

Coding (the same for both models). Each factor's first level is its reference (a pandas
Categorical's order, else the order of first appearance: the seed's level comes first in our
designs). Every other level l of factor a gets a *centred* indicator 1(a = l) - 1/L_a, named
``a[l]``; an interaction column is the product of two such columns, named ``a[l]:b[m]``. With
centred indicators in a crossed, balanced design:
- ``a[l]`` estimates level l against the reference, *averaged over the levels of the other
  factors* (a main effect, not a simple effect at the other factors' references);
- ``a[l]:b[m]`` is the difference of differences: how much the effect of a = l (vs reference)
  changes when b = m instead of b's reference.
Rates are on the log-odds scale, metrics in their own units (or in ranks with ``ranks=True``).

Seeds are shared across arms, so the seed enters as a fixed block effect (centred indicators,
not reported): it removes between-seed variation from the factor effects. A random effect
would need a mixed logistic model, which has no Firth penalty in statsmodels; with 20 seeds and
many cells per seed a fixed block loses little.

Rates: logistic regression with Firth's penalised likelihood (Firth 1993; Heinze & Schemper
2002), implemented below with numpy. Most cells of a GAN ablation are 0/20 or 20/20, where the
plain maximum-likelihood estimate is infinite; Firth's estimate is finite and, in a 2x2 table, is
the log odds ratio with 1/2 added to every cell. Intervals and p-values are Wald's, from the
inverse information at the penalised estimate (method ``firth-wald``). Profile penalised
likelihood intervals are better under separation (Heinze & Schemper); Wald's are symmetric and
tend to be wide there, so a separated term rarely gets a small p-value it should not have.

Metrics: ordinary least squares (statsmodels OLS) with t intervals (method ``ols-seed-block``);
``ranks=True`` fits the same model to the metric's ranks over all rows (``ols-ranks-seed-block``),
robust to the heavy tails of diverged seeds (which may be +inf there). Rank-transformed
interactions are known to be unreliable when main effects are large (Conover & Iman's rank
transform); read them as descriptive.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["EFFECT_COLUMNS", "FirthFit", "firth_logistic", "factorial_design", "effects"]

EFFECT_COLUMNS = ["metric", "term", "estimate", "ci_low", "ci_high", "pvalue", "method"]


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


def firth_logistic(X, y, *, penalise: bool = True, max_iter: int = 200,
                   tol: float = 1e-9) -> FirthFit:
    """Logistic regression of 0/1 ``y`` on the columns of ``X`` (include an intercept column).

    Penalised Newton-Raphson (Heinze & Schemper 2002, eq. 2): the score is modified to
    U*(b) = X'(y - p + h (1/2 - p)), h the diagonal of the hat matrix W^1/2 X I^-1 X' W^1/2, and
    each step I^-1 U* is halved until the penalised log-likelihood l(b) + log|I(b)|/2 does not
    fall. ``penalise=False`` gives the plain maximum-likelihood fit (for cross-checks)."""
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
    beta = np.zeros(X.shape[1])
    loglik, p, information = _penalised_loglik(X, y, beta, penalise)
    converged, iteration = False, 0
    for iteration in range(1, max_iter + 1):
        inverse = np.linalg.inv(information)
        residual = y - p
        if penalise:
            w = p * (1 - p)
            hat = np.einsum("ij,jk,ik->i", X, inverse, X) * w
            residual = residual + hat * (0.5 - p)
        step = inverse @ (X.T @ residual)
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
    """The model matrix: intercept, centred indicators of every factor's non-reference levels,
    their pairwise products (two-way interactions) and, with ``block``, centred block indicators.

    Returns (X, column names, number of reported columns): the first column is the intercept,
    the next ones are the factor terms to report, the block columns come last. A factor with a
    single level contributes nothing."""
    main = {factor: _centred_indicators(table[factor], factor) for factor in factors}
    columns: dict[str, np.ndarray] = {"(intercept)": np.ones(len(table))}
    for factor in factors:
        columns.update(main[factor])
    for a, b in itertools.combinations(factors, 2):
        for (name_a, col_a), (name_b, col_b) in itertools.product(main[a].items(), main[b].items()):
            columns[f"{name_a}:{name_b}"] = col_a * col_b
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


def _rows(metric: str, names, estimate, low, high, pvalue, method: str) -> list[dict]:
    return [{"metric": metric, "term": name, "estimate": float(e), "ci_low": float(lo),
             "ci_high": float(hi), "pvalue": float(p), "method": method}
            for name, e, lo, hi, p in zip(names, estimate, low, high, pvalue)]


def _rate_effects(group: pd.DataFrame, factors, block, confidence) -> list[dict]:
    X, names, reported = factorial_design(group, factors, block=block)
    fit = firth_logistic(X, group["value"].to_numpy(dtype=float))
    if not fit.converged:
        raise ValueError(f"metric {group['metric'].iloc[0]!r}: Firth's logistic fit did not "
                         f"converge in {fit.iterations} iterations")
    se = np.sqrt(np.diag(fit.cov))[1:reported]
    estimate = fit.coef[1:reported]
    z = stats.norm.ppf(0.5 + confidence / 2)
    pvalue = 2 * stats.norm.sf(np.abs(estimate / se))
    return _rows(group["metric"].iloc[0], names[1:reported], estimate, estimate - z * se,
                 estimate + z * se, pvalue, "firth-wald")


def _metric_effects(group: pd.DataFrame, factors, block, confidence, ranks: bool) -> list[dict]:
    import statsmodels.api as sm   # lazy: statsmodels' import is slow

    values = group["value"].to_numpy(dtype=float)
    metric = group["metric"].iloc[0]
    if np.isnan(values).any() or (not ranks and not np.isfinite(values).all()):
        raise ValueError(f"metric {metric!r} has non-finite values; give diverged seeds a finite "
                         "worst value, or use ranks=True (which ranks +inf last)")
    if ranks:
        values = stats.rankdata(values)
    X, names, reported = factorial_design(group, factors, block=block)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(f"metric {metric!r}: the design has aliased terms (empty cells?)")
    fit = sm.OLS(values, X).fit()
    interval = fit.conf_int(alpha=1 - confidence)[1:reported]
    method = "ols-ranks-seed-block" if ranks else "ols-seed-block"
    if block is None:
        method = method.replace("-seed-block", "")
    return _rows(metric, names[1:reported], fit.params[1:reported], interval[:, 0],
                 interval[:, 1], fit.pvalues[1:reported], method)


def effects(table: pd.DataFrame, factors: Sequence[str], *, rate_metrics: Sequence[str] = (),
            block: str | None = "seed", ranks: bool = False,
            confidence: float = 0.95) -> pd.DataFrame:
    """Main effects and two-way interactions of ``factors``, per metric of ``table``.

    Metrics named in ``rate_metrics`` are 0/1 per seed and get Firth's logistic model; every
    other metric gets OLS (on ranks with ``ranks=True``). See the module docstring for the coding
    and the intervals. Returns EFFECT_COLUMNS, sorted by metric then term order."""
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
