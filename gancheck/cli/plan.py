"""`python -m gancheck plan`: seeds per arm for a wanted power, and the power at 10, 20, 40, 80.

Three ways to say what to detect:
- ``--rates P0,P1``: a baseline rate P0 against an arm's rate P1 (two-sided Boschloo, the test
  runs use; Fisher as a reference), exact enumeration (gancheck.stats.power);
- ``--shift D --sd S``: a per-seed metric, the paired sign test on arm - baseline, when the
  paired differences are N(D, S^2);
- ``--from RUN_DIR``: a finished run as pilot: for every comparison of one Holm family of its
  comparisons.csv (``--family``, default the primary family: each arm's on-target rate) that
  found no difference, the seeds per arm that would detect the observed effect.
The level is alpha / M for a Holm family of M comparisons (Holm's first, strictest step: the
conservative choice for planning). For rates it also says the smallest rate difference the
test detects at each seed count, and how many seeds bring it down to ``--difference`` (0.3
by default). Bad input: one line, exit 2. Imports stay inside ``run``.
"""
from __future__ import annotations

import sys
from pathlib import Path

from gancheck.cli import MAX_SEEDS, UsageError, finite, folder, positive_int, unit_interval

SHOWN_SEEDS = (10, 20, 40, 80)
#: The rate difference a plan asks the seed count for by default: a third of the scale, the
#: size of change an ablation arm is usually meant to show.
TARGET_DIFFERENCE = 0.3
FAMILY_CHOICES = ("primary", "secondary", "descriptive", "all")


def percent(power: float) -> str:
    """A power as a percentage with the digits it was given: 0.995 is 99.5%, not 100%."""
    return f"{float(f'{100 * power:.10g}'):g}%"


def _rates(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        rates = tuple(float(part) for part in parts)
    except ValueError:
        raise UsageError(f"--rates={text!r}: must be two numbers P0,P1") from None
    if len(rates) != 2:
        raise UsageError(f"--rates={text!r}: must be two numbers P0,P1")
    if not all(0 <= rate <= 1 for rate in rates):
        raise UsageError(f"--rates={text!r}: rates must be in [0, 1]")
    if rates[0] == rates[1]:
        raise UsageError(f"--rates={text!r}: the two rates are equal; there is nothing to detect")
    return rates


def _shift(text: str) -> float:
    value = finite("--shift")(text)
    if value == 0:
        raise UsageError(f"--shift={text!r}: a shift of 0 leaves nothing to detect")
    return value


#: A search for the seeds per arm shows its progress bar once it has run this long (seconds).
PROGRESS_DELAY_S = 1.0
#: The fewest seeds per arm the search starts from (gancheck.stats.power.seeds_needed).
MIN_SEEDS = 2


#: The most seeds per arm a plan searches for rates (--rates, --from): Boschloo's exact power
#: took 5 s at 200 seeds per arm, 25 s at 400 and 4 minutes at 1,000 (one core), growing about
#: as n^2.5, so a search beyond it would run for hours without a word.
MAX_RATE_SEEDS = 1_000


def _max_seeds(text: str) -> int:
    """--max-seeds: from MIN_SEEDS to MAX_SEEDS, the most seeds per arm a run takes (a plan
    beyond it could not be run, and its search only filled memory); rate plans are held to
    MAX_RATE_SEEDS in run, where the kind of plan is known."""
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"--max-seeds={text!r}: must be an integer") from None
    if value < MIN_SEEDS:
        raise UsageError(f"--max-seeds={text!r}: must be >= {MIN_SEEDS} (the search starts at "
                         f"{MIN_SEEDS} seeds per arm, the fewest a comparison can use)")
    if value > MAX_SEEDS:
        raise UsageError(f"--max-seeds={text!r}: must be at most {MAX_SEEDS:,} (the most seeds per arm "
                         "a run takes)")
    return value


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "plan", help="seeds per arm for a wanted power (rates, metric shifts, or a pilot run)",
        description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--rates", metavar="P0,P1", type=_rates,
                      help="baseline rate and arm rate, e.g. 0,0.15")
    what.add_argument("--shift", metavar="D", type=_shift,
                      help="mean paired difference arm - baseline of a per-seed metric (needs --sd)")
    what.add_argument("--from", dest="run_dir", metavar="RUN_DIR", type=folder("--from"),
                      help="a finished run folder (outcomes.csv, comparisons.csv, metrics.csv)")
    parser.add_argument("--sd", metavar="S", type=finite("--sd", positive=True),
                        help="standard deviation of the paired differences (with --shift)")
    parser.add_argument("--alpha", metavar="A", type=unit_interval("--alpha"), default=0.05,
                        help="family-wise level (default 0.05)")
    parser.add_argument("--power", metavar="P", type=unit_interval("--power"), default=0.8,
                        help="wanted power (default 0.8)")
    parser.add_argument("--comparisons", metavar="M", type=positive_int("--comparisons"),
                        default=None, help="comparisons in the Holm family (default 1; with "
                        "--from: the tested rows of comparisons.csv)")
    parser.add_argument("--max-seeds", metavar="N", type=_max_seeds, default=200,
                        help=f"search seeds per arm up to N (default 200, at most {MAX_SEEDS:,}; "
                        f"for rates at most {MAX_RATE_SEEDS:,}: exact rate tests take seconds per "
                        "count beyond 200, and a progress bar shows the search)")
    # --difference and --family default to None, so that one given where it has no use is
    # refused rather than ignored (run).
    parser.add_argument("--difference", metavar="D", type=unit_interval("--difference"),
                        default=None, help="with --rates or --from: rate difference to plan the "
                        f"seeds for (default {TARGET_DIFFERENCE:g})")
    parser.add_argument("--family", choices=FAMILY_CHOICES, default=None,
                        help="with --from: the Holm family to plan (default primary)")
    parser.set_defaults(handler=run)
    return parser


