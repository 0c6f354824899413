"""The run's progress bar counts work in the cost model's units: every executor reports exactly
the work the driver planned, so the bar ends at 100%, and the costliest work is handed out first."""
from __future__ import annotations

import math
import sys

import pytest

from gancheck import GANConfig
from gancheck.runs.cost_model import epoch_cost, member_epoch_cost, task_cost
from gancheck.runs.execute import execute
from gancheck.runs import progress
from gancheck.runs.plan import Arm, Design, plan

from .conftest import small_config, small_design


def test_a_wide_generator_is_planned_before_more_member_epochs_of_the_seed_s_shape():
    # The 200-wide G costs about 18 seed-shape member-epochs each (the cost model's measurement),
    # so its 2 seeds come before 6 seeds of the seed's shape; counted in member-epochs, they did not.
    seed = small_config()
    design = Design("d", [Arm("seed", seed), Arm("wide", seed.replace(g_hidden_size=200), factor="g", level="200")],
                    [0, 1, 2, 3, 4, 5], "seed", controls=(), n_draws=4, seeds_by_arm={"wide": [0, 1]})
    tasks = plan(design, set(), workers=1)
    assert [t.members[0].arm for t in tasks] == ["wide", "seed", "seed"]
    assert tasks[0].member_epochs < tasks[1].member_epochs


def test_the_seed_s_compiled_member_epoch_is_the_unit():
    # By definition of the units (gancheck.runs.cost_model): 1 + 15 x (5/200)^2 for H = 5.
    assert member_epoch_cost(GANConfig(), compiled=True) == pytest.approx(1.0 + 15.0 * (5 / 200) ** 2)
    assert member_epoch_cost(GANConfig(), compiled=False) > member_epoch_cost(GANConfig(), compiled=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_every_executor_reports_exactly_the_planned_work(workers):
    design = small_design()
    tasks = plan(design, set(), workers=workers)
    for task in tasks:  # as the driver decides for each population before it runs
        if task.kind == "population":
            task.compile = "no"
    planned = sum(task_cost(t) for t in tasks)
    reported: list[float] = []
    finished = list(execute(tasks, workers=workers, compile="no", progress=reported.append))
    assert len(finished) == len(tasks)
    # Oracle: the plan's own sum; float sums in another order agree to rounding.
    assert math.isclose(sum(reported), planned, rel_tol=1e-9)
    populations = [t for t in tasks if t.kind == "population"]
    assert planned == pytest.approx(sum(t.member_epochs * epoch_cost(t) for t in populations)
                                    + sum(task_cost(t) for t in tasks if t.kind != "population"))


def test_the_bar_stops_at_its_total_when_rounding_passes_it():
    # IEEE doubles: 0.1 + 0.1 + 0.1 = 0.30000000000000004 > 0.3, as parts of a work total can add
    # up past it; tqdm warns (TqdmWarning, "clamping frac") and shows "-00:00" left past its total.
    import warnings

    from gancheck.runs.progress import bounded_update, work_bar
    assert 0.1 + 0.1 + 0.1 > 0.3
    bar = work_bar(0.3, "work", enabled=True)
    update = bounded_update(bar)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            update(0.1)
        bar.refresh()
    assert bar.n == bar.total
    bar.close()


def test_without_a_terminal_every_update_of_the_bar_is_a_line_of_its_own(capsys, monkeypatch):
    """tqdm redraws after a carriage return: in a log file that was one physical line, and
    `tail` or a CI log showed only the last frame."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    bar = progress.work_bar(4.0, "training 2 members, 10 control replicates")
    for _ in range(4):
        bar.update(1.0)
        bar.refresh()
    bar.close()
    lines = capsys.readouterr().err.split("\n")
    assert "\r" not in "".join(lines) and lines[-1] == ""
    shares = [line.split(":")[1].split("%")[0].strip() for line in lines[:-1]]
    assert shares == ["0", "25", "50", "75", "100"]        # each update once, the last not repeated
    assert all(line.startswith("training 2 members, 10 control replicates: ") for line in lines[:-1])
