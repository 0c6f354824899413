"""The run's SQLite store: one file in the run folder, each finished member committed at once.

Tables
  meta     key -> JSON value: the store's format, the design, provenance.
  arms     one row per arm (or control): its role, factor/level and full config.
  members  one row per (arm, seed): status, diversity, history, draw 0, a preview of the first
           draws and the per-coordinate mean and sd across all draws (raw float bytes).
  scores   one row per (arm, seed, test): gancheck.judge's generator-level row ("group" is stored
           as test_group, a word SQL reserves).
  verdicts one row per (arm, seed): gancheck.verdict's outcome, reason and detected flag.

A member and its scores are written in one transaction, so an interrupted run never leaves a
member half-recorded; resuming skips every (arm, seed) already present with the same config
digest. Arrays are stored as raw little-endian float32/float64 bytes with their shape, never
pickled, so opening a store cannot execute anything.

Only a run writes its store (``create=True``): after gancheck.runs.safe_files has checked that
neither the store nor its companion files are links, and created the file itself. Everyone else
(the report, the planner, resume's bookkeeping) opens it read-only, so a run can be read from a
read-only folder, or by a user who does not own it; where SQLite cannot even keep its read locks
there (a read-only folder without the lock file), the file is read as immutable. Every row is
checked as it is read (gancheck.runs.store_rows): a damaged one is a StoreError naming the
table and the row.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gancheck.runs.files import WriteError, run_in_progress, unwritable
from gancheck.runs.safe_files import check_sqlite_files, prepare_sqlite
from gancheck.runs.store_errors import StoreError, one_line, sqlite_unwritable, store_errors
from gancheck.runs.store_rows import find_damage

#: Version 2: generator-level verdicts (gancheck.judge rows), diversity's components, previews.
FORMAT = "gancheck-store-2"
STORE_NAME = "store.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS arms (
    arm TEXT PRIMARY KEY, role TEXT NOT NULL, factor TEXT NOT NULL, level TEXT NOT NULL,
    is_baseline INTEGER NOT NULL, factors_json TEXT NOT NULL, config_json TEXT NOT NULL,
    digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    arm TEXT NOT NULL, seed INTEGER NOT NULL, digest TEXT NOT NULL, kind TEXT NOT NULL,
    status TEXT NOT NULL, diverged_epoch INTEGER, wall_s REAL,
    spread_ratio REAL, fixed_share REAL, fixed_share_low REAL, fixed_share_high REAL,
    diversity_pvalue REAL, collapsed INTEGER, heterogeneous INTEGER,
    history BLOB, history_shape TEXT, sample BLOB, preview BLOB, preview_shape TEXT,
    coord_mean BLOB, coord_sd BLOB, finished_at REAL NOT NULL,
    PRIMARY KEY (arm, seed));
CREATE TABLE IF NOT EXISTS scores (
    arm TEXT NOT NULL, seed INTEGER NOT NULL, test TEXT NOT NULL, kind TEXT NOT NULL,
    test_group TEXT, hypothesis TEXT, statistic REAL, pvalue REAL, reject INTEGER NOT NULL,
    reject_rate REAL, status TEXT NOT NULL, k INTEGER, n INTEGER, PRIMARY KEY (arm, seed, test));
CREATE TABLE IF NOT EXISTS verdicts (
    arm TEXT NOT NULL, seed INTEGER NOT NULL, outcome TEXT NOT NULL, detected INTEGER NOT NULL,
    reason TEXT NOT NULL, PRIMARY KEY (arm, seed));
"""


@dataclass
class MemberRecord:
    """One finished member (or control replicate), ready to store. Plain values and numpy only."""
    arm: str
    seed: int
    digest: str
    kind: str                      # "member" | "control"
    status: str                    # "done" | "diverged"
    diverged_epoch: int | None
    wall_s: float
    diversity: dict                # DIVERSITY_FIELDS of gancheck.diversity's result
    history: np.ndarray | None     # (epochs, 4) float64, see gancheck.gan.result.HISTORY_COLUMNS
    sample: np.ndarray | None      # (n,) noise draw 0 of the trained generator
    scores: list[dict]             # gancheck.judge rows: the generator-level verdict
    preview: np.ndarray | None = None     # (PREVIEW_DRAWS, n) the first noise draws
    coord_mean: np.ndarray | None = None  # (n,) per coordinate, mean across all draws
    coord_sd: np.ndarray | None = None    # (n,) per coordinate, sd across all draws (ddof=1)
    verdict: dict | None = None           # gancheck.verdict's outcome, reason, detected
    #: the member's share of its task's cost (gancheck.runs.costs: core_s, compile_s, judge_s);
    #: recorded per arm with the invocation, not in the members table
    cost: dict | None = None


