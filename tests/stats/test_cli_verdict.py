"""`gancheck score --draws` prints the generator's verdict; `--tolerance` overrides its bands."""
from __future__ import annotations

import numpy as np
import pytest

from tests.stats.test_cli_score import run


@pytest.fixture
def draws_file(tmp_path):
    path = tmp_path / "draws.npy"
    np.save(path, np.random.default_rng(8).normal(4.0, 1.25, (100, 500)))
    return path


def test_draws_print_the_verdict(draws_file, capsys):
    code, out, err = run(["score", draws_file, "--draws"], capsys)
    assert code == 0, err
    # A perfect generator at K = 100, n = 500: every band shown within (tests/stats/test_verdict.py).
    assert "verdict: on_target: shown within every band" in out
    assert "detected: no" in out and "tolerance: mean=0.1, std=0.1, ks=0.04" in out


def test_machine_formats_keep_stdout_one_table(draws_file, capsys):
    code, out, err = run(["score", draws_file, "--draws", "--format", "csv", "--tolerance", "mean=0.2"], capsys)
    assert code == 0 and "verdict:" not in out and "verdict: on_target" in err
    assert "tolerance: mean=0.2," in err


def test_a_tight_tolerance_changes_the_verdict(draws_file, capsys):
    # A band of 0.001 sd on the mean cannot be shown with K·n = 50,000 values (se 0.0056).
    _, out, _ = run(["score", draws_file, "--draws", "--tolerance", "mean=0.001"], capsys)
    assert "verdict: undecided" in out or "verdict: off_target" in out


@pytest.mark.parametrize("text, part", [("mean=abc", "mean='abc'"), ("width=1", "'width'"),
                                        ("mean", "'mean'"), ("std=2", "std")])
def test_bad_tolerance_is_one_line_exit_2(draws_file, capsys, text, part):
    code, out, err = run(["score", draws_file, "--draws", "--tolerance", text], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "--tolerance" in err and part in err
