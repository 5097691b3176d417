"""JSON from users (links, uploads, the CLI), parsed without a stack overflow.

Python's parser recurses once per nesting level, so ``[[[[...]]]]`` of a few thousand characters
raises ``RecursionError``, which is not a ``ValueError`` and would escape every ``except ValueError``
around a parse; a few hundred levels pass the parser and then overflow whatever walks the result.
``loads`` turns both into a ``json.JSONDecodeError`` (a ``ValueError``) with a sentence.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # deeper than any spec or pipeline this app writes (a model nests a handful of levels)


class TooDeep(json.JSONDecodeError):
    """JSON nested deeper than MAX_DEPTH; ``str()`` is the sentence alone (no line and column)."""

    def __str__(self) -> str:
        return self.msg


def depth(value: Any) -> int:
    """How deeply lists and dicts nest in ``value`` (a scalar: 0), walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, dict)):
            deepest = max(deepest, d)
            if d <= MAX_DEPTH:  # deeper than the limit is already too deep: no need to look further
                stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``; JSONDecodeError (a ValueError) for bad JSON and for nesting deeper than MAX_DEPTH."""
    doc = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
        too_deep = True
    else:
        too_deep = depth(value) > MAX_DEPTH
    if too_deep:
        raise TooDeep(f"lists or objects nested more than {MAX_DEPTH} deep", doc, 0)
    return value