#: The fields of gancheck.diversity's result kept per member (diversity_pvalue is its pvalue).
DIVERSITY_FIELDS = ("spread_ratio", "fixed_share", "fixed_share_low", "fixed_share_high",
                    "diversity_pvalue", "collapsed", "heterogeneous")


def _format_error(path: Path, fmt) -> StoreError:
    """A store of another format: a newer gancheck's says so (upgrade), anything else is foreign."""
    ours, theirs = _format_version(FORMAT), _format_version(fmt)
    if ours is not None and theirs is not None and theirs > ours:
        return StoreError(f"{path}: written by a newer gancheck (store format {fmt!r}; this one reads "
                          f"{FORMAT!r}): upgrade gancheck to read it")
    return StoreError(f"{path}: store format {fmt!r}, this gancheck reads {FORMAT!r}")


def _format_version(fmt) -> int | None:
    match = re.fullmatch(r"gancheck-store-(\d+)", fmt) if isinstance(fmt, str) else None
    return int(match.group(1)) if match else None


def _blob(array: np.ndarray | None, dtype) -> bytes | None:
    return None if array is None else np.ascontiguousarray(array, dtype=dtype).tobytes()


def _uri(path: Path, query: str) -> str:
    return f"file:{urllib.parse.quote(str(path.absolute()))}?{query}"


#: SQLite's error names when a read-only connection cannot keep its locks beside the file.
_NO_READ_LOCKS = ("SQLITE_READONLY", "SQLITE_CANTOPEN")


