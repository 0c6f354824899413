"""benchmarks/design_time.py reads where a run's time went from its record (a script: keys and sums only)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from gancheck.runs.driver import run_design
from tests.runs.conftest import REPO_ROOT


def test_design_time_prints_each_arms_cost_from_a_run_folder(tmp_path, tiny_design):
    run_design(tiny_design, tmp_path, show_progress=False)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO_ROOT), os.environ.get("PYTHONPATH"))))}
    out = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "design_time.py"), str(tmp_path), "--json"],
                         check=True, capture_output=True, text=True, env=env).stdout
    report = json.loads(out)
    rows = {row["arm"]: row for row in report["arms"]}
    assert set(rows) == {a.name for a in tiny_design.arms} | {"control:null"}
    for row in rows.values():
        # training is what is left of the CPU seconds once compiling and judging are taken out
        assert abs(row["training_s"] + row["compile_s"] + row["judge_s"] - row["core_s"]) < 1e-9
    assert report["timing"] is None  # read from a folder, nothing was run


def test_design_time_refuses_a_folder_that_is_no_run(tmp_path):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "design_time.py"), str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "neither a run folder" in result.stderr
