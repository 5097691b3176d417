"""Plotly figures for the Convolution & Pooling Explorer (no streamlit here).

``sliding_window`` is the centrepiece: the padded input grid, the kernel and
the output grid side by side, with one animation frame per output position
(play button and slider are plotly's own, so stepping costs no rerun).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F

from playground.models.arithmetic import ConvSpec, LayerSpec, conv_output_hw, conv_padding, pool_output_hw
from playground.viz.animation import FramedFigure

MAX_FRAMES = 400  # beyond this the animation samples positions evenly
MAX_MAP_SIDE = 192  # feature maps are drawn with at most this many cells a side (see feature_map)
# Each frame draws one shape per kernel tap: a 64x64 kernel over 400 frames would be 1.6 M plotly shapes
# (minutes of CPU and gigabytes for one figure). Big kernels get fewer frames, so a figure stays this small.
MAX_SHAPES = 40_000
MAX_TEXT_CELLS = 18  # write numbers in the cells when the padded grid is at most this wide/high
# A cell that carries a number is at least this wide on screen ("0.50" at 12 px is about 26 px): on a phone the
# figure scrolls sideways instead of shrinking its cells until the numbers overlap (see min_width_px).
MIN_CELL_PX = 30

TAP, WINDOW, OUT = "rgba(255,111,60,0.55)", "rgba(255,111,60,1)", "rgba(40,120,220,0.6)"


def _grid_geometry(spec: LayerSpec, hw: tuple[int, int]):
    """(pads ((top, bottom), (left, right)), output (H, W), dilation) for either layer kind."""
    if isinstance(spec, ConvSpec):
        return conv_padding(spec), conv_output_hw(spec, hw), spec.dilation
    pads = ((spec.padding[0], spec.padding[0]), (spec.padding[1], spec.padding[1]))
    return pads, pool_output_hw(spec, hw), spec.dilation


def window_values(spec: LayerSpec, hw: tuple[int, int], seed: int = 0):
    """Small integer example data for the sliding view, computed with PyTorch itself.

    Returns ``(padded_input, is_padding, kernel_or_None, output)`` as numpy arrays. Padding cells
    hold what the layer really sees there: 0, reflected/replicated/circular values, or -inf for
    max pooling.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 10, (1, 1, *hw), generator=gen).float()
    (pt, pb), (pl, pr) = _grid_geometry(spec, hw)[0]
    mask = torch.ones(1, 1, *hw)
    mask = F.pad(mask, (pl, pr, pt, pb), value=0.0)[0, 0].numpy() == 0
    if isinstance(spec, ConvSpec):
        mode = "constant" if spec.padding_mode == "zeros" else spec.padding_mode
        padded = F.pad(x, (pl, pr, pt, pb), mode=mode) if (pt or pb or pl or pr) else x
        kernel = torch.randint(-1, 2, spec.kernel, generator=gen).float()
        out = F.conv2d(padded, kernel.reshape(1, 1, *spec.kernel), stride=spec.stride, dilation=spec.dilation)
        return padded[0, 0].numpy(), mask, kernel.numpy(), out[0, 0].numpy()
    fill = -math.inf if spec.pool == "max" else 0.0
    padded = F.pad(x, (pl, pr, pt, pb), value=fill)
    if spec.pool == "max":
        out = F.max_pool2d(x, spec.kernel, spec.stride, spec.padding, spec.dilation, ceil_mode=spec.ceil_mode)
    else:
        out = F.avg_pool2d(x, spec.kernel, spec.stride, spec.padding, ceil_mode=spec.ceil_mode)
    return padded[0, 0].numpy(), mask, None, out[0, 0].numpy()


def _fmt(v: float) -> str:
    if v == -math.inf:
        return "−∞"
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}"


def _grid_text(grid, x0: int = 0, font: dict | None = None) -> go.Scatter:
    """The value of every cell of ``grid`` (H, W) written on it; the grid's left column is at ``x0``."""
    h, w = grid.shape
    return go.Scatter(
        textfont=font,
        x=[x0 + j for i in range(h) for j in range(w)],
        y=[i for i in range(h) for j in range(w)],
        text=[_fmt(grid[i, j]) for i in range(h) for j in range(w)],
        mode="text",
        hoverinfo="skip",
        showlegend=False,
    )


