"""Run a design into a run folder: plan, execute, and store each member as it finishes.
Rerunning the same command resumes; nothing finished is recomputed. The CSVs and the report are
written from the store afterwards, by gancheck.report.collect.write_outputs."""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from gancheck.runs import blocks
from gancheck.runs.costs import add_costs
from gancheck.runs.execute import execute
from gancheck.runs.files import FolderRefused, RunLock, WriteError
from gancheck.runs.cost_model import task_cost
from gancheck.runs.progress import bounded_update, work_bar
from gancheck.runs.plan import Design, control_arm, control_digest, member_digest, plan
from gancheck.runs.provenance import Invocation, Provenance, added_caveats
from gancheck.runs.safe_files import SQLITE_COMPANIONS, refuse_link
from gancheck.runs.store import STORE_NAME, Store, StoreError


@dataclass
class RunOutcome:
    run_dir: Path
    trained: int        # members and control replicates computed in this invocation
    reused: int         # already in the store from an earlier invocation
    wall_s: float
    retrained: int = 0  # finished members trained again beside unfinished ones of their block
    differed: int = 0   # of which came out with other numbers than stored


def with_draw_streams(design: Design, *, device: str = "cpu", compile: str = "auto") -> Design:
    """``design`` with each arm's draw stream, as a run on ``device`` under ``compile`` trains it
    (kept if the design already states its streams)."""
    if design.draw_streams is not None:
        return design
    return replace(design, draw_streams=_draw_streams(_compile_decisions(design, compile, device), device))


def expected_digests(design: Design, *, device: str = "cpu", compile: str = "auto") -> dict[tuple[str, int], str]:
    """(arm, seed) -> digest for every member and control replicate the design asks for."""
    design = with_draw_streams(design, device=device, compile=compile)
    want = {(a.name, s): member_digest(design, a) for a in design.arms for s in design.arm_seeds(a.name)}
    for c in design.controls:
        want.update({(control_arm(c), r): control_digest(design, c) for r in range(design.control_reps)})
    return want


def missing_members(design: Design, run_dir: Path, *, device: str = "cpu", compile: str = "auto") -> int:
    """How many members and control replicates of ``design`` the run folder does not hold yet
    (for the draw streams that ``device`` and ``compile`` give)."""
    from gancheck.gan.device import resolve_device
    design = with_draw_streams(design, device=str(resolve_device(device)), compile=compile)
    path = Path(run_dir) / STORE_NAME
    if not path.exists():
        return len(expected_digests(design))
    store = Store(path)
    try:
        have = store.finished()
    finally:
        store.close()
    return sum(have.get(key) != digest for key, digest in expected_digests(design).items())


#: What a run writes into its folder besides the store: all that --fresh may delete.
RUN_OUTPUTS = ("scores.csv", "summary.csv", "comparisons.csv", "outcomes.csv", "metrics.csv", "rates.csv",
               "equivalence.csv", "effects.csv", "arms.csv", "index.html",
               # what the page is drawn from, published so that it rebuilds without the store
               "provenance.json", "members.csv", "settling.csv", "outputs.csv", "draws.csv",
               "coordinates.csv", "history.csv")


def renamed_arms(have: dict[tuple[str, int], str], want: dict[tuple[str, int], str]) -> dict[str, str]:
    """{old name: new name} for stored arms the design now calls otherwise: an arm no longer in
    the design whose every stored member has exactly the digest the design wants for one arm of
    a new name (of which nothing is stored yet). Renaming an arm (the seed's own configuration
    became "baseline") then keeps its finished members instead of training them again; a digest
    covers the whole config, so no other change can pass for a rename."""
    wanted_arms = {arm for arm, _ in want}
    stored: dict[str, dict[int, str]] = {}
    for (arm, seed), digest in have.items():
        stored.setdefault(arm, {})[seed] = digest
    renames = {}
    for old, members in stored.items():
        if old in wanted_arms:
            continue
        matches = [new for new in wanted_arms - set(stored) - set(renames.values())
                   if all(want.get((new, seed)) == digest for seed, digest in members.items())]
        if len(matches) == 1:
            renames[old] = matches[0]
    return renames


def outputs_in(folder: Path) -> list[str]:
    """The RUN_OUTPUTS present in ``folder`` (a link at one counts: it is there)."""
    return [name for name in RUN_OUTPUTS if os.path.lexists(Path(folder) / name)]


