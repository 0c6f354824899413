"""Holding Ctrl-C while something must not be interrupted (imports, spawning workers), and
SIGTERM handled as Ctrl-C is."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def sigint_deferred(*, sigterm: bool = False) -> Iterator[None]:
    """Hold Ctrl-C while heavy modules (torch, scipy, matplotlib) import; deliver it right after.

    A KeyboardInterrupt raised inside an import can be swallowed by a library's bare ``except:``
    (the command then runs on as if Ctrl-C had not been pressed), and one raised inside code
    that a library exec()s (dataclasses do, while torch imports) makes CPython kill the process
    with SIGINT at exit, whatever run_cli returned. Blocked, the signal waits, and becomes a
    KeyboardInterrupt in our own code as the block ends: run_cli's one line and exit code 130.
    With ``sigterm``, SIGTERM is held as well (terminate_as_interrupt turns it into the same
    exception). Not while spawning processes: they inherit the mask, and a worker that must be
    stopped (Process.terminate sends SIGTERM) would then run on.
    """
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM} if sigterm else {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's KeyboardInterrupt would be, so that it takes the same path:
    workers stopped, finished work kept, no leaked semaphores (Python's default action for
    SIGTERM ends the process without any of that)."""


def _raise_terminated(signum, frame):
    raise Terminated()


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM (from kill, a batch scheduler, a container stop) raises
    Terminated in the main thread; the previous handler is restored after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
