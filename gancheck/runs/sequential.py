"""Sequential designs: run seeds in batches ("looks") and stop each arm once its comparisons with
the baseline are decided (gancheck.stats.sequential's e-process; its docstring says why it is
valid at any looks).

After each look, the pre-specified PRIMARY comparisons of every arm still running are tested on
the seeds stored so far, seed for seed against the baseline. An arm stops when all of them are
decided ("differs", "not shown by max", or, with a declared margin, "equivalent"), or at the
maximum. The baseline runs as many seeds as the
longest-running arm. The decisions are recomputed from the store at every look, so a resumed run
(after a kill between or in the middle of looks) reaches the same state and goes on from there.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from gancheck.runs.driver import RunOutcome, missing_members, run_design
from gancheck.runs.plan import Design
from gancheck.runs.store import STORE_NAME, Store
from gancheck.runs.verdicts import PRIMARY, member_table, per_seed_rates, stored_results
from gancheck.stats.sequential import SequentialPlan, decide

#: The comparisons a sequential run stops on are the primary family (gancheck.runs.verdicts.PRIMARY:
#: does the arm learn the target more or less often), the one a fixed run answers first.
__all__ = ["PRIMARY", "LOOK_EVERY", "SequentialOutcome", "run_sequential"]
#: Seeds per look. Five keeps the number of looks small at the usual maxima (40 to 80).
LOOK_EVERY = 5


@dataclass
class SequentialOutcome:
    run: RunOutcome
    looks: int
    decisions: dict  # arm -> {primary metric -> Decision as a dict}


def run_sequential(design: Design, run_dir: Path, *, max_seeds: int, look_every: int = LOOK_EVERY,
                   margin: float | None = None, finish=None, **run_options) -> SequentialOutcome:
    """Run ``design`` sequentially up to ``max_seeds`` seeds per arm (seeds 0..max_seeds-1).

    ``run_options`` go to gancheck.runs.driver.run_design at every look (``fresh`` only at the
    first). ``finish`` is called with the last look's outcome while the folder is still locked.
    ``margin``: a declared equivalence margin on the on-target rate difference, without which
    no arm is called "equivalent" (gancheck.stats.sequential).
    """
    arms = [a.name for a in design.arms if a.name != design.baseline]
    plan = SequentialPlan(max_seeds, min(look_every, max_seeds), alpha=design.alpha,
                          comparisons=max(1, len(arms) * len(PRIMARY)), margin=margin)
    seeds = list(range(max_seeds))
    decisions: dict[str, dict] = {}
    stopped_at = {}                       # arm -> seeds it stopped with
    trained, wall_s = 0, 0.0              # over the looks this invocation computed
    for look, n in enumerate(plan.looks, start=1):
        running = [a for a in arms if a not in stopped_at]
        per_arm = {a: seeds[:stopped_at.get(a, n)] for a in arms}
        per_arm[design.baseline] = seeds[:max([n] + list(stopped_at.values()))]
        look_design = replace(design, seeds=seeds, seeds_by_arm=per_arm,
                              name=f"{design.name}, sequential")
        last = look == len(plan.looks) or not running
        # A look already stored (a resumed run replaying its earlier looks) computes nothing and
        # records no invocation: its decisions are simply recomputed from the store.
        if run_options.get("fresh") or missing_members(look_design, run_dir,
                                                       device=run_options.get("device", "cpu"),
                                                       compile=run_options.get("compile", "auto")):
            outcome = run_design(look_design, run_dir, design_spec=_spec(plan, decisions, look),
                                 **run_options)
            trained, wall_s = trained + outcome.trained, wall_s + outcome.wall_s
        run_options["fresh"] = False
        decisions = _decide(plan, run_dir, running, design.baseline, decisions)
        for arm in running:
            if all(d["verdict"] != "continue" for d in decisions[arm].values()):
                stopped_at[arm] = n
        if last or len(stopped_at) == len(arms):
            break
    def finish_all(last: RunOutcome) -> None:
        # The summary counts every look this invocation computed, not only the last pass.
        if finish is not None:
            finish(replace(last, trained=trained, reused=last.reused - trained,
                           wall_s=wall_s + last.wall_s))

    # One more pass, which computes nothing, records the final decisions in the run's provenance
    # and writes the outputs under the folder's lock.
    final = {**per_arm, **{a: seeds[:k] for a, k in stopped_at.items()}}
    outcome = run_design(replace(look_design, seeds_by_arm=final), run_dir,
                         design_spec=_spec(plan, decisions, look), finish=finish_all, **run_options)
    return SequentialOutcome(outcome, look, decisions)


def _decide(plan: SequentialPlan, run_dir: Path, running: list[str], baseline: str,
            decisions: dict) -> dict:
    """Each running arm's PRIMARY decisions on the seeds stored so far (stopped arms keep theirs)."""
    store = Store(Path(run_dir) / STORE_NAME)
    try:
        provenance = store.get_meta("provenance") or {}
        _, raw, scores = stored_results(store, provenance)
    finally:
        store.close()
    members = member_table(raw, scores, target_std=provenance["target_std"], alpha=provenance["alpha"])
    rates = per_seed_rates(members)
    table = rates.pivot_table(index="seed", columns=["metric", "arm"], values="value", aggfunc="first")
    decisions = dict(decisions)
    for arm in running:
        decisions[arm] = {}
        for metric in PRIMARY:
            paired = table[[(metric, arm), (metric, baseline)]].dropna() \
                if (metric, arm) in table and (metric, baseline) in table else None
            if paired is None or paired.empty:
                continue
            d = decide(plan, paired.iloc[:, 0].to_numpy(), paired.iloc[:, 1].to_numpy())
            decisions[arm][metric] = {"verdict": d.verdict, "look": d.look, "n": d.n,
                                      "evalue": float(d.evalue), "pvalue": float(d.pvalue),
                                      "threshold": float(d.threshold)}
    return decisions


def _spec(plan: SequentialPlan, decisions: dict, look: int) -> dict:
    """The stopping rule, the looks taken and each arm's decisions, for the run's provenance."""
    return {"sequential": {
        "rule": (f"e-process on the signs of paired per-seed differences (Beta({plan.prior:g}, "
                 f"{plan.prior:g}) mixture; gancheck.stats.sequential), 'differs' when the e-value "
                 f"reaches {plan.threshold:g} = comparisons / alpha; looks every {plan.look_every} "
                 f"seeds up to {plan.max_seeds}; primary comparisons: {', '.join(PRIMARY)}; "
                 + (f"'equivalent' when both one-sided e-values against a rate difference of "
                    f"{plan.margin:g} reach the threshold" if plan.margin is not None else
                    "no equivalence margin declared, so no arm is called equivalent")),
        "comparisons": plan.comparisons, "looks_planned": list(plan.looks), "looks_taken": look,
        "decisions": decisions}}
