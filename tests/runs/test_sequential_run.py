"""A sequential run (--seeds auto[:MAX]) on a small design: looks, stopping, record and resume.

The statistics of the stopping rule are tested in tests/stats/test_sequential.py; here the
machinery: which seeds each arm gets, what is recorded, and that a rerun computes nothing new.
"""
from __future__ import annotations

import json
import sqlite3

import pytest

from gancheck.runs.driver import missing_members
from gancheck.runs.sequential import PRIMARY, run_sequential
from gancheck.runs.store import STORE_NAME
from tests.runs.conftest import integrity, read_members, small_design

RUN = dict(workers=1, compile="no", show_progress=False)


def _provenance(run_dir) -> dict:
    with sqlite3.connect(run_dir / STORE_NAME) as db:
        return json.loads(db.execute("SELECT value FROM meta WHERE key = 'provenance'").fetchone()[0])


@pytest.mark.slow
def test_sequential_run_stops_decided_arms_records_and_resumes(tmp_path):
    design = small_design(seeds=range(10))
    outcome = run_sequential(design, tmp_path, max_seeds=10, look_every=5, **RUN)
    members = read_members(tmp_path / STORE_NAME)
    seeds = {arm: sorted(s for a, s in members if a == arm) for arm in ("seed", "g_hidden_size=8")}
    # One comparison (PRIMARY) of one arm: threshold M / alpha = 20. Five tied seeds leave at most
    # five more signs, whose best e-value 2^5 B(5.5, 0.5) / B(0.5, 0.5) = 7.875 (hand computation with
    # scipy.special.beta) cannot reach 20: the arm stops at the first look by curtailment.
    decisions = outcome.decisions["g_hidden_size=8"]
    assert set(decisions) <= set(PRIMARY)
    assert all(d["verdict"] in ("differs", "not shown by max") for d in decisions.values())
    stop = max(d["n"] for d in decisions.values())
    assert seeds["g_hidden_size=8"] == list(range(stop)) and stop in (5, 10)
    assert seeds["seed"] == list(range(stop))  # the baseline runs as long as the longest arm
    spec = _provenance(tmp_path)["design_spec"]["sequential"]
    assert spec["looks_planned"] == [5, 10] and spec["comparisons"] == len(PRIMARY)
    assert spec["decisions"]["g_hidden_size=8"] == json.loads(json.dumps(decisions))
    assert integrity(tmp_path / STORE_NAME) == "ok"

    # A rerun replays the looks from the store: nothing is trained again, the decisions agree.
    again = run_sequential(design, tmp_path, max_seeds=10, look_every=5, **RUN)
    assert again.run.trained == 0
    assert again.decisions == outcome.decisions
    assert read_members(tmp_path / STORE_NAME).keys() == members.keys()


def test_missing_members_counts_what_the_store_lacks(tmp_path):
    design = small_design(seeds=(0,), control_reps=1)
    # Two arms x one seed + one control replicate, nothing stored yet.
    assert missing_members(design, tmp_path) == 3
