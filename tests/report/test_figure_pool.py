"""The report's figures drawn by a helper process: the same page as one process draws, the same
error when a figure fails, warnings seen by the caller, and no process left after Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from gancheck.report import figure_pool, render as render_module
from gancheck.report.figure_pool import Call, draw_all

ROOT = Path(__file__).resolve().parents[2]


# The helper receives calls by name, so the stand-in figures live at module level.
def drawer_pid(data, i, seconds=0.0, touch=None, after=None):
    if after:
        wait_for(after)
    time.sleep(seconds)
    if touch:
        Path(touch).touch()
    return (i, os.getpid())


def both_sides(n, marker):
    """n calls; the caller's first (the heaviest) waits until the helper has drawn one."""
    return [Call("c0", drawer_pid, (0, 0.0, None, marker), weight=n)] + [
        Call(f"c{i}", drawer_pid, (i, 0.05, marker), weight=n - i) for i in range(1, n)]


def wait_for(path, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


# Which side takes which call depends on how fast the helper starts, so these act by where
# they run: in the helper at once, then they mark it done; in the caller (pid ``caller``) they
# wait for that mark first. Two such calls are drawn one on each side, however busy the machine.
def helper_fails(data, message, caller, marker):
    if os.getpid() == caller:
        wait_for(marker)
        return os.getpid()
    Path(marker).touch()
    raise ValueError(message)


def both_fail_helper_first(data, message, caller, marker):
    if os.getpid() == caller:
        wait_for(marker)
    else:
        Path(marker).touch()
    raise ValueError(message)


def helper_warns(data, caller, marker):
    if os.getpid() == caller:
        wait_for(marker)
    else:
        warnings.warn("drawn with a caveat", UserWarning)
        Path(marker).touch()
    return os.getpid()


def record_and_sleep(data, folder):
    Path(folder, str(os.getpid())).touch()
    time.sleep(60)


def test_helper_draws_part_of_the_figures_and_results_keep_their_keys(tmp_path):
    calls = both_sides(8, tmp_path / "helper drew")
    drawn = draw_all(None, calls, helper=True)
    assert list(drawn) == [c.key for c in calls]
    assert [drawn[c.key][0] for c in calls] == list(range(8))
    pids = {pid for _, pid in drawn.values()}
    assert os.getpid() in pids and len(pids) == 2  # this process and one helper, both drew


def test_parallel_and_serial_pages_are_byte_identical(report_input, monkeypatch):
    parallel = render_module.page(report_input)  # two cores here: drawn with a helper
    monkeypatch.setattr(figure_pool, "cores", lambda: 1)  # as on a one-core machine
    serial = render_module.page(report_input)
    assert parallel.encode() == serial.encode()
    assert parallel.count("data:image/png;base64,") >= 8  # the figures are in the comparison


def test_one_core_draws_everything_here(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert figure_pool.cores() == 1
    drawn = draw_all(None, [Call(f"c{i}", drawer_pid, (i, 0.0)) for i in range(3)])
    assert {pid for _, pid in drawn.values()} == {os.getpid()}


def test_a_figure_failing_in_the_helper_raises_its_error_here(tmp_path):
    args = ("panel 3 broke", os.getpid(), tmp_path / "failed")
    calls = [Call("a", helper_fails, args, weight=1), Call("b", helper_fails, args, weight=1)]
    with pytest.raises(ValueError, match="^panel 3 broke$") as raised:
        draw_all(None, calls, helper=True)
    assert type(raised.value.__cause__).__name__ == "_RemoteTraceback"  # it failed in the helper
    assert "panel 3 broke" in str(raised.value.__cause__)  # with the helper's traceback


def test_the_first_failure_in_order_wins_as_when_drawn_one_by_one(tmp_path):
    # The helper's call fails first, whichever it is; the caller's fails after it.
    marker = tmp_path / "helper failed"
    calls = [Call("a", both_fail_helper_first, ("first", os.getpid(), marker), weight=1),
             Call("b", both_fail_helper_first, ("second", os.getpid(), marker), weight=1)]
    with pytest.raises(ValueError, match="^first$"):
        draw_all(None, calls, helper=True)
    with pytest.raises(ValueError, match="^first$"):
        draw_all(None, calls, helper=False)


def test_a_helper_that_cannot_start_leaves_the_work_here(monkeypatch):
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    drawn = draw_all(None, [Call(f"c{i}", drawer_pid, (i, 0.0)) for i in range(4)], helper=True)
    assert {pid for _, pid in drawn.values()} == {os.getpid()}


def test_a_call_the_helper_cannot_import_is_drawn_here():
    def local(data):  # not importable by name
        return os.getpid()
    calls = [Call("local", local, weight=9), Call("other", drawer_pid, (1, 0.0))]
    assert draw_all(None, calls, helper=True)["local"] == os.getpid()


def test_warnings_in_the_helper_reach_the_callers_filters(tmp_path):
    args = (os.getpid(), tmp_path / "warned")
    calls = [Call("a", helper_warns, args), Call("b", helper_warns, args)]
    with pytest.warns(UserWarning, match="drawn with a caveat"):
        drawn = draw_all(None, calls, helper=True)
    pids = set(drawn.values())
    assert os.getpid() in pids and len(pids) == 2  # one side each: the warning was the helper's


def test_ctrl_c_stops_the_helper_and_prints_one_line(tmp_path):
    # A terminal's Ctrl-C goes to the caller's process group; the helper runs in its own
    # session, so the caller must stop it.
    script = textwrap.dedent(f"""
        import sys
        from gancheck.cli import run_cli
        from gancheck.report.figure_pool import Call, draw_all
        from tests.report.test_figure_pool import record_and_sleep
        def main(argv):
            draw_all(None, [Call(str(i), record_and_sleep, ({str(tmp_path)!r},), weight=i)
                            for i in range(2)], helper=True)
            return 0
        sys.exit(run_cli(main))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        drawers = {int(p.name) for p in tmp_path.iterdir()}
        assert len(drawers) == 2 and proc.pid in drawers  # the caller and its helper, both drawing
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "Traceback" not in err and err.startswith("interrupted:")
    helper = (drawers - {proc.pid}).pop()
    with pytest.raises(ProcessLookupError):  # gone, not left drawing (nor a zombie: reaped)
        os.kill(helper, 0)


def test_a_helper_started_early_draws_and_one_left_unused_is_stopped(tmp_path):
    with figure_pool.early_helper(("gancheck.report.plots",)):
        early = figure_pool._early.pid
        drawn = draw_all(None, both_sides(6, tmp_path / "helper drew"), helper=True)
    assert {pid for _, pid in drawn.values()} == {os.getpid(), early}
    with pytest.raises(ProcessLookupError):  # stopped and reaped once the figures were drawn
        os.kill(early, 0)
    with figure_pool.early_helper():
        unused = figure_pool._early.pid
    with pytest.raises(ProcessLookupError):
        os.kill(unused, 0)
    assert figure_pool._early is None
