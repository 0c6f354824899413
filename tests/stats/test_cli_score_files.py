"""`gancheck score` on the files people really have: headers, layouts, columns, every source,
and --draws. Every file is written here by the tool a user would use (pandas, numpy)."""
import io
import json
import subprocess
import sys
from importlib.util import find_spec
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import gancheck
from gancheck.cli import readers
from gancheck.cli import score as score_cli
from gancheck.stats import registry
from gancheck.stats.scoring import score
from tests.stats.test_cli_score import TESTS_PER_SAMPLE, run

pytestmark = pytest.mark.filterwarnings("error")


def scored(path, capsys, *options):
    """(rows of the JSON output, stderr) of a successful `score PATH --format json`.

    JSON holds 15 significant digits, so p-values are compared with rtol=1e-12."""
    code, out, err = run(["score", path, "--format", "json", *options], capsys)
    assert code == 0, err
    return json.loads(out), err


def pvalues(rows, name):
    return np.array([r["pvalue"] for r in rows if r["sample_name"] == name], dtype=float)


def test_pandas_to_csv_with_a_header_is_one_named_sample(tmp_path, rng, capsys):
    # The example, verbatim: what a new user saves first.
    x = rng.normal(4.0, 1.25, size=500)
    path = tmp_path / "generated.csv"
    pd.DataFrame({"value": x}).to_csv(path, index=False)
    rows, err = scored(path, capsys)
    assert {r["sample_name"] for r in rows} == {"value"} and {r["n"] for r in rows} == {500}
    # Oracle: the library on the same numbers (pandas writes floats that read back exactly).
    np.testing.assert_allclose(pvalues(rows, "value"), score(x)["pvalue"], rtol=1e-12)
    assert "header row on line 1: 'value'" in err and "each column is one sample" in err


def test_named_columns_are_one_sample_each_and_pandas_index_is_skipped(tmp_path, rng, capsys):
    x = rng.normal(4.0, 1.25, size=(2, 200))
    path = tmp_path / "two.csv"
    pd.DataFrame({"g1": x[0], "g2": x[1]}).to_csv(path)  # index=True: an unnamed first column
    rows, err = scored(path, capsys)
    assert [r["sample_name"] for r in rows[::TESTS_PER_SAMPLE]] == ["g1", "g2"]
    np.testing.assert_allclose(pvalues(rows, "g2"), score(x[1])["pvalue"], rtol=1e-12)
    assert "row index and not scored" in err


def test_numpy_savetxt_keeps_one_sample_per_row(tmp_path, rng, capsys):
    x = rng.normal(4.0, 1.25, size=(3, 50))
    path = tmp_path / "rows.txt"
    np.savetxt(path, x)  # "%.18e": reads back exactly
    rows, err = scored(path, capsys)
    assert [r["sample_name"] for r in rows[::TESTS_PER_SAMPLE]] == ["row 1", "row 2", "row 3"]
    np.testing.assert_allclose([r["pvalue"] for r in rows], score(x)["pvalue"], rtol=1e-12,
                               equal_nan=True)
    assert "no header row" in err and "each row is one sample" in err


def test_layout_columns_on_a_headerless_file(tmp_path, rng, capsys):
    x = rng.normal(4.0, 1.25, size=(20, 3))  # three generators side by side, no header
    path = tmp_path / "side_by_side.csv"
    np.savetxt(path, x, delimiter=",")
    rows, _ = scored(path, capsys)  # default: 20 rows of 3 values, too few for most tests
    assert len(rows) == 20 * TESTS_PER_SAMPLE
    # Each test's own minimum (registry.min_n): KS, mean and std take 3 values; the rest do not.
    short = {t.name for t in registry.SCORE_TESTS if t.min_n > 3}
    assert {r["status"] for r in rows if r["test"] in short} == {"too few values"}
    assert {r["status"] for r in rows if r["test"] not in short} == {"ok"}
    rows, _ = scored(path, capsys, "--layout", "columns")
    assert [r["sample_name"] for r in rows[::TESTS_PER_SAMPLE]] == ["column 1", "column 2", "column 3"]
    assert {r["n"] for r in rows} == {20}
    np.testing.assert_allclose(pvalues(rows, "column 3"), score(x[:, 2])["pvalue"], rtol=1e-12)


