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
    rows, _ = scored(path, capsys)  # default: 20 rows of 3 values, too few for every test
    assert len(rows) == 20 * TESTS_PER_SAMPLE
    # Every test's minimum (registry.min_n) is gof.MIN_N = 8 values: 3 is too few for all.
    assert all(t.min_n > 3 for t in registry.SCORE_TESTS)
    assert {r["status"] for r in rows} == {"too few values"}
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
    # The order-based tests without a rounded form (shapiro, ad_normal) are not run on tied data,
    # and ks is given the ties status here; ad and cvm take their rounded forms
    # (gancheck.stats.grouped_simulated).
    untested = [t.name for t in registry.SCORE_TESTS if t.ties == "order" and t.name not in ("ad", "cvm")]
    assert f"{len(untested)} test rows have a ties status (ties)" in err


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


def test_diversity_line_of_untestable_draws_says_not_tested():
    # One draw: diversity cannot be tested (its result says collapsed=True only so that it never
    # passes); the line said "collapsed yes" beside an undecided verdict.
    result = gancheck.diversity(np.random.default_rng(0).normal(4, 1.25, (1, 500)))
    assert score_cli.diversity_line(result) == f"diversity: not tested ({result.status})"
    assert result.status != "ok"


# -- pandas' default labels, quoted fields, trailing delimiters ------------------------------------

@pytest.mark.parametrize("index", [True, False])
def test_a_pandas_series_is_one_sample_under_its_default_label(tmp_path, rng, capsys, index):
    # pd.Series(x).to_csv writes the header ",0" (index=True) or "0": pandas' label, not a value.
    x = rng.normal(4.0, 1.25, size=500)
    path = tmp_path / "series.csv"
    pd.Series(x).to_csv(path, index=index)
    rows, err = scored(path, capsys)
    # One sample, named by pandas' label "0", of the 500 values written (no header value, no index).
    assert {r["sample_name"] for r in rows} == {"0"} and {r["n"] for r in rows} == {500}
    np.testing.assert_allclose(pvalues(rows, "0"), score(x)["pvalue"], rtol=1e-12)
    assert "pandas' default column label 0" in err and "1 sample(s) of 500 values" in err
    assert ("row index and not scored" in err) == index


