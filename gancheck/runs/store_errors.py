"""How the store's failures read: one line naming the file, never SQLite's traceback.

A damaged, foreign or missing store is a StoreError (the command exits 2); a disk or folder that
cannot take a write is a WriteError (gancheck.runs.files: the run stops, exit 1, every member
committed before it kept).
"""
from __future__ import annotations

import errno
import functools
import sqlite3
from pathlib import Path

from gancheck.runs.files import WriteError


class StoreError(ValueError):
    """The store file is missing, corrupt or not a gancheck store (a one-line message)."""


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


#: SQLite's primary result codes for a disk or folder that cannot take a write, as errno.
_UNWRITABLE = {"SQLITE_FULL": errno.ENOSPC, "SQLITE_READONLY": errno.EROFS, "SQLITE_IOERR": errno.EIO,
               "SQLITE_CANTOPEN": errno.EACCES}


def sqlite_unwritable(path: Path, exc: sqlite3.Error) -> WriteError | None:
    """A full disk or a read-only folder as a WriteError (the run stops, exit 1; every member
    committed before stays, as SQLite rolls back the one being written); None for others."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    code = next((c for prefix, c in _UNWRITABLE.items() if name.startswith(prefix)), None)
    return None if code is None else WriteError(code, f"cannot write {path}: {one_line(exc)}")


def store_errors(verb: str):
    """SQLite errors of a damaged file (a bad page found mid-read) become a one-line StoreError
    naming the file, a full disk or read-only folder a WriteError; IntegrityError passes
    through (the driver's signal that a member is already recorded)."""
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except sqlite3.IntegrityError:
                raise
            except sqlite3.DatabaseError as exc:
                if verb == "write" and (failure := sqlite_unwritable(self.path, exc)) is not None:
                    raise failure from None
                raise StoreError(f"{self.path}: cannot {verb} the store ({one_line(exc)})") from None
        return wrapper
    return decorate
