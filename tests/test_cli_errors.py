"""Bad command-line input: every option of `python -m experiments.ablate` and of
`python -m gancheck train | score | report` gets at least one bad value.

Each must exit 2 (gancheck.cli.EXIT_USAGE) with exactly one line on stderr, `error: ...`, that
names the option and the bad value, and no traceback. Most cases run in process through
gancheck.cli.run_cli, exactly as the entry points call it; a few run the real entry points as
subprocesses. Run with `-s` to print the table of inputs and the messages the user sees.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gancheck.__main__ as gancheck_cli
import gancheck.runs.driver as driver
from experiments import ablate
from gancheck.cli import EXIT_USAGE, UsageError, run_cli

REPO_ROOT = Path(__file__).resolve().parents[1]
CUDA = torch.cuda.is_available()
#: a small ablation in this process, one worker: the bad option under test is appended to it and
#: wins (argparse keeps the last value). Work never starts: driver.plan fails the test if reached.
ABLATE_BASE = ["--preset", "quick", "--epochs", "1", "--seeds", "1", "--workers", "1", "--no-progress"]

# (bad arguments, what the one line must contain: the option's name and the bad value).
# {out}: a fresh run folder; {file}: an existing plain file; {samples}: a valid samples file;
# {run}: a run folder with a complete store.
ABLATE_CASES = [
    (["--preset", "huge"], ["--preset", "'huge'"]),
    (["--design", "diagonal"], ["--design", "'diagonal'"]),
    (["--seeds", "0"], ["--seeds", "'0'"]),
    (["--seeds", "-1"], ["--seeds", "'-1'"]),
    (["--seeds", "a"], ["--seeds", "'a'"]),
    (["--seeds", "3:1"], ["--seeds", "'3:1'"]),       # an empty range
    (["--seeds", "1,1"], ["--seeds", "'1,1'"]),       # a repeated seed
    (["--seeds", "1:2:3"], ["--seeds", "'1:2:3'"]),
    (["--epochs", "0"], ["--epochs", "'0'"]),
    (["--epochs", "x"], ["--epochs", "'x'"]),
    (["--out", "{file}"], ["--out", "{file}"]),       # a file, not a folder
    (["--out", "/proc/gancheck-no-such-dir"], ["--out", "'/proc/gancheck-no-such-dir'"]),  # cannot be made
    (["--device", "tpu"], ["--device", "'tpu'"]),
    (["--compile", "maybe"], ["--compile", "'maybe'"]),
    (["--workers", "0"], ["--workers", "'0'"]),
    (["--workers", "-2"], ["--workers", "'-2'"]),
    (["--workers", "x"], ["--workers", "'x'"]),
    (["--dask", "local:0"], ["--dask", "'local:0'"]),
    (["--dask", "local:x"], ["--dask", "'local:x'"]),
    (["--dask", "local:1:2"], ["--dask", "'local:1:2'"]),
    (["--dask", ""], ["--dask", "''"]),               # blank: must not fall back to local work
    # A local cluster runs here, under --workers' bound (4 per core); 999 started launching them.
    (["--dask", "local:999"], ["--dask='local:999'", "at most", "4 per core"]),
    (["--dask", "local:2", "--workers", "1"], ["--workers", "cluster's"]),   # one or the other
    (["--fresh=yes"], ["--fresh", "'yes'"]),          # a flag takes no value
    (["--no-progress=1"], ["--no-progress", "'1'"]),
    (["--bogus"], ["--bogus"]),
    # Upper limits, checked while parsing (a huge number was an OverflowError, or trained every arm
    # and then failed to store a seed). The bounds: gancheck.cli.MAX_SEEDS = 100,000 seeds,
    # ablate.MAX_SEED = 2**63 - 1 (SQLite's INTEGER), gancheck.cli.MAX_EPOCHS = 1,000,000.
    (["--seeds", "99999999999999999999"], ["--seeds='99999999999999999999'", "at most 100,000"]),
    (["--seeds", "100001"], ["--seeds='100001'", "at most 100,000"]),
    (["--seeds", "0:99999999999999999999"], ["--seeds='0:99999999999999999999'", "at most 100,000"]),
    (["--seeds", "0:100001"], ["--seeds='0:100001'", "at most 100,000"]),
    (["--seeds", "auto:100001"], ["--seeds='auto:100001'", "at most 100,000"]),
    (["--seeds", "9223372036854775808,1"], ["--seeds='9223372036854775808,1'", "2**63 - 1"]),
    (["--seeds", "9223372036854775806:9223372036854775809"], ["--seeds='9223372036854775806:9223372036854775809'",
                                                              "2**63 - 1"]),
    (["--epochs", "99999999999999999999"], ["--epochs='99999999999999999999'", "at most 1,000,000"]),
    (["--epochs", "1000001"], ["--epochs='1000001'", "at most 1,000,000"]),
    # Targets the run could train on but not judge or store: refused while parsing, naming
    # --target (they trained every arm, then failed at the verdicts or the provenance's bounds,
    # gancheck.report.record_checks.checked_target: mean in (-1e12, 1e12), sd in (0, 1e12)).
    (["--target", "uniform(loc=0, scale=1e-300)"], ["--target='uniform(loc=0, scale=1e-300)'", "sd 0"]),
    (["--target", "norm(loc=1e300, scale=1e300)"], ["--target='norm(loc=1e300, scale=1e300)'", "mean is 1e+300"]),
    (["--target", "norm(loc=4, scale=1e12)"], ["--target='norm(loc=4, scale=1e12)'", "sd 1e+12"]),  # bound exclusive
    (["--target", "t(df=0.5)"], ["--target='t(df=0.5)'", "sd is not finite"]),
    (["--target", "cauchy()"], ["--target='cauchy()'", "sd is not finite"]),
    # At most 4 workers per core (ablate.WORKERS_PER_CORE): 100000 started dozens of processes.
    (["--workers", "100000"], ["--workers='100000'", "at most", "per core"]),
    # "auto:" was read as auto:40; "auto:²" got argparse's "invalid parse_seeds value".
    (["--seeds", "auto:"], ["--seeds='auto:'", "after the colon"]),
    (["--seeds", "auto:²"], ["--seeds='auto:²'", "whole number", "'²'"]),
    # "auto:abc" was told its maximum must be at least 2, as if it were a number.
    (["--seeds", "auto:abc"], ["--seeds='auto:abc'", "whole number", "'abc'"]),
    (["--seeds", "auto:1"], ["--seeds='auto:1'", "at least 2"]),
    # Both were accepted, though --fresh deletes what --replace-changed would keep.
    (["--fresh", "--replace-changed"], ["--replace-changed", "not allowed with", "--fresh"]),
    # A value starting with '-' was taken for an option ("expected one argument").
    (["--seeds", "-2:1"], ["--seeds='-2:1'", "non-negative"]),
    (["--seeds", "-2,1"], ["--seeds='-2,1'", "non-negative"]),
]
if not CUDA:
    # The option as the user typed it (it said device='cuda', resolve_device's argument).
    ABLATE_CASES.append((["--device", "cuda"], ["--device='cuda'", "CUDA is not available"]))

GANCHECK_CASES = [
    ([], ["command"]),
    (["fit"], ["command", "'fit'"]),
    (["train", "--seeds", "0"], ["--seeds", "'0'"]),
    (["train", "--epochs", "x"], ["--epochs", "'x'"]),
    (["train", "--hidden", "0"], ["--hidden", "'0'"]),
    (["train", "--draws", "0"], ["--draws", "'0'"]),
    (["train", "--device", "tpu", "--seeds", "1", "--epochs", "1"], ["--device='tpu'"]),
    (["train", "--compile", "always"], ["--compile", "'always'"]),
    # Too big for any machine: refused before training, naming what to shrink (the hidden size
    # itself, not the repr of its Field declaration as it printed).
    (["train", "--hidden", "100000000", "--seeds", "1", "--epochs", "1", "--out", "{out}"],
     ["--hidden", "'100000000'", "at hidden size 100000000 ", "GiB"]),
    (["train", "--noise-size", "99999999999999999999", "--seeds", "1", "--epochs", "1", "--out", "{out}"],
     ["--noise-size='99999999999999999999'", "GiB"]),   # it named --seeds='1'
    # Upper limits, checked while parsing (each was a traceback: overflow in range(), in torch,
    # or an allocation after training): gancheck.cli.MAX_SEEDS = 100,000, gancheck.cli.MAX_EPOCHS
    # = 1,000,000, gancheck.cli.train.MAX_DRAWS = 10,000.
    (["train", "--seeds", "99999999999999999999", "--out", "{out}/t"], ["--seeds='99999999999999999999'",
                                                                       "at most 100,000"]),
    (["train", "--epochs", "99999999999999999999", "--seeds", "1", "--out", "{out}/t"],
     ["--epochs='99999999999999999999'", "at most 1,000,000"]),
    (["train", "--draws", "99999999999999999999", "--seeds", "1", "--epochs", "1", "--out", "{out}/t"],
     ["--draws='99999999999999999999'", "at most 10,000"]),
    (["train", "--draws", "10001", "--seeds", "1", "--epochs", "1", "--out", "{out}/t"],
     ["--draws='10001'", "at most 10,000"]),
    # Within each limit, but the kept draws would not fit: 100,000 x 10,000 x 500 values at 16
    # bytes (train.DRAW_VALUE_BYTES) is 8e12 bytes, 7,450.6 GiB by hand. Only the parameters
    # (1.3 GB) were counted before.
    (["train", "--draws", "10000", "--seeds", "100000", "--epochs", "1", "--out", "{out}/t"],
     ["--draws='10000'", "10,000 draws of 500 values", "100,000 seed(s)", "7,450.6 GiB"]),
    (["score", "{file}.npy"], ["{file}.npy"]),                       # PATH that does not exist
    (["score", "{file}"], ["{file}", "unsupported file type"]),      # PATH of no known type
    (["score", "{samples}", "--mean", "x"], ["--mean", "'x'"]),
    (["score", "{samples}", "--mean", "nan"], ["mean", "nan"]),
    (["score", "{samples}", "--std", "-1"], ["std", "-1"]),
    (["score", "{samples}", "--alpha", "2"], ["alpha", "2"]),
    (["score", "{samples}", "--format", "xml"], ["--format", "'xml'"]),
    (["report", "{out}/missing"], ["RUN_DIR", "{out}/missing"]),
    (["report", "{file}"], ["RUN_DIR", "{file}"]),
    (["report", "{out}"], ["{out}", "no run store"]),                # a folder with no store
    (["report", "{run}", "--out", "{file}"], ["--out", "{file}"]),
]
if not CUDA:
    # The option as the user typed it (it said device='cuda', resolve_device's argument).
    GANCHECK_CASES.append((["train", "--device", "cuda", "--seeds", "1", "--epochs", "1"],
                           ["--device='cuda'", "CUDA is not available"]))

#: cases whose message does not (yet) meet the rule, with why; they run and are reported
@pytest.fixture
def places(tmp_path) -> dict[str, str]:
    afile = tmp_path / "afile"
    afile.write_text("not a folder\n")
    samples = tmp_path / "samples.txt"
    samples.write_text(" ".join(str(4 + (i % 7 - 3) / 2) for i in range(50)) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    return {"file": str(afile), "samples": str(samples), "out": str(out), "run": str(tmp_path / "run")}


@pytest.fixture
def no_work(monkeypatch):
    def plan(*args, **kwargs):
        raise AssertionError("bad input reached the planner: the run would have started")
    monkeypatch.setattr(driver, "plan", plan)


def _fill(items, places) -> list[str]:
    return [s.format(**places) for s in items]


def _check_one_line(code: int, err: str, expect: list[str], shown: str) -> str:
    print(f"{shown}\n    -> {err.strip()}")
    assert code == EXIT_USAGE, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err   # one line, no traceback
    for piece in expect:
        assert piece in lines[0], f"{piece!r} not in {lines[0]!r}"
    return lines[0]


@pytest.mark.parametrize("bad, expect", ABLATE_CASES, ids=[" ".join(c[0]) or "''" for c in ABLATE_CASES])
def test_ablate_bad_option(bad, expect, places, capsys, no_work):
    argv = [*ABLATE_BASE, "--out", places["out"], *_fill(bad, places)]
    code = run_cli(ablate.main, argv)
    _check_one_line(code, capsys.readouterr().err, _fill(expect, places),
                    "python -m experiments.ablate " + " ".join(_fill(bad, places)))
    assert list(Path(places["out"]).iterdir()) == []   # nothing was written to the run folder


def test_an_out_the_file_system_cannot_name_or_lock_names_out(places, capsys, no_work):
    # A name over the file system's 255 bytes: Path.exists raised ENAMETOOLONG, printed raw.
    long = str(Path(places["out"]) / ("x" * 300))
    code = run_cli(ablate.main, [*ABLATE_BASE, "--out", long])
    _check_one_line(code, capsys.readouterr().err, ["--out=", "File name too long"], "--out " + long[:40])
    # A folder where the run's lock file goes: open() raised EISDIR, printed as "[Errno 21]".
    (Path(places["out"]) / ".run.lock").mkdir()
    code = run_cli(ablate.main, [*ABLATE_BASE, "--out", places["out"]])
    line = _check_one_line(code, capsys.readouterr().err, [f"--out={places['out']!r}", ".run.lock is a folder"],
                           "--out with a .run.lock folder")
    assert "Errno" not in line


def _gancheck_params():
    for argv, expect in GANCHECK_CASES:
        yield pytest.param(argv, expect, id=" ".join(argv) or "(none)")


@pytest.fixture
def finished_run(places):
    """A run folder with a complete store (small design), for the report command's options."""
    from gancheck.runs.driver import run_design
    from tests.runs.conftest import small_design
    run_design(small_design(seeds=(0,)), Path(places["run"]), show_progress=False)
    return places["run"]


