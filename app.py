"""CNN Playground: the router.

Sets up the page, builds navigation from ``ui.catalog`` and draws the shared
sidebar; each page under ``pages/`` does the rest (design principle 3).
Run it with ``streamlit run app.py``.
"""

import streamlit as st

from ui.catalog import PAGES
from ui.sidebar import render_sidebar

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
