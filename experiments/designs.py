"""The ablation designs: arms around the seed's baseline, and presets of epochs and seeds.

Each factor changes one named thing. A one-field factor's levels are declared with the field
(gancheck/fields.py: a choice brings along what it needs, e.g. the per-value generator its one
noise number per call); the two factors that set several fields, the step ratio and the
learning-rate regime, are declared here. The default design varies one factor at a time around
the seed; the factorial design crosses every level of the seed's own design choices (the first
four factors); the remedies design crosses the remedies that attack the seed's collapse; the fix
design compares the fix (FIX) with the seed and with the fix less each of its parts; the
transfer design crosses the fix and the seed's configuration with four targets (TRANSFER_TARGETS):
does the fix, tuned on N(4, 1.25), learn a bimodal, a skewed and a heavy-tailed target too?
"""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

from gancheck.config import GANConfig
from gancheck.fields import one_field_factors
from gancheck.runs.plan import Arm, Design

#: The arm whose config is the seed's own ("seed" would collide with the random seeds).
BASELINE = "baseline"
#: The same config in the fix design, where the fix is the baseline and this arm is compared with it.
SEED_CONFIG_ARM = "seed config"

#: Factors that set several fields at once: factor -> {level: the fields it sets}, the seed's first.
MULTI_FIELD_FACTORS: dict[str, dict[str, dict]] = {
    # D:G steps per epoch. Every arm holds the total at the seed's 40 steps per epoch, so arms
    # spend the same compute and take the same number of updates over the run: a difference is
    # the ratio's, not extra training. The seed's cosine schedule has T_max = 5 * steps, so its
    # period stays 10 epochs in every arm.
    "step_ratio": {
        "20:20": {"d_steps": 20, "g_steps": 20},
        "30:10": {"d_steps": 30, "g_steps": 10},
        "35:5": {"d_steps": 35, "g_steps": 5},
        "10:30": {"d_steps": 10, "g_steps": 30},
        "5:35": {"d_steps": 5, "g_steps": 35},
    },
    # The learning-rate regime as one named thing: the seed's (1e-4, cycling down to 1e-5 every
    # 10 epochs) against a 20x larger rate for both nets decayed linearly to 0 over the run. A
    # per-value G at the seed's rate is still stuck near its initial output after 600 epochs;
    # at 2e-3 decayed to 0 it reached the target's mean and sd in an exploration before the
    # remedies design (1e-3 and 4e-3, constant, cosine decay and Adam beta1 = 0.5 did worse;
    # docs/findings.md).
    "lr_regime": {
        "seed": {},
        "fast_decay": {"d_learning_rate": 2e-3, "g_learning_rate": 2e-3,
                       "lr_schedule": "linear_decay", "lr_min": 0.0},
    },
}

#: The order in which designs and reports list the factors (the published reports' order). A
#: factor declared in gancheck/fields.py but missing here comes last, in declaration order.
FACTOR_ORDER = ("features", "step_ratio", "lr_schedule", "g_hidden_size", "generator", "noise",
                "minibatch_std", "instance_noise", "g_loss", "g_activation", "d_activation",
                "d_learning_rate", "lr_regime")


def _factors() -> dict[str, dict[str, dict]]:
    every = {**one_field_factors(), **MULTI_FIELD_FACTORS}
    unknown = set(FACTOR_ORDER) - set(every)
    if unknown:
        raise RuntimeError(f"FACTOR_ORDER names {', '.join(sorted(unknown))}, which no field or factor declares")
    return {name: every[name] for name in (*FACTOR_ORDER, *(f for f in every if f not in FACTOR_ORDER))}


#: factor -> {level: the GANConfig fields that level sets}. The first level is the seed's.
FACTORS: dict[str, dict[str, dict]] = _factors()

#: The factors the factorial design crosses: the seed's own design choices. Crossing
#: every factor would make 30,720 arms; the remedies design crosses the remedies instead.
FACTORIAL_FACTORS = ("features", "step_ratio", "lr_schedule", "g_hidden_size")

