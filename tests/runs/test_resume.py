"""Resume, in process: rerunning a design computes only what is missing or changed.

The CLI-level version (a real process killed by SIGINT/SIGKILL) is tests/runs/test_interrupt.py;
here the driver is called directly (gancheck.runs.driver.run_design) on a small design, so each
property is checked in a fraction of a second.
"""
from __future__ import annotations

import dataclasses
import sqlite3

import numpy as np
import pytest

import gancheck.runs.driver as driver
from gancheck.runs.driver import expected_digests, run_design
from gancheck.runs.plan import Arm
from gancheck.runs.provenance import Provenance
from gancheck.runs import blocks
from gancheck.runs.store import STORE_NAME, Store, StoreError
from tests.runs.conftest import read_members, read_scores, small_config, small_design

RUN = dict(show_progress=False)
#: the small design's work: 2 arms x 2 seeds + 1 control x 2 replicates (conftest.small_design)
N_WORK = 2 * 2 + 1 * 2


def _interrupt_after(n_tasks: int, monkeypatch) -> None:
    """Make the driver's executor raise KeyboardInterrupt (Ctrl-C) after ``n_tasks`` tasks."""
    real_execute = driver.execute

    def execute(tasks, **kwargs):
        for i, item in enumerate(real_execute(tasks, **kwargs)):
            if i == n_tasks:
                raise KeyboardInterrupt
            yield item
    monkeypatch.setattr(driver, "execute", execute)


def test_finished_run_rerun_computes_nothing(tmp_path, tiny_design):
    first = run_design(tiny_design, tmp_path, **RUN)
    before = read_members(tmp_path / STORE_NAME)
    again = run_design(tiny_design, tmp_path, **RUN)
    assert first.trained == N_WORK      # everything computed once...
    assert again.trained == 0           # ...and nothing the second time
    assert again.reused == N_WORK       # every member and control replicate was reused
    after = read_members(tmp_path / STORE_NAME)
    # Not even rewritten: each row's commit time is the first run's.
    assert {k: r["finished_at"] for k, r in after.items()} == {k: r["finished_at"] for k, r in before.items()}


def test_changed_arm_recomputes_only_that_arm(tmp_path, tiny_design):
    run_design(tiny_design, tmp_path, **RUN)
    before = read_members(tmp_path / STORE_NAME)
    changed_arm = tiny_design.arms[1]
    arms = [tiny_design.arms[0],
            Arm(changed_arm.name, changed_arm.config.replace(g_learning_rate=2e-4),
                factor=changed_arm.factor, level=changed_arm.level)]
    changed = small_design(arms=arms)
    # Asked plainly, the folder is refused before anything is written: the stored members of
    # the old config may have cost hours, and a mistyped option must not delete them.
    with pytest.raises(StoreError, match=rf"holds 2 finished members whose configuration differs .*'{changed_arm.name}'"
                                         r".*--replace-changed recomputes them"):
        run_design(changed, tmp_path, **RUN)
    assert read_members(tmp_path / STORE_NAME) == before
    outcome = run_design(changed, tmp_path, replace_changed=True, **RUN)
    assert outcome.trained == len(changed.seeds)  # the changed arm's 2 members, nothing else
    after = read_members(tmp_path / STORE_NAME)
    assert set(after) == set(before)              # same (arm, seed) keys, none duplicated or lost
    for key, row in after.items():
        if key[0] == changed_arm.name:
            assert row["finished_at"] > before[key]["finished_at"]   # recomputed
            assert row["digest"] == expected_digests(changed)[key]   # under the new config
            assert row["digest"] != before[key]["digest"]
        else:
            assert row == before[key]                                # untouched, byte for byte
    scores = read_scores(tmp_path / STORE_NAME)
    # The old member's scores went with it: one set of score rows per member, no leftovers.
    assert all(len({r["test"] for r in rows}) == len(rows) for rows in scores.values())
    assert set(scores) == set(after)


