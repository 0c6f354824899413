"""Run one task: train a population (or draw a control), sample, judge. Runs in any worker.

A task carries configs and seeds only and returns MemberRecords (numpy arrays and plain values),
so it can cross a process or machine boundary; nothing torch leaves this module.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from gancheck.runs.controls import draw_control
from gancheck.runs.costs import CostMeter, cpu_seconds
from gancheck.runs.plan import Task
from gancheck.runs.store import DIVERSITY_FIELDS, MemberRecord

#: The columns of gancheck.judge kept per stored verdict row. (A record's digest is filled in by
#: the driver, which knows the design.)
VERDICT_COLUMNS = ("test", "group", "hypothesis", "statistic", "pvalue", "reject", "reject_rate",
                   "status", "k", "n")
#: Noise draws kept per member for the report's picture of collapse (draws overlaid).
PREVIEW_DRAWS = 8


def run_task(task: Task, *, device: str = "cpu", compile: str = "auto",
             on_epoch: Callable[[int], None] | None = None) -> list[MemberRecord]:
    """``compile``: gancheck.gan.engine's choice (auto, yes or no) for the population's steps."""
    if task.kind == "control":
        return _run_control(task)
    if task.kind == "population":
        return _run_population(task, device, compile, on_epoch)
    raise ValueError(f"task kind={task.kind!r}: unknown")


def _judge_draws(draws: np.ndarray, mean: float, std: float, alpha: float,
                 diverged: bool = False, target: str = "") -> tuple[list[dict], dict, dict]:
    """The generator-level verdict on all K draws (gancheck.verdict, default tolerance) against
    the target spec ``target``, or N(mean, std) when it is "" (the seed's target, judged by the
    very call the published runs made): judge's rows, diversity's fields for the member row, and
    the outcome with its reason."""
    from gancheck.stats.verdict import verdict
    if target:
        found = verdict(draws, target=target, alpha=alpha, diverged=diverged)
    else:
        found = verdict(draws, mean=mean, std=std, alpha=alpha, diverged=diverged)
    rows = [{c: r[c] for c in VERDICT_COLUMNS} for r in found.judge.to_dict("records")]
    div = found.diversity
    fields = {name: getattr(div, name) for name in DIVERSITY_FIELDS if name != "diversity_pvalue"}
    outcome = {"outcome": found.outcome, "reason": found.reason, "detected": found.detected}
    return rows, {**fields, "diversity_pvalue": div.pvalue}, outcome


def _coordinates(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return draws.mean(axis=0), draws.std(axis=0, ddof=1)


def _run_population(task: Task, device: str, compile: str, on_epoch) -> list[MemberRecord]:
    import torch

    from gancheck.gan.engine import resolve_compile
    from gancheck.gan.population import Population, train_population
    meter = CostMeter.start()
    configs = [m.config for m in task.members]
    seeds = [m.seed for m in task.members]
    compiled = resolve_compile(task.compile or compile, configs[0], torch.device(device).type)
    results = train_population(Population(configs, seeds), n_draws=task.n_draws,
                               device=device, compile=compiled, on_epoch=on_epoch)
    training = meter.share(len(task.members))
    records = []
    for member, res in zip(task.members, results):
        cfg = member.config
        draws = res.samples
        usable = res.status == "done" and np.isfinite(draws).all()
        judging = cpu_seconds()
        scores, div, outcome = _judge_draws(draws if usable else np.full_like(draws, np.nan),
                                            cfg.data_mean, cfg.data_std, task.alpha,
                                            diverged=res.status == "diverged", target=cfg.target)
        judge_s = cpu_seconds() - judging
        coord_mean, coord_sd = _coordinates(draws) if usable else (None, None)
        records.append(MemberRecord(
            arm=member.arm, seed=member.seed, digest="", kind="member", status=res.status,
            diverged_epoch=res.diverged_epoch, wall_s=res.wall_s, diversity=div, history=res.history,
            sample=draws[0] if usable else None, scores=scores,
            preview=draws[:PREVIEW_DRAWS] if usable else None, coord_mean=coord_mean, coord_sd=coord_sd,
            verdict=outcome, cost={**training, "core_s": training["core_s"] + judge_s, "judge_s": judge_s}))
    return records


def _run_control(task: Task) -> list[MemberRecord]:
    mean, std = task.target
    law = None
    if task.target_spec:
        from gancheck.fields import parse_target
        law = parse_target(task.target_spec)
    records = []
    for member in task.members:  # a control's members: the seed is the replicate's number
        start, cpu = time.perf_counter(), cpu_seconds()
        draws = draw_control(task.control, member.seed, task.n_draws, task.n, mean, std, target=law)
        scores, div, outcome = _judge_draws(draws, mean, std, task.alpha, target=task.target_spec)
        records.append(MemberRecord(
            arm=member.arm, seed=member.seed, digest="", kind="control", status="done", diverged_epoch=None,
            wall_s=time.perf_counter() - start, diversity=div, history=None, sample=None,
            scores=scores, verdict=outcome, cost=_control_cost(cpu_seconds() - cpu)))
    return records


def _control_cost(seconds: float) -> dict:
    # A control replicate is drawn and judged: its whole cost is judging, and nothing compiles.
    return {"core_s": seconds, "compile_s": 0.0, "judge_s": seconds}
