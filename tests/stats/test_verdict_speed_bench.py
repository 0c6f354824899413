"""benchmarks/verdict_speed.py times this tree and another one side by side (a script that
prints figures: only its keys and counts are checked, never a time)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_verdict_speed_times_this_tree_and_another(tmp_path):
    other = tmp_path / "other"
    shutil.copytree(REPO / "gancheck", other / "gancheck", ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "verdict_speed.py"), "--verdicts", "2",
                          "--rounds", "2", "--k", "5", "--n", "20", "--against", str(other), "--json"],
                         check=True, capture_output=True, text=True, timeout=300).stdout
    report = json.loads(out)
    assert report["verdicts_per_tree"] == 4  # 2 rounds x 2 verdicts
    assert set(report["median_s"]) == {str(REPO), str(other)}
    assert all(t > 0 for t in report["median_s"].values()) and report["ratio_against_over_this"] > 0
