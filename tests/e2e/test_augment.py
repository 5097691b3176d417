"""The Augmentation Studio in a real browser: upload a photo, see the grid, change the seed, survive a bad file."""

import io

import pytest
from PIL import Image

from tests.e2e.conftest import open_page, wait_for_app

pytestmark = pytest.mark.e2e


def _png(w: int = 320, h: int = 240) -> bytes:
    im = Image.new("RGB", (w, h), (30, 120, 200))
    for x in range(0, w, 20):  # stripes, so crops and flips are visible
        im.paste((250, 200, 40), (x, 0, x + 10, h))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _grid_images(page):
    return page.locator("[data-testid='stImage']")


def test_upload_grid_seed_and_bad_file(page, app_url, tmp_path):
    # A fresh server's very first page load shows Streamlit's "Page not found" dialog for any deep link
    # (the pages/ folder is scanned before st.navigation has run once); load the home page first.
    open_page(page, app_url)
    open_page(page, app_url, "augment")
    assert page.get_by_role("heading", name="Augmentation Studio").is_visible()
    photo = tmp_path / "stripes.png"
    photo.write_bytes(_png())
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(photo))
    wait_for_app(page)
    page.get_by_text("Original · stripes.png · 320x240").wait_for()
    captions = page.locator("[data-testid='stImageCaption']")
    assert captions.filter(has_text="#16 · seed 15").count() == 1
    first = _grid_images(page).nth(1).locator("img").get_attribute("src")

    seed = page.get_by_label("Seed", exact=True)
    seed.fill("7")
    seed.press("Enter")
    wait_for_app(page)
    page.get_by_text("#1 · seed 7").wait_for()
    assert "seed=7" in page.url
    assert _grid_images(page).nth(1).locator("img").get_attribute("src") != first

    bad = tmp_path / "report.jpg"
    bad.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files([str(photo), str(bad)])
    wait_for_app(page)
    alert = page.locator("[data-testid='stAlert']").filter(has_text="report.jpg is not an image")
    alert.wait_for()
    # The app keeps working: the good photo's grid is still there.
    assert page.get_by_text("Original · stripes.png · 320x240").is_visible()
    assert captions.filter(has_text="#16 · seed 22").count() == 1
