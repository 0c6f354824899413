"""Session-wide settings for the whole suite."""
import os
import shutil
import tempfile

# Simulated null tables go to a cache folder of this test session (gancheck.stats.table_cache),
# never to the user's own cache; subprocesses the tests start inherit it. Tables are pure
# functions of their key, so sharing one folder across the session changes no result.
_CACHE = tempfile.mkdtemp(prefix="gancheck-test-cache-")
os.environ["GANCHECK_CACHE_DIR"] = _CACHE


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE, ignore_errors=True)
