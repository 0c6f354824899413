"""gancheck.gan.engine: when the population's steps are compiled, and refusals of bad choices."""
import pytest

from gancheck import GANConfig
from gancheck.gan import engine
from gancheck.gan.engine import MIN_EPOCHS_TO_COMPILE, check_compile_choice, resolve_compile

SEED = GANConfig()  # the seed's shape: 4 moments, H = 5, 2001 epochs


@pytest.fixture
def compiler(monkeypatch):
    """Pretend a C++ compiler is (or is not) installed."""
    def set_available(available: bool) -> None:
        monkeypatch.setattr(engine, "compiler_available", lambda: available)
    return set_available


def test_auto_compiles_the_seed_shape_when_a_compiler_is_there(compiler):
    compiler(True)
    assert resolve_compile("auto", SEED) is True
    assert resolve_compile("auto", SEED.replace(features="moments2")) is True
    compiler(False)
    assert resolve_compile("auto", SEED) is False


@pytest.mark.parametrize("change", [dict(features="raw"), dict(features="sorted"), dict(features="data_diffs"),
                                    dict(features="data_sq_diffs"), dict(g_hidden_size=200),
                                    dict(num_epochs=MIN_EPOCHS_TO_COMPILE - 1)])
def test_auto_stays_eager_where_compiling_was_measured_not_to_pay(compiler, change):
    compiler(True)
    assert resolve_compile("auto", SEED.replace(**change)) is False


def test_auto_stays_eager_on_a_gpu(compiler):
    compiler(True)
    assert resolve_compile("auto", SEED, "cuda") is False


def test_yes_and_no_are_obeyed(compiler):
    compiler(True)
    assert resolve_compile("yes", SEED.replace(features="sorted", num_epochs=1)) is True
    assert resolve_compile("no", SEED) is False


def test_bad_choices_are_refused_naming_the_field(compiler):
    compiler(True)
    with pytest.raises(ValueError, match="compile='maybe'"):
        check_compile_choice("maybe")
    compiler(False)
    with pytest.raises(ValueError, match="compile='yes'.*C\\+\\+ compiler"):
        resolve_compile("yes", SEED)
    assert check_compile_choice("auto") == "auto"


def test_the_decision_ignores_the_block():
    # The rule reads the config only, so a resumed run (fewer members left) decides the same.
    import inspect
    assert list(inspect.signature(resolve_compile).parameters) == ["choice", "cfg", "device_type"]