def has_store(folder: Path) -> bool:
    """Whether ``folder`` holds a store: an empty file is none (SQLite's empty database, which a
    run killed as it created its store leaves, and a new run starts in)."""
    store = Path(folder) / STORE_NAME
    return os.path.lexists(store) and (os.path.islink(store) or os.path.getsize(store) > 0)


def refuse_folders_at_outputs(folder: Path, option: str) -> None:
    """A folder named like a file a run writes (``index.html/``) would fail its write only at
    the end, after the training: refuse it now, naming the path. (A link there is fine: it is
    replaced, never written through.)"""
    for name in RUN_OUTPUTS:
        path = Path(folder) / name
        if path.is_dir() and not path.is_symlink():
            raise FolderRefused(f"{option}={str(folder)!r}: {path} is a folder, where a run writes its "
                                f"file {name}: remove it, or choose another folder")


def _not_a_run(run_dir: Path, found: list[str], fresh: bool) -> ValueError:
    """Files a run writes, in a folder without a store: someone else's, never to be replaced."""
    if fresh:
        return StoreError(f"--fresh: {run_dir} holds {', '.join(found)} but no gancheck store: not a "
                          "run folder, so nothing was deleted (choose another --out)")
    return FolderRefused(f"--out={str(run_dir)!r}: holds {', '.join(found)} but no gancheck store: not "
                         "a run folder, and a run would replace them, so nothing was written "
                         "(choose another --out)")


def check_run_folder(run_dir: Path, *, fresh: bool = False) -> None:
    """Refuse, before anything is written there (the lock file included), a folder whose files a
    run would replace though they are not a run's: what a run writes, without a store."""
    for name in [STORE_NAME + suffix for suffix in ("", *SQLITE_COMPANIONS)]:
        refuse_link(run_dir / name)
    refuse_folders_at_outputs(run_dir, "--out")
    found = outputs_in(run_dir)
    if found and not has_store(run_dir):
        raise _not_a_run(run_dir, found, fresh)


def _clear(run_dir: Path) -> None:
    """--fresh: delete what an earlier run wrote, once the folder is shown to be a run of a store
    format this gancheck reads; anything else is refused (one line) and nothing is deleted."""
    store_files = [STORE_NAME + suffix for suffix in ("", *SQLITE_COMPANIONS)]
    for name in store_files:
        refuse_link(run_dir / name)
    present = [n for n in (*store_files, *RUN_OUTPUTS) if os.path.lexists(run_dir / n)]
    store = run_dir / STORE_NAME
    outputs = [n for n in present if n in RUN_OUTPUTS]
    if os.path.lexists(store) and os.path.getsize(store) > 0:
        try:
            Store(store, lock_held=True).close()  # read-only: a foreign, damaged or newer store is refused here
        except StoreError as exc:
            raise StoreError(f"--fresh: {exc}; it deletes only a run this gancheck reads, so nothing "
                             "was deleted") from None
    elif outputs:  # (check_run_folder refused this before the lock; here, should it appear since)
        raise _not_a_run(run_dir, outputs, fresh=True)
    for name in present:
        (run_dir / name).unlink(missing_ok=True)  # unlink removes a link itself, never its target


def _open_store(run_dir: Path, lock: RunLock, fresh: bool) -> Store:
    """The run's store (--fresh: once the old run is cleared). A folder refused here (a foreign,
    damaged or newer store) keeps no lock file of this run's."""
    try:
        if fresh:
            _clear(run_dir)
        return Store(run_dir / STORE_NAME, create=True)
    except ValueError:
        lock.discard()
        raise


