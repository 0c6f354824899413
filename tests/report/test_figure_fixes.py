"""The figures say what they leave out: values beyond a window, why a seed counts as +∞, and
symlog tick labels that stay apart."""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import FixedLocator, FuncFormatter

from gancheck.report import plots_comparisons, plots_outcomes
from gancheck.report.figure_data import BEYOND_COLUMNS, compact, representatives
from gancheck.report.labels import OUTCOME_LABELS
from gancheck.report.plots import DPI, WIDTH, style
from gancheck.report.plots_comparisons import FittingTicks, decade_groups
from gancheck.runs.verdicts import FAILED_OUTCOMES

from .conftest import N_PREVIEWS, N_VALUES

#: The hand-set values of the far-off seed (far_off): in its draw 0, the first ABOVE values sit
#: at 171 (features=data_diffs seed 18's output mean in the full run); in its draw 1, the first
#: BELOW sit at -50; every other value is 4.0, the target mean.
ABOVE, BELOW = 7, 3


@pytest.fixture
def drawn(monkeypatch) -> list[MplFigure]:
    """The matplotlib figures the plotting modules would encode, kept whole to inspect (encode
    clears them)."""
    figures = []

    def keep(fig):
        figures.append(fig)
        return "data:image/png;base64,"
    for module in (plots_outcomes, plots_comparisons):
        monkeypatch.setattr(module, "encode", keep)
    return figures


@pytest.fixture
def far_off(report_input):
    """The synthetic run with its off-target pick's noise draws set by hand (ABOVE, BELOW) and
    its coordinates' means at 150..163 with sd 12, as seed 18's in the full run."""
    arm, seed = next((a, s) for o, a, s in representatives(report_input) if o == "off_target")
    previews = report_input.previews.copy()
    rows = (previews["arm"] == arm) & (previews["seed"] == seed)
    draw, index = previews.loc[rows, "draw"].to_numpy(), previews.loc[rows, "index"].to_numpy()
    previews.loc[rows, "value"] = np.select([(draw == 0) & (index < ABOVE), (draw == 1) & (index < BELOW)],
                                            [171.0, -50.0], 4.0)
    coordinates = report_input.coordinates.copy()
    rows = (coordinates["arm"] == arm) & (coordinates["seed"] == seed)
    coordinates.loc[rows, "mean"] = np.linspace(150.0, 163.0, rows.sum())
    coordinates.loc[rows, "sd"] = 12.0
    data = dataclasses.replace(report_input, previews=previews, coordinates=coordinates)
    return compact(data), (arm, seed)


def _row(fig: MplFigure, data, outcome: str):
    """The (left, right) axes of ``outcome``'s row in the representatives figure."""
    i = [o for o, _, _ in representatives(data)].index(outcome)
    return fig.axes[2 * i], fig.axes[2 * i + 1]


# ------------------------------------------------------------------- values beyond the window

def test_draw_counts_count_the_values_beyond_the_window(far_off):
    data, (arm, seed) = far_off
    rows = data.draw_counts[(data.draw_counts["arm"] == arm) & (data.draw_counts["seed"] == seed)]
    # Oracle: the hand-set values (far_off); the window is 4 ± 4.5 * 1.25 = -1.625 .. 9.625.
    assert rows["above"].tolist() == [ABOVE, 0, 0] and rows["below"].tolist() == [0, BELOW, 0]
    # The end bins still hold them too, so every finite value is counted once in h0..h35.
    assert rows[[f"h{i}" for i in range(36)]].sum(axis=1).tolist() == [N_VALUES] * N_PREVIEWS