@pytest.mark.parametrize("argv, expect", list(_gancheck_params()))
def test_gancheck_bad_option(argv, expect, places, capsys, request):
    if "{run}" in argv:
        request.getfixturevalue("finished_run")
    code = run_cli(gancheck_cli.main, _fill(argv, places))
    _check_one_line(code, capsys.readouterr().err, _fill(expect, places),
                    "python -m gancheck " + " ".join(_fill(argv, places)))


@pytest.mark.parametrize("argv", [
    ["-m", "experiments.ablate", *ABLATE_BASE, "--out", ""],
    ["-m", "experiments.ablate", *ABLATE_BASE, "--out="],
    ["-m", "gancheck", "train", "--seeds", "1", "--epochs", "1", "--draws", "2", "--out", ""],
], ids=["ablate --out ''", "ablate --out=", "train --out ''"])
def test_an_empty_out_is_refused_not_the_current_folder(argv, tmp_path, capsys, monkeypatch, no_work):
    """Path('') is the current folder: an empty --out wrote the run (train: config.json,
    history.csv, samples.npy) wherever the command was run, e.g. into the repository."""
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)   # where the run would have gone
    main = ablate.main if argv[1] == "experiments.ablate" else gancheck_cli.main
    code = run_cli(main, argv[2:])
    _check_one_line(code, capsys.readouterr().err, ["--out=''"], "python " + " ".join(argv))
    assert list(here.iterdir()) == []


