"""The provenance section: the typed run record as rows, every arm's config, and the CSV files
beside the page with their sha256 checksums."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

from gancheck.report.data import ReportInput
from gancheck.report.tables import MISSING, baseline_name, fmt_seconds
from gancheck.report.target_view import target_text
from gancheck.runs.provenance import Provenance, sha256_file

#: The run folder's data files, in the order the page lists them, with what each holds.
DATA_FILES = {
    "arms.csv": "one row per arm and control: role, factor levels, is_baseline, the full GANConfig as JSON",
    "outcomes.csv": "one row per (arm, outcome): counts, rates, Wilson intervals",
    "comparisons.csv": "every arm against the baseline: family, test, difference, interval, p, Holm p within the family, prob_improvement, mde",
    "scores.csv": "one row per (arm, seed, test): the generator-level verdicts",
    "metrics.csv": "one row per (arm, seed, metric): the per-seed error metrics",
    "summary.csv": "per arm: pass rates, collapse rate, metric medians, with intervals",
    "equivalence.csv": "per arm: the share of seeds shown within the tolerance (on target), with its Wilson interval",
    "rates.csv": "one row per (arm, seed, outcome): 0/1, the per-seed rates the comparisons test",
    "effects.csv": "crossed designs: each factor's and interaction's effect, with its units and interval",
    "provenance.json": "the run record: commands, commits, seeds, target, tolerance, software, hosts",
    "members.csv": "one row per (arm or control, seed): status, collapse flag and outcome",
    "settling.csv": "per arm: when G's batch mean and sd settle near the target's (full history)",
    "outputs.csv": "per (arm, seed): the figures' summary of its output vector: n, mean, sd, 100 quantiles, 40 bin counts",
    "draws.csv": "the seeds drawn directly: each noise draw's counts in 36 bins",
    "coordinates.csv": "the seeds drawn directly: each output coordinate's mean and sd across draws, sorted by mean",
    "history.csv": "per (arm, seed): G's batch mean and sd at the 60 epochs drawn (4 significant digits)",
}


def _text(value) -> str:
    if value is None or value == "" or value == []:
        return MISSING
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in dict.fromkeys(value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) or MISSING
    return str(value)


def seeds_text(seeds) -> str:
    seeds = [int(s) for s in seeds or []]
    if not seeds:
        return MISSING
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]} ({len(seeds)} seeds)"
    return ", ".join(map(str, seeds)) + f" ({len(seeds)} seeds)"


def commit_text(commit: str, dirty: bool, diff: str) -> str:
    if not commit:
        return MISSING
    if not dirty:
        return commit
    return f"{commit} plus uncommitted changes (sha256 of the diff: {diff or 'not recorded'})"


#: The page embeds a run's patch up to this many characters (the store keeps it whole).
MAX_PATCH_CHARS = 200_000


def rerun_command(command: str, name: str = "", workers: int | None = None) -> str:
    """The recorded command made safe to rerun: without ``--fresh`` (which would delete the
    published folder's results) and with an ``--out`` that is not the published folder (its
    own name plus "-rerun"; a command without --out gets one).

    ``workers``: the worker count that grouped the run's members into blocks, added as
    ``--workers`` where the command names neither that nor ``--dask``. A new run sizes its
    blocks by it, and a member's last float bits depend on its block (gancheck.runs.blocks), so
    the default, one worker per core, would give other numbers on a machine with other cores.
    """
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    if not words:
        return command
    out, kept, skip = None, [], False
    for i, word in enumerate(words):
        if skip:
            skip = False
            continue
        if word == "--fresh":
            continue
        if word == "--out" and i + 1 < len(words):
            out, skip = words[i + 1], True
            continue
        if word.startswith("--out="):
            out = word.split("=", 1)[1]
            continue
        kept.append(word)
    target = f"{out.rstrip('/')}-rerun" if out else f"rerun-{name or 'run'}"
    named = any(w.split("=", 1)[0] in ("--workers", "--dask") for w in kept)
    pinned = ["--workers", str(workers)] if workers and not named else []
    return shlex.join([*kept, *pinned, "--out", target])


def computed_text(invocation) -> str:
    """'6', or '6 + 2 again' where a resumed block trained its finished members again
    (gancheck.runs.blocks), with how many of those differed from their stored numbers."""
    if not invocation.retrained:
        return str(invocation.computed)
    differed = len(invocation.differed)
    return (f"{invocation.computed} + {invocation.retrained} again"
            + (f" ({differed} differed)" if differed else ""))


def retrained_note(record: Provenance) -> str:
    """The sentence under the invocations table where some invocation trained finished members
    again; "" where none did."""
    if not any(i.retrained for i in record.invocations):
        return ""
    return ("“N + M again”: N members computed, and M finished ones trained again beside the "
            "unfinished members of their block, so that those get the bits an uninterrupted run "
            "gives them; their stored results are kept, and compared with the new ones bit for bit "
            "(“differed”: not the same, see the limitations in Methods).")


def _planned_by(record: Provenance) -> int | None:
    """The worker count that grouped the run's members into blocks: that of its first invocation
    that planned any (records older than that field: its first invocation)."""
    planners = [i for i in record.invocations if i.planned] or record.invocations
    return planners[0].workers if planners else None


def pairing_note(record: Provenance) -> str:
    """Where arms ran with different draw streams or compile modes: seeds are paired by number,
    but not by random stream across those groups. "" when every arm ran alike."""
    mixed = []
    for i in record.invocations:
        for what, text in (("draw streams", i.draws), ("compile modes", i.compile)):
            body = str(text).split(": ", 1)[-1] if str(text).startswith("compile=") else str(text)
            if ";" in body:
                mixed.append(f"{what} ({_groups_in_brief(body)})")
    if not mixed:
        return ""
    return ("Arms ran with different " + " and ".join(dict.fromkeys(mixed)) + ". Seeds are paired "
            "by their number across arms, but arms in different groups draw different noise and "
            "minibatches for the same seed number, so the pairing across groups is by index only "
            "(the paired tests stay valid; they gain less from pairing).")


def _groups_in_brief(body: str) -> str:
    """"philox a, b, c; torch d" -> "torch: d; philox: the other 3 arms": the largest group is
    counted, not listed, so a note on a 24-arm design stays one sentence."""
    groups = []
    for part in body.split(";"):
        label, _, arms = part.strip().partition(" ")
        groups.append((label, [a.strip() for a in arms.split(",") if a.strip()]))
    largest = max(range(len(groups)), key=lambda i: len(groups[i][1]))
    words = [f"{label}: {', '.join(arms)}" for i, (label, arms) in enumerate(groups) if i != largest]
    label, arms = groups[largest]
    words.append(f"{label}: the other {len(arms)} arms")
    return "; ".join(words)


def data_files(folder: Path | None) -> list[dict]:
    """Each known CSV in ``folder``: name, what it holds, size and sha256 (absent ones skipped)."""
    rows = []
    for name, what in DATA_FILES.items():
        path = Path(folder) / name if folder is not None else None
        if path is not None and path.is_file():
            rows.append({"name": name, "what": what, "bytes": f"{path.stat().st_size:,}",
                         "sha256": sha256_file(path)})
    return rows


def provenance(data: ReportInput) -> dict:
    """The run, each invocation, the software, and every arm's config."""
    record = Provenance.from_dict(data.provenance)
    run = [("name", _text(record.name)), ("design", _text(record.design)),
           ("preset", _text(record.preset)), ("baseline", _text(record.baseline or baseline_name(data))),
           ("seeds", seeds_text(record.seeds)), ("epochs", _text(record.num_epochs)),
           ("noise draws per member", _text(record.n_draws or None)),
           ("control replicates", _text(record.control_reps or None)),
           ("target", target_text(data)), ("α", _text(record.alpha)),
           ("started", _text(record.started)), ("finished", _text(record.finished)),
           ("wall time", fmt_seconds(record.wall_s) if record.wall_s else MISSING)]
    # A sequential design's decisions have their own table in Methods.
    run += [(f"design: {k}", _text(v)) for k, v in record.design_spec.items() if k != "sequential"]
    invocations = [{
        "started": _text(i.started), "command": _text(i.command),
        "commit": commit_text(i.git_commit, i.git_dirty, i.diff_sha256),
        "device": _text(i.device) + (f" ({i.gpu.get('name')}, {i.gpu.get('memory_gib')} GiB)"
                                     if i.gpu and i.gpu.get("name") and i.gpu.get("name") not in i.device else ""),
        "executor": _text(i.executor), "draws": _text(i.draws or None),
        "threads": f"{i.workers} × {i.threads_per_worker}" if i.threads_per_worker else MISSING,
        "compile": _text(i.compile), "computed": computed_text(i),
        "wall": fmt_seconds(i.wall_s) if i.wall_s else MISSING,
        "host": ", ".join(x for x in (i.host.cpu_model, f"{i.host.cpu_count} CPUs" if i.host.cpu_count else "",
                                      f"vector sets {i.host.simd}" if i.host.simd else "", i.host.os) if x)
                or MISSING,
    } for i in record.invocations]
    versions = sorted((str(k), str(v)) for k, v in record.latest.versions.items())
    command = record.command or record.latest.command or ""
    dirty = [i for i in record.invocations if i.git_dirty]
    patch = next((i.patch for i in reversed(dirty) if getattr(i, "patch", "")), "")
    if len(patch) > MAX_PATCH_CHARS:
        patch = (f"(the patch is {len(patch):,} characters, too long to show here: the run's store "
                 "holds it whole, in its provenance record)")
    latest = record.latest
    return {"run": run, "invocations": invocations, "versions": versions,
            "commit": commit_text(latest.git_commit, latest.git_dirty, latest.diff_sha256),
            "command": command or MISSING, "rerun": rerun_command(command, record.name, _planned_by(record)) if command else MISSING,
            "pairing": pairing_note(record), "retrained": retrained_note(record), "dirty": bool(dirty), "patch": patch,
            "patch_lines": f"{patch.count(chr(10)):,}",
            "caveats": [str(c) for c in record.caveats], **arm_configs(data)}


