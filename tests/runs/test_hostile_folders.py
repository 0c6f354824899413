"""Run folders someone else prepared: planted links, a folder that is not a run, a read-only run.

Whatever the folder holds, a run writes and deletes only inside it: each test snapshots
everything outside the run folder (a victim file, the place a dangling link points to) and
checks that nothing there changed or appeared.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

import gancheck.__main__ as gancheck_cli
from experiments import ablate
from gancheck.cli import run_cli
from gancheck.report.collect import CSV_FILES, write_outputs
from gancheck.runs.driver import RUN_OUTPUTS, run_design
from gancheck.runs.files import RunLock
from gancheck.runs.store import STORE_NAME, Store
from tests.runs.conftest import PYTHON, REPO_ROOT, foreign_database, small_design

RUN = dict(show_progress=False)
ABLATE_ARGS = ["--preset", "quick", "--epochs", "1", "--seeds", "1", "--workers", "1", "--no-progress"]
VICTIM_TEXT = "a user's file, not gancheck's\n"


def _snapshot(root: Path, skip: Path) -> dict[str, str]:
    """relative path -> sha256 (or 'link -> target') of everything under root outside ``skip``."""
    seen = {}
    for path in sorted(root.rglob("*")):
        if path == skip or skip in path.parents:
            continue
        rel = str(path.relative_to(root))
        if path.is_symlink():
            seen[rel] = f"link -> {os.readlink(path)}"
        elif path.is_file():
            seen[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            seen[rel] = "folder"
    return seen


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A finished small run with its CSVs and page, copied by the tests that need one."""
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    run_design(small_design(), run_dir, **RUN)
    write_outputs(run_dir)
    return run_dir


@pytest.fixture
def scene(tmp_path):
    """tmp_path/outside/victim.txt (a file a link may point to) and an empty run folder."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text(VICTIM_TEXT)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return tmp_path, outside, run_dir


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


# -- planted links ------------------------------------------------------------------------------------

#: the files SQLite and the lock write; a link at any of them must stop the run before it writes
STORE_AND_LOCK = [".run.lock", STORE_NAME, f"{STORE_NAME}-wal", f"{STORE_NAME}-shm", f"{STORE_NAME}-journal"]


@pytest.mark.parametrize("name", STORE_AND_LOCK)
@pytest.mark.parametrize("target", ["existing", "dangling"])
def test_a_link_at_the_store_or_lock_is_refused(scene, name, target, capsys):
    root, outside, run_dir = scene
    aim = outside / ("victim.txt" if target == "existing" else "created-by-the-run")
    (run_dir / name).symlink_to(aim)
    before = _snapshot(root, run_dir)
    assert run_cli(ablate.main, [*ABLATE_ARGS, "--out", str(run_dir)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(run_dir / name) in line and "symbolic link" in line, line
    assert _snapshot(root, run_dir) == before   # the victim untouched, nothing created outside
    assert (outside / "victim.txt").read_text() == VICTIM_TEXT


@pytest.mark.parametrize("name", [".run.lock", STORE_NAME])
def test_a_hard_link_at_the_store_or_lock_is_refused(scene, name, capsys):
    root, outside, run_dir = scene
    os.link(outside / "victim.txt", run_dir / name)
    before = _snapshot(root, run_dir)
    assert run_cli(ablate.main, [*ABLATE_ARGS, "--out", str(run_dir)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(run_dir / name) in line and "hard links" in line, line
    assert _snapshot(root, run_dir) == before
    assert (outside / "victim.txt").read_text() == VICTIM_TEXT


def test_the_lock_refuses_a_link_in_one_line(scene):
    _, outside, run_dir = scene
    (run_dir / ".run.lock").symlink_to(outside / "victim.txt")
    with pytest.raises(ValueError, match="symbolic link"):
        with RunLock(run_dir):
            pass
    assert (outside / "victim.txt").read_text() == VICTIM_TEXT


def test_run_outputs_cover_everything_the_report_writes():
    # --fresh deletes RUN_OUTPUTS only: they must be exactly what write_outputs may write.
    assert set(RUN_OUTPUTS) == {*CSV_FILES, "effects.csv", "index.html"}


@pytest.mark.parametrize("name", [*CSV_FILES, "index.html"])
def test_a_link_at_an_output_is_replaced_not_followed(scene, finished_run, name):
    root, outside, _ = scene
    run_dir = root / "copy"
    shutil.copytree(finished_run, run_dir, symlinks=True)
    (run_dir / name).unlink()
    (run_dir / name).symlink_to(outside / "victim.txt")
    before = _snapshot(root, run_dir)
    write_outputs(run_dir)
    assert _snapshot(root, run_dir) == before
    assert not (run_dir / name).is_symlink() and (run_dir / name).stat().st_size > 0


# -- --fresh on what is not a run of this gancheck --------------------------------------------------

def _user_folder(run_dir: Path) -> None:
    (run_dir / "index.html").write_text("<h1>my home page</h1>\n")
    (run_dir / "summary.csv").write_text("month,spend\njan,12\n")


def _newer_store(run_dir: Path) -> None:
    store = Store(run_dir / STORE_NAME, create=True)
    store.set_meta("format", "gancheck-store-99")
    store.close()
    (run_dir / "summary.csv").write_text("from a newer gancheck\n")


@pytest.mark.parametrize("prepare, expect", [
    (_user_folder, "no gancheck store"),
    (_newer_store, "written by a newer gancheck"),
    (foreign_database, "not a gancheck store"),
], ids=["user's files", "newer format", "foreign database"])
def test_fresh_deletes_nothing_in_a_folder_that_is_not_a_run_it_reads(tmp_path, prepare, expect, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    prepare(run_dir)
    before = _snapshot(tmp_path, tmp_path / "none")   # the run folder included: nothing may go
    assert run_cli(ablate.main, [*ABLATE_ARGS, "--fresh", "--out", str(run_dir)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert expect in line and "nothing was deleted" in line, line
    after = _snapshot(tmp_path, tmp_path / "none")
    after.pop("run/.run.lock", None)   # the lock is taken before the folder is inspected
    assert after == before


def test_fresh_clears_a_run_of_this_gancheck(tmp_path, finished_run):
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    (run_dir / "notes.txt").write_text("the user's own notes, beside the run\n")
    outcome = run_design(small_design(), run_dir, fresh=True, **RUN)
    assert outcome.reused == 0 and outcome.trained == 6   # all 2 x 2 members + 2 controls again
    assert not (run_dir / "index.html").exists()          # its old outputs went (the store is new)
    assert (run_dir / "notes.txt").read_text() == "the user's own notes, beside the run\n"


# -- a run read from a read-only folder, by another user ---------------------------------------------

def _as_other_user() -> list[str]:
    """A command prefix that runs as user 'nobody' where this process is root (where permission
    bits do not apply), else none (this user, for whom chmod is enough)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be made to bite")
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    # A virtual environment inside a private folder (mktemp -d, a 0700 home) is invisible to
    # 'nobody', whose python then lacks numpy: that says nothing about gancheck.
    reach = subprocess.run([*prefix, PYTHON, "-c", "import numpy, torch"], capture_output=True)
    if reach.returncode != 0:
        pytest.skip(f"user 'nobody' cannot import this interpreter's packages ({PYTHON}); "
                    "make its folders world-readable to run this test")
    return prefix


