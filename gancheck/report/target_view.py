"""The target each arm was trained and judged against, in words and as a distribution.

An arm's GANConfig names its target: ``target`` (a spec such as ``gamma(a=2, scale=1)``), or
"" (and configs recorded before the field existed) for the normal N(data_mean, data_std). The
report reads it from each arm's recorded config rather than assuming the seed's N(4, 1.25); a
run without configs (controls only, hand-made inputs) falls back to its record's target_mean
and target_std.
"""
from __future__ import annotations

import json

import numpy as np

from gancheck.report.data import ReportInput
from gancheck.report.tables import arm_order
from gancheck.targets import TargetError, normal, parse


def _config(data: ReportInput, arm: str) -> dict:
    rows = data.arms[data.arms["arm"] == arm] if len(data.arms) else data.arms
    if rows.empty or "config_json" not in rows or not isinstance(rows["config_json"].iloc[0], str):
        return {}
    try:
        return dict(json.loads(rows["config_json"].iloc[0] or "{}"))
    except (TypeError, ValueError):
        return {}


def run_mean_std(data: ReportInput) -> tuple[float, float]:
    p = data.provenance
    return float(p.get("target_mean", 4.0)), float(p.get("target_std", 1.25))


def from_config(config: dict, mean: float = 4.0, std: float = 1.25):
    """The Target a GANConfig (as a dict) names: its ``target`` spec, or N(data_mean, data_std)
    ("" and configs recorded before the field existed); ``mean``/``std`` where it has neither."""
    spec = str(config.get("target", "") or "")
    if spec:
        try:
            return parse(spec)
        except TargetError:  # a spec this version cannot read: the recorded moments stand in
            pass
    return normal(float(config.get("data_mean", mean)), float(config.get("data_std", std)))


def target_of(data: ReportInput, arm: str | None = None):
    """The arm's Target (the run's, without an arm or a recorded config)."""
    config = _config(data, arm) if arm is not None else {}
    if not config.get("target") and data.provenance.get("target"):
        config = {**config, "target": data.provenance["target"]}
    return from_config(config, *run_mean_std(data))


def words(target) -> str:
    """The target's short words: "N(4, 1.25)" for a normal (mean, sd), else its spec."""
    return target.describe()


def arm_words(data: ReportInput) -> dict[str, str]:
    """arm -> its target in words, for every trained arm in design order."""
    return {arm: words(target_of(data, arm)) for arm in arm_order(data)}


def target_text(data: ReportInput) -> str:
    """The run's target in words; where arms differ, each group of arms with its target."""
    per_arm = arm_words(data)
    groups: dict[str, list[str]] = {}
    for arm, text in per_arm.items():
        groups.setdefault(text, []).append(arm)
    if len(groups) <= 1:
        return next(iter(groups), words(target_of(data)))
    return "; ".join(f"{text} ({', '.join(arms)})" for text, arms in groups.items())


def targets(data: ReportInput) -> list:
    """Each trained arm's target, in design order; the run's where it has no arms."""
    return [target_of(data, arm) for arm in arm_order(data)] or [target_of(data)]


def other_target(data: ReportInput):
    """The first of ``targets`` that is not a normal, or None where every one is."""
    return next((t for t in targets(data) if not t.is_normal), None)


def subtitle(data: ReportInput) -> str:
    """target_text, saying once what a normal's two numbers are."""
    return target_text(data) + (" (mean, sd)" if other_target(data) is None else "")


def density(target, grid: np.ndarray) -> np.ndarray:
    """The target's density on ``grid`` (a normal's exactly; others from its CDF by central
    differences, which a figure's 200-point grid draws smoothly)."""
    if target.is_normal:
        return np.exp(-0.5 * ((grid - target.mean) / target.std) ** 2) / (target.std * np.sqrt(2 * np.pi))
    step = (grid[-1] - grid[0]) / (len(grid) - 1) / 2 or 1e-6
    return (np.asarray(target.cdf(grid + step)) - np.asarray(target.cdf(grid - step))) / (2 * step)
