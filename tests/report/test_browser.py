"""The rendered report in a real browser: headless Chromium, offline, with a throwaway profile.

Console errors are collected over the DevTools protocol on a pipe (--remote-debugging-pipe:
Chromium reads commands on fd 3 and writes replies and events on fd 4, NUL-separated JSON), so
the check sees uncaught exceptions, console.error calls and failed resource loads, and needs
nothing beyond the standard library. The DOM comes from --dump-dom and the screenshot from
--screenshot, as a reader's browser would show them.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
#: No sandbox (root in a container), no GPU, and nothing that reaches the network.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-quic"]
TIMEOUT_S = 60  # a cold Chromium start on a busy 2-core machine takes a few seconds


@pytest.fixture(scope="module")
def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must run this test (.ci/run installs it)")
    pytest.skip(message)


def _command(chromium: Path, profile: Path, *extra: str) -> list[str]:
    return [str(chromium), *FLAGS, f"--user-data-dir={profile}", *extra]


def run_chromium(chromium: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(_command(chromium, profile, *extra), capture_output=True,
                          timeout=TIMEOUT_S, check=True)


def _lift(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, chromium: Path, profile: Path):
        to_chrome_r, self._out = os.pipe()
        self._in, from_chrome_w = os.pipe()
        # bash moves the child's pipe ends to the fds Chromium expects (3: commands in, 4: messages
        # out). They are first lifted to fd >= 10: were one of them 3 itself, "3<&x" would
        # overwrite it before "4>&3" copied it (pytest's capturing leaves low fds free to reuse).
        # bash, not sh: Debian's dash accepts only one-digit fd numbers in redirections.
        to_chrome_r, from_chrome_w = (_lift(to_chrome_r), _lift(from_chrome_w))
        shell = f'exec "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}'
        self.process = subprocess.Popen(
            ["bash", "-c", shell, "bash", *_command(chromium, profile, "--remote-debugging-pipe",
                                                "about:blank")],
            pass_fds=(to_chrome_r, from_chrome_w), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        reply = self.wait(lambda m: m.get("id") == self._next_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait(self, predicate, timeout: float = TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message is None:
                raise TimeoutError("Chromium sent nothing matching in time")
            if "method" in message:
                self.events.append(message)
            if predicate(message):
                return message

    def drain(self, seconds: float) -> None:
        """Collect events for a moment longer: errors can follow the load event."""
        deadline = time.monotonic() + seconds
        while (message := self._receive(deadline)) is not None:
            if "method" in message:
                self.events.append(message)

    def _receive(self, deadline: float) -> dict | None:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._in], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        try:
            os.write(self._out, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            os.close(self._out)
            os.close(self._in)


def _errors(events: list[dict]) -> list[str]:
    errors = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(params["entry"]["text"])
    return errors


#: What a reader sees, measured in the live page (document coordinates, CSS px).
LAYOUT = """(() => {
  const box = document.getElementById('verdict-box').getBoundingClientRect();
  const first = {verdictTop: box.top + window.scrollY, verdictBottom: box.bottom + window.scrollY};
  // Everything else is measured with every <details> open: text a reader can unfold counts too.
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const view = document.documentElement.clientWidth;
  const small = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !el.getClientRects().length) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < 11) small.push(`${el.tagName} ${size}px: ${node.textContent.trim().slice(0, 40)}`);
  }
  const wide = [...document.body.querySelectorAll('*')].filter(el => {
    if (el.closest('[data-scroller]') && !el.matches('[data-scroller]')) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > view + 0.5;
  }).map(el => `${el.tagName}#${el.id}.${el.className}`);
  return JSON.stringify({...first,
    pageWidth: document.documentElement.scrollWidth, viewWidth: view,
    bodyWidth: document.body.scrollWidth, small, wide,
    images: document.images.length,
    alts: [...document.images].map(i => i.alt || ''),
    broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).length,
  });
})()"""


def load(chromium: Path, page: Path, profile: Path, *, width: int = 1366, height: int = 1000,
         expression: str | None = None, screenshot: Path | None = None) -> tuple[list[str], dict]:
    """Console errors while loading ``page`` in a ``width`` x ``height`` window, the value of a
    JavaScript ``expression`` (JSON) evaluated after load, and optionally a screenshot."""
    tools = DevTools(chromium, profile)
    facts: dict = {}
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            tools.send(f"{domain}.enable", session=session)
        tools.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                          "deviceScaleFactor": 1, "mobile": False},
                   session=session)
        tools.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        tools.wait(lambda m: m.get("method") == "Page.loadEventFired")
        tools.drain(0.5)
        if expression:
            result = tools.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                session=session)
            facts = json.loads(result["result"]["value"])
        if screenshot is not None:
            shot = tools.send("Page.captureScreenshot", {"format": "png"}, session=session)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
    finally:
        tools.close()
    return _errors(tools.events), facts


def console_errors(chromium: Path, page: Path, profile: Path) -> list[str]:
    """Every uncaught exception, console.error/assert and error-level log entry while loading."""
    return load(chromium, page, profile)[0]


def test_report_loads_without_console_errors(chromium, rendered, tmp_path):
    assert console_errors(chromium, rendered, tmp_path / "profile") == []


def test_console_check_catches_errors(chromium, tmp_path):
    # The check above must be able to fail: a page that throws, logs an error and misses an image.
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head>'
                   '<body><img src="missing.png" alt="missing">'
                   '<script>console.error("logged-error"); throw new Error("thrown-error");</script>'
                   "</body></html>", encoding="utf-8")
    errors = " | ".join(console_errors(chromium, bad, tmp_path / "profile"))
    assert "thrown-error" in errors
    assert "logged-error" in errors
    assert "Failed to load resource" in errors


def test_verdict_table_in_the_dom(chromium, rendered, tmp_path):
    dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom",
                       rendered.resolve().as_uri()).stdout.decode("utf-8")
    assert '<table id="verdict" class="wide">' in dom
    # The hostile arm name is text in the live DOM, not an element.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "<script" not in dom


def test_screenshot_is_not_blank(chromium, rendered, tmp_path):
    shot = tmp_path / "report.png"
    run_chromium(chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000",
                 rendered.resolve().as_uri())
    pixels = mpimg.imread(shot)  # floats in [0, 1], (height, width, RGB[A])
    assert pixels.shape[:2] == (2000, 1280)
    grey = pixels[..., :3].mean(axis=2)
    # A blank page is one colour (std 0). The report's top shows text, a shaded verdict table
    # and the first figure: measured std ≈ 0.16 with about 20% non-white pixels.
    assert grey.std() > 0.05, grey.std()
    assert np.mean(grey < 0.95) > 0.05


#: Screenshots a reviewer can look at; overwritten on every run.
SCREENSHOTS = Path(os.environ.get("GANCHECK_SCREENSHOTS", "/tmp/report"))


@pytest.mark.parametrize("width", [1366, 800])
def test_first_screen_answers_and_nothing_scrolls_sideways(chromium, rendered, tmp_path, width):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"first_screen_{width}.png"
    height = 900  # a laptop's window below its toolbars
    errors, facts = load(chromium, rendered, tmp_path / "profile", width=width, height=height,
                         expression=LAYOUT, screenshot=shot)
    assert errors == []
    # The verdict box, whole, within the first screen.
    assert facts["verdictTop"] < facts["verdictBottom"] <= height, facts
    # No text under 11 px, every <details> open.
    assert facts["small"] == [], facts["small"][:5]
    # Nothing wider than the window but the marked scrollers (wide tables scroll inside them).
    assert facts["wide"] == [], facts["wide"][:5]
    assert facts["pageWidth"] <= facts["viewWidth"] and facts["bodyWidth"] <= facts["viewWidth"], facts
    # Every figure's alt text states a finding: numbers from the run, not only what is drawn.
    assert facts["images"] >= 10 and facts["broken"] == 0, facts
    assert all(re.search(r"\d", alt) and len(alt) > 40 for alt in facts["alts"]), facts["alts"]
    assert mpimg.imread(shot).shape[:2] == (height, width)


def test_layout_check_catches_sideways_scrolling(chromium, tmp_path):
    # The check above must be able to fail: a page wider than the window, an image without alt.
    bad = tmp_path / "wide.html"
    bad.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>wide</title></head><body>'
                   '<section id="verdict-box">a</section><details><summary>s</summary>'
                   '<p style="font-size: 9px">tiny</p></details>'
                   '<div style="width: 2000px">wide</div><img src="data:image/gif;base64,'
                   'R0lGODlhAQABAAAAACw=" alt=""></body></html>', encoding="utf-8")
    _, facts = load(chromium, bad, tmp_path / "profile", width=800, expression=LAYOUT)
    assert facts["pageWidth"] > facts["viewWidth"]
    assert facts["alts"] == [""]
    assert any("tiny" in t for t in facts["small"])  # found inside a closed <details>
    assert any(w.startswith("DIV") for w in facts["wide"])
