"""Interrupting the real ablation CLI, again and again, and resuming it.

One run folder, one command (`python -m experiments.ablate --preset quick ...`, two worker
processes). The command is started KILL_POINTS times and interrupted each time at a random point
(seeded), in one of four ways, shuffled: SIGINT to its process group, as Ctrl-C in a terminal
sends it; SIGTERM to the driver alone, as `kill PID`, a batch scheduler or a container stop send
it; SIGKILL to the group, workers included; and SIGKILL to the driver alone, as `kill -9 PID`,
the OOM killer or a batch system's time limit send it, which its workers must survive by no more
than a few seconds. Each restart is a resume of the last. About half the kill points
are timed from the start (imports, store creation, worker start-up), the others come just after
the store gains rows (mid-training, mid-commit, mid-report). After every interruption:

- no process of the killed run is left, ORPHAN_DEADLINE_S after it: none in its process group,
  none anywhere carrying its marker environment variable (inherited by every child);
- the store passes SQLite's integrity_check;
- every stored (arm, seed) belongs to the design, under its current config digest, exactly once,
  with its complete set of score rows and no orphan scores;
- every row stored before is still there, with the same finished_at: nothing lost, nothing
  recomputed;
- SIGINT exits 130 and SIGTERM 143, each with one line on stderr (no traceback, no resource
  tracker warning of leaked semaphores); a SIGTERM before the CLI has set its handler (the first
  tens of milliseconds, before any store or worker exists) ends it as Python's default does.

Then the same command runs to completion (exit 0, no resource_tracker warning of leaked
semaphores) and the store holds every (arm, seed) once. A second ablation started on the folder
meanwhile is refused (exit 2, naming the folder).
"""
from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from experiments.designs import build_design
from gancheck.report.published import PAGE_FILES, RESULT_FILES
from gancheck.runs.driver import expected_digests
from gancheck.runs.store import STORE_NAME
from gancheck.stats.registry import REGISTRY
from tests.runs.conftest import PYTHON, REPO_ROOT, integrity, read_members, read_scores

#: The ways to interrupt, each used KILLS_PER_WAY times (24 kill points; about 3 minutes on 2
#: idle cores: each costs a start-up of the CLI and its workers). SIGTERM came back among them
#: once the signal that scipy's Sobol code swallowed was held around it (gancheck.signals).
WAYS = ("SIGINT to the group", "SIGTERM to the driver alone", "SIGKILL to the group", "SIGKILL to the driver alone")
KILLS_PER_WAY = 6
KILL_POINTS = KILLS_PER_WAY * len(WAYS)
#: the seed of the kill points (fixed, so a failure can be replayed)
SEED = 17
#: Seconds the processes of a killed run may outlive it: workers whose driver was killed alone
#: stop at once on Linux (PR_SET_PDEATHSIG), within PARENT_POLL_S (0.5 s) elsewhere; the
#: resource tracker once they are gone. The rest is slack for a loaded CI machine.
ORPHAN_DEADLINE_S = 5.0
#: the environment variable that marks every process of the run under test
MARKER = "GANCHECK_INTERRUPT_TEST"
#: the quick preset, cut to 5 epochs and 2 seeds: 5 arms x 2 seeds + 6 controls x 200 replicates
#: in 11 tasks, about 10 s of work, so the kill points land in every phase of a run.
EPOCHS, SEEDS = 5, 2
ARGS = ["--preset", "quick", "--epochs", str(EPOCHS), "--seeds", str(SEEDS), "--no-progress", "--workers", "2"]
#: gancheck.cli.run_cli's message on Ctrl-C
SIGINT_LINE = "interrupted: finished work is saved; rerun the same command to resume"
#: ... and on SIGTERM
SIGTERM_LINE = "terminated: finished work is saved; rerun the same command to resume"
#: One stored verdict row per registry test: the 9 score tests and the 3 diversity tests.
TESTS = {t.name for t in REGISTRY}


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


