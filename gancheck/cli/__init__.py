"""Command-line plumbing shared by `python -m gancheck` and `python -m experiments.ablate`.

Every command reports bad input as one line on stderr and exits 2, never with a traceback.
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Callable, Sequence

from gancheck.signals import Terminated, swallowed_interrupts_resent, terminate_as_interrupt
from gancheck.signals import sigint_deferred  # noqa: F401 (re-exported for the CLIs)

EXIT_USAGE = 2
#: Exit codes after Ctrl-C and SIGTERM: 128 + the signal's number, as a shell reports them.
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143

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


def folder(option: str) -> Callable[[str], Path]:
    """An argparse type for an output folder. An empty value is refused: Path('') is the current
    folder, so a variable left empty (``--out "$DIR"``) would write the run where the command
    happens to be run, e.g. into a repository."""
    def parse(text: str) -> Path:
        if not text:
            raise UsageError(f"{option}='': an empty path; name a folder (write {option}=. for the current one)")
        return Path(text)
    return parse


def target_option(text: str) -> str:
    """--target (ablate's and train's): a spec a generator can be trained on, judged against and
    stored with, checked while parsing (before any folder is made): it parses, its sd is finite
    (the verdicts' bands and the spread across draws are in target sds), and its mean and sd lie
    within the bounds a run's provenance is read with (TARGET_BOUND). Returned as given; the
    config parses it again."""
    import math

    from gancheck.target_dist import TARGET_BOUND
    from gancheck.targets import TargetError, parse
    try:
        law = parse(text)
    except TargetError as exc:
        raise UsageError(f"--target={text!r}: {' '.join(exc.why.split())}") from None
    # A normal's own parameters, as GANConfig stores them (its variance overflows for a huge scale).
    mean, sd = law.normal_parameters if law.is_normal else (law.mean, law.std)
    if not math.isfinite(sd):
        raise UsageError(f"--target={text!r}: its sd is not finite; every generator is judged in units "
                         "of the target's sd")
    if not (-TARGET_BOUND < mean < TARGET_BOUND and 0 < sd < TARGET_BOUND):
        raise UsageError(f"--target={text!r}: its mean is {mean:g} and its sd {sd:g}; a run needs the mean "
                         f"between -{TARGET_BOUND:g} and {TARGET_BOUND:g} and the sd between 0 and "
                         f"{TARGET_BOUND:g} (exclusive)")
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
            resumable: bool = False) -> int:
    """Run ``main`` and turn user errors (UsageError, ValueError) into one line and exit code 2.

    So are OSErrors: a path the user gave that cannot be used (``--out`` naming a file, a folder
    without permission), or a full disk, is a reason to print, not a traceback. Ctrl-C and SIGTERM
    are one line too; ``resumable`` says whether rerunning the command resumes its work (RESUMES)
    or starts it over (NOTHING_TO_RESUME).
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
        print(f"{'terminated' if terminated else 'interrupted'}: {RESUMES if resumable else NOTHING_TO_RESUME}",
              file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def exit_with(main: Callable[[Sequence[str] | None], int], *, resumable: bool = False) -> None:
    """A command's ``__main__``: run_cli(main, resumable=resumable), then exit with its code.

    Once main has returned, the work is done and its outcome printed: a Ctrl-C or SIGTERM that
    arrives while the interpreter shuts down (a terminal's Ctrl-C as the run ends) is ignored.
    Python would otherwise raise it inside whatever finaliser is running and print "Exception
    ignored in ..." with a traceback after a run that succeeded.
    """
    code = run_cli(main, resumable=resumable)
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