def test_a_far_off_seed_is_counted_in_the_figure_and_its_caption(far_off, drawn):
    data, _ = far_off
    figure = plots_outcomes.representative_figure(data)
    left, right = _row(drawn[0], data, "off_target")
    # Oracle: ABOVE and BELOW values of N_PREVIEWS * N_VALUES = 1,500; the edges -1.625 and
    # 9.625 written to 3 significant digits ("-1.62", "9.62", Python's round-half-even).
    texts = [t.get_text() for t in left.texts]
    assert f"{ABOVE} of 1,500 values\n> 9.62 →" in texts
    assert f"← {BELOW} of 1,500 values\n< -1.62" in texts
    assert (f"{BELOW} of 1,500 values < -1.62 and {ABOVE} of 1,500 values > 9.62" in figure.caption
            and "not drawn but counted" in figure.caption and "-1.62 to 9.62" in figure.caption)
    # Draw 0 is drawn with its 500 - 7 = 493 values at 4.0 in one bin, as a density of all its
    # 500 values (bin width 11.25 / 36 = 0.3125): 493 / (500 * 0.3125) = 3.1552. The 7 beyond
    # are missing from the curve, not piled into the end bin.
    first = left.patches[0].get_data().values
    assert first.max() == pytest.approx(493 / (500 * 0.3125)) and first[-1] == 0


def test_a_far_off_seed_s_coordinates_are_inside_the_widened_axis(far_off, drawn):
    data, _ = far_off
    plots_outcomes.representative_figure(data)
    _, right = _row(drawn[0], data, "off_target")
    low, high = right.get_ylim()
    # Oracle: the hand-set coordinates (far_off): means up to 163, sd 12, so up to 175; the
    # target's lines (4 ± 1.25) must stay in view too.
    assert high > 175 and low < 4 - 1.25
    line = right.lines[0].get_ydata()
    assert line.max() == pytest.approx(163) and line.max() < high  # not drawn on the frame
    assert "axis widened" in right.get_title(loc="left")


def test_a_seed_inside_the_window_keeps_it(report_input, drawn):
    data = compact(report_input)
    figure = plots_outcomes.representative_figure(data)
    arm, seed = next((a, s) for o, a, s in representatives(data) if o == "on_target")
    _, right = _row(drawn[0], data, "on_target")
    # Oracle: numpy on the previews of the seeds drawn: none lies beyond 4 ± 4.5 * 1.25; nor
    # does the on-target seed's coordinates' mean ± sd.
    picked = {(a, s) for _, a, s in representatives(report_input)}
    p = report_input.previews
    values = p[[(a, s) in picked for a, s in zip(p["arm"], p["seed"])]]["value"].to_numpy()
    values = values[np.isfinite(values)]
    assert not ((values < -1.625) | (values > 9.625)).any()
    c = data.coordinates[(data.coordinates["arm"] == arm) & (data.coordinates["seed"] == seed)]
    assert (c["mean"] - c["sd"]).min() > -1.625 and (c["mean"] + c["sd"]).max() < 9.625
    assert "no drawn value lies beyond it" in figure.caption
    assert right.get_ylim() == (-1.625, 9.625)


def test_files_published_before_the_counts_say_what_the_end_bins_hold(far_off, drawn):
    data, _ = far_off
    old = dataclasses.replace(data, draw_counts=data.draw_counts.drop(columns=list(BEYOND_COLUMNS)))
    figure = plots_outcomes.representative_figure(old)
    left, _ = _row(drawn[0], old, "off_target")
    # Oracle: the end bins (-1.625 .. -1.3125 and 9.3125 .. 9.625) hold just the hand-set values
    # beyond (4.0 lies in neither); their inner edges to 3 significant digits.
    assert f"{ABOVE} of 1,500 values ≥ 9.31 (in the end bin, with any beyond 9.62)" in figure.caption
    assert f"{BELOW} of 1,500 values ≤ -1.31 (in the end bin, with any beyond -1.62)" in figure.caption
    assert any(t.get_text().startswith(f"{ABOVE} of 1,500 values\n≥ 9.31") for t in left.texts)


# ------------------------------------------------------------------------- failed seeds

