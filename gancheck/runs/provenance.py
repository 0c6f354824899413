"""What a run records about where and how it ran: a typed record, written by the run, read by the report.

The driver builds one ``Provenance`` per run folder and one ``Invocation`` per command that
computes into it (a resumed run has several, possibly on other machines or commits), and stores
``Provenance.to_dict()`` as JSON in the run's store. The report reads it back with
``Provenance.from_dict``, which also accepts the plain dicts older runs stored.

Typical use in the driver::

    record = Provenance.from_dict(store.get_meta("provenance") or {})
    record = record.updated(name=..., design=..., preset=..., command=..., seeds=[...], ...)
    this = Invocation.start(command=..., device="cpu", executor="2 local worker processes",
                            workers=2, threads_per_worker=1, compile="eager: every arm")
    record.invocations.append(this)
    store.set_meta("provenance", record.to_dict())
    ...                                    # train
    this.finish(computed=trained, wall_s=elapsed)
    record.finish(wall_s=elapsed)          # or leave finished empty when interrupted
    store.set_meta("provenance", record.to_dict())
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from gancheck.stats.tolerance import Tolerance

_PACKAGES = ("gancheck", "torch", "numpy", "scipy", "statsmodels", "pandas", "matplotlib",
             "seaborn", "jinja2")
_ROOT = Path(__file__).resolve().parents[2]
TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


#: How a caveat added after its run ends (``gancheck report --caveat``). A resumed run records
#: its design's own caveats afresh and keeps these.
ADDED_AFTER_RUN = " after the run)"


def caveat_added_after_run(text: str) -> str:
    """A caveat its author adds to a finished run's record, dated, in one line."""
    return f"{' '.join(str(text).split())} (added {time.strftime('%Y-%m-%d')}{ADDED_AFTER_RUN}"


def added_caveats(caveats) -> list[str]:
    """The caveats of a record that were added after its run (caveat_added_after_run)."""
    return [str(c) for c in caveats if str(c).endswith(ADDED_AFTER_RUN)]


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


#: What a run's record calls the code: the checkout less its reports folder. Runs write there
#: (the main job into reports/full, whose published files are tracked), so counting it made
#: every rerun of the main job "dirty", with its own CSVs and pages embedded as the patch.
CODE_PATHS = ("--", ".", ":(exclude)reports")


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=_ROOT, capture_output=True, timeout=10, check=True)


#: The most of the uncommitted changes a run's record keeps (a megabyte). The record is rewritten
#: at every update of a run, and a user who keeps big data files tracked and edits them would
#: otherwise carry them in every record; beyond this the record keeps the changes' digest alone.
MAX_PATCH_BYTES = 1 << 20


@dataclass(frozen=True)
class CodeState:
    """The gancheck checkout's code (CODE_PATHS) as a run found it."""

    commit: str
    dirty: bool = False
    diff_sha256: str = ""  # of ``git diff HEAD``: tells two dirty runs of one commit apart
    patch: str = ""        # that diff as text (``git apply`` rebuilds the code), or why it is not kept


def code_state() -> CodeState:
    """The commit, whether the code has uncommitted changes, their digest and the changes
    themselves (up to MAX_PATCH_BYTES). Untracked files are in neither. Outside a git checkout:
    commit "unknown (not a git checkout)", clean."""
    try:
        commit = _git("rev-parse", "HEAD").stdout.decode().strip()
        diff = _git("diff", "HEAD", "--no-ext-diff", "--binary", *CODE_PATHS).stdout
    except (OSError, subprocess.SubprocessError):
        return CodeState("unknown (not a git checkout)")
    if not diff:
        return CodeState(commit)
    digest = hashlib.sha256(diff).hexdigest()
    if len(diff) > MAX_PATCH_BYTES:
        patch = (f"(not kept: the uncommitted changes are {len(diff):,} bytes, more than the "
                 f"{MAX_PATCH_BYTES:,} a run's record keeps; their sha256 is {digest})")
    else:
        patch = diff.decode("utf-8", errors="replace")
    return CodeState(commit, True, digest, patch)


