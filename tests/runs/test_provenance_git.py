"""What a run's record calls the code's state: the checkout less its reports folder, where runs
write (the main job writes reports/full, whose published files are tracked)."""
from __future__ import annotations

import hashlib
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
    code = provenance.code_state()
    assert len(code.commit) == 40 and not code.dirty and code.diff_sha256 == "" and code.patch == ""


def test_a_changed_module_is_dirty_and_its_patch_holds_the_code_only(checkout):
    (checkout / "code.py").write_text("x = 2\n")
    (checkout / "reports" / "full" / "scores.csv").write_text("a,b\n1,3\n")
    code = provenance.code_state()
    assert code.dirty and len(code.diff_sha256) == 64
    assert "+x = 2" in code.patch and "scores.csv" not in code.patch


def test_changes_over_the_cap_are_recorded_by_their_digest_alone(checkout, monkeypatch):
    """A user's big tracked data file, edited, must not be copied into every record of a run."""
    monkeypatch.setattr(provenance, "MAX_PATCH_BYTES", 2_000)
    (checkout / "code.py").write_text("x = 2\n" + "# padding\n" * 500)   # a diff of about 5 kB
    code = provenance.code_state()
    diff = subprocess.run(["git", "-C", str(checkout), "diff", "HEAD", "--binary"], capture_output=True).stdout
    # Oracle: hashlib over git's own diff bytes; the cap is the patch's only difference.
    assert len(diff) > 2_000 and code.dirty and code.diff_sha256 == hashlib.sha256(diff).hexdigest()
    assert "+x = 2" not in code.patch and code.diff_sha256 in code.patch and f"{len(diff):,} bytes" in code.patch
    record = provenance.Invocation.start(command="c", device="cpu")
    assert record.git_dirty and record.patch == code.patch
