"""Choosing the torch device from the user's word for it."""
from __future__ import annotations

import torch

DEVICES = ("cpu", "cuda", "auto")


def resolve_device(name: str) -> torch.device:
    """'cpu', 'cuda' (or 'cuda:N') or 'auto' (cuda when present). Unusable names raise ValueError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or (isinstance(name, str) and name.startswith("cuda:")):
        if not torch.cuda.is_available():
            raise ValueError(f"device={name!r}: CUDA is not available on this machine (use cpu or auto)")
        return torch.device(name)
    raise ValueError(f"device={name!r}: must be one of {', '.join(DEVICES)}")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} torch threads)"
