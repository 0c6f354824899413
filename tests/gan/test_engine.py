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
        monkeypatch.setattr(engine, "compiler_problem", lambda: None if available else "no C++ compiler found")
    return set_available


def test_auto_compiles_the_seed_shape_when_a_compiler_is_there(compiler):
    compiler(True)
    assert resolve_compile("auto", SEED) is True
    assert resolve_compile("auto", SEED.replace(features="moments2")) is True
    compiler(False)
    assert resolve_compile("auto", SEED) is False


# Measured faster compiled (compile_pays in the registries: gancheck.gan.features, generators, activations).
@pytest.mark.parametrize("change", [dict(d_activation="leaky_relu"), dict(g_activation="leaky_relu"),
                                    dict(minibatch_std=True), dict(instance_noise=1.0),
                                    dict(d_activation="leaky_relu", minibatch_std=True),
                                    dict(generator="per_value", g_input_size=1),
                                    dict(generator="per_value", g_input_size=1, noise="normal", g_activation="elu",
                                         d_activation="leaky_relu")])
def test_auto_compiles_the_remedies_measured_to_pay(compiler, change):
    compiler(True)
    assert resolve_compile("auto", SEED.replace(**change)) is True


@pytest.mark.parametrize("change", [dict(features="raw"), dict(features="sorted"), dict(features="data_diffs"),
                                    dict(features="data_sq_diffs"), dict(g_hidden_size=200),
                                    dict(num_epochs=MIN_EPOCHS_TO_COMPILE - 1), dict(g_activation="elu"),
                                    dict(g_activation="tanh"), dict(d_activation="elu"),
                                    dict(generator="per_value", g_input_size=1, g_activation="leaky_relu"),
                                    dict(generator="per_value", g_input_size=1, g_activation="tanh")])
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
    with pytest.raises(ValueError, match="compile='yes': no C\\+\\+ compiler found"):
        resolve_compile("yes", SEED)
    assert check_compile_choice("auto") == "auto"


def test_the_decision_ignores_the_block():
    # The rule reads the config only, so a resumed run (fewer members left) decides the same.
    import inspect
    assert list(inspect.signature(resolve_compile).parameters) == ["choice", "cfg", "device_type"]


def test_the_probe_answers_for_this_machine(monkeypatch):
    # Without a compiler on the PATH the probe says so without trying; with one (this machine,
    # CI) a compiled one-liner must run. Oracle: shutil.which, and 2 * 1 + 1 = 3.
    import shutil
    engine.compiler_problem.cache_clear()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CXX", raising=False)
    assert "no C++ compiler" in engine.compiler_problem()
    engine.compiler_problem.cache_clear()
    monkeypatch.undo()
    if any(shutil.which(c) for c in ("g++", "c++", "clang++")):
        assert engine.compiler_problem() is None
