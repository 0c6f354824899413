"""Files a run writes: atomically (temp file + rename), and a lock so one run owns its folder.
Both follow gancheck.runs.safe_files' rule: nothing is ever written through a link."""
from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from gancheck.runs.safe_files import create_new, create_temp, open_for_update
from gancheck.signals import sigint_deferred

#: errno values that say the folder cannot take the write (its disk, quota or mount), not that
#: the path is wrong: the run stops, keeps what it stored, and resumes once this is fixed.
UNWRITABLE = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG, errno.EROFS,
                                   errno.EACCES, errno.EPERM, errno.EIO) if e is not None)


class WriteError(OSError):
    """A run could not write to its folder (full disk, quota, read-only or unwritable folder).

    Not bad input: experiments.ablate prints its one line and exits 1. Still an OSError, so any
    other command reports it as one line too (gancheck.cli.run_cli).
    """

    def __init__(self, code: int, message: str):
        super().__init__(code, message)

    def __str__(self) -> str:
        return self.strerror


#: errno values that say the folder itself takes no write (a read-only mount, no permission), as
#: opposed to a disk that is full. Met at a command's first write, they mean nothing was written
#: and nothing will be: bad input (exit 2), not a run to resume.
FOLDER_REFUSES = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


class FolderRefused(ValueError):
    """A folder a run or a report may not write into: someone else's files, a read-only mount.
    One line naming the option, exit 2, and nothing written there."""


def folder_refusal(option: str, folder: Path, exc: OSError, advice: str) -> FolderRefused | None:
    """``exc`` (a failed first write in ``folder``) as one line naming ``option``, if the folder
    itself refuses writes; None for anything else (a full disk stays a WriteError)."""
    if exc.errno not in FOLDER_REFUSES:
        return None
    state = "is read-only" if exc.errno == errno.EROFS else "cannot be written"
    return FolderRefused(f"{option}={str(folder)!r}: the folder {state} ({exc}); {advice}")


def unwritable(path: Path, exc: OSError, what: str = "write") -> WriteError | OSError:
    """``exc`` as a WriteError naming ``path`` and the cause, if it is a full or unwritable
    folder; ``exc`` itself otherwise."""
    if isinstance(exc, WriteError) or exc.errno not in UNWRITABLE:
        return exc
    return WriteError(exc.errno, f"cannot {what} {path}: {exc.strerror or os.strerror(exc.errno)}")


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``: a temp file in the same folder, fsynced, then renamed over it
    (a link at ``path`` is replaced, its target never written). Ctrl-C and SIGTERM are held
    meanwhile (milliseconds): one that landed between the temp file's creation and the block
    that removes it on failure left the temp file behind; it arrives as the write ends."""
    with sigint_deferred(sigterm=True):
        return _atomic_write_bytes(Path(path), data)


def _atomic_write_bytes(path: Path, data: bytes) -> Path:
    try:
        fd, tmp = create_temp(path)
    except OSError as exc:
        raise unwritable(path, exc) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # ordinary permissions, whatever the umask made of them
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise unwritable(path, exc) from None
        raise
    return path


def remove_file(path: Path) -> None:
    """Remove ``path`` (a link itself, never its target), if there; a folder that refuses it is
    a WriteError, as a refused write is."""
    try:
        Path(path).unlink(missing_ok=True)
    except OSError as exc:
        raise unwritable(path, exc, "remove") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class RunLock:
    """An exclusive lock on a run folder (flock: released by the OS even if the holder is killed).
    ``.run.lock`` is opened without following a link, and must be a plain file of one name.

    Taking it is a run's first write: a folder that refuses it (read-only, no permission) is
    refused in one line naming --out (exit 2), since nothing was started there.
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / ".run.lock"
        self.handle = None
        self.created = False   # whether this lock made .run.lock (see discard)

    def __enter__(self) -> "RunLock":
        # A refused run removes the lock file it made (discard): one that opened that file just
        # before would then lock a file no longer in the folder, beside whoever creates the
        # next one. So the lock counts only once the file locked is still the one named.
        for _ in range(100):
            self._open()
            self._lock()
            if _same_file(self.handle.fileno(), self.path):
                break
            self.__exit__()
        else:
            raise ValueError(f"run folder {self.path.parent}: {self.path.name} keeps being replaced; "
                             "is another program removing it?")
        try:
            self.handle.seek(0)
            self.handle.truncate()
            self.handle.write(f"pid {os.getpid()}")
            self.handle.flush()
        except OSError as exc:
            self.__exit__()
            raise unwritable(self.path, exc) from None
        return self

    def _open(self) -> None:
        try:
            try:
                fd, self.created = create_new(self.path), True   # O_EXCL: never through a link
            except FileExistsError:
                fd, self.created = open_for_update(self.path), False
        except IsADirectoryError:
            raise FolderRefused(f"--out={str(self.path.parent)!r}: {self.path.name} is a folder where the run "
                                "keeps its lock file; nothing was written: remove it, or choose another "
                                "--out") from None
        except OSError as exc:
            failure = unwritable(self.path, exc)
            raise (folder_refusal("--out", self.path.parent, failure, "nothing was written: make it "
                                  "writable, or choose another --out") or failure) from None
        self.handle = os.fdopen(fd, "r+")

    def _lock(self) -> None:
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another process"
            self.handle.close()
            raise ValueError(f"run folder {self.path.parent} is in use by {holder}; "
                             "wait for it to finish or choose another --out") from None

    def discard(self) -> None:
        """Remove ``.run.lock`` if this lock created it: a run refused before it began leaves
        nothing in a folder that is not its own. Only while held, so no run is using it."""
        if self.created and _same_file(self.handle.fileno(), self.path):
            self.path.unlink(missing_ok=True)

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the open file ``fd`` (not removed, not replaced)."""
    try:
        named = os.lstat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def run_in_progress(run_dir: Path) -> bool:
    """Whether a run holds this folder's lock now (RunLock); True when it cannot be told, so
    that a reader of its store then takes SQLite's own locks."""
    try:
        fd = os.open(run_dir / ".run.lock", os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
                     | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases the shared lock at once
