"""Files `gancheck score` must refuse: one line naming the file and the problem, exit 2, no
traceback, and memory bounded whatever the file claims."""
import io
import os
import subprocess
import sys
import tracemalloc
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from gancheck.cli import memory, readers, text_values
from gancheck.cli import score as score_cli
from gancheck.signals import Terminated
from tests.stats.test_cli_score import run

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def refused(capsys, argv, *fragments):
    code, out, err = run(["score", *argv], capsys)
    assert code == 2 and out == "", err
    assert err.count("\n") == 1 and err.startswith("error: "), err  # one line, no traceback
    for fragment in fragments:
        assert fragment in err, err
    return err


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_text_in_a_named_numeric_column_names_line_and_column(tmp_path, capsys):
    path = write(tmp_path, "values.csv", "value\n1.0\n2.0\nabc\n")
    refused(capsys, [path], "values.csv", "line 4, column 'value': 'abc' is not a number")


def test_text_in_a_headerless_file_names_line_and_column(tmp_path, capsys):
    path = write(tmp_path, "plain.csv", "1,2\n3,x\n")
    refused(capsys, [path], "plain.csv", "line 2, column 'column 2': 'x' is not a number")


def test_an_underscore_inside_a_number_is_text_not_a_digit_separator(tmp_path, capsys):
    # Python's float() and numpy read "1_0" as 10; in a data file it is a typing slip.
    path = write(tmp_path, "values.csv", "value\n1_0\n2\n3\n4\n5\n6\n7\n8.5\n")
    refused(capsys, [path], "line 2, column 'value': '1_0' is not a number")


@pytest.mark.parametrize("error", ["#N/A", "#DIV/0!", "#VALUE!", "#NAME?"])
def test_a_spreadsheet_error_cell_is_a_missing_value_that_fails_its_sample(tmp_path, capsys, error):
    """A cell Excel could not compute is written as e.g. #N/A. Read as a comment, its row would
    vanish and the sample pass; it is a missing value, so its sample fails and the others stand."""
    a, b = np.random.default_rng(1).normal(4, 1.25, (2, 10))
    rows = [f"{error},{b[0]:.6f}", *(f"{x:.6f},{y:.6f}" for x, y in zip(a[1:], b[1:]))]
    path = write(tmp_path, "sheet.csv", "a,b\r\n" + "\r\n".join(rows) + "\r\n")
    code, out, _ = run(["score", path, "--format", "json"], capsys)
    table = pd.read_json(io.StringIO(out))
    assert code == 0 and set(table["n"]) == {10}            # no row lost, in either column
    a, b = table[table["sample_name"] == "a"], table[table["sample_name"] == "b"]
    assert (a["status"] == "non-finite values").all() and a["reject"].all()
    assert (b["status"] == "ok").all()
    # Alone on a line and first in a headerless column, it is still a value, not a comment.
    path = write(tmp_path, "column.csv", f"{error}\n" + "".join(f"{4 + 0.1 * i:.1f}\n" for i in range(9)))
    code, out, _ = run(["score", path, "--format", "json"], capsys)
    table = pd.read_json(io.StringIO(out))
    assert code == 0 and set(table["n"]) == {10} and (table["status"] == "non-finite values").all()


def test_rows_blank_in_every_sample_at_the_end_are_no_rows(tmp_path, capsys):
    """A spreadsheet saves its formatted empty rows as lines of bare delimiters: draws of equal
    length followed by them are still draws of one length."""
    a, b = np.random.default_rng(0).normal(4, 1.25, (2, 100))
    body = "a,b\n" + "".join(f"{x:.6f},{y:.6f}\n" for x, y in zip(a, b))
    code, out, err = run(["score", write(tmp_path, "sheet.csv", body + ",\n" * 5), "--draws"], capsys)
    assert code == 0 and "2 noise draw(s) of one generator of 100 values (5 rows at the end blank" in err
    # A draw that really is shorter is still refused.
    refused(capsys, [write(tmp_path, "short.csv", body + "1.0,\n" + ",\n" * 4), "--draws"],
            "--draws needs draws of one length", "'b' after 100 of 101 rows")


