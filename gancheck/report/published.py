"""A published report folder as the report's input: the page rebuilt without the store.

Besides the CSVs of results, a run folder publishes what the page needs and the results do
not hold: the run record (provenance.json), each seed's outcome (members.csv), the settling
table (settling.csv) and the figures' data, reduced to what they draw (gancheck.report
.figure_data: outputs.csv, draws.csv, coordinates.csv, history.csv). ``read`` turns such a
folder back into a ReportInput; the page drawn from it is the page drawn from the store.

Per-seed vectors are written one row per seed, one column per value ("wide"): a long table
would repeat each arm's name for every value and be several times larger.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gancheck.report.data import ReportInput
from gancheck.report.figure_data import compact
from gancheck.report.record_checks import checked_target
from gancheck.runs.files import atomic_write_bytes, atomic_write_text

#: The published files that only the page needs.
PAGE_FILES = ("provenance.json", "members.csv", "settling.csv", "outputs.csv", "draws.csv",
              "coordinates.csv", "history.csv")
#: The results, one CSV each.
RESULT_FILES = ("scores.csv", "summary.csv", "comparisons.csv", "outcomes.csv", "metrics.csv",
                "rates.csv", "equivalence.csv", "arms.csv")
#: Everything a run folder publishes beside index.html (and effects.csv, for crossed designs):
#: the results, and what the page is drawn from (PAGE_FILES above).
CSV_FILES = (*RESULT_FILES, *PAGE_FILES)
#: members.csv keeps the columns the page reads (the store's other ones are per-run bookkeeping).
MEMBER_COLUMNS = ["arm", "seed", "kind", "status", "collapsed", "outcome"]
#: Columns that hold names, never numbers, even when every value looks like one (an arm "200").
TEXT_COLUMNS = {"arm", "factor", "level", "baseline", "term", "quantity", "test", "metric",
                "interval", "role", "kind", "status", "outcome", "group", "hypothesis", "family",
                "factors_json", "config_json", "mde_scale", "method", "name"}


def _wide(frame: pd.DataFrame, keys: list[str], position: str, values: list[str]) -> pd.DataFrame:
    """One row per (keys, value column), the values along ``position`` as columns."""
    parts = []
    for column in values:
        table = frame.pivot(index=keys, columns=position, values=column)
        table.columns = [str(c) for c in table.columns]
        parts.append(table.reset_index().assign(quantity=column))
    if not parts:
        return pd.DataFrame(columns=[*keys, "quantity"])
    wide = pd.concat(parts, ignore_index=True)
    rest = [c for c in wide.columns if c not in (*keys, "quantity")]
    return wide[[*keys, "quantity", *rest]].sort_values([*keys, "quantity"], kind="stable")


def _long(wide: pd.DataFrame, keys: list[str], position: str) -> pd.DataFrame:
    """The inverse of _wide: (keys, position) rows, one column per quantity."""
    if wide.empty:
        return pd.DataFrame(columns=[*keys, position])
    positions = [c for c in wide.columns if c not in (*keys, "quantity")]
    long = wide.melt(id_vars=[*keys, "quantity"], value_vars=positions, var_name=position)
    long[position] = long[position].astype(int)
    table = long.pivot(index=[*keys, position], columns="quantity", values="value")
    table.columns.name = None
    # A position no seed of this row had (arms of different lengths) is blank in every quantity.
    table = table.dropna(how="all").astype(float)
    return table.reset_index().sort_values([*keys, position], kind="stable").reset_index(drop=True)


def page_tables(data: ReportInput) -> dict[str, str]:
    """The PAGE_FILES' contents, from a compact ReportInput."""
    data = compact(data)
    members = data.members[[c for c in MEMBER_COLUMNS if c in data.members.columns]]
    history = data.history
    return {
        "provenance.json": json.dumps(data.provenance, indent=1, sort_keys=True, default=str) + "\n",
        "members.csv": members.to_csv(index=False),
        "settling.csv": data.settling.to_csv(index=False),
        "outputs.csv": data.outputs.to_csv(index=False),
        "draws.csv": data.draw_counts.to_csv(index=False),
        "coordinates.csv": _wide(data.coordinates, ["arm", "seed"], "index",
                                 ["mean", "sd"]).to_csv(index=False),
        "history.csv": _wide(history, ["arm", "seed"], "epoch",
                             [c for c in ("g_mean", "g_std") if c in history]).to_csv(index=False),
    }


def write_page_files(data: ReportInput, out: Path) -> None:
    for name, text in page_tables(data).items():
        atomic_write_text(Path(out) / name, text)


