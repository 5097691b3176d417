"""Plotly figures for the Transfer Learning page: where the parameters are, and runs compared."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

TRAINABLE, FROZEN = "#2e9e5b", "#9aa5b1"
RUN_COLOURS = ("#2e86de", "#e4572e", "#8e44ad", "#f39c12", "#16a085", "#c0392b")


def stage_chart(stages: list[tuple[str, int, bool]]) -> go.Figure:
    """Parameters per stage (input side on top), green where they train and grey where frozen."""
    names = [s[0] for s in stages][::-1]
    counts = [s[1] for s in stages][::-1]
    colours = [TRAINABLE if s[2] else FROZEN for s in stages][::-1]
    fig = go.Figure(
        go.Bar(
            x=counts,
            y=names,
            orientation="h",
            marker_color=colours,
            text=[f"{c:,}" for c in counts],
            textposition="auto",
            customdata=["trains" if s[2] else "frozen" for s in stages][::-1],
            hovertemplate="%{y}: %{x:,} parameters, %{customdata}<extra></extra>",
        )
    )
    fig.update_layout(
        height=70 + 30 * len(stages),
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_title="parameters",
        yaxis=dict(type="category"),
        title=dict(text="Parameters per stage: green trains, grey is frozen", font=dict(size=14)),
    )
    return fig


def compare_curves(series: list[dict]) -> go.Figure:
    """Validation accuracy per epoch and training loss per step for several runs, overlaid.

    ``series``: ``[{"name", "steps": [(epoch, loss)], "epochs": [(epoch, val_accuracy)]}, ...]``.
    """
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Validation accuracy", "Training loss"), horizontal_spacing=0.08
    )
    for i, s in enumerate(series):
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        if s["epochs"]:
            x, y = zip(*s["epochs"])
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    name=s["name"],
                    mode="lines+markers",
                    line=dict(color=colour),
                    legendgroup=s["name"],
                    hovertemplate="epoch %{x}: %{y:.1%}<extra></extra>",
                ),
                1,
                1,
            )
        if s["steps"]:
            x, y = zip(*s["steps"][-2000:])
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    name=s["name"],
                    mode="lines",
                    line=dict(color=colour),
                    showlegend=not s["epochs"],
                    legendgroup=s["name"],
                    hovertemplate="epoch %{x:.2f}: %{y:.3f}<extra></extra>",
                ),
                1,
                2,
            )
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=1)
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.2))
    return fig
