"""Real data from a non-normal target (gancheck.gan.target_draws), in both draw streams.

Oracles: scipy.stats (the target's CDF through gancheck.targets, kstest, its quantile function),
the targets' textbook moments, and philox's documented stream layout.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from gancheck import GANConfig
from gancheck.gan import philox, philox_draws
from gancheck.gan.draws import draw_epoch, member_generator
from gancheck.gan.feed import EpochFeed, PhiloxFeed
from gancheck.gan.population import Population, train_population
from gancheck.gan.target_draws import real_law, table_accuracy
from gancheck.targets import parse

#: The transfer design's non-normal targets: a skewed one (gamma, mean a*scale = 4, sd
#: sqrt(a)*scale = 1.25), a heavy-tailed one (t with 5 df, sd 0.968 * sqrt(5/3) = 1.2497) and a
#: bimodal mixture of normals (mean 4, sd sqrt(0.36 + 2.25) = 1.6155).
GAMMA = "gamma(a=10.24, scale=0.390625)"
T5 = "t(df=5, loc=4, scale=0.968)"
MIXTURE = "mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6))"
TARGETS = (GAMMA, T5, MIXTURE)
SMALL = dict(minibatch_size=4, g_output_size=20, d_steps=2, g_steps=2)


@pytest.mark.parametrize("spec", [GAMMA, T5, "lognorm(s=1)", "mixture(gamma(a=2), norm(loc=0, scale=1))"])
def test_the_quantile_table_is_the_target_to_float32_precision(spec):
    # Oracle: scipy's CDF and quantile function of the target (gancheck.targets). The table's
    # law is within 1e-5 of the target in KS distance (measured: 1.5e-7 to 1.9e-6), far below
    # what any test of 100,000 draws can see (KS's 5% critical value there is 0.0043), and its
    # quantiles from 1e-6 to 1 - 1e-6 are within 1e-5 relative (measured: at most 1.5e-6).
    accuracy = table_accuracy(parse(spec))
    assert accuracy["ks"] < 1e-5
    assert max(v for k, v in accuracy.items() if k.startswith("quantile_error")) < 1e-5


def test_a_normal_target_keeps_the_seeds_draws_bit_for_bit():
    # A normal spec is stored as data_mean and data_std, so it draws z * sd + mean exactly as
    # the seed's config does (the same torch calls).
    seed_draws = draw_epoch(GANConfig(), member_generator(3, "train"))
    spec_draws = draw_epoch(GANConfig(target="norm(loc=4, scale=1.25)"), member_generator(3, "train"))
    z = torch.randn(seed_draws.real.shape, generator=member_generator(3, "train"))
    assert torch.equal(seed_draws.real, spec_draws.real) and torch.equal(seed_draws.real, z * 1.25 + 4.0)
    assert real_law(GANConfig()) is None


def _ks_and_moments(values: np.ndarray, spec: str) -> None:
    """KS of the draws against the target's CDF (scipy.stats.kstest; the draws are one epoch,
    100,000 values, so a p-value below 1e-3 would be a wrong law, not bad luck at this fixed
    seed), and the sample mean and sd within 5 standard errors of the target's moments."""
    target = parse(spec)
    assert stats.kstest(values, target.cdf).pvalue > 1e-3
    n = values.size
    assert abs(values.mean() - target.mean) < 5 * target.std / np.sqrt(n)
    # The sd's standard error is sd * sqrt((kurtosis + 2) / (4 n)) (the delta method); t5's
    # fourth moment is infinite-free at 5 df (kurtosis 6).
    se_sd = target.std * np.sqrt((target.kurtosis + 2) / (4 * n))
    assert abs(values.std(ddof=1) - target.std) < 5 * se_sd


@pytest.mark.parametrize("spec", TARGETS)
def test_the_torch_stream_draws_the_target(spec):
    draws = draw_epoch(GANConfig(target=spec), member_generator(0, "train"), torch.float64)
    assert draws.real.shape == (20, 10, 500)
    _ks_and_moments(draws.real.numpy().ravel(), spec)


