"""Page state that survives reloads, navigation and sharing: the one way pages and ``ui`` reach ``st.session_state``.

A page keeps its setup in one dataclass (``playground.common.urlstate`` does the string
conversions, ``playground.common.settings`` the ranges). Widgets are keyed ``f"{ns}_{field}"``
(readable keys), ``ns`` being the page's url path. On each run ``restore`` fills any missing widget
key: from the page's last config in this session if there is one (Streamlit drops widget state
when you visit another page), else from the URL, else from the default. ``publish`` stores the
current config and writes the URL, so a copy of the address bar reproduces the setup.

Everything else a page keeps between runs (a message from a callback, the run it watches, a
cache of read events) lives under a private key ``_{ns}_{name}``, reached only through
``recall`` / ``remember`` / ``stash`` / ``take`` here, so no page spells a private key itself.
"""

from __future__ import annotations

import re
from dataclasses import fields, replace
from typing import Any, Callable, Mapping, TypeVar

import streamlit as st

from playground.common.urlstate import from_query, to_query
from ui.text import plain

C = TypeVar("C")


def key(ns: str, name: str) -> str:
    """The widget key for field ``name`` of page ``ns``."""
    return f"{ns}_{name}"


# --------------------------------------------------------------------------- private values


def _private(ns: str, name: str) -> str:
    return f"_{ns}_{name}"


def recall(ns: str, name: str, default: Any = None) -> Any:
    """Page ``ns``'s private value ``name`` (``default`` when it has none)."""
    return st.session_state.get(_private(ns, name), default)


def remember(ns: str, name: str, value: Any) -> None:
    """Keep ``value`` as page ``ns``'s private value ``name`` for this session."""
    st.session_state[_private(ns, name)] = value


def stash(ns: str, name: str, default: Callable[[], Any]) -> Any:
    """Page ``ns``'s private value ``name``, created with ``default()`` the first time (a list, a set...)."""
    k = _private(ns, name)
    if k not in st.session_state:
        st.session_state[k] = default()
    return st.session_state[k]


def take(ns: str, name: str, default: Any = None) -> Any:
    """Remove page ``ns``'s private value ``name`` and return it (``default`` when it had none)."""
    return st.session_state.pop(_private(ns, name), default)


# --------------------------------------------------------------------------- widget values


def value(ns: str, name: str, default: Any = None) -> Any:
    """The current value of widget ``key(ns, name)`` (``default`` before it exists)."""
    return st.session_state.get(key(ns, name), default)


def set_value(ns: str, name: str, v: Any) -> None:
    """Set widget ``key(ns, name)``: only from a callback, or before the widget is drawn."""
    st.session_state[key(ns, name)] = v


def drop_widgets(prefix: str | re.Pattern) -> None:
    """Forget every widget whose key starts with ``prefix`` or matches it (the rows of a list that changed shape)."""
    hit = prefix.match if isinstance(prefix, re.Pattern) else lambda k: k.startswith(prefix)
    for k in [k for k in st.session_state if hit(str(k))]:
        del st.session_state[k]


def link_value(name: str, default: str = "") -> str:
    """Query parameter ``name`` of the address (a link's value that is not a config field, such as a run id)."""
    return st.query_params.get(name, default)


# --------------------------------------------------------------------------- the page's config


def saved_config(ns: str) -> Any:
    """The page's config as last stored in this session (None on the first visit)."""
    return recall(ns, "config")


def save_config(cfg: Any, ns: str) -> None:
    """Store the page's config for this session without touching its widgets."""
    remember(ns, "config", cfg)


def first_visit(ns: str) -> bool:
    """Has this session not stored a config for page ``ns`` yet (the link is all there is)?"""
    return saved_config(ns) is None


def history_navigation() -> bool:
    """Is this run the browser's Back or Forward button?

    Every edit publishes the config to the URL and the browser keeps one history entry per
    address; Back reruns the script with the older address, a run Streamlit flags. The page then
    takes its config from that address instead of this session's latest one, so Back steps through
    the edits for real (it used to write the newest settings straight back: a dead press).
    """
    try:  # a flag of the run's context, read defensively: without it Back behaves as before
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
    except ImportError:
        return False
    return bool(getattr(get_script_run_ctx(), "is_history_navigation", False))


