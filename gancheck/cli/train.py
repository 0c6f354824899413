"""`python -m gancheck train`: train the seed's GAN over a few seeds at once and print its progress.

Options change named GANConfig fields (the rest stay the seed's), e.g. `--generator per_value
--noise normal` for Dev Nag's per-value generator on normal noise. The options, their help and
their allowed values are read from the fields' declaration (gancheck/fields.py).
"""
from __future__ import annotations

import argparse
import io
import shlex
from pathlib import Path

from gancheck.cli import MAX_EPOCHS, MAX_SEEDS, UsageError, device_option, folder, positive_int, target_option
from gancheck.cli.judged_target import TARGET_HELP
from gancheck.cli.out_folder import made_folder, refuse_non_folder
from gancheck.fields import BY_NAME, FIELDS, ConfigError, brought_along
from gancheck.gan.engine import COMPILE_CHOICES

#: The most noise draws per member --draws takes: 100 times the ablation's (its full preset
#: draws 100). Every draw is kept in memory and in samples.npy, 500 float32 values each: 20 MB
#: per seed at this bound.
MAX_DRAWS = 10_000

#: Upper limits of the field options that have one (checked while parsing, stated in their help).
MOST = {"num_epochs": MAX_EPOCHS}
#: What a train run writes into --out; a rerun replaces them (the default runs/train each time).
TRAIN_FILES = ("config.json", "history.csv", "samples.npy")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train the seed's GAN (a few seeds) and print its progress",
                              description=__doc__)
    p.add_argument("--seeds", type=positive_int("--seeds", most=MAX_SEEDS), default=3,
                   help=f"number of seeds (0..N-1), default 3, at most {MAX_SEEDS:,}")
    _add_field_options(p)
    p.add_argument("--device", type=device_option("--device"), default="cpu", help="cpu, cuda or auto")
    p.add_argument("--compile", default="auto", choices=COMPILE_CHOICES,
                   help="torch.compile the training steps (default auto: where it pays and a C++ compiler is found)")
    p.add_argument("--draws", type=positive_int("--draws", most=MAX_DRAWS), default=100,
                   help=f"noise draws scored per member (default 100, at most {MAX_DRAWS:,})")
    p.add_argument("--out", type=folder("--out"), default=Path("runs") / "train",
                   help="folder for config.json, history.csv and samples.npy (default runs/train)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in logs), as ablate's")
    p.set_defaults(handler=run)


def _field_help(f) -> str:
    """A field's one line, its allowed names (from its declaration) and the seed's value. The
    target's declaration speaks of fields without options (data_mean, data_std): its option says
    what ablate's --target says."""
    if f.name == "target":
        return f"the target the real data is drawn from: {TARGET_HELP}".replace("%", "%%")
    text = f.doc
    if f.choices:
        text += ": " + "; ".join(f"{c.name} ({c.description})" for c in f.choices)
    most = f", at most {MOST[f.name]:,}" if f.name in MOST else ""
    return f"{text} (default: the seed's {f.default!r}{most})".replace("%", "%%")


def _add_field_options(p: argparse.ArgumentParser) -> None:
    """One option per GANConfig field that declares one (gancheck/fields.py); unset options
    leave the seed's value. Values are checked by GANConfig, which names the field."""
    for f in FIELDS:
        if not f.flag:
            continue
        if f.type is bool:
            p.add_argument(f.flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                           help=_field_help(f))
        else:
            kind = {int: positive_int(f.flag, most=MOST.get(f.name)), float: float, str: str}[f.type]
            if f.name == "target":
                kind = target_option  # judged in target sds: a spec without a finite sd is refused
            metavar = "{" + ",".join(f.names) + "}" if f.choices else {int: "N", float: "X", str: "SPEC"}[f.type]
            p.add_argument(f.flag, dest=f.name, type=kind, default=None, help=_field_help(f), metavar=metavar)


