"""Null rates of the band and rounding tests, for N(4, 1.25) and other targets. Prints figures; asserts nothing.

    python benchmarks/other_targets_calibration.py rounded-mean [--samples 1000]
    python benchmarks/other_targets_calibration.py sd-band [--samples 10000]
    python benchmarks/other_targets_calibration.py mean-band [--samples 10000]
    python benchmarks/other_targets_calibration.py tail-band [--samples 20000]

``rounded-mean``: true-target samples written as whole numbers, scored (gancheck.score); for
the mean and sd rows, the share rejected at alpha = 0.05 and the share tested (status ok), at
n = 10, 40 and 200, for targets whose sd is at least one step (the mean's exact or Monte Carlo
rounded form) and for targets and normals whose sd is under a step.

``sd-band``: generators of the target's shape scaled to the sd band's edges (1.1 and 0.9 times
the target's sd), K draws of n values; the share that the edge's one-sided test calls within
(p < 0.05), and the share it shows beyond that edge, both of which the level asks to be at most
0.05 (the band's p_within is the larger of its two one-sided p-values, so its rate is at most
the first); beside them, the same shares with Student's t on K - 1 degrees of freedom as the
reference, as before the target's own law replaced it.
It takes the per-draw variances' statistic and the band's reference law
(gancheck.stats.band_reference: the chi-square table for norm(), the resampled one for the
others) directly, as gancheck.stats.criteria does, so that 10,000 generators take seconds, not
the minutes of whole verdicts.

``mean-band``: generators of the target's shape shifted to the mean band's edges (the target's
mean ± 0.1 sd); the shares called within and shown beyond each edge, with the target's own table
(gancheck.stats.band_reference) and with Student's t, which a normal target keeps (its draw
means are normal).

``tail-band``: normal draws whose share above mean + 3 sd is the tail band's edge (0.005), and
normal draws on target (0.00135); the share of generators whose upper side the tail band calls
within, with the exact binomial count beside the t statistic (as gancheck.stats.criteria does)
and with the t statistic alone (as before).

The figures quoted in docs/statistics.md came from these runs (1,000, 2,000 and 10,000
samples); the tests in tests/stats/test_rounded_mean.py and test_band_reference.py check
smaller versions of each.
"""
from __future__ import annotations

import argparse

import numpy as np
from scipy import special, stats

#: Targets whose sd is at least the step of whole numbers.
WIDE = [("gamma(a=2)", stats.gamma(2)), ("expon()", stats.expon()), ("t(df=5)", stats.t(5)),
        ("gamma(a=2, scale=3)", stats.gamma(2, scale=3)), ("t(df=5, loc=10, scale=2)", stats.t(5, loc=10, scale=2))]
#: Targets, and normals (spec None, given by mean and sd), whose sd is under one step.
NARROW = [("lognorm(s=0.5)", stats.lognorm(0.5)), ("uniform(loc=0, scale=3)", stats.uniform(0, 3)),
          (None, stats.norm(4, 0.4)), (None, stats.norm(4, 0.7))]
#: Targets of the sd band's check, and its (K, n) sizes.
BAND_TARGETS = ["expon()", "gamma(a=2)", "lognorm(s=0.5)", "t(df=5)",
                "mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6))",
                # A normal target's sd table is simulated from chi-squares; its mean band keeps t.
                "norm()"]
BAND_SIZES = [(5, 20), (10, 50), (20, 50), (100, 500)]


def rounded_mean(samples: int) -> None:
    from gancheck.stats.scoring import score

    rng = np.random.default_rng(11)
    print("target                     n     mean rejected/tested   sd rejected/tested")
    for spec, law in WIDE + NARROW:
        for n in (10, 40, 200):
            x = np.round(law.rvs(size=(samples, n), random_state=rng))
            kwargs = {"target": spec} if spec else {"mean": law.mean(), "std": law.std()}
            table = score(x, **kwargs)
            cells = []
            for test in ("mean", "std"):
                rows = table[table["test"] == test]
                cells.append(f"{rows['reject'].mean():.3f}/{(rows['status'] == 'ok').mean():.2f}")
            name = spec or f"N({law.mean():g}, {law.std():g})"
            print(f"{name[:26]:26s} {n:4d}   {cells[0]:>18s}   {cells[1]:>16s}", flush=True)


def sd_band(samples: int) -> None:
    from gancheck.stats import band_reference

    _edge_rates(samples, np.random.default_rng(9), ("1.1 sd", "0.9 sd"),
                # A generator at 1.1 (0.9) times the target's sd; the edge is then 1.21 (0.81)
                # in the variance over the target's.
                edges=((1.1, 1.21), (0.9, 0.81)),
                per_draw=lambda x, target, ratio: (x * ratio).var(axis=1, ddof=1) / target.std**2,
                own_law=lambda target, k, n: (band_reference.normal_sd_reference(k, n) if target.is_normal
                                              else band_reference.sd_reference(target, k, n)))


