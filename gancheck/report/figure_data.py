"""What the figures draw, reduced from the store's arrays to a few small tables.

The store keeps every member's output vector, noise-draw previews, per-coordinate spread and
its whole training history: tens of MB, too many to publish. The figures draw much less: a
histogram and 100 quantiles of each seed's output, the history at 60 epochs, and two arrays of
the few seeds drawn directly. ``compact`` computes exactly that, rounded to what a figure can
show, and every page is drawn from it, whether its inputs came from a store or from the
published files (gancheck.report.published), so both give the same page.

Tables (one row per ...; each figure draws only these):
outputs       (arm, seed): n (finite values in the seed's draw-0 output vector), mean, sd
              (population sd of those values), q0..q99 (its quantiles at (i + 0.5) / 100; NaN
              unless every value is finite) and h0..h39 (its counts in 40 equal bins over the
              target mean ± 5 target sd, values beyond clipped into the end bins).
draw_counts   (arm, seed, draw): h0..h35, counts of one noise draw's finite values in 36 bins
              over the target mean ± 4.5 target sd (values beyond clipped into the end bins),
              and below, above: how many of them lay beyond that window on each side, for the
              seeds drawn directly. The figure draws the window only, so it must say how much
              it left out: an off-target seed can sit a hundred sd away. (Folders published
              before these two columns have the end bins only.)
coordinates   (arm, seed, index): mean, sd, for the seeds drawn directly, finite ones only,
              sorted by mean (the order they are drawn in).
history       (arm, seed, epoch): g_mean, g_std at MAX_EPOCHS_PLOTTED evenly spaced epochs.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from gancheck.report.data import ReportInput
from gancheck.report.labels import OUTCOME_ORDER
from gancheck.report.tables import arm_order

#: QQ lines are drawn at this many quantile levels per seed: a 2.4-inch panel shows no more.
QQ_LEVELS = 100
#: The output histogram's window (target mean ± HIST_SDS target sd) and bins.
HIST_SDS, HIST_BINS = 5.0, 40
#: The seeds drawn directly: their noise draws' window and bins.
DRAW_SDS, DRAW_BINS = 4.5, 36
#: draw_counts' counts of values beyond the window, below and above it.
BEYOND_COLUMNS = ("below", "above")
#: The history is drawn at no more than this many epochs per arm (2001 epochs would only add
#: bytes: 60 points trace a 190-px-wide panel's curves as far as the eye can follow them).
MAX_EPOCHS_PLOTTED = 60
#: Significant digits kept of a drawn value: a 0.01% error is below a pixel in every figure.
DIGITS = 4


def target(data: ReportInput) -> tuple[float, float]:
    """The target's mean and sd, as recorded with the run (the seed's N(4, 1.25) otherwise)."""
    return float(data.provenance.get("target_mean", 4.0)), float(data.provenance.get("target_std", 1.25))


def quantile_levels() -> np.ndarray:
    return (np.arange(QQ_LEVELS) + 0.5) / QQ_LEVELS


def hist_edges(data: ReportInput, sds: float = HIST_SDS, bins: int = HIST_BINS) -> np.ndarray:
    mean, std = target(data)
    return np.linspace(mean - sds * std, mean + sds * std, bins + 1)


def rounded(values) -> np.ndarray:
    """``values`` to DIGITS significant digits (inf and NaN kept), so that the figure drawn from
    the store and the one drawn from the published CSV see the very same numbers."""
    values = np.asarray(values, dtype=float)
    return np.array([float(f"{v:.{DIGITS}g}") for v in values.ravel()]).reshape(values.shape)


def _counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    finite = values[np.isfinite(values)]
    return np.histogram(np.clip(finite, edges[0], edges[-1]), bins=edges)[0]


def _outputs(data: ReportInput) -> pd.DataFrame:
    edges, levels = hist_edges(data), quantile_levels()
    rows = []
    for (arm, seed), group in data.samples.groupby(["arm", "seed"], sort=True):
        x = group.sort_values("index", kind="stable")["value"].to_numpy(dtype=float)
        finite = x[np.isfinite(x)]
        quantiles = (rounded(np.quantile(x, levels)) if x.size and finite.size == x.size
                     else np.full(QQ_LEVELS, np.nan))
        rows.append([arm, int(seed), int(finite.size),
                     float(finite.mean()) if finite.size else np.nan,
                     float(finite.std()) if finite.size else np.nan,
                     *quantiles, *_counts(x, edges)])
    columns = ["arm", "seed", "n", "mean", "sd", *(f"q{i}" for i in range(QQ_LEVELS)),
               *(f"h{i}" for i in range(HIST_BINS))]
    return pd.DataFrame(rows, columns=columns)


def _beyond(values: np.ndarray, edges: np.ndarray) -> tuple[int, int]:
    """How many finite values lie below the first edge and above the last."""
    finite = values[np.isfinite(values)]
    return int((finite < edges[0]).sum()), int((finite > edges[-1]).sum())


def _draw_counts(data: ReportInput, picked: set) -> pd.DataFrame:
    edges = hist_edges(data, DRAW_SDS, DRAW_BINS)
    rows = []
    previews = data.previews
    if len(previews):
        previews = previews[[(a, int(s)) in picked for a, s in zip(previews["arm"], previews["seed"])]]
        for (arm, seed, draw), group in previews.groupby(["arm", "seed", "draw"], sort=True):
            values = group["value"].to_numpy(dtype=float)
            rows.append([arm, int(seed), int(draw), *_counts(values, edges), *_beyond(values, edges)])
    return pd.DataFrame(rows, columns=["arm", "seed", "draw", *(f"h{i}" for i in range(DRAW_BINS)),
                                       *BEYOND_COLUMNS])


def _coordinates(data: ReportInput, picked: set) -> pd.DataFrame:
    coords = data.coordinates
    if coords.empty:
        return pd.DataFrame(columns=["arm", "seed", "index", "mean", "sd"])
    coords = coords[[(a, int(s)) in picked for a, s in zip(coords["arm"], coords["seed"])]]
    coords = coords[np.isfinite(coords["mean"].to_numpy(dtype=float))]
    coords = coords.assign(mean=rounded(coords["mean"]), sd=rounded(coords["sd"]))
    parts = [group.sort_values("mean", kind="stable").assign(index=np.arange(len(group)))
             for _, group in coords.groupby(["arm", "seed"], sort=True)]
    frame = pd.concat(parts, ignore_index=True) if parts else coords.iloc[:0]
    return frame[["arm", "seed", "index", "mean", "sd"]].reset_index(drop=True)


def thinned_history(history: pd.DataFrame) -> pd.DataFrame:
    """g_mean and g_std at MAX_EPOCHS_PLOTTED evenly spaced epochs (the first and last among
    them), rounded, in (arm, seed, epoch) order."""
    columns = [c for c in ("g_mean", "g_std") if c in history.columns]
    if history.empty or not columns:
        return pd.DataFrame(columns=["arm", "seed", "epoch", *columns])
    epochs = np.sort(history["epoch"].unique())
    if len(epochs) > MAX_EPOCHS_PLOTTED:
        keep = epochs[np.unique(np.linspace(0, len(epochs) - 1, MAX_EPOCHS_PLOTTED).round().astype(int))]
        history = history[history["epoch"].isin(keep)]
    history = history[["arm", "seed", "epoch", *columns]].sort_values(["arm", "seed", "epoch"], kind="stable")
    return history.assign(**{c: rounded(history[c]) for c in columns}).reset_index(drop=True)


def representatives(data: ReportInput) -> list[tuple[str, str, int]]:
    """(outcome, arm, seed): one member per outcome present, the baseline's first seed with that
    outcome where it has one, else the first arm's (design order)."""
    if "outcome" not in data.members.columns:
        return []
    members = data.members[data.members["kind"].eq("member")] if "kind" in data.members else data.members
    order = {a: i for i, a in enumerate(arm_order(data))}
    members = members[members["arm"].isin(order)].assign(rank=lambda m: m["arm"].map(order))
    picked = []
    for outcome in OUTCOME_ORDER:
        rows = members[members["outcome"] == outcome].sort_values(["rank", "seed"], kind="stable")
        if len(rows):
            picked.append((outcome, str(rows["arm"].iloc[0]), int(rows["seed"].iloc[0])))
    return picked


def compact(data: ReportInput) -> ReportInput:
    """``data`` with its heavy frames (samples, previews, coordinates, history) replaced by what
    the figures draw. Idempotent: already compact inputs (read from published files) pass
    through, sorted the same way."""
    picked = {(arm, seed) for _, arm, seed in representatives(data)}
    changes = {}
    if len(data.samples) or data.outputs.empty:
        changes["outputs"] = _outputs(data)
        changes["samples"] = data.samples.iloc[:0]
    if len(data.previews) or data.draw_counts.empty:
        changes["draw_counts"] = _draw_counts(data, picked)
        changes["previews"] = data.previews.iloc[:0]
    changes["coordinates"] = _coordinates(data, picked)  # each step is idempotent
    changes["history"] = thinned_history(data.history)
    return dataclasses.replace(data, **changes)
