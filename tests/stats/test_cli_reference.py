"""`python -m gancheck score FILE --reference REAL`: two-sample scoring from the command line."""
import json

import numpy as np
import pytest

from gancheck.cli import run_cli
from gancheck.stats import two_sample
from tests.stats.test_cli_score import main  # the score command alone


def run(argv, capsys):
    code = run_cli(main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def real(tmp_path, rng):
    path = tmp_path / "real.csv"
    np.savetxt(path, np.round(rng.normal(4, 1.25, 400), 2), header="value", comments="")
    return path


def test_scores_a_file_against_a_reference(tmp_path, rng, real, capsys):
    gen = tmp_path / "gen.npy"
    np.save(gen, rng.normal(4, 1.25, (3, 100)))
    code, out, err = run(["score", gen, "--reference", real, "--format", "json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 3 * len(two_sample.NAMES)
    assert {r["test"] for r in rows} == set(two_sample.NAMES)
    assert {r["sample_name"] for r in rows} == {"row 1", "row 2", "row 3"}
    assert all(r["n"] == 100 and r["status"] == "ok" for r in rows)
    assert "against the reference" in err and "400 values" in err


def test_draws_get_a_verdict_against_the_reference(tmp_path, rng, real, capsys):
    gen = tmp_path / "draws.npy"
    np.save(gen, rng.normal(4 + 0.6, 1.25, (10, 100)))  # about half a reference sd off
    code, out, _ = run(["score", gen, "--draws", "--reference", real], capsys)
    assert code == 0
    assert "verdict: off_target: mean error" in out


def test_reads_the_reference_as_one_row_too(tmp_path, rng, capsys):
    gen, row = tmp_path / "gen.csv", tmp_path / "row.txt"
    np.savetxt(gen, rng.normal(4, 1.25, 60))
    np.savetxt(row, rng.normal(4, 1.25, (1, 80)))
    code, out, _ = run(["score", gen, "--reference", row, "--format", "csv"], capsys)
    assert code == 0 and out.count("\n") == 1 + len(two_sample.NAMES)


@pytest.mark.parametrize("content, why", [
    (None, "no such file"),
    ("value\n1.0\n2.0\nabc\n", "abc"),
    ("value\n" + "4.0\n" * 30, "constant"),
    ("value\n1.0\n2.0\n3.0\n", "at least"),
    ("value\n" + "1.0\nnan\n" * 10, "non-finite"),
    ("a,b\n1,2\n3,4\n5,6\n", "one sample"),
])
def test_a_bad_reference_is_one_line_naming_the_option(tmp_path, rng, capsys, content, why):
    gen, bad = tmp_path / "gen.csv", tmp_path / "bad.csv"
    np.savetxt(gen, rng.normal(4, 1.25, 50))
    if content is not None:
        bad.write_text(content)
    code, out, err = run(["score", gen, "--reference", bad], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "--reference" in err and why in err and "Traceback" not in err


def test_target_and_reference_together_is_one_line(tmp_path, rng, real, capsys):
    gen = tmp_path / "gen.csv"
    np.savetxt(gen, rng.normal(4, 1.25, 50))
    code, out, err = run(["score", gen, "--reference", real, "--target", "norm(loc=4, scale=1.25)"], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--target" in err


def test_reference_read_from_a_subprocess_exits_2(tmp_path, rng):
    """The installed entry point, not only run_cli: exit status 2 and one line on stderr."""
    import os
    import subprocess
    import sys
    gen = tmp_path / "gen.csv"
    np.savetxt(gen, rng.normal(4, 1.25, 50))
    result = subprocess.run([sys.executable, "-m", "gancheck", "score", str(gen), "--reference",
                             str(tmp_path / "missing.csv")], capture_output=True, text=True,
                            env={**os.environ}, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "--reference" in result.stderr


def test_an_oversized_reference_or_two_standard_inputs_is_one_line(tmp_path, rng, capsys):
    from gancheck.cli import npyfiles
    gen, big = tmp_path / "gen.csv", tmp_path / "big.npy"
    np.savetxt(gen, rng.normal(4, 1.25, 50))
    np.save(big, np.zeros(npyfiles.MAX_ROW_VALUES + 1))  # refused from its header, before its data
    code, out, err = run(["score", gen, "--reference", big], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--reference" in err and "at most" in err
    code, out, err = run(["score", "-", "--reference", "-"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--reference -" in err


def test_a_reference_archive_of_several_arrays_does_not_point_at_key(tmp_path, rng, capsys):
    # --key picks the scored file's array, so it cannot choose the reference's: the message says
    # what to give instead. A one-array reference archive is read as any other.
    gen, several, one = tmp_path / "gen.csv", tmp_path / "several.npz", tmp_path / "one.npz"
    np.savetxt(gen, rng.normal(4, 1.25, 50))
    np.savez(several, a=rng.normal(4, 1.25, 80), b=rng.normal(4, 1.25, 80))
    np.savez(one, real=rng.normal(4, 1.25, 80))
    code, out, err = run(["score", gen, "--reference", several], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "--reference" in err and "several arrays (a, b)" in err and "--key" not in err
    code, out, _ = run(["score", gen, "--reference", one, "--format", "csv"], capsys)
    assert code == 0 and out.count("\n") == 1 + len(two_sample.NAMES)
