"""Executors: run tasks in this process, in local worker processes, or on a Dask cluster.

Every executor yields (task, records) as tasks finish, in completion order; the driver alone
writes to the store, so a result is written exactly once whoever computed it.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Iterator

from gancheck.runs.plan import Task
from gancheck.runs.task import run_task
from gancheck.signals import sigint_deferred

Progress = Callable[[int], None]


def single_thread() -> None:
    """Set up a worker for population work: one torch thread, one compiling thread."""
    # One torch thread per worker: the population's ops are small, and two threads contending
    # on a loaded 2-core machine ran 10x slower than one (benchmarks/throughput.py shows it).
    # Parallelism comes from worker processes instead.
    import torch
    import torch._inductor.config
    torch.set_num_threads(1)
    # torch.compile would otherwise start its own pool of compiler processes in every worker;
    # workers are stopped by terminate() when a run ends, and that pool's semaphores were then
    # reported as leaked. Workers compile in turn anyway (one core each).
    torch._inductor.config.compile_threads = 1


def run_in_process(tasks: list[Task], *, device: str, compile: str, progress: Progress) -> Iterator[tuple[Task, list]]:
    single_thread()
    for task in tasks:
        records = run_task(task, device=device, compile=compile, on_epoch=progress if task.kind == "population" else None)
        if task.kind != "population":
            progress(0)
        yield task, records


_counter = None  # in a worker process: the shared member-epoch counter, set by _init_worker


def _init_worker(counter) -> None:
    # Ctrl-C is the driver's to handle: it stops submitting and keeps what finished. Workers
    # ignore SIGINT so they do not each print a traceback; they die with the pool.
    global _counter
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    single_thread()
    _counter = counter


def _run_counted(task: Task, device: str, compile: str) -> list:
    def tick(members: int) -> None:
        with _counter.get_lock():
            _counter.value += members
    return run_task(task, device=device, compile=compile, on_epoch=tick)


def run_in_processes(tasks: list[Task], *, workers: int, device: str, compile: str, progress: Progress) -> Iterator[tuple[Task, list]]:
    """``workers`` spawned processes, one torch thread each (small batched ops do not gain
    from more threads, and processes do not contend for the GIL)."""
    ctx = multiprocessing.get_context("spawn")
    counter = ctx.Value("q", 0)  # member-epochs done, shared with the workers for the progress bar
    seen = 0
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(counter,))
    try:
        # The pool spawns its workers during submit(). A Ctrl-C reaches the whole process group,
        # workers included, and one that is still importing (before _init_worker ignores SIGINT)
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
    finally:
        workers_left = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        # Stop workers still busy with a cancelled run, so an interrupt returns promptly.
        for proc in workers_left:
            if proc.is_alive():
                proc.terminate()


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def execute(tasks: list[Task], *, workers: int = 1, dask: str | None = None, device: str = "cpu",
            compile: str = "auto", progress: Progress = lambda n: None) -> Iterator[tuple[Task, list]]:
    """Pick the executor: Dask when an address is given, processes when workers > 1, else here.
    ``device`` and ``compile`` (gancheck.gan.engine's choice) are passed to every task."""
    if dask:
        from gancheck.runs.dask_executor import run_on_dask
        return run_on_dask(tasks, address=dask, device=device, compile=compile, progress=progress)
    if workers > 1:
        return run_in_processes(tasks, workers=workers, device=device, compile=compile, progress=progress)
    return run_in_process(tasks, device=device, compile=compile, progress=progress)
