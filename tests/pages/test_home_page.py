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
