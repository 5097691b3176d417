"""The home page in a real browser: welcome text, the sidebar's device, a card per page."""

import re

import pytest

from tests.e2e.conftest import open_page, wait_for_app
from ui.catalog import PAGES

pytestmark = pytest.mark.e2e


def test_home_welcomes_and_links_every_page(page, app_url):
    open_page(page, app_url)
    assert page.get_by_role("heading", name="CNN Playground").is_visible()
    assert page.get_by_text("weight sharing", exact=False).first.is_visible()
    sidebar = page.locator("[data-testid='stSidebar']")
    assert re.search(r"Compute device", sidebar.inner_text())
    assert re.search(r"torch \d+\.\d+", sidebar.inner_text())
    for entry in PAGES:
        assert page.get_by_text(f"Open {entry.title}").is_visible()
    # A card's link really navigates.
    page.get_by_text(f"Open {PAGES[0].title}").click()
    wait_for_app(page)
    assert page.url.rstrip("/").split("?")[0].endswith(PAGES[0].url_path)
