"""The Dask executor on a real LocalCluster: same store as a local run, and a worker killed mid-run."""
from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing

import numpy as np
import pandas as pd
import pytest
import torch

distributed = pytest.importorskip("distributed",
                                  reason="dask.distributed not installed (pip install '.[dask]')")

from gancheck import GANConfig  # noqa: E402
from gancheck.runs import dask_executor  # noqa: E402
from gancheck.runs.dask_executor import ClusterSpec, cluster_workers, parse_address, train_block  # noqa: E402
from gancheck.runs.driver import expected_digests, run_design  # noqa: E402
from gancheck.runs.plan import Arm, Design, Task, plan  # noqa: E402
from gancheck.runs.store import STORE_NAME  # noqa: E402
from gancheck.stats.registry import REGISTRY  # noqa: E402
from tests.runs.conftest import REPO_ROOT  # noqa: E402


def _design(epochs: int, seeds: list[int]) -> Design:
    """Four arms of four different shapes (features, D:G steps), so each is its own population."""
    # 100 numbers per sample, not the seed's 500: every worker process simulates scoring's null
    # tables once per n, about 1 s at n=100 against 3 s at 500, and the CI budget is tight.
    base = GANConfig(num_epochs=epochs, g_output_size=100)
    arms = [Arm("seed", base),
            Arm("features=moments2", base.replace(features="moments2"), factor="features", level="moments2"),
            Arm("step_ratio=30:10", base.replace(d_steps=30, g_steps=10), factor="step_ratio", level="30:10"),
            Arm("step_ratio=10:30", base.replace(d_steps=10, g_steps=30), factor="step_ratio", level="10:30")]
    # Few controls and draws: the controls are here to cross the cluster, not to measure power.
    return Design(name="dask test", arms=arms, seeds=seeds, baseline="seed", controls=("null", "collapsed"),
                  control_reps=4, n_draws=8)


@pytest.fixture(scope="module")
def cluster():
    """A real scheduler and 2 worker processes (1 thread each) on loopback, no dashboard.

    One for the module: starting one and warming its workers (torch, scoring's null tables)
    takes seconds of the CI budget. The kill test leaves it whole: the nanny restarts the worker.
    """
    # HTTP on a random port: 8787 may be taken by another cluster on a shared machine.
    local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                     dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False})
    try:
        yield local
    finally:
        dask_executor._close_local(local)  # as the executor closes its own: seconds sooner


def _blocks(tasks: list[Task]) -> list[tuple]:
    return sorted(tuple((arm, seed) for arm, _, seed in t.members) for t in tasks)


def _table(run_dir, table: str) -> pd.DataFrame:
    with closing(sqlite3.connect(run_dir / STORE_NAME)) as db:
        df = pd.read_sql_query(f"SELECT * FROM {table}", db)  # noqa: S608 (fixed names)
    # wall_s and finished_at are when and how long, not what: they differ between any two runs.
    df = df.drop(columns=[c for c in ("wall_s", "finished_at") if c in df])
    keys = ["arm", "seed"] + (["test"] if table == "scores" else [])
    return df.sort_values(keys).reset_index(drop=True)


@pytest.mark.slow
def test_cluster_run_stores_the_same_members_as_a_local_run(cluster, tmp_path):
    design = _design(epochs=8, seeds=[0, 1])
    # A member's draws depend only on (config, seed), and a block's rows are computed
    # independently, but not to the bit: the same member trained in a block of another size
    # differs by float32 ulps (measured: up to 1.2e-7 in its samples after 8 epochs; batched
    # kernels may accumulate in another order for another batch size). So the exact
    # comparison below needs the same blocks on both sides; in this design (4 shapes x 2 seeds)
    # plan() makes one block per arm whether it plans for 1 worker or for the cluster's 2.
    assert _blocks(plan(design, set(), workers=1)) == _blocks(plan(design, set(), workers=2))

    on_dask = run_design(design, tmp_path / "dask", dask=cluster.scheduler_address,
                         show_progress=False)
    local = run_design(design, tmp_path / "local", workers=1, show_progress=False)

    n_expected = len(expected_digests(design))  # 4 arms x 2 seeds + 2 controls x 4 reps = 16
    assert on_dask.trained == local.trained == n_expected
    # Same device (cpu), same versions, same blocks, one torch thread on both sides: every
    # float is computed by the same ops in the same order, so the stores agree exactly
    # (history and sample blobs byte for byte, scores to the last bit), not within a tolerance.
    for table in ("members", "scores"):
        pd.testing.assert_frame_equal(_table(tmp_path / "dask", table), _table(tmp_path / "local", table),
                                      check_exact=True)
    members = _table(tmp_path / "dask", "members")
    assert len(members) == n_expected
    assert members["history"].notna().sum() == 8  # every GAN member's history came back, controls have none

    # Resume works as locally: the same command again finds every member stored, sends nothing.
    again = run_design(design, tmp_path / "dask", dask=cluster.scheduler_address,
                       show_progress=False)
    assert (again.trained, again.reused) == (0, n_expected)