class Store:
    def __init__(self, path: Path, *, create: bool = False, lock_held: bool = False):
        """``create``: a run's store, opened to write (created if absent). Otherwise read-only;
        ``lock_held``: this process holds the folder's run lock, so no run is writing it."""
        self.path = Path(path)
        self.writable, self.lock_held = create, lock_held
        if not create and not os.path.lexists(self.path):
            raise StoreError(f"{self.path}: no run store here (expected {STORE_NAME}; run the ablation first)")
        if os.path.isdir(self.path):
            raise StoreError(f"{self.path}: cannot open store (it is a folder)")
        try:
            # Also for reading: SQLite creates and writes -wal/-shm beside it.
            check_sqlite_files(self.path, reading=not create)
            if create:
                prepare_sqlite(self.path)
        except OSError as exc:
            raise (unwritable(self.path, exc, "create")) from None
        self.db = self._connect()
        try:
            existing = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not existing and not create:
                # An empty file (SQLite reads it as an empty database): nothing to report, and a
                # reader must not turn the user's file into a store.
                raise StoreError(f"{self.path}: empty file, not a gancheck store (run the ablation first)")
            if not existing:
                # Tables and format in one transaction: a run killed while creating its store
                # leaves an empty database (created again on resume), never a store without format.
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} INSERT INTO meta VALUES "
                                      f"('format', '{json.dumps(FORMAT)}'); COMMIT;")
            elif "meta" not in existing:
                raise StoreError(f"{self.path}: not a gancheck store (foreign SQLite database)")
            try:
                fmt = self.get_meta("format")
            except ValueError:  # a foreign 'meta' table whose values are not JSON
                fmt = None
            if fmt is None:
                raise StoreError(f"{self.path}: not a gancheck store (foreign SQLite database, no format recorded)")
            if fmt != FORMAT:
                raise _format_error(self.path, fmt)
            if create:
                # Only now, once it is known to be ours: WAL mode changes the file's header.
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                check_sqlite_files(self.path)  # the -wal and -shm SQLite made: plain files too
        except sqlite3.DatabaseError as exc:
            self.db.close()
            if create and (failure := sqlite_unwritable(self.path, exc)) is not None:
                raise failure from None
            raise StoreError(f"{self.path}: unreadable store ({one_line(exc)})") from None
        except BaseException:
            self.db.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we open transactions ourselves, one per member. mode=rw never
        # creates a file (prepare_sqlite did); mode=ro never writes the database.
        try:
            if self.writable:
                return sqlite3.connect(_uri(self.path, "mode=rw"), uri=True, timeout=30, isolation_level=None)
            if not os.path.lexists(f"{self.path}-wal") and (
                    self.lock_held or not run_in_progress(self.path.parent)):
                # A closed run (SQLite removes its -wal on the last close; a killed one leaves it):
                # all of it is in the file. Read it as immutable, so that reading leaves nothing
                # behind, not even the -wal and -shm a read-only connection would create and
                # could not remove.
                return sqlite3.connect(_uri(self.path, "mode=ro&immutable=1"), uri=True, timeout=30,
                                       isolation_level=None)
            db = sqlite3.connect(_uri(self.path, "mode=ro"), uri=True, timeout=30, isolation_level=None)
            try:
                db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            except sqlite3.DatabaseError as exc:
                if not (getattr(exc, "sqlite_errorname", "") or "").startswith(_NO_READ_LOCKS):
                    return db  # a damaged file: the checks below say so in their words
                db.close()
            else:
                return db
            # A read-only folder (a mount, another user's run) where the WAL lock file cannot be
            # made: read the file as it is, without locks. A run cannot be writing there either.
            return sqlite3.connect(_uri(self.path, "mode=ro&immutable=1"), uri=True, timeout=30,
                                   isolation_level=None)
        except sqlite3.Error as exc:
            if self.writable and (failure := sqlite_unwritable(self.path, exc)) is not None:
                raise failure from None
            raise StoreError(f"{self.path}: cannot open store ({one_line(exc)})") from None

    def close(self) -> None:
        try:
            if self.db.in_transaction:  # one a Ctrl-C left open: undo it, as SQLite would anyway
                self.db.rollback()
        except sqlite3.ProgrammingError:
            pass  # already closed
        self.db.close()

    def transaction(self) -> "_Transaction":
        """``with store.transaction() as db:``: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on any
        exception (Ctrl-C included)."""
        return _Transaction(self.db)

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- meta and arms ---------------------------------------------------------------------
    @store_errors("read")
    def get_meta(self, key: str):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except (TypeError, ValueError):
            raise StoreError(f"{self.path}: damaged row {key!r} of table meta: not JSON") from None

    @store_errors("write")
    def set_meta(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))

    @store_errors("write")
    def put_arms(self, rows: list[dict]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM arms")
            db.executemany("INSERT INTO arms VALUES (:arm, :role, :factor, :level, :is_baseline, "
                           ":factors_json, :config_json, :digest)", rows)

    # -- members ---------------------------------------------------------------------------
    @store_errors("read")
    def finished(self) -> dict[tuple[str, int], str]:
        """(arm, seed) -> config digest of every recorded member."""
        return {(a, s): d for a, s, d in self.db.execute("SELECT arm, seed, digest FROM members")}

    @store_errors("write")
    def rename_arm(self, old: str, new: str) -> None:
        """Move every stored member of arm ``old`` (and its scores and verdicts) to ``new``."""
        with self.transaction() as db:
            for table in ("members", "scores", "verdicts"):
                db.execute(f"UPDATE {table} SET arm = ? WHERE arm = ?", (new, old))  # noqa: S608 (fixed names)

    @store_errors("write")
    def forget(self, keys) -> None:
        """Drop members (and their scores) whose config changed since they were recorded."""
        with self.transaction() as db:
            for arm, seed in keys:
                db.execute("DELETE FROM members WHERE arm = ? AND seed = ?", (arm, seed))
                db.execute("DELETE FROM scores WHERE arm = ? AND seed = ?", (arm, seed))
                db.execute("DELETE FROM verdicts WHERE arm = ? AND seed = ?", (arm, seed))

    @store_errors("write")
    def put_member(self, rec: MemberRecord) -> None:
        """Record one member and its scores atomically; a second write of the same key is refused."""
        with self.transaction() as db:
            db.execute("INSERT INTO members VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (*_member_values(rec), time.time()))
            db.executemany(
                "INSERT INTO scores VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(rec.arm, int(rec.seed), r["test"], rec.kind, r["group"], r["hypothesis"],
                  _float(r["statistic"]), _float(r["pvalue"]), int(bool(r["reject"])),
                  _float(r["reject_rate"]), r["status"], _int(r["k"]), _int(r["n"]))
                 for r in rec.scores])
            if rec.verdict is not None:
                db.execute("INSERT INTO verdicts VALUES (?,?,?,?,?)",
                           (rec.arm, int(rec.seed), rec.verdict["outcome"],
                            int(bool(rec.verdict["detected"])), rec.verdict["reason"]))

    @store_errors("read")
    def same_training(self, rec: MemberRecord) -> bool:
        """Whether ``rec``, a member trained again, has exactly the numbers stored for its (arm,
        seed): status, diversity and every array, bit for bit (not its digest, cost or commit
        time). False if none is stored."""
        cursor = self.db.execute("SELECT * FROM members WHERE arm = ? AND seed = ?", (rec.arm, int(rec.seed)))
        row = cursor.fetchone()
        names = [d[0] for d in cursor.description]
        return row is not None and all(
            stored == ours for name, stored, ours in zip(names, row, _member_values(rec))
            if name not in ("digest", "wall_s"))

    @store_errors("read")
    def read_table(self, table: str):
        """A table as a DataFrame, once every row is checked (StoreError naming a damaged one)."""
        import pandas as pd
        if table not in ("arms", "members", "scores", "verdicts"):
            raise ValueError(f"table={table!r}: unknown table")
        self.check_rows(table)
        try:
            return pd.read_sql_query(f"SELECT * FROM {table}", self.db)  # noqa: S608 (fixed names)
        except pd.errors.DatabaseError as exc:  # pandas' wrapper of a failed query (an OSError)
            raise StoreError(f"{self.path}: cannot read the store ({one_line(exc)})") from None


    @store_errors("read")
    def check_rows(self, table: str) -> None:
        """Every value of ``table`` has the type its column declares, and every array blob the
        size its shape says; else a StoreError naming the table, the row and the column."""
        damage = find_damage(self.db, table)
        if damage is not None:
            raise StoreError(f"{self.path}: {damage}")


