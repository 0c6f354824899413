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

import json
from pathlib import Path

import numpy as np
import pandas as pd

from gancheck.report.data import ReportInput
from gancheck.report.figure_data import compact
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


def read_csv(path: Path) -> pd.DataFrame:
    """A published CSV as the report's frames hold it (empty frame for an empty table)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    for name in frame.columns:
        frame[name] = _column(frame[name], name)
    return frame


def is_published(folder: Path) -> bool:
    return all((Path(folder) / name).is_file() for name in CSV_FILES)


def read(folder: Path) -> ReportInput:
    """The ReportInput of a published folder (ValueError naming the first missing file)."""
    from gancheck.stats import aggregate
    folder = Path(folder)
    for name in CSV_FILES:
        if not (folder / name).is_file():
            raise ValueError(f"{folder}: no run store here (store.sqlite), and the published files "
                             f"are incomplete: {name} is missing")
    csv = {name: read_csv(folder / name) for name in (*RESULT_FILES, *PAGE_FILES[1:])}
    try:
        provenance = json.loads((folder / "provenance.json").read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{folder / 'provenance.json'}: not a run record ({exc})") from None
    members = csv["members.csv"]
    members["collapsed"] = members["collapsed"].astype("boolean")
    scores = csv["scores.csv"]
    effects = read_csv(folder / "effects.csv") if (folder / "effects.csv").is_file() else pd.DataFrame()
    draws = csv["draws.csv"]
    return ReportInput(
        arms=csv["arms.csv"].fillna({"config_json": "", "factors_json": ""}),
        members=members, scores=scores,
        samples=pd.DataFrame(), previews=pd.DataFrame(),
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
