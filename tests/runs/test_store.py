"""The run store and run folder under faults: damaged or foreign files, two runs on one folder,
writes that fail midway.

Every damaged store must give one line naming the file (StoreError, a ValueError, so the CLIs
print `error: ...` and exit 2), never a traceback, and must not be modified by the attempt.
"""
from __future__ import annotations

import ast
import errno
import hashlib
import json
import os
import sqlite3
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

import gancheck.__main__ as gancheck_cli
import gancheck.runs.driver as driver
from experiments import ablate
from gancheck.cli import run_cli
from gancheck.runs import files
from gancheck.report.collect import load_report_input
from gancheck.runs.driver import expected_digests, run_design
from gancheck.runs.files import RunLock, atomic_write_text
from gancheck.runs.store import FORMAT, STORE_NAME, MemberRecord, Store, StoreError
from gancheck.stats.registry import REGISTRY
from tests.runs.conftest import PYTHON, REPO_ROOT, integrity, read_members, read_scores, small_design

RUN = dict(show_progress=False)
#: the small design's work: 2 arms x 2 seeds + 1 control x 2 replicates (conftest.small_design)
N_WORK = 2 * 2 + 1 * 2
#: the ablate CLI on its smallest preset, in one process (the tests stop it before any work)
ABLATE_ARGS = ["--preset", "quick", "--epochs", "1", "--seeds", "1", "--workers", "1", "--no-progress"]


# -- damaged, foreign and future stores ------------------------------------------------------------

def _random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(8).bytes(8192))  # two pages' worth of noise


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO users VALUES (1, 'ada')")
    db.close()