def arm_configs(data: ReportInput) -> dict:
    base = baseline_name(data)
    configs = {}
    for row in data.arms.itertuples():
        try:
            configs[row.arm] = json.loads(row.config_json) if row.config_json else {}
        except json.JSONDecodeError:
            configs[row.arm] = {"config_json (unparsed)": row.config_json}
    base_config = configs.get(base, {})
    arms = []
    for row in data.arms.itertuples():
        config = configs[row.arm]
        if not config:  # a control: samples drawn directly, no GAN behind them
            arms.append({"arm": row.arm, "role": row.role, "factor": str(row.factor),
                         "level": str(row.level), "changed": None, "json": ""})
            continue
        changed = [f"{k}: {base_config.get(k, MISSING)} → {v}" for k, v in sorted(config.items())
                   if k in base_config and base_config[k] != v]
        changed += [f"{k}: {v} (not in baseline)" for k, v in sorted(config.items())
                    if k not in base_config]
        arms.append({"arm": row.arm, "role": row.role, "factor": str(row.factor), "level": str(row.level),
                     "changed": changed, "json": json.dumps(config, indent=2, sort_keys=True)})
    return {"baseline": base, "arms": arms,
            "baseline_config": sorted((k, json.dumps(v)) for k, v in base_config.items())}
