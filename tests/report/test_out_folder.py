"""Where `gancheck report RUN --out DIR` may write: refused in one line (exit 2) before anything
is written, when DIR holds another run's store, another run's report or someone's own files;
kept working for the run's own folder and for an earlier rendering of the same run. "The same
run" is the run record's name and start time (provenance.json; a resume keeps both).

A read-only folder is injected (OSError(EROFS) where the first file would be made, as
tests/runs/test_full_disk.py does), and is a real read-only bind mount where one can be made.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import gancheck.__main__ as gancheck_cli
from gancheck.cli import run_cli
from gancheck.report.collect import write_outputs
from gancheck.runs import files
from gancheck.runs.store import STORE_NAME

EXIT_USAGE = 2  # gancheck.cli.EXIT_USAGE: bad input, one line


def _report(*argv: str) -> int:
    return run_cli(gancheck_cli.main, ["report", *argv])


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): "folder" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))}


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def _run(folder: Path) -> Path:
    from gancheck.runs.driver import run_design
    from tests.runs.conftest import small_design
    run_design(small_design(), folder, show_progress=False)
    write_outputs(folder)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    """Two small real runs, 'run_a' and 'run_b', each with its store, CSVs and page."""
    base = tmp_path_factory.mktemp("runs")
    return _run(base / "run_a"), _run(base / "run_b")


@pytest.fixture
def run_a(runs, tmp_path) -> Path:
    """A copy of run_a (the in-place tests rewrite it)."""
    return Path(shutil.copytree(runs[0], tmp_path / "run_a"))


# -- someone else's files, another run's -----------------------------------------------------------

def test_a_folder_of_someone_s_files_is_refused(run_a, tmp_path, capsys):
    out = tmp_path / "U"
    out.mkdir()
    (out / "index.html").write_text("<html>mine</html>\n")
    (out / "outcomes.csv").write_text("a,b\n")
    before = _snapshot(out)
    assert _report(str(run_a), "--out", str(out)) == EXIT_USAGE   # before the fix: 0, both replaced
    line = _one_line(capsys.readouterr().err)
    assert f"--out={str(out)!r}" in line and "no run record" in line, line
    assert _snapshot(out) == before


def test_another_run_s_folder_is_refused(runs, run_a, tmp_path, capsys):
    run_b = Path(shutil.copytree(runs[1], tmp_path / "run_b"))
    before = _snapshot(run_b)
    assert _report(str(run_a), "--out", str(run_b)) == EXIT_USAGE   # before the fix: 0, its CSVs replaced
    line = _one_line(capsys.readouterr().err)
    assert f"--out={str(run_b)!r}" in line and "store" in line, line
    assert _snapshot(run_b) == before


def test_a_report_of_another_run_is_refused(runs, run_a, tmp_path, capsys):
    published_b = tmp_path / "published_b"
    assert _report(str(runs[1]), "--out", str(published_b)) == 0
    before = _snapshot(published_b)
    assert _report(str(run_a), "--out", str(published_b)) == EXIT_USAGE
    line = _one_line(capsys.readouterr().err)
    assert "another run ('run_b'" in line, line   # run_b: the folder's name, the record's name
    assert _snapshot(published_b) == before


def test_a_run_of_the_same_name_started_at_another_time_is_another_run(run_a, tmp_path, capsys):
    out = tmp_path / "out"
    assert _report(str(run_a), "--out", str(out)) == 0
    record = json.loads((out / "provenance.json").read_text())
    record["started"] = "1999-01-01 00:00:00 UTC"   # same name 'run_a', another start
    (out / "provenance.json").write_text(json.dumps(record))
    assert _report(str(run_a), "--out", str(out)) == EXIT_USAGE
    assert "another run ('run_a', started 1999-01-01" in _one_line(capsys.readouterr().err)


# -- the same run: still allowed ---------------------------------------------------------------------

def test_an_earlier_rendering_of_the_same_run_is_rendered_again(run_a, tmp_path):
    out = tmp_path / "out"
    assert _report(str(run_a), "--out", str(out)) == 0
    first = _snapshot(out)
    assert _report(str(run_a), "--out", str(out)) == 0
    assert _snapshot(out) == first   # the page has no timestamp: the same bytes again
    # ... and from the published copy itself, into itself and into another rendering of it.
    assert _report(str(out), "--out", str(out)) == 0
    assert _report(str(out), "--out", str(tmp_path / "again")) == 0
    assert _report(str(out), "--out", str(tmp_path / "again")) == 0


def test_the_run_s_own_folder_is_in_place(run_a):
    before = (run_a / "index.html").read_bytes()
    assert _report(str(run_a), "--out", str(run_a)) == 0
    assert (run_a / "index.html").read_bytes() == before


# -- bad --out values ------------------------------------------------------------------------------

def test_an_empty_out_is_refused(run_a, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)   # where '' would have written
    assert _report(str(run_a), "--out", "") == EXIT_USAGE
    assert "--out=''" in _one_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == [run_a]


def test_a_folder_named_like_an_output_is_refused(run_a, tmp_path, capsys):
    (tmp_path / "out" / "index.html").mkdir(parents=True)
    assert _report(str(run_a), "--out", str(tmp_path / "out")) == EXIT_USAGE
    line = _one_line(capsys.readouterr().err)
    assert str(tmp_path / "out" / "index.html") in line and "is a folder" in line, line
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["index.html"]


# -- read-only folders ------------------------------------------------------------------------------

def _read_only_files(monkeypatch) -> None:
    """No file can be made: EROFS, as on a read-only mount (the temp file every write starts with)."""
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))
    monkeypatch.setattr(files, "create_temp", refuse)


def test_a_read_only_run_folder_suggests_out(run_a, monkeypatch, capsys):
    _read_only_files(monkeypatch)
    assert _report(str(run_a)) == EXIT_USAGE
    line = _one_line(capsys.readouterr().err)
    # before the fix: "error: cannot write .../scores.csv: Read-only file system"
    assert "the folder is read-only" in line and "--out DIR" in line and str(run_a) in line, line


def test_a_read_only_out_names_it(run_a, tmp_path, monkeypatch, capsys):
    _read_only_files(monkeypatch)
    out = tmp_path / "out"
    assert _report(str(run_a), "--out", str(out)) == EXIT_USAGE
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"error: report: --out={str(out)!r}: the folder is read-only"), line
    assert not out.exists()   # made by the command, which wrote nothing there: removed


def test_a_new_out_on_a_read_only_mount_names_it(run_a, read_only_mount, capsys):
    out = read_only_mount / "sub"
    assert _report(str(run_a), "--out", str(out)) == EXIT_USAGE
    line = _one_line(capsys.readouterr().err)
    # before the fix: "error: [Errno 30] Read-only file system: '...'"
    assert line.startswith(f"error: report: --out={str(out)!r}: cannot create the folder"), line
    assert "Read-only file system" in line


def test_a_run_on_a_read_only_mount_is_reported_elsewhere(run_a, read_only_mount, tmp_path, capsys):
    src = read_only_mount.parent / "src"
    subprocess.run(["umount", str(read_only_mount)], check=True)
    shutil.copytree(run_a, src / "run", ignore=shutil.ignore_patterns(f"{STORE_NAME}-*"))
    subprocess.run(["mount", "--bind", str(src), str(read_only_mount)], check=True)
    subprocess.run(["mount", "-o", "remount,ro,bind", str(read_only_mount)], check=True)
    ro_run = read_only_mount / "run"
    assert _report(str(ro_run)) == EXIT_USAGE
    line = _one_line(capsys.readouterr().err)
    assert "the folder is read-only" in line and "--out DIR" in line, line
    assert _report(str(ro_run), "--out", str(tmp_path / "elsewhere")) == 0   # as the line suggests
