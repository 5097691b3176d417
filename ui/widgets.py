"""UI pieces every page shares.

- ``bounds`` / ``options``: a widget's min, max and step, or its options, read from the config
  field's ``setting`` (``playground.common.settings``), so no page repeats a range the core declares;
- ``flash`` / ``show_flash``: a message a callback leaves for the next run of the page;
- ``share_link``: the box with this page's shareable address;
- ``shape_text`` / ``pair_text``: a tensor shape as PyTorch prints it, a size pair (``playground.common.text``);
- ``row_buttons``: the move up / move down / remove buttons of one row of an editable list;
- ``IMAGE_TYPES``: the picture files an uploader accepts (what ``playground.common.images`` decodes);
  ``WEIGHT_TYPES``: the weights files.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlencode

import streamlit as st

from playground.common.images import image_types
from playground.common.settings import default_value, kind_of, setting_of
from playground.common.text import pair_text, shape_text  # noqa: F401 - the pages' shape words, re-exported
from ui import state

IMAGE_TYPES = image_types()
WEIGHT_TYPES = ["pt", "pth", "bin", "ckpt", "safetensors"]  # torch.save by custom, and safetensors (read by content)


def bounds(cls: Any, name: str) -> dict[str, Any]:
    """``min_value``/``max_value`` (and ``step`` when declared) for the widget of field ``name``.

    Typed like the field's default: Streamlit wants int bounds for an int and floats for a float.
    """
    s = setting_of(cls, name)
    cast = float if kind_of(default_value(cls, name)) == "float" else int
    lo, hi = s.offered_range()
    out: dict[str, Any] = {"min_value": None if lo is None else cast(lo), "max_value": None if hi is None else cast(hi)}
    if s.step is not None:
        out["step"] = cast(s.step)
    return out


def options(cls: Any, name: str) -> list:
    """The values the page offers for field ``name`` (its choices)."""
    return list(setting_of(cls, name).offered_choices() or ())


# --------------------------------------------------------------------------- messages from callbacks

_ICONS = {"error": ":material/error:", "success": ":material/check_circle:", "warning": ":material/warning:"}


def flash(ns: str, level: str, text: str) -> None:
    """From a callback: leave ``text`` for the page's next run (``level``: error, warning, success, info)."""
    state.stash(ns, "flash", default=list).append((level, text))


def show_flash(ns: str) -> None:
    """Show (once) what the page's callbacks had to say."""
    for level, text in state.take(ns, "flash", []):
        getattr(st, level)(text, icon=_ICONS.get(level))


# --------------------------------------------------------------------------- sharing


def share_link(query: dict[str, str], empty: str = "") -> None:
    """This page's address with ``query`` (what the address bar shows), in a box to copy."""
    try:
        base = str(st.context.url or "").split("?")[0]
    except Exception:  # older servers or bare runs
        base = ""
    text = urlencode(query)
    st.code(f"{base}?{text}" if text else base or empty, language=None, wrap_lines=True)


# --------------------------------------------------------------------------- editable lists


def row_buttons(
    columns: list,
    *,
    key: Callable[[str], str],
    on_click: Callable[..., None],
    args: Callable[[str], tuple],
    first: bool,
    last: bool,
    can_remove: bool = True,
    helps: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    remove_icon: str = ":material/delete:",
    **button: Any,
) -> None:
    """Move up, move down and remove for one row of an editable list, one button per column.

    ``columns``: three containers (``st`` itself draws into the current one). Button ``op`` (up, down,
    remove) is keyed ``key(op)`` and calls ``on_click(*args(op))``; up is off for the first row, down
    for the last, remove unless ``can_remove``. ``button``: further ``st.button`` arguments.
    """
    helps = {"up": "Move up", "down": "Move down", "remove": "Remove", **(helps or {})}
    labels = labels or {}
    spec = (
        ("up", ":material/arrow_upward:", first),
        ("down", ":material/arrow_downward:", last),
        ("remove", remove_icon, not can_remove),
    )
    for col, (op, icon, disabled) in zip(columns, spec):
        col.button(
            labels.get(op, ""),
            icon=icon,
            key=key(op),
            on_click=on_click,
            args=args(op),
            disabled=disabled,
            help=helps[op],
            **button,
        )
