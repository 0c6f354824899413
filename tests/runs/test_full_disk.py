"""A full disk or a read-only run folder during a run: one line naming the path and the cause,
exit 1, every member committed before kept (integrity_check passes), and the next run resumes.

Two ways to fill a disk:
- in process, on every machine: SQLite's own limits make it fail as on a full disk
  (``PRAGMA max_page_count``: SQLITE_FULL, "database or disk is full"; ``PRAGMA query_only``:
  SQLITE_READONLY), and os.fdopen's handle is made to fail with ENOSPC for the CSVs;
- where the test may mount a filesystem (root with CAP_SYS_ADMIN): a real 256 KB tmpfs that
  fills mid-run, then is grown.
A read-only folder is injected only (see the note at the end).
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from experiments import ablate
from gancheck.cli import run_cli
from gancheck.runs import driver, files
from gancheck.runs.driver import expected_digests, run_design
from gancheck.runs.files import WriteError, atomic_write_text
from gancheck.runs.store import STORE_NAME, Store
from tests.runs.conftest import integrity, read_members, small_design

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
    monkeypatch.setattr(files, "create_temp", refuse)
    with pytest.raises(WriteError, match=rf"^cannot write {tmp_path / 'summary.csv'}: Read-only file system$"):
        atomic_write_text(tmp_path / "summary.csv", "x\n")


def test_other_os_errors_are_not_write_errors(tmp_path):
    # A missing folder is the caller's path, not a full disk: it stays a plain OSError.
    with pytest.raises(OSError) as err:
        atomic_write_text(tmp_path / "missing" / "scores.csv", "x\n")
    assert not isinstance(err.value, WriteError)


# -- the command line: exit 1, one line ------------------------------------------------------------

def test_the_ablation_stopped_by_a_full_disk_exits_1_with_one_line(tmp_path, monkeypatch, capsys):
    # Where the error comes from is tested above and below; here, what the user sees of it.
    message = f"cannot write {tmp_path / STORE_NAME}: database or disk is full"

    def full(*args, **kwargs):
        raise WriteError(errno.ENOSPC, message)
    monkeypatch.setattr(driver, "run_design", full)
    assert run_cli(ablate.main, ["--preset", "quick", "--seeds", "1", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: {message}; stopped, finished members are saved: rerun the same "
                                "command to resume once this is fixed"], err


# -- on a real small filesystem --------------------------------------------------------------------

#: A 256 KB tmpfs: the small design's store grows by about 16 KB a member (its WAL), so it fills
#: after a few of the design's 18 members (measured: 6), never before the first.
TMPFS_KB = 256


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
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN); the tests above "
                    "cover the same paths by injection")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_disk_that_fills_mid_run_stops_it_and_the_run_resumes_once_space_is_back(small_disk):
    design = small_design(seeds=range(8))
    want = expected_digests(design)
    run_dir = small_disk / "run"
    with pytest.raises(WriteError) as err:
        run_design(design, run_dir, **RUN)
    assert str(err.value) == f"cannot write {run_dir / STORE_NAME}: database or disk is full"
    assert integrity(run_dir / STORE_NAME) == "ok"
    kept = read_members(run_dir / STORE_NAME)
    assert 0 < len(kept) < len(want), len(kept)   # it filled mid-run: some stored, not all

    subprocess.run(["mount", "-o", f"remount,size={64 * TMPFS_KB}k", str(small_disk)], check=True)
    outcome = run_design(design, run_dir, **RUN)
    assert (outcome.reused, outcome.trained) == (len(kept), len(want) - len(kept))
    after = read_members(run_dir / STORE_NAME)
    assert set(after) == set(want)                 # every (arm, seed) once (the primary key)
    assert all(after[k]["finished_at"] == row["finished_at"] for k, row in kept.items())   # none lost


# A folder remounted read-only mid-run cannot be made for real: Linux refuses `remount,ro` while
# a file is open for writing (the store is), and as root chmod changes nothing. SQLITE_READONLY
# and EROFS are therefore injected, above.
