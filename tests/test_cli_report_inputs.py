"""Hostile run folders for `python -m gancheck report`: a store from a newer gancheck, a
symlinked run folder (followed: it works), a symlink that leads nowhere. In process, through
run_cli, as the command line calls it."""
from __future__ import annotations

import os
import sqlite3

import pytest

from gancheck import __main__ as gancheck_cli
from gancheck.cli import run_cli
from gancheck.runs.driver import run_design
from gancheck.runs.store import FORMAT, STORE_NAME, Store
from tests.runs.conftest import small_design


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A complete small run (its store, no CSVs yet)."""
    folder = tmp_path_factory.mktemp("run")
    run_design(small_design(), folder, show_progress=False)
    return folder


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_a_store_of_a_newer_gancheck_is_one_line_saying_so(tmp_path, capsys):
    version = int(FORMAT.rsplit("-", 1)[1])
    newer = f"gancheck-store-{version + 1}"   # whatever FORMAT is now, the next one
    run = tmp_path / "run"
    run.mkdir()
    store = Store(run / STORE_NAME, create=True)
    store.set_meta("format", newer)
    store.close()
    before = (run / STORE_NAME).read_bytes()
    assert run_cli(gancheck_cli.main, ["report", str(run)]) == 2
    line = _one_line(capsys)
    assert str(run / STORE_NAME) in line and newer in line and "newer gancheck" in line, line
    assert (run / STORE_NAME).read_bytes() == before     # not touched
    assert sorted(p.name for p in run.iterdir()) == [STORE_NAME]   # nothing written beside it


def test_a_foreign_format_is_not_called_newer(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    with sqlite3.connect(run / STORE_NAME) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("""INSERT INTO meta VALUES ('format', '"other-tool-7"')""")
    db.close()
    assert run_cli(gancheck_cli.main, ["report", str(run)]) == 2
    line = _one_line(capsys)
    assert "'other-tool-7'" in line and "newer" not in line, line


def test_a_symlinked_run_folder_is_followed(run_dir, tmp_path, capsys):
    link = tmp_path / "latest"
    link.symlink_to(run_dir, target_is_directory=True)
    assert run_cli(gancheck_cli.main, ["report", str(link)]) == 0
    assert capsys.readouterr().out.strip() == str(link / "index.html")
    # Written where the link leads, as files (not links), and the link is still a link.
    for name in ("index.html", "scores.csv", "summary.csv", "comparisons.csv"):
        assert (run_dir / name).is_file() and not (run_dir / name).is_symlink(), name
    assert link.is_symlink() and sorted(os.listdir(tmp_path)) == ["latest"]


@pytest.mark.parametrize("target", ["missing", "loop"])
def test_a_symlink_that_leads_nowhere_is_one_line(tmp_path, capsys, target):
    link = tmp_path / "latest"
    link.symlink_to(link if target == "loop" else tmp_path / "missing")
    assert run_cli(gancheck_cli.main, ["report", str(link)]) == 2
    line = _one_line(capsys)
    assert str(link) in line and "symbolic link" in line, line
