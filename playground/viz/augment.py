"""Plotly figures for the Augmentation Studio (no streamlit here)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

CHANNEL_COLOURS = ("#e4572e", "#4caf50", "#2e86de")
CHANNEL_NAMES = ("R", "G", "B")


def channel_histograms(values: np.ndarray, normalized: bool, bins: int = 60) -> go.Figure:
    """Overlaid histograms of the model-input values, one per channel.

    ``values``: (C, K) samples of what the model receives. Normalised inputs
    centre near 0 with spread near 1; plain ToTensor output sits in [0, 1];
    uint8 in 0..255: the x axis says which.
    """
    fig = go.Figure()
    names = CHANNEL_NAMES if values.shape[0] == 3 else tuple(f"channel {c}" for c in range(values.shape[0]))
    lo, hi = float(values.min()), float(values.max())
    size = (hi - lo) / bins if hi > lo else 1.0
    for c in range(values.shape[0]):
        fig.add_trace(
            go.Histogram(
                x=values[c],
                name=names[c],
                opacity=0.55,
                marker_color=CHANNEL_COLOURS[c % 3] if values.shape[0] == 3 else "#555",
                xbins=dict(start=lo, end=hi + size, size=size),
                histnorm="probability",
            )
        )
    fig.update_layout(
        barmode="overlay",
        height=260,
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text="Values the model receives" + (" (normalized)" if normalized else ""), font=dict(size=14)),
        xaxis_title="value",
        yaxis_title="share of values",
        legend=dict(orientation="h", y=1.15, x=1, xanchor="right"),
    )
    return fig
