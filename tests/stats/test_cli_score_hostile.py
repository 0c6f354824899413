"""Files `gancheck score` must refuse: one line naming the file and the problem, exit 2, no
traceback, and memory bounded whatever the file claims (issues 17 and 18)."""
import io
import sys
import tracemalloc

import numpy as np
import pytest

from gancheck.cli import memory, readers
from tests.stats.test_cli_score import run


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
    refused(capsys, [path], "dense.csv", "too big for memory", f"more than {readers.CHUNK_FIELDS:,} values")


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
