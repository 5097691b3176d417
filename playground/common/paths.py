"""Where the project's files are: one place, so a module that moves does not break a path.

The bundled assets and the default runs folder live at the project root (the folder holding
``app.py`` and ``assets/``); an editable install (``pip install -e .``) keeps that root in place.
"""

from __future__ import annotations

from pathlib import Path

# playground/common/paths.py -> the project root is two folders above the package.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS = PROJECT_ROOT / "assets"
