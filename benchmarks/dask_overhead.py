"""Dask's overhead: the quick design on `--workers 2` (local processes) vs `--dask local:2`.

    python benchmarks/dask_overhead.py [--repeats 3] [--epochs E] [--seeds N]

Each repeat runs the whole design from scratch both ways, in alternating order (so a change
in the machine's load hits both alike), and times run_design end to end: starting the pool or
the cluster, warming the workers, training, scoring, storing (the report is not rendered: it is
the same work for both). Throughput is member-epochs trained per second of that wall time.
Goal: Dask reaches >= 80% of the local executor's throughput.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from experiments.designs import build_design
from gancheck.runs.driver import run_design
from gancheck.runs.plan import plan

EXECUTORS = {"--workers 2": dict(workers=2), "--dask local:2": dict(dask="local:2")}


def time_run(design, run_dir: Path, options: dict) -> float:
    start = time.perf_counter()
    run_design(design, run_dir, fresh=True, show_progress=False, **options)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None, help="override the quick preset's epochs")
    parser.add_argument("--seeds", type=int, default=None, help="override the quick preset's seed count")
    args = parser.parse_args()
    design = build_design(preset="quick", epochs=args.epochs,
                         seeds=None if args.seeds is None else list(range(args.seeds)))
    member_epochs = sum(t.member_epochs for t in plan(design, set(), workers=2))
    print(f"quick design: {len(design.arms)} arms x {len(design.seeds)} seeds, "
          f"{member_epochs} member-epochs, controls {len(design.controls)} x {design.control_reps}")
    # Other work on the machine moves both timings; the load average says how much there was.
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    walls: dict[str, list[float]] = {name: [] for name in EXECUTORS}
    with tempfile.TemporaryDirectory(prefix="dask_overhead_") as tmp:
        for r in range(args.repeats):
            order = list(EXECUTORS) if r % 2 == 0 else list(reversed(EXECUTORS))
            for name in order:
                wall = time_run(design, Path(tmp) / f"run{r}-{len(walls[name])}-{name[2:6]}", EXECUTORS[name])
                walls[name].append(wall)
                print(f"repeat {r + 1}  {name:<15} {wall:7.1f} s  "
                      f"{member_epochs / wall:7.1f} member-epochs/s")
    print()
    medians = {name: statistics.median(w) for name, w in walls.items()}
    for name, med in medians.items():
        print(f"median {name:<15} {med:7.1f} s  {member_epochs / med:7.1f} member-epochs/s")
    ratio = medians["--workers 2"] / medians["--dask local:2"]  # throughput ratio = inverse wall ratio
    print(f"dask / local throughput, ratio of medians: {ratio:.2f} (goal >= 0.80)")
    # Each repeat's two runs are back to back, so their ratio is less exposed to load drift.
    paired = [local / dask for local, dask in zip(walls["--workers 2"], walls["--dask local:2"])]
    print(f"dask / local throughput, median of paired ratios: {statistics.median(paired):.2f} "
          f"(per repeat: {', '.join(f'{r:.2f}' for r in paired)})")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":  # worker processes are spawned and re-import this module
    main()
