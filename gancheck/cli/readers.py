"""Read the files users bring to `gancheck score` into one labelled table of float64 values.

Sources: .csv (comma), .tsv (tab), .txt (whitespace), .npy, .npz (one array, --key), .parquet
(through pandas, where pyarrow is installed) and "-" for standard input (text, or .npy bytes).
Text files may start with a header row: with header="auto" the first row is a header when none
of its fields is a number, or when it is pandas' default column labels 0, 1, ..., k-1. Quoted
fields of .csv and .tsv are read as CSV (Python's csv module): a name may hold the delimiter.
Every unusable file raises UsageError naming the file and the problem (with the line and column
for text), and nothing bigger than this machine's memory is read: ``admit``, given by the
command, is called with the table's (rows, columns) as soon as they are known (before any data
of a .npy, .npz or .parquet is read; after text is parsed, the parsing itself being held to the
budget) and refuses what the whole command could not hold.
"""
from __future__ import annotations

import io
import itertools
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Callable, Sequence, TextIO

import numpy as np

from gancheck.cli import UsageError, memory, npyfiles
from gancheck.cli.spreadsheet_text import (WHOLE, Replay, refuse_decimal_commas, refuse_thousands_separators,
                                         without_excel_sep)
from gancheck.cli.text_lines import are_pandas_labels, column_name, looks_like_header, pandas_labels_note, strip_comment
from gancheck.cli.text_values import (MAX_COLUMNS, MAX_LINE_CHARS, BlankLinesAsMissing, LastFieldWatch,
                                      data_lines, parse_rows, without_blank_lines)

STDIN = "-"
DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": None}  # None: runs of whitespace (np.loadtxt's default)
SUFFIXES = (*DELIMITERS, ".npy", ".npz", ".parquet")
HEADER_MODES = ("auto", "yes", "no")


@dataclass(frozen=True)
class Table:
    """values: (rows, columns) float64. labels: one per column, for the output ("value" from a
    header, else "column 3"). names: the header's names, None without a header. note: what was
    assumed about a header, for the user (None where the format says it, as .npy does). blank:
    True where a text field was blank (None when none was, and for other formats). generators:
    for a 3-D .npy/.npz array (G, K, n), as `gancheck train` writes its samples.npy, G; its rows
    are then the G·K draws, generator by generator."""

    values: np.ndarray
    labels: tuple[str, ...]
    source: str
    names: tuple[str, ...] | None = None
    note: str | None = None
    blank: np.ndarray | None = None
    generators: int | None = None  # a 3-D array's first axis: its rows are this many equal groups


#: admit(source, rows, columns, named): refuse (UsageError) a table the command cannot hold.
Admit = Callable[[str, int, int, bool], None]


def _no_admit(source: str, rows: int, columns: int, named: bool) -> None:
    pass


def read_table(path: str, *, key: str | None = None, header: str = "auto",
               columns: Sequence[str] | None = None, admit: Admit = _no_admit,
               key_option: str | None = "--key", generators: str | None = None) -> Table:
    """Read ``path`` (or standard input for "-"), keeping only ``columns`` when given.
    ``key_option``: the option that picks an .npz archive's array, named when one must be
    picked (None: this file has no such option, and must hold one array). ``generators``: None
    refuses a 3-D array; else it is read as generators' draws (Table.generators), and this text
    is added to the refusal of --column, which would pick value positions."""
    if key is not None and not path.lower().endswith(".npz"):
        raise UsageError(f"{path}: --key applies to .npz archives only")
    if path == STDIN:
        table = _read_stdin(header, columns, admit, generators)
    else:
        table = _read_path(Path(path), key, header, columns, admit, key_option, generators)
    return table


def _array_admit(admit: Admit, source: str, columns, generators: str | None) -> Callable[[tuple], None]:
    """An array's shape, checked and given to ``admit`` before its data is read."""
    def check(shape: tuple) -> None:
        if len(shape) == 3:
            if generators is None:
                raise UsageError(f"{source}: expected a 1-D or 2-D array, got shape {shape}")
            if columns:
                raise UsageError(f"{source}: --column with a 3-D array (generators x draws x values, "
                                 f"shape {shape}): {generators}")
            shape = (shape[0] * shape[1], shape[2])
        rows, width = (shape[0], 1) if len(shape) == 1 else shape
        admit(source, rows, len(columns) if columns else width, bool(columns))
    return check


