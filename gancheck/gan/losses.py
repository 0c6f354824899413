"""G's loss: one registry of the ways G can be scored on D's verdict on its batch.

Goodfellow et al. (2014) define the minimax game, where G minimises log(1 - D(G(z))) (the
"saturating" loss: its gradient vanishes exactly when D confidently rejects G's output, which is
early in training), and propose instead that G maximise log D(G(z)) (the "non-saturating" loss).
The seed's G minimises BCELoss(D(G(z)), 1) = -log D(G(z)): the non-saturating one.
"""
from __future__ import annotations

from dataclasses import dataclass

from gancheck import fields
from gancheck.gan.registry import register


@dataclass(frozen=True)
class GLoss:
    """G minimises ``sign * BCELoss(D(G(z)), target)`` (mean over the minibatch)."""
    target: float
    sign: float


#: Every G loss, the seed's first.
G_LOSSES: dict[str, GLoss] = register(fields.G_LOSSES, {
    "non_saturating": GLoss(1.0, 1.0),   # BCE(D(G(z)), 1) = -log D(G(z))
    "saturating": GLoss(0.0, -1.0),      # -BCE(D(G(z)), 0) = log(1 - D(G(z)))
})
