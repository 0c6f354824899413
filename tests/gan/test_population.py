"""The population trainer against the seed's loop (gancheck.gan.reference), draw for draw."""
import numpy as np
import pytest
import torch

from experiments.designs import FACTORS
from gancheck import GANConfig
from gancheck import fields
from gancheck.gan.draws import draw_epoch, initial_parameters, member_generator, sample_noise
from gancheck.gan.population import Population, population_shape, train_population
from gancheck.gan.reference import train_reference


def _max_diff(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


#: Every level of every registry and every field's declared test level (gancheck/fields.py): a
#: new entry or field is tested here without being named.
LEVELS = fields.test_levels()  # imported by module: pytest would collect a bare test_levels


@pytest.mark.parametrize(("field", "level"), LEVELS, ids=[f"{f}={v}" for f, v in LEVELS])
def test_population_member_matches_reference_in_float64(field, level):
    # Oracle: the plain nn.Module/torch.optim loop (the seed's own get_moments for the 4 moments),
    # differentiated by autograd. In float64 the only differences are summation order and the
    # seed's float powers against products: measured <= 1e-15 on every level, so 1e-12 is
    # ~10^4 ulps of headroom over 3 epochs (120 steps); 1e-9 was asked.
    cfg = GANConfig(num_epochs=3, **{field: level})
    _assert_matches_reference(cfg, 11, tol=1e-12)


def test_every_remedy_at_once_matches_reference_in_float64():
    # The levels compose: per-value G with 2 noise numbers a call, normal noise, sorted values
    # plus the batch spread, instance noise in D's and G's steps, the saturating loss.
    cfg = GANConfig(num_epochs=3, generator="per_value", g_input_size=2, noise="normal", features="sorted",
                    minibatch_std=True, instance_noise=0.3, g_loss="saturating", d_learning_rate=4e-4,
                    g_activation="leaky_relu", d_activation="leaky_relu", g_ema=0.99)
    _assert_matches_reference(cfg, 5, tol=1e-12)


DESIGN_LEVELS = [(factor, level) for factor, levels in FACTORS.items() for level in levels]


@pytest.mark.parametrize(("factor", "level"), DESIGN_LEVELS, ids=[f"{f}={v}" for f, v in DESIGN_LEVELS])
def test_every_design_level_matches_reference_in_float64(factor, level):
    # Every arm the designs can build differs from the seed by one of these levels: each trains
    # the same member in both trainers (same oracle and headroom as above, over 2 epochs).
    from experiments.designs import _config
    _assert_matches_reference(_config({factor: level}, 2), 3, tol=1e-12)


def _assert_matches_reference(cfg, seed, *, tol):
    ref = train_reference(cfg, seed, n_draws=3, dtype=torch.float64)
    (member,) = train_population(Population([cfg], [seed]), n_draws=3, dtype=torch.float64)
    assert ref.status == member.status == "done"
    assert _max_diff(ref.generator, member.generator) < tol
    assert np.abs(ref.history - member.history).max() < tol
    assert np.abs(ref.samples - member.samples).max() < tol


def test_population_member_matches_reference_for_the_seed():
    cfg = GANConfig(num_epochs=3)
    ref = train_reference(cfg, 11, n_draws=3, dtype=torch.float64)
    (member,) = train_population(Population([cfg], [11]), n_draws=3, dtype=torch.float64)
    assert _max_diff(ref.generator, member.generator) < 1e-12
    assert np.abs(ref.history - member.history).max() < 1e-12
    assert np.abs(ref.samples - member.samples).max() < 1e-12


@pytest.mark.parametrize("schedule", ["constant", "cosine_decay", "linear_decay"])
def test_population_matches_reference_for_every_schedule(schedule):
    # Oracle: reference loop driving torch's LambdaLR with the same pure schedule function.
    cfg = GANConfig(num_epochs=2, lr_schedule=schedule, g_hidden_size=7)
    ref = train_reference(cfg, 2, dtype=torch.float64)
    (member,) = train_population(Population([cfg], [2]), dtype=torch.float64)
    assert _max_diff(ref.generator, member.generator) < 1e-12


def test_float32_population_tracks_reference():
    # float32 summation-order noise (~1e-7 relative per op) over 2 epochs stays far below 1e-4.
    cfg = GANConfig(num_epochs=2)
    ref = train_reference(cfg, 5)
    (member,) = train_population(Population([cfg], [5]))
    assert _max_diff(ref.generator, member.generator) < 1e-4


def test_member_results_do_not_depend_on_population_company_or_position():
    # Draws depend only on (config, seed): the same seed alone, first, or last among others
    # gives the same results: draws are identical, and the only difference is float32 rounding
    # inside batched matmuls whose blocking depends on the batch size (measured up to ~1e-7).
    base = GANConfig(num_epochs=2)
    other = base.replace(g_learning_rate=3e-4, lr_schedule="constant")
    alone = train_population(Population([base], [9]), n_draws=2)[0]
    crowd = train_population(Population([other, base, other], [1, 9, 2]), n_draws=2)
    last = train_population(Population([other, other, base], [4, 5, 9]), n_draws=2)[2]
    for res in (crowd[1], last):
        assert _max_diff(alone.generator, res.generator) < 1e-6
        assert np.allclose(alone.history, res.history, rtol=1e-5, atol=1e-6)


def test_members_with_different_noise_share_a_population_unaffected():
    # noise is a per-member field: draws are made member by member from each member's own
    # stream, so a normal-noise member trains the same alone as beside uniform-noise ones.
    base = GANConfig(num_epochs=2, generator="per_value", g_input_size=1)
    normal = base.replace(noise="normal")
    alone = train_population(Population([normal], [9]), n_draws=2, dtype=torch.float64)[0]
    crowd = train_population(Population([base, normal, base], [1, 9, 2]), n_draws=2, dtype=torch.float64)
    assert _max_diff(alone.generator, crowd[1].generator) < 1e-12
    assert np.abs(alone.samples - crowd[1].samples).max() < 1e-12


def test_noise_distributions_and_widths():
    # Normal noise is N(0, 1) and uniform U(0, 1) (K-S against scipy's cdfs, 25,000 draws, at a
    # 1e-4 level so that this fixed-seed check is not flaky); a per-value G takes one noise
    # number per value of each vector (g_input_size = 1: 500 a vector).
    from scipy import stats
    per_value = GANConfig(generator="per_value", g_input_size=1)
    normal = sample_noise(per_value.replace(noise="normal"), 0, 50, torch.float64)
    uniform = sample_noise(per_value, 0, 50, torch.float64)
    assert normal.shape == uniform.shape == (50, 500)
    assert stats.kstest(normal.numpy().ravel(), "norm").pvalue > 1e-4
    assert stats.kstest(uniform.numpy().ravel(), "uniform").pvalue > 1e-4
    d = draw_epoch(per_value.replace(noise="normal"), member_generator(0, "train"))
    assert d.d_noise.shape == (20, 10, 500) and d.d_noise.min() < 0


def test_instance_noise_comes_after_the_seeds_draws_and_anneals_to_zero():
    # Switching instance noise on leaves the seed's draws as they were (it is drawn after them);
    # its sd falls linearly from instance_noise at epoch 0 to 0 at the last epoch.
    cfg = GANConfig(num_epochs=5)
    noisy = cfg.replace(instance_noise=2.0)
    plain = draw_epoch(cfg, member_generator(3, "train"), torch.float64)
    first = draw_epoch(noisy, member_generator(3, "train"), torch.float64, epoch=0)
    last = draw_epoch(noisy, member_generator(3, "train"), torch.float64, epoch=4)
    assert torch.equal(plain.d_noise, first.d_noise) and torch.equal(plain.g_noise, first.g_noise)
    # Real's share: sd 2 at epoch 0 (200,000 values: the sample sd's relative error is ~0.2%).
    assert abs(float((first.real - plain.real).std()) - 2.0) < 0.02
    assert abs(float(first.d_fake_noise.std()) - 2.0) < 0.02
    assert torch.equal(last.real, plain.real) and not last.g_fake_noise.any()
    assert cfg.replace(instance_noise=0.0) == cfg and draw_epoch(cfg, member_generator(3, "train")).d_fake_noise is None


def test_draws_depend_only_on_seed():
    cfg = GANConfig()
    a = draw_epoch(cfg, member_generator(4, "train"))
    b = draw_epoch(cfg, member_generator(4, "train"))
    c = draw_epoch(cfg, member_generator(5, "train"))
    assert torch.equal(a.real, b.real) and torch.equal(a.g_noise, b.g_noise)
    assert not torch.equal(a.real, c.real)
    g1, _ = initial_parameters(cfg, 4)
    g2, _ = initial_parameters(cfg.replace(g_learning_rate=1e-3), 4)
    assert all(torch.equal(x, y) for x, y in zip(g1, g2))


def test_draw_distributions_match_the_seed():
    # Real data N(4, 1.25) and noise U(0,1): 10*500*20 = 1e5 values, so the sample mean's
    # standard error is 1.25/sqrt(1e5) ~ 0.004; 0.02 is 5 SE.
    d = draw_epoch(GANConfig(), member_generator(0, "train"), dtype=torch.float64)
    assert abs(d.real.mean().item() - 4.0) < 0.02 and abs(d.real.std().item() - 1.25) < 0.02
    assert 0 <= d.d_noise.min().item() and d.d_noise.max().item() < 1
    assert d.real.shape == (20, 10, 500) and d.g_noise.shape == (20, 10, 50)


def test_divergent_member_is_recorded_and_others_unaffected():
    # A G rate of 1e8 moves each weight ~1e8 per Adam step: within an epoch the output
    # (~weight^3) overflows float32 in the moments and turns to inf/NaN.
    good = GANConfig(num_epochs=3)
    bad = good.replace(g_learning_rate=1e8, lr_schedule="constant", lr_min=0.0)
    alone = train_population(Population([good], [1]))[0]
    mixed = train_population(Population([bad, good], [0, 1]))
    if mixed[0].status != "diverged":
        pytest.fail(f"expected divergence, history {mixed[0].history}")
    assert mixed[0].diverged_epoch is not None and np.isnan(mixed[0].history[-1]).all()
    assert mixed[1].status == "done"
    assert _max_diff(alone.generator, mixed[1].generator) < 1e-6


def test_a_diverged_members_moving_average_is_reset_like_its_generator():
    # With g_ema the exported G is the moving average, which took the diverging weights: it is
    # reset to zeros as the member's own G is (no NaN left to export or sample), and the
    # healthy member beside it keeps a finite average.
    good = GANConfig(num_epochs=3, g_ema=0.9)
    bad = good.replace(g_learning_rate=1e8, lr_schedule="constant", lr_min=0.0)
    plain = train_population(Population([bad.replace(g_ema=0.0)], [0]))[0]
    mixed = train_population(Population([bad, good], [0, 1]), n_draws=5)
    assert mixed[0].status == plain.status == "diverged"
    assert all(np.array_equal(w, np.zeros_like(w)) for w in mixed[0].generator)
    assert all(np.array_equal(w, np.zeros_like(w)) for w in plain.generator)
    assert np.all(mixed[0].samples == 0.0)            # a constant sample: every verdict fails it
    assert mixed[1].status == "done" and all(np.isfinite(w).all() for w in mixed[1].generator)


def test_population_rejects_mixed_shapes():
    with pytest.raises(ValueError, match="shape"):
        Population([GANConfig(), GANConfig(g_hidden_size=200)], [0, 1])
    assert population_shape(GANConfig()) == population_shape(GANConfig(lr_schedule="constant"))


def test_reference_records_divergence_like_the_population():
    bad = GANConfig(num_epochs=3, g_learning_rate=1e8, lr_schedule="constant", lr_min=0.0)
    ref = train_reference(bad, 0)
    (pop,) = train_population(Population([bad], [0]))
    assert ref.status == pop.status == "diverged"
    assert ref.diverged_epoch == pop.diverged_epoch


def test_population_of_three_matches_three_reference_runs_over_240_steps():
    # The equivalence asked of the trainer: S = 3 members against 3 reference runs, float64, >= 100 steps that
    # cover D steps, G steps and the schedule (3 epochs = 120 D + 120 G steps, more than a
    # T_max=100 half-cycle of the seed's cosine). Oracle: the plain nn.Module loop; 1e-9 asked.
    cfg = GANConfig(num_epochs=3)
    seeds = [0, 1, 2]
    members = train_population(Population([cfg] * 3, seeds), n_draws=2, dtype=torch.float64)
    for seed, member in zip(seeds, members):
        ref = train_reference(cfg, seed, n_draws=2, dtype=torch.float64)
        assert _max_diff(ref.generator, member.generator) < 1e-9
        assert np.abs(ref.history - member.history).max() < 1e-9


def test_reference_with_the_batched_get_moments_trains_the_same_member():
    # The reference runs the seed's own per-vector get_moments; the benchmark also times it with
    # gancheck's batched one, which must train the same member (float64; oracle: the seed's code).
    cfg = GANConfig(num_epochs=2)
    ref = train_reference(cfg, 4, n_draws=2, dtype=torch.float64)
    batched = train_reference(cfg, 4, n_draws=2, dtype=torch.float64, batched_moments=True)
    assert _max_diff(ref.generator, batched.generator) < 1e-9
    assert np.abs(ref.history - batched.history).max() < 1e-9
