"""The Convolution & Pooling Explorer in a real browser."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import open_page, wait_for_app

pytestmark = pytest.mark.e2e


def _success(page):
    return page.locator("[data-testid='stAlertContentSuccess']").first.inner_text()


def _set_number(page, label, value, nth=0):
    box = page.get_by_label(label, exact=True).nth(nth)
    box.fill(str(value))
    box.press("Enter")
    wait_for_app(page)


def test_article_examples_errors_and_shared_link(page, app_url):
    open_page(page, app_url, "conv")
    assert page.get_by_role("heading", name="Convolution & Pooling Explorer").is_visible()
    assert "[4, 16, 16, 16]" in _success(page)  # conv 3x3 then max-pool 2

    page.get_by_role("button", name="Article example: stride 2").click()
    wait_for_app(page)
    assert "Output shape: [4, 16, 16, 16]" in _success(page)
    page.get_by_role("button", name="Article example: stride 1").click()
    wait_for_app(page)
    assert "Output shape: [4, 16, 32, 32]" in _success(page)

    # An impossible layer is explained in a sentence, never a traceback.
    _set_number(page, "Groups", 2)
    error = page.locator("[data-testid='stAlertContentError']").first.inner_text()
    assert "groups=2 does not divide the 3 input channels" in error
    assert page.locator("[data-testid='stException']").count() == 0
    _set_number(page, "Groups", 1)
    _set_number(page, "Width W", 48)
    assert "Output shape: [4, 16, 32, 48]" in _success(page)

    # The address bar now holds the setup: a new tab opened on it shows the same thing.
    link = page.url
    assert "width=48" in link
    other = page.context.new_page()
    other.goto(link)
    wait_for_app(other)
    assert "Output shape: [4, 16, 32, 48]" in other.locator("[data-testid='stAlertContentSuccess']").first.inner_text()
    other.close()


def test_sliding_window_plays_and_image_tab_filters(page, app_url):
    open_page(
        page,
        app_url,
        "conv",
        "layers=" + '[{"kind":"conv","out_channels":1,"kernel":[3,3],"stride":[2,2],"padding":[1,1],"dilation":[2,2]}]',
    )
    page.get_by_role("tab", name="Sliding window").click()
    chart = page.locator(".js-plotly-plot:visible").first
    chart.wait_for()
    assert "output[0, 0]" in chart.inner_text()
    # The window's taps are drawn: a filled shape with a real size (a path plotly could not parse drew nothing).
    tap_width = page.evaluate(
        "() => Math.max(0, ...[...document.querySelectorAll('.js-plotly-plot .shapelayer path')]"
        ".filter(p => (p.style.fill || '').includes('255, 111, 60')).map(p => p.getBBox().width))"
    )
    assert tap_width > 10
    page.get_by_text("▶ Play").first.click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')].some(t => !t.textContent.startsWith('output[0, 0]'))",
        timeout=15_000,
    )
    page.screenshot(path="test-artifacts/screenshots/conv_sliding_window.png")

    page.get_by_role("tab", name="On an image").click()
    assert page.get_by_text("conv output (").first.is_visible()
    assert page.get_by_text("Translation invariance").is_visible()
    assert page.get_by_text("changes the conv output by").is_visible()


def _width(page) -> str:
    return page.get_by_label("Width W", exact=True).first.input_value()


def _shows_width(page, value: str) -> None:
    # Retried: the script has finished, but the browser may still be swapping in the new widgets.
    expect(page.get_by_label("Width W", exact=True).first).to_have_value(value, timeout=15_000)


def test_back_and_forward_step_through_edits_then_pages(page, app_url):
    # Every edit is a history entry (its address holds the setup); Back must show each earlier setup in
    # turn, with no dead presses, and then leave for the page before. It used to do nothing 4 times.
    open_page(page, app_url, "")
    page.get_by_text("Open Convolution & Pooling").click()
    wait_for_app(page)
    _shows_width(page, "32")
    for w in (40, 44, 48):
        _set_number(page, "Width W", w)
    assert "width=48" in page.url and "[4, 16, 16, 24]" in _success(page)

    for expected, shape in (("44", "[4, 16, 16, 22]"), ("40", "[4, 16, 16, 20]"), ("32", "[4, 16, 16, 16]")):
        page.go_back()
        wait_for_app(page)
        _shows_width(page, expected)  # Back shows each earlier setup...
        expect(page.locator("[data-testid='stAlertContentSuccess']").first).to_contain_text(
            shape
        )  # ...and its results  # the results follow the restored setup, not only the widget
    page.go_forward()
    wait_for_app(page)
    _shows_width(page, "40")
    assert "width=40" in page.url

    # Back past the first edit leaves the page for the one before it.
    page.go_back()
    wait_for_app(page)
    page.go_back()
    wait_for_app(page)
    assert page.get_by_role("heading", name="CNN Playground").is_visible()


def test_a_warm_page_opens_complete(page, app_url, browser):
    # The second visitor of a page (the server already warm) gets it whole: no grey skeletons once the
    # script has finished, the link's setup in the widgets. bench/bench_ui.py times this ("open").
    open_page(page, app_url, "conv")
    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        open_page(other, app_url, "conv", "width=40")
        other.wait_for_function("() => !document.querySelector(\"[data-testid='stSkeleton']\")", timeout=60_000)
        _shows_width(other, "40")
        assert "[4, 16, 16, 20]" in _success(other)
    finally:
        other.context.close()
