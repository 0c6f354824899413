"""How much memory a file may take when read: checked before reading, so a huge or hostile file
is refused with its size instead of exhausting the machine.
"""
from __future__ import annotations

import os

from gancheck.cli import UsageError

#: Share of the available memory one input may take once parsed: scoring needs working space too
#: (a few copies of the array, the null tables), and other processes share the machine.
USABLE_SHARE = 0.5


def available_bytes() -> int:
    """Memory the kernel says can be used now without swapping (MemAvailable), else free RAM."""
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
