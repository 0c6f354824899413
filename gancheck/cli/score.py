"""`python -m gancheck score PATH`: score the samples in a file against a target distribution.

The target is N(--mean, --std) (default N(4, 1.25)) or --target SPEC, any continuous scipy.stats
family written as a call, e.g. 'gamma(a=2, scale=1)', 't(df=5, loc=4)' or
'mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6))' (gancheck.targets).

PATH is .csv, .tsv, .txt, .npy, .npz (--key), .parquet, or - for standard input. Which numbers
form a sample: --layout columns (each column is one sample) or rows (each row is one). By default
a single column is one sample, several named columns (a header row) are one sample each, and a
headerless 2-D file has one sample per row. --column NAME picks columns. --draws treats the
samples as K noise draws of one generator, judges the generator on all of them and prints its
verdict against --tolerance (gancheck.cli.verdict_output); a 3-D .npy/.npz array (generators x
draws x values, as `gancheck train` writes samples.npy) is judged one generator at a time. --reference FILE judges against a real
sample instead of N(mean, std), with two-sample tests (gancheck.cli.reference).

The table has one row per (sample, test), as gancheck.score returns it, plus sample_name (the
column name, or "row 3"). A line on stderr says what was read (header or not, which layout) and
whether ties were found. Exit 0 once scored, whatever the verdict; a file that cannot be read or
used raises UsageError (one line on stderr, exit 2), and so does one too big for this machine's
memory: reading, scoring and output share one budget (gancheck.cli.memory), checked as soon as
the input's shape is known. Nothing here imports torch: scoring must stay cheap for users who
only bring numbers.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd

from gancheck.cli import (EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, UsageError, finite, memory, npyfiles,
                          readers, unit_interval, verdict_output)
from gancheck.cli import reference as reference_option
from gancheck.signals import Terminated
from gancheck.stats import table_cache

FORMATS = ("table", "json", "csv")
LAYOUTS = ("columns", "rows")
NAME_COLUMN = "sample_name"


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "score", help="score samples in a file against a target (default N(4, 1.25))", description=__doc__)
    parser.add_argument("path", type=_path,
                        help="file to score: .csv, .tsv, .txt, .npy, .npz, .parquet; - reads stdin")
    parser.add_argument("--mean", type=finite("--mean"), help="target mean (default 4.0)")
    parser.add_argument("--std", type=finite("--std", positive=True),
                        help="target standard deviation (default 1.25)")
    verdict_output.add_target_argument(parser)
    parser.add_argument("--alpha", type=unit_interval("--alpha"), default=0.05,
                        help="significance level (default 0.05)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")
    parser.add_argument("--column", action="append", metavar="NAME",
                        help="score this column (a header name, or a number from 1 without a "
                             "header); repeat for several")
    parser.add_argument("--layout", choices=LAYOUTS,
                        help="each column or each row is one sample (default: see above)")
    parser.add_argument("--header", choices=readers.HEADER_MODES, default="auto",
                        help="text files: is the first row a header? (default auto: yes when "
                             "none of its fields is a number)")
    parser.add_argument("--key", help=".npz: the array to score (needed when it holds several)")
    parser.add_argument("--draws", action="store_true",
                        help="the samples are K noise draws of one generator: judge the generator")
    verdict_output.add_arguments(parser)
    reference_option.add_argument(parser)
    parser.set_defaults(handler=run_reporting)


def _path(text: str) -> str:
    if not text:  # Path('') is the current folder: an unset shell variable, not a file
        raise UsageError("score: PATH='': an empty path; name a file (- for standard input)")
    return text


def run_reporting(args) -> int:
    """run(), with score's own words for an interrupt (there is nothing to resume) and for
    memory running out (the advice of the training commands does not apply)."""
    previous, table_cache.announce = table_cache.announce, _announce_table
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # Extreme but accepted --mean/--std overflow inside the tests; the rows concerned get
            # a failed status (never a pass), and numpy's warnings would only be noise.
            warnings.simplefilter("ignore", RuntimeWarning)
            return run(args)
    except MemoryError:
        print(f"error: {args.path}: not enough memory to score it here "
              f"({memory.human(memory.available_bytes())} available)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print(f"{'terminated' if terminated else 'interrupted'}: nothing was scored", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    finally:
        table_cache.announce = previous


#: What each simulated null table serves, in the words of the note that announces it.
_TABLE_USES = {"shape_null": "the shape tests", "moment_null": "the moment tests against this target",
               "diversity_null": "the tests across draws"}


def _announce_table(kind: str, key: dict, folder) -> None:
    """A note before a long simulation (gancheck.stats.table_cache.announce), so that a first
    score of a large sample does not sit silent for half a minute."""
    size = f"n = {key['n']:,}" + (f", K = {key['k']:,}" if "k" in key else "")
    kept = f"kept in {folder} for later runs" if folder is not None else "the cache is off"
    print(f"note: simulating the null of {_TABLE_USES.get(kind, kind)} at {size}, once on this machine "
          f"({kept}); this can take a minute", file=sys.stderr, flush=True)


def admit_for(args):
    """readers.Admit for this command: the layout the table will get, and the whole command's
    memory for it (gancheck.cli.memory.command_bytes)."""
    def admit(source: str, rows: int, columns: int, named: bool) -> None:
        layout = args.layout or ("columns" if named or columns == 1 else "rows")
        sample_size, samples = (rows, columns) if layout == "columns" else (columns, rows)
        if sample_size > npyfiles.MAX_ROW_VALUES:
            # The cap on a row holds for a sample in either layout: the tests' time grows faster
            # than n (Shapiro-Wilk's took minutes at a million values), and n = 500 is the GAN's.
            raise UsageError(f"{source}: samples of {sample_size:,} values ({layout} layout); at most "
                             f"{npyfiles.MAX_ROW_VALUES:,} values per sample are scored")
        memory.require_command(source, rows * columns, sample_size, samples, whole=bool(args.draws))
    return admit


def run(args) -> int:
    verdict_output.parse_target(args)
    tolerance = verdict_output.parse_tolerance(args)
    reference = reference_option.read(args)  # before the input: a bad reference is one line
    table = readers.read_table(args.path, key=args.key, header=args.header, columns=args.column,
                               admit=admit_for(args), generators=GENERATORS_COLUMN_REFUSAL)
    if table.generators is not None:
        judge_generators(table, args, tolerance, reference)
        return 0
    layout = args.layout or default_layout(table, picked=bool(args.column))
    names, samples = select(table, layout)
    lengths = sample_lengths(table, layout)
    trimmed = 0
    if lengths is not None and lengths.max() < samples.shape[1]:
        # Blank in every sample at the end (a spreadsheet's formatted empty rows): no values at all.
        trimmed = samples.shape[1] - int(lengths.max())
        samples = samples[:, :int(lengths.max())]
        lengths = None if (lengths == samples.shape[1]).all() else lengths
    what = "noise draw(s) of one generator" if args.draws else "sample(s)"
    if args.draws and lengths is not None:
        raise UsageError(f"{table.source}: --draws needs draws of one length; "
                         f"{shorter_text(names, lengths, samples.shape[1], layout)}")
    # Notes are printed once the scoring succeeded: bad options stay a single line of error.
    notes = [f"{table.note + '; ' if table.note else table.source + ': '}each {layout[:-1]} is one "
             f"sample: {len(names)} {what} of {_sizes_text(samples.shape[1], lengths)} values"
             + (f" ({trimmed:,} {'rows' if layout == 'columns' else 'columns'} at the end blank in every "
                "sample, not read)" if trimmed else "")]
    if lengths is not None:
        notes.append(shorter_text(names, lengths, samples.shape[1], layout) + "; each is scored at its own "
                     "length (a blank among its values would be a missing value, which fails it)")
    if reference is not None:
        notes.append(f"against the reference {args.reference} ({reference.size:,} values), two-sample tests")
    if args.draws:
        judge_generator(samples, args, notes, tolerance, reference)
        return 0
    result = score_by_length(samples, lengths, mean=args.mean, std=args.std, alpha=args.alpha,
                             target=args.target, reference=reference)
    result[NAME_COLUMN] = np.asarray(names, dtype=object)[result["sample"].to_numpy()]
    notes.append(ties_note(names, samples, result["status"], lengths))
    _print_notes(notes)
    write(result, args.format, sys.stdout)
    return 0


def judge_generator(draws: np.ndarray, args, notes: list, tolerance, reference=None) -> None:
    """judge's table, the diversity line and the verdict on (K, n) draws. The table goes to
    stdout; for json and csv the two summaries go to stderr, so stdout stays one table."""
    found = _verdict(draws, args, tolerance, reference)
    names = [f"draw {i}" for i in range(1, len(draws) + 1)]
    notes.append(ties_note(names, draws, found.judge["status"]))
    _print_notes(notes)
    write(found.judge, args.format, sys.stdout)
    _print_summaries(found, args.format)


#: Why --column cannot pick from a 3-D array: its last axis holds a draw's values, not samples.
GENERATORS_COLUMN_REFUSAL = "each generator is judged on all its draws (add --draws), so there is no column to pick"


def judge_generators(table: readers.Table, args, tolerance, reference=None) -> None:
    """Each generator of a 3-D array (G, K, n), as `gancheck train` writes samples.npy, judged on
    its own K draws: judge_generator's output for each, under a line naming it (for json and csv,
    one table with a ``generator`` column, the array's index), then every outcome in one line."""
    g = table.generators
    k, n = table.values.shape[0] // g, table.values.shape[1]
    shape = f"{g} generator(s) x {k} draws x {n} values"
    if not args.draws:
        raise UsageError(f"{table.source}: a 3-D array ({shape}, as `gancheck train` writes its "
                         "samples.npy) holds generators' noise draws: add --draws to judge each generator")
    if args.layout == "columns":
        raise UsageError(f"{table.source}: --layout columns with a 3-D array ({shape}): a generator's "
                         "draws are its rows")
    found = [_verdict(table.values[i * k:(i + 1) * k], args, tolerance, reference) for i in range(g)]
    statuses = [status for result in found for status in result.judge["status"]]
    names = [f"generator {i}, draw {j}" for i in range(g) for j in range(1, k + 1)]
    _print_notes([f"{table.source}: {shape}; each generator is judged on its own {k} draws",
                  ties_note(names, table.values, statuses)])
    if args.format == "table":
        for i, result in enumerate(found):
            print(f"{'' if i == 0 else chr(10)}generator {i} ({table.source}[{i}]):")
            write(result.judge, args.format, sys.stdout)
            _print_summaries(result, args.format)
    else:
        frames = [result.judge.assign(generator=i) for i, result in enumerate(found)]
        whole = pd.concat(frames, ignore_index=True)
        write(whole[["generator", *found[0].judge.columns]], args.format, sys.stdout)
        for i, result in enumerate(found):
            print(f"generator {i}:", file=sys.stderr)
            _print_summaries(result, args.format)
    stream = sys.stdout if args.format == "table" else sys.stderr
    print("\noutcomes: " + ", ".join(f"generator {i} {result.outcome}" for i, result in enumerate(found)),
          file=stream)


