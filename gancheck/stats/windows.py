"""Sliding-window minima over a 1-D array, in three passes whatever the window."""
from __future__ import annotations

import numpy as np


def sliding_min(a: np.ndarray, w: int) -> np.ndarray:
    """Minimum of every window of w consecutive values of a (van Herk 1992; Gil & Werman 1993):
    a running minimum from each block's start and one from its end, blocks of w values, meet in
    every window, so the cost is three passes over a instead of w. A minimum is exact, so this
    is the same array as the windows' own minima."""
    blocks = -(-a.size // w)
    padded = np.full(blocks * w, a.max(), dtype=a.dtype)  # the largest value: neutral, any dtype
    padded[: a.size] = a
    # One block per column, so each running minimum is w - 1 whole-row operations (numpy's
    # minimum.accumulate is several times slower here).
    from_start = np.ascontiguousarray(padded.reshape(blocks, w).T)
    from_end = from_start.copy()
    for j in range(1, w):
        np.minimum(from_start[j - 1], from_start[j], out=from_start[j])
        np.minimum(from_end[w - j], from_end[w - j - 1], out=from_end[w - j - 1])
    from_start, from_end = from_start.T.ravel(), from_end.T.ravel()
    return np.minimum(from_end[: a.size - w + 1], from_start[w - 1: a.size])