#: The remedies design: factor -> the levels it crosses (the seed's level first), so that the
#: interactions between the generator's kind, its noise and the learning-rate regime show.
#: (minibatch_std, the other remedy aimed at collapse, is in the one-factor design; crossing it
#: too would double the per-value arms, which set this design's time.)
REMEDIES = {
    "generator": ["vector", "per_value"],
    "noise": ["uniform", "normal"],
    "lr_regime": ["seed", "fast_decay"],
}


#: The fix: every level the exploration before the remedies design found to matter, together.
#: Per-value G on
#: normal noise (it can represent the target, and cannot collapse to one vector), a smooth G
#: (ELU: a ReLU G with every unit off over an interval of noise puts an atom in its output, a
#: leaky one a density spike where a piece is nearly flat), leaky ReLU in D (a ReLU D dies and
#: freezes G), and the fast, decaying learning rate (at the seed's rate a per-value G has not
#: left its start after 600 epochs). docs/findings.md.
FIX = {
    "generator": "per_value",
    "noise": "normal",
    "g_activation": "elu",
    "d_activation": "leaky_relu",
    "lr_regime": "fast_decay",
}
#: The fix design's baseline arm.
FIX_ARM = "fix"


#: The transfer design's targets: level -> GANConfig.target ("" is the seed's N(4, 1.25), the
#: reference). Each non-normal one has mean 4 and a sd near the seed's 1.25 (the mixture's is
#: 1.62: two clear bumps need their sds well under their distance), so that the tolerance's
#: bands, in target sds, stay comparable:
#: - bimodal: equal normals at 2.5 and 5.5, sd 0.6 (between them the density dips to 9% of the peaks);
#: - skewed: gamma with a * scale = 4 and sqrt(a) * scale = 1.25 (a = 10.24, skewness 0.625);
#: - heavy_tailed: Student t with 5 df about 4, scale 0.968 (sd 0.968 * sqrt(5/3) = 1.2497;
#:   excess kurtosis 6, tails to 3 sd 4 times as likely as the normal's).
TRANSFER_TARGETS = {
    "normal": "",
    "bimodal": "mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6))",
    "skewed": "gamma(a=10.24, scale=0.390625)",
    "heavy_tailed": "t(df=5, loc=4, scale=0.968)",
}
#: The transfer design's configurations: the fix (its baseline, on N(4, 1.25)) and the seed's.
TRANSFER_CONFIGS = (FIX_ARM, SEED_CONFIG_ARM)
#: The transfer design's first seed: the fix was chosen on seeds 0-19 (the fix design) and
#: checked on 20-39 (reports/full-fix-fresh), so 40 on are fresh for it and for every target.
TRANSFER_FIRST_SEED = 40
#: The seeds whose results were in view when the fix's levels were chosen.
FIX_CHOSEN_ON = range(0, 20)


def selection_caveats(design: str, seeds: list[int]) -> tuple[str, ...]:
    """What a run of ``design`` on ``seeds`` must say about the fix having been chosen on some
    seeds (recorded with the run; its page lists it among the limitations)."""
    if design not in ("fix", "transfer"):
        return ()
    chosen = [s for s in seeds if s in FIX_CHOSEN_ON]
    span = f"seeds {FIX_CHOSEN_ON.start}-{FIX_CHOSEN_ON.stop - 1}"
    if not chosen:
        return (f"Every seed of this run is fresh for the fix, whose levels were chosen with the "
                f"results of {span} in view: its rates here are an out-of-sample check of that choice.",)
    share = "every seed of this run is" if len(chosen) == len(seeds) else \
        f"{len(chosen)} of this run's {len(seeds)} seeds are"
    return (f"The fix's levels were chosen with the results of {span} in view, and {share} among "
            f"them: there the fix's rates are optimistic (chosen and judged on the same seeds). A run "
            f"on fresh seeds (--seeds {FIX_CHOSEN_ON.stop}:{FIX_CHOSEN_ON.stop + len(FIX_CHOSEN_ON)}) "
            "checks it.",)


