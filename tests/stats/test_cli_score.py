"""`python -m gancheck score PATH`: file formats, output formats, exit codes."""
import io
import json
import subprocess
import sys
from importlib.util import find_spec

import numpy as np
import pandas as pd
import pytest

from gancheck.cli import ArgumentParser, run_cli
from gancheck.cli import score as score_cli
from gancheck.stats import registry
from gancheck.stats.scoring import COLUMNS

# Scoring must not warn on any input it accepts (pyproject already errors on FutureWarning).
pytestmark = pytest.mark.filterwarnings("error")

TESTS_PER_SAMPLE = len(registry.SCORE_TESTS)
#: The contract's columns, with the sample's name (column name or "row 3") after its index.
CLI_COLUMNS = (COLUMNS[0], score_cli.NAME_COLUMN, *COLUMNS[1:])


def main(argv=None) -> int:
    """The score command alone, wired as gancheck.__main__ wires every command."""
    parser = ArgumentParser(prog="gancheck")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    score_cli.add_parser(commands)
    args = parser.parse_args(argv)
    return args.handler(args)


@pytest.fixture
def samples(rng):
    return rng.normal(4.0, 1.25, size=(3, 50))  # small n: cheap null tables


def write(path, samples):
    """Write samples in the format the suffix names: .npy, or .csv / .txt, one sample per row."""
    if path.suffix == ".npy":
        np.save(path, samples)
    else:
        np.savetxt(path, np.atleast_2d(samples), delimiter="," if path.suffix == ".csv" else " ")
    return path


def run(argv, capsys):
    code = run_cli(main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".txt"])
