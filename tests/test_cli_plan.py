"""`python -m gancheck plan`: output figures (oracle: gancheck.stats.power, itself checked against
scipy and by simulation in tests/stats/test_power.py), --from on a tiny fixture run folder, and
one-line errors with exit 2."""
import re
import sys

import numpy as np
import pandas as pd
import pytest

import gancheck.__main__ as gancheck_cli
from gancheck.cli import EXIT_USAGE, run_cli
from gancheck.stats import power


def _run(argv, capsys):
    code = run_cli(gancheck_cli.main, argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_rates_prints_seeds_and_power_table(capsys):
    code, out, _ = _run(["plan", "--rates", "0,0.15", "--power", "0.8"], capsys)
    assert code == 0
    boschloo = re.search(r"^Boschloo\s+(\d+)\s+([\d.\s]+)$", out, re.M)
    fisher = re.search(r"^Fisher \(reference\)\s+(\d+)\s+([\d.\s]+)$", out, re.M)
    # 44 and 52 seeds per arm: exact enumeration, checked by simulation in test_power.py.
    assert boschloo.group(1) == "44" and fisher.group(1) == "52"
    shown = [float(x) for x in boschloo.group(2).split()]
    expected = [power.rate_power(0.15, 0, n) for n in (10, 20, 40, 80)]
    np.testing.assert_allclose(shown, expected, atol=0.0005)


def test_rates_say_the_detectable_difference_and_the_seeds_that_bring_it_to_0_3(capsys):
    # The fix design's primary family: baseline 0.85 on target, 6 arms, 20 seeds per arm.
    code, out, _ = _run(["plan", "--rates", "0.85,0.33", "--comparisons", "6"], capsys)
    assert code == 0
    detectable = float(re.search(r"smallest detectable drop from 0.85 .*?(\d\.\d+) at 20 \(to 0.32\)", out).group(1))
    # Oracle: exact Boschloo power (gancheck.stats.power, checked against scipy): 0.85 -> 0.32
    # is detected with 80% power at 0.05 / 6, 0.85 -> 0.33 is not (0.784, the table above).
    assert detectable == pytest.approx(0.53)
    assert power.rate_power(0.32, 0.85, 20, comparisons=6) >= 0.8 > power.rate_power(0.33, 0.85, 20, comparisons=6)
    seeds = int(re.search(r"seeds per arm to detect a drop of 0.3: (\d+)", out).group(1))
    # 0.85 -> 0.55: the first n with 80%.
    assert power.rate_power(0.55, 0.85, seeds, comparisons=6) >= 0.8 > power.rate_power(0.55, 0.85, seeds - 1, comparisons=6)
    assert "rise" not in out   # the arm's rate is below the baseline's: only drops are planned for


def test_a_drop_is_planned_as_a_drop_where_a_rise_would_be_easier(capsys):
    # From 0.85 at 80 seeds a rise to 1 (0.15 away) is detected with 80% power, a drop of 0.15
    # is not: the line once gave 0.15 for --rates 0.85,0.33, unsigned, as if a drop that small
    # were detected. Oracle: exact Boschloo powers (gancheck.stats.power).
    assert power.rate_power(1.0, 0.85, 80, comparisons=6) >= 0.8 > power.rate_power(0.70, 0.85, 80, comparisons=6)
    code, out, _ = _run(["plan", "--rates", "0.85,0.33", "--comparisons", "6"], capsys)
    gap = float(re.search(r"(\d\.\d+) at 80 \(to (\d\.\d+)\)", out).group(1))
    assert power.rate_power(round(0.85 - gap, 6), 0.85, 80, comparisons=6) >= 0.8
    assert power.rate_power(round(0.85 - gap + 0.005, 6), 0.85, 80, comparisons=6) < 0.8
    # A run's baseline (plan --from) has no planned direction: both are shown, each its own.
    rise = power.detectable_rate_difference(0.85, 80, comparisons=6, direction=1)
    assert rise <= 0.15 < gap   # a rise to 0.995 already (the search's grid is 0.005)
    assert power.detectable_rate_difference(0.85, 80, comparisons=6, direction=-1) == pytest.approx(gap)
    # Either way, as a comparison row's mde column has it: the easier of the two.
    assert power.detectable_rate_difference(0.85, 80, comparisons=6) == pytest.approx(rise)


def test_shift_prints_the_sign_test_plan(capsys):
    code, out, _ = _run(["plan", "--shift", "0.5", "--sd", "1", "--comparisons", "3"], capsys)
    assert code == 0
    needed = int(re.search(r"^sign test\s+(\d+)", out, re.M).group(1))
    p = power.shift_probabilities(0.5, 1)
    assert power.seeds_needed(lambda n: power.sign_test_power(n, *p, comparisons=3), 0.8) == needed
    assert "0.05 / 3" in out


@pytest.fixture
def run_dir(tmp_path):
    """A tiny run: baseline 'base', arms 'wide' (a metric effect, not rejected), 'ratio' (a rate
    effect, not rejected) and 'fixed' (rejected: must not be planned)."""
    seeds = range(8)
    metrics = []
    for seed in seeds:
        metrics += [("base", seed, "ks_d", 0.10 + 0.01 * seed), ("wide", seed, "ks_d", 0.12 + 0.01 * seed if seed < 6 else 0.05),
                    ("ratio", seed, "ks_d", 0.10 + 0.01 * seed), ("fixed", seed, "ks_d", 0.5)]
    pd.DataFrame(metrics, columns=["arm", "seed", "metric", "value"]).to_csv(tmp_path / "metrics.csv", index=False)
    outcomes = [(arm, o, c, 8, c / 8, 0, 1) for arm, o, c in [
        ("base", "collapsed", 0), ("ratio", "collapsed", 2), ("fixed", "collapsed", 0), ("wide", "collapsed", 0)]]
    pd.DataFrame(outcomes, columns=["arm", "outcome", "count", "n", "rate", "ci_low", "ci_high"]).to_csv(
        tmp_path / "outcomes.csv", index=False)
    columns = ["arm", "metric", "baseline", "n", "n_baseline", "difference", "ci_low", "ci_high",
               "statistic", "pvalue", "prob_improvement", "prob_improvement_low",
               "prob_improvement_high", "pvalue_holm", "reject_holm", "test", "family"]
    rows = [("wide", "ks_d", 0.3, False, "sign"), ("ratio", "rate_collapsed", 0.2, False, "boschloo"),
            ("fixed", "ks_d", 0.001, True, "sign"), ("wide", "rate_collapsed", np.nan, False, "boschloo")]
    pd.DataFrame([dict(zip(columns, [arm, metric, "base", 8, 8, 0, 0, 0, 0, p, 0.5, 0.4, 0.6, p, r, t, "primary"]))
                  for arm, metric, p, r, t in rows]).to_csv(tmp_path / "comparisons.csv", index=False)
    return tmp_path


def test_from_run_plans_every_comparison_without_a_difference(run_dir, capsys):
    code, out, _ = _run(["plan", "--from", str(run_dir)], capsys)
    assert code == 0
    assert "/ 3 =" in out                      # M = 3 tested rows (the NaN p-value is not tested)
    lines = {tuple(line.split()[:2]): line for line in out.splitlines()}
    assert ("fixed", "ks_d") not in lines       # rejected: nothing to plan
    # ratio: 0 -> 0.25 collapsed (outcomes.csv), Boschloo at 0.05/3.
    expected = power.seeds_needed(lambda n: power.rate_power(0.25, 0, n, comparisons=3), 0.8)
    assert lines[("ratio", "rate_collapsed")].split()[-1] == str(expected)
    # wide: 6 of 8 paired differences positive, 2 negative.
    expected = power.seeds_needed(lambda n: power.sign_test_power(n, 0.75, 0.25, comparisons=3), 0.8)
    assert lines[("wide", "ks_d")].split()[-1] == str(expected)


def test_from_run_plans_the_primary_family_by_default(run_dir, capsys):
    table = pd.read_csv(run_dir / "comparisons.csv")
    table["family"] = ["descriptive", "primary", "descriptive", "primary"]
    table.to_csv(run_dir / "comparisons.csv", index=False)
    code, out, _ = _run(["plan", "--from", str(run_dir)], capsys)
    assert code == 0
    assert "/ 1 =" in out                    # one tested primary row (the other is NaN)
    assert "ratio" in out and "wide" not in out.split("found no difference")[1]
    code, out, _ = _run(["plan", "--from", str(run_dir), "--family", "descriptive"], capsys)
    assert code == 0 and "/ 2 =" in out and "ratio " not in out


@pytest.mark.parametrize("argv, words", [
    (["--rates", "0,1.5"], ["--rates", "'0,1.5'"]),
    (["--rates", "0.2,0.2"], ["--rates", "equal"]),
    (["--rates", "0.1"], ["--rates", "'0.1'"]),
    (["--rates", "a,b"], ["--rates", "'a,b'"]),
    (["--rates", "0,0.5", "--alpha", "1"], ["--alpha", "'1'"]),
    (["--rates", "0,0.5", "--power", "0"], ["--power", "'0'"]),
    (["--rates", "0,0.5", "--comparisons", "0"], ["--comparisons", "'0'"]),
    (["--shift", "0.5"], ["--sd"]),
    (["--shift", "0.5", "--sd", "-1"], ["--sd", "'-1'"]),
    (["--from", "/no/such/run"], ["--from", "/no/such/run"]),
    (["--rates", "0,0.5", "--difference", "2"], ["--difference", "'2'"]),
    ([], ["--rates"]),
    # No rate in [0, 1] is 0.95 away from 0.9 (it was planned as 0.9 -> 0 and said 5 seeds).
    (["--rates", "0.9,0.2", "--difference", "0.95"], ["--difference=0.95", "at most 0.9"]),
    # The search starts at 2 seeds per arm (was: "min_seeds must be <= max_seeds"); 0 said
    # ">= 1", and 1 was then refused with ">= 2".
    (["--rates", "0.1,0.2", "--max-seeds", "1"], ["--max-seeds", "'1'", ">= 2"]),
    (["--rates", "0.1,0.2", "--max-seeds", "0"], ["--max-seeds", "'0'", ">= 2"]),
    # Capped: 1e7 held 640 MB and 1e14 ran out of memory (with the training's advice), and a rate
    # search far beyond 200 seeds ran for hours without a word.
    (["--shift", "1", "--sd", "1", "--max-seeds", "100001"], ["--max-seeds='100001'", "at most 100,000"]),
    (["--rates", "0.1,0.2", "--max-seeds", "1001"], ["--max-seeds=1001", "at most 1,000"]),
    # A missing folder does not exist (it was "not a folder").
    (["--from", "/no/such/run"], ["--from", "does not exist"]),
    # A power at or below alpha asks for nothing (was: "smallest detectable difference 0.00").
    (["--rates", "0.1,0.2", "--power", "0.01"], ["--power=0.01", "--alpha=0.05"]),
    (["--rates", "0.1,0.2", "--power", "0.05"], ["--power=0.05"]),
    # Options that were silently ignored.
    (["--shift", "1", "--sd", "1", "--difference", "0.5"], ["--difference", "--shift"]),
    (["--rates", "0.1,0.2", "--family", "all"], ["--family", "--from"]),
    # A zero shift, like equal rates, leaves nothing to detect.
    (["--shift", "0", "--sd", "1"], ["--shift", "'0'", "nothing to detect"]),
])
def test_bad_input_is_one_line_and_exit_2(argv, words, capsys):
    code, _, err = _run(["plan", *argv], capsys)
    assert code == EXIT_USAGE
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for word in words:
        assert word in err


@pytest.mark.parametrize("missing", ["comparisons.csv", "outcomes.csv", "metrics.csv"])
def test_from_run_with_a_missing_file(run_dir, missing, capsys):
    (run_dir / missing).unlink()
    code, _, err = _run(["plan", "--from", str(run_dir)], capsys)
    assert code == EXIT_USAGE and missing in err


def test_from_run_with_a_missing_column(run_dir, capsys):
    table = pd.read_csv(run_dir / "comparisons.csv").drop(columns=["test"])
    table.to_csv(run_dir / "comparisons.csv", index=False)
    code, _, err = _run(["plan", "--from", str(run_dir)], capsys)
    assert code == EXIT_USAGE and "'test'" in err


@pytest.mark.filterwarnings("error")
def test_a_shift_of_many_sd_is_planned_without_overflow_warnings(capsys):
    # 1e300 / 1e-300 overflows to inf: P(d > 0) is 1 (scipy warned "overflow encountered in
    # divide" on (0 - shift) / sd). Oracle: with P(d > 0) = 1 every seed is positive, and the
    # exact sign test first rejects at 0.05 with 6 of 6 (two-sided p = 2 / 2**6 = 0.031).
    code, out, err = _run(["plan", "--shift", "1e300", "--sd", "1e-300"], capsys)
    assert code == 0 and err == ""
    assert "P(d > 0) = 1.000" in out
    assert re.search(r"^sign test\s+6\s", out, re.M)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_from_run_with_infinite_metrics_on_both_sides_warns_nothing(run_dir, capsys):
    # Diverged seeds have +inf metrics: inf - inf was computed (and masked) for every pair, with
    # a RuntimeWarning each. Equal infinities are ties (difference 0), as before.
    metrics = pd.read_csv(run_dir / "metrics.csv")
    metrics.loc[metrics["seed"] < 2, "value"] = np.inf
    metrics.to_csv(run_dir / "metrics.csv", index=False)
    code, out, err = _run(["plan", "--from", str(run_dir), "--family", "all"], capsys)
    assert code == 0 and "Warning" not in err
    # wide vs base: seeds 0, 1 tie (inf = inf), seeds 2-5 positive, 6-7 negative (the fixture).
    assert "P(d>0)=0.50" in out


def test_a_long_search_shows_a_progress_bar_on_a_terminal(capsys, monkeypatch):
    import io
    import types
    from gancheck.cli import plan

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setattr(plan, "PROGRESS_DELAY_S", 0.0)
    args = types.SimpleNamespace(power=0.8, max_seeds=50)
    # Oracle: power n / 40 first reaches 0.8 at n = 32.
    assert plan._needed(lambda n: n / 40, args) == "32"
    assert "seeds per arm searched" in terminal.getvalue()
    # Not on a terminal (logs, pipes, these tests' captured stderr): no bar.
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert plan._needed(lambda n: n / 40, args) == "32" and sys.stderr.getvalue() == ""


@pytest.mark.parametrize("name, column, cell, kind", [
    ("rates.csv", "value", "zzz", "a rate in [0, 1]"),          # was a TypeError traceback
    ("rates.csv", "value", "7", "a rate in [0, 1]"),            # was "p_arm must be in [0, 1]", late
    ("comparisons.csv", "n_baseline", "abc", "a whole number"),  # was int()'s words, naming no file
    ("metrics.csv", "value", "x", "a number"),
    ("outcomes.csv", "rate", "-1", "a rate in [0, 1]"),
])
def test_from_run_checks_every_cell_before_printing(run_dir, capsys, name, column, cell, kind):
    if name == "rates.csv":
        pd.DataFrame([("base", s, "rate_collapsed", 0) for s in range(8)],
                     columns=["arm", "seed", "metric", "value"]).to_csv(run_dir / name, index=False)
    table = pd.read_csv(run_dir / name, dtype=str, keep_default_na=False)
    table.loc[0, column] = cell
    table.to_csv(run_dir / name, index=False)
    code, out, err = _run(["plan", "--from", str(run_dir), "--family", "all"], capsys)
    assert code == EXIT_USAGE and out == "" and len(err.splitlines()) == 1, err
    assert str(run_dir / name) in err and f"column {column!r} holds {cell!r}" in err and kind in err


@pytest.mark.parametrize("wanted, shown", [("0.8", "80%"), ("0.995", "99.5%"), ("0.999999", "99.9999%")])
def test_the_wanted_power_is_printed_with_its_own_digits(capsys, wanted, shown):
    # 0.995 printed as a whole percentage read "100%", a power no finite plan reaches.
    code, out, _ = _run(["plan", "--shift", "0.5", "--sd", "1", "--power", wanted], capsys)
    assert code == 0 and f"seeds/arm for {shown}  power at" in out