def test_the_largest_seeds_and_counts_are_accepted():
    """The bounds are inclusive (gancheck.cli.MAX_SEEDS = 100,000, ablate.MAX_SEED = 2**63 - 1,
    which a quick run was seen to train and store), and a range is checked without being built."""
    assert ablate.parse_seeds("100000") == ablate.SeedCount(100_000)
    assert ablate.parse_seeds("auto:100000") == ablate.AutoSeeds(100_000)
    assert ablate.parse_seeds("9223372036854775806,9223372036854775807") == [2**63 - 2, 2**63 - 1]
    assert ablate.parse_seeds("9223372036854775806:9223372036854775808") == [2**63 - 2, 2**63 - 1]
    assert len(ablate.parse_seeds("0:100000")) == 100_000
    assert ablate.parse_seeds("auto") == ablate.AutoSeeds(ablate.AUTO_MAX_SEEDS)   # no colon: the default
    assert ablate.build_parser().parse_args(["--epochs", "1000000"]).epochs == 1_000_000


def test_dashed_seeds_reach_parse_seeds_and_other_words_stay():
    assert ablate._dashed_seeds_joined(["--seeds", "-2:1", "--epochs", "3"]) == ["--seeds=-2:1", "--epochs", "3"]
    # Not a dash and a digit: a missing value stays one (argparse says "expected one argument").
    assert ablate._dashed_seeds_joined(["--seeds", "--fresh"]) == ["--seeds", "--fresh"]
    assert ablate._dashed_seeds_joined(["--seeds"]) == ["--seeds"]


