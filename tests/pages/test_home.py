"""The home page through AppTest: the welcome text and one card per catalog entry."""

from ui.catalog import PAGES


def test_home_renders_a_card_per_page(app_page):
    at = app_page()
    assert not at.exception
    assert at.title[0].value == "CNN Playground"
    text = " ".join(m.value for m in at.markdown)
    assert "weight sharing" in text and "feature map" in text
    for entry in PAGES:
        assert entry.blurb in text


def test_every_catalog_page_is_named_after_its_url_and_goes_through_the_router():
    # While pages/ exists, Streamlit's first session after a server start resolves a deep link
    # against the file names under pages/ and runs the match WITHOUT app.py (a link matching no
    # file gets a "Page not found" dialog). So each file is named after its url path, and calls
    # ui.router.ensure_routed() to rerun through app.py (tests/e2e/test_home.py opens one first).
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for entry in PAGES:
        path = root / entry.path
        assert path.exists(), entry
        assert path.stem == entry.url_path, entry
    for path in (root / "pages").glob("*.py"):
        assert "\nensure_routed()" in path.read_text(), f"{path.name} does not call ensure_routed()"
