"""`python -m gancheck report RUN_DIR [--out DIR]`: re-render a run's report from its store, or
from the files a run folder publishes when it has no store.

No training happens here. Imports of pandas, matplotlib and the store stay inside ``run``: this
module is imported for every gancheck command.
"""
from __future__ import annotations

import json
import os
from contextlib import nullcontext
from pathlib import Path

from gancheck.cli import UsageError, folder
from gancheck.cli.out_folder import made_folder, refuse_non_folder


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "report", help="re-render a run's HTML report from its store (no training)",
        description="Re-render RUN_DIR's report (index.html) from the results stored in RUN_DIR, "
                    "or, where RUN_DIR has no store.sqlite, from the files it publishes (the CSVs, "
                    "provenance.json and the figures' data).")
    parser.add_argument("run_dir", metavar="RUN_DIR", type=folder("report: RUN_DIR"),
                        help="a run folder written by `python -m experiments.ablate`, or a "
                             "published copy of one without its store")
    parser.add_argument("--out", metavar="DIR", type=folder("report: --out"), default=None,
                        help="folder for index.html (default: RUN_DIR, beside scores.csv and "
                             "summary.csv, which the page links to)")
    parser.add_argument("--caveat", metavar="TEXT", action="append", default=[],
                        help="add a limitation, in words, to RUN_DIR's run record before rendering "
                             "(dated, marked as added after the run; the page lists it with the "
                             "run's other limitations); repeat for several")
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
    if args.out is not None:
        refuse_non_folder("report: --out", args.out)
    from gancheck.report.collect import load_report_input, publish
    from gancheck.report.published import PAGE_FILES, rebuild
    from gancheck.runs.store import STORE_NAME

    # Re-rendering into the run's own folder (`report X --out X`, or a link to it) is in place.
    out = None if args.out is None or _same_folder(args.out, run_dir) else args.out
    caveats = [" ".join(c.split()) for c in args.caveat]
    if caveats:
        if not all(caveats):
            raise UsageError("report: --caveat: empty text; say the limitation in words")
        if out is not None:
            raise UsageError(f"report: --caveat with --out {str(args.out)!r}: a caveat is added to RUN_DIR's "
                             "own record; render in place (without --out), then copy")
        _add_caveats(run_dir, caveats)
    # A published folder (its CSVs and page files, no store) is rebuilt from those files alone;
    # one with only some of them says which is missing.
    if not (run_dir / STORE_NAME).exists() and any((run_dir / n).is_file() for n in PAGE_FILES):
        _check_destination(run_dir, out, _published_record(run_dir))
        _write(run_dir, out, lambda: rebuild(run_dir, out))
        path = (out or run_dir) / "index.html"
    else:
        # A missing or corrupt store raises ValueError with a one-line message; run_cli prints
        # it and exits 2. In place, the CSVs the page links to are rewritten from the same store,
        # atomically; elsewhere, the page and every CSV it shows and checksums, so the folder
        # publishes whole.
        data = load_report_input(run_dir)
        _check_destination(run_dir, out, data.provenance)
        _write(run_dir, out, lambda: publish(data, out or run_dir))
        path = (out or run_dir) / "index.html"
    print(path)
    return 0


def _add_caveats(run_dir: Path, caveats: list[str]) -> None:
    """Append the caveats to the run's record: in its store (under the run's lock: not while
    it trains), or in a published folder's provenance.json."""
    from gancheck.report.published import PAGE_FILES
    from gancheck.runs.files import RunLock, atomic_write_text
    from gancheck.runs.provenance import Provenance, caveat_added_after_run
    from gancheck.runs.store import STORE_NAME, Store
    added = [caveat_added_after_run(c) for c in caveats]
    if (run_dir / STORE_NAME).exists():
        with RunLock(run_dir):
            store = Store(run_dir / STORE_NAME, create=True, lock_held=True)  # an existing store, to write
            try:
                record = Provenance.from_dict(store.get_meta("provenance") or {})
                if not record.name:
                    raise UsageError(f"report: --caveat: {run_dir / STORE_NAME} holds no run yet")
                record.caveats.extend(added)
                store.set_meta("provenance", record.to_dict())
            finally:
                store.close()
        return
    record = _published_record(run_dir)
    if not isinstance(record, dict) or not any((run_dir / n).is_file() for n in PAGE_FILES):
        raise UsageError(f"report: --caveat: {run_dir} has no run record (store.sqlite or provenance.json) "
                         "to add it to")
    record["caveats"] = [*record.get("caveats", []), *added]
    atomic_write_text(run_dir / "provenance.json", json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): not the same folder
        return False


def _published_record(folder: Path):
    """The run record of a published folder; None where it cannot be read (rebuild then says
    why, before it writes anything)."""
    try:
        return json.loads((folder / "provenance.json").read_text())
    except (OSError, ValueError):
        return None


def _run_identity(record) -> tuple[str, str] | None:
    """Which run a record is of: its name and when it started (kept by every resume)."""
    if isinstance(record, dict) and record.get("started"):
        return str(record.get("name", "")), str(record["started"])
    return None


def _check_destination(run_dir: Path, out: Path | None, record) -> None:
    """Refuse, before anything is written, a destination whose files are not this run's report:
    the page and CSVs of another run (or of someone else) would be replaced by this run's."""
    from gancheck.runs.driver import has_store, outputs_in, refuse_folders_at_outputs
    if out is None:
        refuse_folders_at_outputs(run_dir, "report: RUN_DIR")
        return
    option = "report: --out"
    if not out.exists():
        return
    refuse_folders_at_outputs(out, option)
    if has_store(out):
        raise UsageError(f"{option}={str(out)!r}: holds a run's store (store.sqlite); a report written "
                         f"there would replace that run's page and CSVs with those of {str(run_dir)!r}: choose "
                         "another --out (or re-render that run with `gancheck report` on it)")
    found = outputs_in(out)
    if not found:
        return
    theirs = _published_record(out) if "provenance.json" in found else None
    if _run_identity(theirs) is None:
        raise UsageError(f"{option}={str(out)!r}: holds {', '.join(found)} but no run record "
                         "(provenance.json) saying they are a report of this run, so nothing was "
                         "written: choose another --out")
    if _run_identity(theirs) != _run_identity(record):
        name, started = _run_identity(theirs)
        raise UsageError(f"{option}={str(out)!r}: holds the report of another run ({name!r}, started "
                         f"{started}), not of {str(run_dir)!r}, so nothing was written: choose "
                         "another --out")


def _write(run_dir: Path, out: Path | None, write) -> None:
    """Make --out if needed and ``write``; a folder that takes no write is one line naming it.

    Should ``write`` fail or be interrupted, the report files it had added to the folder are
    removed again (and a --out it made): a half-written report holds scores.csv but not yet
    provenance.json, and the rerun would refuse it as someone else's files. Files that were
    there before are each replaced whole (atomically), so they stay a report of this run."""
    from gancheck.runs.driver import outputs_in
    from gancheck.runs.files import WriteError, folder_refusal
    with made_folder("report: --out", out) if out is not None else nullcontext():
        target = out or run_dir
        before = set(outputs_in(target))
        try:
            write()
        except BaseException as exc:
            for name in set(outputs_in(target)) - before:
                (target / name).unlink(missing_ok=True)
            if not isinstance(exc, WriteError):
                raise
            if out is None:
                refused = folder_refusal("report: RUN_DIR", run_dir, exc, "render the report elsewhere "
                                         "with --out DIR")
            else:
                refused = folder_refusal("report: --out", out, exc, "choose another --out")
            raise (refused or exc) from None


def _link_target(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return "?"