def test_workers_are_capped_at_four_per_core():
    from gancheck.runs.workers import default_workers
    most = 4 * default_workers()   # ablate.WORKERS_PER_CORE per core this process may use
    parse = ablate.workers_option()
    assert parse(str(most)) == most
    with pytest.raises(UsageError, match=f"--workers='{most + 1}': must be at most {most}"):
        parse(str(most + 1))


@pytest.mark.parametrize("spec, accepted", [
    ("norm(loc=999999999999, scale=999999999999)", True),  # just inside both bounds
    ("norm(loc=-999999999999, scale=1e-300)", True),
    ("norm(loc=1e12, scale=1)", False),                   # the bounds are exclusive
    ("norm(loc=-1e12, scale=1)", False),
    ("norm(loc=4, scale=1e12)", False),
    ("uniform(loc=0, scale=1e-300)", False),              # its variance underflows: sd 0
])
def test_target_bounds_are_the_ones_a_stored_run_is_read_with(spec, accepted):
    """ablate's --target takes exactly the targets whose mean and sd the report accepts from a
    run's provenance (gancheck.report.record_checks.checked_target), so no run trains to be refused."""
    from gancheck.report.collect import checked_target
    from experiments.designs import build_design
    try:
        ablate.target_option(spec)
        parsed = True
    except UsageError:
        parsed = False
    assert parsed == accepted
    try:
        design = build_design(design="one-factor", preset="quick", target=spec)
    except ValueError as exc:   # GANConfig refuses such a target by the same rule, before any run
        assert not accepted and "GANConfig.target=" in str(exc)
        return
    mean, std = design.target  # what the driver stores
    try:
        checked_target(Path("store.sqlite"), {"target_mean": mean, "target_std": std, "alpha": 0.05})
        stored = True
    except ValueError:
        stored = False
    assert stored == accepted


