"""Scratch tensors reused from step to step, by name.

On the CPU a fresh tensor of a few hundred kB or more is a fresh mapping: glibc hands it back
to the system when freed, and every page is faulted in again on the next step (the profiler
showed a third of a step's time in page faults). The trainer's big per-step intermediates are
written into the same memory instead: ops take ``out=workspace.get(...)``. With no workspace
(``get_buffer(None, ...)`` returns None) the same ops allocate as usual, which is what a
compiled graph wants.
"""
from __future__ import annotations

import torch


class Workspace:
    """Named scratch tensors; a name's tensor is reallocated only when its shape or dtype changes.

    A tensor from ``get`` is valid until the next ``get`` of the same name; callers choose names
    so that nothing still needed is overwritten.
    """

    def __init__(self):
        self._buffers: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape, like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        dtype = like.dtype if dtype is None else dtype
        t = self._buffers.get(name)
        if t is None or t.shape != tuple(shape) or t.dtype != dtype or t.device != like.device:
            t = torch.empty(tuple(shape), dtype=dtype, device=like.device)
            self._buffers[name] = t
        return t


def get_buffer(ws: Workspace | None, name: str, shape, like: torch.Tensor, dtype=None) -> torch.Tensor | None:
    """``ws.get(...)``, or None (allocate as usual) without a workspace."""
    return None if ws is None else ws.get(name, shape, like, dtype)
