"""gancheck: measure whether the seed's GAN really learns N(4, 1.25).

Public API: get_moments, GANConfig, score, diversity, judge, verdict, Tolerance, and Target /
as_target (the distribution a generator should reproduce: gancheck.targets). Each is imported on
first use: building a config never imports torch, and ``import gancheck`` itself imports nothing,
so that the commands (``python -m gancheck``, which imports this first) hold Ctrl-C before their
imports begin (gancheck.cli.hold_signals).
"""
__all__ = ["GANConfig", "get_moments", "score", "diversity", "judge", "verdict", "Tolerance", "Target",
           "as_target"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "GANConfig":
        from gancheck.config import GANConfig
        return GANConfig
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
    if name == "verdict":
        from gancheck.stats.verdict import verdict
        return verdict
    if name == "Tolerance":
        from gancheck.stats.tolerance import Tolerance
        return Tolerance
    if name in ("Target", "as_target"):
        from gancheck import targets
        return getattr(targets, name)
    raise AttributeError(f"module 'gancheck' has no attribute {name!r}")
