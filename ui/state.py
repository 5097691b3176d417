"""Page state that survives reloads, navigation and sharing.

A page keeps its setup in one dataclass (``playground.common.urlstate`` does the
string conversions). Widgets are keyed ``f"{ns}_{field}"`` (readable keys,
design principle 12). On each run ``restore`` fills any missing widget key:
from the page's last config in this session if there is one (Streamlit drops
widget state when you visit another page), else from the URL, else from the
default. ``publish`` stores the current config and writes the URL, so a copy
of the address bar reproduces the setup.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, TypeVar

import streamlit as st

from playground.common.urlstate import from_query, to_query

C = TypeVar("C")


def key(ns: str, name: str) -> str:
    """The widget key for field ``name`` of page ``ns``."""
    return f"{ns}_{name}"


def restore(cls: type[C], ns: str, widget_fields: set[str] | None = None) -> C:
    """The page's config at the start of a run, with widget keys primed in ``st.session_state``.

    ``widget_fields``: the fields that are bound to a widget keyed ``key(ns, field)``;
    the others (lists of layers, say) are kept only in the returned config.
    """
    saved_key = f"_{ns}_config"
    cfg = st.session_state.get(saved_key)
    if cfg is None:
        cfg, problems = from_query(cls, st.query_params.to_dict())
        for p in problems:
            st.warning(p)
        st.session_state[saved_key] = cfg
    names = widget_fields if widget_fields is not None else {f.name for f in fields(cls)}  # type: ignore[arg-type]
    for name in names:
        k = key(ns, name)
        if k not in st.session_state:
            st.session_state[k] = getattr(cfg, name)
    return cfg


def read(cfg: C, ns: str, widget_fields: set[str]) -> C:
    """``cfg`` updated with the current values of its widgets."""
    return replace(cfg, **{n: st.session_state[key(ns, n)] for n in widget_fields if key(ns, n) in st.session_state})  # type: ignore[type-var]


def publish(cfg: Any, ns: str) -> None:
    """Remember ``cfg`` for this session and mirror it into the URL."""
    st.session_state[f"_{ns}_config"] = cfg
    wanted = to_query(cfg)
    current = st.query_params.to_dict()
    if current != wanted:
        st.query_params.from_dict(wanted)


def set_config(cfg: Any, ns: str, widget_fields: set[str]) -> None:
    """Replace the page's config: the widgets show it on this run.

    Call it from a widget's ``on_click`` / ``on_change`` callback: callbacks run
    before the script, so the widget keys can still be written.
    """
    st.session_state[f"_{ns}_config"] = cfg
    for name in widget_fields:
        st.session_state[key(ns, name)] = getattr(cfg, name)


def clamp_once(cfg: C, ns: str, widget_fields: set[str], clamp) -> C:
    """Once per session, before the widgets are drawn: make a config read from a link usable.

    ``clamp(cfg) -> (cfg, problems)`` fixes values a stale or hand-edited link got wrong; each
    problem is shown as a warning and the widgets show the fixed values.
    """
    flag = f"_{ns}_checked"
    if st.session_state.get(flag):
        return cfg
    cfg, problems = clamp(cfg)
    for p in problems:
        st.warning(p)
    set_config(cfg, ns, widget_fields)
    st.session_state[flag] = True
    return cfg