def test_quoted_numbers_in_whitespace_text_are_data_not_a_header(tmp_path, capsys):
    # The same lines as .csv were read right; as .txt the first quoted value became a name.
    values = [4.118, 1.234, 3.5, 4.2, 5.1, 3.3, 4.9, 2.8, 4.0]
    text = "".join(f'"{v}"\n' for v in values)
    for name in ("quoted.txt", "quoted.csv"):
        code, out, err = run(["score", write(tmp_path, name, text), "--format", "json"], capsys)
        assert code == 0 and "no header row" in err and set(pd.read_json(io.StringIO(out))["n"]) == {9}


def test_a_headerless_file_of_decimal_commas_is_refused_not_split_into_pairs(tmp_path, capsys):
    """A European spreadsheet saves 4.05 as 4,05: read as two columns, each line was a sample of
    2 values, every one "too few values", exit 0. Whole-number pairs stay two columns."""
    values = np.random.default_rng(0).normal(4, 1.25, 500)
    path = write(tmp_path, "comma.csv", "".join(f"{v:.2f}".replace(".", ",") + "\n" for v in values))
    first = next(i for i, v in enumerate(values, 1) if f"{v:.2f}".split(".")[1].startswith("0"))
    refused(capsys, [path], f"line {first}:", "decimal comma")
    pairs = write(tmp_path, "pairs.csv", "".join(f"{a},{b}\n" for a, b in [(3, 10), (4, 2), (0, 7)] * 4))
    code, out, err = run(["score", pairs, "--format", "json"], capsys)
    assert code == 0 and "12 sample(s) of 2 values" in err


def test_a_headerless_file_with_thousands_separators_is_refused_not_split(tmp_path, capsys):
    """1,004,431.980 written for display: split at its commas, each line was a sample of 3
    values, every row "too few values", exit 0. Columns of whole numbers stay columns."""
    values = np.random.default_rng(3).normal(1e6, 1250, 500)
    path = write(tmp_path, "thousands.csv", "".join(f"{v:,.3f}\n" for v in values))
    refused(capsys, [path, "--mean", "1e6", "--std", "1250"], "line 1:", "thousands separators")
    # A leading zero in a group: 1,034.5 is not the columns 1 and 34.5 written as 034.5.
    refused(capsys, [write(tmp_path, "zero.csv", "1,034.5\n2,117.25\n")], "line 1:", "thousands separators")
    # A row per sample of three-digit values and a decimal last one is 11 values, not a number
    # (thousands take at most 6 groups).
    long_row = "494,568,467,518,545,505,463,454,477,511,123.5\n"
    for name, text, shape in (("ints.csv", "1,234,567\n2,345,678\n", "2 sample(s) of 3 values"),
                              ("pairs.csv", "1,234.5\n2,345.5\n", "2 sample(s) of 2 values"),
                              ("row.csv", long_row * 2, "2 sample(s) of 11 values")):
        code, _, err = run(["score", write(tmp_path, name, text), "--format", "json"], capsys)
        assert code == 0 and shape in err, err


def test_excels_sep_line_is_read_as_the_delimiter_it_names(tmp_path, capsys):
    """Excel writes "sep=," above a CSV's header: read as data it made the next line "line 2 has
    1 values, expected 2". It names the delimiter: the file's own is dropped, another refused."""
    values = np.random.default_rng(4).normal(4, 1.25, 50)
    body = "value\n" + "".join(f"{v:.4f}\n" for v in values)
    code, out, err = run(["score", write(tmp_path, "excel.csv", "sep=,\n" + body), "--format", "json"], capsys)
    plain = run(["score", write(tmp_path, "plain.csv", body), "--format", "json"], capsys)[1]
    assert code == 0 and "header row on line 2: 'value'" in err
    assert out == plain   # the same sample, scored the same
    refused(capsys, [write(tmp_path, "semicolon.csv", "sep=;\nvalue\n4,1\n")], "line 1:", "names ';'")