def test_a_renamed_arm_keeps_its_finished_members(tmp_path, tiny_design):
    # The design's baseline arm was once called "seed"; the same config under a new name is the
    # same work: resuming must reuse it, not train it again.
    run_design(tiny_design, tmp_path, **RUN)
    before = read_members(tmp_path / STORE_NAME)
    renamed = small_design(arms=[Arm("baseline", tiny_design.arms[0].config), tiny_design.arms[1]])
    outcome = run_design(renamed, tmp_path, **RUN)
    assert outcome.trained == 0 and outcome.reused == N_WORK
    after = read_members(tmp_path / STORE_NAME)
    assert {("baseline", 0), ("baseline", 1)} <= set(after) and ("seed", 0) not in after
    assert after[("baseline", 0)]["finished_at"] == before[("seed", 0)]["finished_at"]
    assert set(read_scores(tmp_path / STORE_NAME)) == set(after)


def test_a_renamed_arm_of_another_config_is_trained_again(tmp_path, tiny_design):
    # A new name AND a new config is not a rename: the digest tells them apart.
    run_design(tiny_design, tmp_path, **RUN)
    other = small_design(arms=[Arm("baseline", tiny_design.arms[0].config.replace(g_learning_rate=2e-4)),
                               tiny_design.arms[1]])
    outcome = run_design(other, tmp_path, **RUN)
    assert outcome.trained == len(other.seeds)


def test_fresh_starts_over(tmp_path, tiny_design):
    run_design(tiny_design, tmp_path, **RUN)
    before = read_members(tmp_path / STORE_NAME)
    outcome = run_design(tiny_design, tmp_path, fresh=True, **RUN)
    assert outcome.trained == N_WORK and outcome.reused == 0   # everything recomputed
    after = read_members(tmp_path / STORE_NAME)
    assert set(after) == set(before)
    assert all(after[k]["finished_at"] > before[k]["finished_at"] for k in after)


def test_rerun_of_a_smaller_design_keeps_the_rest(tmp_path, tiny_design):
    """Dropping a seed from the command reuses the others and computes nothing new."""
    run_design(tiny_design, tmp_path, **RUN)
    outcome = run_design(small_design(seeds=(0,)), tmp_path, **RUN)
    assert outcome.trained == 0
    # 2 arms x seed 0 + the control's 2 replicates, which do not depend on the seeds
    assert outcome.reused == 2 + 2


def _comparable(rows: dict) -> dict:
    """Members without what legitimately differs between invocations (timing)."""
    return {k: {c: v for c, v in r.items() if c not in ("finished_at", "wall_s")} for k, r in rows.items()}


