"""CNN Playground core: plain Python + torch, never streamlit.

The Streamlit pages in ``pages/`` (and their helpers in ``ui/``) read widgets,
call into this package and render what it returns. Everything here is usable
from a notebook or the CLI (``python -m playground ...``) as well.
"""

import os

# Before torch loads (every entry point -- app.py, each page, the CLI, run workers -- imports this
# package first): OpenMP threads that spin while waiting steal the CPU from everything else on a
# small shared machine (a UI rerun next to a training run); passive waiting costs nothing here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
