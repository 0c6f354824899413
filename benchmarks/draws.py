"""Nanoseconds per normal and per uniform: today's per-member torch generators against Philox.

    python benchmarks/draws.py [--members 64] [--rounds 5] [--device cpu|cuda] [--json]

One epoch's training draws of a population of the seed's configuration: real data, (20, 10, 500)
normals per member, and G's noise for the D and G steps, (40, 10, 50) uniforms per member, in
float32. Three ways, timed side by side in each round (after one warm-up):

- ``torch_generator``: one torch.Generator per member, torch.randn / torch.rand member by member,
  as gancheck.gan.draws.draw_epoch draws today;
- ``philox_eager``: gancheck.gan.philox.normal / uniform, the whole population in one call each;
- ``philox_compiled``: the same two calls under torch.compile (inductor; on the CPU it needs a C++
  compiler), compiled during the warm-up.

The figures are medians over the rounds of the time per value, both wall-clock and, on the CPU,
this process's CPU time (steadier on a shared machine: it does not count time the process waits
for a core). One torch thread (torch.set_num_threads(1)), as the population workers use.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from gancheck.gan.philox import STREAMS, member_keys, normal, uniform

REAL_SHAPE = (20, 10, 500)    # d_steps x minibatch x n: N(0, 1) before scaling to N(4, 1.25)
NOISE_SHAPE = (40, 10, 50)    # (d_steps + g_steps) x minibatch x g_input: U(0, 1)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _generator_draws(members: int, device: str):
    """Draw functions of today's way: a CPU generator per member, then moved to ``device``."""
    generators = [torch.Generator().manual_seed(seed) for seed in range(members)]
    real = torch.empty(members, *REAL_SHAPE)
    noise = torch.empty(members, *NOISE_SHAPE)

    def normals(step):
        for member, generator in enumerate(generators):
            torch.randn(REAL_SHAPE, generator=generator, out=real[member])
        return real.to(device)

    def uniforms(step):
        for member, generator in enumerate(generators):
            torch.rand(NOISE_SHAPE, generator=generator, out=noise[member])
        return noise.to(device)

    return normals, uniforms


def _philox_draws(members: int, device: str, compiled: bool):
    keys = member_keys(range(members), device=device)

    def normals(step):
        return normal(keys, STREAMS["real"], step, REAL_SHAPE)

    def uniforms(step):
        return uniform(keys, STREAMS["d_noise"], step, NOISE_SHAPE)

    if compiled:
        return torch.compile(normals), torch.compile(uniforms)
    return normals, uniforms


def _time(draw, step: int, device: str) -> tuple[float, float]:
    _sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    draw(step)
    _sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(members: int, rounds: int, device: str) -> dict:
    torch.set_num_threads(1)
    ways = {"torch_generator": _generator_draws(members, device),
            "philox_eager": _philox_draws(members, device, compiled=False),
            "philox_compiled": _philox_draws(members, device, compiled=True)}
    sizes = {"normal": members * REAL_SHAPE[0] * REAL_SHAPE[1] * REAL_SHAPE[2],
             "uniform": members * NOISE_SHAPE[0] * NOISE_SHAPE[1] * NOISE_SHAPE[2]}
    warmup = {}
    for way, draws in ways.items():     # warm-up; compiles the compiled way
        start = time.perf_counter()
        for draw in draws:
            draw(0)
        warmup[way] = time.perf_counter() - start
    times = {(way, kind): [] for way in ways for kind in sizes}
    for step in range(1, rounds + 1):
        for way, draws in ways.items():
            for kind, draw in zip(sizes, draws):
                times[way, kind].append(_time(draw, step, device))
    rows = []
    for (way, kind), pairs in times.items():
        wall, cpu = (statistics.median(t[i] for t in pairs) for i in (0, 1))
        rows.append({"way": way, "draw": kind, "values": sizes[kind],
                     "wall_ns_per_value": 1e9 * wall / sizes[kind],
                     "cpu_ns_per_value": 1e9 * cpu / sizes[kind] if device == "cpu" else None,
                     "warmup_s": warmup[way]})
    return {"members": members, "rounds": rounds, "device": device, "torch": torch.__version__,
            "machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.members < 1 or args.rounds < 1:
        parser.error(f"--members={args.members}, --rounds={args.rounds}: both must be at least 1")
    result = measure(args.members, args.rounds, args.device)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.members} members, one epoch's draws, median of {args.rounds} rounds, "
          f"{result['threads']} torch thread, {args.device}")
    print(f"{'way':<17}{'draw':<9}{'wall ns/value':>15}{'cpu ns/value':>14}{'warm-up s':>11}")
    for row in result["rows"]:
        cpu = "" if row["cpu_ns_per_value"] is None else f"{row['cpu_ns_per_value']:.2f}"
        print(f"{row['way']:<17}{row['draw']:<9}{row['wall_ns_per_value']:>15.2f}{cpu:>14}{row['warmup_s']:>11.1f}")


if __name__ == "__main__":
    main()
