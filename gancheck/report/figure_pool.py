"""The report's figures drawn on two cores: one helper process draws some while the caller
draws the others, and the page gets the same bytes as when one process draws them all.

Drawing (matplotlib's constrained layout, Agg, the PNG palette) is most of a report's time and
each figure depends only on the report's data, so the figures are independent tasks. The helper
and the caller each take the heaviest figure left until none is left: neither waits for the
other while work remains, and what one may wait for at the end is light.

Why a plain subprocess fed through pipes, not multiprocessing: the report is drawn at the end
of `python -m experiments.ablate`, and multiprocessing's "spawn" would import that main module
(and torch with it) again in the helper; "fork" would copy a process that holds torch's threads.
The helper imports only the report's modules, with the caller's ``sys.path`` and rcParams, so
matplotlib draws there exactly as it does here.

The helper runs in its own session: a terminal's Ctrl-C reaches only the caller, which stops
the helper on its way out (and a helper whose caller died reads end-of-file and exits), so an
interrupt prints only the caller's usual line and leaves no process behind.
"""
from __future__ import annotations

import importlib
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
import warnings
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

@dataclass(frozen=True)
class Call:
    """One figure: ``draw(data, *args)``. ``draw`` must be a module-level function (the helper
    receives it by name); ``weight`` is its rough cost: the heaviest are drawn first."""

    key: str
    draw: Callable
    args: tuple = ()
    weight: float = 1.0


