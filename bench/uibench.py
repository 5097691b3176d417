"""Shared pieces of the browser benchmarks (``bench_ui.py``, ``bench_load.py``): a real server, real Chromium.

A server is ``streamlit run app.py`` from a source tree (this checkout, or a baseline commit
unpacked with ``git archive``), on loopback, with its own run store. An interaction is timed the
way the issue defines it: from the input event to the app's ``data-test-script-state`` going back
to ``notRunning`` (a MutationObserver in the page records every transition with
``performance.now()``, so the figure does not include Playwright's own round trips).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("PLAYGROUND_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
SETTLED = "[data-testid='stApp'][data-test-script-state='notRunning']"

# Installed on every page: the script-state transitions, timestamped in the page's own clock.
OBSERVER_JS = """() => {
  if (window.__bench) return;
  window.__bench = {events: []};
  const watch = () => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.__benchWatched) return;
    app.__benchWatched = true;
    new MutationObserver(() => window.__bench.events.push([performance.now(), app.getAttribute('data-test-script-state')]))
      .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  };
  watch();
  new MutationObserver(watch).observe(document.body, {childList: true, subtree: true});
}"""

# Resolves once the app has run after t0 and stayed idle for `quiet` ms; returns the time it went idle.
SETTLE_JS = """([t0, quiet]) => new Promise(resolve => {
  const app = () => document.querySelector("[data-testid='stApp']");
  const tick = () => {
    const ev = window.__bench.events.filter(e => e[0] >= t0);
    const ran = ev.some(e => e[1] === 'running');
    const state = app() && app().getAttribute('data-test-script-state');
    const last = ev.length ? ev[ev.length - 1] : null;
    if (ran && state === 'notRunning' && last && performance.now() - last[0] >= quiet) return resolve(last[0]);
    setTimeout(tick, 20);
  };
  tick();
})"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unpack(ref: str) -> Path:
    """The tree of commit ``ref`` in a temporary folder (``git archive``: the repository is not touched)."""
    out = Path(tempfile.mkdtemp(prefix=f"bench-{ref[:12]}-"))
    data = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=__import__("io").BytesIO(data)) as tar:
        tar.extractall(out, filter="data")
    return out


@dataclass
class Server:
    """``streamlit run app.py`` from ``tree`` on a free loopback port."""

    tree: Path
    name: str
    store: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-runs-")))
    extra_env: dict = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    url: str = ""
    started_in: float = 0.0

    def start(self, timeout: float = 120) -> "Server":
        port = free_port()
        env = dict(os.environ, PLAYGROUND_RUNS_DIR=str(self.store), PYTHONUNBUFFERED="1", **self.extra_env)
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]  # fmt: skip
        self.log = Path(tempfile.mkstemp(prefix=f"bench-{self.name}-", suffix=".log")[1])
        t = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=self.tree, env=env, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: streamlit exited:\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        self.started_in = time.perf_counter() - t
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name}: no /_stcore/health within {timeout} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def rss_mib(self) -> float:
        """The server process's resident memory (its run processes are not counted)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")


def launch_browser(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def open_timed(pg, url: str, timeout: float = 120_000) -> dict:
    """Navigate to ``url``; times (s) to the first heading painted and to the script settled with no skeleton left."""
    t = time.perf_counter()
    pg.goto(url, wait_until="commit", timeout=timeout)
    pg.wait_for_selector("h1", timeout=timeout)
    painted = time.perf_counter() - t
    pg.wait_for_selector(SETTLED, timeout=timeout)
    pg.evaluate(OBSERVER_JS)
    wait_no_skeleton(pg, timeout)
    settled = time.perf_counter() - t
    return {"paint": painted, "open": settled}


def navigate_timed(pg, url_path: str, timeout: float = 60_000) -> float:
    """Click the sidebar's link to page ``url_path``; seconds until it has run and shows no skeleton."""
    pg.evaluate(OBSERVER_JS)
    link = pg.locator(f"[data-testid='stSidebarNav'] a[href$='/{url_path}']").first
    t0 = now(pg)
    link.click()
    pg.wait_for_function(
        "([t0]) => window.__bench.events.some(e => e[0] >= t0 && e[1] === 'running')", arg=[t0], timeout=timeout
    )
    end = pg.evaluate(SETTLE_JS, [t0, 300])
    if pg.locator("[data-testid='stSkeleton']").count():  # still drawing: done when the last placeholder goes
        wait_no_skeleton(pg, timeout)
        end = now(pg)
    return (end - t0) / 1000


