"""Read .npy and .npz files safely: the header is checked before any data is allocated.

A .npy header can claim any shape; numpy would try to allocate it. Here the claimed size is
compared with the bytes the file really holds and with the memory this machine can spare, so a
tiny file claiming a (10**12, 10**12) array, or a truncated one, is refused in one line.
Pickled (object) arrays are refused outright: loading them could run code.
"""
from __future__ import annotations

import io
import lzma
import math
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from gancheck.cli import UsageError, memory

MAGIC = b"\x93NUMPY"
#: numpy's own default limit on the header's length (numpy.lib.format.read_array_header_*).
MAX_HEADER_SIZE = 10_000
_HEADER_READERS = {
    1: np.lib.format.read_array_header_1_0,
    2: np.lib.format.read_array_header_2_0,
    3: np.lib.format.read_array_header_2_0,  # 3.0 differs from 2.0 only by a UTF-8 header text
}


#: Most values in one row of a 2-D array: a row is one sample in the rows layout, and 100,000
#: values is far beyond the n = 500 of the GAN (text files are held to the same cap).
MAX_ROW_VALUES = 100_000
#: Bytes of the file converted to float64 at a time: the raw bytes are never all held at once.
READ_CHUNK_BYTES = 1 << 22

#: Called with an array's shape once its header is checked, before any of its data is read: the
#: caller's chance to refuse what the whole command would need (gancheck.cli.memory).
Admit = Callable[[tuple], None]


def read_npy(handle: BinaryIO, source: str, total_bytes: int | None, admit: Admit | None = None) -> np.ndarray:
    """The float64 array of a .npy stream; UsageError if unusable. ``total_bytes``: the stream's
    length where known (a file), None for a pipe (the data is then checked as it is read)."""
    if handle.read(len(MAGIC)) != MAGIC:
        # Without the magic bytes np.load guesses "pickle" and says so, which misleads here.
        raise UsageError(f"{source}: not a .npy file")
    version = handle.read(2)
    reader = _HEADER_READERS.get(version[0]) if len(version) == 2 else None
    if reader is None:
        raise UsageError(f"{source}: unknown .npy format version {tuple(version)}")
    # The header's length is checked before the header is read: numpy's reader would first read
    # (and allocate) whatever length the file claims, up to 4 GiB.
    length_field = handle.read(2 if version[0] == 1 else 4)
    length = int.from_bytes(length_field, "little")
    if length > MAX_HEADER_SIZE:
        raise UsageError(f"{source}: unreadable .npy header: it claims {length:,} bytes, "
                         f"more than the {MAX_HEADER_SIZE:,} numpy allows")
    header = handle.read(length)
    try:
        shape, fortran_order, dtype = reader(io.BytesIO(length_field + header),
                                             max_header_size=MAX_HEADER_SIZE)
    except (ValueError, SyntaxError, TypeError, EOFError) as exc:
        raise UsageError(f"{source}: unreadable .npy header: {' '.join(str(exc).split())}") from None
    _check_header(source, shape, dtype)
    count = math.prod(shape)  # Python ints, every dimension checked >= 0: no overflow, no sign
    data_bytes = count * dtype.itemsize
    held = None if total_bytes is None else total_bytes - handle.tell()
    if held is not None and data_bytes > held:
        raise UsageError(f"{source}: header claims shape {shape} ({memory.human(data_bytes)} of "
                         f"{dtype}) but the file holds {memory.human(held)} of data: truncated or corrupt")
    if len(shape) >= 2 and shape[-1] > MAX_ROW_VALUES:
        raise UsageError(f"{source}: rows of {shape[-1]:,} values (shape {shape}); at most "
                         f"{MAX_ROW_VALUES:,} values per row are read")
    memory.require(source, 8 * count + min(data_bytes, READ_CHUNK_BYTES),
                   f"an array of shape {shape} ({memory.human(data_bytes)} of {dtype} in the file)")
    if admit is not None:
        admit(shape)
    return _read_values(handle, source, shape, dtype, fortran_order)