@pytest.fixture
def public_tmp():
    """A folder 'nobody' can reach: pytest's own base folder is private to its user (0700),
    and other pytest sessions of this user reset it to that at any time."""
    base = Path(tempfile.mkdtemp(prefix="gancheck-ro-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        for p in [base, *base.rglob("*")]:
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o755)
        shutil.rmtree(base)


@pytest.mark.slow
def test_a_read_only_run_is_reported_elsewhere_and_nothing_is_written(finished_run, public_tmp):
    base = public_tmp
    run_dir = base / "run"
    shutil.copytree(finished_run, run_dir)
    for leftover in (f"{STORE_NAME}-wal", f"{STORE_NAME}-shm"):
        (run_dir / leftover).unlink(missing_ok=True)   # a closed run: SQLite's lock file is gone
    out = base / "out"
    out.mkdir()
    out.chmod(0o777)
    for p in [*run_dir.iterdir(), run_dir]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    before = _snapshot(base, out)
    proc = subprocess.run([*_as_other_user(), PYTHON, "-m", "gancheck", "report", str(run_dir),
                           "--out", str(out)], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "MPLCONFIGDIR": str(out / ".mpl")})
    assert proc.returncode == 0, proc.stderr
    assert (out / "index.html").stat().st_size > 0
    assert _snapshot(base, out) == before   # the run folder exactly as it was: nothing written


def test_a_reader_opens_the_store_read_only(finished_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    store = Store(run_dir / STORE_NAME)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.db.execute("DELETE FROM members")
    finally:
        store.close()


def test_report_refuses_a_linked_store_in_one_line(tmp_path, finished_run, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / STORE_NAME).symlink_to(finished_run / STORE_NAME)
    assert run_cli(gancheck_cli.main, ["report", str(run_dir), "--out", str(tmp_path / "out")]) == 2
    assert "symbolic link" in _one_line(capsys.readouterr().err)


def test_a_backup_made_of_hard_links_is_reported_and_its_original_untouched(tmp_path, finished_run, capsys):
    # A snapshot as `cp -al` or rsync --link-dest makes it: every file a second name of the
    # original's. Reading the store writes nothing to it, so the report reads it; the report's
    # own files replace their names in the snapshot, so the original run keeps its bytes.
    original = tmp_path / "original"
    shutil.copytree(finished_run, original)
    snapshot = tmp_path / "snapshot"
    shutil.copytree(original, snapshot, copy_function=os.link)
    assert os.stat(snapshot / STORE_NAME).st_nlink == 2
    before = _snapshot(tmp_path, snapshot)
    assert run_cli(gancheck_cli.main, ["report", str(snapshot)]) == 0, capsys.readouterr().err
    assert (snapshot / "index.html").stat().st_size > 0
    assert _snapshot(tmp_path, snapshot) == before   # the original (and everything else) as it was
    # Training into it would write the store: still refused, naming the hard links.
    assert run_cli(ablate.main, [*ABLATE_ARGS, "--out", str(snapshot)]) == 2
    assert "hard links" in _one_line(capsys.readouterr().err)
