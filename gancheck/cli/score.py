"""`python -m gancheck score PATH`: score the samples in a file against N(mean, std).

PATH is .npy, .csv or .txt holding one sample (1-D) or one sample per row (2-D). The table has one
row per (sample, test), as gancheck.score returns it. Exit 0 once scored, whatever the verdict;
a file that cannot be read or used raises UsageError (one line on stderr, exit 2).
Nothing here imports torch: scoring must stay cheap for users who only bring numbers.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np

from gancheck.cli import UsageError

FORMATS = ("table", "json", "csv")
#: .csv is comma-separated; .txt is whitespace-separated (np.loadtxt's default). '#' starts a comment.
DELIMITERS = {".csv": ",", ".txt": None}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "score", help="score samples in a file against N(mean, std)", description=__doc__)
    parser.add_argument("path", help=".npy, .csv or .txt; 1-D, or 2-D with one sample per row")
    parser.add_argument("--mean", type=float, default=4.0, help="target mean (default 4.0)")
    parser.add_argument("--std", type=float, default=1.25, help="target standard deviation (default 1.25)")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from gancheck.stats.scoring import score  # lazy: pandas/scipy only when scoring

    samples = load_samples(Path(args.path))
    table = score(samples, mean=args.mean, std=args.std, alpha=args.alpha)
    write(table, args.format, sys.stdout)
    return 0


def load_samples(path: Path) -> np.ndarray:
    """Read a 1-D or 2-D array of real numbers, or raise UsageError saying what is wrong."""
    suffix = path.suffix.lower()
    if suffix != ".npy" and suffix not in DELIMITERS:
        raise UsageError(f"{path}: unsupported file type {path.suffix!r} (use .npy, .csv or .txt)")
    try:
        if suffix == ".npy":
            array = _load_npy(path)
        else:
            text = path.read_text(encoding="utf-8")
            if not any(line.split("#", 1)[0].strip() for line in text.splitlines()):
                raise UsageError(f"{path}: no values in file")
            array = np.loadtxt(io.StringIO(text), delimiter=DELIMITERS[suffix], dtype=float, ndmin=1)
    except UsageError:
        raise
    except (OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from exc
    if array.dtype.kind not in "biuf":
        raise UsageError(f"{path}: values must be real numbers, got dtype {array.dtype}")
    if array.ndim not in (1, 2):
        raise UsageError(f"{path}: expected a 1-D or 2-D array, got shape {array.shape}")
    if array.size == 0:
        raise UsageError(f"{path}: no values in file")
    return array


def _load_npy(path: Path) -> np.ndarray:
    # allow_pickle=False: a .npy file must not be able to run code when loaded.
    with path.open("rb") as handle:
        # Without the magic bytes np.load guesses "pickle" and says so, which misleads here.
        if handle.read(6) != b"\x93NUMPY":
            raise UsageError(f"{path}: not a .npy file")
        handle.seek(0)
        return np.load(handle, allow_pickle=False)


def write(table, fmt: str, stream) -> None:
    if fmt == "json":
        # One JSON array of row objects; NaN (untestable rows) becomes null.
        stream.write(table.to_json(orient="records", double_precision=15) + "\n")
    elif fmt == "csv":
        table.to_csv(stream, index=False, lineterminator="\n")
    else:
        stream.write(table.to_string(index=False) + "\n")
