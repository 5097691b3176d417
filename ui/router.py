"""The router: navigation built from ``ui.catalog`` and the shared sidebar, for ``app.py`` and every page.

``app.py`` calls :func:`route`. Each page calls :func:`ensure_routed` right after
its imports, because of how Streamlit treats a ``pages/`` folder: while one
exists, a server process starts in Streamlit's legacy multipage mode, and until
some script calls ``st.navigation`` a visit to ``/augment`` runs
``pages/augment.py`` on its own, without ``app.py`` (no sections, no device
sidebar), while a link matching no file name shows a "Page not found" dialog.
That is the first session after a start: exactly when someone opens a shared
link on a freshly started app. (``AppTest`` resets the mode before every run.)

So page files are named after their url paths (``pages/augment.py`` is
``/augment``), which the legacy mode finds, and :func:`ensure_routed` then runs
the router in the same script run: ``st.navigation`` switches the process to
the modern mode and runs the page again, inside the router, and the legacy run
stops there. Staying in one run (rather than ``st.rerun``) keeps a button click
that started the run.
"""

from __future__ import annotations

import os
import sys
import time

import streamlit as st

from ui.catalog import PAGES
from ui.sidebar import render_sidebar

_TIMINGS = os.environ.get("PLAYGROUND_TIMINGS") == "1"


def route() -> None:
    """Set up the page, build the navigation, draw the shared sidebar and run the chosen page."""
    st.set_page_config(page_title="CNN Playground", page_icon=":material/neurology:", layout="wide")
    home = st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True)
    sections: dict[str, list] = {"": [home]}
    for entry in PAGES:
        sections.setdefault(entry.section, []).append(
            st.Page(entry.path, title=entry.title, icon=entry.icon, url_path=entry.url_path)
        )
    page = st.navigation(sections)
    render_sidebar()
    if not _TIMINGS:
        page.run()
        return
    t = time.perf_counter()
    prof = None
    if os.environ.get("PLAYGROUND_PROFILE") == "1":  # and where the time goes (cProfile, top 25 by cumulative)
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    try:
        page.run()
    finally:
        if prof is not None:
            import pstats

            prof.disable()
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(
                25
            )  # PLAYGROUND_TIMINGS=1: the server's share of each rerun, to set beside the browser's (bench/)
        print(
            f"[timing] {page.url_path or 'home'} {1000 * (time.perf_counter() - t):.0f} ms", file=sys.stderr, flush=True
        )


def _legacy_pages_mode() -> bool:
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the legacy mode
        return False
    return bool(getattr(PagesManager, "uses_pages_directory", False))


def ensure_routed() -> None:
    """If Streamlit ran this page without ``app.py`` (legacy pages/ mode), run it through the router instead.

    ``route()`` calls ``st.navigation`` (which leaves the legacy mode for good),
    resolves the same URL and runs this page file again, where this check is
    then a no-op; ``st.stop()`` ends the outer, unrouted run of the file.
    """
    if _legacy_pages_mode():
        route()
        st.stop()