# ---------------------------------------------------------------------------- reading, checked
#
# A published folder is input the user hands us: each file is checked as it is read, so that a
# damaged one (cut short, emptied, edited, not a CSV at all) is refused in one line naming the
# file, and the row and column where they apply, instead of drawing a page from what is left.


@dataclass(frozen=True)
class Kind:
    """What every cell of a column holds. ``what`` names it in the error; ``valid`` tells, of
    the non-blank cells (text), which are fine; ``blank``: may a cell be empty (NaN)."""
    what: str
    valid: Callable[[pd.Series], pd.Series]
    blank: bool = False

    def or_blank(self) -> "Kind":
        return Kind(f"{self.what} or blank", self.valid, blank=True)


def _numbers(cells: pd.Series) -> pd.Series:
    # "nan" parses to NaN and fails the notna() of every kind: a missing number is a blank cell.
    return pd.to_numeric(cells, errors="coerce")


def _whole(cells: pd.Series) -> pd.Series:
    numbers = _numbers(cells)
    return np.isfinite(numbers) & (numbers == np.floor(numbers))


def _one_of(*values: str) -> Kind:
    return Kind(" or ".join(repr(v) for v in values), lambda cells: cells.isin(values))


NAME = Kind("a name", lambda cells: cells.str.strip() != "")
TEXT = Kind("text", lambda cells: pd.Series(True, index=cells.index), blank=True)
INTEGER = Kind("a whole number", _whole)
COUNT = Kind("a whole number >= 0", lambda cells: _whole(cells) & (_numbers(cells) >= 0))
NUMBER = Kind("a number", lambda cells: _numbers(cells).notna())   # +-inf included
RATE = Kind("a rate in [0, 1]", lambda cells: _numbers(cells).between(0, 1))
FLAG = _one_of("True", "False")
KIND = _one_of("member", "control")

#: Every published CSV: the columns the page (or a reader of the results) needs, and what they
#: hold; "optional": columns checked where the file has them. Other columns may follow; "rest"
#: is what each of them holds where the file has positions as columns (quantiles, bins, epochs). "rows": the file cannot be header-only (a run
#: with members has arms, members, scores and outcomes); a one-arm design has no comparisons.
SCHEMAS: dict[str, dict] = {
    "scores.csv": dict(rows=True, columns=dict(
        arm=NAME, seed=INTEGER, kind=KIND, test=NAME, group=TEXT, hypothesis=TEXT,
        statistic=NUMBER.or_blank(), pvalue=RATE.or_blank(), reject=FLAG,
        reject_rate=RATE.or_blank(), status=NAME, k=COUNT, n=COUNT)),
    "summary.csv": dict(rows=True, columns=dict(
        arm=NAME, quantity=NAME, statistic=NAME, n=COUNT, count=NUMBER.or_blank(),
        estimate=NUMBER.or_blank(), ci_low=NUMBER.or_blank(), ci_high=NUMBER.or_blank())),
    "comparisons.csv": dict(columns=dict(
        arm=NAME, metric=NAME, baseline=NAME, n=COUNT, n_baseline=COUNT,
        difference=NUMBER.or_blank(), ci_low=NUMBER.or_blank(), ci_high=NUMBER.or_blank(),
        statistic=NUMBER.or_blank(), pvalue=RATE.or_blank(), prob_improvement=RATE.or_blank(),
        prob_improvement_low=RATE.or_blank(), prob_improvement_high=RATE.or_blank(),
        pvalue_holm=RATE.or_blank(), reject_holm=FLAG, test=NAME, family=NAME),
        optional=dict(mde=NUMBER.or_blank())),
    "outcomes.csv": dict(rows=True, columns=dict(
        arm=NAME, outcome=NAME, count=COUNT, n=COUNT, rate=RATE, ci_low=RATE, ci_high=RATE)),
    # value: lower is better, +inf for a member whose output is broken (never blank).
    "metrics.csv": dict(columns=dict(arm=NAME, seed=INTEGER, metric=NAME, value=NUMBER)),
    # value: 0/1 per seed, blank where not measured (gancheck.stats.comparisons).
    "rates.csv": dict(columns=dict(arm=NAME, seed=INTEGER, metric=NAME, value=RATE.or_blank())),
    "equivalence.csv": dict(columns=dict(arm=NAME, ci_low=NUMBER.or_blank(),
                                         ci_high=NUMBER.or_blank())),
    "arms.csv": dict(rows=True, columns=dict(
        arm=NAME, role=_one_of("arm", "control"), factor=TEXT, level=TEXT, is_baseline=FLAG,
        factors_json=TEXT, config_json=TEXT)),
    "members.csv": dict(rows=True, columns=dict(
        arm=NAME, seed=INTEGER, kind=KIND, status=NAME, collapsed=FLAG.or_blank(), outcome=NAME)),
    "settling.csv": dict(columns=dict(
        arm=NAME, metric=NAME, n=COUNT, settled_rate=RATE, median_epoch=NUMBER.or_blank(),
        stays_rate=RATE)),
    "outputs.csv": dict(columns=dict(arm=NAME, seed=INTEGER, n=COUNT), rest=NUMBER.or_blank()),
    "draws.csv": dict(columns=dict(arm=NAME, seed=INTEGER, draw=COUNT), rest=COUNT),
    # Wide tables (_wide): a position no seed of the row had is blank.
    "coordinates.csv": dict(columns=dict(arm=NAME, seed=INTEGER, quantity=NAME),
                            rest=NUMBER.or_blank(), positions="coordinate index"),
    "history.csv": dict(columns=dict(arm=NAME, seed=INTEGER, quantity=NAME),
                        rest=NUMBER.or_blank(), positions="epoch"),
    # Only for designs that cross factors; a fit that did not converge has no numbers.
    "effects.csv": dict(columns=dict(
        metric=NAME, term=NAME, estimate=NUMBER.or_blank(), ci_low=NUMBER.or_blank(),
        ci_high=NUMBER.or_blank(), pvalue=RATE.or_blank(), method=TEXT),
        optional=dict(converged=FLAG.or_blank())),
}


