"""How fast does gancheck.score handle a big batch? Prints figures; asserts nothing.

    python benchmarks/score_speed.py [--rows 10000] [--n 500] [--repeats 5] [--seed 0]

Reports the one-off cost of the cached null tables for this n, the median wall time of score()
over the repeats (tables warm), and a per-test breakdown of one pass over the sorted rows.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from gancheck.stats import gof, registry
from gancheck.stats.scoring import score


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    x = np.random.default_rng(args.seed).normal(4.0, 1.25, size=(args.rows, args.n))
    print(f"scoring {args.rows:,} rows x {args.n} values, {len(registry.SCORE_TESTS)} tests per row")
    tables = timed(gof.shape_null, args.n)
    print(f"null tables for n={args.n} (once per process, R={gof.null_replicates(args.n):,}): {tables:.2f} s")

    times = [timed(score, x) for _ in range(args.repeats)]
    print(f"score(): median {statistics.median(times):.2f} s over {args.repeats} runs "
          f"(min {min(times):.2f}, max {max(times):.2f})")

    valid = np.sort(x, axis=1)
    print("breakdown of one pass (seconds):")
    print(f"  {'checks + sort':<14}{timed(gof.row_status, x) + timed(np.sort, x, axis=1):6.2f}")
    for test in registry.SCORE_TESTS:
        print(f"  {test.name:<14}{timed(test.run, valid, mean=4.0, std=1.25):6.2f}")


if __name__ == "__main__":
    main()
