"""Member-epochs per second and peak device memory of the population trainer at large populations.

    python benchmarks/gpu_scale.py [--device cuda] [--rows 1024:5,16384:5,65536:5,4096:200]
                                   [--budget-s 130] [--compile no|yes] [--mode host|device]
                                   [--draws auto|torch|philox]

The timed part of benchmarks/gpu_check.sh; it runs on the CPU too (``--device cpu``, small
rows) so that it can be checked without a GPU. Each row is ``members:H`` (G's hidden size), the
seed's configuration otherwise, trained the way the device trains (mode ``device``: one block,
Philox draws on the device). Per row, after a one-epoch warm-up run:

- ``member_epochs_per_s``: members x epochs over the wall time of one whole ``epochs``-epoch run
  (initial weights, draws, training, results; no sampling);
- ``marginal_member_epochs_per_s``: members x (epochs - 1) over the time that run took beyond a
  1-epoch run: the rate of training alone, without the per-member setup;
- ``peak_memory_mb``: torch.cuda.max_memory_allocated over the ``epochs`` run (None on the CPU).

Rows that would start after ``--budget-s`` seconds are skipped (listed in ``skipped``). One JSON
object on stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from gancheck import GANConfig
from gancheck.gan.device import TRAINING_MODES, describe_device, gpu_properties, resolve_device
from gancheck.gan.engine import DRAW_STREAMS
from gancheck.gan.population import Population, train_population

#: Member-epochs per timed run: enough that the epochs dominate the one-epoch run's time.
TARGET_MEMBER_EPOCHS = 200_000


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed_run(members: int, hidden: int, epochs: int, device, args) -> tuple[float, list]:
    cfg = GANConfig(num_epochs=epochs, g_hidden_size=hidden)
    population = Population([cfg] * members, list(range(members)))
    _sync(device)
    start = time.perf_counter()
    results = train_population(population, device=device, compile=args.compile == "yes", mode=args.mode,
                               draws=None if args.draws == "auto" else args.draws)
    _sync(device)
    return time.perf_counter() - start, results


def measure_row(members: int, hidden: int, device: torch.device, args) -> dict:
    epochs = max(3, min(args.max_epochs, TARGET_MEMBER_EPOCHS // members + 1))
    _timed_run(members, hidden, 1, device, args)             # warm-up: kernels, allocator, compiling
    one_epoch_s, _ = _timed_run(members, hidden, 1, device, args)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    run_s, results = _timed_run(members, hidden, epochs, device, args)
    peak = torch.cuda.max_memory_allocated(device) / 2 ** 20 if device.type == "cuda" else None
    return {"members": members, "hidden": hidden, "epochs": epochs, "run_s": round(run_s, 3),
            "one_epoch_run_s": round(one_epoch_s, 3),
            "member_epochs_per_s": round(members * epochs / run_s, 1),
            "marginal_member_epochs_per_s": round(members * (epochs - 1) / max(run_s - one_epoch_s, 1e-9), 1),
            "peak_memory_mb": None if peak is None else round(peak, 1),
            "draw_stream": results[0].draw_stream,
            "diverged": sum(r.status != "done" for r in results)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", default="1024:5,16384:5,65536:5,4096:200", help="members:hidden, comma-separated")
    parser.add_argument("--budget-s", type=float, default=130.0, help="start no row after this many seconds")
    parser.add_argument("--max-epochs", type=int, default=50, help="epochs of a timed run at most (default 50)")
    parser.add_argument("--compile", default="no", choices=("no", "yes"))
    parser.add_argument("--mode", default="device", choices=TRAINING_MODES)
    parser.add_argument("--draws", default="auto", choices=("auto", *DRAW_STREAMS),
                        help="draw stream (default auto: engine.resolve_draws; philox on CUDA)")
    args = parser.parse_args(argv)
    try:
        device = resolve_device(args.device)
        rows = [tuple(int(x) for x in row.split(":")) for row in args.rows.split(",")]
        if any(len(row) != 2 or min(row) < 1 for row in rows):
            raise ValueError(f"rows={args.rows!r}: must be members:hidden pairs of positive integers")
    except ValueError as error:
        print(f"gpu_scale: {error}", file=sys.stderr)
        return 2
    start, measured, skipped = time.perf_counter(), [], []
    for members, hidden in rows:
        if time.perf_counter() - start > args.budget_s:
            skipped.append(f"{members}:{hidden}")
            continue
        measured.append(measure_row(members, hidden, device, args))
        print(json.dumps(measured[-1]), file=sys.stderr, flush=True)  # progress, should the rest time out
    print(json.dumps({"device": describe_device(device), "gpu": gpu_properties(device), "torch": torch.__version__,
                      "compile": args.compile, "mode": args.mode, "rows": measured, "skipped": skipped,
                      "wall_s": round(time.perf_counter() - start, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
