"""Command-line plumbing shared by `python -m gancheck` and `python -m experiments.ablate`.

Every command reports bad input as one line on stderr and exits 2, never with a traceback.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main`` and turn user errors (UsageError, ValueError) into one line and exit code 2."""
    try:
        return main(argv)
    except (UsageError, ValueError) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the exception held
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: finished work is saved; rerun the same command to resume", file=sys.stderr)
        return 130