def _column(values: pd.Series, name: str) -> pd.Series:
    """A column read as text, typed: names stay text; "True"/"False" become bools; numbers
    (inf and blanks, as NaN, included) become numbers; anything else stays text."""
    if name in TEXT_COLUMNS:
        return values
    present = values[values != ""]
    if len(present) and present.isin(["True", "False"]).all():
        return values.map({"True": True, "False": False, "": pd.NA})
    try:
        numbers = pd.to_numeric(values.replace("", np.nan), errors="raise")
    except (TypeError, ValueError):
        return values
    return numbers


def _read_text_table(path: Path) -> pd.DataFrame:
    """``path`` as a table of text cells, or ValueError naming it: not UTF-8, not a CSV, empty,
    or cut short (a row with fewer fields than the header, or a last row without its line end).

    Read with the csv module rather than pandas: pandas fills the fields missing from a short
    row with blanks, which a published table also holds (a NaN), so a cut row would pass."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a UTF-8 text file (byte {exc.object[exc.start]:#04x} at "
                         f"offset {exc.start}); a published table is CSV text") from None
    if not text.strip():
        raise ValueError(f"{path}: the file is empty; a published table has its header at least "
                         "(the folder is damaged: publish it again from the run)")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header, *rows = [row for row in reader if row]   # blank lines are skipped, as pandas does
    except csv.Error as exc:
        raise ValueError(f"{path}: line {reader.line_num} is not CSV ({exc})") from None
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise ValueError(f"{path}: the header names column {twice[0]!r} more than once")
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            cut = " (the file is cut short or damaged)" if len(row) < len(header) else ""
            raise ValueError(f"{path}: row {number} has {len(row)} fields, the header "
                             f"{len(header)}{cut}")
    if not text.endswith("\n"):
        raise ValueError(f"{path}: row {len(rows)}, the last, has no line end: the file is cut "
                         "short (a published table ends with one)")
    return pd.DataFrame(rows, columns=header)


def _check_cells(path: Path, frame: pd.DataFrame, columns: list[str], kind: Kind) -> None:
    """Every cell of ``columns`` holds ``kind``, else ValueError naming the first one that
    does not (by row, then column). The columns are checked as one series: wide files have
    hundreds of them."""
    if not columns or frame.empty:
        return
    cells = pd.Series(frame[columns].to_numpy(dtype=object).ravel()).astype(str)  # row-major
    blank = (cells == "").to_numpy()
    bad = blank.copy() if not kind.blank else np.zeros(len(cells), dtype=bool)
    if (~blank).any():
        bad[~blank] = ~kind.valid(cells[~blank]).to_numpy(dtype=bool)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        row, column, cell = first // len(columns), columns[first % len(columns)], cells.iloc[first]
        found = "is blank" if cell == "" else f"holds {cell!r}"
        raise ValueError(f"{path}: row {row + 1}, column {column!r} {found}; it must hold "
                         f"{kind.what}")


def read_csv(path: Path, name: str | None = None) -> pd.DataFrame:
    """A published CSV as the report's frames hold it, checked against its SCHEMAS entry
    (ValueError naming the file, row and column of the first problem)."""
    path = Path(path)
    schema = SCHEMAS[name or path.name]
    frame = _read_text_table(path)
    missing = [c for c in schema["columns"] if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: no column {missing[0]!r} (its columns: "
                         f"{', '.join(map(str, frame.columns)) or 'none'}); the file is damaged or "
                         "was not written by gancheck")
    if schema.get("rows") and frame.empty:
        raise ValueError(f"{path}: the table has a header but no rows (the file is cut short)")
    optional = {c: kind for c, kind in schema.get("optional", {}).items() if c in frame.columns}
    for column, kind in {**schema["columns"], **optional}.items():
        _check_cells(path, frame, [column], kind)
    rest = [c for c in frame.columns if c not in schema["columns"] and c != "quantity"]
    if "positions" in schema:
        for column in rest:
            if not column.isdigit():
                raise ValueError(f"{path}: column {column!r} is not a {schema['positions']} "
                                 "(a whole number >= 0)")
    if "rest" in schema:
        _check_cells(path, frame, rest, schema["rest"])
    for column in frame.columns:
        frame[column] = _column(frame[column], column)
    return frame


def read_provenance(path: Path) -> dict:
    """provenance.json: a run record (a JSON object) whose target and alpha are numbers in range
    and whose fields read as gancheck.runs.provenance.Provenance's; else ValueError naming it."""
    from gancheck.runs.provenance import Provenance
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a run record (not UTF-8 text: byte "
                         f"{exc.object[exc.start]:#04x} at offset {exc.start})") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a run record ({exc})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: not a run record (a JSON {type(record).__name__}, where the "
                         "record is a JSON object)")
    checked_target(path, record, source="the file")
    try:
        Provenance.from_dict(record)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise ValueError(f"{path}: the run record is damaged ({exc})") from None
    return record


