"""From a run's store to tidy tables: the report's input and the run folder's CSVs.

CSV_FILES lists what a run folder holds beside index.html and store.sqlite: with them and
without the store, gancheck.report.published rebuilds the same page."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd

from gancheck.gan.result import HISTORY_COLUMNS
from gancheck.report.data import ReportInput
from gancheck.report.record_checks import checked_target
from gancheck.report.figure_data import compact
from gancheck.report.published import CSV_FILES, PAGE_FILES, RESULT_FILES, write_page_files  # noqa: F401  (re-exported)
from gancheck.runs.files import atomic_write_text, remove_file
from gancheck.runs.store import STORE_NAME, Store, decode_array
from gancheck.runs import verdicts
from gancheck.runs.provenance import Provenance
from gancheck.stats import aggregate
from gancheck.stats.comparisons import COMPARISON_COLUMNS, compare_to_baseline
from gancheck.stats.outcomes import outcome_table



def _per_member(raw: pd.DataFrame, blobs: list[str], frame_of, columns: list[str]) -> pd.DataFrame:
    """One long table from every GAN member's stored arrays: ``frame_of(*row[blobs])`` gives a
    member's rows (or None when it stored nothing), to which its arm and seed are prefixed."""
    parts = []
    for arm, seed, *values in raw.loc[raw["kind"].eq("member"), ["arm", "seed", *blobs]].itertuples(index=False):
        frame = frame_of(*values) if values[0] is not None else None
        if frame is not None:
            frame.insert(0, "seed", seed)
            frame.insert(0, "arm", arm)
            parts.append(frame)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["arm", "seed", *columns])


def _samples(raw: pd.DataFrame) -> pd.DataFrame:
    def frame(blob):
        values = decode_array(blob, (-1,))
        return pd.DataFrame({"index": np.arange(values.size), "value": values})
    return _per_member(raw, ["sample"], frame, ["index", "value"])


def _previews(raw: pd.DataFrame) -> pd.DataFrame:
    def frame(blob, shape):
        draws = decode_array(blob, json.loads(shape), "<f4")
        k, n = draws.shape
        return pd.DataFrame({"draw": np.repeat(np.arange(k), n), "index": np.tile(np.arange(n), k),
                             "value": draws.ravel()})
    return _per_member(raw, ["preview", "preview_shape"], frame, ["draw", "index", "value"])


def _coordinates(raw: pd.DataFrame) -> pd.DataFrame:
    def frame(mean_blob, sd_blob):
        mean, sd = decode_array(mean_blob, (-1,), "<f4"), decode_array(sd_blob, (-1,), "<f4")
        return pd.DataFrame({"index": np.arange(mean.size), "mean": mean, "sd": sd})
    return _per_member(raw, ["coord_mean", "coord_sd"], frame, ["index", "mean", "sd"])


def _history(raw: pd.DataFrame) -> pd.DataFrame:
    def frame(blob, shape):
        hist = decode_array(blob, json.loads(shape))
        table = pd.DataFrame(hist, columns=list(HISTORY_COLUMNS))
        table.insert(0, "epoch", np.arange(len(hist)))
        return table
    return _per_member(raw, ["history", "history_shape"], frame, ["epoch", *HISTORY_COLUMNS])


def _unfinished_baseline(run_dir: Path, baseline: str, provenance: dict) -> str:
    """The message for a run whose arms have members but whose baseline has none yet, with the
    command that resumes it (the recorded one, without --fresh, into this folder)."""
    command = _resume_command(provenance.get("command"), run_dir)
    how = (f"rerun the run's command to finish it: {command}" if command else
           f"rerun the run's command (with --out {shlex.quote(str(run_dir))}) to finish it")
    return (f"{run_dir}: the run has no finished members of its baseline {baseline!r} yet (it was "
            f"stopped before the baseline's block), so there is nothing to compare its arms "
            f"with; {how}")


def _resume_command(command, run_dir: Path) -> str | None:
    """``command`` (as recorded) made to resume the run in ``run_dir``: without ``--fresh``,
    which would discard the finished members, and with ``--out`` naming this folder. None where
    no command is recorded or it cannot be split into words."""
    if not isinstance(command, str):
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words:
        return None
    kept, skip = [], False
    for i, word in enumerate(words):
        if skip:
            skip = False
        elif word == "--out" and i + 1 < len(words):
            skip = True
        elif word not in ("--fresh", "--replace-changed") and not word.startswith("--out="):
            kept.append(word)
    return shlex.join([*kept, "--out", str(run_dir)])


