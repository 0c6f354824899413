"""The comparison table's smallest detectable effect (sign and scale), the equivalence table of a
run (no TOST grid of dashes) and the "What matters" line of the transfer design (one factor at a
time)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gancheck.report import tables_comparisons
from gancheck.report.data import ReportInput
from gancheck.report.render import page
from gancheck.report.tables_comparisons import comparison_rows, detectable, equivalence_rows, mde_summary
from gancheck.report.verdict import changed_factors, verdict
from gancheck.stats.outcomes import outcome_table

SEEDS = 20


# ------------------------------------------------------------------ smallest detectable effect

def _rates(base_hits: int, metric: str = "rate:on_target") -> pd.DataFrame:
    """The baseline's per-seed 0/1 rates: ``base_hits`` of SEEDS seeds are 1."""
    return pd.DataFrame({"arm": "baseline", "seed": range(SEEDS), "metric": metric,
                         "value": [1.0] * base_hits + [0.0] * (SEEDS - base_hits)})


def _row(mde: float, test: str = "boschloo", metric: str = "rate:on_target") -> dict:
    return {"arm": "arm", "metric": metric, "test": test, "mde": mde,
            "mde_scale": {"boschloo": "rate difference", "sign": "P(arm better on a seed)"}[test]}


def test_every_mde_scale_has_words():
    # One formatter per test whose mde compare_to_baseline computes (its MDE_SCALES).
    from gancheck.stats.comparisons import MDE_SCALES
    assert set(tables_comparisons._DETECTABLE) == set(MDE_SCALES)


def test_a_detectable_change_that_cannot_be_a_rise_is_shown_as_a_drop():
    # The fix report: baseline 17 of 20 = 0.85, mde 0.53 (its comparisons.csv). 0.85 + 0.53 =
    # 1.38 is no rate, so the change is a drop, to 0.85 - 0.53 = 0.32.
    shown = detectable(_row(0.53), {"rate:on_target": 0.85})
    assert shown.cell == "−0.53 (0.85 → 0.32)"
    assert shown.sentence.startswith("0.53, a drop from the baseline's 0.85 to 0.32")
    # The transfer report: baseline 18 of 20 = 0.90, mde 0.51; 0.90 - 0.51 = 0.39.
    assert detectable(_row(0.51), {"rate:on_target": 0.90}).cell == "−0.51 (0.90 → 0.39)"


def test_a_detectable_change_that_cannot_be_a_drop_is_shown_as_a_rise():
    # Baseline 0 of 20: 0 - 0.52 is no rate, so 0.52 is a rise, to 0 + 0.52 = 0.52.
    assert detectable(_row(0.52), {"rate:on_target": 0.0}).cell == "+0.52 (0.00 → 0.52)"


def test_a_change_possible_both_ways_is_shown_as_plus_or_minus():
    # Baseline 0.50, mde 0.40: both 0.10 and 0.90 are rates; the mde is the nearer side that
    # reaches the power (gancheck.stats.power.detectable_rate_difference), so "±".
    assert detectable(_row(0.40), {"rate:on_target": 0.5}).cell == "±0.40 (0.50 → 0.10 or 0.90)"


def test_a_change_no_rate_allows_or_no_baseline_rate_gets_no_direction():
    # 0.15 + 0.86 > 1 and 0.15 - 0.86 < 0; without the baseline's rate the sign is unknown.
    assert detectable(_row(0.86), {"rate:on_target": 0.15}).cell == "0.86"
    assert detectable(_row(0.53), {}).cell == "0.53"


@given(base=st.integers(0, SEEDS), gap=st.integers(1, 100))
def test_a_rate_s_detectable_change_always_lands_on_a_rate(base, gap):
    # Invariant: any end point the cell names is in [0, 1] (a rate), whatever the baseline; a
    # gap that no rate allows (0.86 from 0.15) gets no direction.
    base, gap = base / SEEDS, gap / 100
    cell = detectable(_row(gap), {"rate:on_target": base}).cell
    ends = cell.split("→ ")[1].rstrip(")").split(" or ") if "→" in cell else []
    assert all(0 <= float(e) <= 1 for e in ends)
    assert not (cell.startswith("+") and base + gap > 1 + 1e-9)
    assert not (cell.startswith("−") and base - gap < -1e-9)