def test_layout_rows_on_a_file_with_a_header(tmp_path, rng, capsys):
    x = rng.normal(4.0, 1.25, size=(2, 12))
    path = tmp_path / "wide.csv"
    pd.DataFrame(x, columns=[f"x{j}" for j in range(12)]).to_csv(path, index=False)
    rows, _ = scored(path, capsys, "--layout", "rows")
    assert [r["sample_name"] for r in rows[::TESTS_PER_SAMPLE]] == ["row 1", "row 2"]
    np.testing.assert_allclose(pvalues(rows, "row 2"), score(x[1])["pvalue"], rtol=1e-12)


def test_column_picks_and_orders_columns_and_skips_text_ones(tmp_path, rng, capsys):
    x = rng.normal(4.0, 1.25, size=(2, 40))
    path = tmp_path / "mixed.csv"
    pd.DataFrame({"id": [f"run-{i}" for i in range(40)], "g1": x[0], "g2": x[1]}).to_csv(path, index=False)
    rows, _ = scored(path, capsys, "--column", "g2", "--column", "g1")
    assert [r["sample_name"] for r in rows[::TESTS_PER_SAMPLE]] == ["g2", "g1"]
    np.testing.assert_allclose(pvalues(rows, "g1"), score(x[0])["pvalue"], rtol=1e-12)


def test_column_by_number_without_a_header(tmp_path, rng, capsys):
    x = rng.normal(4.0, 1.25, size=(30, 2))
    path = tmp_path / "plain.txt"
    np.savetxt(path, x)
    rows, _ = scored(path, capsys, "--column", "2")
    assert {r["sample_name"] for r in rows} == {"column 2"} and {r["n"] for r in rows} == {30}


def test_tsv_with_a_header(tmp_path, rng, capsys):
    x = rng.normal(4.0, 1.25, size=60)
    path = tmp_path / "values.tsv"
    pd.DataFrame({"my value": x}).to_csv(path, sep="\t", index=False)  # a name with a space
    rows, _ = scored(path, capsys)
    np.testing.assert_allclose(pvalues(rows, "my value"), score(x)["pvalue"], rtol=1e-12)


@pytest.mark.parametrize("mode, expected", [("yes", ["1", "2"]), ("no", ["column 1", "column 2"])])
def test_header_option_decides_a_numeric_first_row(tmp_path, rng, capsys, mode, expected):
    path = tmp_path / "numbered.csv"
    np.savetxt(path, rng.normal(4.0, 1.25, size=(30, 2)), delimiter=",", header="1,2", comments="")
    rows, _ = scored(path, capsys, "--header", mode, "--layout", "columns")
    assert [r["sample_name"] for r in rows[::TESTS_PER_SAMPLE]] == expected
    assert {r["n"] for r in rows} == ({30} if mode == "yes" else {31})


def test_blank_fields_are_missing_values_not_errors(tmp_path, capsys):
    path = tmp_path / "gaps.csv"
    pd.DataFrame({"value": [4.0, np.nan] + [3.5] * 10}).to_csv(path, index=False)  # NaN -> ""
    rows, _ = scored(path, capsys)
    assert {r["status"] for r in rows} == {"non-finite values"}


def test_stdin_text_through_a_real_pipe(tmp_path, rng):
    x = rng.normal(4.0, 1.25, size=100)
    text = pd.DataFrame({"value": x}).to_csv(index=False)
    result = subprocess.run([sys.executable, "-m", "gancheck", "score", "-", "--format", "csv"],
                            input=text, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))
    assert set(table["sample_name"]) == {"value"}
    np.testing.assert_allclose(table["pvalue"], score(x)["pvalue"], rtol=1e-12)
    assert "standard input: header row" in result.stderr


def test_stdin_npy_bytes(monkeypatch, rng, capsys):
    x = rng.normal(4.0, 1.25, size=(2, 40))
    buffer = io.BytesIO()
    np.save(buffer, x)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(buffer.getvalue())))
    rows, _ = scored("-", capsys)
    np.testing.assert_allclose([r["pvalue"] for r in rows], score(x)["pvalue"], rtol=1e-12)


