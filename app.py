"""CNN Playground: the router.

Sets up the page, builds navigation from ``ui.catalog`` and draws the shared
sidebar; each page under ``pages/`` does the rest (design principle 3).
Run it with ``streamlit run app.py``.
"""

import os

# Before torch loads: OpenMP threads that spin while waiting steal the CPU from everything else on
# a small shared machine (a UI rerun next to a training run); passive waiting costs nothing here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st  # noqa: E402

from ui.catalog import PAGES  # noqa: E402
from ui.sidebar import render_sidebar  # noqa: E402

st.set_page_config(page_title="CNN Playground", page_icon=":material/neurology:", layout="wide")

home = st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True)
sections: dict[str, list] = {"": [home]}
for entry in PAGES:
    sections.setdefault(entry.section, []).append(
        st.Page(entry.path, title=entry.title, icon=entry.icon, url_path=entry.url_path)
    )

page = st.navigation(sections)
render_sidebar()
page.run()
