"""TrainResult: what training one member leaves behind, as numpy arrays and plain values."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gancheck.config import GANConfig

#: Columns of TrainResult.history, one row per epoch.
HISTORY_COLUMNS = ("g_mean", "g_std", "d_loss", "g_loss")


@dataclass
class TrainResult:
    config: GANConfig
    seed: int
    #: "done", or "diverged" when a parameter or loss became non-finite.
    status: str
    #: First epoch (0-based) at whose end the member was non-finite; None if it never was.
    diverged_epoch: int | None
    #: (epochs, 4): per epoch, G's batch mean and std at the epoch's last G step (what the seed
    #: prints: torch's .std(), i.e. ddof=1 over the 10x500 batch), the last D loss (real + fake
    #: BCE) and the last G loss.
    history: np.ndarray
    #: G's final parameters in nn.Linear layout [W1, b1, W2, b2, W3, b3].
    generator: list[np.ndarray]
    #: (n_draws, n): G's output for n_draws noise draws from the member's 'sample' stream.
    samples: np.ndarray | None = None
    wall_s: float = float("nan")
    #: Where the training draws came from: "torch" (the member's torch generators) or "philox"
    #: (counter-based, the same on every device); see gancheck.gan.engine.resolve_draws.
    draw_stream: str = "torch"