def test_a_metric_s_detectable_effect_is_on_the_probability_scale():
    # comparisons.csv's mde_scale for the sign test is P(arm better on a seed); the two-sided
    # sign test detects q and 1 - q alike (gancheck.stats.power.detectable_sign_probability), so
    # 0.925 reads as >= 0.925 or <= 1 - 0.925 = 0.075, never as a signed metric difference.
    shown = detectable(_row(0.925, "sign", "ks_statistic"), {})
    assert shown.cell == "P(better) ≥ 0.925 or ≤ 0.075"
    assert "sign test" in shown.sentence and not shown.cell.startswith("+")


def _comparisons(rows: list[dict]) -> pd.DataFrame:
    base = {"baseline": "baseline", "n": SEEDS, "n_baseline": SEEDS, "difference": -0.85,
            "ci_low": -0.95, "ci_high": -0.58, "pvalue": 1e-5, "pvalue_holm": 6e-5,
            "reject_holm": True, "family": "primary", "prob_improvement": 0.08,
            "prob_improvement_low": 0.03, "prob_improvement_high": 0.21}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_the_table_and_methods_show_the_drop(report_input):
    comparisons = _comparisons([_row(0.53), _row(0.925, "sign", "ks_statistic")])
    data = dataclasses.replace(report_input, comparisons=comparisons, rates=_rates(17))
    cells = {r["metric"]: r["mde"] for r in comparison_rows(data)["rows"]}
    # Baseline 17/20 = 0.85 (the rates above); 0.85 - 0.53 = 0.32.
    assert cells["on-target rate"] == "−0.53 (0.85 → 0.32)"
    assert cells["KS statistic D"] == "P(better) ≥ 0.925 or ≤ 0.075"
    lines = mde_summary(data)
    assert lines[0] == ("on-target rate: 0.53, a drop from the baseline's 0.85 to 0.32 (a rise that "
                        "large is impossible)")
    assert lines[1].startswith("KS statistic D: P(a seed of the arm beats the same seed")


# ------------------------------------------------------------------------------- equivalence

def test_a_run_s_share_table_gets_no_tost_grid(report_input):
    # A run's equivalence.csv (gancheck.runs.verdicts.equivalence): shares, no margin or TOST p.
    share = pd.DataFrame({"arm": ["baseline", "features=raw"], "n": [12, 12], "count": [3, 0],
                          "share": [0.25, 0.0], "ci_low": [0.09, 0.0], "ci_high": [0.53, 0.24],
                          "interval": "Wilson 95%"})
    data = dataclasses.replace(report_input, equivalence=share)
    assert equivalence_rows(data) == []
    assert 'id="equivalence"' not in page(data)


def test_a_tost_table_shows_its_margin_and_p(report_input):
    # The fixture's equivalence rows are TOST rows with margin 0.1 (conftest.MARGINS).
    rows = equivalence_rows(report_input)
    assert rows and all(r["margin"] == "± 0.100" and r["p"] != tables_comparisons.MISSING for r in rows)


# -------------------------------------------------------------- "What matters", transfer design

@pytest.fixture(scope="module")
def transfer_arms() -> pd.DataFrame:
    """The transfer design's arms as a run records them (experiments.designs.transfer_arms)."""
    from experiments.designs import build_design
    rows = pd.DataFrame(build_design(design="transfer", preset="quick").arm_rows())
    return rows.assign(is_baseline=rows["is_baseline"].astype(bool))


#: On-target seeds of 20 per arm, as in the published transfer run (its outcomes.csv).
ON_TARGET = {"fix": 18, "seed config": 0, "fix on bimodal": 0, "seed config on bimodal": 0,
             "fix on skewed": 13, "seed config on skewed": 0, "fix on heavy_tailed": 6,
             "seed config on heavy_tailed": 0}


def _transfer_input(arms: pd.DataFrame, significant: set[str]) -> ReportInput:
    members = pd.DataFrame([{"arm": arm, "seed": s, "outcome": "on_target" if s < hits else "off_target"}
                            for arm, hits in ON_TARGET.items() for s in range(SEEDS)])
    primary = pd.DataFrame([{"arm": arm, "metric": "rate:on_target", "family": "primary",
                             "test": "boschloo", "difference": (hits - ON_TARGET["fix"]) / SEEDS,
                             "ci_low": -1.0, "ci_high": 1.0, "pvalue": 1e-6 if arm in significant else 0.5,
                             "pvalue_holm": 1e-5 if arm in significant else 1.0,
                             "reject_holm": arm in significant}
                            for arm, hits in ON_TARGET.items() if arm != "fix"])
    empty = pd.DataFrame()
    return ReportInput(arms=arms, members=members, scores=empty, samples=empty, history=empty,
                       pass_rates=empty, collapse_rates=empty, metric_summary=empty,
                       comparisons=primary, settling=empty, outcomes=outcome_table(members))


