"""The one rule for every file a run writes: never through a link.

A run folder may be shared (a group's scratch space), and whoever can write into it can plant
a symbolic link named like a file the run writes (``.run.lock -> ~/.bashrc``, a dangling
``store.sqlite -> /etc/cron.d/x``). Following it would overwrite or create a file outside the
folder, with the rights of whoever runs gancheck. So every write goes through this module:

- a file is opened with O_NOFOLLOW, and the opened descriptor must be a regular file with one
  name (a hard link to a file elsewhere is refused as well);
- a new file is created beside its final name with O_CREAT | O_EXCL (which never follows a link)
  and renamed over it: rename replaces a link, never its target;
- SQLite opens files by name and follows links itself, so the store and its companion files
  (-wal, -shm, -journal) are checked to be plain files, or absent, before it opens them, and the
  store is created here (O_EXCL) so that SQLite only ever opens an existing file. A store opened
  only to read may have other names (a backup made with hard links, as ``cp -al`` or rsync's
  ``--link-dest`` make them): reading it writes nothing to it. Its companions may not, since even
  a reader writes SQLite's shared-memory file.

The run folder itself may be a link (``reports/latest -> reports/2026-05-01``): the user named
it, and everything is written inside the folder it leads to.
"""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

#: SQLite's companion files of a database in WAL mode (and in rollback mode, -journal).
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


class LinkRefused(ValueError):
    """A file a run would write is a link, or not a plain file (one line, exit 2)."""


def refuse_link(path: Path) -> None:
    """Raise LinkRefused if ``path`` is a symbolic link (dangling or not); absent is fine."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise LinkRefused(f"{path}: is a symbolic link (to {_target(path)!r}); a run never writes "
                          "through a link: remove it, or choose another folder")


def check_plain(path: Path, info: os.stat_result, *, other_names: bool = False) -> None:
    """The opened file must be a regular file with one name: a hard link would make a write reach
    a file elsewhere (a FIFO or a device is refused too). ``other_names``: a file only read may
    have other names."""
    if not stat.S_ISREG(info.st_mode):
        raise LinkRefused(f"{path}: not a plain file; a run writes only its own plain files")
    if info.st_nlink > 1 and not other_names:
        raise LinkRefused(f"{path}: has {info.st_nlink} hard links; a run never writes a file "
                          "that also has a name elsewhere: remove it, or choose another folder")


def open_for_update(path: Path, mode: int = 0o666) -> int:
    """A descriptor on ``path`` (created if absent), read-write, never through a link."""
    path = Path(path)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0), mode)  # a FIFO must not block
    except OSError as exc:
        if os.path.islink(path):  # ELOOP (Linux) or EMLINK (BSD): the name is a link
            refuse_link(path)
        raise
    try:
        check_plain(path, os.fstat(fd))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_new(path: Path, mode: int = 0o666) -> int:
    """A descriptor on a file created now at ``path`` (O_EXCL: fails if anything is there)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags, mode)


def create_temp(path: Path) -> tuple[int, Path]:
    """A new hidden temp file beside ``path`` (to be renamed over it) and its descriptor."""
    path = Path(path)
    for _ in range(100):
        name = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return create_new(name), name
        except FileExistsError:
            continue
    raise FileExistsError(f"{path.parent}: cannot pick a temporary name")


def check_sqlite_files(path: Path, *, reading: bool = False) -> None:
    """The store and its companion files are plain files with one name, or absent; ``reading``
    (opened read-only): the store itself may have other names."""
    path = Path(path)
    for name in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)):
        refuse_link(name)
        try:
            info = os.lstat(name)
        except FileNotFoundError:
            continue
        check_plain(name, info, other_names=reading and name == path)


def prepare_sqlite(path: Path) -> None:
    """Before SQLite opens ``path`` to write: refuse links, and create the file if absent (here,
    with O_EXCL), so that SQLite never creates a file by following a name."""
    check_sqlite_files(path)
    try:
        os.close(create_new(path))
    except FileExistsError:
        check_sqlite_files(path)  # something appeared meanwhile: it must still be plain


def _target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"
