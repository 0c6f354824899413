"""Colour-vision simulation, to check that the outcome colours stay apart for every reader.

Dichromacy is simulated with the matrices of Machado, Oliveira & Fernandes (2009), "A
physiologically-based model for simulation of color vision deficiency", IEEE TVCG 15(6),
1291-1298, at severity 1.0 (full protanopia, deuteranopia, tritanopia). The matrices act on
linear RGB, so colours go sRGB -> linear -> simulated -> CIELAB (D65), where the distance
between two colours is CIE76 Delta E (Euclidean distance in L*a*b*).
"""
from __future__ import annotations

import itertools

import numpy as np

#: Machado et al. (2009), Table 1 at severity 1.0 (linear RGB).
MACHADO_2009 = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
VISIONS = ("normal", *MACHADO_2009)

# sRGB (D65) -> CIE XYZ, IEC 61966-2-1.
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_WHITE = _RGB_TO_XYZ.sum(axis=1)


def srgb(hex_colour: str) -> np.ndarray:
    text = hex_colour.lstrip("#")
    return np.array([int(text[i:i + 2], 16) / 255 for i in (0, 2, 4)])


def linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def lab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = _RGB_TO_XYZ @ np.clip(linear_rgb, 0, 1) / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen(hex_colour: str, vision: str = "normal") -> np.ndarray:
    """The colour's L*a*b* as a reader with ``vision`` sees it."""
    rgb = linear(srgb(hex_colour))
    if vision != "normal":
        rgb = MACHADO_2009[vision] @ rgb
    return lab(rgb)


def min_delta_e(colours, vision: str = "normal") -> tuple[float, tuple[str, str]]:
    """The smallest CIE76 Delta E between any two of ``colours`` under ``vision``, and the pair."""
    best = (float("inf"), ("", ""))
    for a, b in itertools.combinations(colours, 2):
        d = float(np.linalg.norm(seen(a, vision) - seen(b, vision)))
        best = min(best, (d, (a, b)))
    return best