def wait_no_skeleton(pg, timeout: float = 60_000) -> None:
    """Wait until Streamlit shows no element skeleton (grey placeholders of elements still loading)."""
    pg.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stSkeleton']\")"
        " && document.querySelector(\"[data-testid='stApp']\")?.getAttribute('data-test-script-state') === 'notRunning'",
        timeout=timeout,
    )


def timed(pg, act, quiet_ms: int = 300, timeout: float = 30_000) -> float:
    """Seconds from ``act()``'s input event to the app idle again (``act`` returns the page clock at its event)."""
    pg.evaluate(OBSERVER_JS)
    t0 = act()
    pg.wait_for_function(
        "([t0]) => window.__bench.events.some(e => e[0] >= t0 && e[1] === 'running')", arg=[t0], timeout=timeout
    )
    end = pg.evaluate(SETTLE_JS, [t0, quiet_ms])
    return (end - t0) / 1000


def now(pg) -> float:
    return pg.evaluate("() => performance.now()")


# --------------------------------------------------------------------------- widget actions


def number(key: str, a, b):
    """An action that types the other of ``a``/``b`` into number input ``key`` and presses Enter."""

    def run(pg):
        box = pg.locator(f".st-key-{key} input:visible").first
        box.scroll_into_view_if_needed()
        cur = box.input_value()
        box.fill(str(b if str(cur) == str(a) else a))
        t0 = now(pg)
        box.press("Enter")
        return t0

    run.label = f"{key} (number)"
    return run


def select(key: str, a: str, b: str):
    """An action that picks the other of options ``a``/``b`` (visible label text) in selectbox ``key``."""

    def run(pg):
        box = pg.locator(f".st-key-{key} [data-testid='stSelectbox'] input:visible").first  # a combobox
        box.scroll_into_view_if_needed()
        cur = box.input_value()
        want = b if a.lower() in cur.lower() else a
        box.click()
        pg.keyboard.press("Control+A")
        pg.keyboard.type(want)
        opt = pg.get_by_role("option").filter(has_text=want).first
        opt.wait_for(timeout=10_000)
        t0 = now(pg)
        opt.click()
        return t0

    run.label = f"{key} (select)"
    return run


def click(key: str, inner: str = "label"):
    """An action that clicks ``inner`` inside widget ``key`` (a checkbox or toggle's label, a button)."""

    def run(pg):
        el = pg.locator(f".st-key-{key} {inner}:visible").first
        el.scroll_into_view_if_needed()
        t0 = now(pg)
        el.click()
        return t0

    run.label = f"{key} (click)"
    return run


def radio(key: str, a: str, b: str):
    """An action that picks the other of options ``a``/``b`` in radio ``key``."""

    def run(pg):
        group = pg.locator(f".st-key-{key}").first
        group.scroll_into_view_if_needed()
        checked = group.locator("input:checked").first
        cur = checked.evaluate("e => e.closest('label').innerText") if checked.count() else ""
        want = b if a in cur else a
        t0 = now(pg)
        group.locator("label").filter(has_text=want).first.click()
        return t0

    run.label = f"{key} (radio)"
    return run


def tab(text: str):
    """Show a tab (not timed: Streamlit tabs switch in the browser without a rerun)."""

    def run(pg):
        pg.get_by_role("tab", name=text).first.click()

    return run


# --------------------------------------------------------------------------- statistics


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    i = min(len(v) - 1, max(0, round(q * (len(v) - 1))))
    return v[i]


def summary(values: list[float]) -> tuple[float, float]:
    return (statistics.median(values) if values else float("nan"), pct(values, 0.95))