def _member_values(rec: MemberRecord) -> tuple:
    """The members row of ``rec`` in the table's column order, all but the last (finished_at)."""
    hist, div = rec.history, rec.diversity
    return (rec.arm, int(rec.seed), rec.digest, rec.kind, rec.status,
            None if rec.diverged_epoch is None else int(rec.diverged_epoch), float(rec.wall_s),
            _float(div["spread_ratio"]), _float(div["fixed_share"]), _float(div["fixed_share_low"]),
            _float(div["fixed_share_high"]), _float(div["diversity_pvalue"]),
            int(bool(div["collapsed"])), int(bool(div["heterogeneous"])),
            _blob(hist, "<f8"), _shape(hist), _blob(rec.sample, "<f8"),
            _blob(rec.preview, "<f4"), _shape(rec.preview),
            _blob(rec.coord_mean, "<f4"), _blob(rec.coord_sd, "<f4"))


def _float(value) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _shape(array: np.ndarray | None) -> str | None:
    return None if array is None else json.dumps(list(array.shape))


def _int(value) -> int | None:
    return None if value is None or (isinstance(value, float) and not np.isfinite(value)) else int(value)


def decode_array(blob: bytes | None, shape, dtype="<f8") -> np.ndarray | None:
    if blob is None:
        return None
    return np.frombuffer(blob, dtype=dtype).reshape(shape)


class _Transaction:
    """Store.transaction's context manager, written as a class rather than a generator: a Ctrl-C
    that lands between BEGIN and the start of the ``with`` body then leaves only an open
    transaction (Store.close rolls it back), not a suspended generator that tries to roll back
    on a closed connection when it is collected, printing a traceback after the run's one line."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:  # SQLite itself rolls back on some errors (a full disk)
            self.db.execute("ROLLBACK")
        return False