def _reads_link(ns: str) -> bool:
    """Does this run take page ``ns``'s config from the address: the first visit, or Back/Forward not yet read?"""
    if not history_navigation():
        take(ns, "link_read")  # an ordinary run: the next Back reads its address again
        return first_visit(ns)
    # Read each address once (this run may call restore_from and restore); the next Back brings another.
    return first_visit(ns) or recall(ns, "link_read") != st.query_params.to_dict()


def _back_to(ns: str, cfg: Any) -> None:
    """Back/Forward: drop page ``ns``'s widget values (not its uploads), so ``cfg`` primes every widget again."""
    for k in [k for k in st.session_state if str(k).startswith(f"{ns}_")]:
        if isinstance(st.session_state[k], (bool, int, float, str)):
            del st.session_state[k]
    remember(ns, "link_read", st.query_params.to_dict())
    save_config(cfg, ns)


def restore(cls: type[C], ns: str, widget_fields: set[str] | None = None) -> C:
    """The page's config at the start of a run, with widget keys primed in ``st.session_state``.

    ``widget_fields``: the fields that are bound to a widget keyed ``key(ns, field)``;
    the others (lists of layers, say) are kept only in the returned config.
    """
    if _reads_link(ns):
        cfg, problems = from_query(cls, st.query_params.to_dict())
        for p in problems:
            st.warning(plain(p))
        _back_to(ns, cfg) if not first_visit(ns) else save_config(cfg, ns)
    cfg = saved_config(ns)
    names = widget_fields if widget_fields is not None else {f.name for f in fields(cls)}  # type: ignore[arg-type]
    for name in names:
        k = key(ns, name)
        # Written on every run, not only when missing: a widget whose value the script set in this run
        # reaches the browser with that value; otherwise only with its declared default (the first
        # option, the minimum), and the browser keeps what it had. A browser that lost what it had (a
        # second run right after the first on a loaded server) then showed, and a click then sent,
        # every widget at its default: Launch started a 1-epoch run at batch 1 on the first dataset.
        st.session_state[k] = st.session_state[k] if k in st.session_state else getattr(cfg, name)
    return cfg


def restore_from(ns: str, read_link: Callable[[Mapping[str, Any]], tuple[Any, list[str]]]) -> None:
    """On the first visit or Back/Forward, store the config ``read_link(query params) -> (config, problems)`` reads.

    For a page whose link is not plain ``urlstate`` (relative to a preset, say); ``restore`` then primes its widgets.
    """
    if _reads_link(ns):
        cfg, problems = read_link(st.query_params.to_dict())
        _back_to(ns, cfg) if not first_visit(ns) else save_config(cfg, ns)
        for p in problems:
            st.warning(plain(p))


def read(cfg: C, ns: str, widget_fields: set[str]) -> C:
    """``cfg`` updated with the current values of its widgets."""
    return replace(cfg, **{n: st.session_state[key(ns, n)] for n in widget_fields if key(ns, n) in st.session_state})  # type: ignore[type-var]


def current(ns: str, widget_fields: set[str], default: Callable[[], Any] | None = None) -> Any:
    """The page's config as its widgets show it now (from a callback: before the script reruns)."""
    cfg = saved_config(ns)
    if cfg is None:
        cfg = default() if default is not None else None
    return read(cfg, ns, widget_fields) if cfg is not None else None


def publish(cfg: Any, ns: str, query: dict[str, str] | None = None) -> None:
    """Remember ``cfg`` for this session and mirror it into the URL (``query``: instead of ``to_query(cfg)``)."""
    save_config(cfg, ns)
    wanted = to_query(cfg) if query is None else query
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def set_config(cfg: Any, ns: str, widget_fields: set[str]) -> None:
    """Replace the page's config: the widgets show it on this run.

    Call it from a widget's ``on_click`` / ``on_change`` callback: callbacks run
    before the script, so the widget keys can still be written.
    """
    save_config(cfg, ns)
    for name in widget_fields:
        st.session_state[key(ns, name)] = getattr(cfg, name)


def clamp_once(cfg: C, ns: str, widget_fields: set[str], clamp) -> C:
    """Once per session, before the widgets are drawn: make a config read from a link usable.

    ``clamp(cfg) -> (cfg, problems)`` fixes what only this server can judge (the runs it holds, its
    uploads, fields that depend on each other); ranges and choices were already applied when the link
    was read. Each problem is shown as a warning and the widgets show the fixed values.
    """
    if recall(ns, "checked"):
        return cfg
    cfg, problems = clamp(cfg)
    for p in problems:
        st.warning(plain(p))
    set_config(cfg, ns, widget_fields)
    remember(ns, "checked", True)
    return cfg
