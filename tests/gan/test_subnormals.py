"""The population trainer flushes subnormal floats on the CPU while it trains, and only then
(gancheck.gan.subnormals)."""
import numpy as np
import pytest
import torch

from gancheck.config import GANConfig
from gancheck.gan.population import Population, train_population
from gancheck.gan.subnormals import subnormals_flushed

# Half the smallest normal float32 (numpy.finfo(float32).tiny = 1.1754944e-38) is subnormal:
# IEEE 754 arithmetic gives it exactly, a core flushing subnormals gives 0.
TINY = float(np.finfo(np.float32).tiny)


def _half_tiny() -> float:
    return float(torch.tensor(TINY, dtype=torch.float32) * 0.5)


def test_flushed_inside_the_context_and_not_after():
    assert _half_tiny() == TINY / 2  # IEEE: exact (a power of two times a float32)
    with subnormals_flushed():
        assert _half_tiny() == 0.0
    assert _half_tiny() == TINY / 2
    # numpy (scoring's p-values) shares the flag: unaffected after the context either.
    assert np.float32(TINY) * np.float32(0.5) == np.float32(TINY / 2)


def test_the_trainer_flushes_while_it_trains_and_restores_after():
    seen = []
    cfg = GANConfig(num_epochs=2, g_output_size=20)
    train_population(Population([cfg], [0]), on_epoch=lambda members: seen.append(_half_tiny()))
    assert seen == [0.0, 0.0]
    assert _half_tiny() == TINY / 2


def test_the_flag_is_restored_when_training_fails():
    cfg = GANConfig(num_epochs=3, g_output_size=20)

    def fail(members):
        raise RuntimeError("stop")
    with pytest.raises(RuntimeError, match="stop"):
        train_population(Population([cfg], [0]), on_epoch=fail)
    assert _half_tiny() == TINY / 2
