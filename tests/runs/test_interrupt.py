"""Interrupting the real ablation CLI, again and again, and resuming it.

One run folder, one command (`python -m experiments.ablate --preset quick ...`, two worker
processes). The command is started KILL_POINTS times and interrupted each time at a random point
(seeded): alternately SIGINT to its process group, as Ctrl-C in a terminal sends it, and SIGKILL
to the group, workers included. Each restart is a resume of the last. Half the kill points are
timed from the start (imports, store creation, worker start-up), half come just after the store
gains rows (mid-training, mid-commit, mid-report). After every interruption:

- the store passes SQLite's integrity_check;
- every stored (arm, seed) belongs to the design, under its current config digest, exactly once,
  with its complete set of score rows and no orphan scores;
- every row stored before is still there, with the same finished_at: nothing was recomputed;
- SIGINT exits 130 with one line on stderr (no traceback) and leaves no process behind.

Then the same command runs to completion (exit 0) and the store holds every (arm, seed) once.
A second ablation started on the folder meanwhile is refused (exit 2, naming the folder).
"""
from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from experiments.designs import build_design
from gancheck.runs.driver import expected_digests
from gancheck.runs.store import STORE_NAME
from tests.runs.conftest import PYTHON, REPO_ROOT, integrity, read_members, read_scores

#: How many times the command is interrupted: 3 SIGINT + 3 SIGKILL, alternating (about a minute
#: on 2 cores; each kill point costs one start-up of the CLI and its workers).
KILL_POINTS = 6
#: the seed of the kill points (issue 8)
SEED = 8
#: the quick preset, cut to 5 epochs and 2 seeds: 5 arms x 2 seeds + 6 controls x 200 replicates
#: in 11 tasks, about 20 s of work, so the kill points land in every phase of a run.
EPOCHS, SEEDS = 5, 2
ARGS = ["--preset", "quick", "--epochs", str(EPOCHS), "--seeds", str(SEEDS), "--no-progress", "--workers", "2"]
#: gancheck.cli.run_cli's message on Ctrl-C
SIGINT_LINE = "interrupted: finished work is saved; rerun the same command to resume"
#: the tests of gancheck.score (DESIGN.md's table): each member has exactly these score rows
TESTS = {"ks", "ad", "cvm", "shapiro", "ad_normal", "mean", "std", "skew", "kurtosis"}