def test_r_write_table_s_row_names_are_an_index_not_a_sample(tmp_path, capsys):
    """R's write.table(x, sep = ",") names no column for its row names "1", "2", ...: each data
    line has one field more than the header. Other short headers are still refused."""
    values = np.random.default_rng(2).normal(4, 1.25, 9)
    body = '"x"\n' + "".join(f'"{i}",{v:.6f}\n' for i, v in enumerate(values, 1))
    code, out, err = run(["score", write(tmp_path, "r.csv", body), "--format", "json"], capsys)
    table = pd.read_json(io.StringIO(out))
    assert code == 0 and set(table["sample_name"]) == {"x"} and set(table["n"]) == {9}
    assert "R's write.table" in err
    # Oracle: scipy's KS test of the same nine values against N(4, 1.25).
    ks = table.set_index("test").loc["ks", "pvalue"]
    from scipy import stats
    assert ks == pytest.approx(stats.kstest(values.round(6), stats.norm(4, 1.25).cdf).pvalue, rel=1e-9)
    named = '"x"\n' + "".join(f'"r{i}",{v:.6f}\n' for i, v in enumerate(values, 1))
    refused(capsys, [write(tmp_path, "named.csv", named)], "line 2 has 2 values, expected 1")


def test_comments_still_end_a_line(tmp_path, capsys):
    path = write(tmp_path, "notes.csv", "# written by hand\nvalue # the sample\n"
                 + "".join(f"{4 + 0.1 * i:.1f} # ok\n" for i in range(9)))
    code, out, _ = run(["score", path, "--format", "json"], capsys)
    table = pd.read_json(io.StringIO(out))
    assert code == 0 and set(table["sample_name"]) == {"value"} and set(table["n"]) == {9}


def test_ragged_rows(tmp_path, capsys):
    path = write(tmp_path, "ragged.csv", "1,2,3\n4,5\n")
    refused(capsys, [path], "ragged.csv", "line 2 has 2 values, expected 3")


@pytest.mark.parametrize("name", ["empty.csv", "empty.tsv", "empty.txt"])
def test_empty_file(tmp_path, capsys, name):
    refused(capsys, [write(tmp_path, name, "")], name, "no values")


def test_header_with_no_data(tmp_path, capsys):
    path = write(tmp_path, "header.csv", "g1,g2\n\n")
    refused(capsys, [path], "header.csv", "header row ('g1', 'g2') but no data rows")


def test_unknown_column_lists_the_known_ones(tmp_path, capsys):
    path = write(tmp_path, "two.csv", "g1,g2\n1,2\n")
    refused(capsys, [path, "--column", "g3"], "two.csv", "no column 'g3'", "columns are: 'g1', 'g2'")
    plain = write(tmp_path, "plain.csv", "1,2\n3,4\n")
    refused(capsys, [plain, "--column", "3"], "plain.csv", "no header", "from 1 to 2")


def test_an_npz_that_cannot_be_opened_is_not_called_damaged(tmp_path, capsys, monkeypatch):
    path = tmp_path / "locked.npz"
    np.savez(path, draws=np.zeros((2, 8)))
    # chmod does not stop root, who runs CI: the refusal the file system gives is made here.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(zipfile, "ZipFile", refuse)
    refused(capsys, [path], "locked.npz: cannot read: Permission denied")


def test_npz_keys(tmp_path, capsys):
    path = tmp_path / "pair.npz"
    np.savez(path, a=np.zeros(10), b=np.ones(10))
    refused(capsys, [path], "pair.npz", "several arrays (a, b)", "--key")
    refused(capsys, [path, "--key", "c"], "pair.npz", "no array 'c'", "a, b")
    refused(capsys, [write(tmp_path, "x.csv", "1\n"), "--key", "a"], "x.csv", "--key applies to .npz")


def test_npz_that_is_not_an_archive_or_holds_objects(tmp_path, capsys):
    refused(capsys, [write(tmp_path, "fake.npz", "not a zip")], "fake.npz", "not a .npz archive")
    pickled = tmp_path / "objects.npz"
    np.savez(pickled, x=np.array([{"a": 1}], dtype=object))
    refused(capsys, [pickled], "objects.npz", "Python objects")


def test_text_file_too_big_for_memory_says_its_size(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, "big.csv", "4.0\n" * 5_000)  # 20,000 bytes
    monkeypatch.setattr(memory, "available_bytes", lambda: 10_000)
    refused(capsys, [path], "big.csv", "(20.0 kB)", "too big for memory")