def _processes_of_run(pgid: int, marker: str) -> set[int]:
    """Live processes of the run: in its process group, or carrying its marker in their
    environment (a child that left the group still inherited that)."""
    found = set()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()  # state, ppid, pgrp, ...
            if fields[0] == "Z":
                continue
            if int(fields[2]) == pgid or f"{MARKER}={marker}".encode() in (proc / "environ").read_bytes():
                found.add(int(proc.name))
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile, or not ours to read
    return found


def _left_behind(pgid: int, marker: str, timeout: float = ORPHAN_DEADLINE_S) -> set[int]:
    """Processes of the run still alive ``timeout`` s from now (killed then, so none leaks)."""
    deadline = time.monotonic() + timeout
    while (left := _processes_of_run(pgid, marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def _leftover_temps(run_dir: Path) -> set[str]:
    return {p.name for p in run_dir.glob(".*.tmp")} if run_dir.exists() else set()


def _check_store(run_dir: Path, want: dict, seen: dict) -> tuple[dict, list]:
    """The consistency checks after an interruption; returns (arm, seed) -> finished_at, and the
    keys of ``seen`` that were lost or recomputed since."""
    path = run_dir / STORE_NAME
    if not path.exists() or path.stat().st_size == 0:
        assert not seen, "the store vanished"   # killed before the store was created: fine
        return {}, []
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
    lost = [key for key, when in seen.items() if finished.get(key) != when]   # gone, or recomputed
    return finished, lost


def _sigint_as_in_a_terminal() -> None:
    """In the child before exec: SIGINT at its default, as a terminal's foreground job has it.
    A test run started in the background of a non-interactive shell (a CI job, `cmd &`) passes
    SIGINT on as ignored, and every SIGINT kill point would then test nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(proc: subprocess.Popen, way: str) -> None:
    if way == "SIGKILL to the driver alone":
        proc.send_signal(signal.SIGKILL)
    elif way == "SIGTERM to the driver alone":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT if way == "SIGINT to the group" else signal.SIGKILL)


@pytest.mark.slow
def test_interrupted_ablation_always_resumes_to_a_complete_consistent_store(tmp_path):
    rng = np.random.default_rng(SEED)
    run_dir = tmp_path / "run"
    command = [PYTHON, "-m", "experiments.ablate", *ARGS, "--out", str(run_dir)]
    want = expected_digests(build_design(preset="quick", seeds=list(range(SEEDS)), epochs=EPOCHS))
    # KILLS_PER_WAY rounds, each of the three ways once, in a shuffled order; in alternate rounds
    # the kill is timed from the start (start-up: imports, store, workers) or comes just after
    # the store gained rows (mid-training, mid-commit). The store is complete after a few
    # mid-run kills, and only the report is left to interrupt: those points are timed, and the
    # early rounds give every way its share of mid-run kills.
    points = [(way, i % 2 == 0) for i in range(KILLS_PER_WAY) for way in rng.permutation(WAYS)]
    seen: dict = {}
    allowed_temps: set[str] = set()   # temp files a SIGKILL may leave (it cannot clean up)
    left_behind: dict[int, set[int]] = {}
    rows_lost = 0
    mid_run: list[str] = []   # the ways of the points that came after new rows
    log = []

    for point, (way, after_rows) in enumerate(points):
        rows_at_start = len(seen)
        by_rows = after_rows and rows_at_start < len(want)
        delay = float(rng.uniform(0.0, 0.5) if by_rows else rng.uniform(0.3, 4.0))
        marker = uuid.uuid4().hex
        out, err = tmp_path / f"stdout.{point}", tmp_path / f"stderr.{point}"
        # Output to files, not pipes: a process that outlived the run must not block the test.
        with open(out, "w") as stdout, open(err, "w") as stderr:
            proc = subprocess.Popen(command, cwd=REPO_ROOT, stdout=stdout, stderr=stderr, text=True,
                                    start_new_session=True, env={**os.environ, MARKER: marker},
                                    preexec_fn=_sigint_as_in_a_terminal)
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
            _interrupt(proc, way)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        left_behind[point] = _left_behind(proc.pid, marker)
        temps = _leftover_temps(run_dir)
        errors = err.read_text()
        handled = way in ("SIGINT to the group", "SIGTERM to the driver alone")
        if handled and proc.returncode == 0:
            # The signal came as the run was exiting, after its last statement: the work was
            # done, the signal is ignored (gancheck.cli.exit_with), and the run must be whole.
            assert (run_dir / "index.html").exists() and not errors.strip(), errors
        elif way == "SIGTERM to the driver alone" and proc.returncode == -signal.SIGTERM:
            # Before run_cli set its handler (the interpreter's start-up): nothing had started.
            assert not errors.strip() and at < 2.0, (at, errors)
        elif handled:
            sigint = way == "SIGINT to the group"
            assert proc.returncode == (130 if sigint else 143), (proc.returncode, errors)   # run_cli's codes
            assert errors.splitlines() == [SIGINT_LINE if sigint else SIGTERM_LINE], errors  # one line
            assert temps <= allowed_temps, f"{way} left temp files {temps - allowed_temps}"
        else:
            assert proc.returncode == -signal.SIGKILL, (proc.returncode, errors)
            allowed_temps |= temps
        seen, lost = _check_store(run_dir, want, seen)
        rows_lost += len(lost)
        if by_rows:
            mid_run.append(way)
        log.append(f"{point:2d} {way} at {at:.1f} s ({'after new rows' if by_rows else 'timed'}): "
                   f"{rows_at_start} -> {len(seen)} of {len(want)} rows, exit {proc.returncode}, "
                   f"{len(left_behind[point])} processes left behind, {len(lost)} rows lost")
        print(log[-1], flush=True)
    assert not any(left_behind.values()), "\n".join(log)   # no process outlived its run
    assert rows_lost == 0, "\n".join(log)                  # every stored row survived every kill

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
    # A normal run ends without the resource tracker's 'There appear to be N leaked semaphore
    # objects' (a worker's semaphore that it could not release).
    assert "leaked" not in stderr, stderr
    assert second is not None, "the final run ended before the second ablation could be tried"
    assert second.returncode == 2, second.stderr                      # refused as bad input...
    assert len(second.stderr.splitlines()) == 1 and str(run_dir) in second.stderr  # ...naming the folder
    assert "in use" in second.stderr

    finished, lost = _check_store(run_dir, want, seen)
    assert lost == []
    assert set(finished) == set(want)             # every (arm, seed) of the design, exactly once
    n_before = len(seen)
    # The driver's own count agrees: only what the interruptions left was computed.
    assert f"{len(want) - n_before} computed now, {n_before} reused" in stdout, stdout
    with open(run_dir / "scores.csv", newline="") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == len(TESTS) * len(want)  # one row per (member, test)
    assert (run_dir / "index.html").stat().st_size > 0
    assert _leftover_temps(run_dir) <= allowed_temps   # completed runs and Ctrl-C leave no temp files

    # Interrupted 24 times and resumed, the run has the numbers of one never stopped, byte for
    # byte: each member trained in the block it was first planned in (gancheck.runs.blocks).
    whole = tmp_path / "whole"
    subprocess.run([PYTHON, "-m", "experiments.ablate", *ARGS, "--out", str(whole)], cwd=REPO_ROOT,
                   check=True, capture_output=True, timeout=300)
    for name in (*RESULT_FILES, *PAGE_FILES[1:]):
        assert (run_dir / name).read_bytes() == (whole / name).read_bytes(), name

    counts = ", ".join(f"{sum(w == way for w, _ in points)} {way} ({mid_run.count(way)} of them mid-run)"
                       for way in WAYS)
    summary = (f"{KILL_POINTS} interruptions tried ({counts}), each resumed; "
               f"{sum(len(v) for v in left_behind.values())} processes left behind; {rows_lost} rows lost; "
               f"{len(want)} (arm, seed) stored once each; {len(allowed_temps)} temp files left by SIGKILL")
    print("\n" + "\n".join(log) + "\n" + summary)