def _executing(dask_worker) -> list[str]:
    """Run on each worker by client.run: the keys it is executing right now (not just holding)."""
    return [str(ts.key) for ts in dask_worker.state.executing]


def _kill_a_busy_worker(scheduler_address: str, killed: dict, stop: threading.Event) -> None:
    """SIGKILL the process of a worker seen executing the same training block 0.3 s apart."""
    with distributed.Client(scheduler_address, set_as_default=False) as client:
        pids = client.run(os.getpid)  # {worker address: pid}, taken before this run starts
        seen: dict[str, tuple[str, float]] = {}  # worker -> (block key, first seen executing)
        while not stop.is_set():
            for worker, keys in client.run(_executing, workers=list(pids)).items():
                block = next((k for k in keys if k.startswith("train_block")), None)
                if block is None or seen.get(worker, (None,))[0] != block:
                    seen[worker] = (block, time.monotonic())
                elif time.monotonic() - seen[worker][1] > 0.3:
                    # Still on the same block 0.3 s later: it is mid-task (a block here is
                    # seconds of training), and its result has not been sent.
                    os.kill(pids[worker], signal.SIGKILL)
                    killed.update(worker=worker, key=block)
                    return
            time.sleep(0.05)


@pytest.mark.slow
def test_a_killed_worker_costs_only_its_task(cluster, tmp_path):
    # 150 epochs per block (an epoch's cost is mostly per step, not per member): about 1 s per
    # task on an idle core, 3 s on this loaded one; the killer needs a block seen running for
    # 0.3 s, so it lands mid-task either way.
    design = _design(epochs=150, seeds=[0, 1])
    killed: dict = {}
    stop = threading.Event()
    killer = threading.Thread(target=_kill_a_busy_worker, args=(cluster.scheduler_address, killed, stop))
    killer.start()
    try:
        outcome = run_design(design, tmp_path / "run", dask=cluster.scheduler_address,
                             show_progress=False)
    finally:
        stop.set()
        killer.join()

    assert killed.get("key"), "no worker was killed mid-task; the test proved nothing"
    want = set(expected_digests(design))
    # The store's primary key refuses a second row per (arm, seed); count anyway, so the test
    # still holds if the schema changes.
    with closing(sqlite3.connect(tmp_path / "run" / STORE_NAME)) as db:
        counts = dict(((arm, seed), n) for arm, seed, n in
                      db.execute("SELECT arm, seed, COUNT(*) FROM members GROUP BY arm, seed"))
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Every member has all its verdict rows: one per registry test.
        per_member = {n for (n,) in db.execute("SELECT COUNT(*) FROM scores GROUP BY arm, seed")}
    assert set(counts) == want
    assert set(counts.values()) == {1}
    assert per_member == {len(REGISTRY)}  # one verdict row per registry test
    assert outcome.trained == len(want)  # nothing was refused as a duplicate, nothing lost


# -- a lost scheduler, or all its workers --------------------------------------------------------

#: the dask command line beside this Python (installed with distributed)
DASK_CLI = os.path.join(os.path.dirname(sys.executable), "dask")


