"""`python -m gancheck report RUN_DIR [--out DIR]`: re-render a run's report from its store.

No training happens here. Imports of pandas, matplotlib and the store stay inside ``run``: this
module is imported for every gancheck command.
"""
from __future__ import annotations

from pathlib import Path

from gancheck.cli import UsageError


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "report", help="re-render a run's HTML report from its store (no training)",
        description="Re-render RUN_DIR's report (index.html) from the results stored in RUN_DIR.")
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path,
                        help="a run folder written by `python -m experiments.ablate`")
    parser.add_argument("--out", metavar="DIR", type=Path, default=None,
                        help="folder for index.html (default: RUN_DIR, beside scores.csv and "
                             "summary.csv, which the page links to)")
    parser.set_defaults(handler=run)
    return parser


def run(args) -> int:
    run_dir = Path(args.run_dir)
    if not run_dir.exists():
        raise UsageError(f"report: RUN_DIR {str(run_dir)!r} does not exist")
    if not run_dir.is_dir():
        raise UsageError(f"report: RUN_DIR {str(run_dir)!r} is not a folder")
    from gancheck.report.render import render
    from gancheck.runs.collect import load_report_input

    # A missing or corrupt store raises ValueError with a one-line message; run_cli prints it
    # and exits 2.
    data = load_report_input(run_dir)
    path = render(data, args.out if args.out is not None else run_dir)
    print(path)
    return 0
