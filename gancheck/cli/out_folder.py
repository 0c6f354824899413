"""The folder a command writes into (ablate's and train's --out, report's --out): checked and
made before any work, and removed again if the command made it and then wrote nothing there.

Each command still decides whose files it may replace (ablate: a run folder with its store,
gancheck.runs.driver.check_run_folder; report: this run's report; train: a train run's files).
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from gancheck.cli import UsageError


def refuse_non_folder(option: str, out: Path) -> None:
    """A file (or a link to one) where the folder should be fails only at the first write, after
    the work: refuse it now, naming the option."""
    try:
        if out.exists() and not out.is_dir():
            raise UsageError(f"{option}={str(out)!r}: exists and is not a folder")
    except OSError as exc:  # a name too long for the file system, a loop of links
        raise UsageError(f"{option}={str(out)[:80]!r}{'...' if len(str(out)) > 80 else ''}: "
                         f"{exc.strerror or exc}") from None


@contextmanager
def made_folder(option: str, out: Path) -> Iterator[bool]:
    """Make ``out`` (and its parents) and yield whether this call made it; a place where it cannot
    be made (read-only, a file on the way) is one line naming ``option``. If the block fails or is
    interrupted and ``out`` was made here and is still empty, it is removed: a refused or stopped
    command leaves no empty folder behind."""
    refuse_non_folder(option, out)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{option}={str(out)!r}: cannot create the folder ({exc.strerror or exc})") from None
    try:
        yield created
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise
