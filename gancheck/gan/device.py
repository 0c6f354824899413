"""Choosing the torch device from the user's word for it."""
from __future__ import annotations

import os

import torch

DEVICES = ("cpu", "cuda", "auto")

#: How the trainer runs: "host" (the CPU's way: blocks of CPU_BLOCK_SIZE members, host-side
#: bookkeeping) or "device" (the GPU's way: one block of the whole population, draws made on the
#: device, history and divergence kept on the device, no host synchronisation until the end).
TRAINING_MODES = ("host", "device")

#: Set to "device" to train the CPU the GPU's way (tests and checks of the CUDA path without a GPU).
MODE_VARIABLE = "GANCHECK_TRAINING_MODE"


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
        gpu = gpu_properties(device)
        return f"{device} ({gpu['name']}, {gpu['memory_gib']} GiB)"
    return f"cpu ({torch.get_num_threads()} torch threads)"


def resolve_mode(mode: str | None, device: torch.device) -> str:
    """The training mode: ``mode`` if given; else "device" off the CPU, and on the CPU whatever
    $GANCHECK_TRAINING_MODE says (default "host")."""
    if mode is None:
        mode = "device" if device.type != "cpu" else os.environ.get(MODE_VARIABLE) or "host"
    if mode not in TRAINING_MODES:
        raise ValueError(f"mode={mode!r}: must be one of {', '.join(TRAINING_MODES)}")
    return mode


def gpu_properties(device: torch.device) -> dict | None:
    """Name and memory of a CUDA device, for a run's record; None for the CPU."""
    if device.type != "cuda":
        return None
    props = torch.cuda.get_device_properties(device)
    return {"name": props.name, "memory_gib": round(props.total_memory / 2 ** 30, 1)}
