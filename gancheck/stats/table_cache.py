"""Simulated null tables kept on disk, so that each is simulated once per machine, not per process.

A null table (gof.shape_null, diversity.diversity_null, gof_target.moment_null) is a pure
function of its arguments, its seed and the code that simulates it, and costs a second or two to
build; every worker process of a run used to build the same tables again before its first
verdict. Here a table is written once to the user's cache folder, like torch.compile's own cache,
and read back by every later process: the same arrays, bit for bit, since nothing is recomputed.

Where: ``$GANCHECK_CACHE_DIR`` if set (``off`` or an empty value turns the cache off), else
``$XDG_CACHE_HOME/gancheck``, else ``~/.cache/gancheck``.

What a file is trusted for: its name is a digest of everything the table depends on (the
arguments, the source files of the code that simulates it, numpy's and scipy's versions), so a
change to any of them names another file. A file that cannot be read, or whose arrays are not
the expected names, length and dtype, sorted, without NaN, is ignored and written afresh. Writes
go to a temporary file that is renamed into place, so a reader never sees half a table; a folder
that cannot be written only means the table is simulated again next time.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import scipy

CACHE_ENV = "GANCHECK_CACHE_DIR"
_OFF = ("", "off")

#: Called as announce(kind, key, folder) before a table this costly is simulated (key's n times
#: its k, if any, at least ANNOUNCE_FROM): a command sets it to tell its user why it is silent
#: (the shape tests' table at n = 1,000,000 took 36 s here). The library itself says nothing.
announce: Callable[[str, dict, Path | None], None] | None = None
ANNOUNCE_FROM = 20_000


def cache_dir() -> Path | None:
    """The folder null tables are kept in, or None where the cache is turned off."""
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value).expanduser() / "null-tables"
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = Path.home() / ".cache"
        except (RuntimeError, KeyError):  # no HOME and no password entry: nowhere to keep it
            return None
    return Path(base) / "gancheck" / "null-tables"


def _fingerprint(sources: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(sources):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def table_path(kind: str, key: dict, sources: Iterable[str]) -> Path | None:
    """Where the table ``kind`` with arguments ``key``, simulated by the code in ``sources``, is kept."""
    folder = cache_dir()
    if folder is None:
        return None
    ident = json.dumps(dict(kind=kind, key=key, code=_fingerprint(sources), numpy=np.__version__,
                            scipy=scipy.__version__), sort_keys=True)
    return folder / f"{kind}-{hashlib.sha256(ident.encode()).hexdigest()[:32]}.npz"


def cached_tables(kind: str, key: dict, sources: Iterable[str], names: tuple[str, ...], size: int,
                  simulate: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The sorted tables ``names`` (each ``size`` long) for ``kind`` and ``key``: read from the
    cache where a valid copy is there, else simulated by ``simulate()`` and written for next time.
    The arrays returned are read-only: callers share them through their own in-memory caches."""
    path = table_path(kind, key, sources)
    tables = _read(path, names, size) if path is not None else None
    if tables is None:
        if announce is not None and key.get("n", 0) * key.get("k", 1) >= ANNOUNCE_FROM:
            announce(kind, key, None if path is None else path.parent)
        tables = simulate()
        if path is not None:
            _write(path, tables)
    for table in tables.values():
        table.flags.writeable = False
    return tables


def _read(path: Path, names: tuple[str, ...], size: int) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            if sorted(stored.files) != sorted(names):
                return None
            tables = {name: stored[name] for name in names}
    except (OSError, ValueError, EOFError):  # absent, unreadable or truncated: simulate instead
        return None
    for table in tables.values():
        if (table.dtype != np.float64 or table.shape != (size,) or np.isnan(table).any()
                or (size > 1 and (np.diff(table) < 0).any())):
            return None
    return tables


def _write(path: Path, tables: dict[str, np.ndarray]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **tables)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        pass  # a cache that cannot be written costs time next run, never a result