def _foreign_with_meta(path: Path) -> None:
    """Another program's database that happens to have a key/value 'meta' table."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('owner', 'someone else')")
    db.close()


def _foreign_meta_columns(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (id INTEGER, blob BLOB)")
    db.close()


def _future_format(path: Path) -> None:
    store = Store(path, create=True)
    store.set_meta("format", "gancheck-store-99")
    store.close()


def _bad_page(path: Path) -> None:
    """A real store whose 'scores' table root page is overwritten with noise: it opens, and
    fails only when the scores are read (a bad sector, a partial copy)."""
    run_design(small_design(), path.parent, **RUN)
    with sqlite3.connect(path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'scores'").fetchone()[0]
    db.close()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0  # all in the file
    with open(path, "r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(np.random.default_rng(9).bytes(page_size))


DAMAGE = {
    "random bytes": (_random_bytes, "unreadable store"),
    "empty file": (_empty, "empty file"),
    "foreign database": (_foreign, "not a gancheck store"),
    "foreign database with a meta table": (_foreign_with_meta, "not a gancheck store"),
    "foreign meta table of other columns": (_foreign_meta_columns, "not a gancheck store"),
    "future format": (_future_format, "store format 'gancheck-store-99'"),
    "damaged page": (_bad_page, "cannot read the store"),
}


def _damaged(tmp_path: Path, kind: str) -> tuple[Path, Path]:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    DAMAGE[kind][0](run_dir / STORE_NAME)
    return run_dir, run_dir / STORE_NAME


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err                 # exactly one line...
    assert lines[0].startswith("error: "), err  # ...in run_cli's format
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_store_is_a_clear_error(tmp_path, kind, capsys):
    run_dir, path = _damaged(tmp_path, kind)
    before = _digest(path)
    expect = DAMAGE[kind][1]
    with pytest.raises(StoreError) as info:
        load_report_input(run_dir)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and expect in message, message
    assert _digest(path) == before     # reading never writes to a file that is not ours

    # `python -m gancheck report DIR`, in process: exit 2 and one line naming the file.
    assert run_cli(gancheck_cli.main, ["report", str(run_dir)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(path) in line and expect in line
    assert _digest(path) == before


@pytest.mark.parametrize("kind", [k for k in DAMAGE if k != "empty file"])
def test_ablate_refuses_damaged_store_without_touching_it(tmp_path, kind, capsys, monkeypatch):
    run_dir, path = _damaged(tmp_path, kind)
    before = _digest(path)

    def must_not_plan(*args, **kwargs):
        raise AssertionError("the ablation went on with a damaged store")
    monkeypatch.setattr(driver, "plan", must_not_plan)
    assert run_cli(ablate.main, [*ABLATE_ARGS, "--out", str(run_dir)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(path) in line, line
    if kind != "damaged page":  # (ours, in WAL mode: it may be checkpointed; it is not modified)
        assert _digest(path) == before  # a foreign or future file is left exactly as it was


def test_empty_store_file_is_a_new_store_for_the_ablation(tmp_path):
    """SQLite itself reads an empty file as an empty database, and a run killed right after
    creating its store leaves exactly that: the ablation must start in it, not refuse."""
    run_dir, path = _damaged(tmp_path, "empty file")
    outcome = run_design(small_design(), run_dir, **RUN)
    assert outcome.trained == N_WORK   # the whole small design, in the formerly empty file
    assert integrity(path) == "ok"
    store = Store(path)
    assert store.get_meta("format") == FORMAT
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["report", "ablate"])
def test_damaged_store_at_the_real_entry_points(tmp_path, command):
    run_dir, path = _damaged(tmp_path, "random bytes")
    argv = (["-m", "gancheck", "report", str(run_dir)] if command == "report"
            else ["-m", "experiments.ablate", *ABLATE_ARGS, "--out", str(run_dir)])
    proc = subprocess.run([PYTHON, *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr   # the CLIs' exit code for bad input (gancheck.cli)
    line = _one_error_line(proc.stderr)
    assert str(path) in line and "unreadable store" in line


# -- two runs on one folder --------------------------------------------------------------------------

def test_run_lock_refuses_a_second_holder_and_names_the_folder(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(ValueError) as info:
            with RunLock(tmp_path):
                pass
        assert str(tmp_path) in str(info.value) and f"pid {os.getpid()}" in str(info.value)
    with RunLock(tmp_path):  # released on exit: the folder is usable again
        pass


@pytest.mark.slow
def test_second_ablation_refuses_while_first_runs_and_first_completes(tmp_path, monkeypatch):
    design = small_design()
    started, release = threading.Event(), threading.Event()
    real_execute = driver.execute

    def held_execute(tasks, **kwargs):  # the first run holds the folder until we have checked
        started.set()
        if not release.wait(120):
            raise TimeoutError("the test never released the first run")
        yield from real_execute(tasks, **kwargs)
    monkeypatch.setattr(driver, "execute", held_execute)
    result: dict = {}

    def first_run():
        try:
            result["outcome"] = run_design(design, tmp_path, **RUN)
        except BaseException as exc:  # reported below, in the test's thread
            result["error"] = exc
    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        assert started.wait(120)
        before = read_members(tmp_path / STORE_NAME)
        # The second is the real CLI, and even --fresh must not clear a folder in use.
        second = subprocess.run([PYTHON, "-m", "experiments.ablate", *ABLATE_ARGS, "--fresh",
                                 "--out", str(tmp_path)], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=120)
        during = read_members(tmp_path / STORE_NAME)
    finally:
        release.set()
        thread.join(120)
    assert second.returncode == 2, second.stderr
    line = _one_error_line(second.stderr)
    assert str(tmp_path) in line and "in use" in line, line
    assert during == before == {}   # the second wrote nothing (and --fresh cleared nothing)

    assert "error" not in result, result.get("error")
    assert result["outcome"].trained == N_WORK    # the first computed the whole design
    assert integrity(tmp_path / STORE_NAME) == "ok"
    members = read_members(tmp_path / STORE_NAME)
    assert set(members) == set(expected_digests(design))
    # One generator-level row per registry test: the 9 score tests and the 3 diversity tests.
    assert all(len(rows) == len(REGISTRY) for rows in read_scores(tmp_path / STORE_NAME).values())


# -- atomic writes -----------------------------------------------------------------------------------

def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_replaces_the_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "scores.csv"
    atomic_write_text(target, "a,b\n1,2\n")
    assert target.read_text() == "a,b\n1,2\n"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask   # ordinary permissions, not mkstemp's 0600
    assert _leftovers(tmp_path) == []


class _FailingHandle:
    """A file handle that writes half of what it is given, then fails (a full disk)."""

    def __init__(self, handle, exc):
        self.handle, self.exc = handle, exc

    def write(self, text):
        self.handle.write(text[: len(text) // 2])
        self.handle.flush()
        raise self.exc

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk full", "ctrl-c"])
def test_atomic_write_failing_midway_keeps_the_old_file(tmp_path, monkeypatch, exc):
    target = tmp_path / "summary.csv"
    target.write_text("old, complete\n")
    real_fdopen = os.fdopen
    monkeypatch.setattr(files.os, "fdopen", lambda *a, **k: _FailingHandle(real_fdopen(*a, **k), exc))
    with pytest.raises(type(exc)):
        atomic_write_text(target, "new content " * 1000)
    monkeypatch.undo()
    assert target.read_text() == "old, complete\n"  # readers see the old file, never half the new
    assert _leftovers(tmp_path) == []


def test_atomic_write_failing_rename_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "comparisons.csv"
    target.write_text("old\n")

    def failing_replace(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    monkeypatch.setattr(files.os, "replace", failing_replace)
    with pytest.raises(OSError):
        atomic_write_text(target, "new\n")
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert _leftovers(tmp_path) == []


# index.html is written by gancheck.report.render with the same temp-file-and-rename; its failed
# write is tested in tests/report/test_render.py (test_failed_write_keeps_the_old_page_and_no_temp_file).


# -- put_member is all or nothing --------------------------------------------------------------------

def _record(arm="seed", seed=0, scores=None) -> MemberRecord:
    rows = scores if scores is not None else [
        dict(test=t, group="fit", hypothesis="simple", statistic=0.1, pvalue=0.5, reject=False,
             reject_rate=0.05, status="ok", k=100, n=500)
        for t in ("ks", "ad", "cvm")]
    diversity = dict(spread_ratio=1.0, fixed_share=0.0, fixed_share_low=0.0, fixed_share_high=0.01,
                     diversity_pvalue=0.5, collapsed=False, heterogeneous=False)
    return MemberRecord(arm=arm, seed=seed, digest="d", kind="member", status="done",
                        diverged_epoch=None, wall_s=0.1, diversity=diversity,
                        history=np.zeros((3, 4)), sample=np.full(500, 4.0), scores=rows)


class _InterruptedRows(list):
    """Score rows whose iteration is cut by Ctrl-C after the first row."""

    def __iter__(self):
        yield self[0]
        raise KeyboardInterrupt


def _count(store: Store, table: str) -> int:
    return store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 (fixed names)


@pytest.mark.parametrize("failure", ["duplicate test", "bad value", "ctrl-c"])
def test_put_member_is_all_or_nothing(tmp_path, failure):
    store = Store(tmp_path / STORE_NAME, create=True)
    try:
        good = _record().scores
        if failure == "duplicate test":    # the second 'ks' row breaks the scores' primary key
            rows, error = [*good, dict(good[0])], sqlite3.IntegrityError
        elif failure == "bad value":       # not a number: fails after the member row is inserted
            rows, error = [good[0], dict(good[1], statistic="not a number")], TypeError
        else:
            rows, error = _InterruptedRows(good), KeyboardInterrupt
        with pytest.raises(error):
            store.put_member(_record(scores=rows))
        assert _count(store, "members") == 0 and _count(store, "scores") == 0   # nothing of it
        store.put_member(_record(seed=1))  # and the store is usable at once
        assert _count(store, "members") == 1 and _count(store, "scores") == 3   # 1 member, its 3 rows
        assert store.integrity_ok()
    finally:
        store.close()


def test_a_transaction_left_open_by_a_ctrl_c_is_rolled_back_quietly_on_close(tmp_path, monkeypatch):
    # A Ctrl-C can land after BEGIN but before the `with` body starts, so __exit__ never runs
    # (seen in CI as "Exception ignored in: <generator object Store.transaction>" after the
    # one-line message). Closing must roll it back, print nothing, and leave the store intact.
    import gc
    import sys
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    store = Store(tmp_path / STORE_NAME, create=True)
    store.put_member(_record(seed=0))
    half_begun = store.transaction()
    db = half_begun.__enter__()                                  # BEGIN IMMEDIATE, and then...
    db.execute("DELETE FROM scores")                             # ...work the interrupt cuts short
    store.close()
    del half_begun, db
    gc.collect()
    assert unraisable == []
    again = Store(tmp_path / STORE_NAME)
    try:
        assert _count(again, "members") == 1 and _count(again, "scores") == 3 and again.integrity_ok()
    finally:
        again.close()


def test_put_member_twice_is_refused_and_keeps_the_first(tmp_path):
    store = Store(tmp_path / STORE_NAME, create=True)
    try:
        store.put_member(_record())
        first = store.db.execute("SELECT finished_at FROM members").fetchone()[0]
        with pytest.raises(sqlite3.IntegrityError):  # the driver skips such a duplicate
            store.put_member(_record(scores=[dict(r, statistic=9.9) for r in _record().scores]))
        assert store.db.execute("SELECT finished_at FROM members").fetchone()[0] == first
        assert {r[0] for r in store.db.execute("SELECT statistic FROM scores")} == {0.1}  # the first's values
    finally:
        store.close()


def test_store_meta_round_trips_json(tmp_path):
    store = Store(tmp_path / STORE_NAME, create=True)
    try:
        store.set_meta("provenance", {"seeds": [0, 1], "wall_s": 1.5})
        assert store.get_meta("provenance") == {"seeds": [0, 1], "wall_s": 1.5}
        raw = store.db.execute("SELECT value FROM meta WHERE key = 'provenance'").fetchone()[0]
        assert json.loads(raw) == {"seeds": [0, 1], "wall_s": 1.5}   # plain JSON, nothing pickled
    finally:
        store.close()


# -- security: nothing a user did not create is unpickled ---------------------------------------------

#: calls that unpickle (run code from) their input, by module
UNPICKLERS = {"pickle", "cPickle", "_pickle", "cloudpickle", "dill", "joblib", "marshal", "shelve"}
#: calls that may unpickle unless told not to: (keyword, the value that makes them safe)
GUARDED = {"numpy.load": ("allow_pickle", False), "torch.load": ("weights_only", True)}
BANNED = {"pandas.read_pickle", "numpy.lib.format.read_array"}


def unsafe_loads(source: str, filename: str = "<string>") -> list[str]:
    """Calls in ``source`` that could unpickle data: 'file:line: call (why)'."""
    tree = ast.parse(source, filename)
    aliases: dict[str, str] = {}   # local name -> the module or object it names
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def dotted(expr) -> str | None:
        if isinstance(expr, ast.Name):
            return aliases.get(expr.id, expr.id)
        if isinstance(expr, ast.Attribute):
            base = dotted(expr.value)
            return None if base is None else f"{base}.{expr.attr}"
        return None

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or (name := dotted(node.func)) is None:
            continue
        where = f"{filename}:{node.lineno}: {name}"
        if name.split(".")[0] in UNPICKLERS and name.rsplit(".", 1)[-1] in ("load", "loads", "Unpickler", "open"):
            found.append(f"{where} (unpickles its input)")
        elif name in BANNED:
            found.append(f"{where} (unpickles its input)")
        elif name in GUARDED:
            keyword, safe = GUARDED[name]
            given = {k.arg: k.value for k in node.keywords}
            if not (isinstance(given.get(keyword), ast.Constant) and given[keyword].value is safe):
                found.append(f"{where} (needs {keyword}={safe})")
    return found


def test_the_unpickling_check_finds_what_it_should():
    bad = """
