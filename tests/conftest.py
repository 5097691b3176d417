"""Shared test fixtures.

Three layers of tests live under tests/: ``unit/`` (the core, no streamlit),
``pages/`` (every page through ``streamlit.testing.v1.AppTest``) and ``e2e/``
(the real server in headless Chromium; see tests/e2e/conftest.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# As the app and run processes do: OpenMP threads wait passively instead of spinning (set before torch loads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Keep every test's run store out of the working tree.
os.environ.setdefault("PLAYGROUND_RUNS_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "playground-test-runs"))


@pytest.fixture
def app_page():
    """Open a page of the real app (through the ``app.py`` router) in AppTest.

    Usage: ``at = app_page("pages/conv.py", query={"stride": "2"})``. Returns the
    AppTest after its first run on that page; assert on ``at.exception`` being empty.
    """
    from streamlit.testing.v1 import AppTest

    def _open(path: str | None = None, query: dict | None = None, timeout: float = 120):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
        for k, v in (query or {}).items():
            at.query_params[k] = v
        at.run()
        if path:
            at.switch_page(path).run()
        return at

    return _open
