"""Executors: run tasks in this process, in local worker processes, or on a Dask cluster.

Every executor yields (task, records) as tasks finish, in completion order; the driver alone
writes to the store, so a result is written exactly once whoever computed it.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Iterator

from gancheck.runs.cost_model import epoch_cost, task_cost
from gancheck.runs.plan import Task
from gancheck.runs.task import run_task
from gancheck.runs.workers import add_work, default_workers, init_pool_worker, single_thread
from gancheck.signals import sigint_deferred

__all__ = ["default_workers", "execute", "run_in_process", "run_in_processes", "single_thread"]

#: Takes work done, in gancheck.runs.cost_model's units, for the progress bar.
Progress = Callable[[float], None]

#: Seconds a stopped worker gets to exit after SIGTERM before it is killed.
STOP_TIMEOUT_S = 5.0


def run_in_process(tasks: list[Task], *, device: str, compile: str, progress: Progress) -> Iterator[tuple[Task, list]]:
    single_thread()
    for task in tasks:
        yield task, run_reporting(task, device, compile, progress)


def run_reporting(task: Task, device: str, compile: str, progress: Progress) -> list:
    """run_task, telling ``progress`` the work done as it goes: a population's after each epoch,
    a control's when it ends."""
    if task.kind != "population":
        records = run_task(task, device=device, compile=compile)
        progress(task_cost(task))
        return records
    per_member = epoch_cost(task)
    return run_task(task, device=device, compile=compile, on_epoch=lambda members: progress(members * per_member))


def _run_counted(task: Task, device: str, compile: str) -> list:
    return run_reporting(task, device, compile, add_work)


def run_in_processes(tasks: list[Task], *, workers: int, device: str, compile: str, progress: Progress) -> Iterator[tuple[Task, list]]:
    """``workers`` spawned processes, one torch thread each (small batched ops do not gain
    from more threads, and processes do not contend for the GIL)."""
    ctx = multiprocessing.get_context("spawn")
    counter = ctx.Value("d", 0.0)  # work done, shared with the workers for the progress bar
    seen = 0
    # Workers are spawned by the thread that submits (this one), and must die with this process.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_pool_worker,
                               initargs=(counter, os.getpid(),
                                         threading.current_thread() is threading.main_thread()))
    finished = False
    try:
        # The pool spawns its workers during submit(). A Ctrl-C reaches the whole process group,
        # workers included, and one that is still importing (before init_pool_worker ignores SIGINT)
        # would print a KeyboardInterrupt traceback. So SIGINT is blocked while they are spawned:
        # they inherit the mask and start with it blocked, and here a Ctrl-C that came meanwhile
        # is delivered as soon as it is unblocked, not lost. (The stdlib's resource_tracker
        # spawns its process the same way, bpo-33613.)
        with sigint_deferred():
            pending = {pool.submit(_run_counted, t, device, compile): t for t in tasks}
        while pending:
            done, _ = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            now = counter.value
            progress(now - seen)
            seen = now
            for future in done:
                task = pending.pop(future)
                yield task, future.result()
        finished = True
    finally:
        _shut_down(pool, stop_workers=not finished)


def _shut_down(pool: ProcessPoolExecutor, *, stop_workers: bool) -> None:
    """Shut ``pool`` down without waiting; with ``stop_workers`` (a cancelled run), stop the
    workers still busy, so that an interrupt returns promptly. Idle workers of a finished run
    are not stopped: they exit by themselves while the report is written (the pool joins them
    at interpreter exit), and release what they hold; a terminated one cannot.

    Stopping a worker must not leave the pool's manager thread waiting for ever. A result bigger
    than a pipe's buffer (a population's draws: hundreds of kB) is written in pieces; a worker
    stopped in the middle leaves half a message, and the manager thread, which reads results,
    waits for the rest. The driver holds the pipe's writing end itself, so no end-of-file comes,
    and the interpreter joins that thread at exit: the driver printed its "interrupted" line and
    never exited. So once the workers are gone, the driver's writing end is closed: the read
    ends (EOFError), and the pool counts itself broken and cleans up, as after a worker's crash.
    """
    workers = list((getattr(pool, "_processes", None) or {}).values())
    results = getattr(pool, "_result_queue", None)  # shutdown() drops the pool's reference
    manager = getattr(pool, "_executor_manager_thread", None)  # and this one
    pool.shutdown(wait=False, cancel_futures=True)
    if not stop_workers:
        return
    # A second Ctrl-C meanwhile waits for the end of this (seconds at most), or the pipe would stay open.
    with sigint_deferred(sigterm=True):
        for proc in workers:
            if proc.is_alive():
                proc.terminate()
        for proc in workers:
            proc.join(STOP_TIMEOUT_S)
            if proc.is_alive():  # SIGTERM held by whatever the worker was in
                proc.kill()
                proc.join()
        if results is not None:
            results._writer.close()
        _forget_wakeup(manager)


def _forget_wakeup(manager) -> None:
    """Take the stopped pool's manager thread off the stdlib's list of threads to wake at exit.
    It ends by itself once the results pipe is closed (above); woken at exit through a pipe it
    may have closed meanwhile, the stdlib printed "Exception ignored ... OSError: [Errno 9] Bad
    file descriptor" under the run's one "interrupted" line (seen once in a run of the random
    kill points of tests/runs/test_interrupt.py). The interpreter still joins the thread."""
    from concurrent.futures import process
    wakeups = getattr(process, "_threads_wakeups", None)  # the stdlib's own registry (3.9+)
    if manager is not None and wakeups is not None:
        wakeups.pop(manager, None)


def execute(tasks: list[Task], *, workers: int = 1, dask: str | None = None, device: str = "cpu",
            compile: str = "auto", progress: Progress = lambda work: None) -> Iterator[tuple[Task, list]]:
    """Pick the executor: Dask when an address is given, processes when workers > 1, else here.
    ``device`` and ``compile`` (gancheck.gan.engine's choice) are passed to every task."""
    if dask:
        from gancheck.runs.dask_executor import run_on_dask
        return run_on_dask(tasks, address=dask, device=device, compile=compile, progress=progress)
    if workers > 1:
        return run_in_processes(tasks, workers=workers, device=device, compile=compile, progress=progress)
    return run_in_process(tasks, device=device, compile=compile, progress=progress)
