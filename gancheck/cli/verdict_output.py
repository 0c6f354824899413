"""`gancheck score --draws`: the generator's verdict against a tolerance, printed beside judge's table.

The per-test table (gancheck.judge) stays on stdout in the chosen format; the verdict follows it
there for the plain table format, and goes to stderr for json and csv so that stdout stays one
machine-readable table. ``--tolerance name=value,...`` overrides bands of gancheck.Tolerance
(parsed before any file is read: a bad part is one line naming it, exit 2).
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


def parse_tolerance(args):
    """The Tolerance of ``--tolerance`` (defaults when absent); ValueError names the bad part."""
    from gancheck.stats.tolerance import Tolerance
    text = getattr(args, "tolerance", None)
    return Tolerance() if text is None else Tolerance.parse(text)


def judge(draws: np.ndarray, args, tolerance):
    """The verdict on (K, n) draws with the command's target, alpha and tolerance."""
    from gancheck.stats.verdict import verdict

    return verdict(draws, mean=args.mean, std=args.std, alpha=args.alpha, tolerance=tolerance)


def verdict_text(found) -> str:
    """The verdict in a few lines: outcome and why, the detected flag, the bands, the tolerance."""
    lines = [f"verdict: {found.outcome}: {found.reason}",
             f"detected: {'yes' if found.detected else 'no'} (whether any single test detected a "
             f"departure, whatever the tolerance)"]
    if len(found.criteria):
        lines.append(found.criteria.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    lines.append("tolerance: " + ", ".join(f"{k}={v:g}" for k, v in found.tolerance.as_dict().items())
                 + f"; alpha={found.alpha:g}; K={found.k}, n={found.n}")
    return "\n".join(lines)