def _read_values(handle: BinaryIO, source: str, shape: tuple, dtype: np.dtype, fortran_order: bool) -> np.ndarray:
    """The data as float64, converted a chunk at a time into the one array that is kept."""
    count = math.prod(shape)
    values = np.empty(count)
    per = max(1, READ_CHUNK_BYTES // dtype.itemsize)
    for start in range(0, count, per):
        n = min(per, count - start)
        raw = _read_exactly(handle, n * dtype.itemsize)
        if len(raw) < n * dtype.itemsize:
            raise UsageError(f"{source}: truncated: the header claims shape {shape} of {dtype}, the "
                             f"data ends after {start + len(raw) // dtype.itemsize:,} of {count:,} values")
        values[start:start + n] = np.frombuffer(raw, dtype=dtype, count=n)
    return values.reshape(shape, order="F" if fortran_order else "C")


def _read_exactly(handle: BinaryIO, size: int) -> bytes:
    """``size`` bytes, fewer only at the end of the stream (a pipe may give less per read)."""
    parts, got = [], 0
    while got < size:
        part = handle.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _check_header(source: str, shape: tuple, dtype: np.dtype) -> None:
    if dtype.hasobject:
        raise UsageError(f"{source}: holds Python objects (a pickle), which are never loaded; "
                         "save numbers only")
    if dtype.kind not in "biuf":
        raise UsageError(f"{source}: values must be real numbers, got dtype {dtype}")
    if len(shape) not in (1, 2, 3):
        raise UsageError(f"{source}: expected a 1-D or 2-D array (or, for score --draws, a 3-D one of "
                         f"generators x draws x values), got shape {shape}")
    if any(not isinstance(d, int) or d < 0 for d in shape):
        raise UsageError(f"{source}: unreadable .npy header: shape {shape} has a negative dimension")
    if math.prod(shape) == 0:
        raise UsageError(f"{source}: no values in file (shape {shape})")


def read_npy_file(path: Path, admit: Admit | None = None) -> np.ndarray:
    with path.open("rb") as handle:
        return read_npy(handle, str(path), path.stat().st_size, admit)


#: What a damaged or unusual archive raises while it is read: a bad directory (BadZipFile), an
#: encrypted member (RuntimeError), a method zipfile lacks such as deflate64
#: (NotImplementedError), corrupt deflate (zlib.error), LZMA (LZMAError) or bzip2 (OSError,
#: ValueError) data, a member cut short (EOFError).
_DAMAGED_ARCHIVE = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, NotImplementedError, RuntimeError,
                    EOFError, OSError, ValueError)


def read_npz(path: Path, key: str | None, admit: Admit | None = None,
             key_option: str | None = "--key") -> tuple[np.ndarray, str]:
    """The array named ``key`` in a .npz archive (the only one when ``key`` is None), and its key."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise UsageError(f"{path}: not a .npz archive: {exc}") from None
    except (PermissionError, IsADirectoryError, FileNotFoundError) as exc:  # the file, not its content
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except _DAMAGED_ARCHIVE as exc:
        raise _damaged(path, exc) from None
    try:
        with archive:
            members = {name[:-4]: info for info in archive.infolist()
                       if (name := info.filename).endswith(".npy")}
            key = _choose_key(path, key, members, key_option)
            info = members[key]
            with archive.open(info) as handle:
                # file_size is the uncompressed size the archive declares: read_npy checks the
                # header against it, and reads no more than the header's shape.
                return read_npy(handle, f"{path}[{key}]", info.file_size, admit), key
    except UsageError:
        raise
    except _DAMAGED_ARCHIVE as exc:
        raise _damaged(path, exc) from None


def _damaged(path: Path, exc: BaseException) -> UsageError:
    what = " ".join(str(exc).split()) or type(exc).__name__
    return UsageError(f"{path}: damaged or unsupported .npz archive ({type(exc).__name__}: {what})")


def _choose_key(path: Path, key: str | None, members: dict, key_option: str | None) -> str:
    if not members:
        raise UsageError(f"{path}: the archive holds no arrays")
    known = ", ".join(sorted(members))
    if key is None:
        if len(members) > 1:
            how = f"choose one with {key_option}" if key_option else "give an archive that holds one"
            raise UsageError(f"{path}: holds several arrays ({known}): {how}")
        return next(iter(members))
    if key not in members:
        raise UsageError(f"{path}: no array {key!r} (--key); the archive holds: {known}")
    return key
