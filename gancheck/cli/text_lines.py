"""Text tables line by line: comments, fields (quoted ones too) and which first row is a header.

gancheck.cli.readers reads a text file's lines through these; they know nothing of files,
layouts or memory.
"""
from __future__ import annotations

import csv
import re

import numpy as np

from gancheck.cli import UsageError

#: The error values a spreadsheet writes into a cell it could not compute (Excel's, which
#: LibreOffice and Google Sheets share): a missing value, not the start of a comment.
SPREADSHEET_ERRORS = ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!",
                      "#CALC!", "#FIELD!", "#GETTING_DATA", "#BLOCKED!", "#CONNECT!", "#BUSY!",
                      "#UNKNOWN!", "#EXTERNAL!", "#PYTHON!")
_ERROR_VALUE = "|".join(re.escape(e) for e in SPREADSHEET_ERRORS)
#: A line's text before its comment: runs of anything but '"' and '#', quoted runs ('#' kept
#: inside them) and spreadsheet error values. A quote left open runs to the end of the line.
_BEFORE_COMMENT = re.compile(rf'(?:[^"#]+|"[^"]*(?:"|$)|(?:{_ERROR_VALUE}))*')
_BLANKS = np.frombuffer(b" \t\r\n\v\f", dtype=np.uint8)


def are_pandas_labels(fields: list[str]) -> bool:
    """Whether a row is the header pandas writes for a frame (or Series) without column names:
    its labels 0, 1, ..., k-1 in order, after one empty cell where it wrote its index. Read as
    numbers it would be a bogus first row (or, with an index cell, a row holding a NaN)."""
    labels = [f.strip() for f in fields]
    if len(labels) > 1 and labels[0] == "":
        labels = labels[1:]
    return all(label == str(i) for i, label in enumerate(labels))


def pandas_labels_note(count: int) -> str:
    shown = "0" if count == 1 else "0, 1" if count == 2 else f"0, 1, ..., {count - 1}"
    return (f" (taken for pandas' default column label{'s' * (count > 1)} {shown}, which name no "
            "sample: laid out as a file without a header; --header no reads this line as data)")


def column_name(field: str, delimiter: str | None) -> str:
    """A header field as a column name: blanks and enclosing quotes dropped. The csv module has
    already unquoted a delimited field, and a quote left inside it is part of the name (pandas
    doubles it: `say "hi"` is written with each quote doubled, and enclosed in quotes);
    whitespace-separated text is split as written, so its quotes are dropped here."""
    name = field.strip()
    if delimiter is None:
        name = name.strip('"').strip()
    return name.strip("'").strip()


def strip_comment(line: str) -> str:
    """The line up to its first '#' outside quotes that starts no spreadsheet error value: a
    quoted name may hold one ("gen #1"), and a cell Excel could not compute reads "#N/A"."""
    if "#" not in line:
        return line  # the common line, the fast way
    return _BEFORE_COMMENT.match(line).group()


def is_spreadsheet_error(field: str) -> bool:
    return field in SPREADSHEET_ERRORS


def split_fields(content: str, delimiter: str | None, source: str, number: int) -> list[str]:
    """A line's fields. A quoted field of .csv/.tsv may hold the delimiter or a doubled quote
    (pandas writes the name `gen, v1` as `"gen, v1"`): such lines go through the csv module,
    which also drops the quotes. Lines without quotes (nearly all) are split directly, for speed."""
    if delimiter is None or '"' not in content:
        return content.split(delimiter)
    try:
        line = content.rstrip("\n") + "\n"
        fields = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))
    except csv.Error as exc:  # a field over csv's size limit
        raise UsageError(f"{source}: line {number}: cannot read as CSV: {exc}") from None
    # Only a quoted field left open swallows the line's end (a quote inside a field is a letter).
    # Lines are read one at a time, so a quoted field spanning lines is refused, not misread.
    if any("\n" in field for field in fields):
        raise UsageError(f"{source}: line {number} has a quote (\") that is not closed on that line")
    return fields


def field_count(line: str, delimiter: str | None) -> int:
    if delimiter is not None:
        return line.count(delimiter) + 1
    raw = np.frombuffer(line.encode("utf-8", "replace"), dtype=np.uint8)
    blank = np.isin(raw, _BLANKS)
    starts = np.count_nonzero(~blank[1:] & blank[:-1])  # a field starts after a blank
    return int(starts + (raw.size > 0 and not blank[0]))


def is_number(field: str) -> bool:
    """Whether a field reads as a number, quoted or not: whitespace-separated text keeps its
    quotes ("4.118"), which the csv module drops from delimited files."""
    try:
        float(field.strip().strip('"').strip())
    except ValueError:
        return False
    return True


def looks_like_header(fields: list[str]) -> bool:
    """A header names its columns: some field is filled, and none is a number (with a decimal
    comma, too: 4,05 names nothing) or a missing one."""
    filled = [f.strip() for f in fields if f.strip()]
    return bool(filled) and not any(is_number(f) or is_spreadsheet_error(f) or is_decimal_comma(f)
                                    for f in filled)


_DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")


def is_decimal_comma(text: str) -> bool:
    """A number written with a decimal comma (4,05), as a European spreadsheet saves it."""
    return _DECIMAL_COMMA.fullmatch(text.strip().strip('"').strip()) is not None
