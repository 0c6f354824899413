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


def _cut(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


def _set_cell(path: Path, row: int, column: str, text: str) -> None:
    """Data row ``row`` (from 1, after the header) gets ``text`` in ``column``."""
    lines = path.read_text().split("\n")
    header = lines[0].split(",")
    fields = lines[row].split(",")
    fields[header.index(column)] = text
    lines[row] = ",".join(fields)
    path.write_text("\n".join(lines))


# Each damage, and the words the one-line refusal must hold: the file, and the row and column
# where they apply (rows count from 1 after the header).
DAMAGES = [
    # The reviewer's case: scores.csv cut at 3000 bytes, mid-row (its last row has 5 of 13 fields).
    ("scores.csv", lambda p: _cut(p, 3000), ["scores.csv", "row ", "fields"]),
    # Cut inside the last field of the last row: as many fields as the header, but no line end.
    ("rates.csv", lambda p: _cut(p, p.stat().st_size - 2), ["rates.csv", "no line end"]),
    ("comparisons.csv", lambda p: p.write_text(""), ["comparisons.csv", "empty"]),
    ("members.csv", lambda p: _cut(p, len(p.read_text().split("\n")[0]) + 1),
     ["members.csv", "no rows"]),
    ("provenance.json", lambda p: p.write_text("[]"), ["provenance.json", "JSON list"]),
    ("provenance.json", lambda p: p.write_text('{"alpha": 0.05}'), ["provenance.json", "target_mean"]),
    ("outcomes.csv", lambda p: _set_cell(p, 3, "rate", "nan"), ["outcomes.csv", "row 3", "'rate'", "'nan'"]),
    ("outcomes.csv", lambda p: _set_cell(p, 1, "count", "-1"), ["outcomes.csv", "row 1", "'count'"]),
    ("outcomes.csv", lambda p: p.write_text('arm,outcome\n"seed,1\n2,3\n'), ["outcomes.csv", "not CSV"]),
    ("metrics.csv", lambda p: p.write_bytes(b"\xa0\x00\xff" * 100), ["metrics.csv", "UTF-8"]),
    ("metrics.csv", lambda p: _set_cell(p, 1, "value", ""), ["metrics.csv", "row 1", "'value'", "blank"]),
    ("arms.csv", lambda p: p.write_text(p.read_text().replace("is_baseline", "baseline_flag")),
     ["arms.csv", "'is_baseline'"]),
    ("history.csv", lambda p: p.write_text(p.read_text().replace(",quantity,0,", ",quantity,x,", 1)),
     ["history.csv", "'x'", "epoch"]),
]


@pytest.mark.parametrize("name, damage, words", DAMAGES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(DAMAGES)])
def test_a_damaged_published_file_is_refused_in_one_line(small_run, tmp_path, capsys, name, damage, words):
    pub = _copy_without_store(small_run, tmp_path / "published")
    damage(pub / name)
    out = tmp_path / "out"
    assert run_cli(_report, ["report", str(pub), "--out", str(out)]) == 2  # gancheck.cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)
    # Nothing is drawn from what is left, and the damaged file is not republished.
    assert not (out / "index.html").exists() and not (out / name).exists()


def test_a_run_without_gan_members_publishes_a_folder_that_rebuilds(small_run, tmp_path):
    # Only the controls finished: the page shows them (as it did), comparisons.csv is written
    # header-only (an empty file is refused as damaged), and the published folder rebuilds the
    # page drawn from the store, byte for byte.
    import sqlite3
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    with sqlite3.connect(run / STORE_NAME) as db:
        db.execute("DELETE FROM members WHERE kind = 'member'")
    write_outputs(run)
    assert (run / "comparisons.csv").read_text().startswith("arm,metric,baseline,")
    pub = _copy_without_store(run, tmp_path / "published")
    assert _report(["report", str(pub), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "index.html").read_bytes() == (run / "index.html").read_bytes()


# ------------------------------------------------------------------ caveats: the design's, and added

def test_a_design_s_caveats_are_recorded_and_added_ones_kept_on_resume(tmp_path):
    import dataclasses
    import json

    from gancheck.runs.driver import run_design
    from gancheck.runs.store import Store
    from tests.runs.conftest import small_design
    design = dataclasses.replace(small_design(), caveats=("Chosen on these seeds.",))
    run_dir = tmp_path / "run"
    run_design(design, run_dir, show_progress=False)
    assert _report(["report", str(run_dir), "--caveat", "Seed 1 ran  on\nanother machine."]) == 0
    page = (run_dir / "index.html").read_text()
    assert "Chosen on these seeds." in page and "Seed 1 ran on another machine. (added " in page
    # Resumed (nothing left to train): the design's caveat is recorded afresh, the added one kept.
    run_design(dataclasses.replace(design, caveats=("Chosen on seeds 0-1.",)), run_dir, show_progress=False)
    store = Store(run_dir / STORE_NAME)
    caveats = store.get_meta("provenance")["caveats"]
    store.close()
    assert caveats[0] == "Chosen on seeds 0-1." and caveats[1].startswith("Seed 1 ran on another machine.")
    assert len(caveats) == 2 and json.dumps(caveats)


def test_a_caveat_is_added_to_a_published_folder_s_record(small_run, tmp_path):
    import json
    pub = _copy_without_store(small_run, tmp_path / "published")
    assert _report(["report", str(pub), "--caveat", "Chosen on these seeds."]) == 0
    record = json.loads((pub / "provenance.json").read_text())
    assert record["caveats"][-1].startswith("Chosen on these seeds. (added ")
    assert "Chosen on these seeds. (added " in (pub / "index.html").read_text()


@pytest.mark.parametrize("options, words", [
    (["--caveat", "  "], "empty text"),
    (["--caveat", "x", "--out", "elsewhere"], "render in place"),
])
def test_a_caveat_without_its_place_is_refused(small_run, tmp_path, capsys, options, words):
    pub = _copy_without_store(small_run, tmp_path / "published")
    before = (pub / "provenance.json").read_bytes()
    options = [str(tmp_path / o) if o == "elsewhere" else o for o in options]
    assert run_cli(_report, ["report", str(pub), *options]) == 2
    assert words in capsys.readouterr().err
    assert (pub / "provenance.json").read_bytes() == before  # nothing written
