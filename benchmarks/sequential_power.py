"""Power and expected seeds of sequential designs beside fixed ones, for the on-target rate.

    PYTHONPATH=. python benchmarks/sequential_power.py [--comparisons M] [--margin D]

Every figure is exact (no simulation): fixed designs by enumeration of Boschloo's test
(gancheck.stats.power.rate_power), sequential ones (``--seeds auto:MAX``, looks every 5 seeds)
by the dynamic programme of gancheck.stats.sequential.operating_characteristics, with
seeds independent within a pair. "power" is P("differs"); a saving in seeds is only a saving
beside a design of the same power.
"""
from __future__ import annotations

import argparse

from gancheck.stats.power import rate_power
from gancheck.stats.sequential import (SequentialPlan, operating_characteristics,
                                       rate_sign_probabilities)

#: (baseline rate, arm rate): the published designs' typical contrasts, and a null.
SCENARIOS = ((0.0, 0.15), (0.0, 0.5), (0.15, 0.30), (0.85, 0.35), (0.0, 0.4), (0.85, 0.85))
FIXED = (20, 40)
SEQUENTIAL = (20, 40, 80)
LOOK_EVERY = 5


def table(comparisons: int = 1, margin: float | None = None) -> list[dict]:
    rows = []
    for base, arm in SCENARIOS:
        row = {"baseline": base, "arm": arm}
        for n in FIXED:
            row[f"fixed {n}"] = rate_power(arm, base, n, comparisons=comparisons)
        for top in SEQUENTIAL:
            plan = SequentialPlan(top, LOOK_EVERY, comparisons=comparisons, margin=margin)
            oc = operating_characteristics(plan, *rate_sign_probabilities(arm, base))
            row[f"auto:{top}"] = oc.p_differs
            row[f"auto:{top} seeds"] = oc.expected_seeds
            if margin is not None:
                row[f"auto:{top} equivalent"] = oc.p_equivalent
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comparisons", type=int, default=1, help="Holm family size M (default 1)")
    parser.add_argument("--margin", type=float, default=None,
                        help="declared equivalence margin on the rate difference (default none)")
    args = parser.parse_args()
    rows = table(args.comparisons, args.margin)
    columns = list(rows[0])
    print(f"P(differs) and expected seeds per arm; level 0.05 / {args.comparisons}"
          + (f"; equivalence margin {args.margin:g}" if args.margin is not None else ""))
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [f"{row[c]:.1f}" if c.endswith("seeds") else f"{row[c]:.2f}" for c in columns]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
