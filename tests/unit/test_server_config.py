"""The server's own settings for a public audience: an uncaught error never shows a traceback or its text."""

from __future__ import annotations

import tomllib
from pathlib import Path

from streamlit.config import ShowErrorDetailsConfigOptions

from ui.text import plain, unplain

ROOT = Path(__file__).resolve().parents[2]


def test_uncaught_errors_show_no_traceback_and_no_message():
    client = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["client"]
    # "none": a generic message only (streamlit/elements/exception.py hides message, trace and type).
    assert client.get("showErrorDetails") == ShowErrorDetailsConfigOptions.NONE.value


def test_plain_text_renders_as_itself_in_commonmark():
    from markdown_it import MarkdownIt  # CommonMark's reference rules (a dependency of the dev tools)

    md = MarkdownIt("commonmark")
    for text in [
        "[Session expired: log in again](https://evil.example)",
        "**bold** _it_ `code` <b>x</b> $x^2$ ~~s~~ | a | :red[x] :material/home: &amp; &#65;",
        "# heading\n- item\n1. item\n> quote\n===",
        "a\\b www.evil.example me@evil.example",
    ]:
        html = md.render(plain(text))
        assert "<a" not in html and "<strong" not in html and "<em" not in html and "<code" not in html
        assert "<h1" not in html and "<li" not in html and "<blockquote" not in html
        assert unplain(plain(text)) == text