@dataclass(frozen=True)
class Preset:
    num_epochs: int
    seeds: int
    control_reps: int
    n_draws: int
    #: the one-factor levels included, for every factor (None: all levels of all factors);
    #: quick keeps one contrast per factor. A factor left out is an error, never "all levels".
    levels: dict | None = None

    def __post_init__(self):
        if self.levels is None:
            return
        missing = [f for f in FACTORS if f not in self.levels]
        unknown = [f for f in self.levels if f not in FACTORS]
        if missing or unknown:
            raise ValueError(f"preset levels: list every factor's levels ([] for none); missing "
                             f"{', '.join(missing) or 'none'}, unknown {', '.join(unknown) or 'none'}")
        for factor, chosen in self.levels.items():
            for level in chosen:
                if level not in FACTORS[factor]:
                    raise ValueError(f"preset levels: {factor}={level!r} is not a level of {factor}")


PRESETS = {
    # The seed's 2001 epochs, 20 seeds per arm (about 80% power for a 1-SD effect, docs/statistics.md).
    "full": Preset(num_epochs=2001, seeds=20, control_reps=500, n_draws=100),
    # A first look in under two minutes on 2 cores: 300 epochs is where the seed's G first
    # reaches the target's mean (see the full report), too few for it to settle.
    "quick": Preset(num_epochs=300, seeds=4, control_reps=200, n_draws=50,
                    levels={"features": ["raw"], "step_ratio": ["30:10"],
                            "lr_schedule": ["constant"], "g_hidden_size": ["200"],
                            # of the remedies, the one the seed's failure points to
                            "generator": ["per_value"], "noise": [], "minibatch_std": [],
                            "instance_noise": [], "g_loss": [], "d_learning_rate": [],
                            "g_activation": [], "d_activation": [],
                            "lr_regime": []}),
}
DESIGNS = ("one-factor", "factorial", "remedies", "fix", "transfer")


def _config(levels: dict[str, str], num_epochs: int) -> GANConfig:
    fields = {"num_epochs": num_epochs}
    for factor, level in levels.items():
        fields.update(FACTORS[factor][level])
    return GANConfig().replace(**fields)


def _seed_levels() -> dict[str, str]:
    return {factor: next(iter(levels)) for factor, levels in FACTORS.items()}


def one_factor_arms(preset: Preset) -> list[Arm]:
    seed_levels = _seed_levels()
    arms = [Arm(BASELINE, _config({}, preset.num_epochs), factors=tuple(seed_levels.items()))]
    for factor, levels in FACTORS.items():
        for level in list(levels)[1:] if preset.levels is None else preset.levels[factor]:
            factors = {**seed_levels, factor: level}
            arms.append(Arm(f"{factor}={level}", _config({factor: level}, preset.num_epochs),
                            factor=factor, level=level, factors=tuple(factors.items())))
    return arms


def factorial_arms(preset: Preset) -> list[Arm]:
    seed_levels = _seed_levels()
    names = list(FACTORIAL_FACTORS)
    if preset.levels is not None:  # small presets cross the seed level with their one contrast
        grid = [[seed_levels[f], *preset.levels[f]] for f in names]
    else:
        grid = [list(FACTORS[f]) for f in names]
    return crossed_arms(dict(zip(names, grid)), preset)


def remedies_arms(preset: Preset) -> list[Arm]:
    """Every combination of the REMEDIES levels, whatever the preset (it is small already)."""
    return crossed_arms(REMEDIES, preset)


def _fix_and_seed(preset: Preset) -> list[Arm]:
    """The fix design's first two arms: the fix (its baseline) and the seed's configuration."""
    seed_levels = _seed_levels()

    def arm(name: str, changed: dict[str, str], factor: str, level: str) -> Arm:
        return Arm(name, _config(changed, preset.num_epochs), factor=factor, level=level,
                   factors=tuple({**seed_levels, **changed}.items()))

    return [arm(FIX_ARM, FIX, "baseline", FIX_ARM), arm(SEED_CONFIG_ARM, {}, "fix", "all at the seed's")]


def fix_arms(preset: Preset) -> list[Arm]:
    """The fix (the baseline), the seed, and the fix with each of its levels put back to the
    seed's, one at a time: what each part of the fix contributes, each compared with the fix."""
    seed_levels = _seed_levels()

    def arm(name: str, changed: dict[str, str], factor: str, level: str) -> Arm:
        return Arm(name, _config(changed, preset.num_epochs), factor=factor, level=level,
                   factors=tuple({**seed_levels, **changed}.items()))

    arms = _fix_and_seed(preset)
    for factor in FIX:
        reverted = {f: v for f, v in FIX.items() if f != factor}
        arms.append(arm(f"fix with {factor}={seed_levels[factor]}", reverted, "fix", f"{factor} at the seed's"))
    return arms


