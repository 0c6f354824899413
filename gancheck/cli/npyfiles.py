"""Read .npy and .npz files safely: the header is checked before any data is allocated.

A .npy header can claim any shape; numpy would try to allocate it. Here the claimed size is
compared with the bytes the file really holds and with the memory this machine can spare, so a
tiny file claiming a (10**12, 10**12) array, or a truncated one, is refused in one line.
Pickled (object) arrays are refused outright: loading them could run code.
"""
from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path
from typing import BinaryIO

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


def read_npy(handle: BinaryIO, source: str, total_bytes: int) -> np.ndarray:
    """The float64 array of a .npy stream of ``total_bytes`` bytes; UsageError if unusable."""
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
        raise UsageError(f"{source}: unreadable .npy header: {exc}") from None
    _check_header(source, shape, dtype)
    count = math.prod(shape)  # Python ints: an absurd shape cannot overflow here
    data_bytes = count * dtype.itemsize
    held = total_bytes - handle.tell()
    if data_bytes > held:
        raise UsageError(f"{source}: header claims shape {shape} ({memory.human(data_bytes)} of "
                         f"{dtype}) but the file holds {memory.human(held)} of data: truncated or corrupt")
    # The raw bytes and their float64 copy are both alive for a moment.
    memory.require(source, data_bytes + 8 * count,
                   f"an array of shape {shape} ({memory.human(data_bytes)} of {dtype} in the file)")
    buffer = handle.read(data_bytes)
    array = np.frombuffer(buffer, dtype=dtype, count=count)
    array = array.reshape(shape, order="F" if fortran_order else "C")
    return array.astype(float)


def _check_header(source: str, shape: tuple, dtype: np.dtype) -> None:
    if dtype.hasobject:
        raise UsageError(f"{source}: holds Python objects (a pickle), which are never loaded; "
                         "save numbers only")
    if dtype.kind not in "biuf":
        raise UsageError(f"{source}: values must be real numbers, got dtype {dtype}")
    if len(shape) not in (1, 2):
        raise UsageError(f"{source}: expected a 1-D or 2-D array, got shape {shape}")
    if math.prod(shape) == 0:
        raise UsageError(f"{source}: no values in file (shape {shape})")


def read_npy_file(path: Path) -> np.ndarray:
    with path.open("rb") as handle:
        return read_npy(handle, str(path), path.stat().st_size)


def read_npz(path: Path, key: str | None) -> tuple[np.ndarray, str]:
    """The array named ``key`` in a .npz archive (the only one when ``key`` is None), and its key."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name[:-4]: info for info in archive.infolist()
                       if (name := info.filename).endswith(".npy")}
            key = _choose_key(path, key, members)
            info = members[key]
            with archive.open(info) as handle:
                # file_size is the uncompressed size the archive declares: a compressed member
                # cannot expand past it, and read_npy checks the header against it.
                return read_npy(handle, f"{path}[{key}]", info.file_size), key
    except zipfile.BadZipFile as exc:
        raise UsageError(f"{path}: not a .npz archive: {exc}") from None


def _choose_key(path: Path, key: str | None, members: dict) -> str:
    if not members:
        raise UsageError(f"{path}: the archive holds no arrays")
    known = ", ".join(sorted(members))
    if key is None:
        if len(members) > 1:
            raise UsageError(f"{path}: holds several arrays ({known}): choose one with --key")
        return next(iter(members))
    if key not in members:
        raise UsageError(f"{path}: no array {key!r} (--key); the archive holds: {known}")
    return key