def run(args) -> int:
    if args.shift is not None and args.sd is None:
        raise UsageError("plan: --shift needs --sd (the spread of the paired differences)")
    if args.sd is not None and args.shift is None:
        raise UsageError("plan: --sd goes with --shift")
    if args.difference is not None and args.shift is not None:
        raise UsageError("plan: --difference (a rate difference) goes with --rates or --from, "
                         "not with --shift")
    if args.family is not None and args.run_dir is None:
        raise UsageError("plan: --family goes with --from (a Holm family of the run's "
                         "comparisons.csv)")
    if args.power <= args.alpha:
        # A test rejects with probability alpha when there is no effect at all: a power at or
        # below it asks for nothing (every "smallest detectable difference" would be 0).
        raise UsageError(f"plan: --power={args.power:g} must be above --alpha={args.alpha:g} "
                         "(the power a test has with no effect at all)")
    if args.shift is None and args.max_seeds > MAX_RATE_SEEDS:
        raise UsageError(f"plan: --max-seeds={args.max_seeds}: rate plans (--rates, --from) search at most "
                         f"{MAX_RATE_SEEDS:,} seeds per arm (the exact power takes minutes per count "
                         "there, growing about as n^2.5)")
    args.difference = TARGET_DIFFERENCE if args.difference is None else args.difference
    args.family = "primary" if args.family is None else args.family
    if args.rates is not None and args.difference > _reach(args.rates[0]):
        raise UsageError(f"plan: --difference={args.difference:g}: no rate in [0, 1] is that far "
                         f"from the baseline rate {args.rates[0]:g} (at most "
                         f"{_reach(args.rates[0]):g} away)")
    if args.run_dir is not None:
        _print_from_run(args, sys.stdout)
        return 0
    comparisons = args.comparisons or 1
    level = args.alpha / comparisons
    out = sys.stdout
    print(f"level: alpha / M = {args.alpha:g} / {comparisons} = {level:.4g} per comparison "
          "(Holm's first step: conservative for planning)", file=out)
    if args.rates is not None:
        _print_rates(args, comparisons, out)
    else:
        _print_shift(args, comparisons, out)
    return 0