def _necessary(data: ReportInput) -> str:
    return {line["key"]: line["text"] for line in verdict(data, "a tolerance")["lines"]}["necessary"]


def test_the_transfer_design_s_arms_change_one_or_two_factors(transfer_arms):
    data = _transfer_input(transfer_arms, set())
    # experiments.designs names what each arm changes from the fix on N(4, 1.25), joined by "+".
    assert changed_factors(data, "seed config") == ["config"]
    assert changed_factors(data, "fix on bimodal") == ["target"]
    assert changed_factors(data, "seed config on bimodal") == ["config", "target"]


def test_what_matters_reads_only_arms_that_change_one_factor(transfer_arms):
    # The published transfer run: every seed-config arm and the fix on bimodal and on
    # heavy_tailed differ after Holm (its comparisons.csv).
    significant = {"seed config", "seed config on bimodal", "seed config on skewed",
                   "seed config on heavy_tailed", "fix on bimodal", "fix on heavy_tailed"}
    text = _necessary(_transfer_input(transfer_arms, significant))
    necessary, several = text.split(" Arms that change several factors at once")
    # 0/20 - 18/20 = -0.90: the seed config on the fix's own target is the one-factor evidence.
    assert "“seed config” (−0.90" in necessary
    for arm in ("seed config on bimodal", "seed config on skewed", "seed config on heavy_tailed"):
        assert f"“{arm}”" not in necessary and f"“{arm}” (config and target: −0.90" in several
    # The fix on other targets is said by the transfer line, not here.
    assert "“fix on bimodal”" not in text


def test_several_factor_arms_alone_show_no_part_necessary(transfer_arms):
    text = _necessary(_transfer_input(transfer_arms, {"seed config on bimodal"}))
    assert text.startswith("No arm that changes one factor has an on-target rate that differs")
    assert "“seed config on bimodal” (config and target" in text
    assert "necessary wherever" not in text


def test_one_factor_designs_read_as_before(report_input):
    # The fixture's arms each change one factor: every Holm-significant primary row is read.
    comparisons = report_input.comparisons.assign(
        family=np.where(report_input.comparisons["metric"] == "rate:on_target", "primary", "secondary"),
        reject_holm=report_input.comparisons["metric"] == "rate:on_target")
    text = _necessary(dataclasses.replace(report_input, comparisons=comparisons))
    assert "several factors" not in text and "(Holm over" in text


# ------------------------------------------------------------------ per-seed metrics, defined

def test_every_metric_on_the_page_is_defined(report_input):
    from gancheck.report.tables import metric_summary
    shown = metric_summary(report_input)
    assert len(shown["definitions"]) == len(shown["metrics"])
    assert [d.split(":")[0] for d in shown["definitions"]] == shown["metrics"]


def test_the_noise_floor_is_the_null_median_of_d_and_a2(report_input):
    from scipy import stats

    from gancheck.report.tables import noise_floor_text
    data = dataclasses.replace(report_input, scores=report_input.scores.assign(n=500))
    text = noise_floor_text(data)
    # Oracles: scipy's exact KS distribution, median 0.03668 at n = 500; A²'s null median by
    # simulation, 20,000 uniform samples of 500 (0.769, Monte Carlo se about 0.005), against the
    # 0.774 that Marsaglia & Marsaglia's distribution gives.
    assert f"{stats.kstwo(500).median():.3f} in KS D" in text and "0.037" in text
    u = np.sort(np.random.default_rng(7).random((20_000, 500)), axis=1)
    i = np.arange(1, 501)
    a2 = -500 - np.mean((2 * i - 1) * (np.log(u) + np.log1p(-u[:, ::-1])), axis=1)
    shown = float(text.split(" in A²")[0].split()[-1])
    assert abs(shown - np.median(a2)) < 0.02
    # Draws of several sizes have no one floor: nothing is said.
    mixed = dataclasses.replace(report_input, scores=report_input.scores.assign(
        n=np.resize([50, 500], len(report_input.scores))))
    assert noise_floor_text(mixed) == ""