def run_design(design: Design, run_dir: Path, *, workers: int = 1, dask: str | None = None,
               device: str = "cpu", compile: str = "auto", fresh: bool = False, command: str = "",
               show_progress: bool = True, finish: Callable[[RunOutcome], object] | None = None,
               design_spec: dict | None = None, replace_changed: bool = False) -> RunOutcome:
    """Train, score and store every member of ``design`` not already in ``run_dir``'s store.

    A stored member whose config differs from the design's (another --epochs, a mistyped
    option) is a StoreError naming them, before anything is written: recomputing it deletes a
    result that may have cost hours. ``replace_changed`` recomputes such members instead.

    ``compile``: gancheck.gan.engine's choice for the population steps (auto, yes or no); what
    it decided for each arm is recorded with the invocation, next to the device.
    ``finish``: called with the outcome while the folder is still this run's (experiments.ablate
    writes the CSVs and the report there), so that no other run gets in between, e.g. a
    ``--fresh`` one that would delete the store the report is read from.
    ``design_spec``: what the run's record states about its design beyond the arms (e.g. a
    sequential design's stopping rule and decisions).
    """
    from gancheck.gan.device import describe_device, resolve_device
    from gancheck.gan.engine import check_compile_choice
    torch_device = resolve_device(device)  # fails early, before any work, on an unusable device
    check_compile_choice(compile)          # likewise a compiler asked for and missing
    if dask:
        # Blocks are sized for the cluster's worker threads, not this machine's cores; and a bad
        # or unreachable --dask address fails here, before the run folder is touched.
        from gancheck.runs.dask_executor import cluster_workers
        workers = cluster_workers(dask)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    check_run_folder(run_dir, fresh=fresh)  # before the lock: a refused folder gets nothing written
    with RunLock(run_dir) as lock:
        store = _open_store(run_dir, lock, fresh)
        try:
            outcome = _run_locked(design, run_dir, store, workers=workers, dask=dask, compile=compile,
                                  replace_changed=replace_changed,
                                  device=str(torch_device), device_text=describe_device(torch_device),
                                  command=command, show_progress=show_progress,
                                  design_spec=design_spec)
        finally:
            store.close()
        if finish is not None:
            finish(outcome)
        return outcome


def _changed_members(where: Path, stale) -> str:
    arms = sorted({arm for arm, _ in stale})
    named = ", ".join(repr(a) for a in arms[:3]) + (f" and {len(arms) - 3} more" if len(arms) > 3 else "")
    return (f"{where} holds {len(stale):,} finished members whose configuration differs from this "
            f"command's (arms {named}): --replace-changed recomputes them and deletes their stored "
            "results, --fresh starts over, another --out keeps them")


def _run_locked(design, run_dir, store: Store, *, workers, dask, compile, device, device_text, command,
                show_progress, design_spec=None, replace_changed=False) -> RunOutcome:
    start = time.perf_counter()
    compiled = _compile_decisions(design, compile, device)
    design = replace(design, draw_streams=_draw_streams(compiled, device))
    streams = design.draw_streams
    want = expected_digests(design)
    have = store.finished()
    renames = renamed_arms(have, want)
    for old, new in renames.items():
        store.rename_arm(old, new)
    have = store.finished()
    stale = [k for k, d in have.items() if k in want and want[k] != d]
    if stale and not replace_changed:
        raise StoreError(_changed_members(store.path, stale))
    store.forget(stale)  # asked for: a member of a changed config is recomputed, never silently reused
    done = {k for k, d in have.items() if want.get(k) == d}
    store.put_arms(design.arm_rows())
    mean, std = design.target
    # A resumed run is computed by several invocations, possibly of different commits and
    # machines: each one is recorded, so the report never credits one with all the results.
    recorded = Provenance.from_dict(store.get_meta("provenance") or {})
    provenance = recorded.updated(
        name=run_dir.name, design=design.name, preset=design.preset, command=command,
        caveats=[*design.caveats, *added_caveats(recorded.caveats)],
        seeds=list(design.seeds), num_epochs=sorted({a.config.num_epochs for a in design.arms}),
        n_draws=design.n_draws, control_reps=design.control_reps, alpha=design.alpha,
        target_mean=mean, target_std=std, target=_target_spec(design), arm_targets=_arm_targets(design),
        baseline=design.baseline, finished="", finished_ok=False,
        **({"design_spec": design_spec} if design_spec is not None else {}))
    this_invocation = Invocation.start(
        command=command, device=device_text, executor=_executor_text(workers, dask), workers=workers,
        threads_per_worker=1, compile=_by_value(compiled, {True: "compiled", False: "eager"}, f"compile={compile}: "),
        draws=_by_value(streams, {"philox": "philox", "torch": "torch"}), gpu=_gpu(device))
    provenance.invocations.append(this_invocation)
    store.set_meta("provenance", provenance.to_dict())
    keep = blocks.kept_blocks(store.get_meta(blocks.META_KEY), want, renames, where=str(store.path))
    tasks = plan(design, done, workers=workers, keep=keep)
    kept = set(keep)
    new_blocks = [block for block in (tuple((m.arm, m.seed) for m in t.members) for t in tasks
                                      if t.kind == "population") if block not in kept]
    store.set_meta(blocks.META_KEY, blocks.recorded(keep + new_blocks, want))
    this_invocation.planned = sum(len(b) for b in new_blocks)
    store.set_meta("provenance", provenance.to_dict())
    for task in tasks:  # the decision made once above, which every worker follows
        if task.kind == "population":
            task.compile = "yes" if compiled[task.members[0][0]] else "no"
    total = sum(task_cost(t) for t in tasks)
    trained = 0
    # Finished members trained again in their kept block: a free check that this machine still
    # gives the stored numbers (another kind of CPU, or other library versions, may not).
    retrained, differed = 0, []
    arm_costs: dict[str, dict] = {}
    members = sum((m.arm, m.seed) not in done for t in tasks if t.kind == "population" for m in t.members)
    stored = 0  # of those members (control replicates are counted in `trained` too)
    replicates = sum(len(t.members) for t in tasks if t.kind == "control")
    # The bar's share counts the controls' work too: the label says they are part of it.
    bar = work_bar(total, f"training {members} members" + (f", {replicates:,} control replicates"
                                                            if replicates else ""), enabled=show_progress)
    stopped = True  # until the loop ends: an interrupt, a full disk, a lost cluster
    try:
        for task, records in execute(tasks, workers=workers, dask=dask, device=device, compile=compile,
                                     progress=bounded_update(bar)):
            for rec in records:
                add_costs(arm_costs, rec.arm, rec.cost)
                if (rec.arm, rec.seed) in done:  # trained again only so that its block's other members get their bits
                    retrained += 1
                    if not store.same_training(rec):
                        differed.append([rec.arm, int(rec.seed)])
                    continue
                rec.digest = want[(rec.arm, rec.seed)]
                try:
                    store.put_member(rec)
                except sqlite3.IntegrityError:
                    continue  # already recorded (a retried task): keep the first, never write twice
                trained += 1
                stored += task.kind == "population"
            bar.set_postfix_str(f"{stored} of {members} stored", refresh=False)
        stopped = False
    finally:
        bar.close()
        elapsed = time.perf_counter() - start
        provenance.wall_s += elapsed
        this_invocation.finish(computed=trained, wall_s=elapsed, arm_costs=arm_costs, retrained=retrained,
                               differed=differed)
        try:
            store.set_meta("provenance", provenance.to_dict())
        except WriteError:
            # The disk that stopped the run cannot take this either; the members are stored, and
            # the reason the run stopped is the one line worth reporting.
            if not stopped:
                raise
    provenance.finish(wall_s=0.0)  # wall time already added above, even for an interrupted run
    store.set_meta("provenance", provenance.to_dict())
    return RunOutcome(run_dir=run_dir, trained=trained, reused=len(done), wall_s=time.perf_counter() - start,
                      retrained=retrained, differed=len(differed))