def _verdict(draws: np.ndarray, args, tolerance, reference):
    if reference is None:
        return verdict_output.judge(draws, args, tolerance)
    from gancheck.stats.verdict import verdict  # against the reference sample
    return verdict(draws, alpha=args.alpha, tolerance=tolerance, reference=reference)


def _print_summaries(found, fmt: str) -> None:
    stream = sys.stdout if fmt == "table" else sys.stderr
    summary = diversity_line(found.diversity) if found.diversity is not None else "diversity: not 2-D"
    print(summary, file=stream)
    print(verdict_output.verdict_text(found), file=stream)


def default_layout(table: readers.Table, *, picked: bool) -> str:
    """The obvious reading: named or picked columns, or a single column, are one sample each;
    a single row is one sample; any other headerless 2-D array has one sample per row."""
    if table.names is not None or picked or table.values.shape[1] == 1:
        return "columns"
    return "rows"


def score_in_chunks(samples: np.ndarray, *, mean: float, std: float, alpha: float, target=None, reference=None):
    """gancheck.stats.score over chunks of about memory.CHUNK_VALUES values (whole samples), so
    that its working space is one chunk's; the same table as one call."""
    import pandas as pd

    from gancheck.stats.scoring import score  # lazy: pandas/scipy only when scoring
    per = max(1, memory.CHUNK_VALUES // max(1, samples.shape[1]))
    parts = []
    for start in range(0, samples.shape[0], per):
        part = score(np.ascontiguousarray(samples[start:start + per]), mean=mean, std=std, alpha=alpha,
                     target=target, reference=reference)
        part["sample"] += start
        part["sample_name"] = "row " + (part["sample"] + 1).astype(str)  # as one call names them
        parts.append(part)
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def score_by_length(samples: np.ndarray, lengths: np.ndarray | None, **options):
    """score_in_chunks of each sample at its own length (``lengths``; None: all are whole), in
    sample order."""
    if lengths is None:
        return score_in_chunks(samples, **options)
    import pandas as pd

    parts = []
    for length in np.unique(lengths):
        index = np.flatnonzero(lengths == length)
        part = score_in_chunks(samples[index, :length], **options)
        part["sample"] = index[part["sample"].to_numpy()]
        parts.append(part)
    return pd.concat(parts).sort_values("sample", kind="stable").reset_index(drop=True)


def sample_lengths(table: readers.Table, layout: str) -> np.ndarray | None:
    """Each sample's values before its run of blank fields at the end, where some sample has
    one; None where none has. A column shorter than the others (pandas writes the missing rows
    of a shorter Series as blank fields) is a shorter sample, not one with missing values. A
    blank among the values stays a missing value (NaN): such a sample is broken and fails."""
    if table.blank is None:
        return None
    along = table.blank if layout == "columns" else table.blank.T
    filled = ~along[::-1]
    # Blank fields after each sample's last value (all of them where it has none).
    tail = np.where(filled.any(axis=0), np.argmax(filled, axis=0), along.shape[0])
    if not tail.any():
        return None
    return along.shape[0] - tail


def shorter_text(names: list[str], lengths: np.ndarray, width: int, layout: str) -> str:
    """"1 sample(s) end early, the fields after them blank: 'b' after 300 of 500 rows; ..."."""
    unit = "rows" if layout == "columns" else "columns"
    shorter = np.flatnonzero(lengths < width)
    listed = ", ".join(f"{names[i]!r} after {int(lengths[i]):,}" for i in shorter[:3])
    more = f" and {shorter.size - 3:,} more" if shorter.size > 3 else ""
    return (f"{shorter.size:,} sample(s) end early, the fields after them blank: {listed}{more} of "
            f"{width:,} {unit}")


def _sizes_text(width: int, lengths: np.ndarray | None) -> str:
    if lengths is None or lengths.min() == lengths.max():
        return f"{width if lengths is None else int(lengths[0]):,}"
    return f"{int(lengths.min()):,} to {int(lengths.max()):,}"


def select(table: readers.Table, layout: str) -> tuple[list[str], np.ndarray]:
    """Sample names and the (samples, n) array the layout makes of the table (a view: scoring
    copies a chunk at a time)."""
    if layout == "columns":
        return list(table.labels), table.values.T
    return [f"row {i}" for i in range(1, table.values.shape[0] + 1)], table.values


def diversity_line(result) -> str:
    """'diversity: collapsed no; fixed share 0.012 (95% CI 0.000 to 0.031); ...', or 'diversity:
    not tested (too few draws)' where the draws could not be tested: the result then holds NaN and
    collapsed=True only so that it never counts as a pass, which is no finding to print."""
    if getattr(result, "status", "ok") != "ok":
        return f"diversity: not tested ({result.status})"
    parts = [f"collapsed {'yes' if result.collapsed else 'no'}",
             f"fixed share {result.fixed_share:.3f} "
             f"(95% CI {result.fixed_share_low:.3f} to {result.fixed_share_high:.3f})"]
    parts.append(f"spread ratio {result.spread_ratio:.3f}")
    parts.append(f"p = {result.pvalue:.3g}")
    return "diversity: " + "; ".join(parts)


def repeated_values(samples: np.ndarray) -> np.ndarray:
    """Per sample, how many finite values equal an earlier one (0 when all are distinct)."""
    per = max(1, memory.CHUNK_VALUES // max(1, samples.shape[1]))
    counts = []
    for start in range(0, samples.shape[0], per):  # sorted a chunk at a time, as it is scored
        ordered = np.sort(samples[start:start + per], axis=1)
        counts.append(((ordered[:, 1:] == ordered[:, :-1]) & np.isfinite(ordered[:, 1:])).sum(axis=1))
    return np.concatenate(counts) if counts else np.zeros(0, dtype=int)


def ties_note(names: list[str], samples: np.ndarray, statuses, lengths: np.ndarray | None = None) -> str | None:
    """Say when ties were found: values rounded to few decimals repeat, and the continuous tests'
    p-values assume they do not. How the tests treat ties is gancheck.stats' business; its status
    strings say so, and rows whose status mentions ties are counted here. ``lengths``: each
    sample's own length, where some end early (their padding is NaN, never counted as a repeat)."""
    repeats = repeated_values(samples)
    tied = np.flatnonzero(repeats)
    if tied.size == 0:
        return None
    worst = tied[np.argmax(repeats[tied])]
    statuses = [str(s) for s in statuses]
    flagged = sum("tie" in s for s in statuses)
    treated = (f"; {flagged} test rows have a ties status ({_first_tie_status(statuses)}), "
               "which never counts as a pass") if flagged else ""
    return (f"ties found in {tied.size} of {len(names)} samples (most: {names[worst]!r}, "
          f"{repeats[worst]} of {samples.shape[1] if lengths is None else int(lengths[worst])} values "
          f"repeat an earlier one){treated}")


def _first_tie_status(statuses: list[str]) -> str:
    return next(s for s in statuses if "tie" in s)


def _print_notes(notes: list) -> None:
    for note in filter(None, notes):
        print(f"note: {note}", file=sys.stderr)


def write(table, fmt: str, stream) -> None:
    if fmt == "json":
        # One JSON array of row objects. NaN (untestable rows) becomes null; JSON has no
        # infinity, and null would hide an infinite statistic (a sample far off the target, whose
        # row is a rejection) among the untested ones, so infinities are the strings "inf", "-inf".
        floats = table.select_dtypes("floating").columns
        infinite = table[floats].isin([np.inf, -np.inf]).to_numpy().any()
        shown = table.astype({c: object for c in floats}).replace({np.inf: "inf", -np.inf: "-inf"}) if infinite else table
        stream.write(shown.to_json(orient="records", double_precision=15) + "\n")
    elif fmt == "csv":
        table.to_csv(stream, index=False, lineterminator="\n")
    else:
        stream.write(table.to_string(index=False) + "\n")

