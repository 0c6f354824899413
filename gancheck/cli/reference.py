"""`gancheck score --reference FILE`: real data as the yardstick instead of a formula.

The reference file is read by the same readers as the scored file (any format `score` reads,
header detected the same way) and must hold one sample: one column, or one row. Anything that
makes it unusable (unreadable, several samples, non-finite or constant values, too few values,
--target given as well) is one line naming --reference, and exit 2, before the scored file is read.
"""
from __future__ import annotations

import numpy as np

from gancheck.cli import UsageError, npyfiles, readers

OPTION = "--reference"


def add_argument(parser) -> None:
    parser.add_argument(
        OPTION, metavar="FILE",
        help="judge the samples against this real sample (one column or one row, any format "
             "score reads) with two-sample tests, instead of against --mean/--std or --target")


def read(args) -> np.ndarray | None:
    """The reference sample of ``args.reference`` (None when absent); UsageError names it."""
    path = getattr(args, "reference", None)
    if path is None:
        return None
    if getattr(args, "target", None) is not None:
        raise UsageError(f"{OPTION} {path}: give --target or {OPTION}, not both")
    if path == readers.STDIN and args.path == readers.STDIN:
        raise UsageError(f"{OPTION} -: standard input already holds the samples to score")
    try:
        table = readers.read_table(path, admit=_admit, key_option=None)  # --key picks the scored file's array
    except UsageError as exc:
        raise UsageError(f"{OPTION} {exc}") from None
    rows, columns = table.values.shape
    if rows > 1 and columns > 1:
        raise UsageError(f"{OPTION} {path}: holds {rows:,} rows of {columns:,} columns; give one "
                         f"sample (one column, or one row)")
    from gancheck.stats.two_sample import check_reference  # lazy: scipy only when scoring
    try:
        return check_reference(table.values.ravel())
    except ValueError as exc:
        raise UsageError(f"{OPTION} {path}: {exc}") from None


def _admit(source: str, rows: int, columns: int, named: bool) -> None:
    if rows * columns > npyfiles.MAX_ROW_VALUES:
        raise UsageError(f"{source}: {rows * columns:,} values; a reference of at most "
                         f"{npyfiles.MAX_ROW_VALUES:,} values is used")