@pytest.mark.parametrize("spec", ["t(df=0.5)", "cauchy()", "norm(loc=1e300, scale=1e300)"])
def test_an_unusable_target_leaves_no_folder(spec, tmp_path, capsys, no_work):
    """Refused while parsing: the run folder (and its .run.lock and store.sqlite) is never made."""
    new = tmp_path / "new"
    code = run_cli(ablate.main, [*ABLATE_BASE, "--out", str(new), "--target", spec])
    _check_one_line(code, capsys.readouterr().err, [f"--target={spec!r}"], f"--target {spec}")
    assert not new.exists()


def test_cuda_is_refused_only_where_there_is_none():
    """--device cuda is a bad value exactly when torch sees no GPU (the cases above add it then)."""
    from gancheck.gan.device import resolve_device
    if CUDA:
        assert resolve_device("cuda").type == "cuda"
    else:
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    assert resolve_device("auto").type == ("cuda" if CUDA else "cpu")


# -- the real entry points ---------------------------------------------------------------------------

SUBPROCESS_CASES = [
    (["-m", "experiments.ablate", *ABLATE_BASE, "--out", "{out}", "--seeds", "3:1"], ["--seeds", "'3:1'"]),
    (["-m", "gancheck", "train", "--epochs", "0"], ["--epochs", "'0'"]),
    (["-m", "gancheck", "score", "{samples}", "--alpha", "2"], ["alpha", "2"]),
    (["-m", "gancheck", "report", "{out}/missing"], ["RUN_DIR", "{out}/missing"]),
]


