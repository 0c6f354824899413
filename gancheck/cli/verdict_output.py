"""`gancheck score --draws`: the generator's verdict against a tolerance, printed beside judge's table.

The per-test table (gancheck.judge) stays on stdout in the chosen format; the verdict follows it
there for the plain table format, and goes to stderr for json and csv so that stdout stays one
machine-readable table. ``--tolerance name=value,...`` overrides bands of gancheck.Tolerance
(parsed before any file is read: a bad part is one line naming it, exit 2). ``--target SPEC``
is parsed here too, for scoring and for verdicts alike, with the same one-line errors.
"""
from __future__ import annotations

import sys

import numpy as np


def add_arguments(parser) -> None:
    from gancheck.stats.tolerance import FIELD_HELP, Tolerance
    defaults = ", ".join(f"{k}={v:g}" for k, v in Tolerance().as_dict().items())
    parser.add_argument(
        "--tolerance", metavar="NAME=VALUE,...",
        help=f"--draws: the bands a generator must be shown inside to be on target (defaults: "
             f"{defaults}; names: {', '.join(FIELD_HELP)})")


TARGET_EXAMPLES = ("'gamma(a=2, scale=1)'", "'t(df=5, loc=4)'",
                   "'mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6))'")


def add_target_argument(parser) -> None:
    parser.add_argument(
        "--target", metavar="SPEC",
        help=f"the target distribution instead of N(--mean, --std): any continuous scipy.stats "
             f"family as a call with named parameters, e.g. {', '.join(TARGET_EXAMPLES)}")


def parse_target(args) -> None:
    """Check --target against --mean/--std and parse it (before any file is read): args.target
    becomes a gancheck Target or None, args.mean and args.std their values (defaults filled in).
    A bad spec is one line naming --target and the spec (UsageError, exit 2); so is, with
    --draws, a target no generator can be judged against (gancheck.cli.judged_target)."""
    from gancheck.cli import UsageError, judged_target
    from gancheck.targets import DEFAULT_MEAN, DEFAULT_STD, TargetError, parse

    spec = getattr(args, "target", None)
    given = [name for name in ("mean", "std") if getattr(args, name, None) is not None]
    if spec is not None and given:
        raise UsageError(f"--target {spec!r} with --{given[0]}: give the target's parameters in the spec")
    reference = getattr(args, "reference", None)
    if reference is not None and given:
        raise UsageError(f"--reference {reference} with --{given[0]}: the reference replaces N(--mean, --std); "
                         "give the reference alone")
    args.mean = DEFAULT_MEAN if getattr(args, "mean", None) is None else args.mean
    args.std = DEFAULT_STD if getattr(args, "std", None) is None else args.std
    if spec is None:
        args.target = None
        # Scoring samples takes any finite N(mean, std); judging a generator needs it bounded.
        why = judged_target.normal_refusal(args.mean, args.std) if getattr(args, "draws", False) else None
        if why:
            raise UsageError(why)
        return
    try:
        args.target = parse(spec)
    except TargetError as exc:
        raise UsageError(f"--target={spec!r}: {exc.why}") from None
    if getattr(args, "draws", False):
        why = judged_target.refusal(args.target)
        if why:
            raise UsageError(f"--target={spec!r}: {why}")


def parse_tolerance(args):
    """The Tolerance of ``--tolerance`` (defaults when absent); ValueError names the bad part."""
    from gancheck.cli import UsageError
    from gancheck.stats.tolerance import Tolerance
    text = getattr(args, "tolerance", None)
    if text is not None and not getattr(args, "draws", False):
        # Scoring samples tests each one for a departure; only a generator's verdict has bands.
        raise UsageError(f"--tolerance {text}: the tolerance's bands judge a generator on its noise "
                         "draws; add --draws")
    if text is not None and not text.replace(",", "").strip():
        # Tolerance.parse skips empty parts: '' (an unset shell variable) would be the defaults.
        raise UsageError(f"--tolerance={text!r}: no name=value given (leave --tolerance out for the "
                         "defaults)")
    return Tolerance() if text is None else Tolerance.parse(text)


def judge(draws: np.ndarray, args, tolerance):
    """The verdict on (K, n) draws with the command's target, alpha and tolerance."""
    from gancheck.stats.verdict import verdict

    return verdict(draws, mean=args.mean, std=args.std, alpha=args.alpha, tolerance=tolerance,
                   target=getattr(args, "target", None))


def verdict_text(found) -> str:
    """The verdict in a few lines: outcome and why, the detected flag, the bands, the tolerance."""
    lines = [f"verdict: {found.outcome}: {found.reason}",
             f"detected: {'yes' if found.detected else 'no'} (whether any single test detected a "
             f"departure, whatever the tolerance)"]
    if len(found.criteria):
        lines.append(found.criteria.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    lines.append("tolerance: " + ", ".join(f"{k}={v:g}" for k, v in found.tolerance.as_dict().items())
                 + f"; alpha={found.alpha:g}; K={found.k}, n={found.n}"
                 + (f"; target {found.target}" if getattr(found, "target", "") else ""))
    return "\n".join(lines)
