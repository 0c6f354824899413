"""gancheck: measure whether the seed's GAN really learns N(4, 1.25).

Public API (kept stable for outside scripts): get_moments, GANConfig, score, diversity, judge. Torch is imported only
when get_moments is first used, so scoring works without paying for it.
"""
from gancheck.config import GANConfig

__all__ = ["GANConfig", "get_moments", "score", "diversity", "judge"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "get_moments":
        from gancheck.gan.moments import get_moments
        return get_moments
    if name == "score":
        from gancheck.stats.scoring import score
        return score
    if name == "diversity":
        from gancheck.stats.diversity import diversity
        return diversity
    if name == "judge":
        from gancheck.stats.judge import judge
        return judge
    raise AttributeError(f"module 'gancheck' has no attribute {name!r}")
