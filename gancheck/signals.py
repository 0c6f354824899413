"""Holding Ctrl-C while something must not be interrupted (imports, spawning workers, library
code that swallows exceptions), and SIGTERM handled as Ctrl-C is."""
from __future__ import annotations

import _thread
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def sigint_deferred(*, sigterm: bool = False) -> Iterator[None]:
    """Hold Ctrl-C while code that mishandles it runs; deliver it right after. Two kinds:

    - heavy imports (torch, scipy, matplotlib). A KeyboardInterrupt raised inside an import can be
      swallowed by a library's bare ``except:`` (the command then runs on as if Ctrl-C had not
      been pressed), and one raised inside code that a library exec()s (dataclasses do, while
      torch imports) makes CPython kill the process with SIGINT at exit, whatever run_cli returned
      (gancheck.cli.exit_with clears that note as well, for an exec outside these blocks);
    - library calls into compiled code that cannot pass an exception on: scipy's
      ``boschloo_exact`` builds a Sobol engine, and a KeyboardInterrupt raised while its Cython
      ``_initialize_v`` ran was printed as "Exception ignored" and dropped (seen in CI with
      SIGTERM: the run went on and exited 0).

    Held, the signal waits, and becomes a KeyboardInterrupt in our own code as the block ends:
    run_cli's one line and exit code 130.
    With ``sigterm``, SIGTERM is held as well (terminate_as_interrupt turns it into the same
    exception). Not while spawning processes: they inherit the mask, and a worker that must be
    stopped (Process.terminate sends SIGTERM) would then run on.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM} if sigterm else {signal.SIGINT}
    # Two locks, because either alone leaks. The mask is per thread: a signal sent to the process
    # goes to another thread (OpenMP's, OpenBLAS's) when this one blocks it, and Python then runs
    # the handler here at the next bytecode, inside the block. Python-level handlers, swapped
    # for ones that only note the signal, are not inherited by spawned processes, which must
    # start with SIGINT blocked (runs.execute). Only Python handlers are swapped: SIG_IGN stays
    # ignored, and SIG_DFL (SIGTERM outside run_cli) ends the process as it would have anyway.
    noted: list[int] = []
    swapped = {signum: signal.signal(signum, lambda signum, frame: noted.append(signum))
               for signum in held if callable(signal.getsignal(signum))}
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, held) if hasattr(signal, "pthread_sigmask") else None
    try:
        yield
    finally:
        for signum, handler in swapped.items():
            signal.signal(signum, handler)
        if previous_mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)  # one blocked here arrives now
        if noted:
            swapped[noted[0]](noted[0], None)  # the handler it would have met: raises here


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


#: Seconds before an interrupt that a finaliser swallowed is sent again: time for the code that
#: reported it (sys.unraisablehook) to return, so that it is not raised there too. A loaded
#: machine can hold the main thread off its core for milliseconds.
RESEND_DELAY_S = 0.02


@contextmanager
def swallowed_interrupts_resent() -> Iterator[None]:
    """Within the block, a Ctrl-C or SIGTERM that a finaliser swallowed is raised again.

    Python runs a signal's handler in whatever code the main thread is executing, and a
    weakref callback or ``__del__`` cannot pass its exception on: it is printed as "Exception
    ignored in ..." and dropped, and the command would run on as if the signal had not come
    (seen with SIGTERM in a WeakSet's callback as a run ended: exit 0, and that text on stderr).
    Here such an interrupt is not printed; the same signal is sent to the main thread again a
    moment later, from another thread. Sent from the hook itself, its handler would run inside
    the hook (at its next bytecode) and be dropped the same way. Should it land in another
    finaliser, it is caught and sent again.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = sys.unraisablehook
    in_flight: list = []   # one lock per sender, held until its signal is sent

    def resend_later(exc: KeyboardInterrupt) -> None:
        signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        main = threading.main_thread().ident
        sent = _thread.allocate_lock()
        sent.acquire()

        def send() -> None:
            try:
                time.sleep(RESEND_DELAY_S)
                signal.pthread_kill(main, signum)
            finally:
                sent.release()
        # _thread, not threading.Thread: Thread.start() waits until the new thread runs, and on
        # a loaded machine the resent signal landed in that wait, inside this hook, and was
        # dropped again (10 of 80 runs with six busy processes on two cores).
        in_flight.append(sent)
        _thread.start_new_thread(send, ())

    def hook(unraisable) -> None:
        try:
            if isinstance(unraisable.exc_value, KeyboardInterrupt):
                resend_later(unraisable.exc_value)
                return
        except KeyboardInterrupt as again:  # the resent one, early: once more
            resend_later(again)
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous
        for sent in in_flight:  # one still in flight arrives here, while the handler is ours
            sent.acquire()
