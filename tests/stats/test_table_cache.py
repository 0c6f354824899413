"""The on-disk cache of simulated null tables returns exactly what simulating returns."""
import numpy as np
import pytest

from gancheck.stats import diversity, gof, gof_target, table_cache
from gancheck.targets import parse


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(table_cache.CACHE_ENV, str(tmp_path))
    for cached in (gof.shape_null, diversity.diversity_null, gof_target.moment_null):
        cached.cache_clear()
    yield tmp_path / "null-tables"
    for cached in (gof.shape_null, diversity.diversity_null, gof_target.moment_null):
        cached.cache_clear()


def _shape_tables(null):
    return [null.abs_skew, null.kurtosis, null.ad_normal, null.shapiro]


def test_a_table_read_back_is_the_simulated_one_bit_for_bit(cache, monkeypatch):
    # Oracle: the simulation itself, run with the cache off.
    monkeypatch.setenv(table_cache.CACHE_ENV, "off")
    simulated = _shape_tables(gof.shape_null(40, 999))
    gof.shape_null.cache_clear()
    monkeypatch.setenv(table_cache.CACHE_ENV, str(cache.parent))
    written = _shape_tables(gof.shape_null(40, 999))
    assert len(list(cache.glob("shape_null-*.npz"))) == 1
    gof.shape_null.cache_clear()
    # A second process would read the file: simulating again must not happen.
    monkeypatch.setattr(gof, "_simulate_shape_null", lambda *a: pytest.fail("simulated despite the cache"))
    read = _shape_tables(gof.shape_null(40, 999))
    for a, b, c in zip(simulated, written, read):
        assert np.array_equal(a, b) and np.array_equal(a, c)
        assert not c.flags.writeable


def test_each_table_kind_round_trips(cache):
    law = parse("gamma(a=2)")
    first = (diversity.diversity_null(5, 20, 199), gof_target.moment_null(law, 30, 999))
    diversity.diversity_null.cache_clear()
    gof_target.moment_null.cache_clear()
    again = (diversity.diversity_null(5, 20, 199), gof_target.moment_null(law, 30, 999))
    assert np.array_equal(first[0].coordinates, again[0].coordinates)
    assert np.array_equal(first[0].heterogeneity, again[0].heterogeneity)
    assert first[1].tables.keys() == again[1].tables.keys() == {"mean", "std", "skew", "kurtosis"}
    for name in first[1].tables:
        assert np.array_equal(first[1].tables[name], again[1].tables[name])
    assert len(list(cache.glob("*.npz"))) == 2


def test_other_arguments_name_other_files(cache):
    gof.shape_null(30, 199)
    gof.shape_null(31, 199)
    gof.shape_null(30, 299)
    gof.shape_null(30, 199, seed=1)
    assert len(list(cache.glob("shape_null-*.npz"))) == 4


@pytest.mark.parametrize("damage", ["garbage", "unsorted", "short", "nan"])
def test_a_damaged_file_is_simulated_afresh(cache, monkeypatch, damage):
    monkeypatch.setenv(table_cache.CACHE_ENV, "off")
    truth = _shape_tables(gof.shape_null(30, 199))
    gof.shape_null.cache_clear()
    monkeypatch.setenv(table_cache.CACHE_ENV, str(cache.parent))
    gof.shape_null(30, 199)
    gof.shape_null.cache_clear()
    (path,) = cache.glob("shape_null-*.npz")
    with np.load(path) as stored:
        tables = {k: stored[k].copy() for k in stored.files}
    if damage == "garbage":
        path.write_bytes(b"not a table")
    else:
        if damage == "unsorted":
            tables["shapiro"] = tables["shapiro"][::-1].copy()
        elif damage == "short":
            tables["shapiro"] = tables["shapiro"][:-1]
        else:
            tables["shapiro"][5] = np.nan
        np.savez(path, **tables)
    for a, b in zip(truth, _shape_tables(gof.shape_null(30, 199))):
        assert np.array_equal(a, b)
    gof.shape_null.cache_clear()  # and the bad file was replaced by a good one
    for a, b in zip(truth, _shape_tables(gof.shape_null(30, 199))):
        assert np.array_equal(a, b)


def test_off_writes_nothing_and_an_unwritable_folder_only_costs_time(tmp_path, monkeypatch):
    monkeypatch.setenv(table_cache.CACHE_ENV, "off")
    assert table_cache.cache_dir() is None
    gof.shape_null.cache_clear()
    gof.shape_null(25, 199)
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv(table_cache.CACHE_ENV, str(blocked))
    gof.shape_null.cache_clear()
    assert gof.shape_null(25, 199).shapiro.size == 199
    gof.shape_null.cache_clear()
    assert list(tmp_path.iterdir()) == [blocked]


def test_the_default_folder_follows_xdg_and_home(tmp_path, monkeypatch):
    monkeypatch.delenv(table_cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert table_cache.cache_dir() == tmp_path / "gancheck" / "null-tables"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert table_cache.cache_dir() == tmp_path / "home" / ".cache" / "gancheck" / "null-tables"
