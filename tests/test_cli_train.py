"""`python -m gancheck train`: progress, the seed-style printout, and a run folder with everything."""
import json

import numpy as np
import pytest
import pandas as pd

from gancheck.__main__ import main
from gancheck.cli import run_cli


def test_train_writes_config_histories_and_samples(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(main, ["train", "--seeds", "2", "--epochs", "3", "--draws", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "G's batch mean / std by epoch" in printed and "seed 1:" in printed
    meta = json.loads((out / "config.json").read_text())
    assert meta["seeds"] == [0, 1] and meta["config"]["num_epochs"] == 3 and meta["config"]["g_hidden_size"] == 5
    history = pd.read_csv(out / "history.csv")
    assert len(history) == 2 * 3  # seeds x epochs
    assert list(history.columns) == ["seed", "epoch", "g_mean", "g_std", "d_loss", "g_loss"]
    samples = np.load(out / "samples.npy", allow_pickle=False)
    assert samples.shape == (2, 5, 500)  # seeds x draws x the seed's 500 outputs


def test_train_takes_the_remedies_as_options(tmp_path, capsys):
    # The remedies: `--generator per_value --noise normal` (and the other new fields) reach the config;
    # a per-value G takes Nag's one noise number per value unless --noise-size says otherwise.
    out = tmp_path / "run"
    argv = ["train", "--seeds", "1", "--epochs", "2", "--draws", "3", "--out", str(out), "--generator", "per_value",
            "--noise", "normal", "--minibatch-std", "--instance-noise", "0.5", "--g-loss", "saturating",
            "--d-lr", "4e-4"]
    assert run_cli(main, argv) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert (config["generator"], config["g_input_size"], config["noise"]) == ("per_value", 1, "normal")
    assert (config["minibatch_std"], config["instance_noise"], config["g_loss"]) == (True, 0.5, "saturating")
    assert (config["d_learning_rate"], config["g_learning_rate"]) == (4e-4, 1e-4)
    assert np.load(out / "samples.npy", allow_pickle=False).shape == (1, 3, 500)


def test_train_takes_a_target(tmp_path, capsys):
    # --target reaches the config (in gancheck.targets' canonical spelling) and the scoring.
    out = tmp_path / "run"
    argv = ["train", "--seeds", "1", "--epochs", "2", "--draws", "3", "--out", str(out),
            "--target", "gamma(a=10.24, scale=0.390625)"]
    assert run_cli(main, argv) == 0
    printed = capsys.readouterr().out
    assert "against gamma(a=10.24, scale=0.390625)" in printed and "shapiro" not in printed.split("against")[-1]
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["target"] == "gamma(a=10.24, scale=0.390625)"


@pytest.mark.parametrize(("argv", "named"), [
    (["--generator", "pervalue"], "--generator='pervalue'"),
    (["--noise", "gauss"], "--noise='gauss'"),
    (["--g-loss", "wgan"], "--g-loss='wgan'"),
    (["--features", "moment"], "--features='moment'"),
    (["--instance-noise", "-1"], "--instance-noise=-1.0"),
    (["--instance-noise", "x"], "--instance-noise"),
    (["--d-lr", "0"], "--d-lr=0.0"),
    (["--noise-size", "0"], "--noise-size='0'"),
    (["--target", "gamma(a=-1)"], "--target='gamma(a=-1)'"),
    (["--target", "binom(n=5, p=0.5)"], "--target='binom(n=5, p=0.5)'"),
    (["--target", "norm(loc=4, scale=1+1)"], "--target='norm(loc=4, scale=1+1)'"),
    (["--target", "nosuch(a=1)"], "--target='nosuch(a=1)'"),
    # scipy: t with df <= 2 has an infinite variance; draws are judged in target sds
    (["--target", "t(df=0.5)"], "--target='t(df=0.5)': its sd is not finite"),
    (["--target", "norm(loc=1e13, scale=1)"], "--target='norm(loc=1e13, scale=1)': its mean is 1e+13"),
])
def test_bad_remedy_options_are_one_line_exit_2(tmp_path, capsys, argv, named):
    code = run_cli(main, ["train", "--seeds", "1", "--epochs", "1", "--out", str(tmp_path / "r"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and named in err, err
    assert not (tmp_path / "r").exists()


def test_no_progress_hides_the_bar_as_ablate_s_does(tmp_path, capsys):
    # tqdm writes its bar to stderr ("training: ... member-epochs"); --no-progress leaves stderr
    # without it, the printout on stdout unchanged.
    argv = ["train", "--seeds", "1", "--epochs", "2", "--draws", "2", "--compile", "no"]
    assert run_cli(main, [*argv, "--out", str(tmp_path / "a")]) == 0
    shown = capsys.readouterr()
    assert run_cli(main, [*argv, "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    hidden = capsys.readouterr()
    assert "member-epochs" in shown.err and "member-epochs" not in hidden.err
    assert "G's batch mean / std by epoch" in hidden.out


@pytest.fixture
def no_training(monkeypatch):
    """Training fails the test: a refused --out must be refused before it."""
    import gancheck.gan.population as population

    def train_population(*args, **kwargs):
        raise AssertionError("training started though --out is refused")
    monkeypatch.setattr(population, "train_population", train_population)


def _refused(tmp_path, capsys, out, *words):
    code = run_cli(main, ["train", "--seeds", "1", "--epochs", "3", "--draws", "2", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"--out={str(out)!r}" in err, err
    for word in words:
        assert word in err, err


def test_an_out_that_is_a_file_is_refused_before_training(tmp_path, capsys, no_training):
    # It trained in full, then said "[Errno 17] File exists", naming no option.
    afile = tmp_path / "afile.csv"
    afile.write_text("x\n")
    _refused(tmp_path, capsys, afile, "not a folder")
    assert afile.read_text() == "x\n"


@pytest.mark.parametrize("files", [
    {"history.csv": "arm,seed,quantity\n", "scores.csv": "arm\n", "provenance.json": "{}"},  # an ablation's
    {"history.csv": "mine\n"},                                                             # someone's
    {"history.csv": "mine\n", "config.json": "[1, 2]"},                                    # not train's record
])
def test_files_that_are_not_a_train_run_s_are_never_replaced(tmp_path, capsys, no_training, files):
    # A published run folder's history.csv was silently replaced (and its report then refused).
    out = tmp_path / "run"
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text)
    _refused(tmp_path, capsys, out, "choose another --out")
    assert {p.name: p.read_text() for p in out.iterdir()} == files


def test_a_train_run_s_own_folder_is_replaced_by_the_rerun(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--seeds", "1", "--epochs", "3", "--draws", "2", "--out", str(out), "--no-progress"]
    assert run_cli(main, argv) == 0
    assert run_cli(main, [*argv[:4], "2", *argv[5:]]) == 0   # --epochs 2 this time
    assert json.loads((out / "config.json").read_text())["config"]["num_epochs"] == 2


def test_the_last_epoch_is_printed_once(capsys):
    # range(0, E, step) + [E - 1] printed the last row twice whenever E - 1 fell on the step.
    import types

    from gancheck.cli import train
    for epochs, expected in ((3, [0, 1, 2]), (2001, list(range(0, 2001, 200)))):
        train._print_history(epochs, [0], [types.SimpleNamespace(history=np.zeros((epochs, 2)))])
        rows = [int(line.split()[0]) for line in capsys.readouterr().out.splitlines()
                if line.strip() and line.split()[0].isdigit()]
        assert rows == expected
