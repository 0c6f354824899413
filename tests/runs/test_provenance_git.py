"""What a run's record calls the code's state: the checkout less its reports folder, where runs
write (the main job writes reports/full, whose published files are tracked)."""
from __future__ import annotations

import subprocess

import pytest

from gancheck.runs import provenance


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A one-commit checkout with code and a published report, standing in for gancheck's own."""
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git is not installed")
    (tmp_path / "reports" / "full").mkdir(parents=True)
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "reports" / "full" / "scores.csv").write_text("a,b\n1,2\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    monkeypatch.setattr(provenance, "_ROOT", tmp_path)
    return tmp_path


def test_a_rerun_s_own_outputs_do_not_make_the_code_dirty(checkout):
    (checkout / "reports" / "full" / "scores.csv").write_text("a,b\n1,3\n")   # a run rewrote it
    commit, dirty, digest = provenance.git_state()
    assert len(commit) == 40 and not dirty and digest == ""
    assert provenance.git_patch() == ""


def test_a_changed_module_is_dirty_and_its_patch_holds_the_code_only(checkout):
    (checkout / "code.py").write_text("x = 2\n")
    (checkout / "reports" / "full" / "scores.csv").write_text("a,b\n1,3\n")
    _, dirty, digest = provenance.git_state()
    patch = provenance.git_patch()
    assert dirty and len(digest) == 64
    assert "+x = 2" in patch and "scores.csv" not in patch
