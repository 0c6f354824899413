"""Tolerance: how far from the target a generator may be and still count as on target.

A verdict without a stated tolerance changes meaning with the number of draws: with enough data
any test detects any departure, however small. So every criterion a generator is judged on has a
band, declared once here, and the verdict asks whether the data SHOW the generator inside every
band (on target), outside some band (a named departure), or neither (undecided).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields

#: Target-sd units per criterion for the location and scale bands.
_FIELD_HELP = {
    "mean": "|generator mean - target mean| in target sds",
    "std": "|generator sd - target sd| in target sds",
    "ks": "Kolmogorov-Smirnov distance sup|F - target CDF|",
    "tail": "share of values beyond the target's 0.135% or 99.865% quantile (3 sds for a normal), per side",
    "fixed_share": "share of the output's variance fixed per coordinate across draws (ICC)",
    "collapse": "fixed share from which memorisation counts as a collapse",
    "repeats": "cross-draw repeated values over the number the data's resolution gives by chance",
}


@dataclass(frozen=True)
class Tolerance:
    """The bands a generator must be shown inside to be on target. Defaults and why:

    mean = 0.1: |mean error| <= 0.1 target sd. A shift of 0.1 sd moves a normal's CDF by at most
      0.04 (KS distance) and is below what one draw of 500 values detects with 80% power (about
      0.125 sd), so a user of one such draw could not tell it from the target.
    std = 0.1: |sd error| <= 0.1 target sd, the same scale of error for the spread.
    ks = 0.04: sup|F - target CDF| <= 0.04, the KS distance of a 0.1 sd shift of a normal (the
      mean band's own size). It bounds the shape: an equal mixture of N(mean -/+ 0.8 sd, 0.6 sd),
      two modes with the right mean and sd, is 0.046 away, so it is never shown within (a wider
      0.06 band would have passed it). A normal generator near two corners of the moment bands
      (mean +0.1 sd with sd 0.9 sd) is up to 0.056 away and can be shown outside this band while
      inside both moment bands: the decision list then names it off_target, not wrong_shape,
      because its shape tests do not reject.
    tail = 0.005: at most 0.5% of values beyond 3 target sds on either side (the target has
      0.135%). The largest such share of a normal generator inside the moment bands is 0.42%
      (mean +0.1 sd, sd 1.1 sd); a t(3) or t(5) scaled to the right sd has 0.69% and 0.59%. The
      KS distance is blind to tails (t(2) around the target's mean is within 0.042 of it).
    fixed_share = 0.05: at most 5% of the output's variance may be the same in every noise draw
      (intraclass correlation of coordinates across draws) before the generator counts as
      memorising. Shown above it: ``memorised``.
    collapse = 0.2: shown above a fifth of the variance fixed, memorisation is a ``collapsed``
      generator (most of what it emits does not depend on its noise). Fixed shares of 0.3 are
      shown above it at K = 100 draws of 500 (the interval's half-width is about 0.03 there).
    repeats = 2.0: values repeated exactly across draws may number at most twice what the data's
      resolution (float32 spacing, or the grid of a rounded file) gives by chance. A generator
      that re-emits a finite pool of values repeats them far more often; rounding alone cannot
      double the chance count, which is computed from that same rounding.

    Any target (gancheck.targets): the same numbers, read in the target's own terms. mean and
    std are shares of the target's sd; ks is a distance between CDFs, meaningful for any
    continuous target; tail bounds the share beyond the target's quantiles of a normal's 3-sd
    tail mass, 0.135% per side (gancheck.stats.criteria). The figures quoted above for ks and
    tail were computed for the normal target.
    """

    mean: float = 0.1
    std: float = 0.1
    ks: float = 0.04
    tail: float = 0.005
    fixed_share: float = 0.05
    collapse: float = 0.2
    repeats: float = 2.0

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, _band_number(f.name, getattr(self, f.name)))
        for name in ("mean", "std", "ks", "tail", "fixed_share", "collapse"):
            if not getattr(self, name) > 0:
                raise ValueError(f"tolerance {name} must be > 0, got {getattr(self, name)!r}")
        if self.std >= 1:
            raise ValueError(f"tolerance std must be < 1 (a share of the target sd), got {self.std!r}")
        for name in ("ks", "tail", "fixed_share", "collapse"):
            if not getattr(self, name) < 1:
                raise ValueError(f"tolerance {name} must be < 1, got {getattr(self, name)!r}")
        if not self.collapse >= self.fixed_share:
            raise ValueError(f"tolerance collapse must be >= fixed_share ({self.fixed_share!r}), "
                             f"got {self.collapse!r}")
        if not self.repeats >= 1:
            raise ValueError(f"tolerance repeats must be >= 1, got {self.repeats!r}")

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    def describe(self) -> str:
        """The tolerance in plain sentences, for a report's Methods and a run's record."""
        return (
            f"A generator is on target when its draws show it within every band of the declared "
            f"tolerance: its mean within {self.mean:g} target sd of the target mean; its sd within "
            f"{self.std:g} target sd of the target sd; the Kolmogorov-Smirnov distance between its "
            f"distribution and the target at most {self.ks:g}; at most {self.tail:.2%} of its values "
            f"beyond the target's 0.135% and 99.865% quantiles on either side (3 sds from the mean "
            f"of a normal target); at most {self.fixed_share:.0%} of its output's variance fixed "
            f"across noise draws (memorisation), and from {self.collapse:.0%} a collapse; and values "
            f"repeated across draws at most {self.repeats:g} times as often as the data's "
            f"resolution gives by chance.")

    @classmethod
    def parse(cls, text: str) -> "Tolerance":
        """``"mean=0.1,std=0.05"`` -> Tolerance (unnamed fields keep their defaults).

        ValueError naming the bad part (the CLI prints it as one line)."""
        values: dict[str, float] = {}
        known = [f.name for f in fields(cls)]
        for part in str(text).split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep:
                raise ValueError(f"--tolerance {part!r}: expected name=value (names: {', '.join(known)})")
            if name not in known:
                raise ValueError(f"--tolerance {name!r}: unknown (names: {', '.join(known)})")
            if name in values:
                raise ValueError(f"--tolerance {name!r}: given twice")
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"--tolerance {name}={value.strip()!r}: not a number") from None
            values[name] = number
        try:
            return cls(**values)
        except ValueError as exc:
            raise ValueError(f"--{exc}") from None


def _band_number(name: str, value):
    """A band's value as given when it is a Python int or float; numpy's real scalars
    (np.float32(0.2), np.int64(3): what arithmetic on arrays yields) as the plain float they
    equal, so the tolerance prints and records like one typed by hand. bool is refused: True is
    no band width (numbers.Real admits Python's bool, not numpy's)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"tolerance {name} must be a finite number, got {value!r}")
    return value if type(value) in (int, float) else float(value)


#: What each field bounds, for tables and help text.
FIELD_HELP = dict(_FIELD_HELP)


def as_tolerance(tolerance) -> Tolerance:
    """``tolerance`` as given, or the default Tolerance() for None; ValueError for anything else."""
    if tolerance is None:
        return Tolerance()
    if not isinstance(tolerance, Tolerance):
        raise ValueError(f"tolerance must be a gancheck Tolerance, got {type(tolerance).__name__}")
    return tolerance
