"""The seed's training written in JAX the way a JAX user would: the anchor for gancheck's speed.

    python benchmarks/jax_anchor.py [--members 64] [--epochs 20] [--repeats 3]

What a user would reach for instead of gancheck's population trainer, to train many seeds of the
"GAN learns N(4, 1.25)" example at once: every member's parameters stacked, ``jax.vmap`` over the
members, ``jax.lax.scan`` over the epochs and, inside each epoch, over its D steps and its G steps,
the whole run one ``jax.jit`` call. Only ``jax`` is needed (the ``bench`` extra:
``pip install -c constraints.txt -e '.[bench]'``): Adam is written out in a few lines, not optax's.

The work per member-epoch is the seed's (GANConfig() defaults, read from gancheck so the two cannot
drift): G = Linear(50->5) ReLU Linear(5->5) ReLU Linear(5->500) on U(0, 1) noise; D on the 4
moments (mean, sd, skewness, excess kurtosis, as the seed computes them) of each 500-vector,
Linear(4->10) ReLU Linear(10->10) ReLU Linear(10->1) sigmoid; minibatch 10; per epoch 20 D steps
on a real N(4, 1.25) batch and a fake batch (BCE, one Adam step on their summed gradients), then
20 G steps with the non-saturating BCE; Adam(lr 1e-4, betas 0.9/0.999, eps 1e-8) with torch's
update rule on both, under the seed's cosine learning-rate schedule (a scalar per step); nn.Linear's
initialisation; and the seed's per-epoch history (G's last batch mean and sd, both losses). Real
data and noise are drawn inside the jitted function with jax.random, one key per member, split per
epoch. BCE is taken on D's logit (log_sigmoid) as a JAX user would write it; torch's BCELoss on
the sigmoid's output is the same loss away from saturation. The numbers are not gancheck's (other
random streams); the shapes and the work are.

``jax_member_epochs_per_s`` times it: one warm-up call (compiling), then ``repeats`` timed calls,
each training ``members`` fresh members from initialisation for ``epochs`` epochs; the figure is
the median. JAX runs with its defaults (XLA's CPU thread pool over every core), as a user runs it.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from functools import partial

import jax
import jax.numpy as jnp

from gancheck import GANConfig

#: The seed's configuration: every size and rate below is read from it.
SEED = GANConfig()


def _linear_layers(key, sizes):
    """nn.Linear's default initialisation: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    Weights are stored (in, out), so a layer is ``x @ w + b``.
    """
    layers = []
    for key, (fan_in, fan_out) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        bound = fan_in ** -0.5
        kw, kb = jax.random.split(key)
        layers.append((jax.random.uniform(kw, (fan_in, fan_out), minval=-bound, maxval=bound),
                       jax.random.uniform(kb, (fan_out,), minval=-bound, maxval=bound)))
    return layers


def _mlp(layers, x):
    for w, b in layers[:-1]:
        x = jax.nn.relu(x @ w + b)
    w, b = layers[-1]
    return x @ w + b


def generate(g_params, noise):
    """G's output for one member: noise (minibatch, g_input_size) -> (minibatch, g_output_size)."""
    return _mlp(g_params, noise)


def _moments(x):
    """The seed's get_moments over the last axis: mean, population sd, skew, excess kurtosis."""
    mean = x.mean(axis=-1, keepdims=True)
    diffs = x - mean
    std = jnp.sqrt(jnp.mean(diffs * diffs, axis=-1, keepdims=True))
    z = diffs / (std + 0.001)
    z2 = z * z
    return jnp.concatenate((mean, std, jnp.mean(z2 * z, axis=-1, keepdims=True),
                            jnp.mean(z2 * z2, axis=-1, keepdims=True) - 3.0), axis=-1)


def _d_logit(d_params, x):
    return _mlp(d_params, _moments(x))[..., 0]


def _d_loss(d_params, real, fake):
    # BCE(D(real), 1) + BCE(D(fake), 0): the seed backpropagates both before one D step.
    return -(jax.nn.log_sigmoid(_d_logit(d_params, real)).mean()
             + jax.nn.log_sigmoid(-_d_logit(d_params, fake)).mean())


def _g_loss(g_params, d_params, noise):
    fake = generate(g_params, noise)
    return -jax.nn.log_sigmoid(_d_logit(d_params, fake)).mean(), fake  # BCE(D(G(z)), 1)


def _learning_rate(base, steps_per_epoch, step):
    """The seed's CosineAnnealingLR(T_max = 5 epochs of steps), stepped before each update."""
    period = steps_per_epoch * SEED.cosine_t_max_factor
    return SEED.lr_min + (base - SEED.lr_min) * (1 + jnp.cos(jnp.pi * step / period)) / 2


def _adam(params, grads, moments, step, lr):
    """torch.optim.Adam's update (bias-corrected, eps outside the square root); step is 1-based."""
    b1, b2, eps = SEED.adam_beta1, SEED.adam_beta2, SEED.adam_eps
    m, v = moments
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
    scale, root = lr / (1 - b1 ** step), jnp.sqrt(1 - b2 ** step)
    params = jax.tree.map(lambda p, m, v: p - scale * m / (jnp.sqrt(v) / root + eps), params, m, v)
    return params, (m, v)