def test_every_file_type_and_output_format(tmp_path, samples, capsys, suffix):
    path = write(tmp_path / f"samples{suffix}", samples)

    code, out, _ = run(["score", path, "--format", "json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 3 * TESTS_PER_SAMPLE and set(rows[0]) == set(CLI_COLUMNS)

    code, out, _ = run(["score", path, "--format", "csv"], capsys)
    assert code == 0
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == list(CLI_COLUMNS) and len(table) == 3 * TESTS_PER_SAMPLE
    # Same numbers as the JSON (text round trips of float64 at 15+ digits).
    np.testing.assert_allclose(table["pvalue"], [r["pvalue"] for r in rows], rtol=1e-12)

    code, out, _ = run(["score", path], capsys)  # table is the default
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == list(CLI_COLUMNS) and len(lines) == 1 + 3 * TESTS_PER_SAMPLE


def test_one_dimensional_file_is_one_sample(tmp_path, samples, capsys):
    path = tmp_path / "column.txt"
    np.savetxt(path, samples[0])  # one value per line
    code, out, _ = run(["score", path, "--format", "json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert {r["sample"] for r in rows} == {0} and {r["n"] for r in rows} == {50}
    assert {r["sample_name"] for r in rows} == {"column 1"}


def test_options_reach_score(tmp_path, capsys):
    # Values drawn from N(10, 2) pass against --mean 10 --std 2 and fail against the default.
    path = write(tmp_path / "s.npy", np.random.default_rng(3).normal(10.0, 2.0, size=100))
    _, out, _ = run(["score", path, "--mean", "10", "--std", "2", "--alpha", "0.001", "--format", "json"], capsys)
    targeted = {r["test"]: r for r in json.loads(out)}
    _, out, _ = run(["score", path, "--format", "json"], capsys)
    default = {r["test"]: r for r in json.loads(out)}
    # p > 1e-3 for every test happens with probability >= 0.99 under a calibrated battery.
    assert not any(r["reject"] for r in targeted.values())
    assert default["mean"]["reject"] and default["ks"]["reject"]


def test_a_bad_sample_is_scored_not_refused(tmp_path, capsys):
    # Exit 0 "whatever the verdict": NaN in a file is a non-ok row, JSON null p-value.
    path = tmp_path / "bad.csv"
    path.write_text("1,2,3,4,5,6,7,nan\n4,4,4,4,4,4,4,4\n")
    code, out, _ = run(["score", path, "--format", "json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert {r["status"] for r in rows} == {"non-finite values", "constant sample"}
    assert all(r["reject"] and r["pvalue"] is None for r in rows)


def unusable_files(tmp_path):
    """(name, path) pairs of files that cannot be scored."""
    cases = {}
    cases["missing"] = tmp_path / "missing.npy"
    cases["suffix"] = tmp_path / "samples.json"
    cases["suffix"].write_text("[1, 2, 3]")
    cases["pickle"] = tmp_path / "objects.npy"
    np.save(cases["pickle"], np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases["strings"] = tmp_path / "strings.npy"
    np.save(cases["strings"], np.array(["a", "b"]))
    cases["three_d"] = tmp_path / "cube.npy"
    np.save(cases["three_d"], np.zeros((2, 2, 2)))
    cases["empty_npy"] = tmp_path / "empty.npy"
    np.save(cases["empty_npy"], np.zeros((0, 500)))
    cases["garbage_npy"] = tmp_path / "garbage.npy"
    cases["garbage_npy"].write_bytes(b"not an array")
    cases["npz"] = tmp_path / "archive.npy"
    with cases["npz"].open("wb") as handle:
        np.savez(handle, x=np.zeros(10))
    cases["header_only"] = tmp_path / "header.csv"
    cases["header_only"].write_text("x,y\n")
    cases["ragged"] = tmp_path / "ragged.csv"
    cases["ragged"].write_text("1,2,3\n4,5\n")
    cases["empty_txt"] = tmp_path / "empty.txt"
    cases["empty_txt"].write_text("# only a comment\n\n")
    cases["binary_txt"] = tmp_path / "binary.txt"
    cases["binary_txt"].write_bytes(b"\xff\xfe\x00\x01")
    cases["directory"] = tmp_path / "folder.csv"
    cases["directory"].mkdir()
    return cases


@pytest.mark.parametrize("case", [
    "missing", "suffix", "pickle", "strings", "three_d", "empty_npy", "garbage_npy", "npz",
    "header_only", "ragged", "empty_txt", "binary_txt", "directory",
])
def test_unusable_file_exits_2_with_one_line(tmp_path, capsys, case):
    path = unusable_files(tmp_path)[case]
    code, out, err = run(["score", path], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and str(path.name) in err


@pytest.mark.parametrize("argv", [["--alpha", "2"], ["--std", "0"], ["--format", "xml"], ["--mean", "abc"]])
def test_bad_options_exit_2_with_one_line(tmp_path, samples, capsys, argv):
    path = write(tmp_path / "s.npy", samples)
    code, out, err = run(["score", path, *argv], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1


def test_scoring_never_imports_torch(tmp_path, samples):
    # Scoring must stay cheap: load, score and print without torch (a fresh interpreter).
    path = write(tmp_path / "s.npy", samples)
    code = (
        "import sys, argparse\n"
        "from gancheck.cli import score\n"
        "score.run(argparse.Namespace(path=" + repr(str(path)) + ", mean=4.0, std=1.25, alpha=0.05, "
        "format='csv', column=None, layout=None, header='auto', key=None, draws=False))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(",".join(CLI_COLUMNS))


COMMANDS_PRESENT = all(find_spec(f"gancheck.cli.{name}") for name in ("train", "report"))


@pytest.mark.skipif(not COMMANDS_PRESENT, reason="gancheck.__main__ also needs gancheck.cli.train/report")
def test_python_dash_m_gancheck_score(tmp_path, samples):
    path = write(tmp_path / "s.csv", samples)
    ok = subprocess.run([sys.executable, "-m", "gancheck", "score", str(path), "--format", "json"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads(ok.stdout)) == 3 * TESTS_PER_SAMPLE
    bad = subprocess.run([sys.executable, "-m", "gancheck", "score", str(tmp_path / "missing.npy")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1


def test_json_keeps_an_infinite_statistic_apart_from_an_untested_row(tmp_path, capsys):
    # Eight values scored against a mean of 1e308: Anderson-Darling's A² is inf (every value is
    # at u = F(x) = 0, whose log is -inf), a rejection with status ok. JSON has no infinity:
    # written as null it would read like an untested row, so it is the string "inf".
    path = tmp_path / "eight.csv"
    path.write_text("value\n4.0\n4.5\n3.9\n5.1\n2.2\n4.4\n3.3\n4.8\n")
    code, out, _ = run(["score", str(path), "--mean", "1e308", "--format", "json"], capsys)
    rows = {r["test"]: r for r in json.loads(out)}
    assert code == 0 and rows["ad"]["statistic"] == "inf" and rows["ad"]["reject"] is True
    assert rows["ad"]["status"] == "ok"


@pytest.mark.parametrize("argv, words", [
    (["--tolerance", "mean=0.2"], "--tolerance mean=0.2: the tolerance's bands judge a generator"),
    (["--reference", "SELF", "--mean", "5"], "with --mean: the reference replaces N(--mean, --std)"),
    (["--reference", "SELF", "--std", "2"], "with --std: the reference replaces N(--mean, --std)"),
])
def test_options_that_would_be_ignored_are_refused(tmp_path, capsys, argv, words):
    # Each used to be accepted and silently ignored (--tolerance without --draws; --mean or --std
    # beside --reference): one line naming the option, exit 2.
    path = tmp_path / "eight.csv"
    path.write_text("value\n4.0\n4.5\n3.9\n5.1\n2.2\n4.4\n3.3\n4.8\n")
    argv = [str(path) if a == "SELF" else a for a in argv]
    code, out, err = run(["score", str(path), *argv], capsys)
    assert code == 2 and out == "" and words in err and len(err.strip().splitlines()) == 1


def test_a_long_null_simulation_is_announced_once(tmp_path, capsys, monkeypatch):
    # The first score of a large sample simulates its null tables (36 s at n = 1,000,000 here):
    # a note says so, and the next run, which reads them from the cache, says nothing of it.
    monkeypatch.setenv("GANCHECK_CACHE_DIR", str(tmp_path / "cache"))
    # At least table_cache.ANNOUNCE_FROM, and an n no other test scores: a table this process
    # already holds in memory is never simulated, nor announced.
    n = 20_011
    path = write(tmp_path / "big.npy", np.random.default_rng(5).normal(4.0, 1.25, n))
    code, _, err = run(["score", path], capsys)
    assert code == 0
    assert "note: simulating the null of the shape tests at n = 20,011, once on this machine" in err
    assert str(tmp_path / "cache") in err
    code, _, err = run(["score", path], capsys)
    assert code == 0 and "simulating" not in err