def tap_path(cells: list[tuple[int, int]]) -> dict:
    """One shape drawing a unit square on each (row, col) of ``cells`` (the window's taps)."""
    # Absolute commands only: plotly's path parser ignores SVG's relative ones (h, v), which drew nothing.
    path = "".join(f"M{x - 0.5:g},{y - 0.5:g}H{x + 0.5:g}V{y + 0.5:g}H{x - 0.5:g}Z" for y, x in cells)
    return dict(type="path", path=path, fillcolor=TAP, line=dict(width=2, color=WINDOW), layer="above")


def tap_cells(shape: dict) -> list[tuple[float, float]]:
    """The (row, col) centres a :func:`tap_path` shape draws (for tests and readers of the JSON)."""
    out = []
    for part in shape["path"].split("M")[1:]:
        x, y = part.split("H")[0].split(",")
        out.append((float(y) + 0.5, float(x) + 0.5))
    return out


def _cell(x0: float, y0: float, color: str, width: float = 0, line: str | None = None) -> dict:
    return dict(
        type="rect",
        x0=x0 - 0.5,
        x1=x0 + 0.5,
        y0=y0 - 0.5,
        y1=y0 + 0.5,
        fillcolor=color,
        line=dict(width=width, color=line or color),
        layer="above",
    )