def test_short_values_are_caught_while_reading(tmp_path, monkeypatch, capsys):
    # 200,000 two-character values pass the size check (2 x 400 kB < the 1 MB budget) but their
    # float64 array and its copy (16 bytes each) do not fit: reading stops at the first chunk.
    path = write(tmp_path, "dense.csv", "1\n" * 200_000)
    monkeypatch.setattr(memory, "available_bytes", lambda: 2_000_000)
    refused(capsys, [path], "dense.csv", "too big for memory", f"more than {text_values.CHUNK_FIELDS:,} values")


def test_npy_too_big_for_memory(tmp_path, monkeypatch, capsys):
    path = tmp_path / "big.npy"
    np.save(path, np.zeros((100, 100)))  # 80 kB of data
    monkeypatch.setattr(memory, "available_bytes", lambda: 100_000)
    refused(capsys, [path], "big.npy", "too big for memory", "shape (100, 100)")


def npy_header(path, shape, version=(1, 0)):
    """A .npy header claiming ``shape`` float64, and no data; returns the open file."""
    handle = path.open("wb")
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    writer = {(1, 0): np.lib.format.write_array_header_1_0, (2, 0): np.lib.format.write_array_header_2_0}
    writer[version](handle, header)
    return handle


def peak_bytes(action):
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_npy_header_claiming_an_absurd_shape_allocates_nothing(tmp_path, capsys):
    path = tmp_path / "absurd.npy"
    with npy_header(path, (10**12, 10**12)) as handle:
        handle.write(b"\0" * 64)
    peak = peak_bytes(lambda: refused(capsys, [path], "absurd.npy", "header claims shape",
                                      "truncated or corrupt"))
    assert peak < 5_000_000  # the claimed 8e24 bytes were never asked for


def test_multi_gigabyte_npy_is_refused_from_its_header(tmp_path, capsys):
    # A real 64 GiB file (sparse: no disk used) whose header matches its size: only the memory
    # check can stop it, and it must before reading any data.
    shape = (2**33,)
    if memory.budget() > 8 * 2**33:
        pytest.skip("this machine could hold a 64 GiB array")
    path = tmp_path / "huge.npy"
    try:
        with npy_header(path, shape) as handle:
            handle.truncate(handle.tell() + 8 * 2**33)
    except OSError as exc:
        pytest.skip(f"cannot make a sparse 64 GiB file here: {exc}")
    peak = peak_bytes(lambda: refused(capsys, [path], "huge.npy", "too big for memory", "68.7 GB"))
    assert peak < 5_000_000


def test_npy_with_a_gigabyte_header_length(tmp_path, capsys):
    path = tmp_path / "long_header.npy"
    # Magic, version 2.0, then a 4-byte header length of 2**31: numpy's reader refuses it unread.
    path.write_bytes(b"\x93NUMPY\x02\x00" + (2**31).to_bytes(4, "little") + b"{")
    peak = peak_bytes(lambda: refused(capsys, [path], "long_header.npy", "unreadable .npy header"))
    assert peak < 5_000_000


@pytest.mark.parametrize("name, line", [
    ("wide.csv", "0," * 999_999 + "0\n"),                   # a million one-digit columns
    ("wide.txt", "0 " * 999_999 + "0\n"),                   # the same, whitespace-separated
    ("long.csv", "0.123456789012345678," * 999_999 + "0\n"),  # longer than any line read
])
def test_a_million_columns_is_refused_in_bounded_memory(tmp_path, capsys, name, line):
    path = write(tmp_path, name, line)
    del line
    peak = peak_bytes(lambda: refused(capsys, [path], name, "columns", f"at most {readers.MAX_COLUMNS:,}"))
    # A million one-character strings alone take 50 MB (sys.getsizeof("0") == 50 on CPython):
    # staying under 30 MB shows they were never made. The line itself is read once (<= 4 MB chars).
    assert peak < 30_000_000


def test_stdin_empty_and_too_big(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    refused(capsys, ["-"], "standard input", "no values")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"4.0\n" * 10_000)))
    monkeypatch.setattr(memory, "available_bytes", lambda: 20_000)
    refused(capsys, ["-"], "standard input", "too big for memory")


