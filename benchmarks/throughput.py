"""Member-epochs per second: the reference trainer (gancheck.gan.reference) against the population trainer.

    python benchmarks/throughput.py [--device cpu|cuda] [--members 1,16,64,256,1024] [--epochs N]
                                    [--workers N] [--threads N] [--draw-threads N]
                                    [--compile auto|yes|no] [--draws auto|torch|philox[,...]]
                                    [--mode host|device] [--json]
                                    [--generator vector|per_value] [--noise uniform|normal]
                                    [--minibatch-std] [--instance-noise SD] [--g-loss NAME]
                                    [--g-activation NAME] [--d-activation NAME] [--jax]

A member-epoch is one epoch (20 D steps and 20 G steps) of one member. Both trainers run in the
same run under the same torch thread count: one warm-up run each, then ``--repeats`` rounds that
each time the reference once and every population size once; the figures are medians over the
rounds, and each speed-up is the ratio of two medians from the same rounds.

The reference runs in this process, one member at a time, as a user runs the seed. The
population runs the way the ablation runner runs it: split over ``--workers`` processes (default:
one per core), each with ``--threads`` torch threads, all started together at a barrier; a
population's rate is its member-epochs over the slowest worker's time. ``--workers 1`` trains it
in one process. ``--compile`` is the trainer's choice (gancheck.gan.engine): ``auto`` compiles
the feature sets and sizes where compiling was measured to pay (engine.compile_pays) and a C++
compiler is found, whatever the number of epochs, since the warm-up absorbs the compile time. The seed's configuration (H = 5, minibatch 10, 500 outputs; ``--hidden`` changes
H), with the seed's 4-moment discriminator and with the raw-500 one (``--features``). The
remedies are timed with their GANConfig options. ``--draws`` names the draw streams to time
(gancheck.gan.engine.DRAW_STREAMS; default auto, the trainer's own choice): with two, e.g.
``--draws torch,philox``, every population row is timed once per stream in the same rounds and
gets ``member_epochs_per_s_<stream>`` and the ratio ``philox_over_torch``. ``--mode device``
trains the GPU's way (one block, no host synchronisation), on any device (``--generator per_value`` uses Nag's one noise
number per value).

Peak RSS is measured for each size in a fresh subprocess (resource.getrusage(RUSAGE_SELF).ru_maxrss
in the child, which trains that population for two epochs), so sizes do not contaminate each
other. On CUDA the child reports peak GPU memory per member instead of RSS alone.

``--jax`` (needs the ``bench`` extra: ``pip install -c constraints.txt -e '.[bench]'``) also times,
in the same run after the rounds above, what a user would write instead of gancheck: the seed's
training in JAX, ``jit(vmap(scan))`` over the members and the whole loop (benchmarks/jax_anchor.py),
at each ``--members`` size with the same epochs and repeats (one warm-up call that compiles, then
the median). It runs in this process with JAX's defaults (XLA's thread pool over every core). Each
population row of the 4-moment discriminator gets ``jax_member_epochs_per_s`` and ``over_jax``,
the population's median over the anchor's. The anchor is the seed's configuration only, so
``--jax`` asks for ``moments`` among ``--features`` and the seed's settings otherwise.

Baselines run one member at a time on the CPU whatever ``--device`` says. The reference trainer
(``reference_member_epochs_per_s``; speed-ups are against it) is the seed's loop, the oracle of
the equivalence tests: for the 4-moment discriminator it runs the seed's own per-vector
get_moments with float powers, as a user runs the seed today. For that discriminator the same
loop is also timed with gancheck's batched get_moments
(``batched_reference_member_epochs_per_s``, train_reference(batched_moments=True), 2.3x faster),
and each row gives the speed-up over it too.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from gancheck import GANConfig
from gancheck.fields import brought_along
from gancheck.gan.device import describe_device, resolve_device
from gancheck.gan.device import TRAINING_MODES
from gancheck.gan.features import FEATURE_SETS
from gancheck.gan.engine import COMPILE_CHOICES, DRAW_STREAMS, check_compile_choice, compile_pays, resolve_draws
from gancheck.gan.population import Population, train_population
from gancheck.gan.reference import train_reference
from gancheck.runs.execute import single_thread

#: Epochs per reference run: its cost per epoch is flat; four (~0.15 s) keep timer noise small.
REFERENCE_EPOCHS = 4


def _compiled(features: str, args) -> bool:
    if args.compile == "auto":
        return compile_pays(_config(features, args.epochs, args), torch.device(args.device).type)
    return args.compile == "yes"


def _population_kwargs(features: str, args, draws: str | None = None) -> dict:
    compiled = _compiled(features, args)
    draws = draws or args.draws[0]
    return dict(device=args.device, draw_threads=args.draw_threads, compile=compiled, mode=args.mode,
                draws=resolve_draws(torch.device(args.device).type, compiled) if draws == "auto" else draws)


def _config(features: str, epochs: int, args) -> GANConfig:
    return GANConfig(num_epochs=epochs, features=features, g_hidden_size=args.hidden, generator=args.generator,
                     **brought_along("generator", args.generator),  # e.g. per_value: one noise number a call
                     noise=args.noise, minibatch_std=args.minibatch_std, instance_noise=args.instance_noise,
                     g_loss=args.g_loss, g_activation=args.g_activation, d_activation=args.d_activation)


def _population(members: int, features: str, epochs: int, args, first_seed: int = 0) -> Population:
    return Population([_config(features, epochs, args)] * members, list(range(first_seed, first_seed + members)))


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


_barrier = None  # in a worker process: the barrier every worker waits at before its timed run


def _init_worker(threads: int, barrier) -> None:
    """Set a worker up as the ablation runner sets up its own, with ``threads`` torch threads."""
    global _barrier
    single_thread()
    torch.set_num_threads(threads)
    _barrier = barrier


def _train_share(members: int, first_seed: int, features: str, args, draws: str | None = None) -> float:
    """Seconds to train this worker's share, timed from the moment every worker is ready."""
    population = _population(members, features, args.epochs, args, first_seed) if members else None
    _barrier.wait()
    start = time.perf_counter()
    if population is not None:
        train_population(population, **_population_kwargs(features, args, draws))
        _sync(args.device)
    return time.perf_counter() - start


