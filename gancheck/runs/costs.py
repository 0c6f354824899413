"""What a task cost its worker: CPU seconds, of which compiling and judging, per member.

Measured in the worker that ran the task and carried back with its records, so that a run
records where its time went (the invocation's ``arm_costs`` in the run's provenance) and
``benchmarks/design_time.py`` can print it per arm. CPU time, not wall time: two workers on
two busy cores each still count only their own seconds. The C++ compiler that torch.compile
runs is a child process of the worker, and its seconds are counted too (``cpu_seconds``).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

#: The fields of a member's cost, in seconds.
COST_FIELDS = ("core_s", "compile_s", "judge_s")


def compile_seconds() -> float:
    """Seconds torch.compile has spent compiling in this process so far (0 if it never ran).

    torch's own counter of frame compilations (tracing, lowering and the C++ build of each
    graph; a graph found in inductor's disk cache costs only its load). Only read when torch was
    already imported: a control task never imports it."""
    if "torch" not in sys.modules:
        return 0.0
    try:
        from torch._dynamo.utils import compilation_time_metrics
    except ImportError:  # a torch without the counter: compile time is then not separated
        return 0.0
    return float(sum(compilation_time_metrics.get("_compile.compile_inner", ())))


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and of its finished children (the C++
    compiler runs that torch.compile starts). Both clocks count in microseconds or finer
    (os.times() counts in ticks of 10 ms, as long as a small member's verdict)."""
    return time.process_time() + _children_seconds()


def _children_seconds() -> float:
    try:
        import resource
    except ImportError:  # not Unix: the compiler's own seconds are then not counted
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CostMeter:
    """Started before a task; ``share(members)`` gives each member its part of what it cost so far."""
    cpu0: float
    compile0: float

    @classmethod
    def start(cls) -> "CostMeter":
        return cls(cpu_seconds(), compile_seconds())

    def share(self, members: int) -> dict:
        """The task's cost so far split evenly over its ``members`` (they share one shape, one
        block and the same epochs, so an even split is their cost)."""
        members = max(1, members)
        return {"core_s": (cpu_seconds() - self.cpu0) / members,
                "compile_s": (compile_seconds() - self.compile0) / members}


def add_costs(totals: dict[str, dict], arm: str, cost: dict | None) -> None:
    """Add one member's cost to ``totals`` (arm -> {members, core_s, compile_s, judge_s})."""
    if not cost:
        return
    row = totals.setdefault(arm, {"members": 0, **{f: 0.0 for f in COST_FIELDS}})
    row["members"] += 1
    for name in COST_FIELDS:
        row[name] += float(cost.get(name, 0.0))
