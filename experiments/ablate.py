"""python -m experiments.ablate: train the design's arms over many seeds, score, aggregate, report.

Rerunning the same command resumes: finished members are kept, the rest are trained.
"""
from __future__ import annotations

import signal

# Ctrl-C and SIGTERM are held from here until run_cli is ready to report them (its ``held``):
# even the light imports below take tens of milliseconds, and a Ctrl-C during them was a
# traceback and exit -2. Only when run as the command: a worker process re-imports this module
# as it starts (as __mp_main__), and must stay stoppable by SIGTERM.
_HELD = None
if __name__ == "__main__" and hasattr(signal, "pthread_sigmask"):
    _HELD = frozenset(signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM}))

import shlex  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Sequence  # noqa: E402

# Only light imports here: torch and the rest are imported inside main(), under sigint_deferred,
# and worker processes start faster for it.
from gancheck.cli import (MAX_EPOCHS, MAX_SEEDS, ArgumentParser, UsageError, device_option, exit_with,  # noqa: E402
                          folder, positive_int, sigint_deferred, target_option)
from gancheck.cli.judged_target import TARGET_HELP  # noqa: E402
from gancheck.cli.out_folder import made_folder  # noqa: E402

#: Exit status of a run stopped by its machine (full disk, read-only folder, lost Dask cluster),
#: as opposed to bad input (2) or Ctrl-C (130).
EXIT_RUN_FAILED = 1


#: The default maximum of ``--seeds auto``: twice the full preset's fixed 20 seeds per arm.
AUTO_MAX_SEEDS = 40

#: The largest seed: the store keeps each seed as an SQLite INTEGER, a signed 64-bit number.
MAX_SEED = 2**63 - 1



@dataclass(frozen=True)
class AutoSeeds:
    """``--seeds auto[:MAX]``: a sequential design of at most ``max_seeds`` seeds per arm."""
    max_seeds: int


@dataclass(frozen=True)
class SeedCount:
    """``--seeds N``: the design's first N default seeds (from 0; the transfer design's from 40,
    so that a count never picks the seeds the fix was chosen on)."""
    count: int


def _check_seed_count(text: str, count: int) -> None:
    if count > MAX_SEEDS:
        raise UsageError(f"--seeds={text!r}: {count:,} seeds per arm; at most {MAX_SEEDS:,}")


def parse_seeds(text: str) -> list[int] | SeedCount | AutoSeeds:
    """'N' -> the design's first N seeds; 'A:B' -> seeds A..B-1; 'a,b,c' -> those seeds; 'auto[:MAX]' ->
    a sequential design that stops each arm when decided (at most MAX seeds, default 40).

    At most MAX_SEEDS seeds, each at most MAX_SEED: checked before a list is built, so a huge
    count or range is one line, not an overflow (or a store refusing the seed after training)."""
    if text == "auto" or text.startswith("auto:"):
        _, colon, limit = text.partition(":")
        if colon and not limit:  # "auto:" is a maximum left out, not a request for the default
            raise UsageError(f"--seeds={text!r}: auto:MAX needs a number after the colon "
                             f"(or write auto for at most {AUTO_MAX_SEEDS})")
        if colon and not (limit.isascii() and limit.isdigit()):  # not '²', '-3', ' 5', 'abc'
            raise UsageError(f"--seeds={text!r}: auto:MAX needs a whole number of seeds after the colon, "
                             f"got {limit!r}")
        if colon and int(limit) < 2:
            raise UsageError(f"--seeds={text!r}: auto:MAX needs a maximum of at least 2 seeds")
        max_seeds = int(limit) if colon else AUTO_MAX_SEEDS
        _check_seed_count(text, max_seeds)
        return AutoSeeds(max_seeds)
    try:
        if ":" in text:
            start, stop = (int(p) for p in text.split(":"))
            seeds = range(start, stop)   # its length and ends are known without building it
        elif "," in text:
            seeds = [int(p) for p in text.split(",")]
        else:
            count = int(text)
            if count < 1:
                raise UsageError(f"--seeds={text!r}: the seed count must be >= 1")
            _check_seed_count(text, count)
            return SeedCount(count)
    except ValueError:
        raise UsageError(f"--seeds={text!r}: expected a count N, a range A:B or a list a,b,c of integers") from None
    count = max(0, seeds.stop - seeds.start) if isinstance(seeds, range) else len(seeds)  # len(range) overflows
    _check_seed_count(text, count)
    if not count or min(seeds) < 0 or len(set(seeds)) != count:
        raise UsageError(f"--seeds={text!r}: seeds must be distinct non-negative integers, at least one")
    if max(seeds) > MAX_SEED:
        raise UsageError(f"--seeds={text!r}: a seed is at most 2**63 - 1 = {MAX_SEED} (the store keeps "
                         "each as a signed 64-bit integer)")
    return list(seeds)


