"""Pictures for the "Inside a trained network" page: filter and feature-map mosaics, Grad-CAM overlays, top-k.

Mosaics are plain uint8 RGB arrays (one ``st.image`` each: 64 channels as 64 plotly heatmaps
would be slow to draw). Colours come from plotly's own colour scales, so no matplotlib.
"""

from __future__ import annotations

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go
import torch
import torch.nn.functional as F


def _lut(scale: list[str], n: int = 256) -> np.ndarray:
    """A (n, 3) uint8 lookup table interpolated from a plotly colour scale."""
    rgb = np.array([pc.unlabel_rgb(pc.convert_colors_to_same_type([c], "rgb")[0][0]) for c in scale], dtype=np.float64)
    xs = np.linspace(0, 1, len(rgb))
    t = np.linspace(0, 1, n)
    return np.stack([np.interp(t, xs, rgb[:, i]) for i in range(3)], axis=1).round().astype(np.uint8)


VIRIDIS = _lut(pc.sequential.Viridis)
TURBO = _lut(pc.sequential.Turbo)


def colorize(values: np.ndarray, lut: np.ndarray = VIRIDIS) -> np.ndarray:
    """A 2-D array -> uint8 (H, W, 3), scaled to its own min..max."""
    v = values.astype(np.float64)
    lo, hi = float(v.min()), float(v.max())
    idx = np.zeros(v.shape, dtype=np.int64) if hi <= lo else ((v - lo) / (hi - lo) * 255).round().astype(np.int64)
    return lut[idx]


def upscale(img: np.ndarray, side: int) -> np.ndarray:
    """Nearest-neighbour upscaling of (h, w, 3) so the longer side is at least ``side`` (pixels stay crisp)."""
    f = max(1, int(np.ceil(side / max(img.shape[:2]))))
    return img.repeat(f, axis=0).repeat(f, axis=1)


def mosaic(tiles: list[np.ndarray], cols: int, pad: int = 2, background: int = 255) -> np.ndarray:
    """Equal-sized (h, w, 3) tiles in a grid with ``pad`` pixels between them."""
    h, w = tiles[0].shape[:2]
    rows = (len(tiles) + cols - 1) // cols
    out = np.full((rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad, 3), background, dtype=np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = t
    return out


def filters_mosaic(filters: torch.Tensor, tile: int = 56, cols: int = 8) -> np.ndarray:
    """First-layer filters ``(out, in, kh, kw)`` in [0, 1] as a grid: colour when they see RGB, grey otherwise."""
    f = filters.detach().float().cpu().numpy()
    tiles = []
    for k in f:  # (in, kh, kw)
        img = k.transpose(1, 2, 0) if k.shape[0] == 3 else np.repeat(k.mean(0, keepdims=True), 3, 0).transpose(1, 2, 0)
        tiles.append(upscale((img * 255).round().astype(np.uint8), tile))
    return mosaic(tiles, min(cols, len(tiles)))


def feature_grid(maps: torch.Tensor, max_channels: int = 64, tile: int = 56, cols: int = 8) -> np.ndarray:
    """Channels of one layer's output ``(C, h, w)`` as a grid, each scaled to its own range (viridis)."""
    m = maps.detach().float().cpu().numpy()[:max_channels]
    tiles = [upscale(colorize(c), tile) for c in m]
    return mosaic(tiles, min(cols, len(tiles)))


def input_picture(x: torch.Tensor, side: int = 224) -> np.ndarray:
    """The uint8 ``(C, H, W)`` picture the model receives, enlarged with visible pixels."""
    a = x.detach().cpu().numpy()
    img = a.transpose(1, 2, 0) if a.shape[0] == 3 else np.repeat(a[:1], 3, 0).transpose(1, 2, 0)
    return upscale(img.astype(np.uint8), side)


def cam_overlay(x: torch.Tensor, cam: torch.Tensor, side: int = 224, alpha: float = 0.45) -> np.ndarray:
    """Grad-CAM ``(H, W)`` in [0, 1] over the uint8 picture ``(C, H, W)``: red = where the evidence is."""
    base = input_picture(x, side).astype(np.float64)
    heat = cam.detach().float()[None, None]  # (1, 1, H, W)
    heat = F.interpolate(heat, size=base.shape[:2], mode="bilinear", align_corners=False)[0, 0].numpy()
    colour = TURBO[(np.clip(heat, 0, 1) * 255).round().astype(np.int64)].astype(np.float64)
    return (base * (1 - alpha) + colour * alpha).round().astype(np.uint8)


def top_k_chart(preds: list, highlight: set[int] | None = None) -> go.Figure:
    """Horizontal bars of the top-k probabilities, most probable on top; ``highlight`` marks chosen classes."""
    highlight = highlight or set()
    labels = [p.label for p in preds][::-1]
    probs = [p.probability for p in preds][::-1]
    colours = ["#e4572e" if p.index in highlight else "#2e86de" for p in preds][::-1]
    fig = go.Figure(
        go.Bar(
            x=probs,
            y=labels,
            orientation="h",
            marker_color=colours,
            text=[f"{v:.1%}" for v in probs],
            textposition="auto",
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    fig.update_layout(
        height=60 + 34 * len(preds),
        margin=dict(l=10, r=10, t=10, b=30),
        xaxis=dict(range=[0, 1], tickformat=".0%", title="probability"),
        yaxis=dict(type="category"),
    )
    return fig