def _reach(p0: float) -> float:
    """The largest rate difference from p0 that a rate in [0, 1] can have."""
    return max(p0, 1 - p0)


def _needed(power_at, args) -> str:
    """The seeds per arm that reach args.power, or "> max"; the search (each count an exact
    power, seconds apiece for rates beyond 200 seeds) shows a progress bar on stderr once it has
    run for a second, on a terminal only."""
    from tqdm.auto import tqdm

    from gancheck.stats.power import seeds_needed
    with tqdm(total=args.max_seeds, desc="seeds per arm searched", unit="seeds", file=sys.stderr,
              delay=PROGRESS_DELAY_S, leave=False, disable=None) as bar:
        def searched(n):
            # The search doubles n, then scans up from the last count that fell short: the bar
            # shows the count being tried (update, unlike refresh, waits out the delay).
            bar.update(n - bar.n)
            return power_at(n)
        n = seeds_needed(searched, args.power, min_seeds=MIN_SEEDS, max_seeds=args.max_seeds)
    return str(n) if n is not None else f"> {args.max_seeds}"


def _print_rates(args, comparisons: int, out) -> None:
    from gancheck.stats.power import rate_power
    p0, p1 = args.rates
    print(f"rates: baseline {p0:g} vs arm {p1:g}, two-sided exact tests, the same n in both arms",
          file=out)
    rows = []
    for test, label in (("boschloo", "Boschloo"), ("fisher", "Fisher (reference)")):
        def power_at(n, test=test):
            return rate_power(p1, p0, n, alpha=args.alpha, comparisons=comparisons, test=test)
        rows.append((label, _needed(power_at, args), [power_at(n) for n in SHOWN_SEEDS]))
    _print_table(rows, args.power, out)
    _print_detectable(p0, comparisons, args, out, directions=(1 if p1 > p0 else -1,))