def test_npz_with_key(tmp_path, rng, capsys):
    x, y = rng.normal(4.0, 1.25, size=(2, 80))
    path = tmp_path / "outputs.npz"
    np.savez_compressed(path, first=x, second=y)
    rows, _ = scored(path, capsys, "--key", "second")
    assert {r["sample_name"] for r in rows} == {"second"}
    np.testing.assert_allclose(pvalues(rows, "second"), score(y)["pvalue"], rtol=1e-12)
    single = tmp_path / "single.npz"
    np.savez(single, draws=np.stack([x, y]))  # one array: no --key needed; 2-D keeps its rows
    rows, _ = scored(single, capsys)
    assert [r["sample_name"] for r in rows[::TESTS_PER_SAMPLE]] == ["row 1", "row 2"]


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch, capsys):
    path = tmp_path / "values.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setattr(readers, "find_spec", lambda name: None)  # as on a machine without it
    code, out, err = run(["score", path], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "pip install pyarrow" in err and "values.parquet" in err


@pytest.mark.skipif(find_spec("pyarrow") is None, reason="pyarrow is not installed (optional: "
                    "pip install pyarrow); the missing-pyarrow hint is tested above")
def test_parquet_columns(tmp_path, rng, capsys):
    x = rng.normal(4.0, 1.25, size=(2, 90))
    path = tmp_path / "values.parquet"
    pd.DataFrame({"a": x[0], "b": x[1]}).to_parquet(path)
    rows, _ = scored(path, capsys, "--column", "b")
    np.testing.assert_allclose(pvalues(rows, "b"), score(x[1])["pvalue"], rtol=1e-12)


def test_ties_are_reported(tmp_path, rng, capsys):
    path = tmp_path / "rounded.csv"
    pd.DataFrame({"value": rng.normal(4.0, 1.25, size=500).round(1)}).to_csv(path, index=False)
    _, err = scored(path, capsys)
    # 500 values on a 0.1 grid spanning some 8 units take at most ~80 distinct values: > 400 repeat.
    assert "ties found in 1 of 1 samples (most: 'value'" in err
    exact = tmp_path / "exact.csv"
    pd.DataFrame({"value": rng.normal(4.0, 1.25, size=500)}).to_csv(exact, index=False)
    _, err = scored(exact, capsys)
    assert "ties found" not in err


def test_repeated_values_counts_by_hand():
    # Hand count: [1, 1, 2, 2, 2, nan] repeats 1 once and 2 twice; NaN never counts.
    samples = np.array([[1, 1, 2, 2, 2, np.nan], [1, 2, 3, 4, 5, 6]], dtype=float)
    assert score_cli.repeated_values(samples).tolist() == [3, 0]


def test_a_ties_status_from_the_statistics_is_counted(tmp_path, monkeypatch, rng, capsys):
    # gancheck.stats owns tie handling; the CLI reads its status strings.
    from gancheck.stats import scoring

    def with_ties_status(samples, **kwargs):
        table = score(samples, **kwargs)
        table.loc[table["test"] == "ks", ["status", "reject"]] = ["ties", True]
        return table

    monkeypatch.setattr(scoring, "score", with_ties_status)
    path = tmp_path / "rounded.csv"
    pd.DataFrame({"value": rng.normal(4.0, 1.25, size=100).round(1)}).to_csv(path, index=False)
    _, err = scored(path, capsys)
    # The five order-based tests (ks, ad, cvm, shapiro, ad_normal) are not run on tied data.
    ordered = [t.name for t in registry.SCORE_TESTS if t.ties == "order"]
    assert f"{len(ordered)} test rows have a ties status (ties)" in err


def test_draws_judges_the_k_by_n_array(tmp_path, rng, capsys):
    x = rng.normal(4.0, 1.25, size=(3, 60))
    path = tmp_path / "draws.csv"
    pd.DataFrame(x.T, columns=["d1", "d2", "d3"]).to_csv(path, index=False)  # one draw per column
    rows, err = scored(path, capsys, "--draws", "--mean", "4.5", "--alpha", "0.01")
    assert [r["test"] for r in rows] == [t.name for t in registry.REGISTRY]
    assert {r["k"] for r in rows} == {3} and {r["n"] for r in rows} == {60}  # columns became the K rows
    # The mean row's statistic is the median over draws of (draw mean - 4.5): the target given.
    mean_row = next(r for r in rows if r["test"] == "mean")
    assert mean_row["statistic"] == pytest.approx(np.median(x.mean(axis=1) - 4.5))
    assert "3 noise draw(s) of one generator of 60 values" in err
    assert "diversity: collapsed " in err  # JSON on stdout: the summary goes to stderr


def test_diversity_line_shows_fixed_share_when_present():
    result = SimpleNamespace(collapsed=True, fixed_share=0.91, fixed_share_low=0.88,
                             fixed_share_high=0.93, spread_ratio=0.05, pvalue=1e-9, status="ok")
    assert score_cli.diversity_line(result) == ("diversity: collapsed yes; fixed share 0.910 "
                                                "(95% CI 0.880 to 0.930); spread ratio 0.050; p = 1e-09")