import pickle, torch
import numpy as np
from pickle import loads as ld
import pandas as pd
pickle.load(f); ld(b); np.load(p); np.load(p, allow_pickle=True); torch.load(p)
torch.load(p, weights_only=False); pd.read_pickle(p)
np.load(p, allow_pickle=False); torch.load(p, weights_only=True)
"""
    found = unsafe_loads(bad)
    assert len(found) == 7, found   # the 7 unsafe calls of lines 6-7; line 8's two are safe
    assert all(":6:" in f or ":7:" in f for f in found)


def test_no_code_unpickles_untrusted_data():
    files = sorted([*(REPO_ROOT / "gancheck").rglob("*.py"), *(REPO_ROOT / "experiments").rglob("*.py")])
    assert len(files) > 20   # the package and the experiments, not an empty glob
    found = [f for path in files for f in unsafe_loads(path.read_text(encoding="utf-8"), str(path))]
    assert found == []


# -- damaged rows: one line naming the table, the row and the column ---------------------------------

def _damage_row(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute(sql)
    db.close()


ROW_DAMAGE = {
    # SQLite keeps any type in any column: text where a blob, a real or an integer belongs.
    "text history": ("UPDATE members SET history = 'garbage' WHERE seed = 1", "members", "history", "seed 1"),
    "short history": ("UPDATE members SET history = zeroblob(13) WHERE seed = 1", "members", "history",
                      "13 bytes"),
    "bad shape": ("UPDATE members SET history_shape = '[3, -4]' WHERE seed = 1", "members", "history_shape",
                  "seed 1"),
    "text p-value": ("UPDATE scores SET pvalue = 'NaN' WHERE seed = 1 AND test = 'ks'", "scores", "pvalue",
                     "test 'ks'"),
    "ragged sample": ("UPDATE members SET sample = zeroblob(12) WHERE seed = 1", "members", "sample", "12 bytes"),
}


@pytest.mark.parametrize("kind", list(ROW_DAMAGE))
def test_a_damaged_row_names_the_table_row_and_column(tmp_path, kind, capsys):
    path = tmp_path / STORE_NAME
    store = Store(path, create=True)
    store.put_member(_record(seed=0))
    store.put_member(_record(seed=1))
    store.set_meta("provenance", {"name": "x"})
    store.close()
    sql, table, column, detail = ROW_DAMAGE[kind]
    _damage_row(path, sql)
    reader = Store(path)
    try:
        with pytest.raises(StoreError) as info:
            reader.read_table(table)
    finally:
        reader.close()
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    assert f"of table {table}" in message and f"column {column}" in message and detail in message, message
    assert "damaged row" in message


def test_a_damaged_meta_row_is_named(tmp_path):
    path = tmp_path / STORE_NAME
    Store(path, create=True).close()
    _damage_row(path, "INSERT INTO meta VALUES ('provenance', '{not json')")
    reader = Store(path)
    try:
        with pytest.raises(StoreError, match="damaged row 'provenance' of table meta"):
            reader.get_meta("provenance")
    finally:
        reader.close()


def test_report_on_a_damaged_row_is_one_line(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_design(small_design(), run_dir, **RUN)
    _damage_row(run_dir / STORE_NAME, "UPDATE members SET preview = x'00' WHERE seed = 0 AND kind = 'member'")
    assert run_cli(gancheck_cli.main, ["report", str(run_dir), "--out", str(tmp_path / "out")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "damaged row" in line and "column preview" in line and "seed 0" in line, line
