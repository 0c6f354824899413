"""Setting up a process that trains for a run: one torch thread, and death with its driver.

Both executors use this: the local pool (gancheck.runs.execute) and Dask workers
(gancheck.runs.dask_executor), which therefore need not import each other.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

#: Seconds between two looks of the watchdog at its parent (see die_with_parent).
PARENT_POLL_S = 0.5
#: Exit status of a worker that stopped because its driver was gone.
ORPHAN_EXIT = 70


#: glibc's mallopt parameters (<malloc.h>) and the values keep_freed_memory sets: tensors up to
#: 32 MiB (glibc's largest mmap threshold on 64-bit) come from the heap, and up to 256 MiB of
#: freed heap stays in the process for the next epoch's tensors.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES = 32 * 2 ** 20, 256 * 2 ** 20


def keep_freed_memory() -> None:
    """Let a training process reuse the memory of last epoch's large tensors (glibc only).

    By default glibc maps each allocation above a threshold (128 kB, raised as such blocks are
    freed) afresh and unmaps it when freed, and returns the heap's free top to the system: an
    epoch's multi-MB tensors (the Philox draws of 8 members: 3.2 MB of real data) then cost a
    page fault per 4 kB on every allocation, on some runs and not others as the threshold
    moves. Measured (compiled seed trainer, 32 members, one process, 6 runs): 40 to 48 ms an
    epoch by default, 37 to 38 ms with these settings. The numbers trained are unchanged."""
    import ctypes
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return  # not glibc (macOS, musl): its allocator keeps its own policy
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)


def single_thread() -> None:
    """Set up a worker for population work: one torch thread, one compiling thread, and an
    allocator that keeps freed memory (keep_freed_memory)."""
    keep_freed_memory()
    # One torch thread per worker: the population's ops are small, and two threads contending
    # on a loaded 2-core machine ran 10x slower than one (benchmarks/throughput.py shows it).
    # Parallelism comes from worker processes instead.
    import torch
    import torch._inductor.config
    torch.set_num_threads(1)
    # torch.compile would otherwise start its own pool of compiler processes in every worker;
    # a worker stopped mid-run (terminate) cannot clean up that pool's semaphores, which the
    # resource tracker then reports as leaked. Workers compile in turn anyway (one core each).
    torch._inductor.config.compile_threads = 1


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


_work_done = None  # in a pool worker: the counter shared with the driver's progress bar


def init_pool_worker(counter, parent_pid: int, parent_is_main_thread: bool) -> None:
    """The local pool's initializer. It lives here, in a module that imports no torch, because a
    spawned worker imports its initializer's module before running it: from gancheck.runs.execute
    that meant importing torch (seconds on a loaded machine) before die_with_parent, and a driver
    killed meanwhile left a worker running until the import ended."""
    global _work_done
    setup_pool_worker(parent_pid, parent_is_main_thread=parent_is_main_thread)
    _work_done = counter


def add_work(work: float) -> None:
    """Add ``work`` (gancheck.runs.cost_model's units) to the driver's progress counter (in a
    pool worker)."""
    with _work_done.get_lock():
        _work_done.value += work


def setup_pool_worker(parent_pid: int, *, parent_is_main_thread: bool) -> None:
    """Everything a local pool worker needs before its first task (its pool's initializer)."""
    # Ctrl-C is the driver's to handle: it stops submitting and keeps what finished. Workers
    # ignore SIGINT so they do not each print a traceback; the driver stops them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid, parent_is_main_thread=parent_is_main_thread)
    single_thread()
    _thread_lock_for_tqdm()


def die_with_parent(parent_pid: int, *, parent_is_main_thread: bool) -> None:
    """End this process as soon as ``parent_pid`` (the driver that spawned it) is gone.

    A driver killed alone (``kill -9``, the OOM killer, a batch system's time limit) cannot stop
    its workers; they would train on, then block for ever writing results nobody reads. Two
    guards, so that one always holds:

    - Linux: the kernel sends SIGKILL to this process when its parent dies (PR_SET_PDEATHSIG),
      at once, whatever the worker is doing, even inside a long C call. The kernel ties it to
      the parent *thread* that spawned us, so it is used only when that is the driver's main
      thread, which lives as long as the driver (the pool spawns workers from the thread that
      submits; ``parent_is_main_thread`` says which that was).
    - anywhere: a daemon thread looks at getppid() every PARENT_POLL_S and exits the process
      when it changed (an orphan is adopted by init or a subreaper). It needs the GIL, so a
      long C call can delay it; the kernel's signal cannot be delayed.
    """
    if parent_is_main_thread and sys.platform.startswith("linux"):
        _kill_me_when_parent_dies()
    if os.getppid() != parent_pid:  # the parent died before the guards were set: nobody to serve
        os._exit(ORPHAN_EXIT)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="gancheck-parent-watch",
                     daemon=True).start()


def _kill_me_when_parent_dies() -> None:
    import ctypes
    pr_set_pdeathsig = 1  # <linux/prctl.h>
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # no prctl here (an unusual libc): the watchdog thread still guards


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    # os._exit, not sys.exit: no cleanup that could block on the dead driver's pipes.
    os._exit(ORPHAN_EXIT)


def _thread_lock_for_tqdm() -> None:
    """torch.compile draws tqdm bars inside a worker, and tqdm's first bar makes a cross-process
    lock: a named semaphore, registered with the driver's resource tracker. A worker stopped
    mid-run cannot unregister it, and the tracker then warns at exit of 'leaked semaphore
    objects'. A worker's bars are its own, so a thread lock is all they need."""
    try:
        from tqdm import tqdm
    except ImportError:
        return
    tqdm.set_lock(threading.RLock())
