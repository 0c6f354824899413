"""Small designs and store readers shared by the reliability tests (interrupt, resume, store).

A "small design" trains in well under a second per member: a few epochs of 2 D and 2 G steps,
2 seeds, one control with 2 replicates, 4 noise draws. Its members still go through the real
trainer, scorer and store, which is what these tests are about; the statistics are not.
"""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from gancheck.config import GANConfig
from gancheck.runs.plan import Arm, Design
from gancheck.runs.store import STORE_NAME

#: the repository root: subprocesses run `python -m experiments.ablate` from here
REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def small_config(**changes) -> GANConfig:
    """The seed's network, trained for 3 epochs of 2 D + 2 G steps (about 20 ms a member)."""
    return GANConfig(num_epochs=3, d_steps=2, g_steps=2).replace(**changes)


def small_design(*, arms: list[Arm] | None = None, seeds=(0, 1), control_reps: int = 2,
                 name: str = "small") -> Design:
    """Two arms of different shapes (so they train as two populations), 2 seeds, the null control."""
    if arms is None:
        arms = [Arm("seed", small_config()),
                Arm("g_hidden_size=8", small_config(g_hidden_size=8), factor="g_hidden_size", level="8")]
    return Design(name=name, arms=arms, seeds=list(seeds), baseline=arms[0].name,
                  controls=("null",), control_reps=control_reps, n_draws=4)


@pytest.fixture
def tiny_design() -> Design:
    return small_design()


def read_members(store_path: Path) -> dict[tuple[str, int], dict]:
    """(arm, seed) -> the member's row (blobs included), read with plain sqlite3."""
    with sqlite3.connect(store_path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM members").fetchall()
    return {(r["arm"], r["seed"]): dict(r) for r in rows}


def read_scores(store_path: Path) -> dict[tuple[str, int], list[dict]]:
    """(arm, seed) -> the member's score rows, read with plain sqlite3."""
    with sqlite3.connect(store_path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM scores ORDER BY arm, seed, test").fetchall()
    out: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        out.setdefault((r["arm"], r["seed"]), []).append(dict(r))
    return out


def integrity(store_path: Path) -> str:
    """SQLite's own consistency check of the whole file: 'ok' or a list of problems."""
    db = sqlite3.connect(store_path)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def foreign_database(run_dir: Path) -> None:
    """An SQLite database that is not a gancheck store, with an index.html beside it: someone
    else's folder, which a run must refuse and --fresh must not empty."""
    with sqlite3.connect(run_dir / STORE_NAME) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    db.close()
    (run_dir / "index.html").write_text("<p>not ours</p>\n")
