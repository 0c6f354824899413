"""Progress bars for long work: a live bar on a terminal, a sparse log line elsewhere."""
from __future__ import annotations

import sys


def progress_bar(total: float, desc: str, *, enabled: bool = True, unit: str = " member-epochs",
                 bar_format: str | None = None):
    from tqdm.auto import tqdm
    interactive = sys.stderr.isatty()
    # Redirected to a file (CI, nohup), a bar redrawn 10 times a second floods the log: update
    # every 30 s instead, so the log still shows progress and the ETA.
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, smoothing=0.05, file=sys.stderr,
                disable=not enabled, dynamic_ncols=interactive, mininterval=0.1 if interactive else 30.0,
                bar_format=bar_format)


def work_bar(total: float, desc: str, *, enabled: bool = True):
    """A bar over work of unequal parts (gancheck.runs.cost_model's estimates): its share done and
    the time left, without counts in those units, which mean nothing to a reader."""
    return progress_bar(total, desc, enabled=enabled, unit="",
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]")


def bounded_update(bar):
    """``bar.update``, never past ``bar.total``: the float parts of a work_bar's total, added up in
    another order, can pass it by rounding, and tqdm then warns and shows a negative time left."""
    return lambda work: bar.update(max(0.0, min(work, bar.total - bar.n)))
