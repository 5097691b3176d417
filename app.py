"""CNN Playground: the router.

Sets up the page, builds navigation from ``ui.catalog`` and draws the shared
sidebar (``ui.router.route``); each page under ``pages/`` does the rest.
Run it with ``streamlit run app.py``.
"""

from ui.router import route

route()