def sliding_window(spec: LayerSpec, hw: tuple[int, int], seed: int = 0, max_frames: int = MAX_FRAMES) -> FramedFigure:
    """The kernel (or pooling window) stepping over the padded input, one frame per output position."""
    padded, mask, kernel, out = window_values(spec, hw, seed)
    (pt, _), (pl, _) = _grid_geometry(spec, hw)[0]
    hp, wp = padded.shape
    oh, ow = out.shape
    kh, kw = spec.kernel
    dh, dw = spec.dilation
    sh, sw = spec.stride
    show_text = max(hp, wp) <= MAX_TEXT_CELLS
    kx0 = wp + 1  # kernel grid's left column
    ox0 = (kx0 + kw + 1) if kernel is not None else wp + 2  # output grid's left column

    shown_in = np.where(mask, np.nan, padded)
    fig = go.Figure()
    fig.add_trace(
        go.Heatmap(
            z=np.where(mask, 0.5, np.nan),
            x=np.arange(wp),
            y=np.arange(hp),
            colorscale=[[0, "#d9d9d9"], [1, "#d9d9d9"]],
            showscale=False,
            hoverinfo="skip",
            xgap=1,
            ygap=1,
        )
    )
    fig.add_trace(
        go.Heatmap(
            z=shown_in,
            x=np.arange(wp),
            y=np.arange(hp),
            colorscale=[[0, "#f7fbff"], [1, "#8fbfe0"]],
            showscale=False,
            xgap=1,
            ygap=1,
            zmin=0,
            zmax=9,
            name="input",
            hovertemplate="input row %{y}, col %{x}: %{z}<extra></extra>",
        )
    )
    text_traces = []
    if show_text:
        text_traces.append(
            # padding cells in grey
            _grid_text(padded, 0, font=dict(color=["#777" if m else "#111" for m in mask.ravel()], size=12))
        )
    if kernel is not None:
        fig.add_trace(
            go.Heatmap(
                z=kernel,
                x=np.arange(kx0, kx0 + kw),
                y=np.arange(kh),
                colorscale=[[0, "#f4a582"], [0.5, "#f7f7f7"], [1, "#92c5de"]],
                zmid=0,
                showscale=False,
                xgap=1,
                ygap=1,
                hovertemplate="kernel %{y}, %{x}: %{z}<extra></extra>",
            )
        )
        if max(kh, kw) <= MAX_TEXT_CELLS:
            text_traces.append(_grid_text(kernel, kx0))
    fig.add_trace(
        go.Heatmap(
            z=out,
            x=np.arange(ox0, ox0 + ow),
            y=np.arange(oh),
            colorscale=[[0, "#fff5eb"], [1, "#fdae6b"]],
            showscale=False,
            xgap=1,
            ygap=1,
            hovertemplate="output row %{y}, col " + "%{x}" + ": %{z}<extra></extra>",
        )
    )
    if max(oh, ow) <= MAX_TEXT_CELLS:
        text_traces.append(_grid_text(out, ox0))
    for t in text_traces:
        fig.add_trace(t)

    positions = [(i, j) for i in range(oh) for j in range(ow)]
    max_frames = max(1, min(max_frames, MAX_SHAPES // (kh * kw + 2)))  # + the window outline and the output cell
    if len(positions) > max_frames:
        step = len(positions) / max_frames
        positions = [positions[int(k * step)] for k in range(max_frames)]
    what = "Σ window ⊙ kernel" if kernel is not None else ("max(window)" if spec.pool == "max" else "mean(window)")

    def frame_layout(i: int, j: int) -> dict:
        y0, x0 = i * sh, j * sw  # top-left tap in padded coordinates
        taps = [
            (y0 + a * dh, x0 + b * dw)
            for a in range(kh)
            for b in range(kw)
            if y0 + a * dh < hp and x0 + b * dw < wp  # ceil_mode windows may hang over the edge
        ]
        # All taps as one SVG path of unit squares: a third of the JSON of one rect shape per tap.
        shapes = [tap_path(taps)] if taps else []
        shapes.append(
            dict(
                type="rect",
                x0=x0 - 0.5,
                y0=y0 - 0.5,
                x1=min(x0 + (kw - 1) * dw, wp - 1) + 0.5,
                y1=min(y0 + (kh - 1) * dh, hp - 1) + 0.5,
                line=dict(color=WINDOW, width=2, dash="dot"),
                layer="above",
            )
        )
        shapes.append(_cell(ox0 + j, i, OUT, 3, "rgb(20,80,180)"))
        # Two lines: one line of both ran under the toolbar and off a narrow screen.
        title = (
            f"output[{i}, {j}] = {what} = {_fmt(out[i, j])}<br><sup>window starts at padded row {y0}, col {x0}</sup>"
        )
        return dict(shapes=shapes, title=dict(text=title))

    # Frames and slider steps as plain JSON (see viz/animation.py: validating them took seconds).
    frames = [{"name": f"{i},{j}", "layout": frame_layout(i, j)} for i, j in positions]
    first = frame_layout(*positions[0]) if positions else {}
    labels = [
        dict(x=(wp - 1) / 2, y=-1.2, text=f"input {hw[0]}x{hw[1]}, padded to {hp}x{wp}", showarrow=False),
        dict(x=ox0 + (ow - 1) / 2, y=-1.2, text=f"output {oh}x{ow}", showarrow=False),
    ]
    if kernel is not None:
        labels.append(dict(x=kx0 + (kw - 1) / 2, y=-1.2, text=f"kernel {kh}x{kw}", showarrow=False))
    columns = ox0 + ow + 0.4  # the x range below, in cells
    fig.update_layout(
        **first,
        annotations=labels,
        # Read by the page (min_width_px): how wide the chart must be for the cell numbers to stay legible.
        meta=dict(min_width_px=round(columns * MIN_CELL_PX) + 20 if show_text else 0),
        xaxis=dict(visible=False, range=[-0.7, ox0 + ow - 0.3]),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", scaleratio=1),
        margin=dict(l=10, r=10, t=70, b=10),
        height=max(320, min(720, 40 * (hp + 3))),
        plot_bgcolor="white",
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0,
                y=-0.02,
                xanchor="left",
                yanchor="top",
                showactive=False,
                buttons=[
                    dict(
                        label="▶ Play",
                        method="animate",
                        args=[
                            None,
                            dict(frame=dict(duration=450, redraw=True), fromcurrent=True, transition=dict(duration=0)),
                        ],
                    ),
                    dict(
                        label="❚❚ Pause",
                        method="animate",
                        args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")],
                    ),
                ],
            )
        ],
    )
    sliders = [
        dict(
            active=0,
            x=0.18,
            y=-0.02,
            len=0.82,
            yanchor="top",
            currentvalue=dict(prefix="output position (row, col): "),
            steps=[
                dict(
                    label=f["name"],
                    method="animate",
                    args=[
                        [f["name"]],
                        dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0)),
                    ],
                )
                for f in frames
            ],
        )
    ]
    return FramedFigure(fig, frames, sliders)