def _read_path(path: Path, key, header, columns, admit: Admit, key_option: str | None,
               generators: str | None) -> Table:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"{path}: unsupported file type {path.suffix!r} "
                         f"(use {', '.join(SUFFIXES)}, or - for standard input)")
    if not path.is_file():
        raise UsageError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    size = path.stat().st_size
    source = str(path)
    try:
        if suffix == ".npy":
            array = npyfiles.read_npy_file(path, _array_admit(admit, source, columns, generators))
            return _array_table(array, source, path.stem, columns)
        if suffix == ".npz":
            array, key = npyfiles.read_npz(path, key, _array_admit(admit, source, columns, generators),
                                           key_option)
            return _array_table(array, f"{path}[{key}]", key, columns)
        if suffix == ".parquet":
            return _read_parquet(path, columns, admit)
        # Values written as text take 4 characters or more ("4.1,"), so 2 x size bytes of float64;
        # parsing also stops once the values read exceed the budget, whatever their width.
        memory.require(f"{path} ({memory.human(size)})", 2 * size, "its values")
        with path.open(encoding="utf-8-sig", newline=None) as handle:
            table = parse_text(handle, DELIMITERS[suffix], source, header=header, columns=columns)
        admit(source, *table.values.shape, table.names is not None or bool(columns))
        return table
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a text file (not UTF-8)") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _read_stdin(header, columns, admit: Admit, generators: str | None) -> Table:
    """Standard input, streamed: .npy bytes (its header checked before its data is read) or text
    parsed line by line, never held whole. Closed or unreadable, it is one line like a file."""
    source = "standard input"
    if sys.stdin is None:  # `gancheck score - <&-`: Python found no descriptor 0
        raise UsageError(f"{source}: closed (nothing to read); pipe the values in, or give a file")
    try:
        stream = getattr(sys.stdin, "buffer", None)  # bytes, so that .npy can come through a pipe
        if stream is None:  # a text-only stream (an embedding program's): text, then
            return _parse_stream(sys.stdin, source, header, columns, admit)
        head = npyfiles._read_exactly(stream, len(npyfiles.MAGIC))
        joined = io.BufferedReader(_Prefixed(head, stream), buffer_size=1 << 16)
        if head == npyfiles.MAGIC:
            array = npyfiles.read_npy(joined, source, None, _array_admit(admit, source, columns, generators))
            return _array_table(array, source, "stdin", columns)
        text = io.TextIOWrapper(joined, encoding="utf-8-sig", newline=None)
        return _parse_stream(text, source, header, columns, admit)
    except UnicodeDecodeError:
        raise UsageError(f"{source}: not text (UTF-8) nor .npy bytes") from None
    except (OSError, ValueError) as exc:  # a descriptor opened for writing, a folder, a closed file
        if isinstance(exc, UsageError):
            raise
        raise UsageError(f"{source}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def _parse_stream(handle: TextIO, source: str, header, columns, admit: Admit) -> Table:
    held, delimiter = _sniff_lines(handle)
    table = parse_text(Replay(held, handle), delimiter, source, header=header, columns=columns)
    admit(source, *table.values.shape, table.names is not None or bool(columns))
    return table


class _Prefixed(io.RawIOBase):
    """Bytes already taken from a stream (to look for .npy's magic), then the rest of it."""

    def __init__(self, head: bytes, rest):
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        data = self.rest.read1(len(buffer)) if hasattr(self.rest, "read1") else self.rest.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _sniff_lines(handle: TextIO) -> tuple[list[str], str | None]:
    """The lines up to the first holding data, and the delimiter that line uses."""
    held = []
    while line := handle.readline(MAX_LINE_CHARS):
        held.append(line)
        content = strip_comment(line)
        if content.strip():
            return held, _sniff_delimiter(content)
    return held, None


def _sniff_delimiter(text: str) -> str | None:
    """Tab, comma or whitespace: whichever the first data line uses (tab wins, as in TSV)."""
    for line in text[:MAX_LINE_CHARS].splitlines():
        content = strip_comment(line)
        if content.strip():
            return "\t" if "\t" in content else "," if "," in content else None
    return None


def _array_table(array: np.ndarray, source: str, name: str, columns) -> Table:
    """A .npy/.npz array: 1-D is one named column; 2-D keeps its rows and columns; 3-D (G, K, n)
    is its G·K rows of n values, G generators' draws one generator after another."""
    if array.ndim == 1:
        table = Table(array[:, None], (name,), source)
    elif array.ndim == 3:
        g, k, n = array.shape
        return Table(array.reshape(g * k, n), tuple(f"column {j}" for j in range(1, n + 1)), source,
                     generators=g)
    else:
        table = Table(array, tuple(f"column {j}" for j in range(1, array.shape[1] + 1)), source)
    if columns:
        indices = _column_indices(source, columns, None, table.values.shape[1])
        table = Table(table.values[:, indices], tuple(table.labels[i] for i in indices), source)
    return table


def _read_parquet(path: Path, columns, admit: Admit) -> Table:
    if find_spec("pyarrow") is None:
        raise UsageError(f"{path}: reading .parquet needs pyarrow, which is not installed "
                         "(pip install pyarrow), or save the data as .csv or .npy")
    import pandas as pd
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        names = tuple(parquet.schema_arrow.names)
        rows = parquet.metadata.num_rows
        indices = _column_indices(str(path), columns, names, len(names)) if columns else range(len(names))
        chosen = [names[i] for i in indices]
        memory.require(str(path), 16 * rows * len(chosen), f"{rows} rows x {len(chosen)} columns")
        admit(str(path), rows, len(chosen), True)
        frame = pd.read_parquet(path, columns=chosen)
    except UsageError:
        raise
    except Exception as exc:  # pyarrow's errors (ArrowInvalid, ...) have no common base with ours
        raise UsageError(f"{path}: cannot read as parquet: {' '.join(str(exc).split())}") from None
    if rows == 0:
        raise UsageError(f"{path}: no data rows")
    for name in chosen:
        if not pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(frame[name]):
            raise UsageError(f"{path}: column {name!r} is not numeric (dtype {frame[name].dtype}); "
                             "pick the numeric ones with --column")
    values = frame.to_numpy(dtype=float, na_value=np.nan)
    return Table(values, tuple(chosen), str(path), names=tuple(chosen))


def parse_text(handle: TextIO, delimiter: str | None, source: str, *, header: str = "auto",
               columns: Sequence[str] | None = None) -> Table:
    """Parse delimited text; '#' starts a comment, blank fields are missing values (NaN)."""
    every_line = data_lines(without_excel_sep(handle, delimiter, source), source, delimiter)
    first = next(((n, f) for n, f in every_line if f is not None), None)
    # A one-column file reads an empty line between values as a missing one; wider files skip it.
    blanks = BlankLinesAsMissing(every_line) if first is not None and len(first[1]) == 1 else None
    lines = iter(blanks) if blanks is not None else without_blank_lines(every_line)
    if first is None:
        raise UsageError(f"{source}: no values in file")
    first_line, first_fields = first
    pandas_labels = header == "auto" and are_pandas_labels(first_fields)
    if pandas_labels and _lone_zero(first_fields):
        # A lone "0" is pandas' label of a Series only beside values pandas writes as floats; among
        # whole numbers (a rounded file, counts) it is the first value, as written.
        second = next(lines, None)
        lines = itertools.chain([] if second is None else [second], lines)
        pandas_labels = second is None or not all(WHOLE.match(f) for f in second[1])
    has_header = (header == "yes" or pandas_labels
                  or (header == "auto" and looks_like_header(first_fields)))
    width = len(first_fields)
    names = tuple(column_name(f, delimiter) for f in first_fields) if has_header else None
    if names is None:
        note = f"{source}: no header row (line {first_line} holds numbers)"
        rows = itertools.chain([first], lines)
    else:
        note = f"{source}: header row on line {first_line}: {_listing(names)}"
        if pandas_labels:
            note += pandas_labels_note(width - (names[0] == ""))
        second = next(lines, None)
        rows = lines if second is None else itertools.chain([second], lines)
        if second is not None and len(second[1]) == width + 1 and column_name(second[1][0], delimiter) == "1":
            # R's write.table (row.names = TRUE) names no column for its row names, "1", "2", ...:
            # each data line has one field more than the header. That first column is read as
            # pandas' index is; any other short header is still refused by the row count.
            names, width = ("", *names), width + 1
            note += ", one name short of its data lines, as R's write.table writes its row names"
    # pandas' to_csv writes its row index as a first column with an empty name: not a sample.
    index_column = names is not None and width > 1 and names[0] == ""
    if columns:
        indices = _column_indices(source, columns, names, width)
    else:
        indices = list(range(1, width)) if index_column else None
    if index_column:
        note += " (its unnamed first column is read as a row index and not scored)"
    labels = names if names is not None else tuple(f"column {j}" for j in range(1, width + 1))
    if indices is not None:
        labels = tuple(labels[i] for i in indices)
    # A delimiter ending every line ("4.1,") leaves an empty last column: not a sample. It may be
    # dropped only once every line is read (a blank first value can be a missing one).
    if names is None and delimiter == "," and width == 2:
        rows = refuse_decimal_commas(rows, source)
    if names is None and delimiter == ",":
        rows = refuse_thousands_separators(rows, source)
    trailing = None
    if not columns and not first_fields[-1].strip() and len(labels) > 1:
        rows = trailing = LastFieldWatch(rows)
    parsed = parse_rows(rows, source, width, indices, labels)
    if parsed.values.shape[0] == 0:
        raise UsageError(f"{source}: header row ({_listing(names)}) but no data rows")
    values, blank = parsed.values, parsed.blank
    if trailing is not None and trailing.blank:
        values, labels = values[:, :-1], labels[:-1]
        blank = blank[:, :-1] if blank is not None and blank[:, :-1].any() else None
        note += "; its last column, empty on every line (a delimiter ending each line), is ignored"
    elif trailing is not None:
        blank = trailing.mark_last_field(parsed).blank
    if blanks is not None and blanks.lines:
        shown = ", ".join(map(str, blanks.lines[:5])) + (f" and {len(blanks.lines) - 5} more" if len(blanks.lines) > 5 else "")
        note += (f"; empty line{'s' * (len(blanks.lines) > 1)} {shown} between values read as missing "
                 "(an empty cell), which fails the sample")
    # pandas' default labels name nothing: such a file is the frame's array as pandas holds it,
    # laid out as a headerless one (a row per sample, as np.savetxt writes d and DataFrame(d) holds it).
    named = names is not None and not pandas_labels
    return Table(values, labels, source, names=labels if named else None, note=note, blank=blank)


def _lone_zero(fields: list[str]) -> bool:
    return len(fields) == 1 and fields[0].strip() == "0"


def _listing(names: Sequence[str], most: int = 10) -> str:
    shown = ", ".join(repr(n) for n in names[:most])
    return shown if len(names) <= most else f"{shown}, ... ({len(names):,} in all)"


def _column_indices(source: str, columns: Sequence[str], names, width: int) -> list[int]:
    """Positions of the requested columns: by header name, else by 1-based number. A column asked
    for twice, or a name several header columns share, is refused: either scores a wrong sample."""
    twice = sorted({c for c in columns if list(columns).count(c) > 1})
    if twice:
        raise UsageError(f"--column {twice[0]!r}: given twice; each column is scored once")
    indices = []
    for column in columns:
        if names is not None and column in names:
            found = [i for i, name in enumerate(names) if name == column]
            if len(found) > 1:
                numbers = ", ".join(str(i + 1) for i in found)
                raise UsageError(f"{source}: --column {column!r}: {len(found)} columns of the header have "
                                 f"that name (columns {numbers}); rename them so that each is picked alone")
            indices.append(found[0])
        elif names is None and column.isascii() and column.isdigit() and 1 <= int(column) <= width:
            # isascii: '²' and '٣' are digits to str.isdigit, but not to int().
            indices.append(int(column) - 1)
        elif names is not None:
            raise UsageError(f"{source}: no column {column!r} (--column); columns are: {_listing(names)}")
        else:
            raise UsageError(f"{source}: no column {column!r} (--column); this file has no header: "
                             f"give a column number from 1 to {width}")
    return indices