def _store_rows(path: Path) -> int:
    """Members committed so far (0 while the store does not exist yet), read without writing."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT COUNT(*) FROM members").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _live_in_group(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are still running (zombies awaiting their reaper are not)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            pids.append(int(stat.parent.name))
    return pids


def _wait_group_gone(pgid: int, timeout: float = 20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := _live_in_group(pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:  # clean up what a failed check left, so the test does not leak processes
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def _leftover_temps(run_dir: Path) -> set[str]:
    return {p.name for p in run_dir.glob(".*.tmp")} if run_dir.exists() else set()


def _check_store(run_dir: Path, want: dict, seen: dict) -> dict:
    """The consistency checks after an interruption; returns (arm, seed) -> finished_at."""
    path = run_dir / STORE_NAME
    if not path.exists() or path.stat().st_size == 0:
        assert not seen, "the store vanished"   # killed before the store was created: fine
        return {}
    assert integrity(path) == "ok"
    with sqlite3.connect(path) as db:
        n_rows = db.execute("SELECT COUNT(*) FROM members").fetchone()[0]
        orphans = db.execute("SELECT COUNT(*) FROM scores s LEFT JOIN members m "
                             "ON s.arm = m.arm AND s.seed = m.seed WHERE m.arm IS NULL").fetchone()[0]
    db.close()
    members = read_members(path)
    assert n_rows == len(members)                              # each (arm, seed) at most once
    assert orphans == 0                                        # no scores without their member
    for key, row in members.items():
        assert key in want, f"{key} is not part of the design"
        assert row["digest"] == want[key], key                # stored under the current config
    scores = read_scores(path)
    assert set(scores) == set(members)                         # every member has its scores...
    for key, rows in scores.items():
        assert sorted(r["test"] for r in rows) == sorted(TESTS), key   # ...each test exactly once
    finished = {k: r["finished_at"] for k, r in members.items()}
    for key, when in seen.items():                             # nothing lost, nothing recomputed
        assert finished.get(key) == when, f"{key} was lost or recomputed"
    return finished


@pytest.mark.slow
def test_interrupted_ablation_always_resumes_to_a_complete_consistent_store(tmp_path):
    rng = np.random.default_rng(SEED)
    run_dir = tmp_path / "run"
    command = [PYTHON, "-m", "experiments.ablate", *ARGS, "--out", str(run_dir)]
    want = expected_digests(build_design(preset="quick", seeds=list(range(SEEDS)), epochs=EPOCHS))
    seen: dict = {}
    allowed_temps: set[str] = set()   # temp files a SIGKILL may leave (it cannot clean up)
    log = []

    for point in range(KILL_POINTS):
        sig = (signal.SIGINT, signal.SIGKILL)[point % 2]
        rows_at_start = len(seen)
        # The first half of the kill points are timed (start-up: imports, store, workers); the
        # rest wait for the store to gain a row (mid-run), unless it is complete, when only the
        # report is left to interrupt.
        by_rows = point >= KILL_POINTS // 2 and rows_at_start < len(want)
        delay = float(rng.uniform(0.0, 0.5) if by_rows else rng.uniform(0.3, 4.0))
        proc = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        started = time.monotonic()
        try:
            if by_rows:
                while proc.poll() is None and _store_rows(run_dir / STORE_NAME) <= rows_at_start:
                    if time.monotonic() - started > 120:
                        break
                    time.sleep(0.05)
            time.sleep(delay)
            assert proc.poll() is None, f"kill point {point}: the run ended before it (rc {proc.returncode})"
            at = time.monotonic() - started
            os.killpg(proc.pid, sig)
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
        left = _wait_group_gone(proc.pid)
        assert left == [], f"kill point {point}: processes {left} outlived the interrupted run"
        temps = _leftover_temps(run_dir)
        if sig == signal.SIGINT:
            assert proc.returncode == 130, (proc.returncode, stderr)   # run_cli's exit code for Ctrl-C
            assert stderr.splitlines() == [SIGINT_LINE], stderr         # one line, no traceback
            assert temps <= allowed_temps, f"Ctrl-C left temp files {temps - allowed_temps}"
        else:
            assert proc.returncode == -signal.SIGKILL, (proc.returncode, stderr)
            allowed_temps |= temps
        seen = _check_store(run_dir, want, seen)
        log.append(f"{signal.Signals(sig).name} at {at:.1f} s ({'after new rows' if by_rows else 'timed'}): "
                   f"{rows_at_start} -> {len(seen)} of {len(want)} rows, exit {proc.returncode}")
        print(log[-1], flush=True)

    # Resume to the end, and meanwhile try a second ablation on the same folder.
    final = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        lock = run_dir / ".run.lock"
        deadline = time.monotonic() + 120
        while final.poll() is None and time.monotonic() < deadline and (
                not lock.exists() or lock.read_text().strip() != f"pid {final.pid}"):
            time.sleep(0.05)
        second = None
        if final.poll() is None:
            # Freeze the first (workers too) while it holds the folder, so the second surely
            # meets it however fast either is; then let the first finish.
            os.killpg(final.pid, signal.SIGSTOP)
            try:
                second = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
            finally:
                os.killpg(final.pid, signal.SIGCONT)
        stdout, stderr = final.communicate(timeout=300)
    finally:
        if final.poll() is None:
            os.killpg(final.pid, signal.SIGKILL)
            final.communicate()
    assert final.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert second is not None, "the final run ended before the second ablation could be tried"
    assert second.returncode == 2, second.stderr                      # refused as bad input...
    assert len(second.stderr.splitlines()) == 1 and str(run_dir) in second.stderr  # ...naming the folder
    assert "in use" in second.stderr

    finished = _check_store(run_dir, want, seen)
    assert set(finished) == set(want)             # every (arm, seed) of the design, exactly once
    n_before = len(seen)
    # The driver's own count agrees: only what the interruptions left was computed.
    assert f"{len(want) - n_before} computed now, {n_before} reused" in stdout, stdout
    with open(run_dir / "scores.csv", newline="") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == len(TESTS) * len(want)  # one row per (member, test)
    assert (run_dir / "index.html").stat().st_size > 0
    assert _leftover_temps(run_dir) <= allowed_temps   # completed runs and Ctrl-C leave no temp files

    summary = (f"{KILL_POINTS} kill points tried ({KILL_POINTS - KILL_POINTS // 2} SIGINT, "
               f"{KILL_POINTS // 2} SIGKILL), all resumed consistent; {len(want)} (arm, seed) "
               f"stored once each; {len(allowed_temps)} temp files left by SIGKILL")
    print("\n" + "\n".join(log) + "\n" + summary)