def _start(argv: list[str]) -> subprocess.Popen:
    # The repository first on the path, so the worker imports this gancheck (train_block).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([DASK_CLI, *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _stored(run_dir) -> dict:
    path = run_dir / STORE_NAME
    if not path.exists():
        return {}
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
            return {(a, s): t for a, s, t in db.execute("SELECT arm, seed, finished_at FROM members")}
    except sqlite3.Error:
        return {}


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(DASK_CLI), reason="no dask command line beside this Python")
@pytest.mark.parametrize("lost", ["scheduler", "workers"])
def test_a_lost_cluster_stops_the_run_in_one_line_and_it_resumes_elsewhere(cluster, tmp_path, monkeypatch, lost):
    monkeypatch.setattr(dask_executor, "NO_WORKERS_S", 2.0)   # the 60 s default, shortened
    monkeypatch.setattr(dask_executor, "POLL_S", 0.5)
    port = _closed_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"])
    worker = _start(["worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"])
    # 40 epochs: a task takes a fraction of a second, so the run is still going when its first
    # rows are stored and the killer strikes, and the resume is short.
    design = _design(epochs=40, seeds=[0, 1])
    run_dir = tmp_path / "run"
    stop = threading.Event()

    def kill_after_first_rows() -> None:
        while not stop.is_set() and not _stored(run_dir):
            time.sleep(0.05)
        if not stop.is_set():
            os.killpg((scheduler if lost == "scheduler" else worker).pid, signal.SIGKILL)
    killer = threading.Thread(target=kill_after_first_rows)
    try:
        killer.start()
        with pytest.raises(dask_executor.ClusterLost) as err:
            run_design(design, run_dir, dask=address, show_progress=False)
    finally:
        stop.set()
        killer.join()
        for proc in (scheduler, worker):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"--dask={address!r}: "), message
    assert ("lost the Dask scheduler" if lost == "scheduler" else "no workers") in message, message
    kept = _stored(run_dir)
    want = expected_digests(design)
    assert 0 < len(kept) < len(want)            # stopped mid-run, with what it had stored
    with closing(sqlite3.connect(run_dir / STORE_NAME)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # On a new cluster (the module's): only the rest is computed, nothing kept is redone.
    outcome = run_design(design, run_dir, dask=cluster.scheduler_address, show_progress=False)
    assert (outcome.reused, outcome.trained) == (len(kept), len(want) - len(kept))
    after = _stored(run_dir)
    assert set(after) == set(want) and all(after[k] == t for k, t in kept.items())


# -- the address, and what a worker returns (no cluster needed) ------------------------------

@pytest.mark.parametrize("text, spec", [
    ("local", ClusterSpec(None)),
    ("local:3", ClusterSpec(None, 3)),
    ("local:dashboard", ClusterSpec(None, None, True)),
    ("local:2:dashboard", ClusterSpec(None, 2, True)),
    ("tcp://10.0.0.5:8786", ClusterSpec("tcp://10.0.0.5:8786")),
])
def test_parse_address(text, spec):
    assert parse_address(text) == spec


@pytest.mark.parametrize("text", ["", "local:0", "local:-1", "local:two", "local:2:3", "local:2:dash",
                                  "tcp://host:99999", "tcp://host:0"])
def test_bad_address_names_dask(text):
    # A port outside 1-65535 (TCP's range) is refused here; it used to wait out the 10 s timeout.
    with pytest.raises(ValueError, match=r"^--dask="):
        cluster_workers(text)


def test_unreachable_scheduler_is_one_line_naming_dask(monkeypatch):
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT_S", 1)  # the 10 s default, shortened
    port = _closed_port()
    with pytest.raises(ValueError) as err:
        cluster_workers(f"tcp://127.0.0.1:{port}")
    message = str(err.value)
    assert message.startswith(f"--dask='tcp://127.0.0.1:{port}'") and "\n" not in message


def test_missing_distributed_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ValueError, match=r"pip install '\.\[dask\]'"):
        cluster_workers("local:2")


def test_dashboard_without_bokeh_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "bokeh", None)  # find_spec("bokeh") -> None, as if absent
    with pytest.raises(ValueError, match=r"^--dask='local:2:dashboard': .*pip install bokeh"):
        cluster_workers("local:2:dashboard")


def test_worker_returns_numpy_and_plain_values_only():
    design = _design(epochs=2, seeds=[0])
    task = next(t for t in plan(design, set()) if t.kind == "population")
    (record,) = train_block(task, "cpu")
    assert isinstance(record.history, np.ndarray) and isinstance(record.sample, np.ndarray)
    for value in vars(record).values():
        assert not isinstance(value, (torch.Tensor, torch.nn.Module))


def test_a_torch_result_is_refused():
    design = _design(epochs=2, seeds=[0])
    task = next(t for t in plan(design, set()) if t.kind == "population")
    (record,) = train_block(task, "cpu")
    record.sample = torch.as_tensor(record.sample)
    with pytest.raises(TypeError, match="MemberRecord.sample"):
        dask_executor._check_plain([record], torch)


def _closed_port() -> int:
    """A loopback port that nothing listens on (bound by the OS, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
