"""What spreadsheets write into a text file of numbers that is not plain numbers: a decimal
comma (4,05), thousands separators (1,004,431.98) and Excel's "sep=," first line. Each is read
for what it is, or refused in one line naming it, never split into wrong samples.
"""
from __future__ import annotations

import re
from typing import TextIO

from gancheck.cli import UsageError
from gancheck.cli.text_values import MAX_LINE_CHARS

#: A whole number, alone in its field.
WHOLE = re.compile(r"\s*-?\d+\s*$")
_ZERO_LED_DIGITS = re.compile(r"\s*0\d+\s*$")


def refuse_decimal_commas(rows, source: str):
    """Headerless lines of two whole numbers where the second starts with a 0 (5,03) are one
    number written with a decimal comma, as a European spreadsheet saves it: read as two
    columns, each line became a sample of 2 values. No program writes the whole number 3 as
    03, so such a line is refused, naming it."""
    for number, fields in rows:
        if WHOLE.match(fields[0]) and _ZERO_LED_DIGITS.match(fields[1]):
            raise UsageError(f"{source}: line {number}: {','.join(fields).strip()!r} reads as one number "
                             "written with a decimal comma; gancheck reads '.' as the decimal point: "
                             "save the file with '.' decimals")
        yield number, fields


_LEADING_GROUP = re.compile(r"\s*[-+]?\d{1,3}\s*$")
_GROUP = re.compile(r"\s*\d{3}\s*$")
_LAST_GROUP = re.compile(r"\s*(\d{3})(\.\d+)?\s*$")


def refuse_thousands_separators(rows, source: str):
    """Headerless lines like 1,004,431.98 are one number with thousands separators, as a
    spreadsheet writes it for display: split at the commas, each line became a sample of 3
    values, all "too few values", and the command ended with exit 0. A line is taken for one when
    it has the shape (1 to 3 digits, then groups of exactly 3) and a sign no column of numbers
    has: a group with a leading zero (004: no program writes 4 so), or, over 3 or more groups, a
    decimal part on the last group alone."""
    for number, fields in rows:
        # At most 6 groups (1e18): a row of 500 values, all of three digits but the last, is a sample.
        if (2 <= len(fields) <= 6 and _LEADING_GROUP.match(fields[0])
                and all(map(_GROUP.match, fields[1:-1]))):
            last = _LAST_GROUP.match(fields[-1])
            groups = [f.strip() for f in fields[1:-1]] + ([last.group(1)] if last else [])
            if last and (any(g.startswith("0") for g in groups) or (len(fields) >= 3 and last.group(2))):
                raise UsageError(f"{source}: line {number}: {','.join(fields).strip()!r} reads as one number "
                                 "written with thousands separators; save the file without them "
                                 "(a plain 1004431.98)")
        yield number, fields


#: Excel's first line naming a CSV's delimiter ("sep=,"), which it writes and reads back.
_EXCEL_SEP = re.compile(r"sep=(.)\s*$", re.IGNORECASE)


def without_excel_sep(handle: TextIO, delimiter: str | None, source: str):
    """``handle`` with Excel's "sep=," first line read as what it is: read as data it made the
    next line "1 value, expected 2". It is dropped where it names the file's own delimiter, and
    refused, naming it, where it names another (sep=; for a semicolon file)."""
    first = handle.readline(MAX_LINE_CHARS)
    excel = _EXCEL_SEP.match(first.strip("\r\n"))
    if excel is None:
        return Replay([first] if first else [], handle)
    named = excel.group(1)
    if named != (delimiter or " ") and not (delimiter is None and named == "\t"):
        raise UsageError(f"{source}: line 1: {first.strip()!r} names {named!r} as the delimiter; "
                         f"this file is read with {_DELIMITER_WORDS.get(delimiter, repr(delimiter))} "
                         "between values")
    return Replay(["#\n"], handle)   # a comment in its place: later lines keep their numbers


_DELIMITER_WORDS = {",": "commas", "\t": "tabs", None: "spaces or tabs"}


class Replay:
    """Lines already read (to find the delimiter), then the rest of the stream: parse_text's
    handle."""

    def __init__(self, lines: list[str], rest: TextIO):
        self.lines, self.rest = lines, rest

    def readline(self, limit: int = -1) -> str:
        return self.lines.pop(0) if self.lines else self.rest.readline(limit)
