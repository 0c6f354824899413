"""score() on hostile input: it never raises on well-formed arguments and never lets
an invalid sample pass. Invalid (broken): no values, a non-finite value, a constant sample, or
values so large that sums of squares overflow. Too few values for a test, or ties, are not broken:
that test is not run (status not ok, reject False), which is no pass either. A constant sample
that the target itself makes as often as a false alarm, written at the data's resolution (two
values of N(4, 1.25) written as integers), is such a tie."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gancheck import score
from gancheck.stats import gof, registry

#: gancheck.stats.gof's limit: above 1e150 in absolute value, squares overflow float64
#: (1e300 < max float 1.8e308 < 1e301).
MAX_ABS = 1e150

special = st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-300, 0.0, 4.0, 5e-324])
ordinary = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def hostile_samples(draw):
    kind = draw(st.sampled_from(["short", "specials", "constant", "ties", "long", "tiny", "huge"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "short":
        return np.array(draw(st.lists(ordinary, min_size=0, max_size=3)), dtype=float)
    if kind == "constant":
        return np.full(draw(st.integers(1, 600)), draw(ordinary))
    if kind == "ties":  # heavy ties: 500 values from 2-4 distinct levels
        return rng.choice(np.array(draw(st.lists(ordinary, min_size=2, max_size=4))), size=500)
    if kind == "long":  # above shapiro's 5,000
        return rng.normal(4, 1.25, draw(st.integers(5001, 5200)))
    if kind == "tiny":
        return rng.normal(0, 1, 500) * 1e-300
    if kind == "huge":
        return rng.normal(0, 1, 500) * 1e200
    x = rng.normal(4, 1.25, draw(st.integers(1, 600)))
    for _ in range(draw(st.integers(1, 5))):
        x[rng.integers(x.size)] = draw(special)
    return x


def _invalid(x: np.ndarray) -> bool:
    return (x.size == 0 or not np.isfinite(x).all() or (x.size > 1 and np.all(x == x.flat[0]))
            or np.abs(x).max() > MAX_ABS)


@settings(max_examples=150, deadline=None)
@given(hostile_samples())
def test_hostile_samples_never_raise_and_invalid_ones_never_pass(x):
    table = score(x)  # must not raise: the arguments are well formed
    assert len(table) == len(registry.SCORE_TESTS)  # one row per test
    ok = table["status"] == "ok"
    broken = table["status"].isin(gof.BROKEN_STATUSES)
    # Every status is ok, broken or untested; only ok rows carry a p-value.
    assert (ok | broken | table["status"].isin(gof.UNTESTED_STATUSES)).all()
    assert table.loc[~ok, "pvalue"].isna().all()
    # Broken rows reject, untested rows do not ("not tested" is not "rejected").
    assert table.loc[broken, "reject"].all() and not table.loc[~ok & ~broken, "reject"].any()
    # Rows that are ok carry a real p-value.
    assert table.loc[ok, "pvalue"].between(0, 1).all()
    if x.size > 1 and np.isfinite(x).all() and np.all(x == x.flat[0]) and not broken.any():
        assert (table["status"] == gof.TIES).all()   # constant by rounding: not tested, no pass
        return
    assert (_invalid(x)) == broken.all() and (not _invalid(x)) == (~broken).all()


@settings(max_examples=30, deadline=None)
@given(st.lists(hostile_samples(), min_size=2, max_size=4))
def test_a_bad_row_never_spoils_or_rescues_the_others(rows):
    # Rows of equal length are scored as one 2-D array; each row's verdict must equal its own.
    n = min(len(r) for r in rows)
    rows = [r[:n] for r in rows]
    batch = score(np.vstack(rows))
    if n == 0:  # empty rows: every row is too short, and every verdict rejects
        assert not (batch["status"] == "ok").any() and batch["reject"].all()
    for i, row in enumerate(rows):
        alone = score(row)
        part = batch[batch["sample"] == i].reset_index(drop=True)
        assert part["status"].tolist() == alone["status"].tolist()
        assert part["reject"].tolist() == alone["reject"].tolist()
