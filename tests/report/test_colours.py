"""Outcome colours stay distinguishable for readers with a colour-vision deficiency."""
from __future__ import annotations

import numpy as np
import pytest

from gancheck.report.colours import MACHADO_2009, VISIONS, min_delta_e, seen
from gancheck.report.labels import OUTCOME_COLOURS, OUTCOME_HATCHES, text_on
from gancheck.stats.outcomes import OUTCOMES

#: CIE76 Delta E of about 2.3 is a just-noticeable difference (Sharma 2003, Digital Color Imaging
#: Handbook, ch. 1); 20 keeps two colours apart at a glance in small swatches and thin lines.
MIN_DELTA_E = 20.0


def test_simulation_matches_published_values():
    # Oracle: Machado et al. (2009) Table 1 rows sum to 1 (white stays white), so pure white
    # keeps L* = 100 and a* = b* = 0 under every simulation.
    for vision in VISIONS:
        assert np.allclose(seen("#FFFFFF", vision), [100, 0, 0], atol=0.05)
    # Oracle: the CIELAB of sRGB pure red is (53.24, 80.09, 67.20) (Lindbloom's calculator,
    # D65); the simulation of normal vision is the identity.
    assert np.allclose(seen("#FF0000"), [53.24, 80.09, 67.20], atol=0.05)
    # Oracle: deuteranopes confuse red and green of the same lightness; the matrix maps pure red
    # and pure green to colours far nearer each other than the originals (hand computation with
    # the Table 1 matrix: Delta E drops from 170 to under 100).
    d_normal = np.linalg.norm(seen("#FF0000") - seen("#00FF00"))
    d_deut = np.linalg.norm(seen("#FF0000", "deuteranopia") - seen("#00FF00", "deuteranopia"))
    assert d_normal > 150 and d_deut < 100


def test_the_old_palette_s_failure_is_caught():
    # The palette before this check: on target #009E73 and collapsed #CC79A7 turn the same mid
    # grey for a deuteranope (Delta E 17.9 by this module), so the check must fail it.
    assert min_delta_e(["#009E73", "#CC79A7"], "deuteranopia")[0] < MIN_DELTA_E


@pytest.mark.parametrize("vision", VISIONS)
def test_outcome_colours_stay_apart(vision):
    colours = [OUTCOME_COLOURS[o] for o in OUTCOMES] + ["#FFFFFF"]  # and apart from the page
    distance, pair = min_delta_e(colours, vision)
    assert distance >= MIN_DELTA_E, f"{pair} are only {distance:.1f} apart under {vision}"


def test_every_outcome_has_one_colour_and_a_second_cue():
    assert set(OUTCOME_COLOURS) == set(OUTCOMES)
    assert len(set(OUTCOME_COLOURS.values())) == len(OUTCOMES)
    # The hatch (or its absence) tells apart outcomes whose colours could be confused; the two
    # without hatching are the darkest and the one named good, and every segment prints its count.
    assert len(set(OUTCOME_HATCHES.values())) >= len(OUTCOMES) - 1
    for colour in OUTCOME_COLOURS.values():
        assert text_on(colour) in ("black", "white")


def test_machado_matrices_are_the_published_ones():
    # Oracle: Machado et al. (2009), Table 1, severity 1.0, first row of each matrix.
    assert MACHADO_2009["protanopia"][0].tolist() == [0.152286, 1.052583, -0.204868]
    assert MACHADO_2009["deuteranopia"][0].tolist() == [0.367322, 0.860646, -0.227968]
    assert MACHADO_2009["tritanopia"][0].tolist() == [1.255528, -0.076749, -0.178779]
