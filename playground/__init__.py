"""CNN Playground core: plain Python + torch, never streamlit.

The Streamlit pages in ``pages/`` (and their helpers in ``ui/``) read widgets,
call into this package and render what it returns. Everything here is usable
from a notebook or the CLI (``python -m playground ...``) as well.
"""

__version__ = "0.1.0"
