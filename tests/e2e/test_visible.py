"""What the pages show is where the user looks: screenshots of each view fixed for issue 13, looked at."""

import pytest

from tests.e2e.conftest import ARTIFACTS, open_page, wait_for_app  # noqa: F401 (wait_for_app: below)

pytestmark = pytest.mark.e2e


def _shot(locator, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_conv_layer_table_shows_all_seven_columns(page, app_url):
    open_page(page, app_url, "conv")
    table = page.locator("[data-testid='stDataFrame']").first
    table.scroll_into_view_if_needed()
    _shot(table, "conv_layer_table")
    box = table.bounding_box()
    # Glide's grid lays its columns out in a canvas; its scroller is as wide as the columns: no horizontal scroll.
    scroller = table.locator(".dvn-scroller").first
    overflow = scroller.evaluate("el => el.scrollWidth - el.clientWidth")
    assert box["width"] > 900 and overflow <= 2, (box, overflow)
