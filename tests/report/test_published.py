"""The published folder alone rebuilds the page: `gancheck report` on a copy without the store
gives the page rendered from the store, byte for byte (the page has no render timestamp)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from gancheck.cli import run_cli
from gancheck.report import published
from gancheck.report.collect import CSV_FILES, publish, write_outputs
from gancheck.report.figure_data import compact, rounded
from gancheck.runs.store import STORE_NAME


def _report(argv) -> int:
    from gancheck.cli import ArgumentParser, report
    parser = ArgumentParser(prog="gancheck")
    report.add_parser(parser.add_subparsers(dest="command", parser_class=ArgumentParser))
    args = parser.parse_args(argv)
    return args.handler(args)


def _copy_without_store(run_dir: Path, to: Path) -> Path:
    to.mkdir()
    for path in run_dir.iterdir():
        if path.is_file() and not path.name.startswith(STORE_NAME) and path.name != "index.html":
            shutil.copy2(path, to / path.name)
    return to


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    """A small real run (two tiny arms, 2 seeds, the null control), its page from the store."""
    from gancheck.runs.driver import run_design
    from tests.runs.conftest import small_design
    run_dir = tmp_path_factory.mktemp("run")
    run_design(small_design(), run_dir, show_progress=False)
    write_outputs(run_dir)
    return run_dir


def test_a_real_run_s_page_rebuilds_from_its_published_files(small_run, tmp_path):
    pub = _copy_without_store(small_run, tmp_path / "published")
    assert not (pub / STORE_NAME).exists()
    assert _report(["report", str(pub), "--out", str(tmp_path / "out")]) == 0
    # Oracle: the page the run rendered from its store.
    assert (tmp_path / "out" / "index.html").read_bytes() == (small_run / "index.html").read_bytes()
    # Every published file is copied beside the rebuilt page, unchanged (the page checksums them).
    for name in CSV_FILES:
        assert (tmp_path / "out" / name).read_bytes() == (small_run / name).read_bytes(), name
    # In place, too: the folder's page is rewritten and its files are left as they were.
    assert _report(["report", str(pub)]) == 0
    assert (pub / "index.html").read_bytes() == (small_run / "index.html").read_bytes()


def test_a_rich_input_round_trips_through_its_published_files(report_input, tmp_path):
    # The fabricated run has every outcome, diverged members (+inf metrics, NaN output), hostile
    # arm names and controls: each must come back from the CSVs as the page needs it.
    publish(report_input, tmp_path / "a")
    published.rebuild(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "b" / "index.html").read_bytes() == (tmp_path / "a" / "index.html").read_bytes()


def test_published_figure_data_is_small_and_what_is_drawn(report_input, tmp_path):
    publish(report_input, tmp_path / "a", render=False)
    shown = compact(report_input)
    # Oracle: numpy on the raw output vector of one seed (the first with finite output).
    sample = report_input.samples
    arm, seed = shown.outputs.loc[shown.outputs["n"] > 0, ["arm", "seed"]].iloc[0]
    x = sample[(sample["arm"] == arm) & (sample["seed"] == seed)].sort_values("index")["value"].to_numpy()
    row = shown.outputs[(shown.outputs["arm"] == arm) & (shown.outputs["seed"] == seed)].iloc[0]
    assert row["n"] == x.size and row["mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert row["q50"] == rounded(np.quantile(x, 0.505))
    assert row[[f"h{i}" for i in range(40)]].sum() == x.size  # clipped into the end bins, none lost
    # Each figure file is smaller than the raw frame it replaces, written as CSV.
    raw = {"outputs.csv": sample, "history.csv": report_input.history,
           "coordinates.csv": report_input.coordinates, "draws.csv": report_input.previews}
    for name, frame in raw.items():
        assert (tmp_path / "a" / name).stat().st_size < len(frame.to_csv(index=False)), name


def test_an_incomplete_published_folder_names_the_missing_file(small_run, tmp_path, capsys):
    pub = _copy_without_store(small_run, tmp_path / "published")
    (pub / "outputs.csv").unlink()
    assert run_cli(_report, ["report", str(pub)]) == 2  # gancheck.cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "outputs.csv is missing" in err and err.count("\n") == 1