def git_commit() -> str:
    """The commit, with '-dirty' when the checkout has uncommitted changes (older callers)."""
    state = code_state()
    return state.commit + ("-dirty" if state.dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def simd() -> str:
    """The vector instruction sets numpy's kernels dispatch to on this CPU ("X86_V3 X86_V4
    AVX512_ICL"): the same code sums and multiplies in another order on another set, so float
    results may differ in their last bit between hosts of one model name, never on one host."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # numpy's layout changed: the field stays empty rather than failing a run
        return ""
    return " ".join(target for target in __cpu_dispatch__ if __cpu_features__.get(target))


def os_name() -> str:
    try:
        pretty = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except OSError:
        pretty = ""
    system = f"{platform.system()} {platform.release()}"
    return f"{pretty} ({system})" if pretty else system


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Host:
    cpu_model: str = ""
    cpu_count: int = 0
    os: str = ""
    python: str = ""
    simd: str = ""

    @classmethod
    def collect(cls) -> "Host":
        return cls(cpu_model(), os.cpu_count() or 0, os_name(), platform.python_version(), simd())


@dataclass
class Invocation:
    """One command that computed into the run folder, and what its workers actually used."""

    command: str = ""
    started: str = ""
    git_commit: str = ""
    git_dirty: bool = False
    diff_sha256: str = ""
    patch: str = ""                  # the uncommitted changes themselves, if dirty (CodeState.patch)
    device: str = ""                 # e.g. "cpu", "cuda:0 (NVIDIA H200)"
    executor: str = ""               # e.g. "2 local worker processes", "dask (tcp://...)"
    workers: int = 1
    threads_per_worker: int = 0      # torch threads each worker ran with (0: not recorded)
    compile: str = ""                # the compile mode decided when planning, per arm
    draws: str = ""                  # the draw stream(s) decided, per arm (gancheck.gan.engine.resolve_draws)
    gpu: dict = field(default_factory=dict)  # a CUDA run's GPU: name, memory_gib (device.gpu_properties)
    computed: int = 0                # members computed by this invocation
    # members this invocation placed in new blocks (gancheck.runs.blocks), grouped by its worker
    # count: a rerun that is to give the same numbers uses the count of the first that planned any
    planned: int = 0
    # finished members this invocation trained again, only so that the unfinished members of
    # their recorded block get their bits (gancheck.runs.blocks); and those of them whose numbers
    # differed from their stored ones ([arm, seed]): this machine did not reproduce the earlier
    # invocation bit for bit, so the members it trained are not the uninterrupted run's numbers
    retrained: int = 0
    differed: list = field(default_factory=list)
    wall_s: float = 0.0
    # arm -> {members, core_s, compile_s, judge_s}: the CPU seconds this invocation's workers
    # spent on each arm's members, of which compiling and judging (gancheck.runs.costs)
    arm_costs: dict = field(default_factory=dict)
    host: Host = field(default_factory=Host)
    versions: dict = field(default_factory=dict)

    @classmethod
    def start(cls, *, command: str, device: str, executor: str = "in-process", workers: int = 1,
              threads_per_worker: int = 0, compile: str = "", draws: str = "",
              gpu: dict | None = None) -> "Invocation":
        """This machine's record now: git state, host, versions and the start time filled in."""
        code = code_state()
        return cls(command=command, started=time.strftime(TIME_FORMAT), git_commit=code.commit,
                   git_dirty=code.dirty, diff_sha256=code.diff_sha256, patch=code.patch, device=device, executor=executor,
                   workers=int(workers), threads_per_worker=int(threads_per_worker),
                   compile=compile, draws=draws, gpu=dict(gpu or {}), host=Host.collect(), versions=versions())

    def finish(self, *, computed: int, wall_s: float, arm_costs: dict | None = None, retrained: int = 0,
               differed=()) -> None:
        self.computed, self.wall_s = int(computed), float(wall_s)
        self.retrained, self.differed = int(retrained), [[str(a), int(s)] for a, s in differed]
        self.arm_costs = {arm: dict(cost) for arm, cost in (arm_costs or {}).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "Invocation":
        d = dict(d or {})
        commit = str(d.get("git_commit", ""))
        if commit.endswith("-dirty"):  # the older records' spelling
            d["git_commit"], d["git_dirty"] = commit.removesuffix("-dirty"), True
        if "engine" in d and "compile" not in d:
            d["compile"] = d["engine"]
        d["host"] = Host(**_known(Host, d.get("host") or {}))
        return cls(**_known(cls, d))


@dataclass
class Provenance:
    """The run folder's record: the design as run, and every invocation that computed into it."""

    name: str = ""
    design: str = ""
    preset: str = ""
    command: str = ""                # the latest command (every one is in invocations)
    seeds: list = field(default_factory=list)
    num_epochs: list = field(default_factory=list)
    n_draws: int = 0
    control_reps: int = 0
    alpha: float = 0.05
    # The tolerance every member's verdict was judged against (gancheck.Tolerance's fields).
    tolerance: dict = field(default_factory=lambda: Tolerance().as_dict())
    target_mean: float = 4.0
    target_std: float = 1.25
    # The baseline's target as a gancheck.targets spec (its mean and sd are target_mean and
    # target_std); "" in records written before targets existed: N(target_mean, target_std).
    target: str = ""
    # arm -> its target spec, where the design's arms differ in target (the transfer design); {}
    # when every arm has the baseline's.
    arm_targets: dict = field(default_factory=dict)
    baseline: str = ""
    design_spec: dict = field(default_factory=dict)  # e.g. factors and levels, as the design states them
    caveats: list = field(default_factory=list)      # limitations the run's author states in words
    started: str = ""
    finished: str = ""
    wall_s: float = 0.0
    finished_ok: bool = False
    invocations: list = field(default_factory=list)  # of Invocation

    def updated(self, **fields) -> "Provenance":
        """A copy with ``fields`` replaced (a resumed run keeps started, wall_s and invocations)."""
        if not self.started:
            fields.setdefault("started", time.strftime(TIME_FORMAT))
        return dataclasses.replace(self, **fields)

    def finish(self, *, wall_s: float) -> None:
        self.wall_s += float(wall_s)
        self.finished, self.finished_ok = time.strftime(TIME_FORMAT), True

    @property
    def latest(self) -> Invocation:
        return self.invocations[-1] if self.invocations else Invocation()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Provenance":
        """From ``to_dict`` output, or from an older run's plain dict (unknown keys are dropped,
        run-wide device/versions/git of old records move into their invocation)."""
        d = dict(d or {})
        invocations = [Invocation.from_dict(i) for i in d.get("invocations") or []]
        if invocations and not invocations[-1].versions and d.get("versions"):
            invocations[-1].versions = dict(d["versions"])
        if not invocations and (d.get("git_commit") or d.get("device")):
            invocations = [Invocation.from_dict({k: d.get(k) for k in ("git_commit", "device", "command")
                                                 if d.get(k) is not None} | {"versions": d.get("versions") or {}})]
        d["invocations"] = invocations
        for key in ("seeds", "num_epochs"):
            value = d.get(key)
            d[key] = list(value) if isinstance(value, (list, tuple)) else ([] if value is None else [value])
        d["finished"] = d.get("finished") or ""
        return cls(**_known(cls, d))


def _known(kind, d: dict) -> dict:
    names = {f.name for f in dataclasses.fields(kind)}
    return {k: v for k, v in d.items() if k in names and v is not None}
