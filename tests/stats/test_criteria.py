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