def _shares(members: int, workers: int) -> list[tuple[int, int]]:
    """(members, first seed) per worker: an even split of seeds 0..members-1."""
    bounds = [members * i // workers for i in range(workers + 1)]
    return [(hi - lo, lo) for lo, hi in zip(bounds[:-1], bounds[1:])]


def _time_population(members: int, features: str, args, pool=None, draws: str | None = None) -> float:
    """Member-epochs per second of one population run (over the workers' processes, if a pool)."""
    if pool is None:
        population = _population(members, features, args.epochs, args)
        _sync(args.device)
        start = time.perf_counter()
        train_population(population, **_population_kwargs(features, args, draws))
        _sync(args.device)
        return members * args.epochs / (time.perf_counter() - start)
    futures = [pool.submit(_train_share, share, first, features, args, draws)
               for share, first in _shares(members, args.workers)]
    return members * args.epochs / max(f.result() for f in futures)


def _time_reference(features: str, args, batched_moments: bool = False) -> float:
    start = time.perf_counter()
    train_reference(_config(features, REFERENCE_EPOCHS, args), 0, batched_moments=batched_moments)
    return REFERENCE_EPOCHS / (time.perf_counter() - start)


def _peak_memory(members: int, features: str, args) -> dict:
    """Peak RSS (and GPU memory) of a fresh process training ``members`` for two epochs."""
    command = [sys.executable, os.path.abspath(__file__), "--memory-child", str(members), "--features", features,
               "--device", args.device, "--threads", str(args.threads), "--draw-threads", str(args.draw_threads),
               "--hidden", str(args.hidden), "--compile", args.compile, "--draws", args.draws[0],
               *(["--mode", args.mode] if args.mode else []), "--generator", args.generator,
               "--noise", args.noise, "--instance-noise", str(args.instance_noise), "--g-loss", args.g_loss,
               "--g-activation", args.g_activation, "--d-activation", args.d_activation,
               *(["--minibatch-std"] if args.minibatch_std else [])]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _memory_child(members: int, features: str, args) -> None:
    train_population(_population(members, features, 2, args), **_population_kwargs(features, args))
    result = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if args.device.startswith("cuda"):
        result["gpu_mb_per_member"] = round(torch.cuda.max_memory_allocated() / 2**20 / members, 4)
    print(json.dumps(result))


def measure(features: str, args, pool=None) -> dict:
    """Reference and population throughput for one feature set, side by side."""
    sizes = args.members
    start = time.perf_counter()
    # Only a feature set with the seed's own code (the 4 moments) has a batched twin to time.
    batched = FEATURE_SETS[features].seed_code is not None
    _time_reference(features, args)                       # warm-up
    for members in sizes:                           # warm-up (and, when compiling, compilation)
        for draws in args.draws:
            _time_population(members, features, args, pool, draws)
    warmup_s = time.perf_counter() - start
    reference, batched_reference = [], []
    population = {(m, draws): [] for m in sizes for draws in args.draws}
    for _ in range(args.repeats):
        reference.append(_time_reference(features, args))
        if batched:
            batched_reference.append(_time_reference(features, args, batched_moments=True))
        for members in sizes:
            for draws in args.draws:
                population[members, draws].append(_time_population(members, features, args, pool, draws))
    ref = statistics.median(reference)
    batched_ref = statistics.median(batched_reference) if batched else None
    rows = []
    for members in sizes:
        rates = {draws: statistics.median(population[members, draws]) for draws in args.draws}
        rate = rates[args.draws[0]]
        row = {"members": members, "member_epochs_per_s": round(rate, 1), "speedup": round(rate / ref, 1)}
        if len(args.draws) > 1:
            row.update({f"member_epochs_per_s_{draws}": round(r, 1) for draws, r in rates.items()})
            if {"torch", "philox"} <= set(rates):
                row["philox_over_torch"] = round(rates["philox"] / rates["torch"], 3)
        if batched:
            row["speedup_vs_batched_reference"] = round(rate / batched_ref, 1)
        if not args.no_memory:
            row.update(_peak_memory(members, features, args))
        rows.append(row)
    result = {"reference_member_epochs_per_s": round(ref, 2), "population": rows, "warmup_s": round(warmup_s, 1)}
    if batched:
        result["batched_reference_member_epochs_per_s"] = round(batched_ref, 2)
    return result


def _jax_anchor():
    """benchmarks/jax_anchor.py, or None after a one-line error where jax is not importable."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import jax_anchor
    except ImportError as error:
        print(f"throughput.py: error: --jax needs jax ({error}); install it with "
              f"pip install -c constraints.txt -e '.[bench]'", file=sys.stderr)
        return None
    return jax_anchor


def _add_jax(rows: list[dict], anchor, args) -> None:
    """Time the JAX anchor at each row's size; add its rate and the population's ratio over it."""
    for row in rows:
        rate = anchor.jax_member_epochs_per_s(row["members"], args.epochs, args.repeats)
        row["jax_member_epochs_per_s"] = round(rate, 1)
        row["over_jax"] = round(row["member_epochs_per_s"] / rate, 2)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (the reference always runs on the CPU)")
    parser.add_argument("--members", default="1,16,64,256,1024", help="population sizes, comma-separated")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per population run (default 10)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for everything (default 1)")
    parser.add_argument("--draw-threads", type=int, default=0,
                        help="background threads drawing the next epoch (train_population's draw_threads)")
    parser.add_argument("--compile", default="auto", choices=COMPILE_CHOICES,
                        help="compile the population's steps (default auto: where a C++ compiler is found)")
    parser.add_argument("--draws", default="auto",
                        help="draw streams to time, comma-separated: auto (the trainer's choice), "
                             f"{', '.join(DRAW_STREAMS)}; the first fills member_epochs_per_s (default auto)")
    parser.add_argument("--mode", default=None, choices=TRAINING_MODES,
                        help="training mode (default: the device's; device trains the GPU's way)")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)),
                        help="processes the population is split over (default: one per core)")
    parser.add_argument("--features", default="moments,raw", help="discriminator feature sets (default moments,raw)")
    parser.add_argument("--hidden", type=int, default=5, help="G's hidden size (default 5, the seed's)")
    seed = GANConfig()
    parser.add_argument("--generator", default=seed.generator, help=f"G's kind (default {seed.generator}, the seed's)")
    parser.add_argument("--noise", default=seed.noise, help=f"G's noise (default {seed.noise}, the seed's)")
    parser.add_argument("--minibatch-std", action="store_true", help="append the batch spread to D's features")
    parser.add_argument("--instance-noise", type=float, default=0.0, help="instance noise sd (default 0)")
    parser.add_argument("--g-loss", default=seed.g_loss, help=f"G's loss (default {seed.g_loss}, the seed's)")
    parser.add_argument("--g-activation", default=seed.g_activation,
                        help=f"G's hidden activation (default {seed.g_activation}, the seed's)")
    parser.add_argument("--d-activation", default=seed.d_activation,
                        help=f"D's hidden activation (default {seed.d_activation}, the seed's)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds after the warm-up (default 3)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS subprocesses")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--jax", action="store_true",
                        help="also time the seed's training in JAX, jit(vmap(scan)) (benchmarks/jax_anchor.py), "
                             "and report the population's speed over it; needs the bench extra")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        _config(args.features.split(",")[0], 1, args)
    except ValueError as error:
        parser.error(str(error))
    torch.set_num_threads(args.threads)
    resolve_device(args.device)  # refuses cuda without a GPU, with a clear message
    try:
        check_compile_choice(args.compile)
    except ValueError as error:
        parser.error(str(error))
    args.draws = args.draws.split(",")
    if any(d not in ("auto", *DRAW_STREAMS) for d in args.draws) or len(set(args.draws)) != len(args.draws):
        parser.error(f"--draws={','.join(args.draws)}: must be distinct values of auto, {', '.join(DRAW_STREAMS)}")
    if args.memory_child is not None:
        _memory_child(args.memory_child, args.features, args)
        return 0
    args.members = [int(m) for m in args.members.split(",")]
    if (min(args.members) < 1 or args.epochs < 1 or args.repeats < 1 or args.threads < 1 or args.workers < 1
            or args.draw_threads < 0):
        parser.error("--members, --epochs, --repeats, --threads and --workers must be positive, --draw-threads >= 0")
    feature_sets = args.features.split(",")
    anchor = None
    if args.jax:
        anchor = _jax_anchor()
        if anchor is None:
            return 2
        if "moments" not in feature_sets or _config("moments", args.epochs, args) != GANConfig(num_epochs=args.epochs):
            parser.error("--jax: the JAX anchor trains the seed's configuration only: it needs moments among "
                         "--features and the default --hidden, --generator, --noise, --minibatch-std, "
                         "--instance-noise, --g-loss and activations")
    load_before = os.getloadavg()
    pool = None
    if args.workers > 1:
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(args.threads, ctx.Barrier(args.workers)))
    try:
        results = {features: measure(features, args, pool) for features in feature_sets}
    finally:
        if pool is not None:
            pool.shutdown()
    if anchor is not None:  # after the population's rounds, in this process, with the pool gone
        _add_jax(results["moments"]["population"], anchor, args)
    first = results[feature_sets[0]]
    report = {
        "device": describe_device(torch.device(args.device)) + (f", {_cpu_name()}, {os.cpu_count()} cores"
                                                                if args.device == "cpu" else ""),
        "reference_member_epochs_per_s": first["reference_member_epochs_per_s"],
        "batched_reference_member_epochs_per_s": first.get("batched_reference_member_epochs_per_s"),
        "population": first["population"],
        "features": feature_sets[0],
        "by_features": results,
        "settings": {"hidden": args.hidden, "generator": args.generator, "noise": args.noise,
                     "minibatch_std": args.minibatch_std, "instance_noise": args.instance_noise,
                     "g_loss": args.g_loss, "g_activation": args.g_activation, "d_activation": args.d_activation,
                     "workers": args.workers, "threads": args.threads,
                     "draw_threads": args.draw_threads, "compile": args.compile, "mode": args.mode,
                     "draws": {features: [_population_kwargs(features, args, d)["draws"] for d in args.draws]
                               for features in feature_sets},
                     "compiled": {features: _compiled(features, args) for features in feature_sets},
                     "epochs": args.epochs, "reference_epochs": REFERENCE_EPOCHS, "repeats": args.repeats,
                     "torch": torch.__version__, **({"jax": anchor.describe()} if anchor else {})},
        "load_average": {"before": [round(x, 2) for x in load_before],
                         "after": [round(x, 2) for x in os.getloadavg()]},
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"generator {args.generator}, noise {args.noise}, minibatch_std {args.minibatch_std}, instance noise "
          f"{args.instance_noise}, g_loss {args.g_loss}")
    print(f"device: {report['device']}; population over {args.workers} worker processes, threads "
          f"{args.threads} each, draw threads {args.draw_threads}, compile {args.compile}; "
          f"load average {report['load_average']['before'][0]} -> {report['load_average']['after'][0]}")
    for features, result in results.items():
        batched = result.get("batched_reference_member_epochs_per_s")
        print(f"\nfeatures={features} ({'compiled' if _compiled(features, args) else 'eager'}): reference "
              f"{result['reference_member_epochs_per_s']} member-epochs/s"
              + (f", with batched get_moments {batched}" if batched else "") + f" (warm-up {result['warmup_s']} s)")
        with_jax = anchor is not None and features == "moments"  # the anchor is the seed's 4-moment D
        jax_columns = f" {'JAX m-e/s':>10} {'x JAX':>6}" if with_jax else ""
        print(f"{'members':>8} {'member-epochs/s':>16} {'x reference':>12} {'x batched':>12} {'peak RSS MB':>12}"
              + jax_columns)
        for row in result["population"]:
            print(f"{row['members']:>8} {row['member_epochs_per_s']:>16} {row['speedup']:>12} "
                  f"{row.get('speedup_vs_batched_reference', '-'):>12} {row.get('peak_rss_mb', '-'):>12}"
                  + (f" {row.get('jax_member_epochs_per_s', '-'):>10} {row.get('over_jax', '-'):>6}"
                     if with_jax else ""))
    if anchor is not None:
        jax_info = report["settings"]["jax"]
        print(f"\nJAX anchor (x JAX: the population's rate over it): jax {jax_info['jax']} on "
              f"{jax_info['device']}, jit(vmap(scan)) over the seed's configuration")
    return 0


if __name__ == "__main__":
    sys.exit(main())
