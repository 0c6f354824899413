"""Run tasks on a Dask cluster: an existing scheduler, or a LocalCluster started for this run.

``--dask`` takes
  tcp://HOST:PORT        connect to a running ``dask scheduler`` (any address a Client accepts)
  local                  a LocalCluster here, one worker process per core
  local:N                ... with N worker processes
  local[:N]:dashboard    ... with the dashboard on port 8787 (off otherwise: nobody looks at it
                         on a CI box, and it needs bokeh)

Workers run the same ``run_task`` as the local executors, one torch thread each, and send back
MemberRecords (numpy arrays and plain values). The driver alone writes them to the store, so a
task that the scheduler retries after a worker died is still written once.
"""
from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import logging
import re
import time
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from gancheck.runs.cost_model import task_cost
from gancheck.runs.plan import Task
from gancheck.runs.store_errors import one_line
from gancheck.runs.task import run_task
from gancheck.runs.workers import default_workers, single_thread
from gancheck.signals import sigint_deferred

Progress = Callable[[float], None]  # work done, in gancheck.runs.cost_model's units

#: Seconds to wait for a scheduler to answer, and for a fresh one to get its first worker.
CONNECT_TIMEOUT_S = 10
#: Re-runs of a task that raised (a transient error, e.g. CUDA out of memory on a shared GPU).
#: A worker that dies is handled by the scheduler itself: it reschedules that worker's tasks.
RETRIES = 2
DASHBOARD_ADDRESS = "127.0.0.1:8787"  # loopback, like the rest of a local cluster
#: Seconds a local worker process gets to exit after it is asked to close (see _close_local).
LOCAL_EXIT_S = 0.5
#: Seconds between two looks at a cluster on which nothing finished meanwhile.
POLL_S = 2.0
#: Seconds a cluster may have no worker at all before the run stops (ClusterLost). Generous: a
#: worker restarted by its nanny is back within seconds, an adaptive cluster may take longer.
NO_WORKERS_S = 60.0


@dataclass(frozen=True)
class ClusterSpec:
    """What ``--dask`` asked for: a scheduler address, or a LocalCluster's size."""
    address: str | None          # None: start a LocalCluster
    n_workers: int | None = None  # LocalCluster only; None: one per core
    dashboard: bool = False


#: A scheduler address: [tcp:// or tls://]HOST:PORT (HOST a name, an IPv4 or a bracketed IPv6).
_SCHEDULER_ADDRESS = re.compile(r"^(?:(?:tcp|tls)://)?(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$")


def parse_address(text: str) -> ClusterSpec:
    """``--dask`` text -> ClusterSpec; ValueError naming --dask on anything else."""
    usage = "expected tcp://HOST:PORT, local, local:N or local:N:dashboard"
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"--dask={text!r}: {usage}")
    parts = text.strip().split(":")
    if parts[0] != "local":
        # Checked here, before distributed sees it: given a malformed address, distributed's
        # Client prints our error and then hangs ~20 s in its finaliser with a traceback.
        if not _SCHEDULER_ADDRESS.match(text.strip()):
            raise ValueError(f"--dask={text!r}: {usage}")
        port = int(text.strip().rsplit(":", 1)[1])
        if not 1 <= port <= 65535:  # else distributed waits out its connect timeout on it
            raise ValueError(f"--dask={text!r}: port {port} is not a TCP port (1 to 65535)")
        return ClusterSpec(address=text.strip())
    rest = parts[1:]
    dashboard = bool(rest) and rest[-1] == "dashboard"
    if dashboard:
        rest = rest[:-1]
    if len(rest) > 1:
        raise ValueError(f"--dask={text!r}: {usage}")
    n_workers = None
    if rest:
        try:
            n_workers = int(rest[0])
        except ValueError:
            raise ValueError(f"--dask={text!r}: N must be a whole number of worker processes "
                             f"({usage})") from None
        if n_workers < 1:
            raise ValueError(f"--dask={text!r}: N must be >= 1 worker process")
    return ClusterSpec(address=None, n_workers=n_workers, dashboard=dashboard)


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ValueError("--dask needs dask.distributed, which is not installed: "
                         "pip install '.[dask]' (with -c constraints.txt)") from None
    return distributed


