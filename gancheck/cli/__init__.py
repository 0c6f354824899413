"""Command-line plumbing shared by `python -m gancheck` and `python -m experiments.ablate`.

Every command reports bad input as one line on stderr and exits 2, never with a traceback.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import Callable, Sequence

from gancheck.signals import Terminated, swallowed_interrupts_resent, terminate_as_interrupt
from gancheck.signals import sigint_deferred  # noqa: F401 (re-exported for the CLIs)

EXIT_USAGE = 2
#: Exit codes after Ctrl-C and SIGTERM: 128 + the signal's number, as a shell reports them.
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _is_allocation_failure(exc: BaseException) -> bool:
    text = str(exc)
    return "can't allocate memory" in text or "out of memory" in text.lower()


def _out_of_memory(exc: BaseException) -> str:
    """One line for a run too big for this machine, with torch's byte count where it gave one."""
    import re
    wanted = re.search(r"allocate (\d+) bytes", str(exc))
    size = f" (torch could not allocate {int(wanted.group(1)):,} bytes)" if wanted else ""
    return (f"not enough memory for this run{size}: use a smaller model (--hidden) or fewer seeds "
            "at once (--seeds, --workers)")


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
        with terminate_as_interrupt(), swallowed_interrupts_resent():
            return main(argv)
    except (UsageError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__  # one line, whatever it held
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError as exc:
        print(f"error: {_out_of_memory(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as exc:
        # torch reports a failed allocation as a RuntimeError (OutOfMemoryError on a GPU).
        if not _is_allocation_failure(exc):
            raise
        print(f"error: {_out_of_memory(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print(f"{'terminated' if terminated else 'interrupted'}: finished work is saved; rerun the same command "
              "to resume", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def exit_with(main: Callable[[Sequence[str] | None], int]) -> None:
    """A command's ``__main__``: run_cli(main), then exit with its code.

    Once main has returned, the work is done and its outcome printed: a Ctrl-C or SIGTERM that
    arrives while the interpreter shuts down (a terminal's Ctrl-C as the run ends) is ignored.
    Python would otherwise raise it inside whatever finaliser is running and print "Exception
    ignored in ..." with a traceback after a run that succeeded.
    """
    code = run_cli(main)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    _forget_unhandled_interrupt()
    sys.exit(code)


def _forget_unhandled_interrupt() -> None:
    """Clear CPython's note of a KeyboardInterrupt that left source run by string ``exec``.

    dataclasses and namedtuple build their methods with ``exec`` of a string; a Ctrl-C that
    lands in one while a module imports is noted by the interpreter even when run_cli catches
    it, and under ``python -m`` the interpreter then kills itself with SIGINT at exit (code -2,
    not 130). Each string ``exec`` starts by clearing that note, so an empty one does it; with
    both signals ignored by now, nothing can set it again.
    """
    exec("pass", {})  # noqa: S102  (a constant: no input reaches it)