def design_seeds(design: str, seeds: list[int] | SeedCount | AutoSeeds | None) -> list[int] | None:
    """The seed list --seeds asks for in ``design``: a count or auto's maximum counts from the
    design's first seed; None leaves the preset's default."""
    from experiments.designs import first_seed
    first = first_seed(design)
    if isinstance(seeds, AutoSeeds):
        return list(range(first, first + seeds.max_seeds))
    if isinstance(seeds, SeedCount):
        return list(range(first, first + seeds.count))
    return seeds


def _dashed_seeds_joined(argv: Sequence[str]) -> list[str]:
    """argv with ``--seeds -2:1`` written as ``--seeds=-2:1``. argparse reads a value that starts
    with '-' as an option unless it looks like a negative number ('-2' does, '-2:1' and '-2,1' do
    not), and would refuse it as "expected one argument"; joined, parse_seeds names what is
    wrong with it. Only a '-' followed by a digit is taken: ``--seeds --epochs 5`` stays a
    missing value."""
    joined, rest = [], list(argv)
    while rest:
        word = rest.pop(0)
        if word == "--seeds" and rest and rest[0][:1] == "-" and rest[0][1:2].isdigit():
            word = f"--seeds={rest.pop(0)}"
        joined.append(word)
    return joined


#: The most local worker processes --workers takes, per core this process may use. Each worker
#: runs one torch thread, so more than one per core only share the cores: a few are allowed (to
#: measure oversubscription), while a typo such as 100000 would start processes (each importing
#: torch, a few hundred MB) until the machine ran out of memory.
WORKERS_PER_CORE = 4


def workers_option():
    """--workers: 1 to WORKERS_PER_CORE per core (the cores default_workers counts)."""
    from gancheck.runs.workers import default_workers
    cores = default_workers()
    return positive_int("--workers", most=WORKERS_PER_CORE * cores,
                        why_most=f"{WORKERS_PER_CORE} per core; this machine gives the run {cores}")


