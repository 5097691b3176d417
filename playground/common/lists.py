"""The row edits every editable list on the pages shares: move a row up or down, remove it."""

from __future__ import annotations

from typing import Any

ROW_EDITS = ("up", "down", "remove")


def edit_rows(rows: list, op: str, i: int) -> list:
    """A new list with row ``i`` moved ``up``/``down`` or removed; an edit that does not apply changes nothing."""
    out = list(rows)
    if op == "remove" and 0 <= i < len(out):
        out.pop(i)
    elif op in ("up", "down"):
        j = i - 1 if op == "up" else i + 1
        if 0 <= i < len(out) and 0 <= j < len(out):
            out[i], out[j] = out[j], out[i]
    elif op not in ROW_EDITS:
        raise ValueError(f"Unknown row edit {op!r}; use one of {', '.join(ROW_EDITS)}.")
    return out


def is_row_edit(op: Any) -> bool:
    """Is ``op`` one of ``edit_rows``'s edits?"""
    return op in ROW_EDITS
