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


def test_architecture_table_shows_the_classifier_and_the_jump_column_and_revert_is_in_sight(page, app_url):
    from urllib.parse import urlencode

    from playground.labs.architecture import ArchConfig, config_query, config_spec, with_layers

    page.set_viewport_size({"width": 1400, "height": 2600})  # the whole table in one screenshot
    open_page(page, app_url, "architecture", "preset=vgg16&height=224&width=224")
    table = page.locator("[data-testid='stDataFrame']").first
    table.scroll_into_view_if_needed()
    _shot(table, "architecture_vgg16_table")
    scroller = table.locator(".dvn-scroller").first
    sizes = scroller.evaluate("el => [el.scrollWidth - el.clientWidth, el.scrollHeight - el.clientHeight]")
    assert sizes[0] <= 2 and sizes[1] <= 2, sizes  # no hidden column, no hidden row (classifier.6 included)
    # After an edit (here: a link to an edited SimpleCNN), Revert is a visible button, not inside the collapsed knobs.
    cfg = ArchConfig(preset="simplecnn")
    spec, _ = config_spec(cfg)
    layers = [dict(layer) for layer in spec["layers"]]
    edited = with_layers(cfg, spec, layers[:-1] + [{**layers[-1], "out_features": 7}])
    open_page(page, app_url, "architecture", urlencode(config_query(edited)))
    revert = page.get_by_role("button", name="Revert to the preset")
    revert.scroll_into_view_if_needed()
    assert revert.is_visible()
    _shot(page.locator("[data-testid='stMain']").first, "architecture_revert_in_sight")


def test_conv_editor_labels_are_whole(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 1600})
    open_page(page, app_url, "conv")
    _shot(page.locator("[data-testid='stMain']").first, "conv_page")
    # The ceil_mode checkbox shows its whole label (it read "ceil_..." in a quarter column); the padding menu's
    # "numbers" (it read "numbe") is checked by eye on the screenshot conv_page.png.
    label = page.locator("[data-testid='stCheckbox']").filter(has_text="ceil_mode").first
    assert label.evaluate("e => { const p = e.querySelector('p'); return p && p.scrollWidth <= p.clientWidth + 1 }")


def test_training_at_400px_keeps_launch_near_the_top(page, app_url):
    # On a phone the class sample tiles used to stack a screen wide each and push Launch about 5,000 px down.
    page.set_viewport_size({"width": 400, "height": 900})
    open_page(page, app_url, "train", "dataset=digits")
    page.get_by_text("1,438 training and 359 validation images").wait_for()
    launch = page.get_by_role("button", name="Launch run")
    top = launch.evaluate("e => e.getBoundingClientRect().top + window.scrollY")
    _shot(page.locator("[data-testid='stMain']").first, "train_400px")
    print("LAUNCH_TOP", top)
    assert top < 3000, top


def test_sliding_window_numbers_stay_legible_at_400px(page, app_url):
    # At 400 px the three grids used to shrink to 16 px cells under 12 px numbers ("0.50" overlapped its
    # neighbours); now the cells keep MIN_CELL_PX and the chart scrolls sideways in its own box.
    from playground.viz.conv import MIN_CELL_PX

    page.set_viewport_size({"width": 400, "height": 900})
    open_page(page, app_url, "conv")
    page.get_by_role("tab", name="Sliding window").click()
    chart = page.locator(".js-plotly-plot").filter(has=page.locator("g.textpoint")).first
    chart.wait_for(timeout=60_000)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    sizes = chart.evaluate(
        """el => {
          const xa = el._fullLayout.xaxis;
          const widest = Math.max(...[...el.querySelectorAll('g.textpoint text')].map(t => t.getBBox().width));
          return {cell: xa._length / (xa.range[1] - xa.range[0]), widest};
        }"""
    )
    box = page.locator(".st-key-conv_window_box").first
    scroll = box.evaluate("el => [el.scrollWidth, el.clientWidth]")
    _shot(box, "conv_window_400px")
    assert sizes["cell"] >= MIN_CELL_PX - 1 and sizes["widest"] < sizes["cell"], sizes
    assert scroll[0] > scroll[1] <= 400, scroll  # the box scrolls; the page itself stays phone-wide
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 400, page_width
