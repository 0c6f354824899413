"""Command-line plumbing shared by `python -m gancheck` and `python -m experiments.ablate`.

Every command reports bad input as one line on stderr and exits 2, never with a traceback.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def positive_int(option: str) -> Callable[[str], int]:
    """An argparse type for counts: the error names ``option`` and the bad value."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise UsageError(f"{option}={text!r}: must be an integer") from None
        if value < 1:
            raise UsageError(f"{option}={text!r}: must be >= 1")
        return value
    return parse


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main`` and turn user errors (UsageError, ValueError) into one line and exit code 2.

    So are OSErrors: a path the user gave that cannot be used (``--out`` naming a file, a folder
    without permission), or a full disk, is a reason to print, not a traceback.
    """
    try:
        return main(argv)
    except (UsageError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__  # one line, whatever it held
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: finished work is saved; rerun the same command to resume", file=sys.stderr)
        return 130


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