@pytest.mark.parametrize("interrupt_after", [0, 1, 2])
def test_resumed_run_equals_uninterrupted_run(tmp_path, tiny_design, monkeypatch, interrupt_after):
    whole = run_design(tiny_design, tmp_path / "whole", **RUN)
    assert whole.trained == N_WORK

    _interrupt_after(interrupt_after, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        run_design(tiny_design, tmp_path / "resumed", **RUN)
    partial = read_members(tmp_path / "resumed" / STORE_NAME)
    monkeypatch.undo()
    outcome = run_design(tiny_design, tmp_path / "resumed", **RUN)
    assert outcome.reused == len(partial)
    assert outcome.trained == N_WORK - len(partial)   # only what the interruption left undone

    a = read_members(tmp_path / "whole" / STORE_NAME)
    b = read_members(tmp_path / "resumed" / STORE_NAME)
    assert set(a) == set(b) == set(expected_digests(tiny_design))
    # Every member trains in the block it was first planned in (gancheck.runs.blocks): the same
    # bits as the uninterrupted run's, blobs and scores included.
    _assert_same_bits(a, b)
    assert read_scores(tmp_path / "whole" / STORE_NAME) == read_scores(tmp_path / "resumed" / STORE_NAME)


# -- divergence ----------------------------------------------------------------------------------------

def test_diverged_member_is_stored_and_the_run_completes(tmp_path):
    """An arm whose G learning rate is 1e8 overflows within its first epoch (the seed's 20 G
    steps at 1e8 each); its members are recorded as diverged, at that epoch, beside a normal arm
    in the same population, and the run completes with its CSVs and report."""
    from gancheck.config import GANConfig
    from gancheck.report.collect import load_report_input, write_outputs

    base = GANConfig(num_epochs=2)  # the seed's steps; 2 epochs: diverged or not, it shows at once
    hot = base.replace(g_learning_rate=1e8, lr_schedule="constant", lr_min=0.0)
    arms = [Arm("seed", base), Arm("g_lr=1e8", hot, factor="g_learning_rate", level="1e8")]
    design = small_design(arms=arms)
    outcome = run_design(design, tmp_path, **RUN)
    assert outcome.trained == N_WORK   # 2 arms x 2 seeds + 2 control replicates: nothing lost

    members = read_members(tmp_path / STORE_NAME)
    scores = read_scores(tmp_path / STORE_NAME)
    for seed in design.seeds:
        hot_row, ok_row = members[("g_lr=1e8", seed)], members[("seed", seed)]
        assert hot_row["status"] == "diverged" and hot_row["diverged_epoch"] == 0   # within epoch 0
        assert hot_row["sample"] is None                     # no non-finite sample stored
        # Its score rows are there, and none is a pass (a row whose status is not 'ok' never passes).
        assert all(r["status"] != "ok" and r["reject"] == 1 for r in scores[("g_lr=1e8", seed)])
        assert ok_row["status"] == "done" and ok_row["diverged_epoch"] is None
        assert np.isfinite(np.frombuffer(ok_row["sample"])).all()

    # The normal arm trained as if alone: test_population's company bound (float32, 1e-6).
    alone = small_design(arms=[arms[0]])
    run_design(alone, tmp_path / "alone", **RUN)
    alone_rows = read_members(tmp_path / "alone" / STORE_NAME)
    for seed in design.seeds:
        np.testing.assert_allclose(np.frombuffer(members[("seed", seed)]["sample"]),
                                   np.frombuffer(alone_rows[("seed", seed)]["sample"]), rtol=1e-5, atol=1e-6)

    data = write_outputs(tmp_path, render=False)   # the CSVs, as the ablate command writes them
    shown = data.members.set_index(["arm", "seed"])
    assert (shown.loc["g_lr=1e8", "status"] == "diverged").all()
    assert (shown.loc["g_lr=1e8", "diverged_epoch"] == 0).all()
    assert (shown.loc["seed", "status"] == "done").all()
    # Both seeds of the hot arm are named diverged, neither of the seed arm (outcomes.csv), and
    # their metrics are the worst value, +inf, never dropped.
    outcomes = data.outcomes.set_index(["arm", "outcome"])["count"]
    assert outcomes[("g_lr=1e8", "diverged")] == 2 and outcomes[("seed", "diverged")] == 0
    hot_metrics = data.metrics[data.metrics["arm"] == "g_lr=1e8"]
    assert len(hot_metrics) and np.isinf(hot_metrics["value"]).all()
    assert (tmp_path / "scores.csv").exists() and (tmp_path / "summary.csv").exists()


def test_each_invocation_records_its_engine(tmp_path, tiny_design, monkeypatch):
    # What --compile decided, arm by arm, is recorded with each invocation (as the device is):
    # compiled and eager steps round differently, so a reader must be able to tell them apart.
    from gancheck.gan import engine
    from gancheck.runs.store import Store
    monkeypatch.setattr(engine, "compiler_problem", lambda: "none here")  # "auto" then trains eagerly
    run_design(tiny_design, tmp_path, compile="auto", **RUN)
    run_design(tiny_design, tmp_path, compile="no", **RUN)
    store = Store(tmp_path / STORE_NAME)
    try:
        invocations = store.get_meta("provenance")["invocations"]
    finally:
        store.close()
    arms = ", ".join(a.name for a in tiny_design.arms)
    assert [i["compile"] for i in invocations] == [f"compile=auto: eager {arms}", f"compile=no: eager {arms}"]
    # Eager CPU steps draw from each member's torch generator (gancheck.gan.engine.resolve_draws).
    assert [i["draws"] for i in invocations] == [f"torch {arms}"] * 2
    assert all(i["device"].startswith("cpu") for i in invocations)


def test_each_invocation_records_what_each_arm_cost(tmp_path, tiny_design):
    # Where the time went, per arm (gancheck.runs.costs): every member and control replicate an
    # invocation computed is counted once, its CPU seconds include its judging, and a rerun that
    # computes nothing records no cost.
    from gancheck.runs.provenance import Provenance
    from gancheck.runs.store import Store
    run_design(tiny_design, tmp_path, **RUN)
    run_design(tiny_design, tmp_path, **RUN)
    store = Store(tmp_path / STORE_NAME)
    try:
        first, second = Provenance.from_dict(store.get_meta("provenance")).invocations
    finally:
        store.close()
    members = {a.name: len(tiny_design.seeds) for a in tiny_design.arms} | {"control:null": 2}
    assert {arm: cost["members"] for arm, cost in first.arm_costs.items()} == members
    for cost in first.arm_costs.values():
        assert cost["core_s"] >= cost["judge_s"] > 0 and cost["compile_s"] >= 0
    assert second.computed == 0 and second.arm_costs == {}


# -- blocks: a resumed member trains in the block it was first planned in -----------------------------

def _one_arm_eight_seeds():
    """One arm, 8 seeds: planned for 1 worker as two blocks of 4 (plan: about 2 blocks a worker)."""
    return small_design(arms=[Arm("seed", small_config(num_epochs=6))], seeds=range(8), control_reps=1)


def _forget(run_dir, keys) -> None:
    store = Store(run_dir / STORE_NAME, create=True)
    try:
        store.forget(keys)
    finally:
        store.close()


def _meta(run_dir, key: str):
    store = Store(run_dir / STORE_NAME)
    try:
        return store.get_meta(key)
    finally:
        store.close()


def _recorded_blocks(run_dir) -> list:
    return _meta(run_dir, blocks.META_KEY)


def _assert_same_bits(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for key in a:
        assert _comparable(a)[key] == _comparable(b)[key], key


@pytest.mark.parametrize("workers", [1, 2])
def test_a_resumed_block_trains_whole_so_its_members_get_the_same_bits(tmp_path, workers):
    """Members lost from one block (an interruption between its members' commits) and a whole
    block lost: rerun, with the same or another worker count, every member is bit for bit the
    uninterrupted run's. Planned afresh, the 4 members left would form blocks of 2 (1 worker) or
    1 (2 workers), and most of them would differ in their last bits (float32 kernels round a
    member by its position in the block)."""
    design = _one_arm_eight_seeds()
    run_design(design, tmp_path / "whole", **RUN)
    whole = read_members(tmp_path / "whole" / STORE_NAME)
    run_design(design, tmp_path / "resumed", **RUN)
    lost = [("seed", 1), ("seed", 2), ("seed", 4), ("seed", 5), ("seed", 6), ("seed", 7)]
    _forget(tmp_path / "resumed", lost)
    before = read_members(tmp_path / "resumed" / STORE_NAME)

    outcome = run_design(design, tmp_path / "resumed", workers=workers, **RUN)
    assert outcome.trained == len(lost)  # the block's finished members are trained, not stored again
    # Seeds 0 and 3 of the kept block [0, 1, 2, 3] were trained again, to their stored numbers.
    assert (outcome.retrained, outcome.differed) == (2, 0)
    invocations = Provenance.from_dict(_meta(tmp_path / "resumed", "provenance")).invocations
    assert [i.planned for i in invocations] == [8, 0]   # the first invocation grouped all 8 members, the rerun none
    assert [(i.retrained, i.differed) for i in invocations] == [(0, []), (2, [])]
    after = read_members(tmp_path / "resumed" / STORE_NAME)
    _assert_same_bits(whole, after)
    # The members that were kept are the very rows stored before, not rewritten.
    assert all(after[k]["finished_at"] == before[k]["finished_at"] for k in before)


def test_a_finished_member_trained_again_to_other_numbers_is_recorded(tmp_path, capsys):
    """A kept block trains its finished members again; where one comes out other than stored
    (here: its stored history altered by one ulp, as another CPU might round), the invocation
    records it, the end-of-run summary and the report's limitations say so, and the stored row
    is kept as it was."""
    from gancheck.report.methods import limitations
    from gancheck.report.summary import print_summary
    from tests.report.conftest import make_report_input
    design = _one_arm_eight_seeds()
    run_design(design, tmp_path, **RUN)
    _forget(tmp_path, [("seed", 1)])
    db = sqlite3.connect(tmp_path / STORE_NAME)
    history = np.frombuffer(db.execute("SELECT history FROM members WHERE seed = 0").fetchone()[0], "<f8").copy()
    last = np.flatnonzero(np.isfinite(history))[-1]
    history[last] = np.nextafter(history[last], np.inf)
    db.execute("UPDATE members SET history = ? WHERE seed = 0", (history.tobytes(),))
    db.commit()
    db.close()
    before = read_members(tmp_path / STORE_NAME)

    outcome = run_design(design, tmp_path, **RUN)
    assert (outcome.trained, outcome.retrained, outcome.differed) == (1, 3, 1)  # seeds 0, 2, 3 again
    record = Provenance.from_dict(_meta(tmp_path, "provenance"))
    assert record.invocations[-1].differed == [["seed", 0]]
    after = read_members(tmp_path / STORE_NAME)
    assert after[("seed", 0)]["history"] == before[("seed", 0)]["history"]   # kept, not overwritten
    print_summary(outcome, make_report_input(fast=True))
    assert "1 of the 3 finished members trained again" in capsys.readouterr().out
    text = " ".join(limitations(dataclasses.replace(make_report_input(fast=True), provenance=record.to_dict())))
    assert "3 finished members again" in text and "1 of them (seed (seed 0))" in text


def test_blocks_are_planned_afresh_for_new_members_and_a_changed_config(tmp_path):
    """A block is kept only while the design wants each of its members with the digest it was
    planned with: a changed config trains its arm's members in new blocks, recorded in turn."""
    design = _one_arm_eight_seeds()
    run_design(design, tmp_path, **RUN)
    first = _recorded_blocks(tmp_path)
    assert [[seed for _, seed, _ in block] for block in first] == [[0, 1, 2, 3], [4, 5, 6, 7]]

    changed = small_design(arms=[Arm("seed", small_config(num_epochs=6, g_learning_rate=2e-4))],
                           seeds=range(8), control_reps=1)
    want = expected_digests(changed)
    assert blocks.kept_blocks(first, want) == []   # every block holds a member of the old config
    run_design(changed, tmp_path, workers=2, replace_changed=True, **RUN)
    second = _recorded_blocks(tmp_path)
    # Planned for 2 workers: about 4 blocks, each member with the new digest.
    assert [[seed for _, seed, _ in block] for block in second] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert {digest for block in second for _, _, digest in block} == {want[("seed", 0)]}


def test_a_renamed_arm_keeps_its_blocks(tmp_path):
    design = _one_arm_eight_seeds()
    run_design(design, tmp_path, **RUN)
    _forget(tmp_path, [("seed", 3)])
    renamed = small_design(arms=[Arm("baseline", small_config(num_epochs=6))], seeds=range(8), control_reps=1)
    assert run_design(renamed, tmp_path, workers=2, **RUN).trained == 1
    kept = _recorded_blocks(tmp_path)
    assert [[(arm, seed) for arm, seed, _ in block] for block in kept] == [
        [("baseline", s) for s in range(4)], [("baseline", s) for s in range(4, 8)]]


@pytest.mark.parametrize("row", [
    "not a list", [["seed", 0, "d"]], [[]], [[["seed", "0", "d"]]], [[["seed", True, "d"]]], [[["seed", 0]]]])
def test_a_damaged_blocks_row_is_a_store_error(row):
    with pytest.raises(StoreError, match="damaged row 'blocks' of table meta"):
        blocks.kept_blocks(row, {("seed", 0): "d"}, where="run/store.sqlite")


def test_a_recorded_block_naming_a_control_is_not_kept():
    assert blocks.kept_blocks([[["control:null", 0, "d"]]], {("control:null", 0): "d"}) == []
