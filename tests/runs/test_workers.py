"""Worker set-up: a worker dies with its driver, and leaves no semaphore behind when stopped."""
from __future__ import annotations

import io
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from gancheck.runs import workers
from tests.runs.conftest import PYTHON, REPO_ROOT

#: Seconds an orphaned worker may take to stop: the watchdog looks every PARENT_POLL_S (0.5 s),
#: the rest is slack for a loaded 2-core CI machine.
ORPHAN_DEADLINE_S = 3.0

# The "driver": starts one "worker" (a plain subprocess, as spawn makes them), which guards
# itself with die_with_parent and then either sleeps (the GIL free) or runs one long C call that
# holds the GIL (sum over a huge range: no Python bytecode, so no thread switch). The driver
# prints the worker's pid and waits for ever; the test kills the driver with SIGKILL.
_DRIVER = textwrap.dedent("""
    import subprocess, sys
    worker = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
    print(worker.pid, flush=True)
    worker.wait()
""")
_WORKER = textwrap.dedent("""
    import os, sys, time
    from gancheck.runs.workers import die_with_parent
    die_with_parent(os.getppid(), parent_is_main_thread={main!r})
    print("guarded", flush=True)
    {work}
""")
_WORK = {"waiting": "time.sleep(120)", "in a long C call": "sum(range(10**13))"}


def _alive(pid: int) -> bool:
    """Running, not a zombie (an orphan's zombie waits for init, which may be slow to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _orphan_lifetime(main: bool, work: str) -> float:
    """Seconds the worker lived after its driver was killed (inf if it outlived the deadline)."""
    code = _WORKER.format(main=main, work=_WORK[work])
    driver = subprocess.Popen([PYTHON, "-c", _DRIVER, code], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                              text=True, start_new_session=True)
    worker_pid = None
    try:
        worker_pid = int(driver.stdout.readline())
        assert driver.stdout.readline().strip() == "guarded"   # the worker's stdout is the driver's pipe
        time.sleep(0.3)  # into its work
        killed = time.monotonic()
        driver.kill()
        driver.wait()
        while _alive(worker_pid) and time.monotonic() - killed < ORPHAN_DEADLINE_S:
            time.sleep(0.05)
        return float("inf") if _alive(worker_pid) else time.monotonic() - killed
    finally:
        if worker_pid is not None and _alive(worker_pid):
            os.kill(worker_pid, signal.SIGKILL)
        driver.stdout.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("work", list(_WORK))
def test_kernel_kills_a_worker_whose_driver_died(work):
    # PR_SET_PDEATHSIG: the kernel's SIGKILL arrives at once, even inside a C call.
    assert _orphan_lifetime(main=True, work=work) < ORPHAN_DEADLINE_S


def test_watchdog_stops_a_waiting_worker_whose_driver_died():
    # Without the kernel's signal (another OS, or a worker spawned by a thread that may end),
    # the watchdog thread alone: within a poll or two.
    assert _orphan_lifetime(main=False, work="waiting") < ORPHAN_DEADLINE_S


def test_an_orphan_at_birth_exits_at_once():
    # The driver died before its worker set its guards: getppid() already differs.
    code = textwrap.dedent(f"""
        import os
        from gancheck.runs.workers import die_with_parent
        die_with_parent(os.getppid() + 1, parent_is_main_thread=False)  # not our parent: gone
        raise SystemExit(0)
    """)
    result = subprocess.run([PYTHON, "-c", code], cwd=REPO_ROOT, timeout=60)
    assert result.returncode == workers.ORPHAN_EXIT


def _semaphores_of_a_bar() -> list[str]:
    """In a worker: the resources a tqdm bar registers with the resource tracker."""
    from multiprocessing import resource_tracker

    from tqdm import tqdm
    registered = []
    real = resource_tracker.register
    resource_tracker.register = lambda name, rtype: (registered.append(rtype), real(name, rtype))
    try:
        with tqdm(total=1, file=io.StringIO()) as bar:
            bar.update()
    finally:
        resource_tracker.register = real
    return registered


@pytest.mark.parametrize("set_up, expected", [(None, ["semaphore"]), (workers._thread_lock_for_tqdm, [])],
                         ids=["plain worker", "gancheck worker"])
def test_a_worker_bar_registers_no_semaphore(set_up, expected):
    # torch.compile draws tqdm bars in a worker. In a plain spawned worker the first bar makes a
    # named semaphore (the control case: the check can fail); a worker stopped mid-run cannot
    # unregister it, and the resource tracker warned of 'leaked semaphore objects' after a run.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=set_up) as pool:
        assert pool.submit(_semaphores_of_a_bar).result(timeout=60) == expected


def test_a_spawned_worker_reaches_its_guards_before_importing_torch():
    # A spawned pool worker imports its initializer's module before running it. Were that
    # module to import torch (seconds on a loaded machine), a driver killed meanwhile would
    # leave a worker running until the import ended, past the interrupt test's deadline
    # (gancheck.runs.execute passes this initializer to its pool).
    import pickle
    loaded = subprocess.run(
        [PYTHON, "-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read()); print('torch' in sys.modules)"],
        input=pickle.dumps(workers.init_pool_worker), capture_output=True, cwd=REPO_ROOT, timeout=60)
    assert loaded.stdout.decode().split() == ["False"], loaded.stderr.decode()


# A pool whose manager thread is left reading half a result, as when a worker is stopped in the
# middle of sending one (a population's draws are bigger than a pipe's buffer, so they go in
# pieces): the header of a 1 MiB message, then 10 bytes of it. Then the interrupted run's
# shut-down; its manager thread must end, or the interpreter would wait for it at exit (the
# driver printed its "interrupted" line and never exited, in CI).
_HALF_A_RESULT = textwrap.dedent("""
    import multiprocessing, os, struct, sys, time
    from concurrent.futures import ProcessPoolExecutor
    from gancheck.runs.execute import _shut_down
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    assert pool.submit(int, "1").result() == 1          # the worker is up
    manager = pool._executor_manager_thread
    os.write(pool._result_queue._writer.fileno(), struct.pack("!i", 2 ** 20) + bytes(10))
    time.sleep(0.5)                                     # the manager reads the header, then waits
    _shut_down(pool, stop_workers=True)
    manager.join(timeout=10)
    print("manager ended" if not manager.is_alive() else "manager still waiting", flush=True)
    if manager.is_alive():
        os._exit(1)   # the interpreter would wait for it for ever
