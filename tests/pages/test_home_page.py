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



def test_every_catalog_page_exists_and_is_not_shadowed_by_its_file_name():
    # While pages/ exists, Streamlit's first session after a server start resolves a deep link
    # against the file names under pages/ and, on a match, runs that file WITHOUT app.py (no
    # router, no sidebar) and stays in that mode. A url_path that differs from the file stem
    # makes it fall through to app.py's st.navigation instead.
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    stems = {p.stem for p in (root / "pages").glob("*.py")}
    for entry in PAGES:
        assert (root / entry.path).exists(), entry
        assert entry.url_path not in stems, entry
