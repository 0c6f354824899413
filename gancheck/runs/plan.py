"""From a design to tasks: arms x seeds, grouped into populations of shape-compatible members.

A task is one population (a block of members that share a shape), never a single seed: the
trainer's cost per member falls steeply with population size, and a task must be worth shipping
to a worker. Controls are one task per control.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

from gancheck.config import GANConfig
from gancheck.gan.population import population_shape
from gancheck.runs.controls import CONTROLS
from gancheck.runs.cost_model import task_cost


@dataclass(frozen=True)
class Arm:
    """One design point: a name and the config its members train with."""
    name: str
    config: GANConfig
    factor: str = "baseline"
    level: str = "seed"
    #: every factor's level, for factorial designs ({factor: level})
    factors: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"arm name={self.name!r}: must be a non-empty string")
        if self.name.startswith("control:"):
            raise ValueError(f"arm name={self.name!r}: 'control:' is reserved for controls")


@dataclass
class Design:
    name: str
    arms: list[Arm]
    seeds: list[int]
    baseline: str
    controls: tuple[str, ...] = CONTROLS
    control_reps: int = 200
    n_draws: int = 100
    alpha: float = 0.05
    preset: str = ""  # the preset it was built from, for the record
    #: Seeds per arm where they differ from ``seeds`` (a sequential run stops arms at different
    #: looks); each list must be a subset of ``seeds``.
    seeds_by_arm: dict | None = None
    #: arm -> the draw stream its members train with ("torch" or "philox", decided by the driver
    #: from the device and the compile decision): part of each member's digest, since the same
    #: seed draws different numbers from the two streams.
    draw_streams: dict | None = None
    #: Limitations the design itself implies, in words (e.g. arms chosen with some of these seeds'
    #: results in view): recorded with the run (Provenance.caveats) and listed by its report.
    caveats: tuple[str, ...] = ()

    def arm_seeds(self, arm: str) -> list[int]:
        return list((self.seeds_by_arm or {}).get(arm, self.seeds))

    def __post_init__(self):
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"design {self.name!r}: arm names must be unique")
        if self.baseline not in names:
            raise ValueError(f"baseline={self.baseline!r}: not an arm of design {self.name!r}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds={self.seeds!r}: need at least one seed, no repeats")
        for c in self.controls:
            if c not in CONTROLS:
                raise ValueError(f"control={c!r}: unknown control (known: {', '.join(CONTROLS)})")
        if self.n_draws < 2:
            raise ValueError(f"n_draws={self.n_draws!r}: need >= 2 noise draws to look for collapse")
        if self.control_reps < 1:
            raise ValueError(f"control_reps={self.control_reps!r}: must be >= 1")

    def arm_rows(self) -> list[dict]:
        rows = [dict(arm=a.name, role="arm", factor=a.factor, level=a.level,
                     is_baseline=int(a.name == self.baseline),
                     factors_json=json.dumps(dict(a.factors) or {a.factor: a.level}),
                     config_json=a.config.to_json(), digest=member_digest(self, a)) for a in self.arms]
        rows += [dict(arm=control_arm(c), role="control", factor="control", level=c, is_baseline=0,
                      factors_json="{}", config_json="", digest=control_digest(self, c))
                 for c in self.controls]
        return rows

    @property
    def target(self) -> tuple[float, float]:
        """The baseline's target's mean and sd (for the seed's target, data_mean and data_std)."""
        base = next(a for a in self.arms if a.name == self.baseline).config
        if not base.target:
            return base.data_mean, base.data_std
        law = base.data_target
        return law.mean, law.std

    @property
    def target_spec(self) -> str:
        """The baseline's target spec ("": the seed's N(data_mean, data_std)); the controls are
        built from this target."""
        return next(a for a in self.arms if a.name == self.baseline).config.target


def control_arm(name: str) -> str:
    return f"control:{name}"


def control_digest(design: Design, name: str) -> str:
    """What a control replicate's result depends on: a change means it is recomputed."""
    mean, std = design.target
    n = design.arms[0].config.g_output_size
    spec = design.target_spec
    return (f"{name}:mean={mean}:std={std}:n={n}:draws={design.n_draws}:alpha={design.alpha}"
            + (f":target={spec}" if spec else ""))


def member_digest(design: Design, arm: Arm) -> str:
    """A member is reused on resume only if its config, its draw stream and its scoring settings
    are unchanged."""
    stream = (design.draw_streams or {}).get(arm.name)
    return (f"{arm.config.digest()}:draws={design.n_draws}:alpha={design.alpha}"
            + (f":stream={stream}" if stream else ""))


class Member(NamedTuple):
    """One member of a task: an arm's config and a seed, or a control's replicate (config None).
    A named tuple, so code that unpacks ``arm, cfg, seed`` keeps working."""
    arm: str
    config: GANConfig | None
    seed: int


@dataclass
class Task:
    """Work for one worker: a population of Members, or one control's replicates."""
    kind: str                                   # "population" | "control"
    members: list[Member] = field(default_factory=list)
    control: str = ""
    n: int = 0                                  # control sample length
    target: tuple[float, float] = (4.0, 1.25)
    #: the controls' target spec ("": N(target)); a population's members use their configs' own
    target_spec: str = ""
    n_draws: int = 100
    alpha: float = 0.05
    #: "yes" or "no": whether to compile this population's steps, decided once by the driver when
    #: planning; "" leaves it to the worker (a Dask worker under --compile auto, which knows
    #: whether it has a compiler).
    compile: str = ""

    @property
    def member_epochs(self) -> int:
        return sum(m.config.num_epochs for m in self.members if m.config is not None)


def plan(design: Design, done: set[tuple[str, int]], *, workers: int = 1, max_block: int = 64,
         keep: Sequence[Sequence[tuple[str, int]]] = ()) -> list[Task]:
    """Tasks for every (arm, seed) and control replicate not in ``done``.

    ``keep``: blocks to train again as they were (gancheck.runs.blocks: each a sequence of
    (arm, seed) that the design holds, trained whole, its done members too) wherever one of their
    members is not done. The other members are grouped by shape into blocks of at most
    ``max_block``, small enough that each worker gets work: what is left is split into about
    ``2 * workers`` blocks or more.
    """
    members = {(a.name, s): Member(a.name, a.config, s) for a in design.arms for s in design.arm_seeds(a.name)}
    tasks = [_population(design, [members[key] for key in block])
             for block in keep if any(key not in done for key in block)]
    kept = {key for block in keep for key in block}
    todo = [m for key, m in members.items() if key not in done and key not in kept]
    groups: dict[tuple, list[Member]] = {}
    for member in todo:
        groups.setdefault(population_shape(member.config), []).append(member)
    target_blocks = max(1, 2 * workers)
    block = max(1, min(max_block, math.ceil(len(todo) / target_blocks)))
    for group in groups.values():
        n_blocks = math.ceil(len(group) / block)
        size = math.ceil(len(group) / n_blocks)  # even blocks: no tiny tail task
        tasks += [_population(design, group[i:i + size]) for i in range(0, len(group), size)]
    # Heaviest first, so the last task to finish is a short one.
    tasks.sort(key=lambda t: -task_cost(t))
    n_out = design.arms[0].config.g_output_size
    for c in design.controls:
        reps = [r for r in range(design.control_reps) if (control_arm(c), r) not in done]
        if reps:
            tasks.append(Task("control", [Member(control_arm(c), None, r) for r in reps], control=c, n=n_out,
                              target=design.target, target_spec=design.target_spec,
                              n_draws=design.n_draws, alpha=design.alpha))
    return tasks


def _population(design: Design, members: list[Member]) -> Task:
    return Task("population", members, target=design.target, n_draws=design.n_draws, alpha=design.alpha)