def cores() -> int:
    """Cores this process may run on (its affinity, where the OS tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


#: A helper started by ``early_helper`` and not yet taken by ``draw_all``.
_early: subprocess.Popen | None = None


@contextmanager
def early_helper(preload: tuple[str, ...] = ()):
    """Start the helper now, importing the modules ``preload`` names, so that its start (a
    Python and matplotlib, seaborn, pandas: about 2 s of a core) overlaps the caller's loading
    of the data; ``draw_all`` within the block uses it. One left unused is stopped on leaving."""
    global _early
    if _early is not None or cores() < 2:
        yield
        return
    try:
        _early = _spawn(preload)
    except OSError:
        pass  # draw_all tries again, or draws everything here
    try:
        yield
    finally:
        process, _early = _early, None
        if process is not None:
            _stop(process, idle=False)


def _spawn(preload: tuple[str, ...] = ()) -> subprocess.Popen:
    if not sys.executable:  # an embedded interpreter: nothing to start, the caller draws all
        raise OSError("no Python executable to start a helper process with")
    return subprocess.Popen([sys.executable, "-c", _BOOT, json.dumps(sys.path), *preload],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)


def _stop(process: subprocess.Popen, *, idle: bool) -> None:
    """End the helper and reap it. An ``idle`` one (between figures) exits on end-of-file;
    any other is killed: its figure is not worth finishing after an interrupt or a failure."""
    if not idle:
        process.kill()
    try:
        process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()


def draw_all(data, calls: list[Call], *, helper: bool | None = None) -> dict:
    """``{call.key: call.draw(data, *call.args)}`` for every call. With ``helper`` (default: when
    this process may use two cores or more), a second process draws some of them. Even the
    smallest report (a dozen figures, several seconds) repays the helper's start (about 2 s of
    the other core, mostly while the data loads, see early_helper); on one core it would only
    compete, so there the figures are drawn here, one after another (as under ``taskset -c 0``).

    A figure that raises raises here as it would have in order: the first failing call (in
    ``calls``' order) wins, as when they are drawn one after another.
    """
    if helper is None:
        helper = cores() >= 2
    if not helper:
        return {c.key: c.draw(data, *c.args) for c in calls}
    pool = _Pool(data, calls)
    try:
        pool.run()
    finally:
        pool.close()
    for message in pool.warnings:
        _rewarn(*message)
    if pool.errors:
        first = min(pool.errors)
        # Calls before the first failure that were skipped once it failed: one of them may
        # fail too, and drawn in order, its error would have been the one raised.
        for i in range(first):
            if i not in pool.results:
                calls[i].draw(data, *calls[i].args)
        error, remote = pool.errors[first]
        if remote is not None:
            raise error from _RemoteTraceback(remote)
        raise error
    return {c.key: pool.results[i] for i, c in enumerate(calls)}


class _RemoteTraceback(Exception):
    """Shown as the cause of an error raised in the helper: where it happened there."""

    def __str__(self) -> str:
        return "\n\n" + self.args[0]


class _Pool:
    """The caller's side: a queue of call indices (heaviest first), the helper's feeder thread
    and the caller each taking the heaviest figure left (so that what is left at the end, when
    one of them may wait for the other, is light)."""

    def __init__(self, data, calls: list[Call]):
        self.data, self.calls = data, calls
        self.pending = deque(sorted(range(len(calls)), key=lambda i: -calls[i].weight))
        self.results: dict[int, object] = {}
        self.errors: dict[int, tuple[BaseException, str | None]] = {}
        self.warnings: list[tuple] = []
        self.lock = threading.Lock()
        global _early
        self.process, _early = _early, None  # one started early has done its imports meanwhile
        self.closed = False
        # Pickled here, before the thread starts, so that nothing reads the frames while the
        # caller draws from them.
        rc = {k: v for k, v in dict.items(_rc()) if not k.startswith("backend")}
        self.setup = pickle.dumps((rc, data), protocol=pickle.HIGHEST_PROTOCOL)
        self.thread = threading.Thread(target=self._feed, name="report-figures", daemon=True)

    def take(self) -> int | None:
        with self.lock:
            if self.errors or not self.pending:
                return None  # after a failure: only what the error's order still needs
            return self.pending.popleft()

    def give_back(self, i: int) -> None:
        with self.lock:
            self.pending.appendleft(i)

    def run(self) -> None:
        self.thread.start()
        while True:
            i = self.take()
            if i is None:
                if self.errors:
                    return  # no need to wait for the helper's figure: close() stops it
                self.thread.join()  # the helper may hand back what it could not draw
                i = self.take()
                if i is None:
                    return
            call = self.calls[i]
            try:
                value = call.draw(self.data, *call.args)
            except Exception as exc:
                with self.lock:
                    self.errors[i] = (exc, None)
            else:
                self.results[i] = value

    def _feed(self) -> None:
        i = None
        try:
            with self.lock:
                if self.closed:
                    return
                if self.process is None:
                    self.process = _spawn()
            send, receive = self.process.stdin, self.process.stdout
            send.write(self.setup)
            send.flush()
            while (i := self.take()) is not None:
                call = self.calls[i]
                try:
                    message = pickle.dumps((call.draw, call.args), protocol=pickle.HIGHEST_PROTOCOL)
                except (pickle.PicklingError, AttributeError, TypeError):
                    self.give_back(i)  # not importable by name (a test's stand-in): drawn here
                    return
                send.write(message)
                send.flush()
                status, value, remote, caught = pickle.load(receive)
                with self.lock:
                    self.warnings.extend(caught)
                    if status == "ok":
                        self.results[i] = value
                    else:
                        self.errors[i] = (value, remote)
                i = None
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            # The helper could not start or died (or close stopped it, or closed its pipes:
            # ValueError): what it held is
            # drawn by the caller, which gives the same bytes, only later.
            if i is not None:
                self.give_back(i)

    def close(self) -> None:
        """Stop the helper (if it still runs) and wait for it: no process outlives the report."""
        with self.lock:
            self.closed = True
            process = self.process
        if process is not None:
            # While the thread runs (an interrupt, or a failure here), the helper is mid-figure
            # or starting: killed, which also unblocks a pipe write the thread may be in (that
            # would otherwise hold up closing the pipe).
            _stop(process, idle=not self.thread.is_alive())
        self.thread.join(timeout=5)


def _rc():
    import matplotlib
    return matplotlib.rcParams


def _rewarn(message, category, filename, lineno, module) -> None:
    """A warning the helper caught, issued here, where the caller's filters decide (once per
    place, as an error under pytest's settings, or not at all)."""
    owner = sys.modules.get(module) if module else None
    registry = vars(owner).setdefault("__warningregistry__", {}) if owner is not None else None
    warnings.warn_explicit(message, category, filename, lineno, module=module, registry=registry)


# The helper's side. It starts with the caller's sys.path, so it imports the same gancheck.
_BOOT = ("import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
         "from gancheck.report.figure_pool import serve; serve(sys.argv[2:])")


def serve(preload=()) -> None:
    """Import ``preload``, read (rcParams, data), then (draw, args) messages; answer each with
    (status, figure or exception, remote traceback, warnings)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the caller stops us; its own Ctrl-C suffices
    for name in preload:
        importlib.import_module(name)  # while the caller still loads the data
    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the answers
    requests = sys.stdin.buffer
    try:
        rc, data = pickle.load(requests)
        _rc().update(rc)
        while True:
            draw, args = pickle.load(requests)
            pickle.dump(_draw(draw, data, args), answer, protocol=pickle.HIGHEST_PROTOCOL)
            answer.flush()
    except (EOFError, BrokenPipeError):
        pass  # the caller is done (or gone): nobody to answer
    # Everything is answered: exit at once rather than spend a few tenths of a second tearing
    # down matplotlib and pandas while the caller waits to reap us.
    os._exit(0)


def _draw(draw, data, args) -> tuple:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # the caller's filters decide, in _rewarn
        try:
            status, value, remote = "ok", draw(data, *args), None
        except Exception as exc:
            status, value, remote = "error", _portable(exc), traceback.format_exc()
    return status, value, remote, [_portable_warning(w) for w in caught]


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling (the caller then raises the same type and message)."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _portable_warning(w) -> tuple:
    message = w.message
    try:
        pickle.loads(pickle.dumps(message))
    except Exception:
        message = str(message)
    module = getattr(w, "module", None) or _module_of(w.filename)
    return message, w.category, w.filename, w.lineno, module


def _module_of(filename: str) -> str | None:
    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) == filename:
            return name
    return None
