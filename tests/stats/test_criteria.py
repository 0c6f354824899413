"""gancheck.stats.criteria: the band tests' t tails against scipy's own."""
import numpy as np
import pytest
from scipy import stats

from gancheck.stats import criteria

pytestmark = pytest.mark.filterwarnings("error")


@pytest.mark.parametrize("df", [1, 2, 9, 99, 10**6, 37.5, np.array([1.0, 4.0, 99.0])])
def test_t_tails_are_scipys_bit_for_bit(rng, df):
    # Oracle: scipy.stats.t.sf and t.cdf, compared as bytes, at the statistics _band_p meets:
    # ordinary values, ±inf (a zero standard error), NaN (0 · inf), signed zeros, huge values.
    special_values = np.array([-np.inf, np.inf, np.nan, -0.0, 0.0, 1e-300, -1e300, 1.96, -40.0])
    x = np.concatenate([special_values, rng.normal(0, 4, 300)])
    if np.ndim(df):
        x = x[:, None]
    for ours, theirs in ((criteria._t_sf, stats.t.sf), (criteria._t_cdf, stats.t.cdf)):
        assert np.asarray(ours(x, df)).tobytes() == np.asarray(theirs(x, df)).tobytes()
        assert type(ours(1.5, df)) is type(theirs(1.5, df))


def test_the_std_band_is_scale_free_and_reports_its_se_in_sd_units(rng):
    # The same draws at scales from 1e-100 to 1e140 (within what scores accept, gof.MAX_ABS =
    # 1e150): every p-value the same, estimate and se scaled with the data. The variances' own
    # spread (their squares, ~s⁴) used to overflow from s ~ 1e77 on, leaving se = inf and the
    # band undecided, with numpy's overflow warning (an error here).
    from gancheck.stats.tolerance import Tolerance
    z = rng.normal(0, 1, (100, 500))
    def std_row(s):
        return next(c for c in criteria.criteria(s * z, mean=0.0, std=s, tolerance=Tolerance()) if c.criterion == "std")
    one = std_row(1.0)
    for s in (1e-100, 1e77, 1e100, 1e140):
        row = std_row(s)
        assert (row.p_within, row.p_outside) == pytest.approx((one.p_within, one.p_outside), rel=1e-12, abs=1e-300)
        assert row.estimate == pytest.approx(s * one.estimate, rel=1e-9)
        assert row.se == pytest.approx(s * one.se, rel=1e-9)
    # In sd units: the spread of the K draws' sds over sqrt(K), to first order (delta method), for
    # iid N(0, 1) rows of n = 500: sd(s) = 1 / sqrt(2 (n - 1)), so se = 0.0317 / 10 = 0.0032 (by hand).
    direct = z.std(axis=1, ddof=1).std(ddof=1) / np.sqrt(100)
    assert one.se == pytest.approx(direct, rel=0.05) and 0.0025 < one.se < 0.0040
