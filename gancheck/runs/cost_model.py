"""What a task costs, in units of one member-epoch of the seed's compiled shape.

Two things use it: the planner hands out the costliest tasks first (so that no worker is left
alone with a long one at the end), and the progress bar counts work done in these units, so
that its estimate of the time left holds from the start. Counted in member-epochs, the bar of
the full default design said 51 minutes to go after 30 s and 4 after 12 minutes, of a training
phase that took 14: the slowest arms (a 200-wide G's member-epoch costs 18 of the seed's) are
the ones handed out first.

The figures are core-seconds per arm of the full default design on a 2-core AMD EPYC
(`benchmarks/design_time.py --run`), each divided by the baseline's (20 core-seconds for its
40,020 member-epochs): eager steps of the seed's shape (an ELU G, which stays eager) 3.0; raw
values, eager, 2.9; the 200-wide G, eager, 17.9; sorted values 5.7; values with their squared
deviations 5.5, with their deviations 5.0; the per-value G, compiled, 5.2; one control
replicate (judging 100 draws) 0.017 core-seconds, i.e. 33. They are estimates for ordering and
for the bar only: nothing trained or judged depends on them.
"""
from __future__ import annotations

from gancheck.config import GANConfig
from gancheck.gan.features import FEATURE_SETS
from gancheck.gan.engine import resolve_compile
from gancheck.gan.generators import GENERATORS

#: A member-epoch trained eagerly, against compiled steps, at the seed's shape.
EAGER = 3.0
#: G's hidden layers grow with H squared; at H = 200 they add this much (H = 5: 0.01).
WIDE_G_AT_200 = 15.0
#: Judging one control replicate's 100 draws.
CONTROL_REPLICATE = 33.0


def member_epoch_cost(cfg: GANConfig, *, compiled: bool) -> float:
    """One member-epoch of ``cfg``: 1.0 (to 1%) for the seed's configuration, compiled."""
    wide = WIDE_G_AT_200 * (cfg.g_hidden_size / 200) ** 2
    return ((1.0 if compiled else EAGER) + FEATURE_SETS[cfg.features].cost
            + GENERATORS[cfg.generator].cost + wide)


def task_cost(task) -> float:
    """All of ``task``'s work: its members' epochs, or its control's replicates."""
    if task.kind != "population":
        return CONTROL_REPLICATE * len(task.members)
    return task.member_epochs * epoch_cost(task)


def epoch_cost(task) -> float:
    """One epoch of ``task``'s population, per member (its members' mean cost): a population's
    members train their epochs together."""
    costs = [member_epoch_cost(m.config, compiled=_compiled(task, m.config)) for m in task.members]
    return sum(costs) / max(1, len(costs))


def _compiled(task, cfg: GANConfig) -> bool:
    """The driver's decision where it made one; else (while planning, or for a Dask worker that
    decides for itself) what --compile auto would decide here."""
    if task.compile:
        return task.compile == "yes"
    return resolve_compile("auto", cfg)