def load_report_input(run_dir: Path) -> ReportInput:
    """Read a run folder's store and aggregate it. A missing or foreign store raises ValueError."""
    run_dir = Path(run_dir)
    store = Store(run_dir / STORE_NAME)
    try:
        provenance = store.get_meta("provenance")
        if not provenance:
            raise ValueError(f"{run_dir / STORE_NAME}: the store holds no run yet")
        mean, std, alpha = checked_target(run_dir / STORE_NAME, provenance)
        provenance = {**provenance, "target_mean": mean, "target_std": std, "alpha": alpha}
        try:
            Provenance.from_dict(provenance)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{run_dir / STORE_NAME}: the run's provenance is damaged ({exc})") from None
        arms, raw, scores = verdicts.stored_results(store, provenance)
    finally:
        store.close()
    members = verdicts.member_table(raw, scores, target_std=std, alpha=alpha)
    history = _history(raw)
    metrics = verdicts.per_seed_metrics(members, scores)
    rates = verdicts.per_seed_rates(members)
    baseline = arms.loc[arms["is_baseline"].astype(bool), "arm"]
    gan = members["kind"].eq("member")
    if len(baseline) and gan.any() and not (gan & members["arm"].eq(baseline.iloc[0])).any():
        # Stopped before its baseline's block: there is nothing to compare the arms with yet.
        raise ValueError(_unfinished_baseline(run_dir, baseline.iloc[0], provenance))
    # No GAN member at all (only controls finished): the page shows the controls, and the
    # published comparisons.csv keeps its header, so that the folder rebuilds the page.
    comparisons = (compare_to_baseline(metrics, rates, baseline.iloc[0], primary=verdicts.PRIMARY,
                                       higher_is_better=verdicts.HIGHER_IS_BETTER, alpha=alpha)
                   if len(baseline) and gan.any() else pd.DataFrame(columns=COMPARISON_COLUMNS))
    arms = arms.assign(is_baseline=arms["is_baseline"].astype(bool)).drop(columns=["digest"])
    return ReportInput(
        arms=arms, members=members, scores=scores, samples=_samples(raw), history=history,
        pass_rates=aggregate.pass_rates(scores),
        collapse_rates=aggregate.collapse_rates(members),
        metric_summary=aggregate.metric_summary(metrics),
        comparisons=comparisons,
        settling=aggregate.settling(history, target_mean=mean, target_std=std),
        provenance=provenance,
        outcomes=outcome_table(members),
        metrics=metrics,
        rates=rates,
        equivalence=verdicts.equivalence(members, scores, target_std=std, alpha=alpha),
        previews=_previews(raw),
        coordinates=_coordinates(raw),
        effects=verdicts.factor_effects(arms, metrics, rates))


def summary_table(data: ReportInput) -> pd.DataFrame:
    """One tidy table per arm and quantity: generator-level pass rates per test, outcome rates,
    the collapse flag's rate, and metric medians."""
    rates = data.pass_rates.assign(quantity="pass_rate:" + data.pass_rates["test"], statistic="rate")
    outcomes = data.outcomes.assign(quantity="outcome_rate:" + data.outcomes["outcome"], statistic="rate")
    collapse = data.collapse_rates.assign(quantity="collapse_rate", statistic="rate")
    medians = data.metric_summary.rename(columns={"median": "rate"}).assign(
        quantity="median:" + data.metric_summary["metric"], statistic="median", count=np.nan)
    cols = ["arm", "quantity", "statistic", "n", "count", "rate", "ci_low", "ci_high"]
    table = pd.concat([rates[cols], outcomes[cols], collapse[cols], medians[cols]], ignore_index=True)
    return table.rename(columns={"rate": "estimate"})


def write_outputs(run_dir: Path, *, render: bool = True, out_dir: Path | None = None) -> ReportInput:
    """Write the CSV_FILES (and effects.csv for crossed designs) and index.html into ``out_dir``
    (default: the run folder), from the run's store; see ``publish``. Returns the full input."""
    run_dir = Path(run_dir)
    data = load_report_input(run_dir)
    publish(data, Path(out_dir) if out_dir is not None else run_dir, render=render)
    return data


def publish(data: ReportInput, out: Path, *, render: bool = True) -> None:
    """Write ``data``'s CSV_FILES and index.html into ``out``, each atomically (the page last:
    it checksums the files). Every file the page shows or is drawn from is written beside it,
    so the folder publishes whole and gancheck.report.published rebuilds the same page from it
    without the store."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if render:
        # The old page describes the old files, and lists their checksums: gone before the first
        # of them is replaced, so that an interrupted publish leaves no page contradicting its
        # CSVs (the next run or `gancheck report` writes it again). A planted link goes, not its target.
        remove_file(out / "index.html")
    tables = {"scores.csv": data.scores, "summary.csv": summary_table(data),
              "comparisons.csv": data.comparisons, "outcomes.csv": data.outcomes,
              "metrics.csv": data.metrics, "rates.csv": data.rates,
              "equivalence.csv": data.equivalence, "arms.csv": data.arms}
    for name in RESULT_FILES:
        atomic_write_text(out / name, tables[name].to_csv(index=False))
    if len(data.effects):  # designs that cross factors
        atomic_write_text(out / "effects.csv", data.effects.to_csv(index=False))
    shown = compact(data)
    write_page_files(shown, out)
    if render:
        from gancheck.report.render import render as render_report
        render_report(shown, out)
