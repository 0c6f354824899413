"""Shared fixtures for the statistics tests."""
import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator with a fixed seed per test: results never depend on test order."""
    return np.random.default_rng(20240611)
