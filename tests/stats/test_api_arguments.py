"""The public API's arguments as users pass them: numpy scalars, object arrays, unfrozen scipy
distributions, a tolerance given as a number, a flag given as a word."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

import gancheck
from gancheck import GANConfig


def test_diversity_reads_numbers_held_as_objects():
    # score takes them; diversity called them "not 2-D" and, so as never to pass, collapsed.
    x = np.random.default_rng(0).normal(4, 1.25, (20, 100))
    assert gancheck.diversity(x.astype(object)) == gancheck.diversity(x)


def test_a_number_for_a_tolerance_is_refused_naming_it():
    x = np.random.default_rng(1).normal(4, 1.25, (5, 50))
    with pytest.raises(ValueError, match="tolerance must be a gancheck Tolerance"):
        gancheck.diversity(x, tolerance=0.1)


@pytest.mark.parametrize("flag", ["no", 0, None])
def test_diverged_must_be_a_bool(flag):
    # "no" is truthy: it made a finite, healthy generator "diverged".
    x = np.random.default_rng(2).normal(4, 1.25, (5, 50))
    with pytest.raises(ValueError, match="diverged must be True or False"):
        gancheck.verdict(x, diverged=flag)
    assert gancheck.verdict(x, diverged=np.bool_(False)).outcome != "diverged"


def test_numpy_scalars_are_numbers_for_a_config():
    config = GANConfig(g_hidden_size=np.int64(200), g_learning_rate=np.float32(1e-3))
    assert type(config.g_hidden_size) is int and type(config.g_learning_rate) is float
    same = GANConfig(g_hidden_size=200, g_learning_rate=float(np.float32(1e-3)))
    assert config == same and config.digest() == same.digest()
    json.dumps(config.to_dict())  # plain Python numbers serialise
    with pytest.raises(ValueError, match="g_hidden_size.*must be an integer"):
        GANConfig(g_hidden_size=np.bool_(True))


@pytest.mark.parametrize("target, words", [(stats.norm, "not frozen"), (stats.gamma, "not frozen"),
                                           (stats.Normal, "a class")])
def test_an_unfrozen_distribution_says_so(target, words):
    x = np.random.default_rng(3).normal(4, 1.25, 100)
    with pytest.raises(ValueError, match=words):
        gancheck.score(x, target=target)


def test_as_target_refuses_a_mean_it_would_ignore():
    # score refuses mean= beside target=; as_target ignored it without a word.
    with pytest.raises(ValueError, match="mean=10 with target="):
        gancheck.as_target(stats.gamma(2), mean=10)
    assert gancheck.as_target(stats.gamma(2)).spec == gancheck.as_target("gamma(a=2)").spec


def test_a_generator_is_a_sample_and_a_mask_is_missing_values():
    x = np.random.default_rng(4).normal(4, 1.25, 100)
    whole = gancheck.score(x)
    # One sample of 100 values, not 100 "not 1-D" samples, each rejecting.
    for lazy in ((v for v in x), map(float, x)):
        assert list(gancheck.score(lazy)["pvalue"]) == list(whole["pvalue"])
    # A masked value is a missing one: it fails the sample, as a blank does in a file.
    masked = gancheck.score(np.ma.masked_greater(x, 6))
    assert masked["reject"].all() and set(masked["status"]) == {"non-finite values"}


@pytest.mark.parametrize("samples", [set(range(10)), {"a": [4.0] * 10}], ids=["set", "dict"])
def test_a_set_or_dict_is_refused(samples):
    with pytest.raises(ValueError, match="samples must be an array or a list"):
        gancheck.score(samples)