def min_width_px(fig: go.Figure) -> int:
    """The narrowest width (px) at which :func:`sliding_window`'s cell numbers do not overlap (0: no numbers)."""
    meta = fig.to_dict().get("layout", {}).get("meta") or {}
    return int(meta.get("min_width_px", 0)) if isinstance(meta, dict) else 0


def feature_map(fmap: torch.Tensor, title: str, diverging: bool | None = None) -> go.Figure:
    """A heatmap of one ``(H, W)`` map, titled with its size as height x width.

    A diverging scale centred on 0 suits signed responses (an edge detector); a map with no negative
    value (a blur, a box filter, max pooling of a photo) gets a sequential one. ``diverging=None``
    decides from the values.
    """
    full = fmap.detach().cpu().numpy()
    if diverging is None:
        diverging = bool((full < 0).any())
    # Drawn at most MAX_MAP_SIDE cells a side: a 512 px map is 1 MB of JSON per rerun and more cells than the
    # chart has pixels. Every drawn cell is a real output value, at its true (row, col) (strided, not averaged).
    step = max(1, math.ceil(max(full.shape) / MAX_MAP_SIDE))
    z = full[::step, ::step]
    # Clip the colour range at the 99th percentile: a few strong responses (often at a zero-padded
    # border) would otherwise wash everything else out to white.
    lim = float(np.quantile(np.abs(z), 0.99)) or 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=np.arange(0, full.shape[1], step),
            y=np.arange(0, full.shape[0], step),
            colorscale="RdBu_r" if diverging else "Greys_r",
            zmid=0 if diverging else None,
            zmin=-lim if diverging else float(z.min()),
            zmax=lim,
            hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=dict(
            text=f"{title} ({full.shape[0]}x{full.shape[1]}, height x width)"
            + (f", 1 in {step} rows and columns drawn" if step > 1 else "")
        ),
        margin=dict(l=10, r=10, t=40, b=10),
        height=360,
        yaxis=dict(autorange="reversed", scaleanchor="x", visible=False),
        xaxis=dict(visible=False),
    )
    return fig


def shift_chart(results) -> go.Figure:
    """Relative change of conv and pooled outputs against the shift in pixels."""
    xs = [r.shift for r in results]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=xs, y=[r.conv_change for r in results], name="conv output", mode="lines+markers"))
    fig.add_trace(go.Scatter(x=xs, y=[r.pooled_change for r in results], name="pooled output", mode="lines+markers"))
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[r.conv_change_aligned for r in results],
            name="conv output, shift undone",
            mode="lines+markers",
            line=dict(dash="dot"),
        )
    )
    fig.update_layout(
        xaxis_title="input shifted by (pixels, right and down)",
        yaxis_title="mean |change| / mean |output|",
        height=340,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=1.12),
    )
    return fig


def params_comparison(rows: list[tuple[str, int, int]]) -> go.Figure:
    """Bar chart of (label, params, MACs) rows, e.g. two 3x3 convs against one 5x5."""
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=[r[0] for r in rows],
            y=[r[1] for r in rows],
            name="parameters",
            text=[f"{r[1]:,}" for r in rows],
            offsetgroup="parameters",  # side by side with the MAC bars although they use another axis
        )
    )
    fig.add_trace(
        go.Bar(
            x=[r[0] for r in rows],
            y=[r[2] for r in rows],
            name="MACs per image",
            text=[f"{r[2]:,}" for r in rows],
            yaxis="y2",
            offsetgroup="macs",
        )
    )
    fig.update_layout(
        barmode="group",
        height=340,
        margin=dict(l=10, r=10, t=30, b=10),
        yaxis=dict(title="parameters"),
        yaxis2=dict(title="MACs", overlaying="y", side="right"),
        legend=dict(orientation="h", y=1.12),
    )
    return fig