def dask_address(text: str) -> str:
    # Checked while parsing, so a malformed address is refused before any folder is made. A
    # blank one must not fall through to the local executor (the driver treats '' as "no
    # --dask"): the user asked for a cluster and would silently get this machine.
    from gancheck.runs.dask_executor import parse_address
    from gancheck.runs.workers import default_workers
    try:
        spec = parse_address(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    cores = default_workers()
    if spec.n_workers is not None and spec.n_workers > WORKERS_PER_CORE * cores:
        # A local cluster runs on this machine, as --workers does, and under the same bound.
        raise UsageError(f"--dask={text!r}: at most {WORKERS_PER_CORE * cores} local workers "
                         f"({WORKERS_PER_CORE} per core; this machine gives the run {cores})")
    return text


def build_parser() -> ArgumentParser:
    from gancheck.gan.device import DEVICES
    from gancheck.gan.engine import COMPILE_CHOICES

    from experiments.designs import DESIGNS, PRESETS
    p = ArgumentParser(prog="python -m experiments.ablate", description=__doc__)
    p.add_argument("--preset", default="full", choices=list(PRESETS),
                   help="full: the seed's 2001 epochs, 20 seeds per arm (default); quick: a first look in under a minute")
    p.add_argument("--design", default="one-factor", choices=list(DESIGNS),
                   help="one-factor: vary one factor at a time around the seed (default); factorial: cross "
                        "the seed's design choices; remedies: cross the remedies for the seed's collapse; "
                        "fix: the fix against the seed and against the fix less each of its parts; transfer: "
                        "the fix and the seed's configuration on N(4, 1.25) and on a bimodal, a skewed and a "
                        "heavy-tailed target (seeds 40-59 by default: fresh for the fix)")
    p.add_argument("--target", type=target_option, default=None, metavar="SPEC",
                   help=f"every arm's target: {TARGET_HELP}; not with --design transfer, which sets each "
                        "arm's own target")
    p.add_argument("--seeds", type=parse_seeds, default=None,
                   help="seed count N (the design's first N seeds: 0..N-1, for transfer 40..39+N), a "
                        "range A:B, or a list a,b,c; same seeds in every arm; or auto[:MAX]: add seeds 5 "
                        "at a time and stop each arm once its primary comparisons are decided "
                        f"(at most MAX, default {AUTO_MAX_SEEDS}); at most {MAX_SEEDS:,} seeds, each "
                        "at most 2**63 - 1")
    p.add_argument("--epochs", type=positive_int("--epochs", most=MAX_EPOCHS), default=None,
                   help=f"override the preset's epochs (at most {MAX_EPOCHS:,})")
    p.add_argument("--out", type=folder("--out"), default=None,
                   help="run folder (default: reports/<preset> for the one-factor design, "
                        "reports/<preset>-<design> for the others)")
    p.add_argument("--device", type=device_option("--device"), default="cpu", choices=list(DEVICES),
                   help="where to train: cpu (default), cuda, or auto (cuda where a GPU is found)")
    p.add_argument("--compile", default="auto", choices=list(COMPILE_CHOICES),
                   help="torch.compile the training steps: auto (where it was measured to pay and a "
                        "C++ compiler is found), yes or no; recorded in the report")
    p.add_argument("--workers", type=workers_option(), default=None,
                   help="local worker processes, one torch thread each (default: one per core; at most "
                        f"{WORKERS_PER_CORE} per core)")
    p.add_argument("--dask", type=dask_address, default=None, metavar="ADDRESS",
                   help="tcp://HOST:PORT of a Dask scheduler, or local[:N][:dashboard] for a LocalCluster "
                        "of N workers here (with its dashboard); the cluster's workers replace --workers")
    # --fresh deletes every result, --replace-changed only the changed ones: one or the other.
    existing = p.add_mutually_exclusive_group()
    existing.add_argument("--fresh", action="store_true", help="discard the run folder's results and start over")
    existing.add_argument("--replace-changed", action="store_true",
                   help="recompute the stored members whose configuration differs from this command's, "
                        "deleting their results (without it such a folder is refused)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in logs)")
    return p


def default_out(preset: str, design: str) -> Path:
    return Path("reports") / (preset if design == "one-factor" else f"{preset}-{design}")


def _import_heavy() -> None:
    # Everything the run will import, the report's plotting included, loaded at once.
    with sigint_deferred(sigterm=True):
        import gancheck.gan.device  # noqa: F401
        import gancheck.report.render  # noqa: F401
        import gancheck.runs.driver  # noqa: F401
        import gancheck.report.collect  # noqa: F401
        import gancheck.report.summary  # noqa: F401

        import experiments.designs  # noqa: F401


def main(argv: Sequence[str] | None = None) -> int:
    _import_heavy()
    args = build_parser().parse_args(_dashed_seeds_joined(sys.argv[1:] if argv is None else argv))
    from experiments.designs import build_design
    auto = args.seeds if isinstance(args.seeds, AutoSeeds) else None
    from gancheck.config import ConfigError
    if args.dask and args.workers is not None:
        raise UsageError("--workers: a --dask run's workers are the cluster's; give one of the two")
    if args.target is not None and args.design == "transfer":
        raise UsageError("--target: the transfer design sets each arm's target itself; leave --target out")
    try:
        design = build_design(design=args.design, preset=args.preset,
                              seeds=design_seeds(args.design, args.seeds), epochs=args.epochs,
                              target=args.target)
    except ConfigError as exc:
        if exc.field != "target":
            raise
        raise UsageError(f"--target={args.target!r}: {exc.why}") from None
    out = args.out or default_out(args.preset, args.design)
    command = shlex.join(["python", "-m", "experiments.ablate", *(sys.argv[1:] if argv is None else argv)])
    from gancheck.report.collect import write_outputs
    from gancheck.report.summary import print_summary
    from gancheck.runs.dask_executor import ClusterLost
    from gancheck.runs.driver import run_design
    from gancheck.runs.files import WriteError
    from gancheck.runs.workers import default_workers
    workers = args.workers or default_workers()
    # A run refused before it began (an unusable device, an unreachable --dask) leaves no empty
    # folder behind; one that began keeps its folder, store and lock file included.
    with made_folder("--out", out):
        try:
            # Everything the run stored becomes the CSVs and the report (each written atomically),
            # while the folder is still the run's.
            options = dict(workers=workers, dask=args.dask, device=args.device, compile=args.compile,
                           fresh=args.fresh, replace_changed=args.replace_changed, command=command,
                           show_progress=not args.no_progress,
                           finish=lambda outcome: print_summary(outcome, write_outputs(out)))
            if auto:
                from gancheck.runs.sequential import run_sequential
                run_sequential(design, out, max_seeds=auto.max_seeds, **options)
            else:
                run_design(design, out, **options)
        except (WriteError, ClusterLost) as exc:
            # Not bad input but the machine: a full disk, a read-only folder, a lost cluster. What
            # was stored stays (each member is committed whole), and the same command resumes.
            print(f"error: {exc}; stopped, finished members are saved: rerun the same command to resume "
                  "once this is fixed", file=sys.stderr)
            return EXIT_RUN_FAILED
    return 0


if __name__ == "__main__":
    exit_with(main, resumable=True, held=_HELD)  # rerunning the same command resumes the run
