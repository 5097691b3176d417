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
    sidebar.get_by_text("Compute device").wait_for(timeout=30_000)
    assert re.search(r"torch \d+\.\d+", sidebar.inner_text())
    for entry in PAGES:
        assert page.get_by_text(f"Open {entry.title}").is_visible()
    # A card's link really navigates.
    page.get_by_text(f"Open {PAGES[0].title}").click()
    wait_for_app(page)
    assert page.url.rstrip("/").split("?")[0].endswith(PAGES[0].url_path)


def test_a_shared_link_is_the_first_visit_after_the_app_starts(browser, app_env, tmp_path):
    # Someone starts the app and pastes a link to a page with its setup in the query string. On a
    # server's first session Streamlit runs in its legacy pages/ mode (see ui/router.py): this
    # checks the page comes up through the router, with its sidebar and setup, and no
    # "Page not found" dialog. Its own server, because the shared one has been visited already.
    from tests.e2e.conftest import ARTIFACTS, serve_app

    with serve_app(app_env, tmp_path / "streamlit.log") as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = context.new_page()
        try:
            open_page(pg, url, "conv", "width=48")
            wait_for_app(pg)
            assert pg.get_by_role("heading", name="Convolution & Pooling Explorer").is_visible()
            assert pg.get_by_text("Page not found").count() == 0
            # The device line follows within seconds (torch is imported in the background; ui/sidebar.py).
            pg.locator("[data-testid='stSidebar']").get_by_text("Compute device").wait_for(timeout=30_000)
            sidebar = pg.locator("[data-testid='stSidebar']").inner_text()
            assert "Augmentation Studio" in sidebar  # app.py's router drew it
            assert "width=48" in pg.url
            success = pg.locator("[data-testid='stAlertContentSuccess']").first.inner_text()
            assert "[4, 16, 16, 24]" in success  # the link's width, through conv 3x3 and max-pool 2
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / "first_visit_deep_link.png"))
        finally:
            context.close()
