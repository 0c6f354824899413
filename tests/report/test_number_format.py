"""How the pages write numbers: equal figures read alike, whatever their last binary bits."""
import pytest

from gancheck.report.tables import fmt_fixed, fmt_rate, fmt_signed


@pytest.mark.parametrize("values, shown", [
    # One effect, 0.475, computed by two routes that differ in the last bit: both are 0.48 (by
    # hand: half away from zero). The float's own formatting gave 0.47 and 0.48.
    ((0.475, 0.47500000000000003, 0.4749999999999999), "0.48"),
    ((0.125, 0.12500000000000003, 0.12499999999999999), "0.13"),
    ((0.42, 0.41999999999999998), "0.42"),
])
def test_a_rate_at_a_half_rounds_one_way(values, shown):
    assert {fmt_rate(v) for v in values} == {shown}


def test_signed_and_fixed_figures_round_halves_away_from_zero():
    # By hand: -0.125 to 2 places is -0.13, +0.025 is +0.03; 1,234,567.8915 to 3 is ...892.
    assert fmt_signed(-0.125) == "−0.13" and fmt_signed(0.025) == "+0.03"
    assert fmt_fixed(1234567.8915) == "1,234,567.892"
    # A figure that rounds to zero has no sign; huge ones are written as before.
    assert fmt_fixed(-0.0004) == "0.000" and fmt_signed(-0.0004) == "0.00"
    assert fmt_fixed(1e300).startswith("1,000,000")
