"""`python -m gancheck train`: progress, the seed-style printout, and a run folder with everything."""
import json

import numpy as np
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
