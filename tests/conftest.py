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


#: Thread pools of the numeric libraries, pinned to one thread in each test worker process. With
#: pytest-xdist's workers on every core, a second BLAS or OpenMP thread per worker only waits for a
#: core another worker holds (spinning, as OpenBLAS's threads do): the suite ran 1.25x faster on
#: 2 workers than serially with them, and 1.6x with one thread each.
_ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pytest_configure(config):
    # Runs in the controlling process before it starts the workers, which inherit the setting
    # (a worker that imported numpy first would be too late). A value the user set is kept.
    if getattr(config.option, "numprocesses", None):
        for name in _ONE_THREAD:
            os.environ.setdefault(name, "1")


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