""")


def _run_script(script: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``script`` in its own session; if it hangs (the bug these tests guard against), kill
    its whole group, workers included, so that no orphan outlives the test."""
    proc = subprocess.Popen([PYTHON, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        stdout += f"hung for {timeout} s"
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_a_worker_stopped_mid_result_does_not_hang_the_driver():
    done = _run_script(_HALF_A_RESULT)
    assert (done.returncode, done.stdout.strip()) == (0, "manager ended"), done.stderr
    assert done.stderr == ""   # no traceback, no leaked semaphores: cleaned up as after a crash


# The same, with a worker that ignores SIGTERM (so stopping it takes STOP_TIMEOUT_S, then
# SIGKILL) and a second Ctrl-C arriving meanwhile: the shut-down must still finish, pipe closed,
# and only then the Ctrl-C be raised.
_CTRL_C_WHILE_STOPPING = textwrap.dedent("""
    import multiprocessing, os, signal, struct, threading, time
    from concurrent.futures import ProcessPoolExecutor
    from gancheck.runs.execute import _shut_down
    signal.signal(signal.SIGINT, signal.default_int_handler)
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=signal.signal, initargs=(signal.SIGTERM, signal.SIG_IGN))
    assert pool.submit(int, "1").result() == 1
    manager = pool._executor_manager_thread
    os.write(pool._result_queue._writer.fileno(), struct.pack("!i", 2 ** 20) + bytes(10))
    time.sleep(0.5)
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    try:
        _shut_down(pool, stop_workers=True)
        print("no interrupt", flush=True)
    except KeyboardInterrupt:
        print(f"interrupted after {time.monotonic() - started:.0f} s", flush=True)
    manager.join(timeout=10)
    print("manager ended" if not manager.is_alive() else "manager still waiting", flush=True)
    if manager.is_alive():
        os._exit(1)
""")


def test_a_second_ctrl_c_waits_for_the_workers_to_be_stopped():
    done = _run_script(_CTRL_C_WHILE_STOPPING)
    from gancheck.runs.execute import STOP_TIMEOUT_S
    # The Ctrl-C came 1 s in; it is raised once the SIGTERM-proof worker was killed, after
    # STOP_TIMEOUT_S (5 s).
    assert done.stdout.splitlines() == [f"interrupted after {STOP_TIMEOUT_S:.0f} s", "manager ended"], done.stderr
    assert done.returncode == 0 and done.stderr == ""
