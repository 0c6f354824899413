"""What a run's --out may be: refused in one line (exit 2) before anything is written there.

- a folder holding files a run writes (index.html, a CSV, provenance.json ...) but no store is
  someone else's: a run would replace them;
- a refused run leaves no .run.lock in a folder it did not make, and removes one it made;
- a read-only (or unwritable) folder is bad input, not a run stopped by its disk;
- a folder named like an output (index.html/) is found before the training, not after.

A read-only folder is injected (OSError(EROFS) at the lock's open, as tests/runs/test_full_disk.py
does for the CSVs) on every machine, and is also a real read-only bind mount where this process
may mount (root with CAP_SYS_ADMIN): as root, chmod does not stop a write.
"""
from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

import gancheck.runs.driver as driver
from experiments import ablate
from gancheck.cli import run_cli
from gancheck.runs import files
from gancheck.runs.driver import RUN_OUTPUTS, run_design
from gancheck.runs.files import FolderRefused, RunLock
from gancheck.runs.store import STORE_NAME, Store
from tests.runs.conftest import foreign_database, small_design

#: a small ablation in this process; work never starts (the no_work fixture fails it if it does)
ABLATE_ARGS = ["--preset", "quick", "--epochs", "1", "--seeds", "1", "--workers", "1", "--no-progress"]
EXIT_USAGE = 2  # gancheck.cli.EXIT_USAGE: bad input, one line


def _snapshot(folder: Path) -> dict[str, str]:
    """relative path -> sha256 (or 'folder') of everything under ``folder``, hidden files included."""
    seen = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        seen[rel] = "folder" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def no_work(monkeypatch):
    def plan(*args, **kwargs):
        raise AssertionError("the run started in a folder it should have refused")
    monkeypatch.setattr(driver, "plan", plan)


# -- someone else's files ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", RUN_OUTPUTS)
def test_a_run_never_replaces_a_file_it_writes_in_a_folder_without_a_store(tmp_path, name, capsys, no_work):
    out = tmp_path / "mine"
    out.mkdir()
    (out / name).write_text("the user's own file\n")
    (out / "notes.txt").write_text("beside it\n")
    before = _snapshot(out)
    assert run_cli(ablate.main, [*ABLATE_ARGS, "--out", str(out)]) == EXIT_USAGE
    line = _one_line(capsys.readouterr().err)
    # The option and the file named; nothing written, not even the lock file.
    assert f"--out={str(out)!r}" in line and name in line and "no gancheck store" in line, line
    assert _snapshot(out) == before


def test_the_reviewer_s_folder_keeps_its_page_and_csv(tmp_path, capsys, no_work):
    # The reproduction: index.html and outcomes.csv of the user's, `ablate --out U`.
    out = tmp_path / "U"
    out.mkdir()
    (out / "index.html").write_text("<html>mine</html>\n")
    (out / "outcomes.csv").write_text("a,b\n")
    assert run_cli(ablate.main, [*ABLATE_ARGS, "--out", str(out)]) == EXIT_USAGE
    _one_line(capsys.readouterr().err)
    assert (out / "index.html").read_text() == "<html>mine</html>\n"
    assert (out / "outcomes.csv").read_text() == "a,b\n"
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "outcomes.csv"]


def test_a_folder_with_unrelated_files_is_still_a_place_for_a_run(tmp_path):
    # Only the names a run writes make a folder someone else's: notes beside a run are fine.
    (tmp_path / "notes.txt").write_text("mine\n")
    outcome = run_design(small_design(), tmp_path, show_progress=False)
    assert outcome.trained == 6   # small_design: 2 arms x 2 seeds + 2 null replicates
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


# -- a refused run leaves no lock file ----------------------------------------------------------------

def _user_files(out: Path) -> None:
    (out / "index.html").write_text("<h1>my home page</h1>\n")


