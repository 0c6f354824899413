"""A full disk or a read-only run folder during a run: one line naming the path and the cause,
exit 1, every member committed before kept (integrity_check passes), and the next run resumes.

Two ways to fill a disk:
- in process, on every machine: SQLite's own limits make it fail as on a full disk
  (``PRAGMA max_page_count``: SQLITE_FULL, "database or disk is full"; ``PRAGMA query_only``:
  SQLITE_READONLY), and os.fdopen's handle is made to fail with ENOSPC for the CSVs;
- end to end, where the test may mount a filesystem (root with CAP_SYS_ADMIN): a real 1 MB tmpfs
  that fills mid-run, then is grown; and one remounted read-only mid-run. As root, chmod does not
  make a folder unwritable (root ignores permissions), so a remount is the honest way there.
"""
from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from experiments.designs import build_design
from gancheck.runs import files
from gancheck.runs.driver import expected_digests, run_design
from gancheck.runs.files import WriteError, atomic_write_text
from gancheck.runs.store import STORE_NAME, Store
from tests.runs.conftest import PYTHON, REPO_ROOT, integrity, read_members

RUN = dict(show_progress=False)


def _fail_store_after(n_members: int, pragma: str, monkeypatch) -> None:
    """After ``n_members`` committed members, the store's connection hits a real SQLite limit."""
    real_put = Store.put_member
    count = {"n": 0}

    def put_member(self, rec):
        if count["n"] == n_members:
            if pragma == "full":   # no page may be added: SQLITE_FULL, as on a full disk
                pages = self.db.execute("PRAGMA page_count").fetchone()[0]
                self.db.execute(f"PRAGMA max_page_count = {pages}")
            else:                  # SQLITE_READONLY, as in a folder remounted read-only
                self.db.execute("PRAGMA query_only = ON")
        real_put(self, rec)
        count["n"] += 1
    monkeypatch.setattr(Store, "put_member", put_member)


@pytest.mark.parametrize("pragma, cause", [("full", "database or disk is full"),
                                           ("read-only", "attempt to write a readonly database")])
def test_a_full_store_stops_the_run_keeping_what_was_committed(tmp_path, tiny_design, monkeypatch, pragma, cause):
    want = expected_digests(tiny_design)
    _fail_store_after(2, pragma, monkeypatch)
    with pytest.raises(WriteError) as err:
        run_design(tiny_design, tmp_path, **RUN)
    message = str(err.value)
    # One line naming the file and SQLite's cause.
    assert message == f"cannot write {tmp_path / STORE_NAME}: {cause}", message
    monkeypatch.undo()

    store = tmp_path / STORE_NAME
    assert integrity(store) == "ok"
    kept = read_members(store)
    # SQLite's pages are several KB and a tiny member's row is smaller, so a page may still have
    # room: at least the 2 members committed before the limit, never a half-written one.
    assert len(kept) >= 2 and set(kept) <= set(want)

    # Space is back (a new connection has no limit): the same run resumes, nothing recomputed.
    outcome = run_design(tiny_design, tmp_path, **RUN)
    assert outcome.reused == len(kept) and outcome.trained == len(want) - len(kept)
    after = read_members(store)
    assert set(after) == set(want)
    assert all(after[k]["finished_at"] == row["finished_at"] for k, row in kept.items())


class _FullDiskHandle:
    """A file handle whose writes fail as on a full disk."""

    def __init__(self, handle):
        self.handle = handle

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def test_a_csv_on_a_full_disk_is_one_line_naming_it(tmp_path, monkeypatch):
    real_fdopen = os.fdopen
    monkeypatch.setattr(files.os, "fdopen", lambda *a, **k: _FullDiskHandle(real_fdopen(*a, **k)))
    with pytest.raises(WriteError) as err:
        atomic_write_text(tmp_path / "scores.csv", "a,b\n")
    assert str(err.value) == f"cannot write {tmp_path / 'scores.csv'}: No space left on device"
    assert err.value.errno == errno.ENOSPC and isinstance(err.value, OSError)
    assert list(tmp_path.iterdir()) == []   # no temp file left


