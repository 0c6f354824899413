"""Methods' description of the GAN, generated from the baseline's GANConfig, so that a reader
could rebuild it: networks, features, noise, schedule, and how its verdict is reached.

The feature sets' and generator kinds' descriptions and shapes (D's input width) are read from
their declarations in gancheck.fields, which need no torch. A name those declarations do not hold
(a run recorded by another version of gancheck) stands alone, its width a "?".
"""
from __future__ import annotations

import json

from gancheck import fields
from gancheck.config import GANConfig
from gancheck.report.data import ReportInput

NOISE_TEXT = {"uniform": "U(0, 1)", "normal": "N(0, 1)"}
SCHEDULE_TEXT = {
    "seed_cosine": "cosine annealing from the base rate to {lr_min:g} over {t_max} inner steps, "
                   "stepped before every inner step and never restarted (the rate cycles)",
    "constant": "constant",
    "cosine_decay": "one cosine decay from the base rate to {lr_min:g} over the whole run",
    "linear_decay": "a linear decay from the base rate to {lr_min:g} over the whole run",
}


def declared(field: str, name) -> fields.Choice | None:
    """The Choice ``name`` of the choice field ``field``, or None where this version does not
    declare it (the only failure expected here: anything else is a bug, and raises)."""
    spec = fields.BY_NAME[field]
    return spec.choice(name) if name in spec.names else None


def baseline_config(data: ReportInput) -> dict:
    base = data.arms[data.arms["is_baseline"].astype(bool)] if len(data.arms) else data.arms
    if base.empty or "config_json" not in base.columns or not base["config_json"].iloc[0]:
        return {}
    try:
        return dict(json.loads(base["config_json"].iloc[0]))
    except (TypeError, ValueError):
        return {}


def target_words(config: dict) -> str:
    from gancheck.report.target_view import from_config, words
    return words(from_config(config))


def model(data: ReportInput, n_draws: int, n_values: int) -> list[str]:
    """Paragraphs on the baseline's model and training (empty when no config was stored)."""
    c = baseline_config(data)
    if not c:
        return []
    c = {**GANConfig().to_dict(), **c}  # fields a config does not record: older runs stored fewer
    g = lambda key, default="?": c.get(key, default)  # noqa: E731
    act = lambda name: {"relu": "ReLU", "leaky_relu": "leaky ReLU", "elu": "ELU", "tanh": "tanh"}.get(name, name)  # noqa: E731
    n = int(g("g_output_size", 500))
    per_value = g("generator") == "per_value"
    generator_kind = declared("generator", g("generator"))
    kind = generator_kind.description if generator_kind else ""
    calls = n if per_value else 1
    generator = (
        f"Generator G ({g('generator')}{', ' + kind if kind else ''}): Linear({g('g_input_size')}, "
        f"{g('g_hidden_size')}) → {act(g('g_activation'))} → Linear({g('g_hidden_size')}, "
        f"{g('g_hidden_size')}) → {act(g('g_activation'))} → Linear({g('g_hidden_size')}, "
        f"{1 if per_value else n}), no activation after the last layer. "
        + (f"G is called once per value with the same weights, so one output vector of {n} values "
           f"takes {n} calls and {n * int(g('g_input_size', 1))} noise numbers."
           if per_value else
           f"One call maps {g('g_input_size')} noise numbers to a whole vector of {n} values.")
        + f" Noise: {NOISE_TEXT.get(str(g('noise')), g('noise'))}, independent for every number.")
    feature_set = declared("features", g("features"))
    features = feature_set.description if feature_set else ""
    # D's input: the feature set's width, plus one for the batch spread (GANConfig.d_input_size)
    width = feature_set.width(n) + int(bool(g("minibatch_std", False))) if feature_set else "?"
    discriminator = (
        f"Discriminator D: sees each {n}-value vector through the feature set “{g('features')}”"
        f"{' (' + features + ')' if features else ''}"
        f"{', plus the minibatch’s mean spread per coordinate' if g('minibatch_std', False) else ''}"
        f", then Linear({width}, {g('d_hidden_size')}) → {act(g('d_activation'))} → "
        f"Linear({g('d_hidden_size')}, {g('d_hidden_size')}) → {act(g('d_activation'))} → "
        f"Linear({g('d_hidden_size')}, 1) → sigmoid.")
    steps = int(g("d_steps", 0)) + int(g("g_steps", 0))
    schedule = SCHEDULE_TEXT.get(str(g("lr_schedule")), str(g("lr_schedule"))).format(
        lr_min=float(g("lr_min", 0.0)), t_max=int(g("cosine_t_max_factor", 5)) * steps)
    training = (
        f"Training: {g('num_epochs')} epochs. Each epoch takes {g('d_steps')} D steps, each on a "
        f"minibatch of {g('minibatch_size')} real vectors (fresh draws from the target "
        f"{target_words(c)}) and {g('minibatch_size')} of G's, with binary "
        f"cross-entropy; then {g('g_steps')} G steps with the {str(g('g_loss')).replace('_', '-')} "
        f"loss. Adam (β = {g('adam_beta1')}, {g('adam_beta2')}; ε = {g('adam_eps')}) at learning "
        f"rates {g('d_learning_rate')} (D) and {g('g_learning_rate')} (G), schedule: {schedule}."
        + (f" Instance noise of sd {g('instance_noise')} falling linearly to 0." if float(g("instance_noise", 0)) else "")
        + (f" G is exported as an exponential moving average of its weights (decay {g('g_ema')})."
           if float(g("g_ema", 0)) else " G is exported as its last iterate."))
    verdict = (
        f"One verdict per trained G: after training, G makes {n_draws or 'K'} output vectors of "
        f"{n_values or n} values, each from fresh noise (a noise draw). Every test judges the "
        "generator on all its draws at once and gives one generator-level p-value; the draws are "
        "also compared with each other (the diversity tests), which is how a generator that "
        "returns one memorised vector, or reorders the same values, is told apart from one that "
        "samples. The decision list below turns those p-values into one outcome.")
    return [generator, discriminator, training, verdict]
