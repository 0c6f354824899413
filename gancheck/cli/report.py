"""`python -m gancheck report RUN_DIR [--out DIR]`: re-render a run's report from its store, or
from the files a run folder publishes when it has no store.

No training happens here. Imports of pandas, matplotlib and the store stay inside ``run``: this
module is imported for every gancheck command.
"""
from __future__ import annotations

from pathlib import Path

from gancheck.cli import UsageError


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "report", help="re-render a run's HTML report from its store (no training)",
        description="Re-render RUN_DIR's report (index.html) from the results stored in RUN_DIR, "
                    "or, where RUN_DIR has no store.sqlite, from the files it publishes (the CSVs, "
                    "provenance.json and the figures' data).")
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path,
                        help="a run folder written by `python -m experiments.ablate`, or a "
                             "published copy of one without its store")
    parser.add_argument("--out", metavar="DIR", type=Path, default=None,
                        help="folder for index.html (default: RUN_DIR, beside scores.csv and "
                             "summary.csv, which the page links to)")
    parser.set_defaults(handler=run)
    return parser


def run(args) -> int:
    run_dir = Path(args.run_dir)
    if run_dir.is_symlink() and not run_dir.exists():
        raise UsageError(f"report: RUN_DIR {str(run_dir)!r} is a symbolic link to "
                         f"{_link_target(run_dir)!r}, which does not exist (or loops)")
    if not run_dir.exists():
        raise UsageError(f"report: RUN_DIR {str(run_dir)!r} does not exist")
    # A symlinked run folder is followed, not refused: `reports/latest -> reports/2026-05-01` is a
    # usual way to name the current run. What is written (the CSVs and index.html, each by a
    # temp file renamed in the same folder) goes where the link leads, which is the run the user
    # named; nothing outside that folder is touched.
    if not run_dir.is_dir():
        raise UsageError(f"report: RUN_DIR {str(run_dir)!r} is not a folder")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise UsageError(f"report: --out={str(args.out)!r} exists and is not a folder")
    from gancheck.report.collect import write_outputs
    from gancheck.report.published import PAGE_FILES, rebuild
    from gancheck.runs.store import STORE_NAME

    # A published folder (its CSVs and page files, no store) is rebuilt from those files alone;
    # one with only some of them says which is missing.
    if not (run_dir / STORE_NAME).exists() and any((run_dir / n).is_file() for n in PAGE_FILES):
        path = rebuild(run_dir, args.out)
        print(path)
        return 0
    # A missing or corrupt store raises ValueError with a one-line message; run_cli prints it
    # and exits 2.
    if args.out is None:
        # In place: the CSVs the page links to are rewritten from the same store, atomically.
        write_outputs(run_dir)
        path = run_dir / "index.html"
    else:
        # Elsewhere: the page and every CSV it shows and checksums, so the folder publishes whole.
        write_outputs(run_dir, out_dir=args.out)
        path = args.out / "index.html"
    print(path)
    return 0


def _link_target(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return "?"
