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
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from gancheck.runs.plan import Task
from gancheck.runs.task import run_task

Progress = Callable[[int], None]

#: Seconds to wait for a scheduler to answer, and for a fresh one to get its first worker.
CONNECT_TIMEOUT_S = 10
#: Re-runs of a task that raised (a transient error, e.g. CUDA out of memory on a shared GPU).
#: A worker that dies is handled by the scheduler itself: it reschedules that worker's tasks.
RETRIES = 2
DASHBOARD_ADDRESS = "127.0.0.1:8787"  # loopback, like the rest of a local cluster
#: Seconds a local worker process gets to exit after it is asked to close (see _close_local).
LOCAL_EXIT_S = 0.5


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
            from gancheck.runs.execute import default_workers
            # Processes, not threads: each worker trains under its own GIL. Loopback only: a
            # local cluster needs no open port.
            cluster = distributed.LocalCluster(
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
            client = distributed.Client(cluster, set_as_default=False)
        else:
            try:
                client = distributed.Client(spec.address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except ValueError as exc:  # distributed's own check of the address's form
                raise ValueError(f"--dask={address!r}: not a scheduler address ({_one_line(exc)}); "
                                 "expected tcp://HOST:PORT, local or local:N") from None
            except (OSError, TimeoutError) as exc:
                raise ValueError(f"--dask={address!r}: no Dask scheduler answered within "
                                 f"{CONNECT_TIMEOUT_S} s ({_one_line(exc)})") from None
        yield client
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            _close_local(cluster)


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


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def cluster_workers(address: str) -> int:
    """How many tasks the cluster runs at once (worker threads), to size the blocks by.

    Also the early check of ``--dask``: a bad or unreachable address fails here, before any work.
    A LocalCluster is not started for this: its size is in the address.
    """
    spec = parse_address(address)
    _check_installed(address, spec)
    if spec.address is None:
        from gancheck.runs.execute import default_workers
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

    from gancheck.runs.execute import single_thread
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


def run_on_dask(tasks: list[Task], *, address: str, device: str, compile: str = "auto",
                progress: Progress) -> Iterator[tuple[Task, list]]:
    """Submit every task to the cluster; yield (task, records) in completion order."""
    with connect(address) as client:
        # pure=False: a task's key must not be shared with an identical task of another run.
        # Submission order is priority order, so plan()'s heaviest-first order holds.
        futures = {client.submit(train_block, task, device, compile, pure=False, retries=RETRIES): task
                   for task in tasks}
        try:
            for future in _distributed().as_completed(futures, loop=client.loop):
                task = futures.pop(future)
                records = future.result()
                progress(task.member_epochs)
                yield task, records
        finally:
            # On Ctrl-C or an error: tell a shared scheduler to drop what is left of this run.
            if futures:
                client.cancel(list(futures))