# -- headers checked completely -------------------------------------------------------------------

def _raw_npy(path, shape_text: str, data: bytes = b"") -> None:
    """A .npy whose header states ``shape_text`` verbatim (numpy's writer refuses bad shapes)."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': %s, }" % shape_text
    header += " " * (63 - (10 + len(header)) % 64) + "\n"   # pad to 64 bytes, as numpy does
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data)


@pytest.mark.parametrize("shape", ["(-1,)", "(-3, -4)", "(2, -1)"])
def test_a_negative_dimension_is_refused_naming_the_file(tmp_path, capsys, shape):
    path = tmp_path / "negative.npy"
    _raw_npy(path, shape, b"\0" * 64)
    peak = peak_bytes(lambda: refused(capsys, [path], "negative.npy", "negative dimension"))
    assert peak < 5_000_000   # nothing of a declared size was allocated


def test_rows_over_the_cap_are_refused_from_the_header(tmp_path, capsys):
    path = tmp_path / "wide.npy"
    np.save(path, np.zeros((1, readers.MAX_COLUMNS + 1)))   # one row of 100,001 values
    refused(capsys, [path], "wide.npy", f"at most {readers.MAX_COLUMNS:,} values per row")


# -- one budget for the whole command ------------------------------------------------------------

def test_the_budget_covers_scoring_not_only_reading(tmp_path, monkeypatch, capsys):
    # 100,000 float64 values: reading takes 0.8 MB (plus one chunk), scoring about 9 times that
    # (memory.SCORE_FACTOR, measured). With 4 MB usable, reading alone would fit, scoring not.
    path = tmp_path / "sample.npy"
    np.save(path, np.random.default_rng(3).normal(4, 1.25, 100_000))
    monkeypatch.setattr(memory, "available_bytes", lambda: 8_000_000)
    refused(capsys, [path], "sample.npy", "too big for memory", "scoring 1 sample(s) of 100,000 values",
            "4.0 MB can be used")


def test_a_compressed_bomb_is_refused_before_it_is_inflated(tmp_path, monkeypatch, capsys):
    # 2 M zeros (16 MB, 20 samples of 100,000) deflate to about 16 kB; the header's shape is
    # compared with the budget before a byte of data is inflated.
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, x=np.zeros((20, 100_000)))
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(memory, "available_bytes", lambda: 100_000_000)   # 50 MB usable
    peak = peak_bytes(lambda: refused(capsys, [path], "bomb.npz", "too big for memory"))
    assert peak < 5_000_000


def test_scoring_in_chunks_gives_the_table_of_one_call(monkeypatch):
    # The chunked scorer must be invisible: the same rows as gancheck.stats.score in one call.
    from gancheck.stats.scoring import score
    samples = np.random.default_rng(5).normal(4, 1.25, (7, 50))
    monkeypatch.setattr(memory, "CHUNK_VALUES", 120)   # 2 samples of 50 values per chunk
    chunked = score_cli.score_in_chunks(samples, mean=4.0, std=1.25, alpha=0.05)
    whole = score(samples, mean=4.0, std=1.25, alpha=0.05)
    # Equal up to the order of floating-point sums (vectorised over 2 rows or 7): 1e-14 seen.
    pd.testing.assert_frame_equal(chunked, whole, rtol=1e-12, atol=0)


# -- damaged archives and streams ----------------------------------------------------------------

def _patched_npz(path, *, method=None, flags=None, corrupt=False, compression=zipfile.ZIP_DEFLATED):
    """An .npz of one array, then damaged: its compression method or flag bits rewritten in the
    local and central headers (where zipfile reads them), or its compressed bytes scrambled."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.random.default_rng(4).normal(4, 1.25, 2000))
        archive.writestr("x.npy", buffer.getvalue())
    data = bytearray(path.read_bytes())
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    if method is not None:
        data[local + 8:local + 10] = data[central + 10:central + 12] = method.to_bytes(2, "little")
    if flags is not None:
        data[local + 6:local + 8] = data[central + 8:central + 10] = flags.to_bytes(2, "little")
    if corrupt:
        start = local + 30 + int.from_bytes(data[local + 26:local + 28], "little")
        data[start + 10:start + 400] = bytes(range(256)) + bytes(range(134))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["encrypted", "deflate64", "corrupt deflate", "corrupt lzma"])