def mean_band(samples: int) -> None:
    from gancheck.stats import band_reference

    _edge_rates(samples, np.random.default_rng(12), ("+0.1", "-0.1"),
                # A generator moved by ±0.1 target sd; the edge is that shift.
                edges=((0.1, 0.1), (-0.1, -0.1)),
                per_draw=lambda x, target, shift: (x.mean(axis=1) - target.mean) / target.std + shift,
                own_law=lambda target, k, n: (None if target.is_normal
                                              else band_reference.mean_reference(target, k, n)))


def _edge_rates(samples, rng, labels, *, edges, per_draw, own_law) -> None:
    """For each target and size, generators of the target's shape at a band's upper and lower
    edge (``edges``: the generator's parameter and the edge in the per-draw statistic), and the
    share that the band's one-sided tests call within and show beyond that edge, with the
    target's own table (``own_law``; None: Student's t) and with Student's t."""
    from gancheck import targets

    print(f"target                 K     n   within at {labels[0]}, {labels[1]}   beyond {labels[0]}, "
          f"{labels[1]}   (Student's t: within, within; beyond, beyond)")
    for spec in BAND_TARGETS:
        target = targets.as_target(spec)
        for k, n in BAND_SIZES:
            t_law = (lambda u: special.stdtr(k - 1, u), lambda u: special.stdtr(k - 1, -u))
            own = own_law(target, k, n)
            laws = (t_law if own is None else (own.cdf, own.sf), t_law)
            counts = np.zeros((2, 2, 2), dtype=np.int64)   # [own, t][within, beyond][upper, lower]
            for e, (arg, edge) in enumerate(edges):
                done = 0
                while done < samples:
                    batch = min(samples - done, max(1, 2_000_000 // (k * n)))
                    q = per_draw(target.rvs((batch * k, n), rng), target, arg).reshape(batch, k)
                    u = (q.mean(axis=1) - edge) / (q.std(axis=1, ddof=1) / np.sqrt(k))
                    # At the upper edge U low shows the quantity within, U high beyond; at the
                    # lower edge the other way round.
                    for r, (cdf, sf) in enumerate(laws):
                        within, beyond = (cdf(u), sf(u)) if e == 0 else (sf(u), cdf(u))
                        counts[r, 0, e] += int((within < 0.05).sum())
                        counts[r, 1, e] += int((beyond < 0.05).sum())
                    done += batch
            ours, t = counts / samples
            print(f"{spec[:20]:20s} {k:4d} {n:5d}   {ours[0, 0]:14.4f}, {ours[0, 1]:.4f}"
                  f"   {ours[1, 0]:14.4f}, {ours[1, 1]:.4f}"
                  f"   ({t[0, 0]:.4f}, {t[0, 1]:.4f}; {t[1, 0]:.4f}, {t[1, 1]:.4f})", flush=True)


def tail_band(samples: int) -> None:
    from gancheck.stats.tolerance import Tolerance

    band = Tolerance().tail
    widened = 3.0 / stats.norm.isf(band)   # the upper half of a normal so widened has `band` above 3
    rng = np.random.default_rng(5)
    print("  K     n   called within at the edge: t and exact, t alone   on target: t and exact, t alone")
    for k, n in ((5, 20), (10, 50), (20, 50), (50, 50), (100, 50), (10, 500), (100, 500)):
        cells = []
        for scale in (widened, 1.0):
            counts = np.concatenate([
                (rng.standard_normal((m, k, n), dtype=np.float32) * scale > 3).sum(axis=2)
                for m in np.diff(np.r_[0:samples:2000, samples])])
            shares = counts / n
            estimate, total = shares.mean(axis=1), k * n
            # As gancheck.stats.criteria: the draw-level se floored at the binomial se of K·n values.
            p = (estimate * total + 0.5) / (total + 1.0)
            se = np.maximum(shares.std(axis=1, ddof=1) / np.sqrt(k), np.sqrt(p * (1 - p) / total))
            with np.errstate(divide="ignore", invalid="ignore"):
                p_t = special.stdtr(k - 1, (estimate - band) / se)
            p_both = np.maximum(p_t, special.bdtr(counts.sum(axis=1), total, band))
            cells.append(f"{(p_both < 0.05).mean():.4f}, {(p_t < 0.05).mean():.4f}")
        print(f"{k:4d} {n:5d}   {cells[0]:>36s}   {cells[1]:>27s}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("check", choices=("rounded-mean", "sd-band", "mean-band", "tail-band"))
    parser.add_argument("--samples", type=int, default=None,
                        help="samples (generators) per case; default 1,000 for rounded-mean, 10,000 for "
                             "sd-band and mean-band, 20,000 for tail-band")
    args = parser.parse_args()
    if args.check == "rounded-mean":
        rounded_mean(args.samples or 1000)
    elif args.check == "sd-band":
        sd_band(args.samples or 10_000)
    elif args.check == "mean-band":
        mean_band(args.samples or 10_000)
    else:
        tail_band(args.samples or 20_000)


if __name__ == "__main__":
    main()