@pytest.mark.slow
@pytest.mark.parametrize("argv, expect", SUBPROCESS_CASES,
                         ids=[f"{c[0][1]} {' '.join(c[0][-2:])}" for c in SUBPROCESS_CASES])
def test_real_entry_point_bad_option(argv, expect, places):
    proc = subprocess.run([sys.executable, *_fill(argv, places)], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    _check_one_line(proc.returncode, proc.stderr, _fill(expect, places), "python " + " ".join(_fill(argv, places)))
    assert proc.stdout == ""


# -- --dask addresses that need the network layer ------------------------------------------------------

@pytest.mark.slow
def test_ablate_unreachable_dask_scheduler(places, capsys, no_work):
    """Nothing listens on port 1: the run must stop before any work, naming the address
    (dask_executor.CONNECT_TIMEOUT_S = 10 s of waiting)."""
    pytest.importorskip("distributed", reason="--dask needs dask.distributed (pip install '.[dask]')")
    new_out = Path(places["out"]) / "new"  # a folder the run would create: it must not be left behind
    without_workers = [a for i, a in enumerate(ABLATE_BASE) if "--workers" not in ABLATE_BASE[max(i - 1, 0):i + 1]]
    code = run_cli(ablate.main, [*without_workers, "--out", str(new_out), "--dask", "tcp://127.0.0.1:1"])
    _check_one_line(code, capsys.readouterr().err, ["--dask", "'tcp://127.0.0.1:1'"],
                    "python -m experiments.ablate --dask tcp://127.0.0.1:1")
    assert not new_out.exists()


@pytest.mark.slow
def test_ablate_malformed_dask_address_at_the_real_entry_point(places):
    pytest.importorskip("distributed", reason="--dask needs dask.distributed (pip install '.[dask]')")
    argv = ["-m", "experiments.ablate", *ABLATE_BASE, "--out", places["out"], "--dask", "not an address"]
    try:
        # A malformed address needs no network: 15 s is start-up (about 6 s on a busy machine) and margin.
        proc = subprocess.run([sys.executable, *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("a malformed --dask address took over 15 s to be refused")
    _check_one_line(proc.returncode, proc.stderr, ["--dask", "'not an address'"],
                    "python -m experiments.ablate --dask 'not an address'")


def test_an_allocation_failure_anywhere_is_one_line_and_other_runtime_errors_are_not_hidden(capsys):
    # The fallback behind train's memory check: torch's allocation error (its CPU allocator's
    # wording, copied from torch 2.13) becomes one line; any other RuntimeError is a bug and raises.
    from gancheck.cli import run_cli

    def out_of_memory(argv):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
                           "memory: you tried to allocate 4000 bytes. Error code 12 (Cannot allocate memory)")
    code = run_cli(out_of_memory, [])
    _check_one_line(code, capsys.readouterr().err, ["not enough memory", "4,000 bytes", "--hidden"], "(allocation)")

    def bug(argv):
        raise RuntimeError("shape mismatch")
    with pytest.raises(RuntimeError, match="shape mismatch"):
        run_cli(bug, [])
