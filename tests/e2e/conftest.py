"""End-to-end fixtures: the real app (`streamlit run app.py`) in real headless Chromium.

Following Streamlit's own e2e suite: start the server on a free port, poll
``/_stcore/health`` until it answers ``ok``, then wait for the app to finish
running its script. The browser is Debian's Chromium driven by Playwright
(``playwright install`` cannot download browsers here). A missing browser is a
test failure with a sentence saying how to install it, never a silent skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium_path() -> str:
    path = os.environ.get("PLAYGROUND_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            "Chromium is needed for the browser tests: install it with `apt-get install -y chromium` "
            "(scripts/test.sh does), or point PLAYGROUND_CHROMIUM at a Chromium binary."
        )
    return path


def _stop_runs_under(root: Path) -> None:
    """Stop every queued or running run in folders under ``root``.

    Runs are their own processes and outlive the server by design, so a test that fails before its
    Stop click would leave a 100-epoch run training through the rest of the suite, taking a core
    from every later test (which then time out in turn).
    """
    from playground.runs import store

    for status in root.rglob("status.json"):
        with contextlib.suppress(Exception):
            store.stop(status.parent, grace=5)


@pytest.fixture(autouse=True)
def _no_run_outlives_its_test(tmp_path, request):
    yield
    _stop_runs_under(tmp_path)
    if "app_env" in request.fixturenames:
        _stop_runs_under(Path(request.getfixturevalue("app_env")["PLAYGROUND_RUNS_DIR"]))


@pytest.fixture(scope="session")
def app_env(tmp_path_factory) -> dict:
    """Environment for the app server: its run store in a temp folder, so tests never touch ./runs."""
    env = dict(os.environ)
    env["PLAYGROUND_RUNS_DIR"] = str(tmp_path_factory.mktemp("runs"))
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextlib.contextmanager
def serve_app(env: dict, log: Path):
    """Start ``streamlit run app.py`` on a free port; yield its base URL; stop it afterwards."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.address",
        "127.0.0.1",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited early:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"streamlit did not answer /_stcore/health within 90 s:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_url(app_env, tmp_path_factory):
    """The app server shared by the e2e tests (see :func:`serve_app`)."""
    with serve_app(app_env, tmp_path_factory.mktemp("server") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def warm_app(browser, app_url):
    """Open the home page once, so the first test does not also pay for importing torch and friends."""
    pg = browser.new_page()
    pg.goto(app_url)
    wait_for_app(pg)
    pg.close()
    return app_url


@pytest.fixture
def page(browser, warm_app, request):
    """A fresh browser page (1400x1000); saves a screenshot named after the test when it ends."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()


def wait_for_app(pg, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished running the script (and is not about to rerun)."""
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
    pg.wait_for_timeout(200)  # let the last deltas paint
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def choose(pg, label: str, option: str, *, attempts: int = 3) -> None:
    """Pick ``option`` in the selectbox labelled ``label``, then wait for the app to settle.

    Typing filters the list to the one option. On a loaded machine the first click can land while the
    script is still redrawing the box (the list then never opens), so a missing list is closed and the
    click retried rather than waited on for the whole timeout.
    """
    box = pg.locator("[data-testid='stSelectbox']").filter(has_text=label).first
    item = pg.get_by_role("option", name=option, exact=True)
    for attempt in range(attempts):
        wait_for_app(pg)
        box.locator("input").click()
        pg.keyboard.type(option)
        try:
            item.wait_for(state="visible", timeout=15_000)
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
            pg.keyboard.press("Escape")
            continue
        item.click()
        break
    wait_for_app(pg)


def open_page(pg, app_url: str, path: str = "", query: str = "") -> None:
    """Navigate to ``/path?query`` and wait for the app to settle."""
    pg.goto(f"{app_url}/{path}{'?' + query if query else ''}")
    wait_for_app(pg)