def _target_spec(design: Design) -> str:
    """The baseline's target, spelled out (the seed's too: norm(loc=4, scale=1.25))."""
    return next(a for a in design.arms if a.name == design.baseline).config.data_target.spec


def _arm_targets(design: Design) -> dict[str, str]:
    """arm -> its target spec, where the arms differ in target; else {}."""
    specs = {a.name: a.config.data_target.spec for a in design.arms}
    return specs if len(set(specs.values())) > 1 else {}


def _compile_decisions(design: Design, compile: str, device: str) -> dict[str, bool]:
    """arm -> whether its steps are compiled, decided once here (gancheck.gan.engine, with this
    machine's compiler) and then followed by every worker, Dask's included."""
    import torch

    from gancheck.gan.engine import resolve_compile
    kind = torch.device(device).type
    return {a.name: resolve_compile(compile, a.config, kind) for a in design.arms}


def _draw_streams(compiled: dict[str, bool], device: str) -> dict[str, str]:
    """arm -> its draw stream, from the device and the compile decision (gancheck.gan.engine),
    as train_population resolves it in the worker."""
    import torch

    from gancheck.gan.engine import resolve_draws
    kind = torch.device(device).type
    return {arm: resolve_draws(kind, flag) for arm, flag in compiled.items()}


def _by_value(decisions: dict, labels: dict, prefix: str = "") -> str:
    """'compile=auto: compiled seed, constant; eager raw' from {arm: decision}."""
    parts = [f"{label} {', '.join(a for a, v in decisions.items() if v == value)}"
             for value, label in labels.items() if value in decisions.values()]
    return prefix + "; ".join(parts)


def _gpu(device: str) -> dict:
    import torch

    from gancheck.gan.device import gpu_properties
    return gpu_properties(torch.device(device)) or {}


def _executor_text(workers: int, dask: str | None) -> str:
    if dask:
        return f"dask ({dask})"
    return f"{workers} local worker processes" if workers > 1 else "in-process"
