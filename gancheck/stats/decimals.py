"""How numbers were written as decimals: the places and significant digits a text file's values
show, and the cell each value stands for.

A value read from a CSV is the double nearest a decimal of a few digits; its cell (the interval
it stands for) is one unit of its last place, which its neighbours tell where it happens to end
in 0. gancheck.stats.repeats reads these cells as the data's resolution, gancheck.stats.ties as
the grid its tests must allow for.
"""
from __future__ import annotations

import numpy as np

from gancheck.stats.windows import sliding_min

#: Distinct neighbours whose places set a value's cell (a value that happens to end in 0 takes
#: theirs).
NEIGHBOURS = 32
#: Up to this many units of its last place (12 significant digits) a value is on a decimal place
#: when it is within DECIMAL_TOLERANCE_EPS of it: parsing a written decimal into float64 is still
#: exact to about 1e-4 of its last place there.
DECIMAL_MAX_UNITS = 1e12
#: From there up to 15 significant digits (the most that survive a round trip through float64)
#: a value is on a place only when it is exactly the double nearest that decimal, as parsing
#: gives (1e6 written to 6 decimals by printf's %f has 13 digits). A float64 value that is not
#: a written decimal is such a double in about 6% of cases at 15 digits, so a sample of them
#: still fails (DECIMAL_PROBE values must all pass).
DECIMAL_EXACT_UNITS = 1e15
#: A value is on a decimal place when it is that many units, up to the float64 rounding of
#: parsing it and scaling it (a few ulps of the scaled value): this many machine epsilons of it.
DECIMAL_TOLERANCE_EPS = 16
#: Significant digits float32 output is printed with (shortest repr, or '%.9g'): at most 9.
FLOAT32_DIGITS = 9
#: The largest float32: a larger written number cannot be float32 output.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Distinct values looked at first: data that are not written decimals fail on them.
DECIMAL_PROBE = 64