def _write_run(out: Path, cfg, seeds, results, device_text: str, compiled: bool) -> None:
    """The run folder: the config and provenance, every member's history, every member's draws."""
    import json

    import numpy as np
    import pandas as pd

    from gancheck.gan.result import HISTORY_COLUMNS
    from gancheck.runs.files import atomic_write_bytes, atomic_write_text
    from gancheck.runs.provenance import git_commit, versions

    meta = dict(config=cfg.to_dict(), seeds=seeds, device=device_text, compiled=compiled, versions=versions(),
                git_commit=git_commit(), status={r.seed: r.status for r in results},
                diverged_epoch={r.seed: r.diverged_epoch for r in results})
    atomic_write_text(out / "config.json", json.dumps(meta, indent=2, sort_keys=True))
    history = pd.concat([pd.DataFrame(r.history, columns=list(HISTORY_COLUMNS))
                         .rename_axis("epoch").reset_index().assign(seed=r.seed) for r in results])
    atomic_write_text(out / "history.csv", history[["seed", "epoch", *HISTORY_COLUMNS]].to_csv(index=False))
    samples = np.stack([r.samples for r in results])  # (seeds, draws, n)
    buffer = io.BytesIO()
    np.save(buffer, samples, allow_pickle=False)
    atomic_write_bytes(out / "samples.npy", buffer.getvalue())


def check_out(out: Path) -> None:
    """Refuse, before any training, an --out whose files are not a train run's: a file, a folder
    at one of TRAIN_FILES, an ablation run's folder (its history.csv would be replaced, and its
    report then refused), or files without a train run's record (config.json)."""
    import json

    from gancheck.runs.driver import has_store, outputs_in
    refuse_non_folder("--out", out)
    if not out.exists():
        return
    for name in TRAIN_FILES:
        if (out / name).is_dir() and not (out / name).is_symlink():
            raise UsageError(f"--out={str(out)!r}: {out / name} is a folder, where train writes its file "
                             f"{name}: remove it, or choose another --out")
    theirs = [name for name in outputs_in(out) if name not in TRAIN_FILES]
    if has_store(out) or theirs:
        shown = ", ".join(theirs[:3]) + (f" and {len(theirs) - 3} more" if len(theirs) > 3 else "")
        raise UsageError(f"--out={str(out)!r}: holds an ablation run's files ({shown or 'store.sqlite'}), "
                         "whose history.csv train would replace, so nothing was trained: choose another --out")
    found = [name for name in TRAIN_FILES if (out / name).exists()]
    if not found:
        return
    try:
        record = json.loads((out / "config.json").read_text())
    except (OSError, ValueError):
        record = None
    if not (isinstance(record, dict) and {"config", "seeds"} <= record.keys()):
        raise UsageError(f"--out={str(out)!r}: holds {', '.join(found)} but no train run's record "
                         "(config.json) saying they are one, so nothing was trained: choose another --out")


def build_config(args: argparse.Namespace):
    """The seed's GANConfig with the options' changes; a bad value is a UsageError naming its option."""
    from gancheck.config import GANConfig
    changes = {f.name: getattr(args, f.name) for f in FIELDS if f.flag and getattr(args, f.name) is not None}
    for name, value in list(changes.items()):
        for other, implied in brought_along(name, value).items():
            changes.setdefault(other, implied)  # e.g. a per-value G takes one noise number per call
    try:
        return GANConfig().replace(**changes)
    except ConfigError as exc:
        option = BY_NAME[exc.field].flag
        if not option:
            raise
        raise UsageError(f"{option}={exc.value!r}: {exc.why}") from None


#: Bytes each kept draw value takes at least: every member's draws as float64 in its result, and
#: again stacked for samples.npy.
DRAW_VALUE_BYTES = 16


def _check_memory(parameters: int, cfg, args: argparse.Namespace) -> None:
    """Refuse, before any work, a run whose parameters (``parameters`` bytes) or kept draws alone
    would not fit in this machine's memory, naming the option that makes them so big."""
    import os
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return  # unknown here: torch's own allocation error is still turned into one line
    draws = DRAW_VALUE_BYTES * args.seeds * args.draws * cfg.g_output_size
    if parameters + draws <= total:
        return
    if draws > parameters:
        raise UsageError(f"--draws='{args.draws}': keeping {args.draws:,} draws of {cfg.g_output_size} values for "
                         f"each of {args.seeds:,} seed(s) needs at least {draws / 2**30:,.1f} GiB of memory; this "
                         f"machine has {total / 2**30:,.1f} GiB")
    # Name the size the user gave (the hidden or the noise size), else the seed count.
    given = [(f.flag, getattr(args, f.name)) for f in (BY_NAME["g_hidden_size"], BY_NAME["g_input_size"])
             if getattr(args, f.name) is not None]
    option, value = given[0] if given else ("--seeds", args.seeds)
    raise UsageError(f"{option}='{value}': training {args.seeds} seed(s) at hidden size {cfg.g_hidden_size} "
                     f"and noise size {cfg.g_input_size} needs at "
                     f"least {parameters / 2**30:,.1f} GiB of memory for the parameters alone; this machine has "
                     f"{total / 2**30:,.1f} GiB")


