"""Hostile links in a real browser: a link's value shown back in a warning is text, never a link or formatting."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import open_page

pytestmark = pytest.mark.e2e

BAIT = "[Session expired: log in again](https://evil.example) **now** www.evil.example me@evil.example"


def test_a_link_value_echoed_in_a_warning_is_plain_text(page, app_url):
    open_page(page, app_url)  # a freshly started server answers its first deep link with "Page not found"
    open_page(page, app_url, "architecture", urlencode({"preset": BAIT}))
    alert = page.locator("[data-testid='stAlert']").filter(has_text="no preset called").first
    alert.wait_for()
    assert BAIT in alert.inner_text().replace("\u2060", "")  # every character shown as typed
    assert alert.locator("a").count() == 0  # no link (Markdown, bare URL or e-mail)
    assert alert.locator("strong, em, code").count() == 0
