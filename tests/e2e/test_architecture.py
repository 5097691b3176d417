"""The Architecture Lab in a real browser: pick ResNet-50, read the table and totals, break a layer and
read the explanation, fix it, export the PyTorch source and the JSON, and open the shared link."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import choose, open_page, wait_for_app

pytestmark = pytest.mark.e2e


def _open_lab(page, app_url: str, query: str = "") -> None:
    open_page(page, app_url)  # a freshly started server answers its first deep link with "Page not found"
    open_page(page, app_url, "architecture", query)
    assert page.get_by_role("heading", name="Architecture Lab").is_visible()


def _metrics(page):
    """The four totals under the table (a locator: ``expect`` retries until the app has drawn them)."""
    return page.locator("[data-testid='stMetricValue']")


def _cells(page) -> list[str]:
    # The grid draws its cells after the script has finished (and later on a busy machine): wait for the first.
    cells = page.locator("[data-testid='stDataFrame'] [role='gridcell']")
    cells.first.wait_for(state="attached", timeout=30_000)  # glide keeps its cells in a hidden a11y table
    return cells.all_inner_texts()


def test_resnet50_table_edit_error_export_and_link(page, app_url, tmp_path):
    _open_lab(page, app_url)
    expect(_metrics(page).first).to_have_text("[32, 10]")  # the article's SimpleCNN first

    choose(page, "Start from", "ResNet-50 (2015)")
    expect(_metrics(page)).to_have_text(["[32, 1000]", "25,557,032", "4.089 G", "427 px"])
    cells = _cells(page)
    assert cells[:6] == ["conv1", "Conv2d", "[32, 64, 112, 112]", "9408", "0", "118013952"]
    expect(page.get_by_text("ResNet-50: 23 boxes, 16 skip connections")).to_be_visible()

    # Break the classifier: the table explains where and how to fix it.
    choose(page, "Layer to edit", "fc · Linear → 1000")
    field = page.get_by_role("textbox", name="in features")
    field.fill("512")
    field.press("Enter")
    wait_for_app(page)
    alert = page.locator("[data-testid='stAlert']").filter(has_text="The model breaks here")
    expect(alert).to_contain_text("Layer fc (Linear) expects 512 inputs, it gets 2048: set in_features=2048")
    assert "edited" in page.url and "custom=1" in page.url
    field.fill("2048")
    field.press("Enter")
    wait_for_app(page)
    expect(alert).to_have_count(0)
    expect(_metrics(page).nth(1)).to_have_text("25,557,032")

    # Export: runnable PyTorch source and the JSON spec.
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download .py").click()
    source = tmp_path / "model.py"
    dl.value.save_as(source)
    text = source.read_text()
    assert "class ResNet50Edited(nn.Module):" in text and "self.fc = nn.Linear(2048, 1000)" in text
    compile(text, "model.py", "exec")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download .json").click()
    dl.value.save_as(tmp_path / "model.json")
    spec = json.loads((tmp_path / "model.json").read_text())
    assert spec["format"] == "cnn-playground/model" and spec["layers"][-1]["name"] == "fc"

    # The shared link rebuilds the same model in a fresh browser page.
    link = next(t for t in page.locator("[data-testid='stCode']").all_inner_texts() if "layers=" in t).strip()
    other = page.context.new_page()
    other.goto(link)
    wait_for_app(other)
    expect(_metrics(other)).to_have_text(["[32, 1000]", "25,557,032", "4.089 G", "427 px"])
    other.close()
    # Back to the broken state for the screenshot: the explanation next to the table.
    field.fill("512")
    field.press("Enter")
    wait_for_app(page)
    page.set_viewport_size({"width": 1400, "height": 3400})  # a tall screenshot of the whole page, from the top
    page.locator("[data-testid='stMain']").evaluate("el => el.scrollTo(0, 0)")
    expect(alert).to_have_count(1)
