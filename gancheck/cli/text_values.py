"""A text table's data lines as float64 values, with its blank fields marked.

gancheck.cli.readers finds the header and the columns; this turns the lines after it into an
array, a bounded number of strings at a time, and says where a field was blank. A blank is a
missing value (NaN), except at the end of a shorter sample (gancheck.cli.score's ``select``):
which of the two it is depends on the layout, so the mark travels with the values.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

import numpy as np

from gancheck.cli import UsageError, memory, npyfiles
from gancheck.cli.text_lines import field_count, is_decimal_comma, is_spreadsheet_error, split_fields, strip_comment

#: Widest row read (as for .npy rows). A hostile file with a million columns is refused after
#: reading one bounded line, before a million strings are made.
MAX_COLUMNS = npyfiles.MAX_ROW_VALUES
#: Longest line read: MAX_COLUMNS values of 40 characters (np.savetxt's "%.18e" takes 25).
MAX_LINE_CHARS = MAX_COLUMNS * 40
#: Fields converted to float64 at once: bounds the Python strings alive while parsing.
CHUNK_FIELDS = 65_536


@dataclass(frozen=True)
class Values:
    """values: (rows, columns) float64, NaN where a field was blank or "nan". blank: True where
    the field was blank (None when none was)."""

    values: np.ndarray
    blank: np.ndarray | None


def data_lines(handle: TextIO, source: str, delimiter: str | None):
    """(line number, fields) of each line holding data, reading at most MAX_LINE_CHARS at once;
    (line number, None) for an empty line (comment lines are skipped), which only a one-column
    file reads as a missing value (blank_lines_as_missing)."""
    number = 0
    while line := handle.readline(MAX_LINE_CHARS):
        number += 1
        if len(line) == MAX_LINE_CHARS and not line.endswith("\n"):
            count = field_count(line, delimiter)
            if count > MAX_COLUMNS:
                raise UsageError(f"{source}: line {number} has more than {MAX_COLUMNS:,} columns "
                                 f"({count:,} in its first {MAX_LINE_CHARS:,} characters); "
                                 f"at most {MAX_COLUMNS:,} values per row are read")
            raise UsageError(f"{source}: line {number} is longer than {MAX_LINE_CHARS:,} characters")
        content = strip_comment(line)
        if not content.strip():
            if not line.strip():
                yield number, None
            continue
        count = field_count(content, delimiter)  # counted before splitting: no million strings
        if count > MAX_COLUMNS:
            raise UsageError(f"{source}: line {number} has {count:,} columns; at most "
                             f"{MAX_COLUMNS:,} values per row are read")
        yield number, split_fields(content, delimiter, source, number)


def without_blank_lines(lines):
    """data_lines' lines holding data: a file of several columns skips its empty lines."""
    return ((number, fields) for number, fields in lines if fields is not None)


class BlankLinesAsMissing:
    """A one-column file's empty lines between values, as missing values ([""]: a blank field,
    which fails its sample), as a spreadsheet writes an empty cell of one column; empty lines
    after the last value end the file. ``lines``: line numbers of those read as missing."""

    def __init__(self, lines):
        self.source, self.lines = lines, []

    def __iter__(self):
        held = []
        for number, fields in self.source:
            if fields is None:
                held.append(number)
                continue
            for blank in held:
                self.lines.append(blank)
                yield blank, [""]
            held = []
            yield number, fields


class LastFieldWatch:
    """Rows passed through, noting which leave their last field blank (``blank_rows``, by row
    index) and whether every one does (``blank``). The blank last fields are passed on as "nan",
    which keeps parse_rows on its fast path, so the caller marks them blank again
    (mark_last_field) where the last column is kept."""

    def __init__(self, rows):
        self.rows, self.blank, self.blank_rows = rows, True, []

    def __iter__(self):
        for index, (number, fields) in enumerate(self.rows):
            if fields[-1].strip():
                self.blank = False
            else:
                self.blank_rows.append(index)
                fields[-1] = "nan"
            yield number, fields

    def mark_last_field(self, parsed: Values) -> Values:
        """``parsed`` with the blank last fields marked blank in its last column."""
        if not self.blank_rows:
            return parsed
        blank = parsed.blank if parsed.blank is not None else np.zeros(parsed.values.shape, dtype=bool)
        blank[self.blank_rows, -1] = True
        return Values(parsed.values, blank)


def parse_rows(rows, source: str, width: int, indices, labels) -> Values:
    """Convert rows of strings to a (rows, len(labels)) array, CHUNK_FIELDS strings at a time."""
    kept = len(labels)
    cap = memory.budget() // 16  # values that fit, with room for the final concatenation
    blocks, pending, pending_lines, total = [], [], [], 0
    for number, fields in rows:
        if len(fields) != width:
            raise UsageError(f"{source}: line {number} has {len(fields)} values, expected {width} "
                             "(every row must have the same number of values)")
        pending.extend(fields if indices is None else [fields[i] for i in indices])
        pending_lines.append(number)
        if len(pending) >= CHUNK_FIELDS:
            blocks.append(_convert(pending, pending_lines, kept, source, labels))
            total += len(pending)
            pending, pending_lines = [], []
            if total > cap:
                memory.require(source, 16 * total, f"more than {total:,} values")
    if pending:
        blocks.append(_convert(pending, pending_lines, kept, source, labels))
    if not blocks:
        return Values(np.empty((0, kept)), None)
    values = np.concatenate([v for v, _ in blocks]) if len(blocks) > 1 else blocks[0][0]
    if all(b is None for _, b in blocks):
        return Values(values, None)
    blank = np.concatenate([b if b is not None else np.zeros(v.shape, dtype=bool) for v, b in blocks])
    return Values(values, blank)


def _convert(fields: list[str], lines: list[int], kept: int, source: str,
             labels) -> tuple[np.ndarray, np.ndarray | None]:
    """(values, blank or None) of a chunk of fields."""
    if not any("_" in field for field in fields):  # numpy would read "1_0" as 10, as Python does
        try:
            return np.array(fields, dtype=float).reshape(-1, kept), None
        except ValueError:
            pass  # a blank (missing value) or text somewhere: find it, field by field
    values = np.empty(len(fields))
    blank = np.zeros(len(fields), dtype=bool)
    for i, field in enumerate(fields):
        # Quotes around a value are allowed; a blank field, or "" (how pandas writes NaN in a
        # single column, where a blank line would vanish), is a missing value.
        text = field.strip().strip('"').strip()
        if not text:
            values[i], blank[i] = np.nan, True
            continue
        if is_spreadsheet_error(text):  # a cell that could not be computed: missing, not short
            values[i] = np.nan
            continue
        try:
            if "_" in text:
                raise ValueError(text)
            values[i] = float(text)
        except ValueError:
            comma = (" (a decimal comma: gancheck reads '.' as the decimal point; save the file with '.' "
                     "decimals)") if is_decimal_comma(text) else ""
            raise UsageError(f"{source}: line {lines[i // kept]}, column {labels[i % kept]!r}: "
                             f"{text[:40]!r} is not a number{comma}") from None
    return values.reshape(-1, kept), blank.reshape(-1, kept)