def _check_installed(address: str, spec: ClusterSpec) -> None:
    _distributed()
    # Without bokeh, distributed only logs that it has no dashboard, and a local cluster's
    # logs are silenced: say so here instead.
    if spec.dashboard and importlib.util.find_spec("bokeh") is None:
        raise ValueError(f"--dask={address!r}: the dashboard needs bokeh: pip install bokeh")


@contextmanager
def connect(address: str) -> Iterator:
    """A Client for ``--dask``; a LocalCluster it started is closed with it, also on Ctrl-C."""
    spec = parse_address(address)
    _check_installed(address, spec)
    distributed = _distributed()
    cluster = client = None
    try:
        if spec.address is None:
            # Processes, not threads: each worker trains under its own GIL. Loopback only: a
            # local cluster needs no open port. Started with SIGINT held: the event-loop thread
            # the cluster starts here inherits the mask, and so does every worker its nannies
            # spawn from it. A Ctrl-C at the terminal reaches the whole process group, and a
            # worker then printed a KeyboardInterrupt traceback over the run's one line; the
            # driver stops them, as it stops the local pool's.
            with sigint_deferred():
                cluster = _local_cluster(distributed, spec)
            client = distributed.Client(cluster, set_as_default=False)
        else:
            try:
                client = distributed.Client(spec.address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except ValueError as exc:  # distributed's own check of the address's form
                raise ValueError(f"--dask={address!r}: not a scheduler address ({one_line(exc)}); "
                                 "expected tcp://HOST:PORT, local or local:N") from None
            except (OSError, TimeoutError) as exc:
                raise ValueError(f"--dask={address!r}: no Dask scheduler answered within "
                                 f"{CONNECT_TIMEOUT_S} s ({one_line(exc)})") from None
        yield client
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            _close_local(cluster)


def _local_cluster(distributed, spec: ClusterSpec):
    """A LocalCluster of ``spec.n_workers`` processes (default: one per core) on the loopback."""
    return distributed.LocalCluster(
        n_workers=spec.n_workers or default_workers(), threads_per_worker=1, processes=True,
        host="127.0.0.1",
        # The scheduler serves HTTP (health, metrics) even without the dashboard, on
        # 8787 by default: a random port then, so that two runs on one machine do not
        # collide (nor warn about it).
        dashboard_address=DASHBOARD_ADDRESS if spec.dashboard else "127.0.0.1:0",
        scheduler_kwargs={"dashboard": spec.dashboard},
        # The cluster is ours and short-lived: its routine noise (tasks cancelled by
        # Ctrl-C, workers killed at close, a heartbeat racing the scheduler's shutdown,
        # logged as ERROR) would only bury the run's own output. Whatever matters
        # reaches the driver anyway: a task's exception, or KilledWorker, through its future.
        silence_logs=logging.CRITICAL)


def _close_local(cluster) -> None:
    """Close a LocalCluster without waiting out its workers' interpreter teardown.

    A worker asked to close is done within tens of milliseconds; its process then spends 1-3 s
    tearing down torch and scipy, which the nanny would wait for, on every run. Its results are
    with the driver by then, so the nanny kills it after LOCAL_EXIT_S instead, as the local
    executor terminates its pool.
    """
    async def close_workers() -> None:
        await asyncio.gather(*(nanny.close(timeout=LOCAL_EXIT_S) for nanny in list(cluster.workers.values())))
    try:
        cluster.sync(close_workers)
    finally:
        cluster.close()


def cluster_workers(address: str) -> int:
    """How many tasks the cluster runs at once (worker threads), to size the blocks by.

    Also the early check of ``--dask``: a bad or unreachable address fails here, before any work.
    A LocalCluster is not started for this: its size is in the address.
    """
    spec = parse_address(address)
    _check_installed(address, spec)
    if spec.address is None:
        return spec.n_workers or default_workers()
    with connect(address) as client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise ValueError(f"--dask={address!r}: the scheduler has no workers; start "
                             f"`dask worker {address}` on each machine first") from None
        return max(1, sum(client.nthreads().values()))


def train_block(task: Task, device: str, compile: str = "auto") -> list:
    """What a worker runs: one task, one torch thread, plain results only."""
    import torch

    # One thread per worker, as in the local executors: small batched ops do not gain from
    # more, and threads of two workers on one machine contend.
    single_thread()
    records = run_task(task, device=device, compile=compile)
    _check_plain(records, torch)
    return records


def _check_plain(records: list, torch) -> None:
    """A tensor would pickle fine and then drag torch (or a CUDA context) into the driver."""
    for rec in records:
        for f in dataclasses.fields(rec):
            value = getattr(rec, f.name)
            values = [v for row in value for v in row.values()] if f.name == "scores" else [value]
            if any(isinstance(v, (torch.Tensor, torch.nn.Module)) for v in values):
                raise TypeError(f"run_task returned a torch object in MemberRecord.{f.name} "
                                f"(arm {rec.arm!r}, seed {rec.seed}); tasks must return numpy "
                                "and plain values")


class ClusterLost(ConnectionError):
    """The Dask scheduler, or every worker, went away mid-run. What the driver stored is kept;
    the same command resumes, on this cluster once it is back or on another. experiments.ablate
    prints the one line and exits 1 (not bad input); still an OSError for any other caller."""


def run_on_dask(tasks: list[Task], *, address: str, device: str, compile: str = "auto",
                progress: Progress) -> Iterator[tuple[Task, list]]:
    """Submit every task to the cluster; yield (task, records) in completion order."""
    distributed = _distributed()
    # A client that lost its scheduler retries to connect, and logs a traceback when it is
    # closed meanwhile; the run says why it stopped in one line. So that logger is raised, only
    # while a client that lost its scheduler is closed.
    client_log = logging.getLogger("distributed.client")
    level = client_log.level
    try:
        with connect(address) as client:
            # pure=False: a task's key must not be shared with an identical task of another run.
            # Submission order is priority order, so plan()'s heaviest-first order holds.
            futures = {client.submit(train_block, task, device, compile, pure=False, retries=RETRIES): task
                       for task in tasks}
            lost = False
            try:
                yield from _as_completed(client, futures, address, progress)
            except ClusterLost:
                lost = True
                client_log.setLevel(logging.CRITICAL)
                raise
            finally:
                # On Ctrl-C or an error: tell a shared scheduler to drop what is left of this run.
                if futures and not lost:
                    client.cancel(list(futures))
    finally:
        client_log.setLevel(level)


def _as_completed(client, futures: dict, address: str, progress: Progress) -> Iterator[tuple[Task, list]]:
    """(task, records) as the cluster finishes them (``futures`` maps each future to its task, and
    loses it once yielded); ClusterLost when the scheduler or every worker went away."""
    distributed = _distributed()
    completed = distributed.as_completed(list(futures), loop=client.loop)
    quiet_since, no_workers_since = time.monotonic(), None
    while futures:
        done = completed.next_batch(block=False)
        if not done:
            if time.monotonic() - quiet_since > POLL_S:
                # Nothing finished for a while: is there still someone to do it?
                no_workers_since = _check_workers(client, address, no_workers_since)
                quiet_since = time.monotonic()
            time.sleep(0.1)  # as_completed's own pace when it blocks
            continue
        quiet_since = time.monotonic()
        for future in done:
            task = futures.pop(future)
            try:
                records = future.result()
            except (CancelledError, distributed.comm.CommClosedError) as exc:
                # Not ours: nothing is cancelled by this run before the loop ends. (An OSError a
                # task itself raised is the task's: it propagates as is.)
                why = getattr(exc, "reason", None) or one_line(exc)  # e.g. scheduler-connection-lost
                raise ClusterLost(f"--dask={address!r}: lost the Dask scheduler ({why})") from None
            except distributed.KilledWorker as exc:
                raise ClusterLost(f"--dask={address!r}: a task killed every worker that ran it "
                                  f"(out of memory?): {one_line(exc)}") from None
            progress(task_cost(task))
            yield task, records


def _check_workers(client, address: str, no_workers_since: float | None) -> float | None:
    """When the cluster first had no workers (None while it has some); ClusterLost once it has
    had none for NO_WORKERS_S, or when the scheduler no longer answers."""
    try:
        workers = client.nthreads()
    except (OSError, TimeoutError, CancelledError) as exc:
        raise ClusterLost(f"--dask={address!r}: lost the Dask scheduler ({one_line(exc)})") from None
    if workers:
        return None
    now = time.monotonic()
    if no_workers_since is None:
        return now
    if now - no_workers_since > NO_WORKERS_S:
        raise ClusterLost(f"--dask={address!r}: the Dask cluster has had no workers for "
                          f"{NO_WORKERS_S:g} s")
    return no_workers_since
