"""Where a design's time goes: core-seconds per arm, compiling, judging and the controls.

    python benchmarks/design_time.py --run [--cold | --cache DIR] [--keep DIR] [--json] [-- ABLATE ARGS]
    python benchmarks/design_time.py RUN_FOLDER [--json]

``--run`` runs the main job itself, ``python -m experiments.ablate --fresh`` into a scratch
folder (ABLATE ARGS after ``--`` choose the design and preset; default: the full default design),
and times it: wall time, and user + system CPU seconds of the whole process tree (the driver and
every worker, from the kernel's accounting of waited-for children), so CPU use = CPU seconds /
wall (200% is both cores busy all the time). ``--cold`` points the on-disk caches a run fills
(torch.compile's, ``TORCHINDUCTOR_CACHE_DIR``, and gancheck's simulated null tables,
``GANCHECK_CACHE_DIR``, in its subfolder ``gancheck``) at a new empty folder, as on a fresh
machine; ``--cache DIR`` uses (and fills) DIR, so running twice with the same DIR gives the warm
figure; neither: the user's own caches.

Either way, the per-arm table comes from the run's record: every invocation stores what its
workers spent on each arm (``arm_costs``, gancheck.runs.costs): CPU seconds, of which compiling
(torch.compile's own counter) and judging (the verdict on the member's draws). A control's
replicates are all judging. What is left of the tree's CPU seconds is the driver: planning,
storing, the CSVs and the report. A RUN_FOLDER is a run folder (its store) or a published one
(its provenance.json).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gancheck.runs.costs import COST_FIELDS
from gancheck.runs.provenance import Provenance, cpu_model


def read_provenance(folder: Path) -> Provenance:
    published = folder / "provenance.json"
    if (folder / "store.sqlite").exists():
        from gancheck.runs.store import Store
        store = Store(folder / "store.sqlite")
        try:
            return Provenance.from_dict(store.get_meta("provenance") or {})
        finally:
            store.close()
    if published.exists():
        return Provenance.from_dict(json.loads(published.read_text()))
    raise SystemExit(f"{folder}: neither a run folder (store.sqlite) nor a published one (provenance.json)")


def arm_costs(record: Provenance) -> dict[str, dict]:
    """arm -> summed costs over every invocation that computed into the folder."""
    totals: dict[str, dict] = {}
    for invocation in record.invocations:
        for arm, cost in (invocation.arm_costs or {}).items():
            row = totals.setdefault(arm, {"members": 0, **{f: 0.0 for f in COST_FIELDS}})
            for name in ("members", *COST_FIELDS):
                row[name] += cost.get(name, 0)
    return totals


def run_main_job(ablate_args: list[str], cache: str | None, keep: Path | None) -> dict:
    out = keep or Path(tempfile.mkdtemp(prefix="gancheck-design-time-"))
    env = dict(os.environ)
    if cache is not None:
        env["TORCHINDUCTOR_CACHE_DIR"] = cache
        env["GANCHECK_CACHE_DIR"] = os.path.join(cache, "gancheck")
    command = [sys.executable, "-m", "experiments.ablate", *ablate_args, "--out", str(out), "--fresh"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, cwd=Path(__file__).resolve().parents[1])
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"command": " ".join(["python -m experiments.ablate", *ablate_args, "--out", str(out), "--fresh"]),
            "compile_cache": cache or os.environ.get("TORCHINDUCTOR_CACHE_DIR", "default"),
            "wall_s": wall, "cpu_s": cpu, "cpu_use_percent": 100 * cpu / wall, "folder": str(out)}


def table(costs: dict[str, dict]) -> list[dict]:
    rows = [{"arm": arm, **cost, "training_s": cost["core_s"] - cost["compile_s"] - cost["judge_s"]}
            for arm, cost in costs.items()]
    return sorted(rows, key=lambda r: -r["core_s"])


def print_report(rows: list[dict], timing: dict | None, record: Provenance) -> None:
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()}; "
          f"design {record.design!r}, preset {record.preset!r}")
    if timing:
        print(f"command: {timing['command']}  (compile cache: {timing['compile_cache']})")
    print(f"{'arm':34s} {'members':>7s} {'core-s':>8s} {'training':>9s} {'compile':>8s} {'judging':>8s}")
    for r in rows:
        print(f"{r['arm']:34s} {r['members']:7d} {r['core_s']:8.1f} {r['training_s']:9.1f} "
              f"{r['compile_s']:8.1f} {r['judge_s']:8.1f}")
    total = {name: sum(r[name] for r in rows) for name in ("core_s", "training_s", "compile_s", "judge_s")}
    controls = sum(r["core_s"] for r in rows if r["arm"].startswith("control:"))
    print(f"{'workers, all arms':34s} {'':7s} {total['core_s']:8.1f} {total['training_s']:9.1f} "
          f"{total['compile_s']:8.1f} {total['judge_s']:8.1f}")
    print(f"of which the controls: {controls:.1f} core-s; judging the generators: "
          f"{total['judge_s'] - controls:.1f} core-s")
    if timing:
        print(f"wall {timing['wall_s']:.1f} s ({timing['wall_s'] / 60:.1f} min), CPU {timing['cpu_s']:.1f} s: "
              f"{timing['cpu_use_percent']:.0f}% use; the driver (imports, planning, store, CSVs, report): "
              f"{timing['cpu_s'] - total['core_s']:.1f} core-s")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ablate_args = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, help="a run or published folder to read")
    parser.add_argument("--run", action="store_true", help="run the main job and time it")
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument("--cold", action="store_true", help="empty caches (torch.compile's and the null tables'), as on a new machine")
    cache.add_argument("--cache", help="the caches' folder (TORCHINDUCTOR_CACHE_DIR; the null tables in its subfolder gancheck)")
    parser.add_argument("--keep", type=Path, help="run into this folder (default: a new temporary one)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.run == (args.folder is not None):
        parser.error("give either --run or a RUN_FOLDER")
    timing = None
    folder = args.folder
    if args.run:
        cache_dir = tempfile.mkdtemp(prefix="gancheck-inductor-cold-") if args.cold else args.cache
        timing = run_main_job(ablate_args, cache_dir, args.keep)
        timing["cold"] = bool(args.cold)
        folder = Path(timing["folder"])
    record = read_provenance(folder)
    rows = table(arm_costs(record))
    if args.json:
        print(json.dumps({"timing": timing, "arms": rows, "machine": cpu_model(), "cores": os.cpu_count()}, indent=1))
    else:
        print_report(rows, timing, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
