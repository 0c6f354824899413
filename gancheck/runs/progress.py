"""Progress bars for long work: a live bar on a terminal, a sparse log line elsewhere."""
from __future__ import annotations

import sys


def progress_bar(total: float, desc: str, *, enabled: bool = True, unit: str = " member-epochs",
                 bar_format: str | None = None):
    from tqdm.auto import tqdm
    interactive = sys.stderr.isatty()
    # Redirected to a file (CI, nohup), a bar redrawn 10 times a second floods the log: update
    # every 30 s instead, each update a line of its own, so the log still shows progress and the ETA.
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, smoothing=0.05,
                file=sys.stderr if interactive else LogLines(sys.stderr),
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


class LogLines:
    """A stream for tqdm where there is no terminal: each redraw (a carriage return, the bar,
    spaces over the last one) becomes a line of its own. Written as tqdm writes them, a log was
    one physical line of frames, and `tail`, `grep` or a CI log showed only the last."""

    def __init__(self, stream):
        self.stream, self.last = stream, None

    def write(self, text: str) -> None:
        frame = text.replace("\r", "").rstrip()
        if frame and frame != self.last:  # closing redraws the last frame once more
            self.stream.write(frame + "\n")
            self.last = frame

    def flush(self) -> None:
        self.stream.flush()