def transfer_arms(preset: Preset) -> list[Arm]:
    """The fix design's fix and seed configuration (the same configs), each on every target of
    TRANSFER_TARGETS: a full 2 x 4 crossing of the factors "config" and "target". The baseline
    is the fix on N(4, 1.25), so each arm's comparison with it asks, for the fix on another
    target, does it transfer (the primary family: on-target rates); the crossing's effects add,
    per target, whether the fix's advantage over the seed's configuration holds there (the
    config x target interactions), and the seed configuration's own arms say what the seed's
    choices do off the Gaussian."""
    arms = []
    reference = next(iter(TRANSFER_TARGETS))
    for label, spec in TRANSFER_TARGETS.items():
        for base in _fix_and_seed(preset):
            levels = {"config": base.name, "target": label}
            # factor and level name what differs from the baseline, as crossed_arms does
            changed = {f: v for f, v in levels.items() if v != {"config": FIX_ARM, "target": reference}[f]}
            name = base.name if label == reference else f"{base.name} on {label}"
            arms.append(Arm(name, base.config.replace(target=spec),
                            factor="+".join(changed) or "baseline", level=",".join(changed.values()) or FIX_ARM,
                            factors=tuple(levels.items())))
    return arms


def with_target(arms: list[Arm], spec: str) -> list[Arm]:
    """Every arm on target ``spec`` (a gancheck.targets spec): experiments.ablate --target."""
    return [dataclasses.replace(a, config=a.config.replace(target=spec)) for a in arms]


def crossed_arms(grid: dict[str, list[str]], preset: Preset) -> list[Arm]:
    """One arm per combination of the grid's levels; every other factor at the seed's level."""
    seed_levels = _seed_levels()
    names = list(grid)
    arms = []
    for combo in itertools.product(*grid.values()):
        levels = dict(zip(names, combo))
        changed = {f: v for f, v in levels.items() if v != seed_levels[f]}
        name = BASELINE if not changed else ",".join(f"{f}={v}" for f, v in changed.items())
        factor = "baseline" if not changed else "+".join(changed)
        level = "seed" if not changed else ",".join(changed.values())
        arms.append(Arm(name, _config(changed, preset.num_epochs), factor=factor, level=level,
                        factors=tuple(levels.items())))
    return arms


def first_seed(design: str) -> int:
    """The first of a design's default seeds (a count N means seeds first .. first + N - 1)."""
    return TRANSFER_FIRST_SEED if design == "transfer" else 0


def build_design(*, design: str = "one-factor", preset: str = "full", seeds: list[int] | None = None,
                 epochs: int | None = None, target: str | None = None) -> Design:
    """The design's arms under the preset. ``seeds`` default to the preset's count, from 0 (the
    transfer design: from TRANSFER_FIRST_SEED). ``target``: every arm's GANConfig.target (not for
    the transfer design, which sets each arm's); a bad spec raises gancheck.config.ConfigError."""
    if preset not in PRESETS:
        raise ValueError(f"--preset={preset!r}: must be one of {', '.join(PRESETS)}")
    if design not in DESIGNS:
        raise ValueError(f"--design={design!r}: must be one of {', '.join(DESIGNS)}")
    p = PRESETS[preset]
    if epochs is not None:
        p = dataclasses.replace(p, num_epochs=epochs)
    if target is not None and design == "transfer":
        raise ValueError("--target: the transfer design sets each arm's target itself")
    arms = {"one-factor": one_factor_arms, "factorial": factorial_arms, "remedies": remedies_arms,
            "fix": fix_arms, "transfer": transfer_arms}[design](p)
    if target is not None:
        arms = with_target(arms, target)
    first = first_seed(design)
    seeds = list(seeds) if seeds is not None else list(range(first, first + p.seeds))
    return Design(name=f"{design} ({preset})", arms=arms, seeds=seeds,
                  baseline=FIX_ARM if design in ("fix", "transfer") else BASELINE, control_reps=p.control_reps,
                  n_draws=p.n_draws, preset=preset, caveats=selection_caveats(design, seeds))