def test_failed_seeds_are_called_failed_not_broken(report_input, drawn):
    figure = plots_outcomes.metric_figure(compact(report_input))
    legend = [t.get_text() for t in drawn[0].legends[0].get_texts()]
    assert "failed seed (counted +∞)" in legend
    assert not any("broken" in text for text in [*legend, figure.caption, figure.alt])
    # Oracle: the one declaration of the outcomes that count as +∞ (gancheck.runs.verdicts).
    assert all(OUTCOME_LABELS[o] in figure.caption for o in FAILED_OUTCOMES)


# ------------------------------------------------------------------------- symlog ticks

def _overlapping(fig: MplFigure) -> list[tuple[str, str]]:
    """Pairs of x tick labels, over every panel, whose drawn boxes overlap (at the page's dpi)."""
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(DPI)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [(label.get_text(), label.get_window_extent(renderer)) for ax in fig.axes if ax.get_visible()
             for label in ax.get_xticklabels() if label.get_visible() and label.get_text()]
    return [(a, b) for (a, p), (b, q) in itertools.combinations(boxes, 2)
            if p.x0 < q.x1 and q.x0 < p.x1 and p.y0 < q.y1 and q.y0 < p.y1]


def _symlog_panels(ncols: int, linthresh: float, lo: float, hi: float, locator=None) -> MplFigure:
    """A row of forest panels as forest_figure draws them: WIDTH wide, ``ncols`` columns."""
    with style():
        fig = MplFigure(figsize=(WIDTH, 2.5), layout="constrained")
        for ax in fig.subplots(1, ncols, sharey=True, squeeze=False).ravel():
            ax.set_xscale("symlog", linthresh=linthresh)
            ax.set_xlim(lo, hi)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_major_locator(locator or FittingTicks(decade_groups(linthresh)))
    return fig


def test_the_full_report_s_symlog_ticks_no_longer_collide():
    # The full report's panels: linthresh 0.001, three columns, about ±0.25.
    old = _symlog_panels(3, 1e-3, -0.25, 0.25, FixedLocator([-0.1, -0.01, -0.001, 0, 0.001, 0.01, 0.1]))
    assert _overlapping(old)  # the defect, as the audit saw it: "-0.1-0.010.001 0 0.0010.01 0.1"
    fig = _symlog_panels(3, 1e-3, -0.25, 0.25)
    assert _overlapping(fig) == []
    ticks = fig.axes[0].get_xticks()
    # 0 is always labelled; with symmetric limits, so are both sides of every decade kept.
    assert 0 in ticks and len(ticks) >= 3 and sorted(ticks) == sorted(-t for t in ticks)


@settings(max_examples=20, deadline=None)
@given(ncols=st.integers(1, 3), linthresh=st.floats(1e-6, 1e-1),
       low=st.floats(1e-3, 1e4), high=st.floats(1e-3, 1e4))
def test_symlog_tick_labels_never_overlap(ncols, linthresh, low, high):
    # Limits as forest_figure sets them (_finite_extent, then 2.5 times wider on a symlog axis):
    # the data's extent with 0 in it, padded by 8% of its span, so 0 never sits at an edge,
    # where its label would stick out of the panel (-91 to 0.001 once put it there).
    pad = 0.08 * (low + high)
    fig = _symlog_panels(ncols, linthresh, -2.5 * (low + pad), 2.5 * (high + pad))
    assert _overlapping(fig) == []
    assert 0 in fig.axes[0].get_xticks()


@pytest.mark.parametrize("kind", ["rates", "metrics"])
def test_the_forest_figures_have_no_overlapping_tick_labels(report_input, drawn, kind):
    plots_comparisons.forest_figure(compact(report_input), kind)
    fig = drawn[0]
    # The metrics figure mixes symlog panels with a linear one (fixed share), whose edge label
    # ran into its neighbour's.
    assert (kind == "metrics") == any(ax.get_xscale() == "symlog" for ax in fig.axes)
    assert _overlapping(fig) == []
    # Fewer labels, not none: 0 and at least two more in every panel.
    assert all(0 in ax.get_xticks() and len(ax.get_xticks()) >= 3 for ax in fig.axes if ax.get_visible())

