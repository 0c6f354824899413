"""How long does judging one generator take? Prints figures; asserts nothing.

    python benchmarks/verdict_speed.py [--verdicts 36] [--rounds 3] [--k 100] [--n 500] [--float32]
                                       [--against TREE] [--json]

Times the verdict the main job gives every trained generator and every control replicate
(gancheck.verdict on K draws of n values, the six controls in turn), in CPU seconds of a fresh
process, after the one-off simulated null tables. ``--against TREE`` times another checkout of
gancheck (a folder holding its ``gancheck`` package, e.g. a ``git worktree`` of an older commit)
in the same rounds, alternating which goes first, and prints the ratio of the medians.

The timed process sets glibc's allocator as a run's worker processes do
(gancheck.runs.workers.keep_freed_memory). Under glibc's default policy a verdict's 400 kB
temporaries are mapped afresh, page by page, each time, until some bigger block has been freed
(building a null table frees many): a plain process whose tables come from the cache then judges
about a third slower (27 against 20 ms here) than one that has just simulated them.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter of the tree under test: its own imports, caches and null tables.
_WORKER = """
import json, sys, time
import numpy as np
from gancheck.runs.controls import CONTROLS, draw_control
from gancheck.runs.workers import keep_freed_memory
from gancheck.stats.verdict import verdict
keep_freed_memory()  # as a run's workers do (see the module docstring)
count, offset, k, n, f32 = (int(a) for a in sys.argv[1:6])
verdict(draw_control("null", 10**6, k, n, 4.0, 1.25), mean=4.0, std=1.25)  # builds or loads the null tables
times = []
for i in range(count):
    x = draw_control(CONTROLS[i % len(CONTROLS)], offset + i, k, n, 4.0, 1.25)
    x = x.astype(np.float32) if f32 else x  # a trained generator's output is float32
    start = time.process_time()
    verdict(x, mean=4.0, std=1.25)
    times.append(time.process_time() - start)
print(json.dumps(times))
"""


def time_tree(tree: Path, args, offset: int) -> list[float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "-c", _WORKER, str(args.verdicts), str(offset), str(args.k),
                          str(args.n), str(int(args.float32))],
                         env=env, cwd=tree, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verdicts", type=int, default=36, help="verdicts timed per round and tree")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--k", type=int, default=100, help="noise draws per generator")
    parser.add_argument("--n", type=int, default=500, help="values per draw")
    parser.add_argument("--float32", action="store_true", help="float32 draws, as a trained generator gives")
    parser.add_argument("--against", type=Path, help="another gancheck checkout to time in the same rounds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    trees = [REPO] + ([args.against.resolve()] if args.against else [])
    times: dict[Path, list[float]] = {tree: [] for tree in trees}
    for r in range(args.rounds):
        for tree in trees if r % 2 == 0 else trees[::-1]:
            times[tree] += time_tree(tree, args, offset=r * args.verdicts)
    medians = {str(tree): statistics.median(t) for tree, t in times.items()}
    result = {"k": args.k, "n": args.n, "float32": args.float32, "verdicts_per_tree": args.rounds * args.verdicts,
              "median_s": medians}
    if args.against:
        result["ratio_against_over_this"] = medians[str(trees[1])] / medians[str(trees[0])]
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"verdict of K = {args.k} draws of n = {args.n}{' (float32)' if args.float32 else ''}, "
          f"{result['verdicts_per_tree']} per tree, median CPU seconds:")
    for tree, median in medians.items():
        print(f"  {tree}: {median * 1e3:.1f} ms")
    if args.against:
        print(f"  {trees[1]} / this tree: {result['ratio_against_over_this']:.2f}x")


if __name__ == "__main__":
    main()
