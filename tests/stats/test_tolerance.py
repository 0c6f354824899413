"""gancheck.Tolerance: defaults, overrides, parsing with one-line errors, and its description."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from gancheck.stats.tolerance import Tolerance


def test_defaults_and_their_justification():
    tol = Tolerance()
    assert (tol.mean, tol.std, tol.ks, tol.tail) == (0.1, 0.1, 0.06, 0.005)
    # The ks band covers every normal inside the mean and sd bands: the largest KS distance from
    # N(0, 1) over the corners (mean +-0.1, sd 0.9 or 1.1) is 0.056 (scipy.stats.norm on a grid).
    z = np.linspace(-8, 8, 160001)
    corners = [np.abs(stats.norm.cdf(z, m, s) - stats.norm.cdf(z)).max()
               for m in (-0.1, 0.1) for s in (0.9, 1.1)]
    assert max(corners) < tol.ks
    # And the tail band covers them: the largest share beyond 3 sd on one side is
    # P(N(0.1, 1.1) > 3) = 0.0042 (scipy.stats.norm.sf).
    assert stats.norm.sf(3, 0.1, 1.1) < tol.tail
    # A t(3) scaled to the right sd is outside it: P(t3 > 3 sqrt(3)) = 0.0069 (scipy.stats.t.sf).
    assert stats.t.sf(3 * np.sqrt(3), 3) > tol.tail
    with pytest.raises(dataclasses.FrozenInstanceError):
        tol.mean = 0.2  # type: ignore[misc]


def test_parse_overrides_named_fields():
    assert Tolerance.parse("mean=0.2, ks=0.05") == Tolerance(mean=0.2, ks=0.05)
    assert Tolerance.parse("") == Tolerance()


@pytest.mark.parametrize("text, part", [
    ("mean", "'mean'"), ("width=0.1", "'width'"), ("mean=abc", "mean='abc'"),
    ("mean=-0.1", "mean"), ("std=1.5", "std"), ("mean=0.1,mean=0.2", "'mean'"),
    ("ks=nan", "ks"), ("collapse=0.01", "collapse")])
def test_parse_errors_name_the_bad_part(text, part):
    with pytest.raises(ValueError) as info:
        Tolerance.parse(text)
    message = str(info.value)
    assert "\n" not in message and part in message and message.startswith("--tolerance")


def test_describe_states_every_band():
    text = Tolerance(mean=0.2).describe()
    assert "within 0.2 target sd of the target mean" in text
    for word in ("Kolmogorov-Smirnov distance", "0.06", "0.50%", "3 target sds", "5%", "20%"):
        assert word in text, word
