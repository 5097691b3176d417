"""Shapes and sizes in words, the same on every page and in the CLI."""

from __future__ import annotations


def shape_text(shape) -> str:
    """``[4, 16, 32, 32]``, as PyTorch prints ``tensor.shape`` in the article."""
    return "[" + ", ".join(str(int(v)) for v in shape) + "]"


def pair_text(p, whole: str = "all") -> str:
    """A (height, width) pair: ``3`` when square, ``3x5`` otherwise; ``whole`` for None (the whole input)."""
    if p is None:
        return whole
    return str(p[0]) if p[0] == p[1] else f"{p[0]}x{p[1]}"


def docstring_text(text: str) -> str:
    """``text`` made safe inside a generated ``\"\"\"docstring\"\"\"``: it reads back as exactly ``text``.

    A quote, a backslash or a line break in a user's model name would otherwise end the
    docstring early and turn the rest of the name into code that runs when the file is run.
    Quotes and backslashes are escaped; characters that are not printable (line breaks,
    NUL, U+2028) are written as ``\\n``/``\\x00``/``\\u2028`` escapes.
    """
    out = []
    for ch in str(text):
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
    return "".join(out)