def test_an_unwritable_folder_for_a_csv_is_one_line_naming_it(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))
    monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
    with pytest.raises(WriteError, match=rf"^cannot write {tmp_path / 'summary.csv'}: Read-only file system$"):
        atomic_write_text(tmp_path / "summary.csv", "x\n")


def test_other_os_errors_are_not_write_errors(tmp_path):
    # A missing folder is the caller's path, not a full disk: it stays a plain OSError.
    with pytest.raises(OSError) as err:
        atomic_write_text(tmp_path / "missing" / "scores.csv", "x\n")
    assert not isinstance(err.value, WriteError)


# -- end to end, on a real small filesystem ------------------------------------------------------

#: The quick preset cut to 2 epochs and 2 seeds (5 arms x 2 seeds + 6 controls x 200 replicates,
#: a store of about 1.5 MB with its WAL), so that a 1 MB tmpfs fills mid-run.
ARGS = ["--preset", "quick", "--epochs", "2", "--seeds", "2", "--no-progress", "--workers", "2"]
WANT = expected_digests(build_design(preset="quick", seeds=[0, 1], epochs=2))
TMPFS_KB = 1024


def _mount(point: Path, options: str) -> bool:
    if shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                          capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    point = tmp_path / "disk"
    point.mkdir()
    if not _mount(point, f"size={TMPFS_KB}k"):
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN); the in-process "
                    "tests above cover the same paths by injection")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _ablate(run_dir: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "experiments.ablate", *ARGS, "--out", str(run_dir)], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _members(store: Path) -> dict:
    return read_members(store) if store.exists() else {}


def _check_stopped(proc: subprocess.Popen, store: Path, cause: str) -> dict:
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr                          # the machine's fault, not the input's
    lines = stderr.splitlines()
    assert len(lines) == 1 and cause in lines[0] and str(store.parent) in lines[0], stderr
    assert "resume" in lines[0]
    assert integrity(store) == "ok"
    kept = _members(store)
    assert set(kept) <= set(WANT)
    return kept


def _check_resumes(run_dir: Path, kept: dict) -> None:
    proc = _ablate(run_dir)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    after = _members(run_dir / STORE_NAME)
    assert set(after) == set(WANT)                               # every (arm, seed), once (primary key)
    assert all(after[k]["finished_at"] == row["finished_at"] for k, row in kept.items())  # none lost
    assert f"{len(WANT) - len(kept)} computed now, {len(kept)} reused" in stdout, stdout


@pytest.mark.slow
def test_a_disk_that_fills_mid_run_stops_it_and_the_run_resumes_once_space_is_back(small_disk):
    run_dir = small_disk / "run"
    kept = _check_stopped(_ablate(run_dir).__enter__(), run_dir / STORE_NAME, "disk is full")
    assert 0 < len(kept) < len(WANT), len(kept)   # it filled mid-run: some stored, not all
    subprocess.run(["mount", "-o", f"remount,size={64 * TMPFS_KB}k", str(small_disk)], check=True)
    _check_resumes(run_dir, kept)


@pytest.mark.slow
def test_a_folder_remounted_read_only_mid_run_stops_it_and_the_run_resumes(small_disk):
    subprocess.run(["mount", "-o", f"remount,size={64 * TMPFS_KB}k", str(small_disk)], check=True)
    run_dir = small_disk / "run"
    proc = _ablate(run_dir)
    store = run_dir / STORE_NAME
    deadline = time.monotonic() + 240
    while proc.poll() is None and not _members_now(store) and time.monotonic() < deadline:
        time.sleep(0.05)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    kept = _check_stopped(proc, store, "readonly")
    assert 0 < len(kept) < len(WANT), len(kept)
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    _check_resumes(run_dir, kept)


def _members_now(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM members").fetchone()[0]
    except sqlite3.Error:
        return 0
