"""Plotly figures kept as their final JSON: cheap to build, to cache and to send.

Plotly turns every part of a figure into validated objects, and rebuilds them all when a
figure is unpickled. Both cost real time here: 3.7 s for the 400 frames of a 32x32 sliding
window, and 0.3 s per rerun for the Architecture Lab's three cached charts (``st.cache_data``
pickles what it keeps, so every cache hit rebuilt the figures). The browser receives exactly
the same JSON either way (``to_dict`` is what ``st.plotly_chart`` and ``to_json`` read), so:

- ``FramedFigure``: ordinary traces and layout, with the repetitive animation frames and slider
  steps written as plain dicts;
- ``freeze(fig)``: a finished figure as its JSON, for caches (pickles as one dict).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go


class FrozenFigure(go.Figure):
    """A figure that is its JSON ``spec`` (a dict as ``go.Figure.to_dict`` returns): read-only by convention."""

    def __init__(self, spec: dict | None = None):
        super().__init__()
        self.__dict__["spec"] = spec or {"data": [], "layout": {}}

    def to_dict(self) -> dict:
        return dict(self.spec)  # a shallow copy: readers (Streamlit, plotly.io) never write into it

    def to_plotly_json(self) -> dict:
        return self.to_dict()

    def __reduce__(self):
        return (FrozenFigure, (self.spec,))


def freeze(fig: go.Figure) -> FrozenFigure:
    """``fig`` as a :class:`FrozenFigure` (its JSON taken once)."""
    return fig if isinstance(fig, FrozenFigure) else FrozenFigure(fig.to_dict())


class FramedFigure(FrozenFigure):
    """``base`` (a figure) + ``raw_frames`` (frame dicts) + ``raw_sliders`` (layout.sliders as dicts)."""

    def __init__(self, base: Any = None, raw_frames: list[dict] | None = None, raw_sliders: list[dict] | None = None):
        spec = base.to_dict() if isinstance(base, go.Figure) else dict(base or {"data": [], "layout": {}})
        spec["frames"] = list(raw_frames or [])
        if raw_sliders:
            spec["layout"] = {**spec.get("layout", {}), "sliders": list(raw_sliders)}
        super().__init__(spec)
