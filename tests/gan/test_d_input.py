"""The seam for transforms of D's input (gancheck.gan.d_input), with a transform made up for the
test: both trainers apply it at the same places with the same draws, and a member's draws are its own."""
import numpy as np
import pytest
import torch

from gancheck import GANConfig
from gancheck.gan import d_input
from gancheck.gan.philox import STREAMS, member_keys
from gancheck.gan.population import Population, train_population
from gancheck.gan.reference import train_reference

#: A made-up transform (x times 0.5 + u), registered for these tests under a declared field's
#: name and switched on by a marker value no other test uses.
SCALE = d_input.Transform(
    active=lambda cfg: cfg.d_hidden_size == 7,
    reference=lambda x, u, cfg: x * (0.5 + u),
    forward=lambda x, u, cfg: (x * (0.5 + u), 0.5 + u),
    backward=lambda factor, grad: grad * factor)


@pytest.fixture
def scale(monkeypatch):
    monkeypatch.setitem(d_input.TRANSFORMS, "d_hidden_size", SCALE)


def test_every_transform_is_a_declared_field_on_a_stream_of_its_own():
    assert d_input.active(GANConfig()) == ()  # the seed's config asks for none
    ids = [d_input.stream_id(name) for name in d_input.TRANSFORMS]
    assert len(set(ids)) == len(ids) and all(i >= 2 ** 31 > max(STREAMS.values()) for i in ids)
    with pytest.raises(RuntimeError, match="no such field"):
        d_input._checked({"no_such_field": SCALE})


def test_both_trainers_apply_a_transform_alike(scale):
    # Oracle: the reference trainer, differentiated by autograd through SCALE.reference; float64
    # over 2 epochs, the equivalence tests' headroom (tests/gan/test_population.py).
    cfg = GANConfig(num_epochs=2, d_hidden_size=7)
    assert d_input.active(cfg) == ("d_hidden_size",)
    ref = train_reference(cfg, 3, n_draws=3, dtype=torch.float64)
    (member,) = train_population(Population([cfg], [3]), n_draws=3, dtype=torch.float64)
    assert max(float(np.abs(a - b).max()) for a, b in zip(ref.generator, member.generator)) < 1e-12
    assert np.abs(ref.history - member.history).max() < 1e-12
    # ... and the transform did change the member (so the comparison above sees it).
    d_input.TRANSFORMS.pop("d_hidden_size")
    (plain,) = train_population(Population([cfg], [3]), n_draws=3, dtype=torch.float64)
    assert np.abs(plain.history - member.history).max() > 1e-6


def test_a_members_draws_do_not_depend_on_its_company(scale):
    cfg = GANConfig(d_hidden_size=7, num_epochs=3)
    alone = d_input.epoch_draws(cfg, ("d_hidden_size",), member_keys([9]), 2)
    crowd = d_input.epoch_draws(cfg, ("d_hidden_size",), member_keys([1, 9, 2]), 2)
    for part in ("real", "d", "g"):
        assert torch.equal(getattr(alone, part)[0][0], getattr(crowd, part)[0][1])
    assert alone.real[0].shape == (1, cfg.d_steps, cfg.minibatch_size, cfg.d_input_size)
    # Each part and epoch has its own values.
    later = d_input.epoch_draws(cfg, ("d_hidden_size",), member_keys([9]), 1)
    assert not torch.equal(alone.real[0], alone.d[0]) and not torch.equal(alone.g[0], later.g[0])
