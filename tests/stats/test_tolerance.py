"""gancheck.Tolerance: defaults, overrides, parsing with one-line errors, and its description."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from gancheck.stats.tolerance import Tolerance


def test_defaults_and_their_justification():
    tol = Tolerance()
    assert (tol.mean, tol.std, tol.ks, tol.tail) == (0.1, 0.1, 0.04, 0.005)
    z = np.linspace(-8, 8, 160001)
    # The ks band is the KS distance of a 0.1 sd shift of a normal, 0.0399 (scipy.stats.norm on a
    # grid: 2 Phi(0.05) - 1), and it excludes the two-mode mixture of the bimodal control (equal
    # N(-/+0.8, 0.6): 0.046 from N(0, 1), same grid) that a 0.06 band would have passed.
    shift = np.abs(stats.norm.cdf(z, 0.1, 1) - stats.norm.cdf(z)).max()
    assert shift == pytest.approx(tol.ks, abs=1e-3)
    mixture = 0.5 * (stats.norm.cdf(z, -0.8, 0.6) + stats.norm.cdf(z, 0.8, 0.6))
    assert np.abs(mixture - stats.norm.cdf(z)).max() > tol.ks
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
    for word in ("Kolmogorov-Smirnov distance", "0.04", "0.50%", "3 sds from the mean", "5%", "20%"):
        assert word in text, word
