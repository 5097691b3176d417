"""User text shown back on a page: plain text, never Markdown.

``st.warning``, ``st.error`` and friends render their body as Markdown, so a value copied from a
link or an upload (``[Session expired: log in again](https://evil.example)``) would become a
clickable link, bold text or a LaTeX formula inside the app's own message. ``plain`` escapes
what Markdown gives a meaning to, so the message reads exactly as its text.
"""

from __future__ import annotations

import re

# Characters that start Markdown (CommonMark, GFM, Streamlit's :color[...] directives, :icons:, $math$)
# anywhere in a line. A backslash escape is always shown as the character itself (CommonMark 2.4).
# Sentence punctuation (. , ' " ( ) - = ? ;) is left alone: it only means something at a line's start.
_INLINE = re.compile(r"([\\`*_{}\[\]<>#!$~|&:@^])")
_LINE_START = re.compile(r"(?m)^(\s*)([-+=])")  # a list item, a heading underline
_NUMBERED = re.compile(r"(?m)^(\s*\d+)([.)])")  # a numbered list item
# GFM also turns bare URLs and e-mail addresses into links *after* parsing, on the text with its escapes
# already removed (mdast-util-gfm-autolink-literal), so an escape cannot stop it: an invisible word joiner
# (U+2060) inside "://", after "www" and before "@" does.
_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(\\:)(?=//)|(www)(?=\\?\.)|(?=\\@)")


def plain(text: object) -> str:
    """``text`` as Markdown that renders as exactly ``text``: no link, no formatting (line breaks kept)."""
    s = _INLINE.sub(r"\\\1", str(text))
    s = _NUMBERED.sub(r"\1\\\2", _LINE_START.sub(r"\1\\\2", s))
    s = _AUTOLINK.sub(lambda m: (m.group(0) or "") + _JOINER, s)
    return s.replace("\n", "  \n")  # a single newline would otherwise join the two lines


def unplain(markdown: str) -> str:
    """What ``plain(text)`` shows: ``text`` again (for tests that read a message's words)."""
    s = markdown.replace(_JOINER, "").replace("  \n", "\n")
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", s)
