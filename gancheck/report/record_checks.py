"""A run record's numbers, checked as they are read: from the store or from a published
provenance.json, a damaged record reads as one line naming it, never as a KeyError later on."""
from __future__ import annotations

from pathlib import Path

from gancheck.target_dist import TARGET_BOUND


def _number(where: Path, provenance: dict, key: str, *, low: float, high: float,
            source: str = "the store") -> float:
    """provenance[key] as a finite float in (low, high), or ValueError naming the field: a
    damaged record must read as one line, not as a KeyError or a numpy ufunc error later on.
    ``source``: what holds the record, for the message ("the store", "the file")."""
    if key not in provenance:
        raise ValueError(f"{where}: the run's provenance has no {key!r}; {source} is damaged "
                         "or was written by another program")
    value = provenance[key]
    try:
        number = float(value) if not isinstance(value, (bool, str)) else float("nan")
    except (TypeError, ValueError):
        number = float("nan")
    if not (low < number < high):  # NaN fails both comparisons
        raise ValueError(f"{where}: the run's provenance has {key}={value!r}; it must be a number "
                         f"between {low:g} and {high:g} (exclusive)")
    return number


def checked_target(where: Path, provenance, *, source: str = "the store") -> tuple[float, float, float]:
    """(target_mean, target_std, alpha) of a stored (or published: ``source`` "the file")
    provenance record, each checked."""
    if not isinstance(provenance, dict):
        raise ValueError(f"{where}: the run's provenance is not a record ({type(provenance).__name__}); "
                         f"{source} is damaged")
    return (_number(where, provenance, "target_mean", low=-TARGET_BOUND, high=TARGET_BOUND, source=source),
            _number(where, provenance, "target_std", low=0.0, high=TARGET_BOUND, source=source),
            _number(where, provenance, "alpha", low=0.0, high=1.0, source=source))
