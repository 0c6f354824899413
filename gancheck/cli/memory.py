"""One memory budget for `gancheck score`: reading, scoring and output together, estimated as
soon as the input's shape is known and checked against the memory available, so a huge or
hostile input is refused in one line naming its size and the limit instead of exhausting the
machine.

The shape is known before any data is read for .npy, .npz and .parquet (their headers), and
after parsing for text, whose parsing is itself held to the budget as it goes. Scoring then runs
over chunks of samples (CHUNK_VALUES values at once), so its working space is that of one chunk,
or of one sample when a sample is larger.
"""
from __future__ import annotations

import os

from gancheck.cli import UsageError

#: Share of the available memory one input may take once parsed: scoring needs working space too
#: (a few copies of the array, the null tables), and other processes share the machine.
USABLE_SHARE = 0.5
#: Peak bytes of gancheck.stats.score per byte of the float64 values it scores (sorting, the ties
#: checks, each test's temporaries). Measured with tracemalloc: 8.25 to 8.3 for one sample of 2 M
#: values, 20 of 100,000 and 2,000 of 1,000; rounded up.
SCORE_FACTOR = 9
#: Values scored at once when samples are small: bounds the working space of many samples.
CHUNK_VALUES = 1 << 21
#: Output rows per sample, at most: the registry's score tests, with room for the diversity tests.
ROWS_PER_SAMPLE = 12
#: Peak bytes per output row while the table is printed. Measured with tracemalloc on 900,000
#: rows: 1,334 for --format table (pandas formats every cell as a Python string), 465 for json,
#: 88 for csv; rounded up to cover the result table itself.
OUTPUT_BYTES_PER_ROW = 1_600
#: What the libraries scoring imports (scipy, pandas) add to the process once loaded: 99 MB of
#: resident memory measured (/usr/bin/time -v on a 4-value file against the bare import); rounded up.
LIBRARY_BYTES = 150_000_000


def available_bytes() -> int:
    """Memory this process can use now: the least of the machine's (MemAvailable), what its
    cgroup's limit leaves (a container, a batch job) and what its address-space limit leaves
    (ulimit -v)."""
    return min(_machine_bytes(), _cgroup_bytes(), _rlimit_bytes())


def _cgroup_bytes() -> int:
    """cgroup v2: memory.max less memory.current, for this process's group (else no limit)."""
    try:
        with open("/proc/self/cgroup", encoding="ascii") as handle:
            group = next(line.split(":", 2)[2].strip() for line in handle if line.startswith("0::"))
        folder = os.path.join("/sys/fs/cgroup", group.lstrip("/"))
        with open(os.path.join(folder, "memory.max"), encoding="ascii") as handle:
            limit = handle.read().strip()
        if limit == "max":
            return 2**62
        with open(os.path.join(folder, "memory.current"), encoding="ascii") as handle:
            return max(0, int(limit) - int(handle.read().strip()))
    except (OSError, ValueError, StopIteration):
        return 2**62


def _rlimit_bytes() -> int:
    """RLIMIT_AS less the address space already mapped (else no limit)."""
    try:
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return 2**62
        with open("/proc/self/statm", encoding="ascii") as handle:
            mapped = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        return max(0, soft - mapped)
    except (ImportError, OSError, ValueError):
        return 2**62


def _machine_bytes() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the kernel reports kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): do not refuse on a guess
        return 2**62


def human(nbytes: float) -> str:
    """1536 -> '1.5 kB' (decimal units, as file managers show sizes)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if abs(nbytes) < 1000 or unit == "PB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    raise AssertionError("unreachable")


def budget() -> int:
    """Bytes one parsed input may take."""
    return int(available_bytes() * USABLE_SHARE)


def require(source: str, needed: float, what: str) -> None:
    """Refuse (UsageError) when ``needed`` bytes for ``what`` exceed the budget of this machine."""
    allowed = budget()
    if needed > allowed:
        raise UsageError(f"{source}: too big for memory: {what} needs {human(needed)}, "
                         f"{human(allowed)} can be used here ({human(available_bytes())} available)")


def command_bytes(values: int, sample_size: int, samples: int, *, whole: bool = False) -> int:
    """Bytes `gancheck score` needs for ``samples`` samples of ``sample_size`` values (``values``
    in all): the libraries, the values themselves, the working space of one chunk of scoring (of everything at
    once when ``whole``, as --draws judges all draws together), and the printed table."""
    chunk = values if whole else max(sample_size, min(values, CHUNK_VALUES))
    return (LIBRARY_BYTES + 8 * values + SCORE_FACTOR * 8 * chunk
            + OUTPUT_BYTES_PER_ROW * ROWS_PER_SAMPLE * samples)


def require_command(source: str, values: int, sample_size: int, samples: int, *, whole: bool = False) -> int:
    """Refuse (UsageError) an input whose scoring would not fit the budget; else its estimate."""
    needed = command_bytes(values, sample_size, samples, whole=whole)
    require(source, needed, f"scoring {samples:,} sample(s) of {sample_size:,} values")
    return needed