@pytest.mark.parametrize("spec", TARGETS)
def test_the_philox_stream_draws_the_target(spec):
    cfg = GANConfig(target=spec)
    keys = philox.member_keys([0, 1])
    columns = philox_draws.member_columns([cfg, cfg], "cpu", torch.float64)
    draws = philox_draws.draw_epoch(cfg, keys, columns, frozenset({cfg.noise}), torch.tensor(5), torch.tensor(0.0),
                                    torch.float64, real_law(cfg, torch.float64))
    assert draws.real.shape == (2, 20, 10, 500)
    _ks_and_moments(draws.real.numpy().ravel(), spec)


def test_a_mixture_picks_its_component_by_a_uniform_then_draws_it():
    # Oracle: philox's documented streams: the real stream's normals z and the real_pick
    # stream's uniforms u; u < 0.5 (the first weight) takes N(2.5, 0.6), else N(5.5, 0.6).
    cfg = GANConfig(target=MIXTURE, num_epochs=2, **SMALL)
    feed = PhiloxFeed([cfg], [7], epochs=2, dtype=torch.float64, device="cpu", real_features=lambda r: r,
                      feature_size=20)
    feed.next()
    real = feed.next().real[0]
    key = philox.member_keys([7])
    z = philox.normal(key, philox.STREAMS["real"], 1, (2, 4, 20), torch.float64)[0]
    u = philox.uniform(key, philox.STREAMS["real_pick"], 1, (2, 4, 20), torch.float64)[0]
    assert torch.equal(real, torch.where(u < 0.5, 2.5 + 0.6 * z, 5.5 + 0.6 * z))


@pytest.mark.parametrize("spec", [T5, MIXTURE])
def test_a_members_real_data_does_not_depend_on_its_company_in_either_stream(spec):
    cfg = GANConfig(target=spec, num_epochs=2, **SMALL)
    others = [cfg.replace(noise="normal"), cfg.replace(g_learning_rate=3e-4)]

    def torch_feed(configs, seeds):
        return EpochFeed(configs, seeds, epochs=2, dtype=torch.float64, device="cpu", real_features=lambda r: r,
                         feature_size=20, host_features=False)

    def philox_feed(configs, seeds, chunk=None):
        return PhiloxFeed(configs, seeds, epochs=2, dtype=torch.float64, device="cpu", real_features=lambda r: r,
                          feature_size=20, chunk=chunk)

    for make in (torch_feed, philox_feed):
        alone, crowd = make([cfg], [9]), make([others[0], cfg, others[1]], [1, 9, 2])
        for _ in range(2):
            assert torch.equal(alone.next().real[0], crowd.next().real[1].clone()), make.__name__


@pytest.mark.parametrize("draws", ["torch", "philox"])
def test_a_member_on_a_non_normal_target_trains_the_same_alone_and_in_company(draws):
    # The trainer's whole result, not only its inputs: float64, so the only difference is the
    # summation order inside batched matmuls (test_population's tolerance).
    cfg = GANConfig(target=MIXTURE, num_epochs=2)
    other = cfg.replace(g_learning_rate=3e-4, lr_schedule="constant")
    alone = train_population(Population([cfg], [9]), n_draws=2, dtype=torch.float64, draws=draws)[0]
    crowd = train_population(Population([other, cfg, other], [1, 9, 2]), n_draws=2, dtype=torch.float64,
                             draws=draws)[1]
    assert max(float(np.abs(a - b).max()) for a, b in zip(alone.generator, crowd.generator)) < 1e-12
    assert np.allclose(alone.history, crowd.history, rtol=1e-12, atol=1e-12)


def test_configs_of_different_targets_never_share_a_population():
    # The target is part of the population's shape (every member of one draws from one law).
    with pytest.raises(ValueError, match="shape"):
        Population([GANConfig(), GANConfig(target=GAMMA)], [0, 1])
