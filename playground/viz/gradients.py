"""Plotly figures for the skip-connection page: loss curves and per-layer gradient norms, plain vs residual."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLOURS = {"plain": "#e4572e", "residual": "#2e86de"}
TITLES = {"plain": "Plain network (no skips)", "residual": "Residual network (F(x) + x)"}
STEP_SHADES = ("#9ecae1", "#4292c6", "#08519c", "#08306b", "#041f45")


def loss_curves(losses: dict[str, list[float]], smooth: int = 5) -> go.Figure:
    """Training loss at every step of both networks (thin) with a running mean (thick)."""
    fig = go.Figure()
    for name, values in losses.items():
        steps = list(range(len(values)))
        mean = [
            sum(values[max(0, i - smooth + 1) : i + 1]) / len(values[max(0, i - smooth + 1) : i + 1]) for i in steps
        ]
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=values,
                mode="lines",
                line=dict(color=COLOURS[name], width=1),
                opacity=0.35,
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=mean,
                mode="lines",
                line=dict(color=COLOURS[name], width=3),
                name=TITLES[name],
                hovertemplate="step %{x}: %{y:.3f}<extra></extra>",
            )
        )
    fig.update_layout(
        height=330,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title="step",
        yaxis_title="cross-entropy",
        title=dict(text="Training loss (same data, same initial weights)", font=dict(size=14)),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def _positive(values: list[float]) -> list[float | None]:
    # A gradient that underflowed to exactly 0 has no place on a log axis: leave a gap.
    return [v if v > 0 and math.isfinite(v) else None for v in values]


def grad_norms(layer_names: list[str], norms: dict[str, dict[int, list[float]]]) -> go.Figure:
    """Per-layer gradient norm (log scale), input side on the left: plain and residual side by side.

    ``norms``: network -> recorded step -> one norm per layer. The y axes are shared, so the gap
    between the two networks' first layers is read straight off the picture.
    """
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True, subplot_titles=(TITLES["plain"], TITLES["residual"]), horizontal_spacing=0.04
    )
    layers = list(range(1, len(layer_names) + 1))
    for col, net in enumerate(("plain", "residual"), start=1):
        for i, (step, values) in enumerate(sorted(norms.get(net, {}).items())):
            fig.add_trace(
                go.Scatter(
                    x=layers,
                    y=_positive(values),
                    mode="lines+markers",
                    name=f"step {step}",
                    legendgroup=f"step {step}",
                    showlegend=col == 1,
                    line=dict(color=STEP_SHADES[i % len(STEP_SHADES)]),
                    marker=dict(size=5),
                    customdata=layer_names,
                    hovertemplate="layer %{x} (%{customdata}): %{y:.2e}<extra>step " + str(step) + "</extra>",
                ),
                1,
                col,
            )
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_yaxes(title_text="gradient norm ||dL/dW|| (log)", row=1, col=1)
    fig.update_xaxes(title_text="layer (1 = next to the input)")
    fig.update_layout(height=400, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    return fig