def _newer_store(out: Path) -> None:
    store = Store(out / STORE_NAME, create=True)
    store.set_meta("format", "gancheck-store-99")
    store.close()
    for suffix in ("-wal", "-shm"):   # a closed store: what a newer gancheck leaves
        Path(f"{out / STORE_NAME}{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize("fresh", [True, False], ids=["--fresh", "resume"])
@pytest.mark.parametrize("prepare", [_user_files, foreign_database, _newer_store],
                         ids=["user's files", "foreign database", "newer store"])
def test_a_refused_run_leaves_no_lock_file(tmp_path, prepare, fresh, capsys, no_work):
    out = tmp_path / "theirs"
    out.mkdir()
    prepare(out)
    before = _snapshot(out)
    argv = [*ABLATE_ARGS, "--out", str(out), *(["--fresh"] if fresh else [])]
    assert run_cli(ablate.main, argv) == EXIT_USAGE
    _one_line(capsys.readouterr().err)
    assert _snapshot(out) == before   # before the fix: '.run.lock' appeared


def test_discard_removes_only_a_lock_file_this_lock_made(tmp_path):
    with RunLock(tmp_path) as lock:
        lock.discard()
    assert not (tmp_path / ".run.lock").exists()
    (tmp_path / ".run.lock").write_text("pid 1")   # an earlier run's: kept
    with RunLock(tmp_path) as lock:
        lock.discard()
    assert (tmp_path / ".run.lock").exists()


def test_a_lock_whose_file_was_discarded_meanwhile_takes_the_new_one(tmp_path, monkeypatch):
    # A refused run removes its lock file while holding it; a run that opened that file just
    # before must not count a lock on a file no longer in the folder.
    real_lock = RunLock._lock
    calls = {"n": 0}

    def lock_after_a_discard(self):
        real_lock(self)
        calls["n"] += 1
        if calls["n"] == 1:
            self.path.unlink()           # as discard() in another process, just before
            self.path.write_text("")     # and the next run's file
    monkeypatch.setattr(RunLock, "_lock", lock_after_a_discard)
    with RunLock(tmp_path) as lock:
        assert calls["n"] == 2           # locked twice: the stale file, then the named one
        assert files._same_file(lock.handle.fileno(), lock.path)


# -- a read-only folder -----------------------------------------------------------------------------

def _lock_fails(monkeypatch, code: int) -> None:
    """Opening .run.lock fails with ``code`` (EROFS: as in a folder on a read-only mount); every
    other file opens as usual."""
    real_open = os.open

    def open_(path, *args, **kwargs):
        if Path(path).name == ".run.lock":
            raise OSError(code, os.strerror(code))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "open", open_)


def test_a_read_only_folder_is_bad_input_not_a_stopped_run(tmp_path, monkeypatch, capsys, no_work):
    _lock_fails(monkeypatch, errno.EROFS)
    assert run_cli(ablate.main, [*ABLATE_ARGS, "--out", str(tmp_path)]) == EXIT_USAGE  # was 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"error: --out={str(tmp_path)!r}: the folder is read-only"), line
    assert "Read-only file system" in line and "resume" not in line, line   # nothing started


def test_a_folder_made_for_a_refused_run_is_removed(tmp_path, monkeypatch, capsys, no_work):
    _lock_fails(monkeypatch, errno.EROFS)
    out = tmp_path / "new"
    assert run_cli(ablate.main, [*ABLATE_ARGS, "--out", str(out)]) == EXIT_USAGE
    _one_line(capsys.readouterr().err)
    assert not out.exists()


def test_a_full_disk_at_the_lock_is_still_a_write_error(tmp_path, monkeypatch):
    # Only a folder that refuses writes is bad input; a full disk stays the run's exit 1.
    _lock_fails(monkeypatch, errno.ENOSPC)
    with pytest.raises(files.WriteError):
        with RunLock(tmp_path):
            pass


def test_a_real_read_only_folder_is_refused_in_one_line(read_only_mount, capsys, no_work):
    out = read_only_mount / "empty"
    assert run_cli(ablate.main, [*ABLATE_ARGS, "--out", str(out)]) == EXIT_USAGE
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"error: --out={str(out)!r}: the folder is read-only"), line
    assert list(out.iterdir()) == []


# -- a folder where a run writes a file -----------------------------------------------------------

def test_a_folder_named_like_an_output_is_refused_before_training(tmp_path, capsys, no_work):
    (tmp_path / "index.html").mkdir()
    assert run_cli(ablate.main, [*ABLATE_ARGS, "--out", str(tmp_path)]) == EXIT_USAGE
    line = _one_line(capsys.readouterr().err)
    # no_work: refused before the planner (before the fix: "[Errno 21] Is a directory", after the run)
    assert str(tmp_path / "index.html") in line and "is a folder" in line, line


def test_the_driver_raises_folder_refused(tmp_path):
    # Library callers get the same refusal as a ValueError (gancheck.cli: exit 2).
    (tmp_path / "summary.csv").write_text("month,spend\n")
    with pytest.raises(FolderRefused, match="summary.csv but no gancheck store"):
        run_design(small_design(), tmp_path, show_progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]