def _rate(value: float) -> str:
    """A rate or difference on the search's grid of 0.005, without trailing zeros (0.725, 0.53)."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


#: A rate difference's direction in words.
_DIRECTION = {-1: "drop", 1: "rise"}


def _print_detectable(p0: float, comparisons: int, args, out, seeds=SHOWN_SEEDS,
                      directions: tuple[int, ...] = (-1, 1)) -> None:
    """For each of ``directions`` (-1 a drop, +1 a rise) that [0, 1] leaves room for: the
    smallest change of the rate p0 that Boschloo's test detects, and the seeds per arm that bring
    it to args.difference. One direction at a time: near 0 or 1 they differ a lot (from 0.85 at
    80 seeds a rise to 1 is detected, a drop only of 0.25), and a number for "either way" would
    be the easier one, whichever the user plans for."""
    from gancheck.stats.power import detectable_rate_difference, rate_power
    for direction in directions:
        room = p0 if direction < 0 else 1 - p0
        if room <= 0:
            continue
        word = _DIRECTION[direction]
        cells = []
        for n in seeds:
            gap = detectable_rate_difference(round(p0, 6), n, power=args.power, alpha=args.alpha,
                                             comparisons=comparisons, direction=direction)
            cells.append(f"{_rate(gap)} at {n} (to {_rate(p0 + direction * gap)})" if gap == gap else f"none at {n}")
        print(f"smallest detectable {word} from {p0:g} (Boschloo, {percent(args.power)} power): "
              + ", ".join(cells), file=out)
        # At most d once a rate d away, or the end of [0, 1] if nearer, is detected.
        arm = round(min(1.0, max(0.0, p0 + direction * args.difference)), 6)

        def power_at(n, arm=arm):
            return rate_power(arm, p0, n, alpha=args.alpha, comparisons=comparisons)
        # A pilot's baseline rate (--from) can leave no rate that far; --rates refuses it in run.
        needed = (_needed(power_at, args) if args.difference <= room else
                  f"none: no rate in [0, 1] is that far {'below' if direction < 0 else 'above'} "
                  f"{p0:g} (at most {room:g})")
        print(f"seeds per arm to detect a {word} of {args.difference:g}: {needed}", file=out)


def _print_shift(args, comparisons: int, out) -> None:
    from gancheck.stats.power import shift_probabilities, sign_test_power
    positive, negative = shift_probabilities(args.shift, args.sd)
    print(f"metric: paired sign test on arm - baseline; differences N({args.shift:g}, "
          f"{args.sd:g}^2), so P(d > 0) = {positive:.3f}", file=out)

    def power_at(n):
        return sign_test_power(n, positive, negative, alpha=args.alpha, comparisons=comparisons)
    _print_table([("sign test", _needed(power_at, args), [power_at(n) for n in SHOWN_SEEDS])],
                 args.power, out)


def _print_table(rows, power: float, out) -> None:
    width = max(len(label) for label, _, _ in rows)
    header = "".join(f"{f'n={n}':>8}" for n in SHOWN_SEEDS)
    print(f"{'test':<{width}}  seeds/arm for {percent(power)}  power at{header}", file=out)
    for label, needed, powers in rows:
        cells = "".join(f"{value:>8.3f}" for value in powers)
        print(f"{label:<{width}}  {needed:>17}  {'':8}{cells}", file=out)


# ---------------------------------------------------------------------------- --from RUN_DIR

def _read(run_dir: Path, name: str):
    """``name`` of the run folder, every cell checked as `gancheck report` checks a published
    folder (gancheck.report.published.read_csv): a damaged file is one line naming it, the row
    and the column, before anything is printed."""
    from gancheck.report.published import read_csv
    path = run_dir / name
    if not path.is_file():
        raise UsageError(f"plan: --from {str(run_dir)!r} has no {name}")
    try:
        return read_csv(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"plan: --from: {exc}") from None


def _is_rate_test(test) -> bool:
    return any(word in str(test).lower() for word in ("boschloo", "fisher"))


def _pilot_rate(arm: str, metric: str, metrics, outcomes) -> float | None:
    """An arm's rate for a rate metric: the mean of its per-seed 0/1 values in rates.csv (or
    metrics.csv), else the rate of the outcome of outcomes.csv that the metric names (equal, or
    its suffix)."""
    values = metrics.loc[(metrics["arm"] == arm) & (metrics["metric"] == metric), "value"]
    if len(values):
        return float(values.mean())
    rows = outcomes[(outcomes["arm"] == arm)
                    & outcomes["outcome"].map(lambda o: metric == o or metric.endswith(f"_{o}"))]
    return float(rows["rate"].iloc[0]) if len(rows) == 1 else None


def _pilot_differences(arm: str, baseline: str, metric: str, metrics):
    """Per-seed differences arm - baseline on the seeds both have, as the paired test uses."""
    import numpy as np
    mine = metrics[metrics["metric"] == metric].pivot_table(
        index="seed", columns="arm", values="value", aggfunc="first")
    if arm not in mine or baseline not in mine:
        return np.empty(0)
    paired = mine[[arm, baseline]].dropna()
    # Equal values (equal infinities of two diverged seeds included) are ties, difference 0;
    # only unequal pairs are subtracted (inf - inf would be NaN, with a RuntimeWarning).
    a, b = paired[arm].to_numpy(float), paired[baseline].to_numpy(float)
    differences = np.zeros(a.size)
    unequal = a != b
    differences[unequal] = a[unequal] - b[unequal]
    return differences


def _print_run_detectable(tested, metrics, outcomes, family: int, args, out) -> None:
    """For the rates of the family: the smallest detectable difference at the run's seed count
    and the seeds that bring it to args.difference (from the baseline's observed rate), for a
    drop and for a rise."""
    rates = tested[tested["test"].map(_is_rate_test)]
    for (baseline, metric), rows in rates.groupby(["baseline", "metric"], sort=True):
        p0 = _pilot_rate(str(baseline), str(metric), metrics, outcomes)
        if p0 is None:
            continue
        n = int(rows["n_baseline"].max()) if "n_baseline" in rows else None
        print(f"{metric}:", file=out)
        _print_detectable(p0, family, args, out, seeds=(n,) if n else SHOWN_SEEDS)


def _print_from_run(args, out) -> None:
    import pandas as pd
    from gancheck.stats.power import pilot_probabilities, rate_power, sign_test_power

    run_dir = Path(args.run_dir)
    if not run_dir.exists():
        raise UsageError(f"plan: --from {str(run_dir)!r} does not exist")
    if not run_dir.is_dir():
        raise UsageError(f"plan: --from {str(run_dir)!r} is not a folder")
    comparisons = _read(run_dir, "comparisons.csv")
    outcomes = _read(run_dir, "outcomes.csv")
    metrics = _read(run_dir, "metrics.csv")
    if (run_dir / "rates.csv").exists():  # per-seed 0/1 rates, beside the metrics
        metrics = pd.concat([metrics, _read(run_dir, "rates.csv")], ignore_index=True)
    where = "comparisons.csv"
    if args.family != "all":
        comparisons = comparisons[comparisons["family"] == args.family]
        where = f"the {args.family} family of comparisons.csv"
    tested = comparisons["pvalue"].notna()
    family = args.comparisons or int(tested.sum())
    if family == 0:
        raise UsageError(f"plan: {where} in {str(run_dir)!r} has no tested comparison")
    rejected = comparisons["reject_holm"].astype(str).str.lower().isin(("true", "1"))
    pending = comparisons[tested & ~rejected]
    print(f"level: alpha / M = {args.alpha:g} / {family} = {args.alpha / family:.4g} per "
          f"comparison (M: tested rows of {where}; Holm's first step)", file=out)
    _print_run_detectable(comparisons[tested], metrics, outcomes, family, args, out)
    print(f"{len(pending)} of {int(tested.sum())} tested comparisons found no difference; seeds "
          f"per arm to detect the observed effect with {percent(args.power)} power:", file=out)
    rows = []
    for row in pending.itertuples(index=False):
        arm, metric, baseline = str(row.arm), str(row.metric), str(row.baseline)
        if _is_rate_test(row.test):
            p_arm = _pilot_rate(arm, metric, metrics, outcomes)
            p_base = _pilot_rate(baseline, metric, metrics, outcomes)
            if p_arm is None or p_base is None:
                rows.append((arm, metric, "rates", "-", "rates not found in the run"))
                continue
            observed = f"{p_base:.3g} -> {p_arm:.3g}"
            if p_arm == p_base:
                rows.append((arm, metric, "boschloo", observed, "none: equal observed rates"))
                continue
            def power_at(n, p_arm=p_arm, p_base=p_base):
                return rate_power(p_arm, p_base, n, alpha=args.alpha, comparisons=family)
            rows.append((arm, metric, "boschloo", observed, _needed(power_at, args)))
        else:
            d = _pilot_differences(arm, baseline, metric, metrics)
            if d.size == 0:
                rows.append((arm, metric, "sign", "-", "no paired seeds in metrics.csv"))
                continue
            positive, negative = pilot_probabilities(d)
            observed = f"median {pd.Series(d).median():.3g}, P(d>0)={positive:.2f}"
            if positive == negative:
                rows.append((arm, metric, "sign", observed, "none: no observed effect"))
                continue
            def power_at(n, positive=positive, negative=negative):
                return sign_test_power(n, positive, negative, alpha=args.alpha,
                                       comparisons=family)
            rows.append((arm, metric, "sign", observed, _needed(power_at, args)))
    table = pd.DataFrame(rows, columns=["arm", "metric", "test", "observed", "seeds_per_arm"])
    print(table.to_string(index=False) if len(table) else "(none)", file=out)