def _print_history(epochs: int, seeds: list[int], results) -> None:
    """The seed's printout: G's batch mean and std every tenth of the run, and the last epoch
    (once, where it falls on the step as well)."""
    step = max(1, epochs // 10)
    print("\nG's batch mean / std by epoch (the seed's printout, every %d epochs):" % step)
    print("epoch  " + "  ".join(f"seed {s:>2}: mean    std " for s in seeds))
    for epoch in sorted({*range(0, epochs, step), epochs - 1}):
        cells = "  ".join(f"        {r.history[epoch, 0]:7.3f} {r.history[epoch, 1]:6.3f}" for r in results)
        print(f"{epoch:5d}  {cells}")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from gancheck.config import GANConfig
    from gancheck.gan.device import describe_device, resolve_device
    from gancheck.gan.engine import resolve_compile
    from gancheck.gan.population import Population, parameter_bytes, train_population
    from gancheck.runs.progress import progress_bar
    from gancheck.stats.scoring import diversity, score

    from gancheck.runs.workers import keep_freed_memory
    torch.set_num_threads(1)  # small batched ops: one thread is fastest (see gancheck/runs/execute.py)
    keep_freed_memory()
    cfg = build_config(args)
    check_out(args.out)   # before the work: a refused folder would waste the training
    device = resolve_device(args.device)
    seeds = list(range(args.seeds))
    # The memory check is instant; the compile decision may probe torch.compile (seconds).
    _check_memory(parameter_bytes(cfg, len(seeds)), cfg, args)
    compiled = resolve_compile(args.compile, cfg, device.type)
    what = "the seed's GAN" if cfg.replace(num_epochs=GANConfig().num_epochs) == GANConfig() else "the GAN"
    print(f"training {what}: {len(seeds)} seeds x {cfg.num_epochs} epochs on {describe_device(device)}"
          + (" (compiled steps: the first epoch includes compiling them, 5-15 s the first time)" if compiled
             else " (eager steps)"))
    print(f"config: {cfg.to_json()}")
    with made_folder("--out", args.out), \
            progress_bar(cfg.num_epochs * len(seeds), "training", enabled=not args.no_progress) as bar:
        results = train_population(Population([cfg] * len(seeds), seeds), n_draws=args.draws,
                                   device=device, compile=compiled, on_epoch=bar.update)
        _print_history(cfg.num_epochs, seeds, results)
        _write_run(args.out, cfg, seeds, results, describe_device(device), compiled)
    print(f"\nsamples (seeds x draws x n), histories and config written to {args.out}/; each seed's "
          f"verdict: python -m gancheck score {shlex.quote(str(args.out / 'samples.npy'))} --draws")
    law = cfg.data_target
    print(f"\nscores of noise draw 0 against {law.describe()} at alpha 0.05:")
    for r in results:
        if r.status != "done" or not np.isfinite(r.samples).all():
            print(f"seed {r.seed}: diverged at epoch {r.diverged_epoch}")
            continue
        # The seed's target by the call it always had; another by its spec (the normal-shape tests
        # do not apply to it, so they are absent from its rows).
        target = dict(target=cfg.target) if cfg.target else dict(mean=cfg.data_mean, std=cfg.data_std)
        rows = score(r.samples[0], **target).set_index("test")
        verdicts = ", ".join(f"{t} p={rows.loc[t, 'pvalue']:.3g}" for t in ("ks", "ad", "shapiro") if t in rows.index)
        div = diversity(r.samples, **target)
        print(f"seed {r.seed}: {verdicts}; spread across draws {div.spread_ratio:.3f} of the target std"
              f" ({'collapsed' if div.collapsed else 'not collapsed'})")
    return 0
