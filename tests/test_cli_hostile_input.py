"""Hostile and careless input at the command line: each case was once a traceback, a wrong
message, or input accepted without a word. The rule for all of them: one line naming the option
(or the file and column), exit 2; Ctrl-C at any moment one line and exit 130; an interrupted
command can be rerun.
"""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import gancheck.__main__ as gancheck_cli
from experiments import ablate
from gancheck.cli import EXIT_INTERRUPTED, EXIT_USAGE, UsageError, run_cli, target_option

REPO_ROOT = Path(__file__).resolve().parents[1]


def _one_line(code: int, err: str, *pieces: str) -> str:
    assert code == EXIT_USAGE, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for piece in pieces:
        assert piece in lines[0], f"{piece!r} not in {lines[0]!r}"
    return lines[0]


@pytest.fixture
def draws(tmp_path) -> str:
    path = tmp_path / "draws.npy"
    np.save(path, np.random.default_rng(3).normal(4, 1.25, (10, 100)))
    return str(path)


def _gancheck(argv, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = run_cli(gancheck_cli.main, argv)
    out, err = capsys.readouterr()
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []
    return code, out, err


# -- a target sd too large to judge in --------------------------------------------------------------

@pytest.mark.parametrize("argv, named", [
    # (1.1 * 1.3e154)**2 overflowed in criteria: OverflowError traceback.
    (["--std", "1.3e154"], "--std=1.3e+154"),
    (["--target", "norm(loc=4, scale=1.3e154)"], "--target='norm(loc=4, scale=1.3e154)'"),
    # Finite sds whose variance overflows: they were said to be "not finite".
    (["--target", "norm(loc=4, scale=1e155)"], "its sd 1e+155"),
    (["--target", "uniform(loc=0, scale=1e200)"], "its sd too large to compute"),
    # The bounds a run's target is stored and read with (TARGET_BOUND, exclusive).
    (["--std", "1e12"], "--std=1e+12"),
    (["--mean", "1e12"], "--mean=1e+12"),
])
def test_score_draws_refuses_a_target_outside_the_run_bounds(draws, capsys, argv, named):
    code, out, err = _gancheck(["score", draws, "--draws", *argv], capsys)
    line = _one_line(code, err, named, "between 0 and 1e+12")
    assert out == "" and "not finite" not in line


def test_scoring_samples_still_takes_a_huge_sd(draws, capsys):
    # Bounds are for judging a generator in sd units; scoring a sample takes any finite N(mean, sd).
    code, out, err = _gancheck(["score", draws, "--std", "1.3e154", "--format", "csv"], capsys)
    assert code == 0, err


@pytest.mark.parametrize("kwargs", [dict(std=1.3e154), dict(target="norm(loc=4, scale=1.3e154)"), dict(std=1e-300)])
def test_verdict_names_the_sd_rather_than_overflowing(kwargs):
    from gancheck import verdict
    x = np.random.default_rng(0).normal(4, 1.25, (10, 100))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # the judge's own tests, before the bands
        with pytest.raises(ValueError, match=r"^std=.*squared sds"):
            verdict(x, **kwargs)


@pytest.mark.parametrize("spec, words", [
    ("uniform(loc=0, scale=1e200)", "its sd too large to compute"),   # was "not finite", after a scipy warning
    ("mixture(norm(loc=0, scale=1), norm(loc=1e200, scale=1))", "its mean is 5e+199"),   # was OverflowError
    ("cauchy()", "its sd is not finite"),                                # truly without one
])
def test_training_targets_get_the_right_reason_and_no_warning(spec, words):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UsageError, match=re.escape(words)):
            target_option(spec)


# -- empty paths, abbreviations, repeated columns, empty tolerances -------------------------------------

@pytest.mark.parametrize("argv, named", [
    (["score", ""], "PATH=''"),
    (["plan", "--from", ""], "--from=''"),
    (["report", ""], "RUN_DIR=''"),
])
def test_an_empty_path_is_not_the_current_folder(argv, named, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = _gancheck(argv, capsys)
    _one_line(code, err, named)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, typed", [
    (["score", "{draws}", "--mea", "3"], "--mea"),
    (["plan", "--rat", "0,0.5"], "--rat"),
    (["train", "--epo", "3"], "--epo"),
    (["report", "{draws}", "--ou", "x"], "--ou"),
])
def test_abbreviated_options_are_refused(argv, typed, draws, capsys):
    code, _, err = _gancheck([a.format(draws=draws) for a in argv], capsys)
    _one_line(code, err, typed)


def test_ablate_refuses_abbreviated_options():
    with pytest.raises(UsageError, match="--pres"):
        ablate.build_parser().parse_args(["--pres", "quick"])


@pytest.fixture
def dup_header(tmp_path) -> str:
    rng = np.random.default_rng(5)
    rows = "\n".join(f"{a},{b}" for a, b in rng.normal(4, 1.25, (50, 2)))
    path = tmp_path / "dup.csv"
    path.write_text("a,a\n" + rows + "\n")
    return str(path)


def test_a_column_name_the_header_gives_twice_is_refused(dup_header, capsys):
    code, out, err = _gancheck(["score", dup_header, "--column", "a"], capsys)
    _one_line(code, err, "--column 'a'", "columns 1, 2")
    assert out == ""


