"""Whether the population trainer runs its steps through torch.compile: a named, recorded choice.

Compiling fuses each step's elementwise passes into a few C++ loops (benchmarks/throughput.py:
about 1.4x the eager trainer on the seed's shape), but it needs a C++ compiler, costs 5-15 s
per new shape on first use (inductor then caches it on disk), and it pays only where the step
is mostly elementwise passes over G's output. Measured on this project's 2-core machine (20
members, 1 thread, member-epochs/s eager -> compiled): moments 789 -> 1,377 and moments2
954 -> 1,486 at H = 5; but raw 782 -> 756, data_sq_diffs 494 -> 454, data_diffs 507 -> 458 (D's
wide first layer is a matmul either way, and the compiled form is a broadcast product), sorted
378 -> 86 (torch.sort inside a graph, against the eager trainer's numpy sort), and moments at
H = 200 117 -> 102. ``auto`` compiles only where it was measured to pay (``compile_pays``:
each registry entry says whether it did, gancheck.gan.features, generators and activations).

Compiled and eager steps compute the same formulas; they round differently, and over 2001
epochs rounding differences grow into different trajectories (of the same distribution). So
the choice is part of a run's record, and the same choice on the same machine gives the same
numbers.
"""
from __future__ import annotations

import functools
import os
import shutil

from gancheck.config import GANConfig

#: The values --compile accepts.
COMPILE_CHOICES = ("auto", "yes", "no")

#: Shorter runs train eagerly: a first compile costs 5-15 s, about what compiling saves on
#: 20 members x 1,000 epochs. The rule looks at the config alone, never at how many members
#: share a block, so a member trains the same way whoever it trains with, and a resumed run
#: trains its remaining members the way it trained the first ones.
MIN_EPOCHS_TO_COMPILE = 1000

#: G hidden sizes up to this compile (measured: pays at 5, loses at 200, where the matmuls dominate).
MAX_HIDDEN_TO_COMPILE = 10


@functools.lru_cache(maxsize=None)
def compiler_problem() -> str | None:
    """None if torch.compile works in this process, else why not (one line).

    A compiler on the PATH is not enough (Python's headers or OpenMP can be missing), so this
    compiles and runs a one-line function: 3 s once per process with inductor's disk cache warm,
    about 8 s cold. Asked only where compiling is otherwise wanted.
    """
    if not any(c and shutil.which(c) for c in (os.environ.get("CXX"), "g++", "c++", "clang++")):
        return "no C++ compiler found (g++ or clang++, or set $CXX)"
    try:
        import torch
        import torch._inductor.config
        probe = torch.compile(lambda x: x * 2 + 1, dynamic=False)
        # One compiling thread: no pool of compiler processes just for this (see runs.execute).
        with torch._inductor.config.patch(compile_threads=1):
            if float(probe(torch.ones(2))[0]) != 3.0:
                return "a compiled test function gave a wrong result"
    except Exception as exc:  # whatever inductor raises, the answer is "not here"
        return f"torch.compile failed here ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
    return None


def compiler_available() -> bool:
    """Whether torch.compile's CPU backend works in this process (see compiler_problem)."""
    return compiler_problem() is None


def check_compile_choice(choice: str) -> str:
    if choice not in COMPILE_CHOICES:
        raise ValueError(f"compile={choice!r}: must be one of {', '.join(COMPILE_CHOICES)}")
    if choice == "yes" and not compiler_available():
        raise ValueError(f"compile='yes': {compiler_problem()} (use auto or no)")
    return choice


def compile_pays(cfg: GANConfig, device_type: str = "cpu") -> bool:
    """Whether compiled steps of ``cfg``'s shape were measured faster per member-epoch (and
    compiling works here). GPUs were not measured, so no."""
    return (device_type == "cpu" and cfg.g_hidden_size <= MAX_HIDDEN_TO_COMPILE and _measured_shape(cfg)
            and compiler_available())


def _measured_shape(cfg: GANConfig) -> bool:
    """Whether compiling was measured to pay for ``cfg``'s feature set, generator and activations,
    as their registry entries say; with or without the batch spread in D's input (315 -> 620)
    and instance noise (253 -> 360), both measured on the seed's shape."""
    # Imported here: this module is read by the command-line parsers, which must not load torch.
    from gancheck.gan.activations import ACTIVATIONS
    from gancheck.gan.features import FEATURE_SETS
    from gancheck.gan.generators import GENERATORS
    return (FEATURE_SETS[cfg.features].compile_pays
            and cfg.g_activation in GENERATORS[cfg.generator].compile_pays_with
            and ACTIVATIONS[cfg.d_activation].compile_pays_in_d)


def resolve_compile(choice: str, cfg: GANConfig, device_type: str = "cpu") -> bool:
    """True to compile the steps of members of ``cfg``'s shape, under the user's ``choice``."""
    check_compile_choice(choice)
    if choice == "auto":
        return cfg.num_epochs >= MIN_EPOCHS_TO_COMPILE and compile_pays(cfg, device_type)
    return choice == "yes"


#: The draw streams a run can train from (recorded with the run: the same seed gives other
#: numbers in another stream). "torch": each member's own torch.Generator on the host
#: (gancheck.gan.draws). "philox": counter-based, the whole block in one batched call on the
#: training device, the same numbers on every device (gancheck.gan.philox_draws).
DRAW_STREAMS = ("torch", "philox")

#: Whether compiled Philox draws were measured at least as fast as the torch generators inside
#: the compiled CPU trainer (benchmarks/throughput.py --draws torch,philox, same run).
PHILOX_PAYS_COMPILED_CPU = True


def resolve_draws(device_type: str, compiled: bool) -> str:
    """The draw stream for steps on ``device_type`` compiled or not: a function of these two
    only (never of the block or the population), so every member of a run draws the same way.

    Off the CPU: philox (host generators would feed the device one member at a time). On the
    CPU: philox where its compiled draws were measured at least as fast (PHILOX_PAYS_COMPILED_CPU),
    else torch (eager Philox is ~14x slower per value than a torch generator: benchmarks/draws.py).
    """
    if device_type != "cpu":
        return "philox"
    return "philox" if compiled and PHILOX_PAYS_COMPILED_CPU else "torch"


def check_draws(draws: str) -> str:
    if draws not in DRAW_STREAMS:
        raise ValueError(f"draws={draws!r}: must be one of {', '.join(DRAW_STREAMS)}")
    return draws


#: Graphs torch.compile may keep per function. Its default (8) is per code object, shared by
#: every population a worker process trains: a full design's worker meets more shapes than
#: that (arms x block sizes x draw chunks), and past the limit dynamo silently runs the function
#: eagerly for the rest of the process. A full default run hit it and trained its later arms at
#: a third of the compiled speed.
RECOMPILE_LIMIT = 128


def allow_recompiles() -> None:
    """Raise torch.compile's per-function graph limit to RECOMPILE_LIMIT (never lower it)."""
    import torch._dynamo.config as dynamo
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(dynamo, name):
            setattr(dynamo, name, max(getattr(dynamo, name), RECOMPILE_LIMIT))
    for name in ("accumulated_recompile_limit", "accumulated_cache_size_limit"):
        if hasattr(dynamo, name):
            setattr(dynamo, name, max(getattr(dynamo, name), 8 * RECOMPILE_LIMIT))