def test_a_damaged_npz_is_one_line(tmp_path, capsys, damage):
    path = tmp_path / "damaged.npz"
    if damage == "encrypted":
        _patched_npz(path, flags=0x1)
    elif damage == "deflate64":
        _patched_npz(path, method=9)          # zipfile cannot inflate method 9
    elif damage == "corrupt deflate":
        _patched_npz(path, corrupt=True)
    else:
        _patched_npz(path, corrupt=True, compression=zipfile.ZIP_LZMA)
    refused(capsys, [path], "damaged.npz", "damaged or unsupported .npz")


def test_closed_stdin_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", None)   # what Python makes of `<&-`
    refused(capsys, ["-"], "standard input", "closed")


@pytest.mark.slow
def test_closed_and_unreadable_stdin_at_the_real_entry_point(tmp_path):
    # `<&-` closes descriptor 0; `0>file` opens it for writing only, so reading it fails (EBADF).
    env = {**os.environ, "PYTHONPATH": REPO_ROOT}
    closed = subprocess.run(["bash", "-c", f"{sys.executable} -m gancheck score - <&-"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120, env=env)
    write_only = os.open(tmp_path / "sink", os.O_WRONLY | os.O_CREAT)
    try:
        unreadable = subprocess.run([sys.executable, "-m", "gancheck", "score", "-"], stdin=write_only,
                                    cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=env)
    finally:
        os.close(write_only)
    for proc, expect in ((closed, "closed"), (unreadable, "cannot read")):
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and expect in proc.stderr and "Traceback" not in proc.stderr


def test_stdin_text_is_streamed_not_held(monkeypatch, capsys):
    # 20,000 values sent as 200 kB of text: parsed line by line (one sample, one output table).
    values = np.random.default_rng(6).normal(4, 1.25, 20_000)
    text = "".join(f"{v:.6f}\n" for v in values).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    code, out, err = run(["score", "-", "--format", "csv"], capsys)
    assert code == 0, err
    assert "20000 values" in err   # the note counts what was read: every line


# -- score's own words ---------------------------------------------------------------------------

def test_sigterm_during_score_does_not_speak_of_resuming(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, "x.csv", "4.0\n4.5\n3.9\n")
    def stopped(*args, **kwargs):
        raise Terminated()
    monkeypatch.setattr(score_cli, "score_in_chunks", stopped)
    code, out, err = run(["score", str(path)], capsys)
    assert code == 143   # 128 + SIGTERM, as a shell reports it
    assert "resume" not in err and "saved" not in err and err.startswith("terminated")


def test_out_of_memory_advice_is_about_scoring(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, "x.csv", "4.0\n4.5\n3.9\n")
    def exhausted(*args, **kwargs):
        raise MemoryError()
    monkeypatch.setattr(score_cli, "score_in_chunks", exhausted)
    err = refused(capsys, [path], "x.csv", "not enough memory")
    assert "--hidden" not in err and "--seeds" not in err and "--workers" not in err


@pytest.mark.parametrize("mean, std", [(1e300, 1e-300), (1e308, 1e308)])
def test_extreme_accepted_targets_print_no_numpy_warnings(tmp_path, capsys, mean, std):
    path = tmp_path / "x.csv"
    np.savetxt(path, np.random.default_rng(1).normal(4, 1.25, 200))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run(["score", str(path), "--mean", repr(mean), "--std", repr(std)], capsys)
    assert code == 0, err
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []
    assert "Warning" not in err


def test_a_sample_over_the_cap_is_refused_before_it_is_read(tmp_path, capsys):
    # The row cap holds for a column-layout sample too: 100,001 values in one column.
    path = tmp_path / "long.npy"
    np.save(path, np.zeros(readers.MAX_COLUMNS + 1))
    refused(capsys, [path], "long.npy", "100,001 values", f"at most {readers.MAX_COLUMNS:,} values per sample")