def is_published(folder: Path) -> bool:
    return all((Path(folder) / name).is_file() for name in CSV_FILES)


def read(folder: Path) -> ReportInput:
    """The ReportInput of a published folder (ValueError naming the first missing or damaged
    file)."""
    from gancheck.stats import aggregate
    folder = Path(folder)
    for name in CSV_FILES:
        if not (folder / name).is_file():
            raise ValueError(f"{folder}: no run store here (store.sqlite), and the published files "
                             f"are incomplete: {name} is missing")
    provenance = read_provenance(folder / "provenance.json")
    csv = {name: read_csv(folder / name) for name in (*RESULT_FILES, *PAGE_FILES[1:])}
    members = csv["members.csv"]
    members["collapsed"] = members["collapsed"].astype("boolean")
    scores = csv["scores.csv"]
    effects = read_csv(folder / "effects.csv") if (folder / "effects.csv").is_file() else pd.DataFrame()
    draws = csv["draws.csv"]
    return ReportInput(
        arms=csv["arms.csv"].fillna({"config_json": "", "factors_json": ""}),
        members=members, scores=scores,
        # The raw arrays are not published (outputs.csv and draws.csv hold what is drawn); with
        # their columns, a run without GAN members (header-only outputs.csv) rebuilds too.
        samples=pd.DataFrame(columns=["arm", "seed", "index", "value"]),
        previews=pd.DataFrame(columns=["arm", "seed", "draw", "index", "value"]),
        history=_long(csv["history.csv"], ["arm", "seed"], "epoch"),
        coordinates=_long(csv["coordinates.csv"], ["arm", "seed"], "index"),
        outputs=csv["outputs.csv"], draw_counts=draws,
        pass_rates=aggregate.pass_rates(scores),
        collapse_rates=aggregate.collapse_rates(members),
        metric_summary=aggregate.metric_summary(csv["metrics.csv"]),
        comparisons=csv["comparisons.csv"], settling=csv["settling.csv"],
        provenance=provenance, outcomes=csv["outcomes.csv"], metrics=csv["metrics.csv"],
        rates=csv["rates.csv"], equivalence=csv["equivalence.csv"], effects=effects)


def rebuild(folder: Path, out: Path | None = None) -> Path:
    """Render ``folder``'s page from its published files alone; with ``out``, into that folder,
    with a byte-for-byte copy of every published file beside it (the page checksums them)."""
    from gancheck.report.render import render
    folder = Path(folder)
    data = read(folder)
    target = Path(out) if out is not None else folder
    target.mkdir(parents=True, exist_ok=True)
    if target.resolve() != folder.resolve():
        for name in (*CSV_FILES, "effects.csv"):
            if (folder / name).is_file():
                atomic_write_bytes(target / name, (folder / name).read_bytes())
    return render(data, target)