def _zeros(tree):
    return (jax.tree.map(jnp.zeros_like, tree), jax.tree.map(jnp.zeros_like, tree))


def _epoch(state, xs):
    """One epoch of one member: draw its batches, 20 D steps, then 20 G steps."""
    epoch, key = xs
    cfg = SEED
    m, n, w = cfg.minibatch_size, cfg.g_output_size, cfg.g_input_size
    k_real, k_d, k_g = jax.random.split(key, 3)
    real = cfg.data_mean + cfg.data_std * jax.random.normal(k_real, (cfg.d_steps, m, n))
    d_noise = jax.random.uniform(k_d, (cfg.d_steps, m, w))
    g_noise = jax.random.uniform(k_g, (cfg.g_steps, m, w))

    def d_step(state, xs):
        g, d, g_adam, d_adam = state
        k, real, noise = xs
        step = epoch * cfg.d_steps + k + 1
        fake = generate(g, noise)  # D's step only: no gradient reaches G
        loss, grads = jax.value_and_grad(_d_loss)(d, real, fake)
        d, d_adam = _adam(d, grads, d_adam, step, _learning_rate(cfg.d_learning_rate, cfg.d_steps, step))
        return (g, d, g_adam, d_adam), loss

    def g_step(state, xs):
        g, d, g_adam, d_adam = state
        k, noise = xs
        step = epoch * cfg.g_steps + k + 1
        (loss, fake), grads = jax.value_and_grad(_g_loss, has_aux=True)(g, d, noise)
        g, g_adam = _adam(g, grads, g_adam, step, _learning_rate(cfg.g_learning_rate, cfg.g_steps, step))
        return (g, d, g_adam, d_adam), (loss, fake.mean(), fake.std(ddof=1))

    state, d_losses = jax.lax.scan(d_step, state, (jnp.arange(cfg.d_steps), real, d_noise))
    state, (g_losses, means, sds) = jax.lax.scan(g_step, state, (jnp.arange(cfg.g_steps), g_noise))
    # The seed's history row: G's last batch mean and sd, D's and G's last losses.
    return state, jnp.stack((means[-1], sds[-1], d_losses[-1], g_losses[-1]))


def _initial_member(key):
    """A member's initial G and D layers, and the key its training draws come from."""
    k_init, k_train = jax.random.split(key)
    k_g, k_d = jax.random.split(k_init)
    g = _linear_layers(k_g, (SEED.g_input_size, SEED.g_hidden_size, SEED.g_hidden_size, SEED.g_output_size))
    d = _linear_layers(k_d, (SEED.d_input_size, SEED.d_hidden_size, SEED.d_hidden_size, 1))
    return g, d, k_train


def _train_member(key, epochs):
    g, d, k_train = _initial_member(key)
    xs = (jnp.arange(epochs), jax.random.split(k_train, epochs))
    (g, d, _, _), history = jax.lax.scan(_epoch, (g, d, _zeros(g), _zeros(d)), xs)
    return g, d, history


@partial(jax.jit, static_argnums=1)
def train(keys, epochs: int):
    """Train one member per key from initialisation: (G's layers, D's layers, history (epochs, 4)),
    each leaf with the members on its first axis."""
    return jax.vmap(lambda key: _train_member(key, epochs))(keys)


@jax.jit
def initial(keys):
    """The members' initial (G's layers, D's layers), as train starts from them."""
    g, d, _ = jax.vmap(_initial_member)(keys)
    return g, d


def member_keys(members: int, seed: int = 0):
    return jax.random.split(jax.random.key(seed), members)


def jax_member_epochs_per_s(members: int = 64, epochs: int = 20, repeats: int = 3) -> float:
    """Median member-epochs per second over ``repeats`` runs, after one warm-up (compile) run."""
    if members < 1 or epochs < 1 or repeats < 1:
        raise ValueError(f"members={members}, epochs={epochs}, repeats={repeats}: must all be positive")
    keys = member_keys(members)
    jax.block_until_ready(train(keys, epochs))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(train(keys, epochs))
        times.append(time.perf_counter() - start)
    return members * epochs / statistics.median(times)


def describe() -> dict:
    """JAX's version and the device it runs on."""
    device = jax.devices()[0]
    kind = getattr(device, "device_kind", device.platform)
    return {"jax": jax.__version__,
            "device": device.platform if kind == device.platform else f"{device.platform}: {kind}"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=64, help="members trained at once (default 64)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per run (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after the warm-up (default 3)")
    args = parser.parse_args(argv)
    for name in ("members", "epochs", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}={getattr(args, name)}: must be positive")
    rate = jax_member_epochs_per_s(args.members, args.epochs, args.repeats)
    print(json.dumps({"jax_member_epochs_per_s": round(rate, 1), "members": args.members, "epochs": args.epochs,
                      "repeats": args.repeats, **describe()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
