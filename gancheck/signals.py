"""Holding Ctrl-C while something must not be interrupted (imports, spawning workers)."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C while heavy modules (torch, scipy, matplotlib) import; deliver it right after.

    A KeyboardInterrupt raised inside an import can be swallowed by a library's bare ``except:``
    (the command then runs on as if Ctrl-C had not been pressed), and one raised inside code
    that a library exec()s (dataclasses do, while torch imports) makes CPython kill the process
    with SIGINT at exit, whatever run_cli returned. Blocked, the signal waits, and becomes a
    KeyboardInterrupt in our own code as the block ends: run_cli's one line and exit code 130.
    """
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
