"""Session-wide settings for the whole suite."""
import os
import shutil
import subprocess
import tempfile

import pytest

# Simulated null tables go to a cache folder of this test session (gancheck.stats.table_cache),
# never to the user's own cache; subprocesses the tests start inherit it. Tables are pure
# functions of their key, so sharing one folder across the session changes no result.
_CACHE = tempfile.mkdtemp(prefix="gancheck-test-cache-")
os.environ["GANCHECK_CACHE_DIR"] = _CACHE


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE, ignore_errors=True)


@pytest.fixture
def read_only_mount(tmp_path):
    """tmp_path/ro: a read-only bind mount of tmp_path/src, which holds an empty folder 'empty'.
    Root ignores file modes, so a read-only mount is the only real read-only folder for it; where
    mounting is not allowed the test is skipped (the same refusals are also tested by injecting
    the OSError a read-only folder raises)."""
    src, point = tmp_path / "src", tmp_path / "ro"
    (src / "empty").mkdir(parents=True)
    point.mkdir()
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "--bind", str(src), str(point)], capture_output=True).returncode != 0:
        pytest.skip("cannot bind-mount here (needs root with CAP_SYS_ADMIN)")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(point)], capture_output=True).returncode:
            pytest.skip("cannot remount read-only here")
        yield point
    finally:
        subprocess.run(["umount", str(point)], check=False)
