"""Offline, the Transfer page's default experiment in a real browser: the bundled pre-trained backbone
fine-tuned on 500 digits against the same network from scratch, and the sentence saying by how much."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, open_page, wait_for_app

pytestmark = pytest.mark.e2e


def test_offline_the_default_experiment_shows_what_pre_training_is_worth(page, app_url):
    open_page(page, app_url, "transfer")
    # No ImageNet weights here: the bundled backbone is the default, with its card's numbers.
    expect(page.get_by_text(re.compile(r"shapes_resnet8: a CIFAR-style ResNet pre-trained here"))).to_be_visible()
    page.get_by_role("button", name="Launch both runs").click()
    wait_for_app(page)
    status = page.locator("[data-testid='stMarkdownContainer']").filter(has_text="completed")
    expect(status).to_have_count(2, timeout=240_000)
    wait_for_app(page)
    gap = page.locator("[data-testid='stAlert']").filter(has_text="Pre-trained:")
    expect(gap).to_be_visible(timeout=30_000)
    text = gap.inner_text()
    m = re.search(r"Pre-trained: (\d+)% after 3 epochs; from scratch: (\d+)% after 3 epochs — (\d+) points ahead", text)
    assert m, text
    pre, scratch, points = map(int, m.groups())
    assert points == pre - scratch and points >= 10, text
    chart = page.locator("[data-testid='stPlotlyChart']").last
    expect(chart).to_contain_text("from scratch")
    page.set_viewport_size({"width": 1400, "height": 1000})
    gap.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "transfer_bundled_gap.png"))
