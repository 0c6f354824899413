"""A run folder whose provenance record is damaged: one line naming the field, exit 2."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gancheck.cli import ArgumentParser, run_cli
from gancheck.runs.store import STORE_NAME, Store


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    from gancheck.runs.driver import run_design
    from tests.runs.conftest import small_design
    run_dir = tmp_path_factory.mktemp("run")
    run_design(small_design(), run_dir, show_progress=False)
    return run_dir


def _report(argv) -> int:
    from gancheck.cli import report
    parser = ArgumentParser(prog="gancheck")
    report.add_parser(parser.add_subparsers(dest="command", parser_class=ArgumentParser))
    args = parser.parse_args(argv)
    return args.handler(args)


def _damaged(small_run: Path, tmp_path: Path, change) -> Path:
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    store = Store(run / STORE_NAME, create=True)  # opened to write: readers are read-only
    try:
        record = store.get_meta("provenance")
        change(record)
        store.set_meta("provenance", record)
    finally:
        store.close()
    return run


@pytest.mark.parametrize("field, change, words", [
    ("target_mean", lambda r: r.pop("target_mean"), "no 'target_mean'"),
    ("alpha", lambda r: r.__setitem__("alpha", "NaN"), "alpha='NaN'"),
    ("alpha", lambda r: r.__setitem__("alpha", 1.5), "alpha=1.5"),
    ("target_std", lambda r: r.__setitem__("target_std", -1), "target_std=-1"),
    ("seeds", lambda r: r.__setitem__("started", {"not": "a time"}) or r.__setitem__("invocations", "x"),
     "provenance is damaged"),
])
def test_damaged_provenance_is_one_line_and_exit_2(small_run, tmp_path, capsys, field, change, words):
    run = _damaged(small_run, tmp_path, change)
    assert run_cli(_report, ["report", str(run), "--out", str(tmp_path / "out")]) == 2  # EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert words in err and "Traceback" not in err
    assert not (tmp_path / "out" / "index.html").exists()


def test_a_run_stopped_before_its_baseline_s_block_says_to_finish_it(small_run, tmp_path, capsys):
    # The first block trained only the other arm: no member of the baseline ('seed') is stored.
    import sqlite3
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    with sqlite3.connect(run / STORE_NAME) as db:
        db.execute("DELETE FROM members WHERE arm = 'seed'")
    assert run_cli(_report, ["report", str(run), "--out", str(tmp_path / "out")]) == 2  # EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert "no finished members of its baseline 'seed' yet" in err and "rerun" in err
    assert "is not an arm" not in err  # the wording of gancheck.stats.comparisons, from before
    assert not (tmp_path / "out" / "index.html").exists()


def test_the_command_that_finishes_a_run_drops_fresh_and_names_the_folder():
    from gancheck.report.collect import _resume_command
    # Oracle: the recorded command, as a shell splits it, without --fresh (it would discard the
    # finished members) and with --out naming the folder reported on.
    assert _resume_command("python -m experiments.ablate --fresh --seeds 4 --out 'a b'", Path("/r/x")) \
        == "python -m experiments.ablate --seeds 4 --out /r/x"
    assert _resume_command("python -m experiments.ablate --out=old", Path("r")) == \
        "python -m experiments.ablate --out r"
    assert _resume_command(None, Path("r")) is None and _resume_command("'unclosed", Path("r")) is None