def test_a_column_asked_for_twice_is_refused(draws, tmp_path, capsys):
    path = tmp_path / "ab.csv"
    path.write_text("a,b\n" + "\n".join(f"{4 + i / 50},{4 - i / 50}" for i in range(50)) + "\n")
    code, _, err = _gancheck(["score", str(path), "--column", "a", "--column", "a"], capsys)
    _one_line(code, err, "--column 'a'", "twice")


def test_a_non_ascii_digit_column_names_the_option(tmp_path, capsys):
    path = tmp_path / "nohead.csv"
    path.write_text("\n".join(f"{4 + i / 50},{4 - i / 50}" for i in range(50)) + "\n")
    code, _, err = _gancheck(["score", str(path), "--column", "²"], capsys)   # was int()'s ValueError
    _one_line(code, err, "'²'", "--column")


@pytest.mark.parametrize("text", ["", ",,,", " , "])
def test_an_empty_tolerance_is_not_the_defaults(draws, capsys, text):
    code, out, err = _gancheck(["score", draws, "--draws", "--tolerance", text], capsys)
    _one_line(code, err, f"--tolerance={text!r}")
    assert out == ""


@pytest.mark.parametrize("argv, named", [
    (["--alpha", "2"], "--alpha='2'"),
    (["--std", "0"], "--std='0'"),
    (["--std", "nan"], "--std='nan'"),
    (["--mean", "inf"], "--mean='inf'"),
])
def test_score_errors_name_the_option(draws, capsys, argv, named):
    code, _, err = _gancheck(["score", draws, *argv], capsys)   # said alpha, std, mean
    _one_line(code, err, named)


# -- help text ----------------------------------------------------------------------------------------

def _help(parser, option: str) -> str:
    action = next(a for a in parser._actions if option in a.option_strings)
    return action.help


def test_ablate_help_says_whole_sentences():
    parser = ablate.build_parser()
    assert _help(parser, "--target").endswith("which sets each arm's own target")
    assert "under a minute" in _help(parser, "--preset")   # as the README says (47 to 50 s measured, warm)


def test_train_target_help_has_one_default_and_names_no_missing_option():
    import argparse

    from gancheck.cli import train
    commands = argparse.ArgumentParser().add_subparsers()
    train.add_parser(commands)
    text = _help(commands.choices["train"], "--target")
    assert text.count("default") == 1 and "data_mean" not in text and "N(4, 1.25)" in text


# -- Ctrl-C while the command imports its modules ----------------------------------------------------

def _interrupted_while_importing(module: str, argv: list[str]) -> subprocess.CompletedProcess:
    """Run ``python -m module *argv`` (as runpy does it), sending SIGINT to itself as the command
    first imports gancheck.cli: the moment, 0.1 to 0.2 s after start, where Ctrl-C was a traceback
    (and exit -2 or 1). A signal before the interpreter reaches gancheck's code is Python's own."""
    script = textwrap.dedent(f"""
        import os, runpy, signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)   # as in a terminal
        class Trip:
            fired = False
            def find_spec(self, name, path=None, target=None):
                if name == "gancheck.cli" and not Trip.fired:
                    Trip.fired = True
                    os.kill(os.getpid(), signal.SIGINT)
                return None
        sys.meta_path.insert(0, Trip())
        sys.argv = [{module!r}, *{argv!r}]
        runpy.run_module({module!r}, run_name="__main__", alter_sys=True)
    """)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
                          stdin=subprocess.DEVNULL, timeout=120)


@pytest.mark.parametrize("module, argv", [
    ("gancheck", ["score", "-"]),
    ("gancheck", ["train", "--epochs", "1"]),
    ("experiments.ablate", ["--preset", "quick", "--epochs", "1", "--seeds", "1"]),
])
def test_ctrl_c_during_the_imports_is_one_line_and_130(module, argv, tmp_path):
    done = _interrupted_while_importing(module, [*argv, *(["--out", str(tmp_path / "o")] if argv[0] != "score" else [])])
    assert done.returncode == EXIT_INTERRUPTED, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted: "), done.stderr
    assert not (tmp_path / "o").exists()


# -- report: interrupted, then rerun ------------------------------------------------------------------

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    from gancheck.runs.driver import run_design
    from tests.runs.conftest import small_design
    run = tmp_path_factory.mktemp("run") / "run"
    run_design(small_design(seeds=(0,)), run, show_progress=False)
    return run


def _interrupt_after_scores(monkeypatch):
    """report's publish writes scores.csv, then Ctrl-C arrives (before provenance.json)."""
    import gancheck.report.collect as collect

    def interrupted(data, out):
        (Path(out) / "scores.csv").write_text("arm\n")
        raise KeyboardInterrupt
    monkeypatch.setattr(collect, "publish", interrupted)


@pytest.mark.parametrize("existing", [False, True], ids=["new --out", "empty --out"])
def test_an_interrupted_report_can_be_rerun(finished_run, tmp_path, monkeypatch, capsys, existing):
    out = tmp_path / "out"
    if existing:
        out.mkdir()
    with monkeypatch.context() as patch:
        _interrupt_after_scores(patch)
        assert run_cli(gancheck_cli.main, ["report", str(finished_run), "--out", str(out)]) == EXIT_INTERRUPTED
    # Nothing of the half-written report is left: a folder it made is gone, one it found is empty.
    assert (list(out.iterdir()) == []) if existing else not out.exists()
    capsys.readouterr()
    assert run_cli(gancheck_cli.main, ["report", str(finished_run), "--out", str(out)]) == 0, capsys.readouterr().err
    assert (out / "index.html").is_file() and (out / "provenance.json").is_file()