@pytest.mark.parametrize("index", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
def test_pandas_default_column_labels_are_a_header(tmp_path, rng, index, transpose):
    # pd.DataFrame(d).to_csv: the header is ",0,1,...,k-1" (index=True) or "0,1,...,k-1".
    d = rng.normal(4.0, 1.25, size=(3, 40))
    d = d.T if transpose else d
    path = tmp_path / "frame.csv"
    pd.DataFrame(d).to_csv(path, index=index)
    table = readers.read_table(str(path))
    # Exactly the frame's values: the label row and the index column are not among them.
    np.testing.assert_array_equal(table.values, d)
    # pandas' labels 0..k-1 label the columns but name no sample: laid out as a headerless file.
    assert table.labels == tuple(str(j) for j in range(d.shape[1])) and table.names is None
    k = d.shape[1]  # 40 columns, or 3 transposed
    assert f"pandas' default column labels 0, 1, ..., {k - 1}" in table.note


def test_a_frame_of_draws_is_read_a_row_per_draw(tmp_path, rng, capsys):
    # pd.DataFrame(d).to_csv of (K, n) draws holds d as pandas holds it: K rows of n values, the
    # layout np.savetxt(d) gets; with --draws that is K draws of n values.
    d = rng.normal(4.0, 1.25, size=(3, 40))
    path = tmp_path / "draws.csv"
    pd.DataFrame(d).to_csv(path)
    rows, err = scored(path, capsys)
    assert "each row is one sample: 3 sample(s) of 40 values" in err
    np.testing.assert_allclose(pvalues(rows, "row 2"), score(d[1])["pvalue"], rtol=1e-12)


def test_header_no_still_reads_pandas_labels_as_data(tmp_path, rng):
    x = rng.normal(4.0, 1.25, size=30)
    path = tmp_path / "series.csv"
    pd.Series(x).to_csv(path)
    table = readers.read_table(str(path), header="no")
    # 31 rows of 2 values: the label row ("", "0": NaN and 0) first, then index i beside x[i].
    assert table.values.shape == (31, 2) and table.names is None
    np.testing.assert_array_equal(table.values[0], [np.nan, 0.0])
    np.testing.assert_array_equal(table.values[1:], np.column_stack([np.arange(30), x]))


@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_a_first_value_0_among_whole_numbers_is_data_not_pandas_label(tmp_path, suffix):
    # np.savetxt(path, values, fmt="%d") of rounded values whose first is 0: the lone "0" of
    # line 1 is written as every value below it, so it is data (pandas would write floats).
    values = np.array([0, 4, 5, 3, 4, 6, 2, 4])
    path = tmp_path / f"counts{suffix}"
    np.savetxt(path, values, fmt="%d")
    table = readers.read_table(str(path))
    assert table.names is None and "no header row" in table.note
    np.testing.assert_array_equal(table.values[:, 0], values)  # all 8, the 0 first


def test_a_lone_0_above_floats_is_still_pandas_label(tmp_path):
    # pd.Series(x).to_csv(index=False) of floats: "0" above "4.25": pandas' label, not a value.
    path = tmp_path / "series.csv"
    path.write_text("0\n4.25\n3.5\n")
    table = readers.read_table(str(path))
    np.testing.assert_array_equal(table.values[:, 0], [4.25, 3.5])
    assert "pandas' default column label 0" in table.note


@pytest.mark.parametrize("first_row", ["1,2,3", "0,2,1", "0,1,2.5", "1", ",1,2"])
def test_only_labels_0_to_k_minus_1_in_order_are_taken_for_pandas(tmp_path, first_row):
    # Any other numeric first row stays data: the rule is pandas' exact labels, nothing looser.
    path = tmp_path / "numbers.csv"
    width = first_row.count(",") + 1
    path.write_text(first_row + "\n" + ",".join(["4.5"] * width) + "\n")
    table = readers.read_table(str(path))
    assert table.names is None and table.values.shape == (2, width)  # both lines are data


def test_quoted_names_may_hold_the_delimiter_and_quotes(tmp_path, rng, capsys):
    x, y, z = rng.normal(4.0, 1.25, size=(3, 60))
    path = tmp_path / "quoted.csv"
    # pandas writes these names as "gen, v1" and "say ""hi""" (quoted, inner quotes doubled).
    pd.DataFrame({"gen, v1": x, 'say "hi"': y, "g3": z}).to_csv(path, index=False)
    assert path.read_text().splitlines()[0] == '"gen, v1","say ""hi""",g3'
    rows, err = scored(path, capsys)
    assert [r["sample_name"] for r in rows[::TESTS_PER_SAMPLE]] == ["gen, v1", 'say "hi"', "g3"]
    np.testing.assert_allclose(pvalues(rows, "gen, v1"), score(x)["pvalue"], rtol=1e-12)
    np.testing.assert_allclose(pvalues(rows, 'say "hi"'), score(y)["pvalue"], rtol=1e-12)
    rows, _ = scored(path, capsys, "--column", "gen, v1")  # picked by its name as written
    assert {r["sample_name"] for r in rows} == {"gen, v1"} and {r["n"] for r in rows} == {60}


def test_a_quoted_hash_is_not_a_comment(tmp_path):
    path = tmp_path / "hash.csv"
    path.write_text('"gen #1",g2  # the second generator\n4.1,3.9\n4.2,3.8\n')
    table = readers.read_table(str(path))
    assert table.names == ("gen #1", "g2")  # the '#' inside quotes is part of the name
    np.testing.assert_array_equal(table.values, [[4.1, 3.9], [4.2, 3.8]])


def test_a_quote_left_open_is_one_line_naming_the_line(tmp_path, capsys):
    path = tmp_path / "open.csv"
    path.write_text('g1,g2\n4.1,3.9\n"4.2,3.8\n')  # line 3 opens a quote and never closes it
    code, out, err = run(["score", path], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "open.csv: line 3 has a quote" in err


@pytest.mark.parametrize("header", ["value,\n", ""])
def test_a_delimiter_ending_every_line_adds_no_sample(tmp_path, rng, capsys, header):
    # "4.1," on every line (as some spreadsheets export): its empty last column is no sample.
    x = rng.normal(4.0, 1.25, size=80)
    path = tmp_path / "trailing.csv"
    path.write_text(header + "".join(f"{float(v)!r},\n" for v in x))  # repr: reads back exactly
    rows, err = scored(path, capsys)
    # One sample of the 80 values written, named by its header (or "column 1" without one).
    name = "value" if header else "column 1"
    assert {r["sample_name"] for r in rows} == {name} and {r["n"] for r in rows} == {80}
    np.testing.assert_allclose(pvalues(rows, name), score(x)["pvalue"], rtol=1e-12)
    assert "empty on every line" in err and "1 sample(s) of 80 values" in err


@pytest.mark.parametrize("text", ["g1,\n4.1,\n4.2,3.9\n", "4.1,\n4.2,3.9\n", "g1,g2\n4.1,\n4.2,\n"])
def test_a_last_column_with_any_value_or_name_is_kept(tmp_path, text):
    # A blank first value is a missing value, and a named column of blanks is a named sample: the
    # last column goes only when it is blank on every line, header included.
    path = tmp_path / "kept.csv"
    path.write_text(text)
    table = readers.read_table(str(path))
    assert table.values.shape == (2, 2)  # two data lines, both columns kept
    assert np.isnan(table.values[0, 1])  # the blank read as a missing value


def test_a_shorter_column_is_scored_at_its_own_length(tmp_path, rng, capsys):
    # Two generators' outputs of different lengths in one frame: pandas pads the shorter column
    # with NaN and writes the padding as blank fields. They are the column's end, not missing
    # values: before, the column was rejected on every test as holding non-finite values.
    a, b = rng.normal(4.0, 1.25, 500), rng.normal(4.0, 1.25, 300)
    path = tmp_path / "unequal.csv"
    pd.concat({"a": pd.Series(a), "b": pd.Series(b)}, axis=1).to_csv(path, index=False)
    rows, err = scored(path, capsys)
    assert {r["n"] for r in rows if r["sample_name"] == "b"} == {300}
    assert {r["n"] for r in rows if r["sample_name"] == "a"} == {500}
    # Oracle: the library on each column's own values, in sample order.
    np.testing.assert_allclose(pvalues(rows, "b"), score(b)["pvalue"], rtol=1e-12)
    np.testing.assert_allclose(pvalues(rows, "a"), score(a)["pvalue"], rtol=1e-12)
    assert [r["sample_name"] for r in rows[::TESTS_PER_SAMPLE]] == ["a", "b"]
    assert "'b' after 300 of 500 rows" in err and "2 sample(s) of 300 to 500 values" in err


def test_a_blank_among_the_values_still_fails_a_shorter_column(tmp_path, rng, capsys):
    frame = pd.concat({"a": pd.Series(rng.normal(4.0, 1.25, 60)),
                       "b": pd.Series(rng.normal(4.0, 1.25, 40))}, axis=1)
    frame.loc[10, "b"] = np.nan   # a missing value inside b, written blank too
    path = tmp_path / "hole.csv"
    frame.to_csv(path, index=False)
    rows, _ = scored(path, capsys)
    assert {r["status"] for r in rows if r["sample_name"] == "b"} == {"non-finite values"}
    assert {r["n"] for r in rows if r["sample_name"] == "b"} == {40}
    # "nan" written out is a value (not a blank), so it is no padding either.
    path.write_text("a,b\n" + "".join(f"{float(v)!r},{w}\n" for v, w in zip(rng.normal(4, 1.25, 30), ["3.9"] * 29 + ["nan"])))
    rows, _ = scored(path, capsys)
    assert {r["status"] for r in rows if r["sample_name"] == "b"} == {"non-finite values"}


def test_a_shorter_last_column_and_a_shorter_row(tmp_path, rng, capsys):
    # The last column's blanks pass through the parser's fast path: still read as the column's end.
    x, y = rng.normal(4.0, 1.25, 50).tolist(), rng.normal(4.0, 1.25, 30).tolist()  # floats: repr reads back
    path = tmp_path / "last.csv"
    path.write_text("x,y\n" + "".join(f"{v!r},{y[i]!r}\n" if i < 30 else f"{v!r},\n" for i, v in enumerate(x)))
    rows, _ = scored(path, capsys)
    np.testing.assert_allclose(pvalues(rows, "y"), score(y)["pvalue"], rtol=1e-12)
    # Rows as samples (no header): a row ending in blank fields is a shorter sample.
    path = tmp_path / "rows.csv"
    path.write_text(",".join(map(repr, x)) + "\n" + ",".join(map(repr, y)) + "," * 20 + "\n")
    rows, err = scored(path, capsys)
    assert [r["n"] for r in rows[::TESTS_PER_SAMPLE]] == [50, 30]
    np.testing.assert_allclose(pvalues(rows, "row 2"), score(y)["pvalue"], rtol=1e-12)
    assert "'row 2' after 30 of 50 columns" in err


def test_draws_of_unequal_length_are_refused_in_one_line(tmp_path, rng, capsys):
    path = tmp_path / "draws.csv"
    pd.concat({"d1": pd.Series(rng.normal(4.0, 1.25, 50)), "d2": pd.Series(rng.normal(4.0, 1.25, 40))},
              axis=1).to_csv(path, index=False)
    code, out, err = run(["score", str(path), "--draws"], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--draws needs draws of one length" in err and "'d2' after 40 of 50 rows" in err


# -- a 3-D array: several generators' draws, as `gancheck train` writes samples.npy ---------------

def test_a_3d_array_judges_each_generator_on_its_own_draws(tmp_path, rng, capsys):
    # Generator 0 draws from the target; generator 1 emits one fixed vector (collapsed).
    fine = rng.normal(4.0, 1.25, size=(8, 60))
    stuck = np.tile(rng.normal(4.0, 1.25, size=60), (8, 1)) + rng.normal(0, 1e-3, size=(8, 60))
    path = tmp_path / "samples.npy"
    np.save(path, np.stack([fine, stuck]).astype(np.float32))
    rows, err = scored(path, capsys, "--draws")
    # Oracle: gancheck.verdict on each generator's (8, 60) slice, as the API judges it.
    for index, draws in enumerate([fine, stuck]):
        expected = gancheck.verdict(draws.astype(np.float32).astype(float)).judge
        got = [r for r in rows if r["generator"] == index]
        assert [r["test"] for r in got] == list(expected["test"])
        np.testing.assert_allclose([r["pvalue"] for r in got], expected["pvalue"], rtol=1e-12)
    assert "2 generator(s) x 8 draws x 60 values" in err
    assert "outcomes: generator 0 " in err and "generator 1 collapsed" in err


def test_a_3d_array_table_names_each_generator(tmp_path, rng, capsys):
    path = tmp_path / "samples.npy"
    np.save(path, rng.normal(4.0, 1.25, size=(2, 5, 40)))
    code, out, _ = run(["score", path, "--draws"], capsys)
    assert code == 0
    assert f"generator 0 ({path}[0]):" in out and f"generator 1 ({path}[1]):" in out
    assert out.count("verdict: ") == 2 and "outcomes: generator 0 " in out


@pytest.mark.parametrize("options, words", [
    ([], "add --draws to judge each generator"),
    (["--draws", "--column", "2"], "no column to pick"),
    (["--draws", "--layout", "columns"], "a generator's draws are its rows"),
])
def test_a_3d_array_without_its_reading_is_refused_in_one_line(tmp_path, rng, capsys, options, words):
    path = tmp_path / "samples.npy"
    np.save(path, rng.normal(4.0, 1.25, size=(2, 5, 40)))
    code, out, err = run(["score", path, *options], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err


def test_a_3d_reference_and_a_4d_array_are_refused(tmp_path, rng, capsys):
    cube, sample = tmp_path / "cube.npy", tmp_path / "sample.npy"
    np.save(cube, rng.normal(size=(2, 5, 40)))
    np.save(sample, rng.normal(4.0, 1.25, size=40))
    code, _, err = run(["score", sample, "--reference", cube], capsys)
    assert code == 2 and "expected a 1-D or 2-D array, got shape (2, 5, 40)" in err
    np.save(cube, rng.normal(size=(2, 2, 5, 40)))
    code, _, err = run(["score", cube, "--draws"], capsys)
    assert code == 2 and "got shape (2, 2, 5, 40)" in err


def test_score_into_a_closed_pipe_ends_quietly(tmp_path, rng):
    # `score FILE | head -1`: the reader leaves after one line. No "error: Broken pipe", and the
    # exit code a shell gives a command that SIGPIPE ended (128 + 13).
    path = tmp_path / "many.npy"
    np.save(path, rng.normal(4.0, 1.25, size=(400, 50)))
    command = (f"{sys.executable} -m gancheck score {path} --format csv | head -1; "
               "echo \"status ${PIPESTATUS[0]}\" >&2")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("sample,sample_name,test")
    assert "status 141" in done.stderr and "error" not in done.stderr and "Traceback" not in done.stderr


# -- empty lines: a one-column file's missing value ------------------------------------------------

def test_an_empty_line_between_values_of_one_column_is_a_missing_value(tmp_path, rng, capsys):
    # A spreadsheet writes an empty cell of a one-column sheet as an empty line: it was dropped,
    # and the sample passed on 499 of its 500 values. It is now missing, which fails the sample;
    # empty lines after the last value still end the file.
    x = rng.normal(4.0, 1.25, size=500)
    lines = ["v", *(f"{v:.6f}" for v in x)]
    lines.insert(12, "")
    path = tmp_path / "gap.csv"
    path.write_text("\n".join(lines) + "\n\n\n")
    rows, err = scored(path, capsys)
    assert {r["n"] for r in rows} == {501} and {r["status"] for r in rows} == {"non-finite values"}
    assert all(r["reject"] for r in rows) and "empty line 13 between values read as missing" in err
    # Without the gap, the trailing empty lines change nothing.
    path.write_text("\n".join(lines[:12] + lines[13:]) + "\n\n\n")
    rows, err = scored(path, capsys)
    assert {r["n"] for r in rows} == {500} and {r["status"] for r in rows} == {"ok"}
    assert "empty line" not in err


def test_empty_lines_in_a_file_of_several_columns_are_skipped(tmp_path, rng):
    x = rng.normal(4.0, 1.25, size=(40, 2))
    path = tmp_path / "two.csv"
    rows = ["a,b", *(f"{u:.6f},{v:.6f}" for u, v in x)]
    rows.insert(5, "")
    path.write_text("\n".join(rows) + "\n")
    table = readers.read_table(str(path))
    np.testing.assert_allclose(table.values, np.round(x, 6))


@pytest.mark.parametrize("name, text, line", [("dc.txt", "5,46\n1,78\n3,9\n", 1),
                                              ("dc.tsv", "a\tb\n4,05\t3,2\n", 2)])
def test_a_decimal_comma_is_named_wherever_it_is_read(tmp_path, capsys, name, text, line):
    # In a whitespace or tab file "5,46" is one field: it was taken for a header name, and the
    # next line was refused as "not a number" without the reason.
    path = tmp_path / name
    path.write_text(text)
    code, out, err = run(["score", path], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"line {line}" in err and "a decimal comma" in err