def decimal_cells(v: np.ndarray, new_value: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """Where every value is a decimal of at most 15 significant digits (a text file's numbers):
    each sorted value's cell, one unit of the finest decimal place among its NEIGHBOURS distinct
    neighbours (a value that happens to end in 0 has the resolution of its neighbours) or, where
    wider, one unit of the last of as many significant digits as its power of 10 shows
    (_significant_digit_cells); and whether every value has at most 9 significant digits (it may
    be float32 output written as text). None for other data (float64 output, or float32 numbers
    themselves)."""
    distinct = v[new_value]
    if _places(distinct[:DECIMAL_PROBE]) is None:
        return None
    places = _places(distinct)
    if places is None:
        return None
    w = min(NEIGHBOURS, places.size)
    start = np.clip(np.arange(places.size) - w // 2, 0, places.size - w)
    finest = -sliding_min(-places, w)[start]   # each window's largest number of places
    with np.errstate(divide="ignore"):
        magnitude = np.floor(np.log10(np.abs(distinct)))
    digits = np.where(distinct != 0, magnitude + 1 + places, 1)
    cells = np.maximum(10.0 ** -finest.astype(float), _significant_digit_cells(
        distinct, np.diff(np.flatnonzero(new_value), append=new_value.size), magnitude, digits, places))
    float32_text = bool((digits <= FLOAT32_DIGITS).all()) and bool(np.abs(distinct).max() <= FLOAT32_MAX)
    return cells[np.cumsum(new_value) - 1], float32_text


def _places(u: np.ndarray) -> np.ndarray | None:
    """The fewest decimal places each value is written with (negative for a whole number ending
    in zeros: 110 has -1), or None if some value has more than 15 significant digits (or is too
    large to read as a decimal)."""
    places = np.zeros(u.size, dtype=np.int64)
    left = np.arange(u.size)
    for place in range(0, 40):
        on, past = _on_place(u[left], place)
        if past.any():
            return None   # some value not yet on a place, and past the digits read
        places[left[on]] = place
        left = left[~on]
        if left.size == 0:
            return places - _trailing_zeros(u, places)
    return None


#: Distinct values a power of 10 must hold before its cells are read from its significant digits
#: (_significant_digit_cells): a lone 1.0 in a file of one decimal, written "1", looks like one
#: digit with probability 1/10 (and U(0, 1) at one decimal has only 1.0 there); two such values
#: with 1/100, and then only those values get the wider cell. Two digits of N(1000, 50) at n = 20
#: often show only 1000 and 1100 above 1000: three distinct values were asked for, their cells of
#: 100 were read as 10, and the KS band called 17 of 20 perfect generators departures.
DIGIT_EVIDENCE = 2
#: Share of a power of 10's values whose digits set its cells: a stray value written to more
#: digits (4.01234 among one-decimal values) keeps its own last place as its cell rather than
#: making every cell of its power that fine.
DIGIT_SHARE = 0.99


def _significant_digit_cells(distinct: np.ndarray, counts: np.ndarray, magnitude: np.ndarray,
                             digits: np.ndarray, places: np.ndarray) -> np.ndarray:
    """Cells of numbers written to a fixed count of significant digits (printf's %.2g, R's
    signif), which grow tenfold at each power of 10: 9.9 and 12 at two digits sit in cells of
    0.1 and 1. Neither the places of the neighbours (one decimal, from 9.9) nor the gaps (0.1)
    show the wider cell, so each power of 10 holding at least DIGIT_EVIDENCE distinct values is
    read at the most significant digits that DIGIT_SHARE of its values show (``counts``: how
    often each distinct value occurs), and no value's cell exceeds its own last place (so numbers
    written to fixed places get no wider cell this way); 0 elsewhere."""
    cells = np.zeros(distinct.size)
    for power in np.unique(magnitude[distinct != 0]):
        members = np.flatnonzero(magnitude == power)
        if members.size < DIGIT_EVIDENCE:
            continue
        most = np.quantile(np.repeat(digits[members], counts[members]), DIGIT_SHARE, method="higher")
        with np.errstate(over="ignore"):
            cells[members] = np.minimum(10.0 ** (power + 1 - most), 10.0 ** -places[members].astype(float))
    return cells


def _on_place(u: np.ndarray, place: int) -> tuple[np.ndarray, np.ndarray]:
    """Which values are written with ``place`` decimals, and which are past the digits read
    there (more than 15 significant digits)."""
    scaled = u * 10.0**place
    units = np.abs(scaled)
    whole = np.rint(scaled)
    tolerance = DECIMAL_TOLERANCE_EPS * np.finfo(float).eps * np.maximum(units, 1.0)
    past = units > DECIMAL_EXACT_UNITS
    # Division is correctly rounded, so whole / 10**place is the double nearest the decimal.
    with np.errstate(invalid="ignore"):
        on = np.where(units <= DECIMAL_MAX_UNITS, np.abs(scaled - whole) <= tolerance,
                      whole / 10.0**place == u)
    # A nonzero value that rounds to 0 there has more places (1e-20 is not a whole number).
    return on & ~past & ((whole != 0) | (u == 0)), past


def written_as_decimals(x: np.ndarray) -> np.ndarray:
    """Rows of x (finite) whose first DECIMAL_PROBE values are each a decimal of at most 15
    significant digits, as decimal_cells first asks of a row's distinct values; data that are
    not written decimals (float32 or float64 output) fail on them. Every row at once: a few
    whole-array passes instead of one probe per row."""
    u = x[:, :DECIMAL_PROBE]
    left = np.ones(u.shape, dtype=bool)  # not yet on a place
    failed = np.zeros(u.shape[0], dtype=bool)
    for place in range(0, 40):
        on, past = _on_place(u, place)
        failed |= (left & past).any(axis=1)
        left &= ~on
        if not (left.any(axis=1) & ~failed).any():
            break
    return ~failed & ~left.any(axis=1)


def _trailing_zeros(u: np.ndarray, places: np.ndarray) -> np.ndarray:
    """How many tens divide each whole value (110 -> 1; 0 and values with places -> 0): such a
    value is written to that many places left of the point, at most 15 (the digits read). A
    whole double of at most 15 digits divided by a power of ten is a whole number exactly when
    the division has no remainder (the quotient is then exact, and any remainder is far larger
    than the division's rounding)."""
    tens = np.zeros(u.size, dtype=np.int64)
    left = np.flatnonzero((places == 0) & (u != 0))
    for power in range(1, 16):
        quotient = u[left] / 10.0**power
        on = np.rint(quotient) == quotient
        left = left[on]
        tens[left] = power
        if left.size == 0:
            break
    return tens
