"""Subnormal floats are flushed to zero while the population trainer runs: a named choice
(FLUSH_SUBNORMALS), in force on the CPU.

Why: a ReLU unit that is off for every input gets a gradient of exactly 0, and Adam's first
moment for its weights then decays by beta1 = 0.9 a step, into the subnormal range (below
1.2e-38 in float32) within a few hundred steps; its second moment follows. x86 cores take tens to
hundreds of cycles per subnormal operand, so a run slows down as its units die. Measured on this
project's 2-core machine (20 members, one thread, G hidden size 200, eager): 111 member-epochs/s
over the first 25 epochs, 32 by epochs 175-300; with subnormals flushed, 94 to 103 throughout.
That arm had been a third of the full design's time (1,189 core-seconds, now 421). The seed's
compiled shape, over 600 epochs: 590 to 826 unflushed, a steady 694 to 795 flushed.

What it changes: any value that would be subnormal (|x| < 1.2e-38 in float32, 2.2e-308 in
float64) becomes 0, as an operand or a result (the CPU's FTZ and DAZ flags,
torch.set_flush_denormal). A weight update of that size is 30 orders of magnitude below the
learning rate, so no trained distribution changes; but over 2001 epochs such differences grow
into other trajectories, as any rounding difference does, so members trained before this choice
are not bit-identical to members trained after it. The reference trainer
(gancheck.gan.reference), the seed's own loop, does not flush.

The flags are per thread: the trainer sets them on its own thread for the duration of a call,
and the draw threads (gancheck.gan.feed) on theirs. CUDA kernels are unaffected (they flush or
not by how they were compiled).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch

#: Whether the population trainer flushes subnormals on the CPU (see the module's text).
FLUSH_SUBNORMALS = True


def flush_subnormals() -> bool:
    """Flush subnormals on the calling thread (if the CPU can); True if it now does."""
    return FLUSH_SUBNORMALS and torch.set_flush_denormal(True)


@contextlib.contextmanager
def subnormals_flushed() -> Iterator[None]:
    """Flush subnormals on this thread while the block runs, then stop flushing (torch has no
    getter for the flag, so a caller's own setting is not restored: it was off, as torch starts)."""
    flushing = flush_subnormals()
    try:
        yield
    finally:
        if flushing:
            torch.set_flush_denormal(False)
