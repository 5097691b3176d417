"""A plotly figure whose animation frames and slider stay plain plotly JSON.

Plotly turns every frame's shapes and every slider step into validated objects: 3.7 s for the
400 frames of a 32x32 sliding window on these machines, against a few milliseconds to write the
same JSON as dicts. The browser receives exactly the same figure either way (``to_dict`` is what
``st.plotly_chart`` and ``to_json`` read), so the traces and layout stay ordinary, validated
objects and only the repetitive parts skip validation.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go


class FramedFigure(go.Figure):
    """``go.Figure`` + ``raw_frames`` (list of frame dicts) + ``raw_sliders`` (layout.sliders as dicts)."""

    def __init__(self, base: Any = None, raw_frames: list[dict] | None = None, raw_sliders: list[dict] | None = None):
        super().__init__(base)
        self.__dict__["raw_frames"] = list(raw_frames or [])
        self.__dict__["raw_sliders"] = list(raw_sliders or [])

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["frames"] = self.raw_frames
        if self.raw_sliders:
            d.setdefault("layout", {})["sliders"] = self.raw_sliders
        return d

    def to_plotly_json(self) -> dict:
        return self.to_dict()

    def __reduce__(self):
        # Pickled (st.cache_data) as its three parts: plotly's own __reduce__ would rebuild every frame as objects.
        return (FramedFigure, (go.Figure.to_dict(self), self.raw_frames, self.raw_sliders))
