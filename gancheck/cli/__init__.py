"""Command-line plumbing shared by `python -m gancheck` and `python -m experiments.ablate`.

Every command reports bad input as one line on stderr and exits 2, never with a traceback.
"""
from __future__ import annotations

import argparse
import math
import os
import select
import signal
import sys
from pathlib import Path
from typing import Callable, Sequence

from gancheck.signals import Terminated, swallowed_interrupts_resent, terminate_as_interrupt
from gancheck.signals import sigint_deferred  # noqa: F401 (re-exported for the CLIs)

EXIT_USAGE = 2
#: Exit codes after Ctrl-C and SIGTERM: 128 + the signal's number, as a shell reports them.
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143
#: Exit code when the reader of standard output went away (`score FILE | head`): 128 + SIGPIPE,
#: what a shell reports for a command that signal ended.
EXIT_BROKEN_PIPE = 141

#: The most epochs the training commands take (ablate's and train's --epochs): 500 times the
#: seed's 2001, far beyond any run that finishes in a day, and small enough for torch's int64
#: step counters and the stored per-epoch histories.
MAX_EPOCHS = 1_000_000
#: The most seeds one arm (ablate's --seeds) or one train run (train's --seeds) takes: 5,000
#: times the full preset's 20; beyond it a range would only fill memory before training started.
MAX_SEEDS = 100_000

#: What an interrupted command says after "interrupted: " or "terminated: ". Only a command whose
#: rerun resumes (the ablation: every finished member is in its store) may promise that; the
#: others keep no partial work.
RESUMES = "finished work is saved; rerun the same command to resume"
NOTHING_TO_RESUME = "nothing to resume; rerun the same command to start over"


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and exit 2, and an option is taken only
    as written: argparse's default reads a prefix (``--mea 3``) as the option it starts, so a
    typo, or an option added later with the same start, silently changes what a command does."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

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


def positive_int(option: str, most: int | None = None, why_most: str = "") -> Callable[[str], int]:
    """An argparse type for counts from 1 (to ``most``, if given, for the reason ``why_most``):
    the error names ``option`` and the bad value. The upper limit is checked while parsing, so
    that a huge count is one line, never an overflow in torch or SQLite once the work has begun."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise UsageError(f"{option}={text!r}: must be an integer") from None
        if value < 1:
            raise UsageError(f"{option}={text!r}: must be >= 1")
        if most is not None and value > most:
            raise UsageError(f"{option}={text!r}: must be at most {most:,}" + (f" ({why_most})" if why_most else ""))
        return value
    return parse


def finite(option: str, positive: bool = False) -> Callable[[str], float]:
    """An argparse type for a finite number (> 0 with ``positive``), naming ``option``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"{option}={text!r}: must be a number") from None
        if not math.isfinite(value) or (positive and value <= 0):
            raise UsageError(f"{option}={text!r}: must be finite" + (" and > 0" if positive else ""))
        return value
    return parse


def unit_interval(option: str) -> Callable[[str], float]:
    """An argparse type for a level or a probability strictly between 0 and 1, naming ``option``."""
    def parse(text: str) -> float:
        value = finite(option)(text)
        if not 0 < value < 1:
            raise UsageError(f"{option}={text!r}: must be in (0, 1)")
        return value
    return parse


def folder(option: str) -> Callable[[str], Path]:
    """An argparse type for a folder (to write or to read). An empty value is refused: Path('')
    is the current folder, so a variable left empty (``--out "$DIR"``) would write the run where
    the command happens to be run, e.g. into a repository, or read whatever is there."""
    def parse(text: str) -> Path:
        if not text:
            raise UsageError(f"{option}='': an empty path; name a folder (. for the current one)")
        return Path(text)
    return parse


def target_option(text: str) -> str:
    """--target (ablate's and train's): a spec a generator can be trained on, judged against and
    stored with, checked while parsing (before any folder is made): it parses, and
    gancheck.cli.judged_target accepts it. Returned as given; the config parses it again."""
    from gancheck.cli.judged_target import refusal
    from gancheck.targets import TargetError, parse
    try:
        law = parse(text)
    except TargetError as exc:
        raise UsageError(f"--target={text!r}: {' '.join(exc.why.split())}") from None
    why = refusal(law)
    if why:
        raise UsageError(f"--target={text!r}: {why}")
    return text


def device_option(option: str) -> Callable[[str], str]:
    """An argparse type for a torch device word (cpu, cuda, cuda:N, auto): one usable here is
    returned as given; an unusable one is refused while parsing, naming ``option``."""
    def parse(text: str) -> str:
        from gancheck.gan.device import resolve_device
        try:
            resolve_device(text)
        except ValueError as exc:
            # resolve_device names its own argument ("device='cuda': ..."); the user typed the option.
            why = str(exc).removeprefix(f"device={text!r}: ")
            raise UsageError(f"{option}={text!r}: {why}") from None
        return text
    return parse


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None, *,
            resumable: bool = False, held: frozenset | None = None) -> int:
    """Run ``main`` and turn user errors (UsageError, ValueError) into one line and exit code 2.

    So are OSErrors: a path the user gave that cannot be used (``--out`` naming a file, a folder
    without permission), or a full disk, is a reason to print, not a traceback. Ctrl-C and SIGTERM
    are one line too; ``resumable`` says whether rerunning the command resumes its work (RESUMES)
    or starts it over (NOTHING_TO_RESUME).

    ``held``: the signal mask a command's ``__main__`` had before it blocked Ctrl-C and SIGTERM,
    its first statement (a signal during the imports that follow would be raised outside this
    function: a traceback, and exit -2). It is restored once the handlers here are in place, so a
    signal that came meanwhile arrives now and is reported like any other.
    """
    try:
        with terminate_as_interrupt(), swallowed_interrupts_resent():
            if held is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
            return main(argv)
    except BrokenPipeError as exc:
        if not _stdout_reader_gone():
            print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
            return EXIT_USAGE
        # The reader took what it wanted (`| head`): nothing to report. Standard output is pointed
        # at /dev/null, or the interpreter's last flush would fail again and print a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
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
        print(f"{'terminated' if terminated else 'interrupted'}: {RESUMES if resumable else NOTHING_TO_RESUME}",
              file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def _stdout_reader_gone() -> bool:
    """Whether standard output is a pipe whose reading end was closed: poll reports an error
    condition on such a descriptor. A broken pipe elsewhere (a worker's) is not this."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), or no real descriptor
        return False


def exit_with(main: Callable[[Sequence[str] | None], int], *, resumable: bool = False,
              held: frozenset | None = None) -> None:
    """A command's ``__main__``: run_cli(main, resumable=resumable, held=held), then exit with its code.

    Once main has returned, the work is done and its outcome printed: a Ctrl-C or SIGTERM that
    arrives while the interpreter shuts down (a terminal's Ctrl-C as the run ends) is ignored.
    Python would otherwise raise it inside whatever finaliser is running and print "Exception
    ignored in ..." with a traceback after a run that succeeded.
    """
    code = run_cli(main, resumable=resumable, held=held)
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
